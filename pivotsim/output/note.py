"""The decision pages of a research note: the answer, key assumptions, headline, cases, grids, drivers.

Plain data in (the run's summary, its drivers, cases and grids), rows of
text out; :mod:`pivotsim.output.pdf` lays them out.  Every number is
formatted as in the terminal (:mod:`pivotsim.formatting`): no ``e+06``, no
dotted input paths (inputs are named by :func:`pivotsim.input_labels.input_label`).
"""

from __future__ import annotations

import math

from ..scenario.labels import in_sentence, input_label
from ..framing import framing_text
from ..formatting import money, months, pct, per_kwh, usd_price

LABEL = {"bitcoin": "bitcoin mining", "ai": "AI hosting"}


def _base_npv(summary: dict, business: str) -> float:
    return summary[business]["base"]["npv_usd"]


def driver_phrase(drivers) -> str | None:
    """"the market paths (52% of its variance)" for the largest driver, or None."""
    if drivers is None or drivers.key_driver is None:
        return None
    key = drivers.key_driver
    return f"{in_sentence(key.label)} ({pct(key.contribution, 0)} of its variance)"


def answer_sentence(summary: dict, grid_mw: float, drivers=None) -> str:
    """The note's one-line answer: which use of the megawatts is worth more, by how much, how often."""
    a, b = _base_npv(summary, "ai"), _base_npv(summary, "bitcoin")
    diff = a - b
    paths = summary["paths"]
    comparison = summary["comparison"]
    prob = comparison.get("prob_ai_beats_bitcoin")
    mean = comparison["npv_difference_usd"]["mean"] if paths > 1 else None
    if diff >= 0:
        head = (f"AI hosting is worth {money(diff)} more than bitcoin mining on these {grid_mw:,.0f} MW "
                f"in the base case")
    else:
        head = (f"Bitcoin mining is worth {money(-diff)} more than AI hosting on these {grid_mw:,.0f} MW "
                f"in the base case")
    if a < 0 and b < 0:
        head += " (neither earns its cost of capital)"
    if paths > 1 and prob is not None:
        winner_prob = prob if diff >= 0 else 1 - prob
        winner = "AI" if diff >= 0 else "mining"
        head += (f", and {winner} comes out ahead on {pct(winner_prob)} of {paths:,} Monte Carlo paths "
                 f"(mean difference {money(mean)})")
    phrase = driver_phrase(drivers)
    if phrase:
        head += f"; the largest driver of the spread is {phrase}"
    return head + "."


def _distribution_note(summary: dict, path: str) -> str:
    info = summary.get("uncertain_inputs", {}).get(path)
    return f", drawn {info['kind']}" if info else ""


def key_assumptions(result) -> list[tuple[str, str]]:
    """The assumptions a reader checks first, in words (label, text)."""
    inputs, summary, scenario = result.inputs, result.summary(), result.scenario
    market, site, ai, finance = inputs.market, inputs.site, inputs.ai, inputs.finance
    rows = []
    price_model = {"merton": "with jumps", "bootstrap": "historical bootstrap", "gbm": "lognormal"}.get(
        market.price_model, market.price_model)
    rows.append(("BTC price", f"{usd_price(market.btc_price_usd)} at {scenario.scenario.valuation_date.isoformat()}, "
                              f"drift {pct(market.btc_drift_per_year)} a year, volatility "
                              f"{pct(market.btc_volatility_per_year)} ({price_model})"))
    hashrate = ("responds to miners' margins" if market.hashrate_model == "response"
                else f"grows {pct(getattr(market, 'hashrate_growth_per_year', 0) or 0)} a year")
    rows.append(("Network", f"hashrate {hashrate}"))
    rows.append(("Power", f"{per_kwh(site.power_price_usd_per_kwh)} on {site.grid_power_mw:,.0f} MW of grid power"
                          f"{_distribution_note(summary, 'site.power_price_usd_per_kwh')}"))
    deal = summary["ai"]["base"]
    terms = [f"{ai.kind.replace('_', ' ')}", f"{money(deal.get('contract_value_usd'))} over "
             f"{months(ai.term_months)}"]
    if deal.get("prepayment_usd"):
        terms.append(f"prepayment {money(deal['prepayment_usd'])}")
    terms.append(f"facility capex {money(ai.datacenter_capex_usd_per_mw)}/MW")
    if getattr(ai, "gpu_capex_usd", None):
        terms.append(f"GPU capex {money(ai.gpu_capex_usd)}")
    rows.append(("AI deal", ", ".join(terms)))
    rb = finance.discount_rate if finance.discount_rate_bitcoin is None else finance.discount_rate_bitcoin
    ra = finance.discount_rate if finance.discount_rate_ai is None else finance.discount_rate_ai
    rows.append(("Discount rates", f"{pct(rb)} for both" if rb == ra else f"mining {pct(rb)}, AI {pct(ra)}"))
    if getattr(result, "framing", None):
        text = framing_text(result.framing)
        rows.append(("Framing", text[len("Framing: "):] if text.startswith("Framing: ") else text))
    else:
        fleet = ("new fleet bought at replacement cost" if inputs.bitcoin.fleet == "new"
                 else "existing fleet (ASICs sunk, resale to the AI side)")
        rows.append(("Framing", f"mining on a {fleet}"))
    return rows


def headline_rows(summary: dict, extras: dict | None = None) -> list[list[str]]:
    """The headline table: base case and Monte Carlo, both businesses and the difference."""
    extras = extras or {}
    b, a = summary["bitcoin"], summary["ai"]
    diff_base = a["base"]["npv_usd"] - b["base"]["npv_usd"]
    rows = [["", "Bitcoin mining", "AI hosting", "AI minus mining"],
            ["NPV, base case", money(b["base"]["npv_usd"]), money(a["base"]["npv_usd"]), money(diff_base)]]
    if summary["paths"] > 1:
        d = summary["comparison"]["npv_difference_usd"]
        bm, am = b["monte_carlo"]["npv_usd"], a["monte_carlo"]["npv_usd"]
        rows.append(["NPV, Monte Carlo mean", money(bm["mean"]), money(am["mean"]), money(d["mean"])])
        rows.append(["NPV, Monte Carlo median", money(bm["p50"]), money(am["p50"]), money(d["p50"])])
        rows.append(["NPV, p5 to p95", f"{money(bm['p5'])} to {money(bm['p95'])}",
                     f"{money(am['p5'])} to {money(am['p95'])}", f"{money(d['p5'])} to {money(d['p95'])}"])
        rows.append(["P(NPV < 0)", pct(b["monte_carlo"]["prob_npv_negative"]),
                     pct(a["monte_carlo"]["prob_npv_negative"]), ""])
        rows.append(["P(AI beats mining)", "", "", pct(summary["comparison"]["prob_ai_beats_bitcoin"])])
    rows.append(["Project IRR, base case", pct(b["base"]["irr"]), pct(a["base"]["irr"]), ""])
    rows.append(["Payback, base case", months(b["base"]["payback_months"]), months(a["base"]["payback_months"]), ""])
    rows.append(["Peak funding need", money(b["base"]["peak_funding_usd"]), money(a["base"]["peak_funding_usd"]), ""])
    equity = {k: (summary[k]["base"].get("equity") or {}) for k in ("bitcoin", "ai")}
    debt = {k: (summary[k]["base"].get("debt") or {}) for k in ("bitcoin", "ai")}
    if any(e.get("irr") is not None for e in equity.values()):
        rows.append(["Equity IRR, base case", pct(equity["bitcoin"].get("irr")) if equity["bitcoin"] else "",
                     pct(equity["ai"].get("irr")) if equity["ai"] else "", ""])
    if any(d.get("min_dscr") is not None for d in debt.values()):
        def times(x):
            return "n/a" if x is None else f"{x:.2f}x"

        rows.append(["Minimum DSCR, base case", times(debt["bitcoin"].get("min_dscr")) if debt["bitcoin"] else "",
                     times(debt["ai"].get("min_dscr")) if debt["ai"] else "", ""])
    timing = extras.get("timing") or {}
    if timing.get("option_value_usd") is not None:
        rows.append(["Option value of waiting", "", "", money(timing["option_value_usd"])])
    breakeven = summary["comparison"].get("breakeven_btc_price_usd")
    if breakeven is not None:
        rows.append(["Break-even BTC price (mining = AI)", usd_price(breakeven), "", ""])
    return rows


def cases_rows(cases) -> list[list[str]]:
    """Bear / base / bull: the case, why, both NPVs, the difference, P(AI beats), equity IRR when present."""
    with_equity = any(c.equity_irr for c in cases)
    head = ["Case", "Assumption", "Mining NPV", "AI NPV", "AI minus mining", "Mean (MC)", "P(AI beats)"]
    if with_equity:
        head.append("Equity IRR (AI)")
    rows = [head]
    for c in cases:
        row = [c.name.capitalize(), c.assumption, money(c.bitcoin_npv_usd), money(c.ai_npv_usd),
               money(c.npv_difference_usd), money(c.mean_npv_difference_usd), pct(c.prob_ai_beats_bitcoin)]
        if with_equity:
            row.append(pct(c.equity_irr.get("ai")))
        rows.append(row)
    return rows


def axis_value(path: str, x: float) -> str:
    """A grid axis value as a reader writes it: $109,669, $0.035/kWh, $9.70B, $10.00M/MW, $1.50/kW-month."""
    name = path.rsplit(".", 1)[-1]
    if name == "btc_price_usd":
        return usd_price(x)
    if name.endswith("_usd_per_kwh"):
        return per_kwh(x)
    if name.endswith("_usd_per_mw"):
        return f"{money(x)}/MW"
    if name.endswith("_usd_per_kw_month"):
        return f"${x:,.2f}/kW-month"
    if name.endswith("_usd"):
        return money(x)
    if name.endswith(("_share", "_rate")):
        return pct(x)
    return f"{x:,.0f}" if abs(x) >= 1e4 else f"{x:,.4g}"


def grid_rows(grid) -> list[list[str]]:
    """A sensitivity grid as table rows: corner, then column values; each row its value then the cells."""
    rows_path, cols_path = grid.spec.rows[0], grid.spec.cols[0]
    corner = f"{input_label(rows_path)} \u2193 / {input_label(cols_path)} \u2192"
    out = [[corner] + [axis_value(cols_path, x) for x in grid.col_values]]
    for i, x in enumerate(grid.row_values):
        out.append([axis_value(rows_path, x)] + [money(v) if math.isfinite(v) else "n/a" for v in grid.values[i]])
    return out


def drivers_caption(drivers, top: int = 3) -> str:
    """What the drivers chart says, in a sentence."""
    if drivers is None or not drivers.drivers:
        return "No uncertain input varies between paths: the spread comes from the market alone."
    parts = [f"{d.label} {pct(d.contribution, 0)}" for d in drivers.drivers[:top]]
    method = "rank regression" if drivers.method == "rank" else "linear regression"
    return (f"Contribution to the variance of the NPV difference over {drivers.paths:,} paths, from a "
            f"{method} on each path's input draws and market summaries (R² {pct(drivers.r_squared, 0)}; "
            f"Shapley shares, which add up to R²): {', '.join(parts)}. The market paths are one group: BTC "
            "price, network hashrate, fees and power price along each path.")
