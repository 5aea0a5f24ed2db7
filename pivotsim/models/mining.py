"""Bitcoin-mining cash flows for a fleet on the site's grid power.

For month m (arrays ``(n_paths, n_periods)``)::

    ASIC power [W]        = grid_power_mw / pue * 1e6
    fleet hashrate [TH/s] = ASIC power / efficiency [J/TH]
    share of network      = fleet hashrate / network hashrate (month mean)
    BTC mined             = share * blocks * (subsidy + fees) * (1 - pool fee) * uptime
    revenue [USD]         = BTC mined * mean BTC price of the month
    grid energy [kWh]     = grid_power_mw * 1000 * hours * uptime
    power cost [USD]      = grid energy * power price
    opex [USD]            = opex_usd_per_mw_year * grid_power_mw / 12

The fleet is bought at t = 0 (optional) and replaced every ``refresh_months``
by ASICs whose J/TH falls by ``efficiency_improvement_per_year`` per year;
a refresh costs the same per watt as new ASICs at t = 0 (the price per TH/s
falls with J/TH, see :func:`fleet_schedule`).
With ``curtail_when_unprofitable`` the fleet is switched off in months whose
revenue per kWh would be below the power price.  Depreciation is straight
line by asset class, tax has loss carry-forward, and what is left at the
horizon is valued at book value when ``finance.terminal_value`` says so.

References
----------
DESIGN.md, "Economics"; hashprice as in Luxor's Hashrate Index definition
(USD per PH/s per day).
"""

from __future__ import annotations

import numpy as np

from . import finance
from .cashflows import CashFlows
from .market import MarketPaths
from .timeline import Timeline

W_PER_MW = 1e6
KW_PER_MW = 1e3
TH_PER_EH = 1e6


def fleet_schedule(bitcoin, grid_power_mw, timeline: Timeline):
    """Efficiency in use and ASIC purchases per column.

    Parameters
    ----------
    bitcoin : namespace
        ``inputs.bitcoin``; its numbers may be arrays ``(n_paths, 1)``.
    grid_power_mw : float or ndarray (n_paths, 1)
        Site grid power [MW].
    timeline : Timeline

    Returns
    -------
    efficiency_j_per_th : ndarray (1 or n_paths, n_periods)
        Efficiency of the fleet hashing during each month (column 0: at t = 0).
    purchased_th_s : ndarray (1 or n_paths, n_periods)
        Hashrate bought in each column [TH/s].
    price_usd_per_th : ndarray (1 or n_paths, n_periods)
        Price paid per TH/s in each column [USD per TH/s]: ``asic_price_usd_per_th``
        at t = 0; at a refresh, the same price per watt as the new ASICs of
        t = 0, i.e. ``asic_price_usd_per_th * eff_refresh / eff_new``.

    Notes
    -----
    ASIC prices per TH/s fall with J/TH while the price per watt of ASIC
    power stays roughly flat across generations (about $1-2 per W at
    vendor list prices from the S9 to the S21 XP).  A constant price per
    TH/s with J/TH falling 15% a year would make a refresh of the same
    megawatts 13x dearer after 16 years, which no miner pays.
    """
    n = timeline.n_periods
    asic_w = asic_power_w(bitcoin, grid_power_mw)
    fleet_eff = np.asarray(bitcoin.fleet_efficiency_j_per_th, dtype=float)
    efficiency = np.zeros((1, n)) + fleet_eff.reshape(-1, 1)
    purchased = np.zeros(np.broadcast_shapes(efficiency.shape, np.shape(asic_w)))
    asic_price = np.asarray(bitcoin.asic_price_usd_per_th, dtype=float).reshape(-1, 1)
    price = np.zeros((1, n)) + asic_price
    if bitcoin.buy_fleet_at_start:
        purchased[:, 0:1] = asic_w / fleet_eff.reshape(-1, 1)
    if bitcoin.refresh_months is not None:
        new_eff = bitcoin.new_asic_efficiency_j_per_th
        new_eff = np.asarray(fleet_eff if new_eff is None else new_eff, dtype=float).reshape(-1, 1)
        rows = np.broadcast_shapes(efficiency.shape, new_eff.shape, purchased.shape, price.shape)
        efficiency = np.broadcast_to(efficiency, rows).copy()
        purchased = np.broadcast_to(purchased, rows).copy()
        price = np.broadcast_to(price, rows).copy()
        step = int(bitcoin.refresh_months)
        improvement = np.asarray(bitcoin.efficiency_improvement_per_year, dtype=float).reshape(-1, 1)
        for month in range(step, n - 1, step):  # a loop over refresh dates, not months
            eff = new_eff * (1.0 - improvement) ** (month / 12.0)
            efficiency[:, month + 1:] = eff
            purchased[:, month:month + 1] = asic_w / eff
            price[:, month:month + 1] = asic_price * eff / new_eff
    return efficiency, purchased, price


def asic_power_w(bitcoin, grid_power_mw):
    """ASIC power on the site [W]: grid power [MW] less facility overhead (PUE)."""
    return grid_power_mw * W_PER_MW / bitcoin.pue


def mining_cash_flows(inputs, market: MarketPaths, timeline: Timeline, *,
                      with_quantities: bool = True) -> CashFlows:
    """Monthly cash flows of mining on the site's grid power.

    Parameters
    ----------
    inputs : namespace
        The scenario's plain values (:func:`pivotsim.scenario.to_inputs`).
    market : MarketPaths
    timeline : Timeline
    with_quantities : bool
        Also give ``hashprice_usd_per_ph_day`` (the Monte Carlo skips it: it
        only needs the cash).

    Returns
    -------
    CashFlows
        Items ``revenue_usd, power_usd, opex_usd, capex_usd, tax_usd,
        terminal_value_usd``; quantities ``btc_mined, grid_kwh, ebitda_usd,
        hashprice_usd_per_ph_day, fleet_hashrate_th_s, depreciation_usd``.
    """
    btc, site, fin = inputs.bitcoin, inputs.site, inputs.finance
    efficiency, purchased_th_s, price_usd_per_th = fleet_schedule(btc, site.grid_power_mw, timeline)
    fleet_th_s = asic_power_w(btc, site.grid_power_mw) / efficiency
    hours = timeline.hours[None, :]
    hashrate = market.network_hashrate_eh_s
    shape = np.broadcast_shapes(hashrate.shape, market.btc_price_usd.shape, market.fees_btc_per_block.shape,
                                market.blocks.shape, market.power_price_usd_per_kwh.shape)

    # BTC mined if on = fleet share x blocks x (subsidy + fees) x (1 - pool fee) x uptime,
    # with the month's network hashrate the geometric mean of its two ends.
    fleet_th_s = np.broadcast_to(fleet_th_s, (fleet_th_s.shape[0], timeline.n_periods))
    shape = np.broadcast_shapes(shape, fleet_th_s.shape)
    btc_if_on = np.zeros(shape)
    network = hashrate[:, 1:] * hashrate[:, :-1]
    np.sqrt(network, out=network)
    month = btc_if_on[:, 1:]
    np.add(market.subsidy_btc_per_block[:, 1:], market.fees_btc_per_block[:, 1:], out=month)
    month *= market.blocks[:, 1:]
    month /= network
    month *= fleet_th_s[:, 1:] * ((1.0 - btc.pool_fee_share) * btc.uptime / TH_PER_EH)
    del network
    price = market.btc_price_usd
    revenue_if_on = np.zeros(shape)
    np.add(price[:, 1:], price[:, :-1], out=revenue_if_on[:, 1:])
    revenue_if_on *= 0.5
    revenue_if_on *= btc_if_on
    power_price = market.month_mean("power_price_usd_per_kwh")
    kwh_if_on = site.grid_power_mw * KW_PER_MW * hours * btc.uptime
    if btc.curtail_when_unprofitable:
        on = revenue_if_on >= kwh_if_on * power_price
        btc_mined = np.where(on, btc_if_on, 0.0)
        revenue = np.where(on, revenue_if_on, 0.0)
        grid_kwh = np.where(on, kwh_if_on, 0.0)
    else:
        btc_mined, revenue, grid_kwh = btc_if_on, revenue_if_on, kwh_if_on
    power = grid_kwh * power_price
    opex = (hours > 0) * (btc.opex_usd_per_mw_year * site.grid_power_mw / 12.0)  # none at t = 0

    asic_capex = purchased_th_s * price_usd_per_th
    at_start = (np.arange(timeline.n_periods) == 0)[None, :]
    infra_capex = at_start * (btc.infrastructure_capex_usd_per_mw * site.grid_power_mw)
    dep_asic = finance.straight_line_depreciation(asic_capex, round(fin.depreciation.asic_years * 12))
    dep_infra = finance.straight_line_depreciation(infra_capex, round(fin.depreciation.facility_years * 12))
    depreciation = dep_asic + dep_infra

    ebitda = revenue - (power + opex)
    tax = finance.tax_with_loss_carryforward(ebitda - depreciation, fin.tax_rate)
    terminal = np.zeros((1, timeline.n_periods))
    if fin.terminal_value == "book_value":
        at_end = (np.arange(timeline.n_periods) == timeline.n_periods - 1)[None, :]
        terminal = at_end * (finance.book_value(asic_capex, dep_asic)[:, -1:]
                             + finance.book_value(infra_capex, dep_infra)[:, -1:])
    capex = asic_capex + infra_capex
    net = (ebitda - tax) + (terminal - capex)
    shape = np.broadcast_shapes(revenue.shape, np.shape(opex), asic_capex.shape, np.shape(tax),
                                terminal.shape)
    revenue, power, tax, net = (np.broadcast_to(x, shape) for x in (revenue, power, tax, net))
    items = {
        "revenue_usd": revenue,
        "power_usd": -np.broadcast_to(power, shape),
        "opex_usd": np.broadcast_to(-np.asarray(opex), shape),  # negated before broadcasting: same numbers
        "capex_usd": np.broadcast_to(-capex, shape),
        "tax_usd": -tax,
        "terminal_value_usd": np.broadcast_to(terminal, shape),
    }
    quantities = {
        "btc_mined": np.broadcast_to(btc_mined, shape),
        "grid_kwh": np.broadcast_to(grid_kwh, shape),
        "ebitda_usd": np.broadcast_to(ebitda, shape),
        "depreciation_usd": np.broadcast_to(depreciation, shape),
        "fleet_hashrate_th_s": np.broadcast_to(fleet_th_s, shape),
    }
    if with_quantities:
        quantities["hashprice_usd_per_ph_day"] = np.broadcast_to(market.hashprice_usd_per_ph_day, shape)
    return CashFlows(timeline=timeline, items=items, quantities=quantities, net_usd=net)
