"""The engine's valuation of a business's cash flows: metrics, value bridge and base-case KPIs.

One place for what a path's cash flows are worth: NPV, IRR where it means
something, MIRR, paybacks, peak funding (:func:`valuation`), the NPV taken
apart (:func:`value_bridge`), and the base-case block of ``summary.json``
(:func:`base_case_kpis`).  :mod:`pivotsim.simulate` re-exports them.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .models import finance
from .models.cashflows import CashFlows
from .models.hosting import contract_terms
from .models.spot import mining_cost_kpis

VALUATION_METRICS = ("npv_usd", "irr", "mirr", "payback_months", "discounted_payback_months", "peak_funding_usd")
#: the value bridge of each path: ``<business>_value_bridge_<part>`` (:data:`finance.BRIDGE_PARTS`)
BRIDGE_METRICS = tuple(f"value_bridge_{part}" for part in finance.BRIDGE_PARTS)


def discount_rate(inputs, business: str):
    """Annual discount rate of a business: its own rate if set, else the WACC."""
    own = getattr(inputs.finance, f"discount_rate_{business}")
    return inputs.finance.discount_rate if own is None else own


def valuation(flows: CashFlows, annual_discount_rate, names: Sequence[str] | None = None
              ) -> dict[str, np.ndarray]:
    """NPV, IRR and MIRR (effective annual), payback, discounted payback, peak funding per path.

    ``names``: only these of :data:`VALUATION_METRICS` (the same numbers).
    The IRR is reported only where it means something (one root, the
    series invests first: :func:`~pivotsim.models.finance.irr_with_note`);
    the MIRR finances and reinvests at the discount rate.
    """
    return finance.valuation_metrics(flows.net, finance.monthly_rate(annual_discount_rate),
                                     VALUATION_METRICS if names is None else names, unique_irr=True)


def value_bridge(flows: CashFlows, annual_discount_rate) -> dict[str, np.ndarray]:
    """The value bridge of each path: part name -> present value [USD] (:func:`finance.value_bridge`)."""
    return finance.value_bridge(flows.net, flows.bridge_usd, finance.monthly_rate(annual_discount_rate))


def base_value_bridge(flows: CashFlows, annual_discount_rate) -> dict[str, float]:
    """The value bridge of a one-path base case: part name -> present value [USD], as numbers."""
    return {part: float(np.asarray(v).ravel()[0]) for part, v in value_bridge(flows, annual_discount_rate).items()}


def business_metrics(business: str, flows: CashFlows, inputs, n_paths: int,
                     names: Sequence[str] | None = None, bridge: bool = False) -> dict[str, np.ndarray]:
    """Per-path valuation of one business: ``<business>_<metric>`` arrays ``(n_paths,)``.

    ``bridge``: the value bridge too (``<business>_value_bridge_<part>``).
    """
    rate = discount_rate(inputs, business)
    out = {f"{business}_{name}": np.broadcast_to(values, (n_paths,)).copy()
           for name, values in valuation(flows, rate, names).items()}
    if bridge:
        out.update((f"{business}_value_bridge_{part}", np.broadcast_to(values, (n_paths,)).copy())
                   for part, values in value_bridge(flows, rate).items())
    return out


def base_case_kpis(inputs, flows: CashFlows, business: str) -> dict:
    """Base-case metrics of one business: valuation, revenue, margins, revenue per kWh, cost per BTC.

    Parameters
    ----------
    inputs : namespace
        The inputs tree (:func:`pivotsim.inputs.to_inputs`).
    flows : CashFlows
        The business's base-case line items (one path).
    business : {"bitcoin", "ai"}

    Returns
    -------
    dict
        The ``<business>.base`` block of ``summary.json`` [USD, months, USD/kWh, USD/BTC]:
        with ``irr_note`` (why the IRR is null, or None) and ``value_bridge``
        (part -> present value [USD], adding up to ``npv_usd``).
    """
    rate = discount_rate(inputs, business)
    val = {k: float(np.asarray(v).ravel()[0]) for k, v in valuation(flows, rate).items()}
    note = float(np.asarray(valuation(flows, rate, ("irr_note",))["irr_note"]).ravel()[0])
    val["irr_note"] = finance.IRR_NOTES[note]
    val["value_bridge"] = base_value_bridge(flows, rate)
    revenue = float(flows.items["revenue_usd"].sum())
    ebitda = float(flows.quantities["ebitda_usd"].sum())
    kwh = float(flows.quantities["grid_kwh"].sum())
    out = {**val,
           "total_revenue_usd": revenue,
           "ebitda_margin": ebitda / revenue if revenue else math.nan,
           "revenue_usd_per_kwh": revenue / kwh if kwh else math.nan}
    if business == "bitcoin":
        out.update(mining_cost_kpis(flows))
    else:
        it_kwh = float(flows.quantities["critical_it_kwh"].sum())
        out.update({k: float(v) for k, v in contract_terms(inputs).items()})
        out["revenue_usd_per_kwh_critical_it"] = revenue / it_kwh if it_kwh else math.nan
    return out
