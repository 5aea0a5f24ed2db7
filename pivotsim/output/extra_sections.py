"""Sections a note shows only when its run carries the data: financing, value bridge, the timing option.

Each section reads what another analysis put in the run (``summary.json``'s
``ai.base.debt`` / ``ai.base.equity``, the per-path ``ai_min_dscr`` and
``ai_equity_irr``, the timing result of a scenario with an ``option:``) and
returns no flowable when it is not there, so a note never shows an empty or
invented section.
"""

from __future__ import annotations

import math

import numpy as np
from reportlab.platypus import KeepTogether, Paragraph

from ..formatting import BRIDGE_LABELS, BRIDGE_TOTAL_LABELS, compact_money, money, pct
from .layout import chart, table, text
from .safe_text import mpl_text
from .style import AI_COLOR, BITCOIN_COLOR, DIFFERENCE_COLOR, INK, MONEY_FORMATTER, PERCENT_FORMATTER

def _finite(values) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    return x[np.isfinite(x)]


def plot_value_bridge(bridge: dict, total_label: str, ax):
    """Waterfall: each part of an NPV [USD] from zero to the total.

    A non-zero ``financing_usd`` (a levered business) comes after a subtotal,
    the project's NPV; the total is then the NPV with debt.
    """
    levered = bool(bridge.get("financing_usd"))
    parts = [(BRIDGE_LABELS.get(k, k), float(v)) for k, v in bridge.items() if not (levered and k == "financing_usd")]
    if levered:
        parts += [(BRIDGE_TOTAL_LABELS["npv_usd"], None), (BRIDGE_LABELS["financing_usd"], float(bridge["financing_usd"]))]
        total_label = BRIDGE_TOTAL_LABELS["npv_with_financing_usd"]
    level = 0.0
    levels = [0.0]
    for i, (label, value) in enumerate(parts):
        if value is None:  # the subtotal
            ax.bar(i, level, color=DIFFERENCE_COLOR, alpha=0.5, width=0.6)
            ax.annotate(mpl_text(compact_money(level)), (i, max(level, 0.0)), xytext=(0, 2),
                        textcoords="offset points", ha="center", va="bottom", fontsize=7)
            continue
        ax.bar(i, value, bottom=level, color=AI_COLOR if value >= 0 else BITCOIN_COLOR, width=0.6)
        ax.annotate(mpl_text(compact_money(value)), (i, max(level, level + value)), xytext=(0, 2),
                    textcoords="offset points", ha="center", va="bottom", fontsize=7)
        level += value
        levels.append(level)
    ax.bar(len(parts), level, color=DIFFERENCE_COLOR, width=0.6)
    ax.annotate(mpl_text(compact_money(level)), (len(parts), max(level, 0.0)), xytext=(0, 2),
                textcoords="offset points", ha="center", va="bottom", fontsize=7, fontweight="bold")
    low, high = min(min(levels), 0.0), max(max(levels), 0.0)
    pad = 0.14 * (high - low or 1.0)
    ax.set_ylim(low - 0.04 * (high - low or 1.0), high + pad)  # room for the amounts above the bars
    ax.axhline(0, color=INK, lw=0.7)
    ax.set_xticks(range(len(parts) + 1), [mpl_text(p[0]) for p in parts] + [mpl_text(total_label)], fontsize=7.5)
    ax.yaxis.set_major_formatter(MONEY_FORMATTER)
    ax.grid(axis="x", visible=False)
    ax.set_title(mpl_text(f"Value bridge: what the {total_label} is made of"))
    return ax


def plot_financing(metrics: dict, covenant: float | None, ax_dscr, ax_irr):
    """Distributions over the paths of the minimum DSCR (with the covenant) and of the equity IRR."""
    dscr = _finite(metrics["ai_min_dscr"])
    ax_dscr.hist(np.clip(dscr, 0.0, np.quantile(dscr, 0.99)), bins=60, color=AI_COLOR, alpha=0.85)
    if covenant:
        ax_dscr.axvline(covenant, color=BITCOIN_COLOR, lw=1.2, ls="--", label=f"covenant {covenant:.2f}x")
        ax_dscr.legend(loc="upper right", fontsize=7)
    ax_dscr.set_xlabel("Minimum DSCR over the debt's life (x)")
    ax_dscr.set_ylabel("Paths")
    ax_dscr.set_title("Debt service cover: lowest DSCR of each path")
    irr = _finite(metrics["ai_equity_irr"])
    if irr.size:
        lo, hi = np.quantile(irr, [0.005, 0.995])
        ax_irr.hist(np.clip(irr, lo, hi), bins=50, color=DIFFERENCE_COLOR, alpha=0.85)
        ax_irr.xaxis.set_major_formatter(PERCENT_FORMATTER)
    ax_irr.set_xlabel("Equity IRR (annual)")
    ax_irr.set_ylabel("Paths")
    ax_irr.set_title(mpl_text(f"Equity IRR over {irr.size:,} paths with an IRR"))


def financing_section(data, styles, width) -> list:
    """Project debt of the AI side: sizing, cost, DSCR, covenant breaches, equity returns; and its value bridge."""
    summary, result = data.summary, data.result
    debt = summary["ai"]["base"].get("debt")
    equity = summary["ai"]["base"].get("equity")
    if not debt or not equity:
        return []
    mc_debt = summary["ai"].get("monte_carlo", {}).get("debt", {})
    mc_equity = summary["ai"].get("monte_carlo", {}).get("equity", {})
    rows = [["", "Base case", "Monte Carlo"],
            ["Debt raised", money(debt["amount_usd"]), money((mc_debt.get("amount_usd") or {}).get("mean"))],
            ["Cost of debt (annual)", pct(debt.get("cost_of_debt")), pct((mc_debt.get("cost_of_debt") or {}).get("mean"))],
            ["Minimum DSCR", _times(debt.get("min_dscr")), _times((mc_debt.get("min_dscr") or {}).get("p50"), "median ")],
            ["Covenant breached", "yes" if debt.get("covenant_breach") else "no",
             f"{pct(mc_debt['prob_covenant_breach'])} of paths" if "prob_covenant_breach" in mc_debt else ""],
            ["Payment default", "yes" if debt.get("payment_default") else "no",
             f"{pct(mc_debt['prob_payment_default'])} of paths" if "prob_payment_default" in mc_debt else ""],
            [f"Equity NPV at the cost of equity ({pct(equity.get('cost_of_equity'))})", money(equity.get("npv_usd")),
             money((mc_equity.get("npv_usd") or {}).get("mean"))],
            ["Equity IRR", pct(equity.get("irr")), _range(mc_equity.get("irr"))]]
    out = [KeepTogether([Paragraph("Financing: project debt of the AI side", styles["H2"]),
                         table(rows, [width * 0.4, width * 0.25, width * 0.35], styles, right_cols=(1, 2)),
                         Paragraph(text("Monte Carlo column: mean, median or p5 to p95 over the run's paths; the base "
                                        "case is the expected market path."), styles["caption"])])]
    metrics = result.metrics
    if "ai_min_dscr" in metrics and "ai_equity_irr" in metrics and result.paths > 1:
        tranches = getattr(result.inputs.ai, "debt", None) or []
        covenants = [t.covenant_dscr for t in tranches if getattr(t, "covenant_dscr", None)]
        covenant = max(covenants) if covenants else None
        out.append(chart(lambda axes: plot_financing(metrics, covenant, axes[0], axes[1]), width, 4.2, styles,
                         nrows=2, caption="Per path: the lowest monthly debt service cover ratio over the debt's "
                                          "life (dashed: the covenant level; the covenant itself is tested on "
                                          f"{_test_months(tranches)}, so a low month is not always a breach: "
                                          f"P(breach) {pct(mc_debt.get('prob_covenant_breach'))}) and the equity "
                                          "IRR. Sculpted debt follows the base case's cash flows month by month, "
                                          "its lumpy months included (GPU resales at each contract's end): a path "
                                          "whose halls go live late receives them after the month the service "
                                          "expected them, so that one month's DSCR is low while the trailing test "
                                          "holds. The run keeps no month-by-month DSCR per path, so no fan is "
                                          "drawn."))
    return out


def _test_months(tranches) -> str:
    months = sorted({int(t.covenant_test_months) for t in tranches if getattr(t, "covenant_test_months", None)})
    return " and ".join(f"{m}-month" for m in months) + " cash flows" if months else "its test period"


def _times(x, prefix: str = "") -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{prefix}{x:.2f}x"


def _range(stats) -> str:
    if not stats or stats.get("p5") is None:
        return "n/a"
    return f"{pct(stats['p5'])} to {pct(stats['p95'])} (p5 to p95)"


def plot_timing(timing, axes):
    """The exercise boundary of the first block, and when the paths convert."""
    boundary = timing.boundary
    ax = axes[0]
    years = sorted(boundary["year"].unique())
    shown = years[:: max(1, len(years) // 5)][:5]
    for i, year in enumerate(shown):
        b = boundary[boundary["year"] == year]
        ax.plot(b["hashprice_usd_per_ph_day"], b["rent_threshold_usd_per_kw_month"], lw=1.3,
                color=(AI_COLOR, DIFFERENCE_COLOR, BITCOIN_COLOR, INK, "#3C8D5A")[i % 5], label=f"year {year}")
    ax.set_xlabel("Hashprice (USD per PH/s per day)")
    ax.set_ylabel(mpl_text("Rent above which to convert ($/kW-month)"))
    ax.set_title("Exercise boundary of the first block: convert when the rent is above the line")
    ax.legend(fontsize=7, loc="best")
    frame = timing.to_frame()
    last = int(np.max(np.nonzero(frame.to_numpy().sum(axis=1))[0])) + 1 if frame.to_numpy().any() else 1
    frame = frame.iloc[:max(last, 1)]
    width = 0.8 / frame.shape[1]
    for j, column in enumerate(frame.columns):
        axes[1].bar(frame.index + j * width, frame[column], width=width, label=column.replace("_", " "))
    axes[1].yaxis.set_major_formatter(PERCENT_FORMATTER)
    axes[1].set_xlabel("Year of the conversion decision")
    axes[1].set_ylabel("Share of paths")
    axes[1].set_title("When the paths convert, block by block")
    axes[1].legend(fontsize=7)


def timing_section(data, styles, width) -> list:
    """The option to convert later (least-squares Monte Carlo), when the scenario has an ``option:``."""
    timing = data.extras.get("timing_result")
    if timing is None:
        return []
    s = timing.summary()
    rows = [["", "Value", "± s.e."],
            ["Keep mining (never convert)", money(s["value_mine_forever_usd"]), money(s["value_mine_forever_se_usd"])],
            ["Convert now", money(s["value_convert_now_usd"]), money(s["value_convert_now_se_usd"])],
            ["Convert when optimal (LSM policy)", money(s["value_optimal_usd"]), money(s["value_optimal_se_usd"])],
            ["Option value of waiting", money(s["option_value_of_waiting_usd"]),
             money(s["option_value_of_waiting_se_usd"])]]
    within = s["prob_convert_within_years"]
    out = [KeepTogether([
        Paragraph("The option to convert later", styles["H2"]),
        table(rows, [width * 0.5, width * 0.25, width * 0.25], styles, right_cols=(1, 2)),
        Paragraph(text(f"Least-squares Monte Carlo on {s['paths']:,} pricing paths (policy fitted on {s['fit_paths']:,} "
                       f"others), seed {s['seed']}, decisions every {s['decision_every_months']} month(s). P(a first "
                       f"conversion within 1, 2, 5 years): {pct(within['1'])}, {pct(within['2'])}, "
                       f"{pct(within['5'])}."), styles["caption"])])]
    out.append(chart(lambda axes: plot_timing(timing, axes), width, 4.1, styles, nrows=2,
                     caption="Top: rent index above which the first block converts, against hashprice, at the first "
                             "decision of a few years (read off the fitted rule inside the simulated states). "
                             "Bottom: share of paths deciding each block's conversion in each year."))
    return out


def plot_project_bridges(bridges: dict, axes):
    """One waterfall per business: its project NPV taken apart (base case)."""
    for ax, (business, bridge) in zip(axes, bridges.items()):
        plot_value_bridge(bridge, BRIDGE_TOTAL_LABELS["npv_usd"], ax)
        total = BRIDGE_TOTAL_LABELS["npv_with_financing_usd" if bridge.get("financing_usd") else "npv_usd"]
        ax.set_title(mpl_text(f"{'Bitcoin mining' if business == 'bitcoin' else 'AI hosting'}: what its {total} "
                              "is made of (base case)"))


def value_bridge_section(data, styles, width) -> list:
    """The project NPV of each business taken apart, when the run carries its value bridge."""
    summary = data.summary
    bridges = {b: summary[b]["base"]["value_bridge"] for b in ("bitcoin", "ai")
               if isinstance(summary.get(b, {}).get("base", {}).get("value_bridge"), dict)}
    if not bridges:
        return []
    means = {b: summary[b].get("monte_carlo", {}).get("value_bridge_mean") for b in bridges}
    parts = ", ".join(f"{BRIDGE_LABELS.get(k, k).lower()} {money(v)}"
                      for k, v in (means.get("ai") or {}).items()) if means.get("ai") else ""
    levered = [b for b in bridges if bridges[b].get("financing_usd")]
    debt = (" With debt, the NPV is followed by the debt's part, the value it adds at the business's discount rate "
            "(the equity's flows less the unlevered ones: interest tax saving, the rate's spread to the discount "
            "rate, fees, reserve), up to the NPV with debt." if levered else "")
    caption = ("Each NPV as the sum of its parts: operations, the customer's prepayment as financing and the "
               "terminal value; base case." + debt
               + (f" Monte Carlo means of the AI side: {parts}." if parts else ""))
    return [chart(lambda axes: plot_project_bridges(bridges, axes if len(bridges) > 1 else [axes]), width,
                  2.4 * len(bridges) + 0.3, styles, nrows=len(bridges), heading="Value bridge of each business",
                  caption=caption)]


AT_VALUATION_LABELS = {"btc_price_usd": ("BTC price", lambda x: f"${x:,.0f}"),
                       "hashprice_usd_per_ph_day": ("Hashprice (USD per PH/s per day)", lambda x: f"{x:,.2f}"),
                       "network_hashrate_eh_s": ("Network hashrate (EH/s)", lambda x: f"{x:,.0f}"),
                       "block_height": ("Block height", lambda x: f"{x:,.0f}")}


def market_now_section(data, styles, width) -> list:
    """The market at the valuation date, when the run rolls its market state forward to it."""
    block = (data.summary.get("market") or {}).get("at_valuation")
    if not block or not block.get("state_days_before_valuation"):
        return []
    rows = [["At the valuation date", "Base case", "p5", "p50", "p95"]]
    for key, (label, fmt) in AT_VALUATION_LABELS.items():
        if isinstance(block.get(key), dict):
            v = block[key]
            rows.append([label, fmt(v["base"]), fmt(v["p5"]), fmt(v["p50"]), fmt(v["p95"])])
    halving = block.get("next_halving") or {}
    if halving:
        rows.append(["Next halving (date)", halving.get("expected") or "after the horizon", halving.get("p5") or "",
                     "", halving.get("p95") or ""])
    days = block["state_days_before_valuation"]
    return [KeepTogether([
        Paragraph("The market at the valuation date", styles["H2"]),
        table(rows, [width * 0.36] + [width * 0.16] * 4, styles, right_cols=(1, 2, 3, 4), small=True),
        Paragraph(text(f"The market data end on {block.get('state_date')}, {days} days before the valuation date; the "
                       "market is rolled forward over the gap on every path (same model as after it), so the note "
                       "starts from a distribution, not from a stale spot value."), styles["caption"])])]


EXTRA_SECTIONS = (market_now_section, value_bridge_section, financing_section, timing_section)
