"""Figures of a run: fan charts of the market and of cumulative cash, NPV distributions.

Every ``plot_x(result, ax=None) -> Axes`` draws on the given axes (or on a new
figure) and returns them, so notebooks and the PDF report compose them
freely.  ``result`` is a :class:`~pivotsim.runs.RunResult` or the
:class:`~pivotsim.output.figure_data.RunFigureData` taken from one: plain arrays and
numbers, so a process that has only numpy and matplotlib can draw them
(:mod:`pivotsim.output.figure_worker`).  Matplotlib is used through its
object API with the Agg canvas: no pyplot state, no display needed.

Fan charts show the 5-95% and 25-75% bands and the median of the sampled
Monte Carlo paths (``RunResult.samples``: the first paths of the run), and
the base case as a dashed line.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator

from ..formatting import BRIDGE_LABELS, BRIDGE_TOTAL_LABELS, compact_money, money
from .figure_data import LABELS, RUN_FIGURE_DPI, RunFigureData, figure_data

COLORS = {"bitcoin": "#f2a900", "ai": "#3b6fb6", "market": "#555555"}
FIGSIZE = (8.0, 4.5)


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    fig = Figure(figsize=FIGSIZE)
    # fixed margins: the labels fit, and drawing is twice as fast as constrained layout
    fig.subplots_adjust(left=0.11, right=0.97, bottom=0.12, top=0.92)
    FigureCanvasAgg(fig)
    return fig.add_subplot()


def _title(ax: Axes, text: str, **kwargs) -> None:
    """Title at the top of the axes; placed, not searched for (nothing is drawn above these axes)."""
    ax.set_title(text, y=1.0, **kwargs)


def plot_fan(dates, paths: np.ndarray, ax: Axes | None = None, *, color: str = COLORS["market"],
             label: str | None = None, base: np.ndarray | None = None) -> Axes:
    """Percentile fan of sampled paths ``(n_paths, n_periods)`` against dates.

    Bands: 5-95% (light) and 25-75% (darker); solid line: median; dashed:
    ``base`` (the base case) when given.
    """
    ax = _axes(ax)
    paths = np.asarray(paths, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # months where every path is NaN (nothing drawn yet)
        p5, p25, p50, p75, p95 = np.nanpercentile(paths, [5, 25, 50, 75, 95], axis=0)
    name = f"{label}: " if label else ""
    ax.fill_between(dates, p5, p95, color=color, alpha=0.18, linewidth=0, label=f"{name}5-95%")
    ax.fill_between(dates, p25, p75, color=color, alpha=0.35, linewidth=0, label=f"{name}25-75%")
    ax.plot(dates, p50, color=color, linewidth=1.8, label=f"{name}median")
    if base is not None:
        ax.plot(dates, np.asarray(base, dtype=float).ravel(), color=color, linewidth=1.2, linestyle="--",
                label=f"{name}base case")
    ax.grid(True, alpha=0.3)
    return ax


def _sample_note(run: RunFigureData) -> str:
    n = next(iter(run.samples.values())).shape[0] if run.samples else 0
    return f"{n:,} sampled paths of {run.paths:,}"


def _need_samples(run: RunFigureData, name: str) -> np.ndarray:
    if name not in run.samples:
        raise ValueError(f"result has no sampled paths of {name!r}; run with sample_paths > 0")
    return run.samples[name]


def _plain_number(x, _pos=None) -> str:
    """Tick label 1,000 / 10,000 / 0.5: plain text, where matplotlib's log axes would typeset 10^3."""
    return f"{x:,.0f}" if abs(x) >= 1 else f"{x:g}"


def _log_y(ax: Axes, label) -> None:
    """Log y axis, labelled decades by ``label(x, pos)``, minor ticks at 2 and 5 of each decade.

    (Two minor ticks a decade, not matplotlib's eight: as readable, and each
    tick is an artist to build, about 15 ms of a fan chart's drawing.)
    """
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(label))
    ax.yaxis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))


def plot_btc_price_fan(result, ax: Axes | None = None) -> Axes:
    """Fan chart of the BTC price [USD/BTC], log scale."""
    run = figure_data(result)
    ax = plot_fan(run.dates, _need_samples(run, "btc_price_usd"), ax, color=COLORS["bitcoin"],
                  base=run.base_market["btc_price_usd"])
    ax.lines[-1].set_label("base case (expected price, S0 exp(mu t))")
    _log_y(ax, compact_money)
    ax.set_ylabel("BTC price [USD/BTC]")
    ax.set_xlabel("date")
    _title(ax, f"BTC price ({_sample_note(run)})")
    ax.legend(loc="upper left", fontsize="small")
    return ax


def plot_network_hashrate_fan(result, ax: Axes | None = None) -> Axes:
    """Fan chart of the network hashrate [EH/s], log scale."""
    run = figure_data(result)
    ax = plot_fan(run.dates, _need_samples(run, "network_hashrate_eh_s"), ax,
                  color=COLORS["market"], base=run.base_market["network_hashrate_eh_s"])
    _log_y(ax, _plain_number)
    ax.set_ylabel("network hashrate [EH/s]")
    ax.set_xlabel("date")
    _title(ax, f"Network hashrate ({_sample_note(run)})")
    ax.legend(loc="upper left", fontsize="small")
    return ax


def plot_hashprice_fan(result, ax: Axes | None = None) -> Axes:
    """Fan chart of hashprice [USD per PH/s per day], log scale, halvings marked."""
    run = figure_data(result)
    ax = plot_fan(run.dates, _need_samples(run, "hashprice_usd_per_ph_day"), ax,
                  color=COLORS["bitcoin"], base=run.base_market["hashprice_usd_per_ph_day"])
    _log_y(ax, lambda x, _p: f"${x:,.0f}")
    ax.set_ylabel("hashprice [USD/PH/day]")
    ax.set_xlabel("date")
    dates = run.dates
    for m in run.halving_months:
        ax.axvline(dates[m], color="black", linewidth=0.8, linestyle=":")
        # label on the side of the line with room for it (a halving near the horizon: its left)
        right_side = m < 0.75 * (len(dates) - 1)
        ax.annotate("halving (base case)", (dates[m], 1), xycoords=("data", "axes fraction"),
                    xytext=(3 if right_side else -3, -12), textcoords="offset points", fontsize="small",
                    ha="left" if right_side else "right")
    _title(ax, f"Hashprice ({_sample_note(run)})")
    ax.legend(loc="lower left", fontsize="small")
    return ax


def plot_cumulative_cash_fan(result, ax: Axes | None = None) -> Axes:
    """Fan charts of cumulative net cash [USD] of both businesses on the same axes."""
    run = figure_data(result)
    ax = _axes(ax)
    for business in ("bitcoin", "ai"):
        plot_fan(run.dates, _need_samples(run, f"{business}_cumulative_cash_usd"), ax, color=COLORS[business],
                 label=LABELS[business], base=np.cumsum(run.base_net_usd[business]))
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.yaxis.set_major_formatter(FuncFormatter(compact_money))
    ax.set_ylabel("cumulative net cash [USD, nominal]")
    ax.set_xlabel("date")
    _title(ax, f"Cumulative cash ({_sample_note(run)})")
    ax.legend(loc="upper left", fontsize="x-small", ncol=2)
    return ax


def plot_npv_histogram(result, ax: Axes | None = None, bins: int = 80) -> Axes:
    """Histograms of NPV [USD] of both businesses over all Monte Carlo paths."""
    run = figure_data(result)
    ax = _axes(ax)
    values = {b: run.metrics[f"{b}_npv_usd"] for b in ("bitcoin", "ai")}
    finite = np.concatenate([v[np.isfinite(v)] for v in values.values()])
    lo, hi = np.percentile(finite, [0.5, 99.5])
    if lo == hi:
        lo, hi = lo - 1.0, hi + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    for business, v in values.items():
        share_out = float(np.mean((v < lo) | (v > hi)))
        note = f" ({share_out:.1%} outside)" if share_out > 0 else ""
        counts, _ = np.histogram(np.clip(v, lo, hi), bins=edges)
        # one filled outline per business, not a rectangle per bin: the same picture, drawn faster
        ax.stairs(counts, edges, fill=True, color=COLORS[business], alpha=0.55, label=f"{LABELS[business]}{note}")
        ax.axvline(float(np.mean(v)), color=COLORS[business], linewidth=1.5, linestyle="--")
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.xaxis.set_major_formatter(FuncFormatter(compact_money))
    ax.set_xlabel("NPV [USD]  (dashed: mean)")
    ax.set_ylabel("paths")
    _title(ax, f"NPV distribution ({run.paths:,} paths)")
    ax.legend(fontsize="small")
    ax.grid(True, alpha=0.3)
    return ax


CDF_POINTS = 4001
"""The NPV CDF is drawn through at most this many quantiles: the same curve, a lighter file."""


def plot_npv_cdf(result, ax: Axes | None = None) -> Axes:
    """Empirical CDFs of NPV [USD] of both businesses and of their difference."""
    run = figure_data(result)
    ax = _axes(ax)
    series = [(LABELS["bitcoin"], run.metrics["bitcoin_npv_usd"], COLORS["bitcoin"], "-"),
              (LABELS["ai"], run.metrics["ai_npv_usd"], COLORS["ai"], "-"),
              ("AI minus bitcoin", run.metrics["npv_difference_usd"], "#444444", ":")]
    for label, v, color, style in series:
        v = np.sort(v[np.isfinite(v)])
        if v.size > CDF_POINTS - 1:
            # np.quantile's linear rule on values already sorted, without its partition of 4,001 ranks
            y = np.linspace(0, 1, CDF_POINTS)
            x = np.interp(y * (v.size - 1), np.arange(v.size), v)
        else:
            x, y = v, np.arange(1, v.size + 1) / v.size
        ax.plot(x, y, color=color, linestyle=style, linewidth=1.6, label=label)
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.xaxis.set_major_formatter(FuncFormatter(compact_money))
    ax.set_xlabel("NPV [USD]")
    ax.set_ylabel("share of paths with NPV below [-]")
    ax.set_ylim(0, 1)
    _title(ax, f"NPV cumulative distribution ({run.paths:,} paths)")
    ax.legend(fontsize="small", loc="lower right")
    ax.grid(True, alpha=0.3)
    return ax


def draw_value_bridge(bridge: dict, ax: Axes, *, business: str = "ai", title: str | None = None) -> Axes:
    """Waterfall of a value bridge (part -> present value [USD]): each part from where the last ended, then the NPV.

    With a non-zero ``financing_usd`` (a levered business) the NPV is a
    subtotal, followed by the debt's part and the NPV with debt.
    """
    parts = [p for p in BRIDGE_LABELS if p in bridge]
    levered = bool(bridge.get("financing_usd"))
    project = [p for p in parts if p != "financing_usd"] if levered else parts

    def label(x, end, value, **style):
        ax.annotate(money(value) if value else "0", (x, end), ha="center", va="bottom" if value >= 0 else "top",
                    fontsize=8, xytext=(0, 2 if value >= 0 else -2), textcoords="offset points", **style)

    level = 0.0
    ends = [0.0]
    steps = project + (["npv_usd", "financing_usd"] if levered else [])
    for x, part in enumerate(steps):
        if part == "npv_usd":  # the project's NPV, a subtotal
            ax.bar(x, level, width=0.62, color=COLORS.get(business, "#555555"), alpha=0.55)
            label(x, level, level)
            continue
        value = float(bridge[part])
        ends.append(level + value)
        ax.bar(x, value, bottom=level, width=0.62, color="#4c9a5b" if value >= 0 else "#c0504d")
        label(x, level + value, value)
        ax.plot([x + 0.31, x + 0.69], [level + value] * 2, color="#777777", linewidth=0.8)
        level += value
    ax.bar(len(steps), level, width=0.62, color=COLORS.get(business, "#555555"))
    label(len(steps), level, level, fontweight="bold")
    ax.axhline(0.0, color="black", linewidth=0.8)
    low, high = min(ends), max(ends)
    pad = 0.12 * (high - low or 1.0)
    ax.set_ylim(low - pad, high + pad)
    names = {**BRIDGE_LABELS, **BRIDGE_TOTAL_LABELS}
    total = BRIDGE_TOTAL_LABELS["npv_with_financing_usd" if levered else "npv_usd"]
    ax.set_xticks(np.arange(len(steps) + 1), [names[p].replace(" ", "\n", 1) for p in steps]
                  + [total.replace(" ", "\n", 1)], fontsize=8)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: compact_money(v)))
    _title(ax, title or LABELS.get(business, business), fontsize=10)
    ax.grid(True, axis="y", alpha=0.3)
    return ax


def plot_value_bridge(result, ax: Axes | None = None, *, business: str | None = None) -> Axes:
    """Base-case value bridge [USD] of both businesses side by side (or of ``business`` on ``ax``).

    The parts (operations, prepayment financing, terminal value) add up to
    the NPV; a levered business adds its debt financing, up to the NPV with
    debt (:func:`pivotsim.models.finance.value_bridge`,
    :func:`pivotsim.levered.value_bridge_with_financing`).  Returns the axes
    of the last business drawn.
    """
    run = figure_data(result)
    businesses = ("bitcoin", "ai") if business is None and ax is None else (business or "ai",)
    if ax is None:
        fig = Figure(figsize=(10.0, 4.5))
        fig.subplots_adjust(left=0.095, right=0.98, bottom=0.17, top=0.86, wspace=0.28)
        FigureCanvasAgg(fig)
        axes = fig.subplots(1, len(businesses), squeeze=False)[0]
        fig.suptitle(f"{run.scenario_name}: value bridge of the base case (present values)", fontsize=11)
    else:
        axes = [ax]
    for b, axis in zip(businesses, axes):
        draw_value_bridge(run.value_bridges[b], axis, business=b)
        axis.set_ylabel("present value [USD]")
    return axes[-1]


def plot_dscr_fan(result, ax: Axes | None = None) -> Axes:
    """Fan charts of the monthly DSCR of each levered business, with its covenant and the base case.

    The DSCR is CFADS / (interest + scheduled principal) in the months of
    repayment (blank elsewhere); the dotted line is the tightest covenant.
    """
    run = figure_data(result)
    ax = _axes(ax)
    dates = run.dates
    levered = [b for b in ("bitcoin", "ai") if b in run.dscr_base]
    if not levered:
        raise ValueError("result: no business with debt; a DSCR fan needs ai.debt or bitcoin.debt")
    top = 0.0
    for business in levered:
        samples = _need_samples(run, f"{business}_dscr")
        base = run.dscr_base[business]
        tested = np.any(np.isfinite(samples), axis=0)
        plot_fan(dates[tested], samples[:, tested], ax, color=COLORS[business], label=LABELS[business],
                 base=base[tested])
        top = max(top, float(np.nanpercentile(samples[:, tested], 95)), float(np.nanmax(base)))
        covenant = run.covenant_dscr.get(business)
        if covenant:
            ax.axhline(covenant, color=COLORS[business], linewidth=1.2, linestyle=":",
                       label=f"{LABELS[business]}: covenant {covenant:.2f}x")
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_ylim(min(0.0, ax.get_ylim()[0]), max(2.0, 1.1 * top))
    ax.set_ylabel("DSCR = CFADS / debt service [-]")
    ax.set_xlabel("date")
    _title(ax, f"Debt service coverage ({_sample_note(run)})")
    ax.legend(loc="upper left", fontsize="x-small", ncol=2)
    return ax


RUN_FIGURES = {
    "fan_btc_price.png": plot_btc_price_fan,
    "fan_network_hashrate.png": plot_network_hashrate_fan,
    "fan_hashprice.png": plot_hashprice_fan,
    "fan_cumulative_cash.png": plot_cumulative_cash_fan,
    "npv_histogram.png": plot_npv_histogram,
    "npv_cdf.png": plot_npv_cdf,
    "value_bridge.png": plot_value_bridge,
    "dscr_fan.png": plot_dscr_fan,
}

def run_figure_names(run: RunFigureData) -> list[str]:
    """The figures of :data:`RUN_FIGURES` a run has data for: fans need sampled paths, the DSCR fan debt."""
    return [name for name in RUN_FIGURES
            if not (name.startswith("fan_") and not run.samples)
            and not (name == "dscr_fan.png" and not (run.dscr_base and run.samples))]


def render_run_figures(result, names=None, dpi: int = RUN_FIGURE_DPI) -> dict[str, bytes]:
    """PNG bytes of the run figures ``names`` (default: every one the run has data for), in that order."""
    run = figure_data(result)
    pngs = {}
    for name in run_figure_names(run) if names is None else names:
        buffer = io.BytesIO()
        # zlib level 1: about 10% larger files, 5-10% less drawing time than the default level 6
        RUN_FIGURES[name](run).figure.savefig(buffer, dpi=dpi, format="png", pil_kwargs={"compress_level": 1})
        pngs[name] = buffer.getvalue()
    return pngs


def write_run_figures(result, folder: str | Path, dpi: int = RUN_FIGURE_DPI) -> list[Path]:
    """Write every figure of :data:`RUN_FIGURES` the run has data for as PNG into ``folder``.

    Fan charts need sampled paths; without them only the NPV figures are
    written.
    """
    folder = Path(folder)
    written = []
    for name, png in render_run_figures(result, dpi=dpi).items():
        (folder / name).write_bytes(png)
        written.append(folder / name)
    return written
