"""Result folders of sweeps and sensitivity analyses: tables, figures, the resolved scenario, a manifest.

The result objects of :mod:`pivotsim.analysis` hold numbers only; this
module writes them.  :func:`write_result` takes any of them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path
from typing import Callable, Mapping

from .. import __version__
from ..analysis.global_indices import GlobalResult
from ..analysis.sweep import SweepResult
from ..analysis.tornado import TornadoResult
from ..errors import PivotsimError
from ..scenario import Scenario
from .sensitivity_figures import plot_indices, plot_spider, plot_sweep, plot_tornado, save_figure


def write_folder(out_dir: str | Path, scenario: Scenario | None, kind: str,
                 files: Mapping[str, Callable[[Path], None]], manifest: dict) -> Path:
    """Write a result folder ``<out_dir>/<stem>-<kind>-<UTC stamp>`` atomically.

    Built under a temporary name and renamed when complete; never
    overwrites; a failure leaves nothing behind.
    """
    out_dir = Path(out_dir)
    stem = Path(scenario.file).stem if scenario is not None and scenario.file else "scenario"
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / f".{stem}-{kind}-{stamp}.partial-{os.getpid()}"
    try:
        tmp.mkdir()
        for name, writer in files.items():
            writer(tmp / name)
        if scenario is not None:
            (tmp / "scenario.resolved.yaml").write_text(scenario.to_yaml(), encoding="utf-8")
        info = {"pivotsim_version": __version__, "kind": kind, "created_utc": stamp,
                "input_file": scenario.file if scenario is not None else None,
                "input_sha256": scenario.sha256 if scenario is not None else None,
                "overrides": list(scenario.overrides) if scenario is not None else [], **manifest}
        (tmp / "manifest.json").write_text(json.dumps(info, indent=2, default=str) + "\n", encoding="utf-8")
        final = out_dir / f"{stem}-{kind}-{stamp}"
        n = 2
        while final.exists():
            final = out_dir / f"{stem}-{kind}-{stamp}-{n}"
            n += 1
        tmp.rename(final)
        return final
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


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
