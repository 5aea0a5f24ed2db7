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


def _rows(*values) -> int:
    """Rows of the broadcast of scalars and ``(n_paths, 1)`` columns."""
    return max([1] + [np.shape(v)[0] for v in values if np.ndim(v) == 2])


def _add_at(total, value, column, n_periods: int):
    """``total + value * 1[month == column]`` for each path, written into ``total`` when it can be.

    A scatter: only one cell per path is touched (``column`` holds whole
    months; a column outside the grid, fractional or infinite adds nothing),
    so it gives the same numbers as adding a one-hot row times ``value``
    for finite values, without a pass over the months.

    Parameters
    ----------
    total : None or ndarray (rows, n_periods)
        Running sum (None: zeros).
    value, column : float or ndarray (n_paths, 1)
        Amount [USD] and its column [months].
    """
    rows = _rows(value, column, total if total is not None else 0.0)
    if total is None:
        total = np.zeros((rows, n_periods))
    elif total.shape[0] < rows:
        total = np.broadcast_to(total, (rows, n_periods)).copy()
    col = np.broadcast_to(np.asarray(column, dtype=float).reshape(-1, 1), (rows, 1)).ravel()
    val = np.broadcast_to(np.asarray(value, dtype=float).reshape(-1, 1), (rows, 1)).ravel()
    with np.errstate(invalid="ignore"):
        hit = np.flatnonzero((col >= 0) & (col < n_periods) & (col == np.floor(col)))
    total[hit, col[hit].astype(np.intp)] += val[hit]
    return total


def _accumulate(total, term):
    """``total + term``, in place when ``total`` is already a float array of the result's shape.

    ``total`` None starts the sum: ``term`` itself is returned (so it must be
    a fresh array the caller owns), which is ``0 + term`` exactly.
    """
    if total is None:
        return np.asarray(term, dtype=float)
    if (isinstance(total, np.ndarray) and total.dtype == np.float64
            and total.shape == np.broadcast_shapes(total.shape, np.shape(term))):
        total += term
        return total
    return np.add(total, term, dtype=float)


def _scaled(mask, factor):
    """``factor * mask`` as floats (``mask`` boolean or float, ``factor`` scalar or column)."""
    return np.multiply(mask, factor, dtype=float)

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

    # Running sums start as None and are written in place once they are arrays
    # (each line is the same arithmetic as ``total + term``, in the same order).
    revenue = original_revenue = load = in_service = None
    facility_capex = gpu_capex = dep_gpu = gpu_residual = disposal_gain = None
    gpu_book_end = 0.0
    remaining_invoices = 0.0
    # Without default risk the original-contract revenue is the revenue unless
    # a renewal adds to it, and the capacity in service is the live load.
    same_original = not can_default and not can_renew
    whole_months = bool(np.all(delay == np.floor(delay)))
    for phase in ai.phases:  # loop over tranches; every line is vectorised over paths and months
        share = phase.share
        golive = phase.online_month + delay
        rate = share * full_rate
        if escalates or can_default or can_renew or not whole_months:
            lease_month = m - golive - 1
            in_term = (lease_month >= 0) & (lease_month < term)
        else:  # lease month m - g - 1 in [0, term): exact comparisons on whole months
            in_term = (m >= golive + 1) & (m < golive + 1 + term)
        if escalates:
            rate = rate * (1.0 + escalator) ** (np.maximum(lease_month, 0) // 12)
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
            original = earning = load_p = in_term
        service = in_term
        if can_renew:
            renewal = renewed & (lease_month >= term) & (lease_month < term + renewal_term)
            earning = earning + renewal * renewal_price
            load_p = load_p + renewal
            service = in_term | renewal
        revenue = _accumulate(revenue, _scaled(earning, rate))
        if not same_original:
            original_revenue = _accumulate(original_revenue, _scaled(original, rate))
        load = _accumulate(load, _scaled(load_p, share))
        if can_default:
            in_service = _accumulate(in_service, _scaled(service, share))

        # facility: spent evenly over the construction months ending at go-live
        per_month = share * facility_total / construction
        window = (m >= golive - construction + 1) & (m <= golive) & (m >= 1)
        before_start = np.clip(construction - golive, 0, construction)
        facility_capex = _accumulate(facility_capex, _add_at(_scaled(window, per_month),
                                                             per_month * before_start, 0.0, n))

        if gpu_cloud:
            # bought at go-live, depreciated straight line from the next month until sold
            cost = share * ai.gpu_capex_usd
            delivered = golive <= horizon
            sale = golive + term + (np.where(renewed, renewal_term, 0) if can_renew else 0)
            last_dep = np.minimum(golive + gpu_life, sale)
            dep_gpu = _accumulate(dep_gpu, _scaled((m > golive) & (m <= last_dep), cost / gpu_life))
            book = np.where(delivered, cost - (cost / gpu_life) * np.clip(
                np.minimum(last_dep, horizon) - golive, 0, gpu_life), 0.0)
            sold = sale <= horizon
            proceeds = cost * ai.gpu_residual_share
            if ages and can_renew:
                proceeds = proceeds * age_decay ** ((sale - golive - term) / 12.0)
            gpu_residual = _add_at(gpu_residual, proceeds, sale, n)
            disposal_gain = _add_at(disposal_gain, proceeds - book, sale, n)
            gpu_book_end = gpu_book_end + np.where(sold, 0.0, book)
            gpu_capex = _add_at(gpu_capex, cost, golive, n)
    if revenue is None:  # no tranche
        revenue = load = facility_capex = np.zeros((1, n))
    if same_original:
        original_revenue = revenue
    if not can_default:
        in_service = load
    gpu_capex = 0.0 if gpu_capex is None else gpu_capex
    dep_gpu = 0.0 if dep_gpu is None else dep_gpu
    gpu_residual = 0.0 if gpu_residual is None else gpu_residual
    disposal_gain = 0.0 if disposal_gain is None else disposal_gain

    # counterparty default: backstop at once, recovery later (claim net of prepayment)
    backstop_cash = recovery_cash = 0.0
    if can_default:
        claim = (1.0 - ai.prepayment_share) * remaining_invoices
        backstop = np.minimum(backstop_usd, claim)
        recovery = risks.default_recovery_share * (claim - backstop)
        backstop_cash = _add_at(None, backstop, tau, n)
        recovery_cash = _add_at(None, recovery, tau + risks.default_recovery_months, n)

    prepayment = np.zeros((1, n))
    prepayment[:, 0] = 1.0
    prepayment = prepayment * terms["prepayment_usd"]
    credit_out = _scaled(original_revenue, -ai.prepayment_share)  # -(share x revenue), exactly

    live_it_mw = _scaled(load, it_mw)
    hours = timeline.hours[None, :]
    critical_it_kwh = _scaled(live_it_mw, KW_PER_MW)
    critical_it_kwh *= hours
    grid_kwh = _scaled(critical_it_kwh, ai.it_load_factor)
    grid_kwh *= ai.pue
    if ai.power_pass_through:
        power = 0.0
    else:
        power = np.multiply(grid_kwh, market.month_mean("power_price_usd_per_kwh"))
    opex = _scaled(in_service, ai.opex_usd_per_mw_year * it_mw)
    opex /= 12.0

    dep_facility = finance.straight_line_depreciation(
        np.asarray(facility_capex, dtype=float), round(fin.depreciation.facility_years * 12))
    depreciation = np.add(dep_facility, dep_gpu)
    # ebitda = revenue + backstop + recovery - power - opex (zero terms skipped: x + 0 = x)
    ebitda = np.array(revenue, dtype=float, copy=True)
    if can_default:
        ebitda = ebitda + backstop_cash
        ebitda += recovery_cash
    ebitda = ebitda - power
    ebitda -= opex
    taxable = ebitda - depreciation
    taxable = _accumulate(taxable, disposal_gain)
    tax = finance.tax_with_loss_carryforward(taxable, fin.tax_rate)
    del taxable
    terminal = 0.0
    if fin.terminal_value == "book_value":
        facility_book = finance.book_value(facility_capex, dep_facility)[..., -1:]
        terminal = _add_at(None, facility_book + gpu_book_end, horizon, n)

    # Service prepaid but not yet delivered at the horizon (contract months a
    # delay pushed past it) is owed to the customer: the unearned prepayment
    # is a liability at the horizon.  A customer that defaulted by then had its
    # claim reduced by the prepayment share already, so nothing is owed there.
    # (credit_out is the negated credit, so -sum(credit_out) is sum(credit) exactly.)
    unearned = (np.sum(prepayment, axis=-1, keepdims=True)
                + np.sum(np.broadcast_to(credit_out, np.broadcast_shapes(np.shape(credit_out), (1, n))),
                         axis=-1, keepdims=True))
    if can_default:
        unearned = np.where(tau <= horizon, 0.0, unearned)
    unearned_liability = _add_at(None, -np.maximum(unearned, 0.0), horizon, n)

    capex = np.add(facility_capex, gpu_capex)
    # outflows as negative items, negated in place (the same numbers as ``-x``)
    power_out = 0.0 if np.ndim(power) == 0 else np.negative(power, out=power)
    opex_out = np.negative(opex, out=opex)
    capex_out = np.negative(capex, out=capex)
    tax_out = np.negative(tax, out=tax)
    items = {
        "revenue_usd": revenue,
        "prepayment_usd": prepayment,
        "prepayment_credit_usd": credit_out,
        "prepayment_unearned_usd": unearned_liability,
        "default_backstop_usd": backstop_cash,
        "default_recovery_usd": recovery_cash,
        "power_usd": power_out,
        "opex_usd": opex_out,
        "capex_usd": capex_out,
        "tax_usd": tax_out,
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
    # net: the sum of the items in their order, skipping zero items (x + 0 = x)
    net = np.array(np.broadcast_to(np.asarray(revenue, dtype=float), shape), copy=True)
    net[:, :1] += prepayment[:, :1]  # the prepayment is zero after column 0
    for name in ("prepayment_credit_usd", "prepayment_unearned_usd", "default_backstop_usd",
                 "default_recovery_usd", "power_usd", "opex_usd", "capex_usd", "tax_usd", "gpu_residual_usd"):
        if name == "prepayment_unearned_usd":
            net[:, -1:] += items[name][:, -1:]  # zero before the horizon
        elif np.ndim(items[name]) != 0:
            net += items[name]
    if np.ndim(terminal) != 0:
        net[:, -1:] += terminal[:, -1:]  # zero before the horizon
    items = {k: np.broadcast_to(np.asarray(v, dtype=float), shape) for k, v in items.items()}
    quantities = {k: np.broadcast_to(np.asarray(v, dtype=float), shape) for k, v in quantities.items()}
    return CashFlows(timeline=timeline, items=items, quantities=quantities, net_usd=net)
