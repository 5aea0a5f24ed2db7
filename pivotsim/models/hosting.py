"""AI-hosting cash flows: ``gpu_cloud`` and ``colocation`` contracts.

Capacity comes in tranches (``phases``): tranche p with share s_p goes live
at the end of month o_p and earns for ``term_months`` months (o_p+1 ..
o_p+term).  The comparison basis is the site's grid power: critical IT =
grid_power_mw / pue.

gpu_cloud (the operator owns GPUs and sells compute, e.g. IREN–Microsoft)::

    ARR                  = contract_value / (term / 12)
    invoice in month m   = ARR / 12 * sum_p s_p * live_p(m)
    prepayment at t = 0  = prepayment_share * contract_value
    credit in month m    = prepayment * invoice_m / contract_value
    GPU capex            = s_p * gpu_capex, paid when tranche p goes live
    GPU residual         = s_p * gpu_capex * gpu_residual_share at term end

colocation (the tenant brings GPUs; the operator rents powered space)::

    rent in month m      = r0 * (1 + escalator)^(lease year) * kW live
    r0                   = rent_usd_per_kw_month, or derived from
                           annual_revenue_usd or contract_value_usd
    facility capex       = max(0, capex_per_mw * MW - tenant_funded_capex)
    power                passed through to the tenant by default

Both: facility capex per MW of critical IT spread evenly over the
``construction_months`` before each tranche goes live (spending that would
fall before t = 0 is counted at t = 0); power = live IT MW * load factor *
PUE * hours * price unless passed through; opex per MW of live critical IT;
straight-line depreciation, tax with loss carry-forward, and the
facility's book value at the horizon as terminal value.

References
----------
Deal terms: sources 000, 001 (IREN–Microsoft), 001, 002, 004 (colocation
deals).  DESIGN.md, "Economics".
"""

from __future__ import annotations

import numpy as np

from . import finance
from .cashflows import CashFlows
from .timeline import Timeline

KW_PER_MW = 1e3


def critical_it_mw(inputs):
    """Critical IT capacity on the site's grid power [MW]: grid MW / PUE."""
    return inputs.site.grid_power_mw / inputs.ai.pue


def live_matrix(ai, timeline: Timeline) -> np.ndarray:
    """1 where tranche p earns in column m, else 0 -> (n_phases, n_periods)."""
    m = np.arange(timeline.n_periods)
    rows = []
    for phase in ai.phases:
        start = int(phase.online_month)
        rows.append(((m > start) & (m <= start + int(ai.term_months))).astype(float))
    return np.array(rows)


def lease_year(ai, timeline: Timeline) -> np.ndarray:
    """Whole lease years elapsed for each tranche in each column -> (n_phases, n_periods)."""
    m = np.arange(timeline.n_periods)
    return np.array([np.maximum(0, (m - int(p.online_month) - 1) // 12) for p in ai.phases])


def first_year_rent_usd_per_kw_month(ai, it_mw):
    """Rent at lease start [USD/kW-month], from whichever price the scenario gives."""
    if ai.rent_usd_per_kw_month is not None:
        return ai.rent_usd_per_kw_month
    if ai.annual_revenue_usd is not None:
        return ai.annual_revenue_usd / (12.0 * it_mw * KW_PER_MW)
    # contract value = r0 * kW * sum over the term of (1 + e)^year
    term = int(ai.term_months)
    factors = (1.0 + ai.rent_escalator_per_year) ** (np.arange(term) // 12)
    return ai.contract_value_usd / (it_mw * KW_PER_MW * factors.sum())


def contract_terms(inputs):
    """Contract value, ARR and prepayment [USD] as the deal states them.

    Returns
    -------
    dict
        ``contract_value_usd`` (total over the full term, all tranches),
        ``annual_revenue_usd`` (first-year run rate at full capacity),
        ``prepayment_usd``.
    """
    ai = inputs.ai
    years = ai.term_months / 12.0
    if ai.kind == "gpu_cloud":
        value = ai.contract_value_usd
        arr = value / years
    else:
        it_kw = critical_it_mw(inputs) * KW_PER_MW
        r0 = first_year_rent_usd_per_kw_month(ai, critical_it_mw(inputs))
        factors = (1.0 + ai.rent_escalator_per_year) ** (np.arange(int(ai.term_months)) // 12)
        value = r0 * it_kw * factors.sum()
        arr = r0 * it_kw * 12.0
    return {"contract_value_usd": value, "annual_revenue_usd": arr,
            "prepayment_usd": ai.prepayment_share * value}


def _spread_construction(total_usd, online_month, construction_months, n_periods):
    """Spend ``total_usd`` evenly over the months before ``online_month`` (inclusive)."""
    out = np.zeros(n_periods)
    end = min(int(online_month), n_periods - 1)
    start = end - int(construction_months) + 1
    per_month = total_usd / construction_months
    for col in range(start, end + 1):
        out[max(col, 0)] += per_month
    return out


def hosting_cash_flows(inputs, market, timeline: Timeline) -> CashFlows:
    """Monthly cash flows of the AI-hosting deal on the site's grid power.

    Parameters
    ----------
    inputs : namespace
        The scenario's plain values (:func:`pivotsim.scenario.to_inputs`).
    market : MarketPaths
        Only the power price is used.
    timeline : Timeline

    Returns
    -------
    CashFlows
        Items ``revenue_usd, prepayment_usd, prepayment_credit_usd, power_usd,
        opex_usd, capex_usd, tax_usd, gpu_residual_usd, terminal_value_usd``;
        quantities ``grid_kwh, critical_it_kwh, live_it_mw, ebitda_usd,
        depreciation_usd``.
    """
    ai, fin = inputs.ai, inputs.finance
    n = timeline.n_periods
    it_mw = critical_it_mw(inputs)
    shares = np.array([p.share for p in ai.phases], dtype=float)
    live = live_matrix(ai, timeline)
    terms = contract_terms(inputs)

    if ai.kind == "gpu_cloud":
        revenue = terms["annual_revenue_usd"] / 12.0 * (shares @ live)
        contract_value = terms["contract_value_usd"]
    else:
        r0 = first_year_rent_usd_per_kw_month(ai, it_mw)
        escalation = (1.0 + ai.rent_escalator_per_year) ** lease_year(ai, timeline)
        revenue = r0 * it_mw * KW_PER_MW * (shares @ (live * escalation))
        contract_value = terms["contract_value_usd"]
    prepayment = np.zeros(n)
    prepayment[0] = terms["prepayment_usd"]
    credit = terms["prepayment_usd"] * revenue / contract_value

    live_it_mw = it_mw * (shares @ live)
    hours = timeline.hours
    critical_it_kwh = live_it_mw * KW_PER_MW * hours
    grid_kwh = critical_it_kwh * ai.it_load_factor * ai.pue
    power_price = market.month_mean("power_price_usd_per_kwh")
    power = np.zeros_like(power_price) if ai.power_pass_through else grid_kwh * power_price
    opex = ai.opex_usd_per_mw_year * live_it_mw / 12.0

    facility_total = ai.datacenter_capex_usd_per_mw * it_mw
    if ai.kind == "colocation":
        facility_total = max(0.0, facility_total - ai.tenant_funded_capex_usd)
    facility_capex = sum(
        _spread_construction(facility_total * s, p.online_month, ai.construction_months, n)
        for s, p in zip(shares, ai.phases))
    dep_facility = finance.straight_line_depreciation(
        facility_capex, round(fin.depreciation.facility_years * 12))

    gpu_capex = np.zeros(n)
    gpu_residual = np.zeros(n)
    dep_gpu = np.zeros(n)
    disposal_gain = np.zeros(n)
    if ai.kind == "gpu_cloud":
        gpu_life = round(fin.depreciation.gpu_years * 12)
        for s, p in zip(shares, ai.phases):
            online = int(p.online_month)
            if online >= n:
                continue
            spend = np.zeros(n)
            spend[online] = s * ai.gpu_capex_usd
            dep = finance.straight_line_depreciation(spend, gpu_life)
            sale = online + int(ai.term_months)
            if sale < n:
                # sold at term end: depreciation stops, the gain or loss on
                # disposal (proceeds - book value) is taxable
                dep[sale + 1:] = 0.0
                book = spend.sum() - dep[: sale + 1].sum()
                proceeds = s * ai.gpu_capex_usd * ai.gpu_residual_share
                gpu_residual[sale] += proceeds
                disposal_gain[sale] += proceeds - book
            gpu_capex += spend
            dep_gpu += dep

    depreciation = dep_facility + dep_gpu
    revenue2 = np.atleast_2d(revenue)
    power2 = np.atleast_2d(power)
    ebitda = revenue2 - power2 - opex
    tax = finance.tax_with_loss_carryforward(ebitda - depreciation + disposal_gain, fin.tax_rate)
    terminal = np.zeros(n)
    if fin.terminal_value == "book_value":
        terminal[-1] = finance.book_value(facility_capex, dep_facility)[-1]
    shape = np.broadcast_shapes(revenue2.shape, power2.shape, np.shape(tax))

    def full(x):
        return np.broadcast_to(np.atleast_2d(x), shape)

    items = {
        "revenue_usd": full(revenue),
        "prepayment_usd": full(prepayment),
        "prepayment_credit_usd": full(-credit),
        "power_usd": full(-power2),
        "opex_usd": full(-opex),
        "capex_usd": full(-(facility_capex + gpu_capex)),
        "tax_usd": full(-tax),
        "gpu_residual_usd": full(gpu_residual),
        "terminal_value_usd": full(terminal),
    }
    quantities = {
        "grid_kwh": full(grid_kwh),
        "critical_it_kwh": full(critical_it_kwh),
        "live_it_mw": full(live_it_mw),
        "ebitda_usd": full(ebitda),
        "depreciation_usd": full(depreciation),
    }
    return CashFlows(timeline=timeline, items=items, quantities=quantities)
