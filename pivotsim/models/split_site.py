"""The AI side of a site that converts only part of its megawatts, and sells its existing ASICs.

With ``site.ai_share = x`` the AI business converts x of the site's grid MW
at t = 0 and the rest keeps mining, so the AI side's cash flows are::

    AI side = x * hosting  +  mining on (1 - x) * grid MW  +  ASIC resale

* hosting: the deal as written scaled by x (a deal fills the whole site in the
  library scenarios: its grid MW are the mining side's);
* the mining part is the mining model on the remaining MW, the same market
  paths, its items named ``mining_<item>``;
* ASIC resale: with ``bitcoin.fleet: existing`` the ASICs of the converted
  MW are sold at t = 0 at ``bitcoin.asic_resale_usd_per_th`` (untaxed) as
  ``asic_resale_usd``; a ``new`` fleet is never bought on the AI side.

With x = 1 and no resale the hosting cash flows are returned unchanged (the
same numbers to the last bit).  Taxes are those of each part on its own.
"""

from __future__ import annotations

import copy

import numpy as np

from .cashflows import CashFlows
from .mining import asic_power_w
from .timeline import Timeline


def _share(inputs):
    return np.asarray(getattr(inputs.site, "ai_share", 1.0), dtype=float)


def asic_resale_usd(inputs):
    """Resale at t = 0 of the existing ASICs on the converted MW [USD] (0 for a new fleet)."""
    btc = inputs.bitcoin
    if getattr(btc, "fleet", "new") != "existing":
        return 0.0
    fleet_th_s = asic_power_w(btc, inputs.site.grid_power_mw) / btc.fleet_efficiency_j_per_th
    return _share(inputs) * fleet_th_s * btc.asic_resale_usd_per_th


def splits_site(inputs) -> bool:
    """True when the AI side is more than the hosting deal: part of the site mines, or ASICs are sold."""
    return bool(np.any(_share(inputs) != 1.0) or np.any(np.asarray(asic_resale_usd(inputs)) != 0))


def remaining_mining_inputs(inputs):
    """The inputs tree with the site cut to the MW that keep mining, ``(1 - ai_share) * grid MW``."""
    rest = copy.copy(inputs)
    rest.site = copy.copy(inputs.site)
    rest.site.grid_power_mw = (1.0 - _share(inputs)) * inputs.site.grid_power_mw
    return rest


def ai_side_cash_flows(hosting: CashFlows, mining_rest: CashFlows | None, inputs, timeline: Timeline) -> CashFlows:
    """Hosting on ``ai_share`` of the site, mining on the rest (``mining_rest``, None when x = 1), ASIC resale."""
    x = _share(inputs)
    x_rows = x.reshape(-1, 1) if x.ndim else x
    at_start = np.asarray(asic_resale_usd(inputs), dtype=float).reshape(-1)
    resale = np.zeros((at_start.size, timeline.n_periods))
    resale[:, 0] = at_start
    net = hosting.net * x_rows + resale
    if mining_rest is not None:
        net = net + mining_rest.net
    if not hosting.items:  # net only
        return CashFlows(timeline=timeline, items={}, quantities={}, net_usd=net)
    items = {name: value * x_rows for name, value in hosting.items.items()}
    quantities = {name: value * x_rows for name, value in hosting.quantities.items()}
    items["asic_resale_usd"] = np.broadcast_to(resale, np.shape(net))
    if mining_rest is not None:
        items.update({f"mining_{name}": value for name, value in mining_rest.items.items()})
        for name in ("grid_kwh", "ebitda_usd", "taxable_income_usd"):  # (the last: kept for project debt)
            if name in quantities and name in mining_rest.quantities:
                quantities[name] = quantities[name] + mining_rest.quantities[name]
    bridge = {name: value * x_rows for name, value in hosting.bridge_usd.items()}
    return CashFlows(timeline=timeline, items=items, quantities=quantities, net_usd=net, bridge_usd=bridge)
