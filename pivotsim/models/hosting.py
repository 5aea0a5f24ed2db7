"""AI-hosting cash flows: ``gpu_cloud`` and ``colocation`` contracts, with deal risks.

Capacity comes in tranches (``phases``): tranche p with share s_p goes live
at the end of month g_p = o_p + d (``online_month`` plus the construction
delay d) and earns for ``term_months`` T months (g_p+1 .. g_p+T).  Lease
month j = m - g_p - 1 counts the months since go-live.  The comparison basis
is the site's grid power: critical IT = grid_power_mw / pue.

gpu_cloud (the operator owns GPUs and sells compute, e.g. IREN–Microsoft)::

    ARR                  = contract_value / (T / 12)
    invoice c_p(j)       = s_p * ARR / 12
    prepayment at t = 0  = prepayment_share * contract_value
    credit in month m    = prepayment_share * invoices of the original contract
    GPU capex            = s_p * gpu_capex, paid when tranche p goes live (g_p)
    GPU resale at term   = s_p * gpu_capex * gpu_residual_share
                           * (1 - gpu_value_decline)^((age - T) / 12)

colocation (the tenant brings GPUs; the operator rents powered space)::

    invoice c_p(j)       = s_p * r0 * (1 + escalator)^(j // 12) * critical IT kW
    r0                   = rent_usd_per_kw_month, or derived from
                           annual_revenue_usd or contract_value_usd
    facility capex       = max(0, capex_per_mw * MW - tenant_funded_capex)
    power                passed through to the tenant by default

Both: facility capex per MW of critical IT (times ``capex_overrun_multiplier``)
spread evenly over the ``construction_months`` ending at go-live g_p
(spending that would fall before t = 0 is counted at t = 0); power = live IT
MW * load factor * PUE * hours * price unless passed through; opex per MW of
capacity in service (original term and renewal); straight-line depreciation,
tax with loss carry-forward.

Risks (``ai.risks``; the defaults mean "no risk" and give the plain contract):

* construction delay d [months]: shifts go-live, GPU delivery and facility
  spending of every tranche by d.
* counterparty default: the customer defaults in month tau with
  P(tau <= t) = 1 - (1 - h)^t (h = ``default_hazard_per_month``; tau =
  ceil(log(1 - u) / log(1 - h)) for the path's event draw u).  From month
  tau on it pays nothing.  Its remaining obligation is the original invoices
  of lease months not yet invoiced, of every tranche (also those beyond the
  horizon); the claim is that amount net of the prepayment still to be
  credited, claim = (1 - prepayment_share) * remaining invoices (the
  operator keeps the prepayment).  The backstop (colocation ``backstop_usd``)
  pays min(backstop, claim) in month tau; the customer's estate pays
  ``default_recovery_share`` of the rest ``default_recovery_months`` later.
  The capacity stays vacant ``release_months`` months, during which a share
  ``uncontracted_utilisation`` of it is sold at the spot rate (original rate
  times the GPU age factor), then it is re-leased until the original term
  end at ``release_price_share`` times the original rate times the GPU age
  factor at re-lease.  A default after the original term changes nothing
  (the renewal customer carries no default risk).
* renewal at term end, with probability ``renewal_probability`` (one draw
  for all tranches: one customer), for ``renewal_term_months`` at
  ``renewal_price_share`` times the original rate times the age factor at
  term end; gpu_cloud GPUs are then sold at the end of the renewal.
* GPU age factor (gpu_cloud): (1 - ``gpu_value_decline_per_year``)^(age in
  years); it lowers re-lease, spot and renewal rates and the resale value
  after the original term.

The horizon is the same on every path.  Anything that falls after it
(contract months pushed out by a delay, the tail of a renewal, a late
recovery) is not counted; facilities and GPUs still owned at the horizon are
counted at net book value when ``finance.terminal_value`` is
``book_value``, and prepayment not yet credited at the horizon (service the
customer paid for but has not received) is a liability
(``prepayment_unearned_usd``), so a delay cannot turn prepaid cash into
profit.  The scenario checks the horizon covers every tranche's
term at base values.

References
----------
Deal terms: sources 000, 001 (IREN–Microsoft), 001, 002, 004 (colocation
deals).  DESIGN.md, "Economics" and "Risks".
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


def first_year_rent_usd_per_kw_month(ai, it_mw):
    """Rent at lease start [USD/kW-month], from whichever price the scenario gives."""
    if ai.rent_usd_per_kw_month is not None:
        return ai.rent_usd_per_kw_month
    if ai.annual_revenue_usd is not None:
        return ai.annual_revenue_usd / (12.0 * it_mw * KW_PER_MW)
    # contract value = r0 * kW * sum over the term of (1 + e)^year
    return ai.contract_value_usd / (it_mw * KW_PER_MW * escalation_sum(ai.rent_escalator_per_year,
                                                                       int(ai.term_months)))


def escalation_sum(escalator, term_months: int):
    """sum over lease months j < term of (1 + escalator)^(j // 12) [months].

    A float for a float escalator, an array ``(n_paths, 1)`` for an array.
    """
    if np.ndim(escalator) == 0:
        return float(((1.0 + escalator) ** (np.arange(term_months) // 12)).sum())
    return _lease_units_invoiced(escalator, term_months, term_months)


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
        value = r0 * it_kw * escalation_sum(ai.rent_escalator_per_year, int(ai.term_months))
        arr = r0 * it_kw * 12.0
    return {"contract_value_usd": value, "annual_revenue_usd": arr,
            "prepayment_usd": ai.prepayment_share * value}


def default_month(hazard_per_month, event_draw):
    """Month of the counterparty's default from its event draw.

    Parameters
    ----------
    hazard_per_month : float or ndarray (n_paths, 1)
        Monthly default probability h [-].
    event_draw : float or ndarray (n_paths, 1)
        U(0, 1) draw u (0.5 in the base case).

    Returns
    -------
    ndarray
        tau = ceil(log(1 - u) / log(1 - h)) >= 1 [months after t = 0], so
        that P(tau <= t) = 1 - (1 - h)^t; ``inf`` where h = 0 (never).
    """
    h = np.asarray(hazard_per_month, dtype=float)
    u = np.asarray(event_draw, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = np.ceil(np.log1p(-u) / np.log1p(-np.minimum(h, 1.0)))
    return np.where(h <= 0, np.inf, np.where(h >= 1, 1.0, np.maximum(tau, 1.0)))


def _lease_units_invoiced(escalator, term: int, months):
    """sum over lease months j < months of (1 + escalator)^(j // 12) -> (rows, 1).

    ``months`` holds whole numbers in [0, term].
    """
    esc = np.asarray(escalator, dtype=float).reshape(-1, 1)
    factors = (1.0 + esc) ** (np.arange(term) // 12)[None, :]
    table = np.concatenate([np.zeros((factors.shape[0], 1)), np.cumsum(factors, axis=1)], axis=1)
    k = np.asarray(months, dtype=int).reshape(-1, 1)
    rows = max(table.shape[0], k.shape[0])
    return np.take_along_axis(np.broadcast_to(table, (rows, term + 1)),
                              np.broadcast_to(k, (rows, 1)), axis=1)


def _at(m, column):
    """1.0 in the given column of each path (none when the column is beyond the grid)."""
    return (m == column).astype(float)


def hosting_cash_flows(inputs, market, timeline: Timeline) -> CashFlows:
    """Monthly cash flows of the AI-hosting deal on the site's grid power.

    Vectorised over paths: any input may be an array ``(n_paths, 1)``
    (:func:`pivotsim.uncertainty.sample_inputs`); loops run over tranches
    only.

    Parameters
    ----------
    inputs : namespace
        The scenario's values (:func:`pivotsim.scenario.to_inputs`), with
        ``ai.risks.default_event`` and ``ai.risks.renewal_event`` draws.
    market : MarketPaths
        Only the power price is used.
    timeline : Timeline

    Returns
    -------
    CashFlows
        Items ``revenue_usd, prepayment_usd, prepayment_credit_usd,
        default_backstop_usd, default_recovery_usd, power_usd, opex_usd,
        capex_usd, tax_usd, gpu_residual_usd, terminal_value_usd``;
        quantities ``grid_kwh, critical_it_kwh, live_it_mw, ebitda_usd,
        depreciation_usd``.
    """
    ai, fin, risks = inputs.ai, inputs.finance, inputs.ai.risks
    n = timeline.n_periods
    horizon = n - 1
    m = np.arange(n, dtype=float)[None, :]
    it_mw = critical_it_mw(inputs)
    terms = contract_terms(inputs)
    term = int(ai.term_months)
    renewal_term = int(risks.renewal_term_months if risks.renewal_term_months is not None else term)
    gpu_cloud = ai.kind == "gpu_cloud"
    if gpu_cloud:
        full_rate = terms["annual_revenue_usd"] / 12.0  # invoice of the whole deal in lease month 0
        escalator = 0.0
        age_decay = 1.0 - np.asarray(risks.gpu_value_decline_per_year, dtype=float)
        backstop_usd = 0.0
    else:
        full_rate = first_year_rent_usd_per_kw_month(ai, it_mw) * it_mw * KW_PER_MW
        escalator = ai.rent_escalator_per_year
        age_decay = 1.0
        backstop_usd = ai.backstop_usd

    delay = np.asarray(risks.construction_delay_months, dtype=float)
    tau = default_month(risks.default_hazard_per_month, risks.default_event)
    vacancy_months = np.asarray(risks.release_months, dtype=float)
    renewed = np.asarray(risks.renewal_event) < np.asarray(risks.renewal_probability)
    utilisation = risks.uncontracted_utilisation
    release_price = risks.release_price_share
    renewal_price = risks.renewal_price_share * age_decay ** (term / 12.0)

    facility_total = ai.datacenter_capex_usd_per_mw * it_mw
    if not gpu_cloud:
        facility_total = np.maximum(0.0, facility_total - ai.tenant_funded_capex_usd)
    facility_total = facility_total * risks.capex_overrun_multiplier
    gpu_life = round(fin.depreciation.gpu_years * 12)
    construction = int(ai.construction_months)

    # cheap paths for the common case: no default possible, no renewal, no escalator
    can_default = bool(np.any(np.isfinite(tau)))
    can_renew = bool(np.any(renewed))
    escalates = bool(np.any(np.asarray(escalator) != 0))
    ages = bool(np.any(age_decay != 1.0))

    revenue = original_revenue = load = in_service = 0.0
    facility_capex = gpu_capex = dep_gpu = gpu_residual = disposal_gain = gpu_book_end = 0.0
    remaining_invoices = 0.0
    for phase in ai.phases:  # loop over tranches; every line is vectorised over paths and months
        share = phase.share
        golive = phase.online_month + delay
        lease_month = m - golive - 1
        rate = share * full_rate
        if escalates:
            rate = rate * (1.0 + escalator) ** (np.maximum(lease_month, 0) // 12)
        in_term = (lease_month >= 0) & (lease_month < term)
        if can_default:
            original = in_term & (m < tau)
            vacant = in_term & (m >= tau) & (m < tau + vacancy_months)
            released = in_term & (m >= tau + vacancy_months)
            # re-lease price fixed at the GPUs' age when the new tenant starts (inf: no default)
            release_factor = release_price * age_decay ** (
                np.maximum(tau + vacancy_months - golive - 1, 0.0) / 12.0)
            spot_factor = utilisation * (age_decay ** (np.maximum(lease_month, 0) / 12.0) if ages else 1.0)
            earning = original + vacant * spot_factor + released * release_factor
            load_p = original + released + utilisation * vacant
            invoiced = np.clip(np.where(np.isfinite(tau), tau - golive - 1, term), 0, term)
            unbilled = (_lease_units_invoiced(escalator, term, np.full(np.shape(invoiced), term))
                        - _lease_units_invoiced(escalator, term, invoiced))
            remaining_invoices = remaining_invoices + share * full_rate * unbilled
        else:
            original = in_term
            earning = load_p = in_term.astype(float)
        service = in_term
        if can_renew:
            renewal = renewed & (lease_month >= term) & (lease_month < term + renewal_term)
            earning = earning + renewal * renewal_price
            load_p = load_p + renewal
            service = in_term | renewal
        revenue = revenue + rate * earning
        original_revenue = original_revenue + rate * original
        load = load + share * load_p
        in_service = in_service + share * service

        # facility: spent evenly over the construction months ending at go-live
        per_month = share * facility_total / construction
        window = (m >= golive - construction + 1) & (m <= golive) & (m >= 1)
        before_start = np.clip(construction - golive, 0, construction)
        facility_capex = facility_capex + per_month * window + per_month * before_start * _at(m, 0)

        if gpu_cloud:
            # bought at go-live, depreciated straight line from the next month until sold
            cost = share * ai.gpu_capex_usd
            delivered = golive <= horizon
            spend = cost * _at(m, golive)
            sale = golive + term + (np.where(renewed, renewal_term, 0) if can_renew else 0)
            last_dep = np.minimum(golive + gpu_life, sale)
            dep = (cost / gpu_life) * ((m > golive) & (m <= last_dep))
            book = np.where(delivered, cost - (cost / gpu_life) * np.clip(
                np.minimum(last_dep, horizon) - golive, 0, gpu_life), 0.0)
            sold = sale <= horizon
            proceeds = cost * ai.gpu_residual_share
            if ages and can_renew:
                proceeds = proceeds * age_decay ** ((sale - golive - term) / 12.0)
            gpu_residual = gpu_residual + proceeds * _at(m, sale)
            disposal_gain = disposal_gain + (proceeds - book) * _at(m, sale)
            gpu_book_end = gpu_book_end + np.where(sold, 0.0, book)
            gpu_capex = gpu_capex + spend
            dep_gpu = dep_gpu + dep

    # counterparty default: backstop at once, recovery later (claim net of prepayment)
    backstop_cash = recovery_cash = 0.0
    if can_default:
        claim = (1.0 - ai.prepayment_share) * remaining_invoices
        backstop = np.minimum(backstop_usd, claim)
        recovery = risks.default_recovery_share * (claim - backstop)
        backstop_cash = backstop * _at(m, tau)
        recovery_cash = recovery * _at(m, tau + risks.default_recovery_months)

    prepayment = np.zeros((1, n))
    prepayment[:, 0] = 1.0
    prepayment = prepayment * terms["prepayment_usd"]
    credit = ai.prepayment_share * original_revenue

    live_it_mw = it_mw * load
    hours = timeline.hours[None, :]
    critical_it_kwh = live_it_mw * KW_PER_MW * hours
    grid_kwh = critical_it_kwh * ai.it_load_factor * ai.pue
    power_price = market.month_mean("power_price_usd_per_kwh")
    power = 0.0 if ai.power_pass_through else grid_kwh * power_price
    opex = ai.opex_usd_per_mw_year * it_mw * in_service / 12.0

    dep_facility = finance.straight_line_depreciation(
        np.asarray(facility_capex, dtype=float), round(fin.depreciation.facility_years * 12))
    depreciation = dep_facility + dep_gpu
    ebitda = revenue + backstop_cash + recovery_cash - power - opex
    tax = finance.tax_with_loss_carryforward(ebitda - depreciation + disposal_gain, fin.tax_rate)
    terminal = 0.0
    if fin.terminal_value == "book_value":
        facility_book = finance.book_value(facility_capex, dep_facility)[..., -1:]
        terminal = (facility_book + gpu_book_end) * _at(m, horizon)

    # Service prepaid but not yet delivered at the horizon (contract months a
    # delay pushed past it) is owed to the customer: the unearned prepayment
    # is a liability at the horizon.  A customer that defaulted by then had its
    # claim reduced by the prepayment share already, so nothing is owed there.
    unearned = (np.sum(prepayment, axis=-1, keepdims=True)
                - np.sum(np.broadcast_to(credit, np.broadcast_shapes(np.shape(credit), (1, n))),
                         axis=-1, keepdims=True))
    if can_default:
        unearned = np.where(tau <= horizon, 0.0, unearned)
    unearned_liability = -np.maximum(unearned, 0.0) * _at(m, horizon)

    items = {
        "revenue_usd": revenue,
        "prepayment_usd": prepayment,
        "prepayment_credit_usd": -credit,
        "prepayment_unearned_usd": unearned_liability,
        "default_backstop_usd": backstop_cash,
        "default_recovery_usd": recovery_cash,
        "power_usd": -power,
        "opex_usd": -opex,
        "capex_usd": -(facility_capex + gpu_capex),
        "tax_usd": -tax,
        "gpu_residual_usd": gpu_residual,
        "terminal_value_usd": terminal,
    }
    quantities = {
        "grid_kwh": grid_kwh,
        "critical_it_kwh": critical_it_kwh,
        "live_it_mw": live_it_mw,
        "ebitda_usd": ebitda,
        "depreciation_usd": depreciation,
    }
    shape = np.broadcast_shapes((1, n), *(np.shape(v) for v in (*items.values(), *quantities.values())))
    items = {k: np.broadcast_to(np.asarray(v, dtype=float), shape) for k, v in items.items()}
    quantities = {k: np.broadcast_to(np.asarray(v, dtype=float), shape) for k, v in quantities.items()}
    return CashFlows(timeline=timeline, items=items, quantities=quantities)
