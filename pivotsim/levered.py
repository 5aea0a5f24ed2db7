"""Levered businesses in a run: the base case's debt schedule and equity, and their summary blocks.

A business with ``debt`` in its scenario section gets, next to its
unlevered valuation, ``base.debt`` / ``base.equity`` (the base case) and
``monte_carlo.debt`` / ``monte_carlo.equity`` (the paths) in
``summary.json``; the base case's schedule joins ``cashflows_base.csv``.
"""

from __future__ import annotations

import numpy as np

from .models import debt as project_debt
from .models import equity
from .models.cashflows import CashFlows
from .simulate import debt_terms, discount_rate
from .statistics import describe
from .valuation import base_value_bridge


def base_debt(inputs, base: dict[str, CashFlows], terms: dict | None = None) -> dict[str, project_debt.DebtResult]:
    """The base case's debt of each levered business, with its monthly lines (ScenarioError on bad terms).

    Sized on this base case, or ``terms`` serviced as given (a debt sized at close, by business).
    """
    terms = debt_terms(inputs, base) if terms is None else {b: terms[b] for b in base}
    return {business: equity.levered(base[business], t, inputs, business, discount_rate(inputs, business), lines=True)
            for business, t in terms.items()}


def _first(values) -> float:
    return float(np.asarray(values, dtype=float).reshape(-1)[0])


def value_bridge_with_financing(inputs, flows: CashFlows, result: project_debt.DebtResult, business: str) -> dict:
    """The base case's value bridge of a levered business (part -> present value [USD]), its debt's part included."""
    bridge = base_value_bridge(flows, discount_rate(inputs, business))
    bridge["financing_usd"] = _first(result.metrics["financing_usd"])
    return bridge


def base_blocks(inputs, flows: CashFlows, result: project_debt.DebtResult, business: str) -> dict:
    """``base.debt``, ``base.equity`` and the project's ``base.value_bridge`` of a levered business.

    The value bridge gains its ``financing_usd`` part: the value the debt
    adds at the business's discount rate, the present value of the equity's
    flows less the unlevered ones (draws, fees, interest, principal, reserve
    and lock-up, the interest's tax saving).  The parts then add up to
    ``npv_with_financing_usd``, the equity's flows valued at the discount
    rate (the unlevered ``npv_usd`` plus the financing part).
    """
    coe = _first(equity.cost_of_equity(inputs, business, discount_rate(inputs, business)))
    m = {name: _first(v) for name, v in result.metrics.items()}
    eq = {name: _first(v) for name, v in equity.equity_metrics(result.equity_usd, coe).items()}
    bridge = value_bridge_with_financing(inputs, flows, result, business)
    return {
        "debt": {"amount_usd": m["debt_usd"], "min_dscr": m["min_dscr"], "avg_dscr": m["avg_dscr"],
                 "cost_of_debt": m["cost_of_debt"], "covenant_breach": bool(m["covenant_breach"]),
                 "first_breach_month": m["first_breach_month"], "payment_default": bool(m["payment_default"]),
                 "financing_usd": m["financing_usd"]},
        "equity": {"cost_of_equity": coe, **eq},
        "value_bridge": bridge,
        "npv_with_financing_usd": sum(bridge.values()),
    }


def monte_carlo_blocks(metrics: dict[str, np.ndarray], business: str) -> dict:
    """``monte_carlo.debt`` and ``monte_carlo.equity`` of a levered business."""
    def of(name):
        return metrics[f"{business}_{name}"]

    min_dscr = of("min_dscr")
    first_breach = of("first_breach_month")
    npv = of("equity_npv_usd")
    irr = of("equity_irr")
    return {
        "debt": {"amount_usd": describe(of("debt_usd")), "cost_of_debt": describe(of("cost_of_debt")),
                 "min_dscr": describe(min_dscr), "avg_dscr": describe(of("avg_dscr")),
                 "prob_covenant_breach": float(np.mean(of("covenant_breach"))),
                 "prob_payment_default": float(np.mean(of("payment_default"))),
                 "first_breach_month": describe(first_breach[np.isfinite(first_breach)]),
                 "equity_cure_usd": describe(of("equity_cure_usd"))},
        "equity": {"npv_usd": describe(npv, tail=True), "prob_npv_negative": float(np.mean(npv < 0)),
                   "irr": describe(irr), "prob_no_irr": float(np.mean(~np.isfinite(irr))),
                   "mirr": describe(of("equity_mirr")), "payback_months": describe(of("equity_payback_months"))},
    }


def financing_headline(base: dict, monte_carlo: dict) -> dict:
    """``<business>.financing``: the few debt figures a headline shows (the note's table, the cases)."""
    return {"debt_usd": base["debt"]["amount_usd"], "min_dscr": base["debt"]["min_dscr"],
            "equity_npv_usd": base["equity"]["npv_usd"], "equity_irr": base["equity"]["irr"],
            "prob_covenant_breach": monte_carlo["debt"]["prob_covenant_breach"],
            "prob_payment_default": monte_carlo["debt"]["prob_payment_default"]}


def schedule_columns(result: project_debt.DebtResult) -> dict[str, np.ndarray]:
    """The base case's debt schedule as columns of ``cashflows_base.csv`` (one path)."""
    return {name: np.asarray(values)[0] for name, values in result.lines.items()}
