"""How each side of a comparison is framed: an existing or a new fleet, and the share of the site converted.

A miner's own site mines on ASICs it already has (``bitcoin.fleet: existing``:
sunk, their resale value goes to the AI side when it converts); a developer
comparing uses on bare megawatts buys the fleet at t = 0 (``new``, replacement
cost).  The two framings differ by about the fleet's cost, so every run
reports both base-case mining NPVs and their difference, next to the framing
the scenario uses (:func:`framing_summary`, the ``framing`` block of
``summary.json``).
"""

from __future__ import annotations

import copy

import numpy as np

from .formatting import money, pct
from .models.mining import asic_power_w, mining_cash_flows
from .models.split_site import asic_resale_usd
from .simulate import base_inputs, discount_rate, market_paths, timeline_of, valuation, zero_shocks


def _first(x) -> float:
    return float(np.asarray(x, dtype=float).ravel()[0])


def fleet_cost_usd(inputs) -> float:
    """Replacement cost of the site's fleet at t = 0 [USD]: its TH/s at ``asic_price_usd_per_th``."""
    btc = inputs.bitcoin
    return _first(asic_power_w(btc, inputs.site.grid_power_mw) / btc.fleet_efficiency_j_per_th
                  * btc.asic_price_usd_per_th)


def _mining_base_npv(inputs, fleet: str) -> float:
    framed = copy.copy(inputs)
    framed.bitcoin = copy.copy(inputs.bitcoin)
    framed.bitcoin.fleet = fleet
    base = base_inputs(framed)
    timeline = timeline_of(base)
    market = market_paths(base, timeline, zero_shocks(timeline.horizon_months))
    flows = mining_cash_flows(base, market, timeline, with_quantities=False, net_only=True)
    return _first(valuation(flows, discount_rate(base, "bitcoin"), ["npv_usd"])["npv_usd"])


def framing_summary(inputs) -> dict:
    """The framing of both sides and the base-case mining NPV under each fleet framing [USD].

    Returns
    -------
    dict
        ``bitcoin_fleet`` (``existing`` or ``new``), ``ai_share``,
        ``fleet_cost_usd`` (what ``new`` pays at t = 0), ``asic_resale_to_ai_usd``
        (what the AI side collects, ``existing`` only),
        ``bitcoin_base_npv_existing_fleet_usd``, ``bitcoin_base_npv_new_fleet_usd`` and
        ``existing_minus_new_usd``.
    """
    existing = _mining_base_npv(inputs, "existing")
    new = _mining_base_npv(inputs, "new")
    return {
        "bitcoin_fleet": inputs.bitcoin.fleet,
        "ai_share": _first(getattr(inputs.site, "ai_share", 1.0)),
        "fleet_cost_usd": fleet_cost_usd(inputs),
        "asic_resale_to_ai_usd": _first(asic_resale_usd(inputs)),
        "bitcoin_base_npv_existing_fleet_usd": existing,
        "bitcoin_base_npv_new_fleet_usd": new,
        "existing_minus_new_usd": existing - new,
    }


def framing_text(framing: dict) -> str:
    """One line for the terminal and the PDF: the framing and the existing-vs-new difference."""
    if framing["bitcoin_fleet"] == "existing":
        side = "mining on the existing fleet (ASICs sunk"
        resale = framing["asic_resale_to_ai_usd"]
        side += f"; AI side sells them for {money(resale)})" if resale else ")"
    else:
        side = f"mining on a new fleet bought at t = 0 ({money(framing['fleet_cost_usd'])}, replacement cost)"
    share = framing["ai_share"]
    ai = "AI on the whole site" if share == 1 else f"AI on {pct(share)} of the site, the rest mining"
    return (f"Framing: {side}; {ai}. Existing fleet minus new fleet, mining base NPV: "
            f"{money(framing['existing_minus_new_usd'])}")
