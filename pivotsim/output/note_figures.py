"""Figures of the research note that read the Monte Carlo's own analyses: drivers of the NPV difference.

``plot_x(data, ax=None) -> Axes``; every label goes through
:func:`pivotsim.output.safe_text.mpl_text`, so money never turns into mathtext.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from .style import AI_COLOR, BITCOIN_COLOR, GRID, INK, PERCENT_FORMATTER
from .safe_text import mpl_text

GROUP_COLOR = "#5B4B8A"
UNEXPLAINED_COLOR = "#BBBBBB"


def _axes(ax: Axes | None, height_in: float) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=(6.7, height_in), constrained_layout=True)
    return ax


def plot_drivers(drivers, ax: Axes | None = None, *, output_label: str = "AI minus mining NPV",
                 top: int = 10) -> Axes:
    """Contribution of each input to the variance of the output, from the run's paths.

    Parameters
    ----------
    drivers : DriversResult
        :func:`pivotsim.drivers.variance_drivers`.
    output_label : str
        What was explained (axis label).
    top : int
        Drivers shown; the rest and the unexplained part are one bar each.

    Bars: blue, the output rises with the input; orange, it falls; purple, a
    group (the market paths), whose direction is not one sign.
    """
    shown = list(drivers.drivers[:top])
    rest = sum(d.contribution for d in drivers.drivers[top:])
    rows = [(d.label, d.contribution, d) for d in shown]
    if rest > 0:
        rows.append((f"{len(drivers.drivers) - top} other inputs", rest, None))
    rows.append(("Not explained linearly (interactions, curvature)", drivers.unexplained, None))
    ax = _axes(ax, 0.3 * len(rows) + 1.0)
    y = np.arange(len(rows))[::-1]
    colors = []
    for _, _, d in rows:
        if d is None:
            colors.append(UNEXPLAINED_COLOR)
        elif d.is_group or not math.isfinite(d.coefficient):
            colors.append(GROUP_COLOR)
        else:
            colors.append(AI_COLOR if d.coefficient > 0 else BITCOIN_COLOR)
    values = [v for _, v, _ in rows]
    ax.barh(y, values, color=colors, height=0.62)
    for yi, value in zip(y, values):
        ax.text(value + 0.01, yi, f"{value:.0%}", va="center", fontsize=7, color=INK)
    ax.set_yticks(y, [mpl_text(label) for label, _, _ in rows], fontsize=7.5)
    ax.set_xlim(0, max(1.0, max(values) + 0.08) if values else 1.0)
    ax.xaxis.set_major_formatter(PERCENT_FORMATTER)
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color=GRID)
    method = "rank regression" if drivers.method == "rank" else "regression"
    ax.set_xlabel(mpl_text(f"Share of its variance over {drivers.paths:,} paths ({method}, R² {drivers.r_squared:.0%})"))
    ax.set_title(mpl_text(f"What drives the {output_label}"))
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in (AI_COLOR, BITCOIN_COLOR, GROUP_COLOR)]
    ax.legend(handles, ["raises the AI advantage", "lowers it", "group (market paths)"], loc="lower right",
              fontsize=7)
    return ax
