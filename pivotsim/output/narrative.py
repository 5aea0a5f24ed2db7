"""Executive summaries written from a run's numbers.

Plain sentences (no markup): the PDF escapes and styles them.  Every figure
comes from ``RunResult.summary()`` (formatted as in the terminal), from the
scenario, or from the optional tornado and break-even.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..simulate import discount_rate
from ..formatting import money, months, pct, per_kwh, usd_price

LABEL = {"bitcoin": "bitcoin mining", "ai": "AI hosting"}


@dataclass
class Summary:
    """A headline and the supporting sentences."""

    headline: str
    points: list[str] = field(default_factory=list)


def _rates_text(result) -> str:
    rb, ra = discount_rate(result.inputs, "bitcoin"), discount_rate(result.inputs, "ai")
    if rb == ra:
        return f"at a {pct(rb)} discount rate"
    return f"at discount rates of {pct(ra)} (AI) and {pct(rb)} (mining)"


def executive_summary(result, tornado=None, breakeven_btc_usd: float | None = None) -> Summary:
    """The executive summary of one run.

    Parameters
    ----------
    result : RunResult
    tornado : DataFrame, optional
        Normalised tornado of the NPV difference
        (:func:`pivotsim.output.tornado_table.tornado_for`).
    breakeven_btc_usd : float, optional
        BTC price at which mining's NPV equals the AI deal's [USD/BTC].
    """
    s = result.summary()
    b, a = s["bitcoin"]["base"], s["ai"]["base"]
    grid_mw = result.inputs.site.grid_power_mw
    diff = a["npv_usd"] - b["npv_usd"]
    if diff > 0:
        winner, loser = "ai", "bitcoin"
    elif diff < 0:
        winner, loser = "bitcoin", "ai"
    else:
        winner = loser = None
    if winner is None:
        headline = (f"On these {grid_mw:,.0f} MW of grid power, AI hosting and bitcoin mining have the same "
                    f"base-case NPV ({money(a['npv_usd'])}) {_rates_text(result)}.")
    elif a["npv_usd"] < 0 and b["npv_usd"] < 0:
        headline = (f"On these {grid_mw:,.0f} MW of grid power neither business earns its cost of capital in "
                    f"the base case: {LABEL[winner]} loses {money(abs(diff))} less than {LABEL[loser]} (NPV "
                    f"{money(s[winner]['base']['npv_usd'])} against {money(s[loser]['base']['npv_usd'])} "
                    f"{_rates_text(result)}).")
    else:
        headline = (f"On these {grid_mw:,.0f} MW of grid power, {LABEL[winner]} is worth "
                    f"{money(abs(diff))} more than {LABEL[loser]} in the base case: NPV "
                    f"{money(s[winner]['base']['npv_usd'])} against {money(s[loser]['base']['npv_usd'])} "
                    f"{_rates_text(result)}.")
    out = Summary(headline=headline)

    mc_diff = s["comparison"]["npv_difference_usd"]
    prob = s["comparison"]["prob_ai_beats_bitcoin"]
    if result.paths > 1 and mc_diff["p50"] is not None:
        out.points.append(
            f"Across {result.paths:,} Monte Carlo paths (seed {result.seed}), AI hosting has the higher NPV "
            f"on {pct(prob)} of paths. The difference (AI minus mining) has a median of {money(mc_diff['p50'])}, "
            f"a mean of {money(mc_diff['mean'])}, and runs from {money(mc_diff['p5'])} (p5) to "
            f"{money(mc_diff['p95'])} (p95).")
        majority_ai = prob > 0.5
        if winner is not None and (winner == "ai") != majority_ai and prob != 0.5:
            out.points.append(
                f"The base case and the Monte Carlo disagree: the base case, which follows the expected "
                f"market path, favours {LABEL[winner]}, but {LABEL[loser]} comes out ahead on most paths "
                f"({pct(prob if loser == 'ai' else 1 - prob)}).")
        negs = {k: s[k]["monte_carlo"]["prob_npv_negative"] for k in ("bitcoin", "ai")}
        out.points.append(f"Chance of losing money (NPV below zero): mining {pct(negs['bitcoin'])} of paths, "
                          f"AI hosting {pct(negs['ai'])}.")
        ai_npv = s["ai"]["monte_carlo"]["npv_usd"]
        uncertain = list(getattr(getattr(result.inputs, "uncertainty", None), "paths", None) or [])
        if ai_npv["std"] is not None and ai_npv["std"] > 1e-9 * max(1.0, abs(ai_npv["mean"] or 0.0)) and uncertain:
            out.points.append(
                f"The AI deal's NPV runs from {money(ai_npv['p5'])} (p5) to {money(ai_npv['p95'])} (p95) over "
                f"the scenario's uncertain inputs ({', '.join(uncertain)}); mining's also moves with the "
                f"bitcoin price and network hashrate.")
        if ai_npv["std"] is not None and ai_npv["std"] <= 1e-9 * max(1.0, abs(ai_npv["mean"] or 0.0)):
            out.points.append(
                "The AI deal's NPV is the same on every path: none of its inputs is uncertain in this "
                "scenario (contracted revenue, no construction delay, tenant default or renewal risk "
                "modelled), so the spread of the difference is mining's alone.")
    else:
        out.points.append(f"This report uses a single path (seed {result.seed}): no Monte Carlo statistics.")

    out.points.append(
        f"Funding and payback: AI hosting needs up to {money(a['peak_funding_usd'])} of funding and "
        f"{_payback_text(a['payback_months'], s['horizon_months'])} (IRR {pct(a['irr'])}); mining needs "
        f"{money(b['peak_funding_usd'])} and {_payback_text(b['payback_months'], s['horizon_months'])} "
        f"(IRR {pct(b['irr'])}).")
    if a.get("revenue_usd_per_kwh") is not None and b.get("revenue_usd_per_kwh") is not None:
        ratio = a["revenue_usd_per_kwh"] / b["revenue_usd_per_kwh"] if b["revenue_usd_per_kwh"] else None
        times = f", {ratio:.1f} times as much" if ratio and ratio > 1 else ""
        out.points.append(
            f"Per kWh of grid power drawn, AI hosting earns {per_kwh(a['revenue_usd_per_kwh'])} of revenue "
            f"against {per_kwh(b['revenue_usd_per_kwh'])} for mining{times}; power costs "
            f"{per_kwh(result.inputs.site.power_price_usd_per_kwh)}.")

    if tornado is not None and len(tornado):
        top = tornado.iloc[0]
        out.points.append(
            f"Key driver: {top['input']}. Moving it from its low to its high value moves the base-case NPV "
            f"difference from {money(top['metric_low'])} to {money(top['metric_high'])} "
            f"(base {money(top['base'])}).")
    if breakeven_btc_usd is not None:
        spot = result.inputs.market.btc_price_usd
        change = breakeven_btc_usd / spot - 1.0
        direction = "above" if change > 0 else "below"
        out.points.append(
            f"Break-even: mining matches the AI deal's NPV when the bitcoin price starts at "
            f"{usd_price(breakeven_btc_usd)}, {pct(abs(change))} {direction} the {usd_price(spot)} used "
            f"here (same drift and halvings).")
    return out


def _payback_text(payback, horizon_months) -> str:
    if payback is None:
        return f"does not pay back within the {horizon_months}-month horizon"
    return f"pays back after {months(payback)}"


def comparison_summary(results) -> Summary:
    """The summary of a book of several deals."""
    rows = []
    for r in results:
        s = r.summary()
        rows.append((r.scenario.name, s["ai"]["base"]["npv_usd"] - s["bitcoin"]["base"]["npv_usd"],
                     s["comparison"]["prob_ai_beats_bitcoin"], s["comparison"]["npv_difference_usd"]["p50"]))
    n = len(rows)
    ai_wins = [row for row in rows if row[1] > 0]
    best = max(rows, key=lambda row: row[1])
    worst = min(rows, key=lambda row: row[1])
    headline = (f"AI hosting has the higher base-case NPV in {len(ai_wins)} of {n} deals. "
                f"The base-case NPV difference (AI minus mining) ranges from {money(worst[1])} "
                f"({worst[0]}) to {money(best[1])} ({best[0]}).")
    out = Summary(headline=headline)
    probs = [row for row in rows if row[2] is not None]
    if probs and results[0].paths > 1:
        hi = max(probs, key=lambda row: row[2])
        lo = min(probs, key=lambda row: row[2])
        out.points.append(f"P(AI beats mining) ranges from {pct(lo[2])} ({lo[0]}) to {pct(hi[2])} ({hi[0]}).")
    seeds = sorted({r.seed for r in results})
    # months of shocks each run drew (see pivotsim.simulate.simulate_block)
    horizons = sorted({max(r.timeline.horizon_months, getattr(r, "market_horizon_months", None) or 0)
                       for r in results})
    paths = sorted({r.paths for r in results})
    out.points.append(
        f"Each deal is valued on its own scenario file with {', '.join(f'{p:,}' for p in paths)} paths and seed "
        f"{', '.join(str(x) for x in seeds)}."
        + (f" All deals draw the same random market shocks month by month (common random numbers over "
           f"{horizons[0]} months), so differences between them come from their inputs, not from noise."
           if len(seeds) == 1 and len(horizons) == 1 and horizons[0] else ""))
    return out
