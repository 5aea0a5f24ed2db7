"""Result folders of sweeps and sensitivity analyses: tables, figures, the resolved scenario, a manifest.

The result objects of :mod:`pivotsim.analysis` hold numbers only; this
module writes them.  :func:`write_result` takes any of them.
"""

from __future__ import annotations

from pathlib import Path

from ..analysis.global_indices import GlobalResult
from ..analysis.sweep import SweepResult
from ..analysis.tornado import TornadoResult
from ..errors import PivotsimError
from .folders import write_folder
from .note_figures import plot_drivers
from .sensitivity_figures import plot_indices, plot_spider, plot_sweep, plot_tornado, save_figure


def write_sweep(result: SweepResult, out_dir: str | Path = "runs", *, command: str | None = None) -> Path:
    """Write ``sweep.csv``, ``sweep.png``, the resolved scenario and a manifest."""
    return write_folder(out_dir, result.scenario, "sweep", {
        "sweep.csv": lambda p: result.frame.to_csv(p, index=False),
        "sweep.png": lambda p: save_figure(plot_sweep, result, p),
    }, {**result.summary(), "command": command})


def write_tornado(result: TornadoResult, out_dir: str | Path = "runs", *, command: str | None = None) -> Path:
    """Write ``tornado.csv``, ``spider.csv``, ``tornado.png``, ``spider.png`` and a manifest."""
    return write_folder(out_dir, result.scenario, "tornado", {
        "tornado.csv": lambda p: result.all_metrics.to_csv(p, index=False),
        "spider.csv": lambda p: result.spider.to_csv(p, index=False),
        "tornado.png": lambda p: save_figure(plot_tornado, result, p),
        "spider.png": lambda p: save_figure(plot_spider, result, p, size=(8, 5.5)),
    }, {"method": "tornado", "metric": result.metric.path, "command": command,
        "skipped": [{"input": p, "reason": r} for p, r in result.skipped]})


def write_indices(result: GlobalResult, out_dir: str | Path = "runs", *, command: str | None = None) -> Path:
    """Write ``<method>.csv``, ``<method>.png`` (Sobol' or Morris) and a manifest."""
    return write_folder(out_dir, result.scenario, result.method, {
        f"{result.method}.csv": lambda p: result.table.to_csv(p, index=False),
        f"{result.method}.png": lambda p: save_figure(plot_indices, result, p),
    }, {**result.summary(), "command": command})


def write_drivers(drivers, scenario, out_dir: str | Path = "runs", *, command: str | None = None) -> Path:
    """Write ``drivers.csv``, ``drivers.png`` (contribution to variance, from a run's paths) and a manifest."""
    return write_folder(out_dir, scenario, drivers.method, {
        "drivers.csv": lambda p: drivers.to_frame().to_csv(p, index=False),
        "drivers.png": lambda p: save_figure(plot_drivers, drivers, p, size=(8, 0.32 * len(drivers.drivers) + 1.8)),
    }, {**drivers.summary(), "command": command})


def write_result(result: SweepResult | TornadoResult | GlobalResult, out_dir: str | Path = "runs", *,
                 command: str | None = None) -> Path:
    """Write the folder of a sweep, tornado or Sobol'/Morris result.

    Parameters
    ----------
    result : SweepResult, TornadoResult or GlobalResult
    out_dir : str or Path
        Parent folder; the result folder is ``<scenario stem>-<kind>-<UTC stamp>`` in it.
    command : str, optional
        The command line, recorded in ``manifest.json``.

    Returns
    -------
    Path
        The folder written (see :func:`write_sweep`, :func:`write_tornado`,
        :func:`write_indices` for its files).
    """
    for kind, writer in ((SweepResult, write_sweep), (TornadoResult, write_tornado), (GlobalResult, write_indices)):
        if isinstance(result, kind):
            return writer(result, out_dir, command=command)
    raise PivotsimError(f"write_result: {type(result).__name__} is not a sweep, tornado or Sobol'/Morris result")
