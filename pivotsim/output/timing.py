"""Output of the switching option: the exercise-boundary chart, its CSV and the timing folder.

``plot_exercise_boundary(result, ax=None) -> Axes`` draws; ``write_timing_folder``
writes ``summary.json``, ``exercise_boundary.csv``, ``exercise_boundary.png``,
``conversion_by_year.csv`` and the resolved scenario through the one atomic
folder writer (:func:`pivotsim.output.folders.write_folder`).  The result
object (:class:`pivotsim.analysis.timing.TimingResult`) never draws or writes.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .folders import write_folder

FIGSIZE = (8.0, 4.8)


def plot_exercise_boundary(result, ax: Axes | None = None) -> Axes:
    """Rent index above which converting block 1 is optimal, against hashprice, one line per year.

    Below a line the site keeps mining at that year's first decision date;
    above it, it converts.  Years where the boundary is not defined over the
    hashprice range (no path could, or would, convert) are left out.
    """
    if ax is None:
        fig = Figure(figsize=FIGSIZE)
        fig.subplots_adjust(left=0.11, right=0.80, bottom=0.12, top=0.90)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
    boundary = result.boundary.dropna()
    years = sorted(boundary["year"].unique())
    cmap = ax.figure.colormaps["viridis"] if hasattr(ax.figure, "colormaps") else None
    for i, year in enumerate(years):
        rows = boundary[boundary["year"] == year]
        color = cmap(i / max(1, len(years) - 1)) if cmap is not None else None
        marker = "o" if len(rows) == 1 else None
        ax.plot(rows["hashprice_usd_per_ph_day"], rows["rent_threshold_usd_per_kw_month"], color=color,
                marker=marker, linewidth=1.6, label=f"year {year} (month {int(rows['decision_month'].iloc[0])})")
    ax.axhline(result.option.rent_index.start, color="#888888", linestyle=":", linewidth=1.0,
               label="rent index at t = 0")
    ax.set_xlabel("hashprice [USD per PH/s per day]")
    ax.set_ylabel("rent index [USD per kW-month]")
    title = result.scenario_name or "switching option"
    ax.set_title(f"{title}: convert above the line, keep mining below", fontsize=10)
    ax.grid(True, alpha=0.3)
    if years:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    return ax


def _json(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_timing_folder(result, scenario, out_dir: str | Path = "runs", *, command: str | None = None,
                        figures: bool = True) -> Path:
    """Write a timing folder ``<stem>-timing-<UTC stamp>`` and return its path.

    Parameters
    ----------
    result : TimingResult
    scenario : Scenario or None
        Names the folder; its resolved YAML goes in.
    out_dir : str or Path
    command : str, optional
        The command line, for the manifest.
    figures : bool
        Also draw ``exercise_boundary.png``.
    """
    summary = result.summary()
    files = {
        "summary.json": lambda p: p.write_text(json.dumps(summary, indent=2, default=_json) + "\n",
                                               encoding="utf-8"),
        "exercise_boundary.csv": lambda p: result.boundary.to_csv(p, index=False),
        "conversion_by_year.csv": lambda p: result.to_frame().to_csv(p),
    }
    if figures:
        files["exercise_boundary.png"] = lambda p: plot_exercise_boundary(result).figure.savefig(p, dpi=120)
    manifest = {"seed": result.seed, "paths": result.paths, "fit_paths": result.fit_paths,
                "command": command or "pivotsim.timing (Python API)",
                "python": platform.python_version(), "numpy": np.__version__}
    return write_folder(out_dir, scenario, "timing", files, manifest)
