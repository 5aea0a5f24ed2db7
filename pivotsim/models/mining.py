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

The fleet is bought at t = 0 (``fleet: new``; an ``existing`` fleet is sunk)
and replaced every ``refresh_months``
by ASICs whose J/TH falls by ``efficiency_improvement_per_year`` per year;
a refresh costs the same per watt as new ASICs at t = 0 (the price per TH/s
falls with J/TH, see :func:`fleet_schedule`).
With ``curtail_when_unprofitable`` the fleet is switched off in months whose
revenue per kWh would be below the power price.  Depreciation is straight
line by asset class, tax has loss carry-forward, and what is left at the
horizon is valued as ``finance.terminal_value`` says (:func:`terminal_value_row`).

References
----------
DESIGN.md, "Economics"; hashprice as in Luxor's Hashrate Index definition
(USD per PH/s per day).
"""

from __future__ import annotations

import math

import numpy as np

from ..compiled import kernel, pass_rows, row_passes, scratch_rows
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
    if bitcoin.fleet == "new":  # an existing fleet is sunk: nothing is bought at t = 0
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
                      with_quantities: bool = True, net_only: bool = False, financing: bool = False) -> CashFlows:
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
    net_only : bool
        Only the net cash flow (what a valuation reads): ``items`` and
        ``quantities`` are left empty, and the per-path lines are never
        written out to memory (about half the memory traffic).
    financing : bool
        Also keep what project debt reads (:mod:`pivotsim.models.debt`),
        even with ``net_only``: the item ``capex_usd`` and the quantity
        ``taxable_income_usd`` (before interest).

    Returns
    -------
    CashFlows
        Items ``revenue_usd, power_usd, opex_usd, capex_usd, tax_usd,
        terminal_value_usd``; quantities ``btc_mined, grid_kwh, ebitda_usd,
        hashprice_usd_per_ph_day, fleet_hashrate_th_s, depreciation_usd``.

    Notes
    -----
    The month-by-month arithmetic of the market-driven lines (BTC mined,
    revenue, power, curtailment, EBITDA, taxable income) is one compiled
    loop (:func:`_mining_months`), then the tax
    (:func:`~pivotsim.models.finance.tax_with_loss_carryforward`) and the net
    (:func:`_net_and_negated_tax`), about a thousand paths at a time so that
    what is read back is still in cache.  The fleet, capex, depreciation and
    opex schedules depend on the inputs only, and stay ``(1, n_periods)``
    rows unless an input varies by path.  The time is memory traffic: six
    market series read, six lines written (two with ``net_only``).
    """
    btc, site, fin = inputs.bitcoin, inputs.site, inputs.finance
    n_periods = timeline.n_periods
    efficiency, purchased_th_s, price_usd_per_th = fleet_schedule(btc, site.grid_power_mw, timeline)
    fleet_th_s = np.broadcast_to(asic_power_w(btc, site.grid_power_mw) / efficiency,
                                 (np.shape(efficiency)[0], n_periods))
    hours = timeline.hours[None, :]

    # Input-only rows (1 or n_paths, n_periods): BTC per unit of (reward x blocks / network
    # hashrate), grid energy if on, opex, capex, depreciation and terminal value.
    btc_per_share = fleet_th_s * ((1.0 - btc.pool_fee_share) * btc.uptime / TH_PER_EH)
    kwh_if_on = site.grid_power_mw * KW_PER_MW * hours * btc.uptime
    opex = (hours > 0) * (btc.opex_usd_per_mw_year * site.grid_power_mw / 12.0)  # none at t = 0
    asic_capex = purchased_th_s * price_usd_per_th
    at_start = (np.arange(n_periods) == 0)[None, :]
    infra_capex = at_start * (btc.infrastructure_capex_usd_per_mw * site.grid_power_mw)
    dep_asic = finance.straight_line_depreciation(asic_capex, round(fin.depreciation.asic_years * 12))
    dep_infra = finance.straight_line_depreciation(infra_capex, round(fin.depreciation.facility_years * 12))
    depreciation = dep_asic + dep_infra
    terminal = terminal_value_row(inputs, n_periods, asic_capex, infra_capex, dep_asic, dep_infra)
    capex = asic_capex + infra_capex

    market_rows = (market.btc_price_usd, market.network_hashrate_eh_s, market.subsidy_btc_per_block,
                   market.fees_btc_per_block, market.blocks, market.power_price_usd_per_kwh)
    input_rows = (btc_per_share, kwh_if_on, opex, depreciation)
    shape = np.broadcast_shapes(*(np.shape(x) for x in market_rows + input_rows),
                                np.shape(capex), np.shape(terminal), np.shape(fin.tax_rate))
    n_paths = shape[0]
    curtail = bool(btc.curtail_when_unprofitable)
    written = ("revenue", "power", "btc_mined", "ebitda", "tax") + (("grid_kwh",) if curtail else ())
    # Lines of the result are (n_paths, n_periods); scratch lines (the taxable income, and
    # all but the net with net_only) hold one pass of paths and are reused.
    kept = {} if net_only else {name: np.empty(shape) for name in written}
    if financing:
        kept["taxable"] = np.empty(shape)
    scratch = {name: np.empty((scratch_rows(n_paths), n_periods))
               for name in written + ("taxable",) if name not in kept}
    net = np.empty(shape)
    series = [_series(x, n_periods) for x in market_rows + input_rows]
    terminal_less_capex = _series(terminal - capex, n_periods)
    tax_rate = np.asarray(fin.tax_rate, dtype=float)
    # About a thousand paths at a time: EBITDA, the taxable income and the tax
    # are read back while still in cache.
    for rows, line in row_passes(n_paths, kept, scratch):
        _mining_months(*(pass_rows(x, rows) for x in series), curtail,
                       line["revenue"], line["power"], line["btc_mined"],
                       line.get("grid_kwh", line["taxable"][:0]), line["ebitda"], line["taxable"])
        tax = finance.tax_with_loss_carryforward(line["taxable"], pass_rows(tax_rate, rows))
        _net_and_negated_tax(line["ebitda"], _series(tax, n_periods), pass_rows(terminal_less_capex, rows),
                             net[rows], line["tax"])
    if net_only:
        return CashFlows(timeline=timeline, items={"capex_usd": np.broadcast_to(-capex, shape)} if financing else {},
                         quantities={"taxable_income_usd": kept["taxable"]} if financing else {}, net_usd=net)
    revenue, power, btc_mined, ebitda, tax = (kept[name] for name in ("revenue", "power", "btc_mined", "ebitda", "tax"))
    grid_kwh = kept["grid_kwh"] if curtail else np.broadcast_to(kwh_if_on, shape)
    items = {
        "revenue_usd": revenue,
        "power_usd": power,
        "opex_usd": np.broadcast_to(-np.asarray(opex), shape),  # negated before broadcasting: same numbers
        "capex_usd": np.broadcast_to(-capex, shape),
        "tax_usd": tax,
        "terminal_value_usd": np.broadcast_to(terminal, shape),
    }
    quantities = {
        "btc_mined": btc_mined,
        "grid_kwh": grid_kwh,
        "ebitda_usd": ebitda,
        "depreciation_usd": np.broadcast_to(depreciation, shape),
        "fleet_hashrate_th_s": np.broadcast_to(fleet_th_s, shape),
    }
    if financing:
        quantities["taxable_income_usd"] = kept["taxable"]
    if with_quantities:
        quantities["hashprice_usd_per_ph_day"] = np.broadcast_to(market.hashprice_usd_per_ph_day, shape)
    return CashFlows(timeline=timeline, items=items, quantities=quantities, net_usd=net)




def _series(values, n_periods: int) -> np.ndarray:
    """A C-contiguous float64 array ``(1 or n_paths, n_periods)``; a copy only when needed.

    Kernels read row ``i`` of an ``(n_paths, n_periods)`` array and row 0 of a
    ``(1, n_periods)`` one, so rows shared by every path are never copied out.
    """
    arr = np.asarray(values, dtype=float)
    arr = np.broadcast_to(arr, (arr.shape[0] if arr.ndim == 2 else 1, n_periods))
    return np.ascontiguousarray(arr)


@kernel
def _mining_months(price_usd, hashrate_eh_s, subsidy_btc, fees_btc, blocks, power_usd_per_kwh,
                   btc_per_share, kwh_if_on, opex_usd, depreciation_usd, curtail,
                   revenue_usd, neg_power_usd, btc_mined, grid_kwh, ebitda_usd, taxable_usd):
    """Month-by-month lines of each path (see the module docstring for the formulas).

    Inputs are ``(1 or n_paths, n_periods)`` rows: point values at each
    column's date (price, network hashrate, fees, power price), month
    quantities (blocks, subsidy), and per-path schedules (``btc_per_share``:
    fleet TH/s x (1 - pool fee) x uptime / 1e6; ``kwh_if_on``, ``opex_usd``,
    ``depreciation_usd``).  Writes ``(n_paths, n_periods)`` outputs;
    ``grid_kwh`` only when ``curtail`` (else it has no rows).  Column 0
    (t = 0) mines nothing.  The operations are those of the former numpy
    code, in the same order: the same numbers to the last bit.
    """
    n_paths, n_periods = revenue_usd.shape
    for i in range(n_paths):
        price = price_usd[min(i, price_usd.shape[0] - 1)]
        hashrate = hashrate_eh_s[min(i, hashrate_eh_s.shape[0] - 1)]
        subsidy = subsidy_btc[min(i, subsidy_btc.shape[0] - 1)]
        fees = fees_btc[min(i, fees_btc.shape[0] - 1)]
        n_blocks = blocks[min(i, blocks.shape[0] - 1)]
        power_price = power_usd_per_kwh[min(i, power_usd_per_kwh.shape[0] - 1)]
        per_share = btc_per_share[min(i, btc_per_share.shape[0] - 1)]
        kwh_on = kwh_if_on[min(i, kwh_if_on.shape[0] - 1)]
        opex = opex_usd[min(i, opex_usd.shape[0] - 1)]
        depreciation = depreciation_usd[min(i, depreciation_usd.shape[0] - 1)]
        for t in range(n_periods):
            if t == 0:
                mined = 0.0
                revenue = 0.0
                month_power_price = power_price[0]
            else:
                # network hashrate of the month: geometric mean of its two ends
                network = math.sqrt(hashrate[t] * hashrate[t - 1])
                mined = (subsidy[t] + fees[t]) * n_blocks[t] / network * per_share[t]
                revenue = (price[t] + price[t - 1]) * 0.5 * mined
                month_power_price = (power_price[t] + power_price[t - 1]) * 0.5
            kwh = kwh_on[t]
            if curtail:
                if not revenue >= kwh * month_power_price:
                    mined = 0.0
                    revenue = 0.0
                    kwh = 0.0
                grid_kwh[i, t] = kwh
            power = kwh * month_power_price
            ebitda = revenue - (power + opex[t])
            revenue_usd[i, t] = revenue
            neg_power_usd[i, t] = -power
            btc_mined[i, t] = mined
            ebitda_usd[i, t] = ebitda
            taxable_usd[i, t] = ebitda - depreciation[t]


@kernel
def _net_and_negated_tax(ebitda_usd, tax_usd, terminal_less_capex_usd, net_usd, tax_outflow_usd):
    """``net = (ebitda - tax) + (terminal - capex)`` and the tax as an outflow, ``-tax``.

    ``tax_usd`` and ``terminal_less_capex_usd`` may have one row for all paths.
    """
    n_paths, n_periods = net_usd.shape
    for i in range(n_paths):
        tax = tax_usd[min(i, tax_usd.shape[0] - 1)]
        other = terminal_less_capex_usd[min(i, terminal_less_capex_usd.shape[0] - 1)]
        for t in range(n_periods):
            net_usd[i, t] = (ebitda_usd[i, t] - tax[t]) + other[t]
            tax_outflow_usd[i, t] = -tax[t]


def terminal_value_row(inputs, n_periods: int, asic_capex, infra_capex, dep_asic, dep_infra) -> np.ndarray:
    """Value of the fleet and infrastructure at the horizon, in the last column [USD] ``(rows, n_periods)``.

    ``finance.terminal_value``: ``book_value`` (cumulative capex less
    depreciation), ``none`` (zero), or ``economic``: each ASIC purchase at its
    resale value, its cost times (1 - d)^(age in years) with d the yearly fall
    of the best ASIC's J/TH (``market.efficiency_frontier_decline_per_year``:
    a TH/s is worth less as newer machines do more per watt), which does not
    depend on tax lives; infrastructure (none in the library scenarios) at book value.
    """
    fin = inputs.finance
    at_end = (np.arange(n_periods) == n_periods - 1)[None, :]
    if fin.terminal_value == "book_value":
        return at_end * (finance.book_value(asic_capex, dep_asic)[:, -1:]
                         + finance.book_value(infra_capex, dep_infra)[:, -1:])
    if fin.terminal_value == "economic":
        age_years = (n_periods - 1 - np.arange(n_periods))[None, :] / 12.0
        decline = np.asarray(inputs.market.efficiency_frontier_decline_per_year, dtype=float).reshape(-1, 1)
        resale = np.sum(np.asarray(asic_capex) * (1.0 - decline) ** age_years, axis=-1, keepdims=True)
        return at_end * (resale + finance.book_value(infra_capex, dep_infra)[:, -1:])
    return np.zeros((1, n_periods))


def mining_terminal_value_usd(inputs, timeline: Timeline) -> np.ndarray:
    """The terminal value of :func:`mining_cash_flows` alone (no market needed) [USD] ``(rows, n_periods)``."""
    btc, site, fin = inputs.bitcoin, inputs.site, inputs.finance
    n_periods = timeline.n_periods
    _, purchased_th_s, price_usd_per_th = fleet_schedule(btc, site.grid_power_mw, timeline)
    asic_capex = purchased_th_s * price_usd_per_th
    at_start = (np.arange(n_periods) == 0)[None, :]
    infra_capex = at_start * (btc.infrastructure_capex_usd_per_mw * site.grid_power_mw)
    dep_asic = finance.straight_line_depreciation(asic_capex, round(fin.depreciation.asic_years * 12))
    dep_infra = finance.straight_line_depreciation(infra_capex, round(fin.depreciation.facility_years * 12))
    return terminal_value_row(inputs, n_periods, asic_capex, infra_capex, dep_asic, dep_infra)
