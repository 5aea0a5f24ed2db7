"""Charts of a run for the PDF report: ``plot_x(result, ax=None) -> Axes``.

Every function draws on the given axes (or a new figure of print width) in
the pivotsim style (:mod:`pivotsim.output.style`) with labelled axes and
units.  They read a :class:`~pivotsim.runs.RunResult`; path-level charts (fan
charts, bands) read a :class:`MarketSample` of the run's own first paths,
made by :func:`market_sample`.
"""

from __future__ import annotations

import textwrap
import warnings
from dataclasses import dataclass

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ..models.cashflows import CashFlows
from .safe_text import mpl_text
from ..models.market import MarketPaths
from ..models.timeline import next_halving_height
from ..simulate import BLOCK_PATHS, BUSINESSES, sample_paths_in_full
from .figures import plot_fan
from .style import (AI_COLOR, BITCOIN_COLOR, BUSINESS_COLORS, BUSINESS_LABELS, DIFFERENCE_COLOR,
                    INK, LINE_ITEM_COLORS, LINE_ITEM_LABELS, MONEY_FORMATTER, POWER_PRICE_COLOR,
                    PRINT_WIDTH_IN, compact_money)

FAN_PATHS = 400
"""Paths kept in full for the note's charts (the run's first paths)."""

FAN_PERCENTILES = (5, 25, 50, 75, 95)


# --------------------------------------------------------------------------- data
@dataclass
class MarketSample:
    """The first ``n_paths`` Monte Carlo paths of a run, in full.

    Attributes
    ----------
    market : MarketPaths
        Arrays ``(n_paths, n_periods)``.
    flows : dict of str -> CashFlows
        Both businesses' line items on those paths.
    n_paths : int
    inputs : namespace
        The inputs tree of those paths (uncertain inputs as ``(n_paths, 1)``).
    """

    market: MarketPaths
    flows: dict[str, CashFlows]
    n_paths: int
    inputs: object = None


def market_sample(result, n_paths: int = FAN_PATHS) -> MarketSample:
    """Market paths and cash flows of the run's first ``n_paths`` paths.

    The engine gives them (:func:`pivotsim.simulate.sample_paths_in_full`):
    path i here is path i of the run (its NPV equals ``result.metrics[...][i]``).

    Parameters
    ----------
    result : RunResult
    n_paths : int
        Paths wanted; capped at the run's path count and one block.

    Returns
    -------
    MarketSample
    """
    n = max(1, min(int(n_paths), int(result.paths), BLOCK_PATHS))
    market, flows, inputs = sample_paths_in_full(result.inputs, result.seed, n,
                                                 getattr(result, "market_horizon_months", None))
    return MarketSample(market=market, flows=flows, n_paths=n, inputs=inputs)


def annual_line_items(result, business: str) -> pd.DataFrame:
    """Base-case cash line items summed by contract year [USD].

    Year k holds months 12(k-1)+1 .. 12k; the signing column (t = 0) is
    counted in year 1.  A last, shorter year is kept as it is.

    Returns
    -------
    DataFrame
        Index: year number (1, 2, ...); columns: the business's line items
        [USD, inflows positive] and ``net_usd``.
    """
    flows = result.base[business]
    n = flows.timeline.n_periods
    months = np.arange(n)
    year = np.maximum(1, (months + 11) // 12)
    data = {name: np.asarray(v)[0] for name, v in flows.items.items()}
    df = pd.DataFrame(data)
    df["net_usd"] = np.asarray(flows.net)[0]
    df["year"] = year
    return df.groupby("year").sum()


MAX_DATED_YEARS = 8
"""Beyond this many contract years the bar labels are just Y1, Y2, ..."""


def year_labels(result, years) -> list[str]:
    """Tick labels like ``Y1\\nNov 25–\\nOct 26`` for contract years (``Y1`` ... when many)."""
    start = pd.Timestamp(result.timeline.valuation_date)
    horizon = result.timeline.horizon_months
    if len(years) > MAX_DATED_YEARS:
        return [f"Y{k}" for k in years]  # dates in the axis label instead
    labels = []
    for k in years:
        first = start + pd.DateOffset(months=12 * (k - 1))
        last_month = min(12 * k, horizon)
        last = start + pd.DateOffset(months=last_month - 1)
        labels.append(f"Y{k}\n{first:%b %y}–\n{last:%b %y}")
    return labels


def _axes(ax: Axes | None, height_in: float = 2.6) -> Axes:
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=(PRINT_WIDTH_IN, height_in))
    return ax


def _percentiles(values: np.ndarray, q=FAN_PERCENTILES) -> dict[int, np.ndarray]:
    """Percentiles across paths (axis 0); months where every path is NaN stay NaN."""
    arr = np.asarray(values, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN months (nothing drawn yet)
        return {p: np.nanpercentile(arr, p, axis=0) for p in q}


def _fan(ax: Axes, dates, values: np.ndarray, color: str, label: str):
    """p5–p95 and p25–p75 bands and the median of paths ``(n, n_periods)``: the run folder's fan."""
    plot_fan(dates, values, ax, color=color, label=label)
    ax.grid(False)


MAX_YEAR_TICKS = 9


def _date_axis(ax: Axes, dates):
    """Year ticks, every year up to :data:`MAX_YEAR_TICKS` years, then every 2nd, 3rd ..."""
    years = max(1, dates[-1].year - dates[0].year + 1)
    ax.xaxis.set_major_locator(mdates.YearLocator(base=-(-years // MAX_YEAR_TICKS)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    ax.set_xlabel("Date (month end)")


def _usd_per_unit(y, _pos=None) -> str:
    """Tick label of a small price on a log axis: $1.00, $0.10, $0.010, $1e-04."""
    if y >= 0.1:
        return f"${y:,.2f}"
    if y >= 0.001:
        return f"${y:.3f}"
    return f"${y:.0e}"


def halving_dates(result) -> list[pd.Timestamp]:
    """Dates of halvings within the horizon (from the base path's block height)."""
    heights = np.asarray(result.base_market.block_height)[0]
    dates = result.timeline.dates
    out = []
    target = next_halving_height(int(result.inputs.market.block_height))
    while True:
        cols = np.nonzero(heights >= target)[0]
        if cols.size == 0:
            return out
        out.append(dates[cols[0]])
        target += 210_000


def _mark_halvings(ax: Axes, result):
    for when in halving_dates(result):
        ax.axvline(when, color="#999999", lw=0.8, ls=":")
        ax.annotate("halving", xy=(when, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(3, -10), textcoords="offset points", fontsize=7, color="#666666")


# --------------------------------------------------------------------------- charts
def plot_cash_flow_items(result, business: str, ax: Axes | None = None) -> Axes:
    """Stacked bars of a business's base-case line items per contract year, and net cash.

    Inflows stack above zero, outflows below; the black marker is the year's
    net cash flow.  Amounts in nominal USD.
    """
    ax = _axes(ax)
    table = annual_line_items(result, business)
    years = table.index.to_numpy()
    x = np.arange(len(years))
    items = [c for c in table.columns if c != "net_usd" and np.any(np.abs(table[c]) > 0)]
    pos_bottom = np.zeros(len(years))
    neg_bottom = np.zeros(len(years))
    for name in items:
        values = table[name].to_numpy()
        pos = np.where(values > 0, values, 0.0)
        neg = np.where(values < 0, values, 0.0)
        color = LINE_ITEM_COLORS.get(name, "#BBBBBB")
        label = LINE_ITEM_LABELS.get(name, name.replace("_usd", "").replace("_", " "))
        if np.any(pos):
            ax.bar(x, pos, bottom=pos_bottom, color=color, width=0.72, label=label, lw=0)
            pos_bottom += pos
        if np.any(neg):
            ax.bar(x, neg, bottom=neg_bottom, color=color, width=0.72,
                   label=None if np.any(pos) else label, lw=0)
            neg_bottom += neg
    net = table["net_usd"].to_numpy()
    ax.plot(x, net, ls="none", marker="D", ms=4.5, color=INK, label="Net cash flow")
    # Bars stacked on a non-zero bottom defeat autoscaling margins: set the limits.
    top = max(float(pos_bottom.max()), float(net.max()), 0.0)
    bottom = min(float(neg_bottom.min()), float(net.min()), 0.0)
    pad = 0.07 * (top - bottom or 1.0)
    ax.set_ylim(bottom - pad, top + pad)
    ax.axhline(0, color=INK, lw=0.6)
    ax.set_xticks(x, year_labels(result, years))
    if len(years) > MAX_DATED_YEARS:
        start = pd.Timestamp(result.timeline.valuation_date)
        ax.set_xlabel(f"Contract year (year 1 = {start:%b %Y}–{start + pd.DateOffset(months=11):%b %Y})")
    ax.yaxis.set_major_formatter(MONEY_FORMATTER)
    ax.set_ylabel("USD per year (nominal)")
    ax.set_title(f"{BUSINESS_LABELS[business]}: base-case cash flows by contract year")
    ax.grid(axis="x", visible=False)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7)
    return ax


def plot_cumulative_cash(result, ax: Axes | None = None, sample: MarketSample | None = None) -> Axes:
    """Cumulative net cash of both businesses: base case, Monte Carlo p5–p95, payback.

    The deepest point of each curve is the peak funding need; the dot marks
    the payback month (cumulative cash stays >= 0 from there on).
    """
    ax = _axes(ax)
    dates = result.timeline.dates
    summary = result.summary()
    for business in BUSINESSES:
        color = BUSINESS_COLORS[business]
        if sample is not None and sample.n_paths > 1:
            cum = np.cumsum(np.asarray(sample.flows[business].net), axis=1)
            pct = _percentiles(cum, (5, 95))
            if np.allclose(pct[5], pct[95], rtol=1e-9, atol=1.0):
                pct = None  # no uncertainty on this side: a band would be a line
        else:
            pct = None
        if pct is not None:
            ax.fill_between(dates, pct[5], pct[95], color=color, alpha=0.15, lw=0,
                            label=f"{BUSINESS_LABELS[business]}: p5–p95")
        base = np.cumsum(np.asarray(result.base[business].net)[0])
        payback = summary[business]["base"]["payback_months"]
        when_text = "never pays back" if payback is None else f"payback {payback:.0f} months"
        ax.plot(dates, base, color=color, lw=1.6, label=f"{BUSINESS_LABELS[business]}: base case\n({when_text})")
        if payback is not None:
            when = dates[0] + pd.DateOffset(days=round(payback * 30.4375))
            ax.plot([when], [0], marker="o", ms=5, color=color, mec="white", mew=0.8, zorder=5)
    ax.axhline(0, color=INK, lw=0.6)
    ax.yaxis.set_major_formatter(MONEY_FORMATTER)
    ax.set_ylabel("USD (nominal, cumulative)")
    _date_axis(ax, dates)
    ax.set_title("Cumulative cash: funding need and payback")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7)
    return ax


CLIP_PERCENTILES = (1.0, 99.0)
"""NPV charts show this percentile range of all paths; the rest is counted, not drawn."""


def _npv_bins(values: list[np.ndarray], n_bins: int = 50) -> np.ndarray:
    """Shared bin edges over the p1–p99 range of all values (a little wider)."""
    allv = np.concatenate([v[np.isfinite(v)] for v in values])
    if allv.size == 0:
        return np.linspace(-1.0, 1.0, n_bins + 1)
    lo, hi = np.percentile(allv, CLIP_PERCENTILES)
    pad = 0.04 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    if hi - lo < 1e-9 * max(1.0, abs(hi)):
        half = 0.05 * max(1.0, abs(lo))
        lo, hi = lo - half, hi + half
    return np.linspace(lo, hi, n_bins + 1)


def _outside_share(values: list[np.ndarray], lo: float, hi: float) -> float:
    allv = np.concatenate([v[np.isfinite(v)] for v in values])
    return float(np.mean((allv < lo) | (allv > hi))) if allv.size else 0.0


def _cut_label(label: str, values: list[np.ndarray], lo: float, hi: float) -> str:
    outside = _outside_share(values, lo, hi)
    if outside > 0:
        label += f"\naxis cut at p1/p99: {outside * 100:.1f}% of values lie beyond it"
    return label


def plot_npv_distributions(result, ax: Axes | None = None) -> Axes:
    """Cumulative distributions of Monte Carlo NPV of both businesses, base case dashed.

    A CDF shows a business without uncertainty (a point mass) as a vertical
    step next to a wide one.  The axis spans the p1–p99 range of both
    samples; the share of values beyond it is stated in the axis label.
    """
    ax = _axes(ax)
    values = {b: np.asarray(result.metrics[f"{b}_npv_usd"], dtype=float) for b in BUSINESSES}
    bins = _npv_bins(list(values.values()))
    lo, hi = bins[0], bins[-1]
    summary = result.summary()
    for business in BUSINESSES:
        v = np.sort(values[business][np.isfinite(values[business])])
        color = BUSINESS_COLORS[business]
        if v.size:
            x = np.concatenate([[min(lo, v[0])], v, [max(hi, v[-1])]])
            y = np.concatenate([[0.0], np.arange(1, v.size + 1) / v.size, [1.0]])
            ax.step(x, y, where="post", color=color, lw=1.5, label=f"{BUSINESS_LABELS[business]}")
        base = summary[business]["base"]["npv_usd"]
        if base is not None:
            ax.axvline(base, color=color, ls="--", lw=1.0,
                       label=f"{BUSINESS_LABELS[business]}: base case")
    ax.axvline(0, color=INK, lw=0.6)
    ax.set_xlim(lo, hi)
    ax.set_ylim(0, 1.02)
    ax.xaxis.set_major_formatter(MONEY_FORMATTER)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _p=None: f"{y * 100:.0f}%"))
    ax.set_xlabel(_cut_label("NPV (USD, discounted to the valuation date)", list(values.values()), lo, hi))
    ax.set_ylabel("Share of paths with NPV ≤ x")
    ax.set_title(f"NPV distributions, cumulative ({result.paths:,} paths)")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7)
    return ax


def plot_npv_difference(result, ax: Axes | None = None) -> Axes:
    """Histogram of NPV(AI) - NPV(mining) per path; P(AI beats mining) in the title."""
    ax = _axes(ax)
    diff = np.asarray(result.metrics["npv_difference_usd"], dtype=float)
    diff = diff[np.isfinite(diff)]
    bins = _npv_bins([diff])
    weights = np.full(diff.size, 1.0 / max(diff.size, 1))
    counts, edges = np.histogram(diff, bins=bins, weights=weights)
    centers = 0.5 * (edges[1:] + edges[:-1])
    ai_side = centers >= 0
    ax.bar(centers[ai_side], counts[ai_side], width=np.diff(edges)[ai_side], color=AI_COLOR, alpha=0.75,
           lw=0, label="AI worth more")
    ax.bar(centers[~ai_side], counts[~ai_side], width=np.diff(edges)[~ai_side], color=BITCOIN_COLOR,
           alpha=0.75, lw=0, label="mining worth more")
    ax.axvline(0, color=INK, lw=0.8)
    prob = float(np.mean(diff > 0)) if diff.size else float("nan")
    median = float(np.median(diff)) if diff.size else float("nan")
    ax.axvline(median, color=DIFFERENCE_COLOR, ls="--", lw=1.0, label=f"median {compact_money(median)}")
    ax.set_xlim(bins[0], bins[-1])
    ax.xaxis.set_major_formatter(MONEY_FORMATTER)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _p=None: f"{y * 100:.0f}%"))
    ax.set_xlabel(_cut_label("NPV of AI hosting minus NPV of mining, same path (USD)", [diff],
                             bins[0], bins[-1]))
    ax.set_ylabel("Share of paths")
    ax.set_title(f"Difference per path: AI has the higher NPV on {prob * 100:.1f}% of paths")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7)
    return ax


def plot_btc_price_fan(result, ax: Axes | None = None, sample: MarketSample | None = None) -> Axes:
    """Fan chart of the simulated BTC price [USD/BTC], log scale, with the base path."""
    ax = _axes(ax)
    sample = sample or market_sample(result)
    dates = result.timeline.dates
    _fan(ax, dates, sample.market.btc_price_usd, BITCOIN_COLOR, "simulated")
    ax.plot(dates, np.asarray(result.base_market.btc_price_usd)[0], color=INK, ls="--", lw=1.0,
            label="base case (expected path)")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(MONEY_FORMATTER)
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda y, _p=None: ""))
    ax.set_ylabel("USD per BTC (log scale)")
    _date_axis(ax, dates)
    _mark_halvings(ax, result)
    ax.set_title(f"Bitcoin price ({sample.n_paths} simulated paths)")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7)
    return ax


def plot_hashprice_fan(result, ax: Axes | None = None, sample: MarketSample | None = None) -> Axes:
    """Fan chart of hashprice [USD per PH/s per day], with the base path and halvings."""
    ax = _axes(ax)
    sample = sample or market_sample(result)
    dates = result.timeline.dates
    _fan(ax, dates, sample.market.hashprice_usd_per_ph_day, DIFFERENCE_COLOR, "simulated")
    ax.plot(dates, np.asarray(result.base_market.hashprice_usd_per_ph_day)[0], color=INK, ls="--",
            lw=1.0, label="base case (expected path)")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _p=None: f"${y:,.0f}" if y >= 1 else _usd_per_unit(y)))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda y, _p=None: ""))
    ax.set_ylabel("USD per PH/s per day (log scale)")
    _date_axis(ax, dates)
    _mark_halvings(ax, result)
    ax.set_title("Hashprice: revenue of 1 PH/s for a day")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7)
    return ax


def monthly_revenue_per_kwh(flows: CashFlows) -> np.ndarray:
    """Revenue per kWh of grid power drawn, per path and month [USD/kWh] (NaN when none drawn)."""
    revenue = np.asarray(flows.items["revenue_usd"], dtype=float)
    kwh = np.asarray(flows.quantities["grid_kwh"], dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(kwh > 0, revenue / np.where(kwh > 0, kwh, 1.0), np.nan)


def plot_revenue_per_kwh(result, ax: Axes | None = None, sample: MarketSample | None = None) -> Axes:
    """Revenue per kWh of grid power of both businesses, month by month, and the power price."""
    ax = _axes(ax)
    dates = result.timeline.dates
    for business in BUSINESSES:
        color = BUSINESS_COLORS[business]
        if sample is not None and sample.n_paths > 1:
            per_kwh = monthly_revenue_per_kwh(sample.flows[business])[:, 1:]
            pct = _percentiles(per_kwh, (5, 95))
            if not np.allclose(pct[5], pct[95], rtol=1e-9, equal_nan=True):
                ax.fill_between(dates[1:], pct[5], pct[95], color=color, alpha=0.15, lw=0,
                                label=f"{BUSINESS_LABELS[business]}: p5–p95")
        base = monthly_revenue_per_kwh(result.base[business])[0, 1:]
        ax.plot(dates[1:], base, color=color, lw=1.5, label=f"{BUSINESS_LABELS[business]}: base case")
    power = np.asarray(result.base_market.power_price_usd_per_kwh)[0, 1:]
    ax.plot(dates[1:], power, color=POWER_PRICE_COLOR, lw=1.0, ls="--", label="Power price")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(_usd_per_unit))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda y, _p=None: ""))
    ax.set_ylabel("Revenue (USD per kWh, log scale)")
    _date_axis(ax, dates)
    ax.set_title("Revenue per kWh on the same grid power")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7)
    return ax


def _input_value(path: str, value: float) -> str:
    """An input's value as a reader expects it: $7.76B for money, 20% for shares, else 4 digits."""
    from ..formatting import money

    name = str(path).rsplit(".", 1)[-1]
    if name.endswith("_usd"):
        return money(float(value))
    if name.endswith(("_share", "_rate")) or name in ("tax_rate", "discount_rate"):
        return f"{float(value):.1%}"
    return f"{float(value):,.4g}"


def plot_tornado(table: pd.DataFrame, ax: Axes | None = None, *, metric_label: str = "") -> Axes:
    """Tornado: the metric when each input moves to its low and high value.

    Parameters
    ----------
    table : DataFrame
        One row per input with columns ``input`` (label), ``metric_low``,
        ``metric_high`` (metric with the input at its low / high value [USD])
        and ``base`` (the metric at base values [USD]); optional
        ``low_value``, ``high_value`` (shown in labels).  The widest bars are
        drawn on top.
    """
    ax = _axes(ax, height_in=0.32 * max(len(table), 3) + 0.9)
    t = table.copy()
    t["swing"] = (t["metric_high"] - t["metric_low"]).abs()
    t = t.sort_values("swing", ascending=True)
    base = float(t["base"].iloc[0])
    y = np.arange(len(t))
    ax.barh(y, t["metric_low"] - base, left=base, color=BITCOIN_COLOR, height=0.6, label="input at low value")
    ax.barh(y, t["metric_high"] - base, left=base, color=AI_COLOR, height=0.6, label="input at high value")
    ax.axvline(base, color=INK, lw=0.8)
    labels = []
    for _, row in t.iterrows():
        label = str(row["input"])
        if "low_value" in t and "high_value" in t and pd.notna(row["low_value"]):
            label += f"\n({_input_value(row['input'], row['low_value'])} → {_input_value(row['input'], row['high_value'])})"
        labels.append(mpl_text(label))
    ax.set_yticks(y, labels, fontsize=7)
    ax.grid(axis="y", visible=False)
    ax.xaxis.set_major_formatter(MONEY_FORMATTER)
    ax.set_xlabel(metric_label or "Metric (USD)")
    ax.set_title("Sensitivity: one input at a time (tornado)")
    ax.legend(loc="lower right", fontsize=7)
    return ax


def plot_deal_comparison(results, ax: Axes | None = None) -> Axes:
    """NPV difference (AI minus mining) of several deals: p5–p95, p25–p75, median, base case."""
    ax = _axes(ax, height_in=0.42 * max(len(results), 2) + 1.2)
    y = np.arange(len(results))[::-1]
    for yi, result in zip(y, results):
        summary = result.summary()
        d = summary["comparison"]["npv_difference_usd"]
        base = summary["ai"]["base"]["npv_usd"] - summary["bitcoin"]["base"]["npv_usd"]
        if d["p5"] is not None:
            ax.plot([d["p5"], d["p95"]], [yi, yi], color=DIFFERENCE_COLOR, lw=1.2, alpha=0.6,
                    label="p5–p95" if yi == y[0] else None)
            ax.plot([d["p25"], d["p75"]], [yi, yi], color=DIFFERENCE_COLOR, lw=4.5,
                    label="p25–p75" if yi == y[0] else None, solid_capstyle="butt")
            ax.plot([d["p50"]], [yi], marker="o", color="white", mec=DIFFERENCE_COLOR, ms=5,
                    label="median" if yi == y[0] else None)
        ax.plot([base], [yi], marker="x", color=INK, ms=6, label="base case" if yi == y[0] else None)
    ax.axvline(0, color=INK, lw=0.8)
    ax.set_yticks(y, [mpl_text(textwrap.fill(_short(r.scenario.name, 84), 30)) for r in results], fontsize=7)
    ax.grid(axis="y", visible=False)
    ax.xaxis.set_major_locator(MaxNLocator(6))
    ax.xaxis.set_major_formatter(MONEY_FORMATTER)
    ax.set_xlabel("NPV of AI hosting minus NPV of mining (USD); right of 0: AI worth more")
    ax.set_title("AI hosting versus mining, deal by deal")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7)
    return ax


def _short(name: str, width: int = 34) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"
