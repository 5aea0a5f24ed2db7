"""Figures of sweeps and sensitivity: sweep line or heatmap, tornado, spider, Sobol'/Morris bars.

Every ``plot_x(result, ax=None) -> Axes`` draws on the given axes (or a new
pyplot figure) and never prints; :func:`save_figure` writes a PNG through
a figure that is not registered with pyplot, so it works headless and in
threads.  matplotlib is imported only when a figure is drawn.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..analysis.metrics import parse_metric
from ..formatting import (axis_money, compact_money, compact_number, is_coverage, is_rate, metric_text,
                          metric_words, ratio, reference_level)

BAND_COLOR = "#9ecae1"
LINE_COLOR = "#08519c"
LOW_COLOR = "#d6604d"
HIGH_COLOR = "#4393c3"


def _axes(ax, size=(7.5, 4.5)):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def _is_money(name: str) -> bool:
    return name.split(".")[-1].endswith("_usd") or "_usd." in name or name.endswith("_usd")


def _formatter(name: str):
    """Ticks as the terminal prints the quantity: % for rates and probabilities, 1.5x for a DSCR, $ for money."""
    from matplotlib.ticker import FuncFormatter, PercentFormatter

    if is_rate(name):
        return PercentFormatter(xmax=1.0)  # (as many decimals as the ticks' spacing needs)
    if is_coverage(name):
        return FuncFormatter(lambda x, _p: ratio(x))
    return FuncFormatter(axis_money if _is_money(name) else compact_number)


def _value_text(path: str, x) -> str:
    """One value of a metric in a title: compact money, else as the terminal prints it."""
    return compact_money(x) if _is_money(path) and not is_rate(path) else metric_text(path, x)


def _metric_label(path: str) -> str:
    labels = {
        "comparison.npv_difference_usd": "NPV, AI minus bitcoin (Monte Carlo)",
        "comparison.base.npv_difference_usd": "NPV, AI minus bitcoin (base case)",
        "bitcoin.base.npv_usd": "bitcoin mining NPV (base case)",
        "ai.base.npv_usd": "AI hosting NPV (base case)",
        "bitcoin.monte_carlo.npv_usd": "bitcoin mining NPV (Monte Carlo)",
        "ai.monte_carlo.npv_usd": "AI hosting NPV (Monte Carlo)",
        "comparison.prob_ai_beats_bitcoin": "P(AI NPV > bitcoin NPV)",
    }
    return labels.get(path) or metric_words(path)


def plot_sweep(result, ax=None, metric=None):
    """Line plot (one parameter; mean, median and p5-p95 band) or heatmap with a zero contour (two).

    Parameters
    ----------
    result : SweepResult
    ax : matplotlib Axes, optional
    metric : str or Metric, optional
        Default: the sweep's first metric.

    Returns
    -------
    matplotlib Axes
    """
    from matplotlib.colors import TwoSlopeNorm

    metric = result.metrics[0] if metric is None else (parse_metric(metric) if isinstance(metric, str) else metric)
    title = _metric_label(metric.path if metric.is_scalar else metric.root)
    subtitle = (f"{result.paths:,} paths per point, seed {result.seed}, same draws at every point"
                if result.paths else "base case")
    if len(result.params) == 1:
        ax = _axes(ax)
        path, x = result.params[0]
        if metric.is_scalar:
            ax.plot(x, result.grid(metric), color=LINE_COLOR, marker="o", ms=3, label=metric.path)
        else:
            p5, p95 = result.grid(metric, "p5"), result.grid(metric, "p95")
            ax.fill_between(x, p5, p95, color=BAND_COLOR, alpha=0.6, lw=0, label="p5-p95 of paths")
            ax.plot(x, result.grid(metric, "p50"), color=LINE_COLOR, ls="--", lw=1.2, label="median")
            ax.plot(x, result.grid(metric, "mean"), color=LINE_COLOR, lw=2, marker="o", ms=3, label="mean")
        level, _ = reference_level(metric.path)
        ax.axhline(level, color="black", lw=0.8)
        ax.set_xlabel(path)
        ax.set_ylabel(title)
        ax.xaxis.set_major_formatter(_formatter(path))
        ax.yaxis.set_major_formatter(_formatter(metric.path))
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8, frameon=False)
        ax.set_title(f"{title} vs {path}\n{subtitle}", fontsize=10)
        return ax
    ax = _axes(ax, size=(7.5, 5.5))
    (path1, y), (path2, x) = result.params
    z = result.grid(metric)
    finite = z[np.isfinite(z)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (-1.0, 1.0)
    level, level_text = reference_level(metric.path)
    if low < level < high:
        norm, cmap = TwoSlopeNorm(vcenter=level, vmin=low, vmax=high), "RdBu"
    else:
        norm, cmap = None, "viridis"
    mesh = ax.pcolormesh(x, y, z, cmap=cmap, norm=norm, shading="nearest")
    bar = ax.figure.colorbar(mesh, ax=ax, format=_formatter(metric.path))
    bar.set_label(title + (" (mean)" if not metric.is_scalar else ""))
    crosses = low < level < high and min(z.shape) >= 2
    if crosses:
        lines = ax.contour(x, y, z, levels=[level], colors="black", linewidths=1.5)
        ax.clabel(lines, fmt={level: level_text}, fontsize=8)
    ax.set_xlabel(path2)
    ax.set_ylabel(path1)
    ax.xaxis.set_major_formatter(_formatter(path2))
    ax.yaxis.set_major_formatter(_formatter(path1))
    where = "zero" if level == 0 else level_text
    # the reference level is named where its contour is drawn, else said to lie outside the grid
    note = f"black line: {where}" if crosses else f"{'above' if low >= level else 'below'} {where} everywhere"
    ax.set_title(f"{title}\n{subtitle}; {note}", fontsize=10)
    return ax


def plot_tornado(result, ax=None):
    """Tornado: the ranking metric at each input's low and high, widest swing on top.

    Parameters
    ----------
    result : TornadoResult
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    table = result.table.head(15).iloc[::-1]
    ax = _axes(ax, size=(8.5, 0.45 * len(table) + 1.8))
    base = result.base[result.metric.path]
    y = np.arange(len(table))
    for k, row in enumerate(table.itertuples()):
        for end, color in ((row.metric_low, LOW_COLOR), (row.metric_high, HIGH_COLOR)):
            ax.barh(k, end - base, left=base, color=color, height=0.6)
    ax.axvline(base, color="black", lw=1)
    labels = [f"{row.input}\n{compact_number(row.low_value)} / {compact_number(row.high_value)} ({row.how})"
              for row in table.itertuples()]
    ax.set_yticks(y, labels, fontsize=7)
    ax.xaxis.set_major_formatter(_formatter(result.metric.path))
    ax.set_xlabel(_metric_label(result.metric.path))
    from matplotlib.patches import Patch


    ax.legend(handles=[Patch(color=LOW_COLOR, label="input at low"), Patch(color=HIGH_COLOR, label="input at high")],
              loc="lower right", fontsize=8, frameon=False)
    ax.set_title(f"Tornado: {_metric_label(result.metric.path)}\nbase {_value_text(result.metric.path, base)}; "
                 "each input moved alone, others at base", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return ax


def plot_spider(result, ax=None, top: int = 8):
    """Spider: the ranking metric against the % change of each of the ``top`` inputs.

    Returns
    -------
    matplotlib Axes
    """
    ax = _axes(ax)
    metric = result.metric.path
    for path in result.table.input.head(top):
        rows = result.spider[result.spider.input == path].sort_values("change")
        ax.plot(100 * rows.change, rows[metric], marker="o", ms=3, label=path)
    ax.axhline(result.base[metric], color="black", lw=0.8)
    ax.axvline(0.0, color="black", lw=0.8)
    ax.set_xlabel("change of the input from its base value [%]")
    ax.set_ylabel(_metric_label(metric))
    ax.yaxis.set_major_formatter(_formatter(metric))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.set_title(f"Spider: {_metric_label(metric)}, top {min(top, len(result.table))} inputs", fontsize=10)
    return ax


def plot_indices(result, ax=None):
    """Bars of Sobol' S1 and ST (with confidence intervals) or Morris mu* (with sigma).

    Returns
    -------
    matplotlib Axes
    """
    table = result.table
    ax = _axes(ax, size=(8, 0.5 * len(table) + 2))
    y = np.arange(len(table))[::-1]
    if result.method == "sobol":
        ax.barh(y + 0.18, table.S1, height=0.36, xerr=table.S1_conf, color=LOW_COLOR, label="S1 (first order)",
                capsize=2)
        ax.barh(y - 0.18, table.ST, height=0.36, xerr=table.ST_conf, color=HIGH_COLOR, label="ST (total)",
                capsize=2)
        ax.set_xlabel(f"Sobol' index ({result.conf_level:.0%} bootstrap intervals)")
        ax.set_xlim(left=min(0.0, float(np.nanmin(table.S1 - table.S1_conf))))
    else:
        ax.barh(y + 0.18, table.mu_star, height=0.36, xerr=table.mu_star_conf, color=HIGH_COLOR,
                label="mu* (mean |effect|)", capsize=2)
        ax.barh(y - 0.18, table.sigma, height=0.36, color="#999999", label="sigma (interactions, non-linearity)")
        ax.set_xlabel("Morris elementary effect per unit quantile of the input")
        ax.xaxis.set_major_formatter(_formatter(result.metric))
    ax.set_yticks(y, table.factor, fontsize=8)
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(f"{'Sobol' if result.method == 'sobol' else 'Morris'}: {_metric_label(result.metric)}\n"
                 f"{result.evaluations:,} evaluations", fontsize=10)
    return ax


def save_figure(plot, result, path: str | Path, *, size=None, dpi: int = 130, **kwargs) -> Path:
    """Draw ``plot(result, ax=...)`` on a figure outside pyplot and save it as PNG."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=size or (8, 5), layout="constrained")
    ax = fig.add_subplot()
    if plot is plot_tornado and size is None:
        fig.set_size_inches(8.5, 0.45 * min(len(result.table), 15) + 1.8)
    if plot is plot_indices and size is None:
        fig.set_size_inches(8, 0.5 * len(result.table) + 2)
    plot(result, ax=ax, **kwargs)
    fig.savefig(path, dpi=dpi)
    return Path(path)
