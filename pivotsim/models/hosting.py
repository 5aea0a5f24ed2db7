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

import math

import numpy as np

from ..compiled import kernel, pass_rows, per_path, row_passes, scratch_rows
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


@kernel
def _month_column(month, n_periods):
    """Grid column of a month [months], or -1 when it is fractional, infinite or off the grid."""
    if month >= 0.0 and month < n_periods and month == math.floor(month):
        return int(month)
    return -1


@kernel
def _first_lease_month(golive, lease_month, n_periods):
    """First month m in [0, n_periods] with m - golive - 1 >= lease_month [months].

    The lease month is computed as in the equations (so fractional go-live
    months give the same months as comparing every month).
    """
    guess = min(max(golive + 1.0 + lease_month, 0.0), float(n_periods))
    m = int(math.ceil(guess))
    while m > 0 and (m - 1) - golive - 1.0 >= lease_month:
        m -= 1
    while m < n_periods and m - golive - 1.0 < lease_month:
        m += 1
    return m


@kernel
def _month_at_or_after(month, n_periods, after=0):
    """First whole month >= ``month`` (``after=1``: > ``month``), within [0, n_periods]."""
    if not month < n_periods:
        return n_periods
    if month < 0.0:
        return 0
    first = int(math.ceil(month))
    if after and first == month:
        first += 1
    return min(first, n_periods)


@kernel
def _add_facility_capex(row, shares, online_months, construction, delay, facility_total):
    """Add one path's facility capex [USD] into ``row`` ``(n_periods,)``.

    Each tranche's share of ``facility_total`` is spent evenly over the
    ``construction`` months ending at its go-live month (online month plus
    ``delay``); what would fall before t = 0 is spent at t = 0.
    """
    n_periods = row.shape[0]
    for p in range(shares.shape[0]):
        golive = online_months[p] + delay
        per_month = shares[p] * facility_total / construction
        first = golive - construction + 1.0
        for m in range(_month_at_or_after(max(first, 1.0), n_periods), _month_at_or_after(golive, n_periods, 1)):
            row[m] += per_month
        row[0] += per_month * min(max(construction - golive, 0.0), float(construction))


@kernel
def _facility_capex_kernel(shares, online_months, construction, delay, facility_total, facility_capex):
    """Facility capex [USD] of each path into ``facility_capex`` ``(rows, n_periods)``."""
    for i in range(facility_capex.shape[0]):
        row = facility_capex[i]
        row[:] = 0.0
        _add_facility_capex(row, shares, online_months, construction, delay[i], facility_total[i])


@kernel
def _contract_kernel(term, renewal_term, construction, gpu_life, gpu_cloud, pass_through, has_default,
                     has_terminal, shares, online_months, hours, power_price, facility_depreciation,
                     delay, tau, vacancy_months, renewed, utilisation, release_price, renewal_price,
                     age_decay, escalator, full_rate, facility_total, gpu_cost, gpu_residual_share,
                     it_mw, it_load_factor, pue, opex_rate, prepayment_share, prepayment_t0,
                     backstop_usd, recovery_share, recovery_months,
                     revenue, credit, live_it_mw, critical_it_kwh, grid_kwh, power, opex, capex,
                     ebitda, depreciation, taxable, net, residual_by_month, backstop_by_month,
                     recovery_by_month, terminal_by_month, row0, sale_month, sale_proceeds):
    """Every tranche's contract, default, renewal, capex and GPU flows, path by path.

    Writes row i of each output ``(rows, n_periods)`` from path i's
    parameters ``(rows,)`` (equations in the module docstring) and facility
    depreciation; outflows (``power``, ``opex``, ``capex``) negative.
    ``depreciation`` (``gpu_cloud`` only; otherwise it is the facility's)
    = facility's + GPUs'; taxable = ebitda - depreciation + GPU disposal
    gain.  ``net`` gets the items summed in :func:`hosting_cash_flows`'
    order up to ``capex`` (in the last column only revenue and credit: the
    unearned prepayment comes next, in :func:`_close_kernel`).  The sparse
    items GPU resale proceeds, backstop, recovery and terminal value [USD]
    are written into column ``row0 + i`` of ``*_by_month`` arrays
    ``(n_periods, n_paths)`` (zeros on entry); per path and tranche, the GPU sale month and
    resale proceeds [USD] ``(rows, n_tranches)``.  ``power``
    (``pass_through``), the GPU outputs (not ``gpu_cloud``), backstop and
    recovery (not ``has_default``) and terminal value (not
    ``has_terminal``) are not touched.
    """
    rows, n_periods = revenue.shape
    last = n_periods - 1
    earned = np.zeros(n_periods)         # revenue
    original = np.zeros(n_periods)       # revenue of the original contract (credited against the prepayment)
    load = np.zeros(n_periods)           # share of the capacity drawing power
    service = np.zeros(n_periods)        # share of the capacity in service (opex)
    facility = np.zeros(n_periods)
    gpus = np.zeros(n_periods)
    gpu_dep = np.zeros(n_periods)
    gain = np.zeros(n_periods)           # GPU disposal gain
    backstop_row = np.zeros(n_periods)
    recovery_row = np.zeros(n_periods)
    invoiced_units = np.zeros(term + 1)  # sum over lease months j < k of (1 + e)^(j // 12)
    price_rows = power_price.shape[0]
    for i in range(rows):
        earned[:] = 0.0
        original[:] = 0.0
        load[:] = 0.0
        service[:] = 0.0
        facility[:] = 0.0
        gpus[:] = 0.0
        gpu_dep[:] = 0.0
        gain[:] = 0.0
        backstop_row[:] = 0.0
        recovery_row[:] = 0.0
        t_default = tau[i]
        defaults = math.isfinite(t_default)
        vacancy_end = t_default + vacancy_months[i]
        a = age_decay[i]
        growth = 1.0 + escalator[i]
        is_renewed = renewed[i] != 0.0
        plain = growth == 1.0 and not defaults
        if defaults:
            factor = 1.0
            for k in range(term):
                if k % 12 == 0:
                    factor = growth ** float(k // 12)
                invoiced_units[k + 1] = invoiced_units[k] + factor
        remaining_invoices = 0.0
        book_end = 0.0
        for p in range(shares.shape[0]):
            share = shares[p]
            golive = online_months[p] + delay[i]
            base_rate = share * full_rate[i]
            # lease months 0 .. term - 1, then the renewal's (months where m - golive - 1 is in range)
            start = _first_lease_month(golive, 0.0, n_periods)
            term_end = _first_lease_month(golive, float(term), n_periods)
            end = _first_lease_month(golive, float(term + renewal_term), n_periods) if is_renewed else term_end
            if plain:  # the contract as signed: one rate, every month invoiced, then the renewal's
                for m in range(start, term_end):
                    earned[m] += base_rate
                    load[m] += share
                if is_renewed:  # else the original revenue is the revenue
                    for m in range(start, term_end):
                        original[m] += base_rate
                for m in range(term_end, end):
                    earned[m] += renewal_price[i] * base_rate
                    load[m] += share
            release_factor = 0.0
            if defaults:
                release_factor = release_price[i] * a ** (max(vacancy_end - golive - 1.0, 0.0) / 12.0)
            step = -1.0
            rate = base_rate
            for m in range(start, start if plain else end):
                lease_month = m - golive - 1.0
                if growth != 1.0:
                    year = max(lease_month, 0.0) // 12.0
                    if year != step:
                        step = year
                        rate = base_rate * growth ** year
                if m >= term_end:  # renewal
                    earned[m] += renewal_price[i] * rate
                    load[m] += share
                elif defaults and m >= t_default:
                    if m < vacancy_end:  # vacant: spot sales of a share of the capacity
                        spot = utilisation[i]
                        if a != 1.0:
                            spot = spot * a ** (max(lease_month, 0.0) / 12.0)
                        earned[m] += spot * rate
                        load[m] += utilisation[i] * share
                    else:  # re-leased until the original term end
                        earned[m] += release_factor * rate
                        load[m] += share
                else:
                    earned[m] += rate
                    original[m] += rate
                    load[m] += share
                service[m] += share
            if defaults:
                invoiced = int(min(max(t_default - golive - 1.0, 0.0), float(term)))
                unbilled = invoiced_units[term] - invoiced_units[invoiced]
                remaining_invoices = remaining_invoices + share * full_rate[i] * unbilled

            if gpu_cloud:
                # bought at go-live, depreciated straight line from the next month until sold
                cost = share * gpu_cost[i]
                per_month = cost / gpu_life
                sale = golive + term + (renewal_term if is_renewed else 0)
                last_dep = min(golive + gpu_life, sale)
                for m in range(_month_at_or_after(golive, n_periods, 1), _month_at_or_after(last_dep, n_periods, 1)):
                    gpu_dep[m] += per_month
                book = 0.0
                if golive <= last:
                    book = cost - per_month * min(max(min(last_dep, last) - golive, 0.0), float(gpu_life))
                proceeds = cost * gpu_residual_share[i]
                if is_renewed:
                    proceeds = proceeds * a ** ((sale - golive - term) / 12.0)
                sale_month[i, p] = sale
                sale_proceeds[i, p] = proceeds
                column = _month_column(sale, n_periods)
                if column >= 0:
                    residual_by_month[column, row0 + i] += proceeds
                    gain[column] += proceeds - book
                book_end = book_end + (0.0 if sale <= last else book)
                column = _month_column(golive, n_periods)
                if column >= 0:
                    gpus[column] += cost
        _add_facility_capex(facility, shares, online_months, construction, delay[i], facility_total[i])

        if defaults:
            # backstop at once, recovery later, on the claim net of the prepayment
            claim = (1.0 - prepayment_share[i]) * remaining_invoices
            paid = min(backstop_usd[i], claim)
            recovered = recovery_share[i] * (claim - paid)
            column = _month_column(t_default, n_periods)
            if column >= 0:
                backstop_row[column] += paid
                backstop_by_month[column, row0 + i] += paid
            column = _month_column(t_default + recovery_months[i], n_periods)
            if column >= 0:
                recovery_row[column] += recovered
                recovery_by_month[column, row0 + i] += recovered

        # One loop per output row and step, each streams into one array
        # (stores interleaved over many large arrays thrash the cache) and
        # has no branch (so it runs on vectors).
        price_row = i if price_rows > 1 else 0
        # without a default the capacity in service is the capacity drawing
        # power, and without a renewal either the original revenue is the revenue
        in_service = load if plain else service
        original_revenue = earned if plain and not is_renewed else original
        for m in range(n_periods):
            revenue[i, m] = earned[m]
        for m in range(n_periods):
            credit[i, m] = original_revenue[m] * -prepayment_share[i]
        for m in range(n_periods):
            live_it_mw[i, m] = load[m] * it_mw[i]
        for m in range(n_periods):
            critical_it_kwh[i, m] = live_it_mw[i, m] * 1e3 * hours[m]
        for m in range(n_periods):
            grid_kwh[i, m] = critical_it_kwh[i, m] * it_load_factor[i] * pue[i]
        if not pass_through:
            for m in range(n_periods):
                power[i, m] = -(grid_kwh[i, m] * power_price[price_row, m])
        for m in range(n_periods):
            opex[i, m] = -(in_service[m] * opex_rate[i] / 12.0)
        if gpu_cloud:
            for m in range(n_periods):
                capex[i, m] = -(facility[m] + gpus[m])
        else:
            for m in range(n_periods):
                capex[i, m] = -facility[m]
        # ebitda = revenue + backstop + recovery - power - opex (-(-x) is x exactly)
        for m in range(n_periods):
            earnings = earned[m]
            if has_default:
                earnings = earnings + backstop_row[m] + recovery_row[m]
            if not pass_through:
                earnings = earnings - -power[i, m]
            ebitda[i, m] = earnings - -opex[i, m]
        if gpu_cloud:
            for m in range(n_periods):
                depreciation[i, m] = facility_depreciation[i, m] + gpu_dep[m]
            for m in range(n_periods):
                taxable[i, m] = ebitda[i, m] - depreciation[i, m] + gain[m]
        else:
            for m in range(n_periods):
                taxable[i, m] = ebitda[i, m] - facility_depreciation[i, m]
        # net: the items in hosting_cash_flows' order, up to capex (up to the credit in the last column)
        for m in range(last):
            total = earned[m] + prepayment_t0[i] if m == 0 else earned[m]
            total = total + credit[i, m]
            if has_default:
                total = total + backstop_row[m] + recovery_row[m]
            if not pass_through:
                total = total + power[i, m]
            net[i, m] = total + opex[i, m] + capex[i, m]
        net[i, last] = earned[last] + credit[i, last]
        if has_terminal:  # facilities at book value (capex spent - depreciation charged), GPUs too
            spent = 0.0
            charged = 0.0
            for m in range(n_periods):
                spent = spent + facility[m]
                charged = charged + facility_depreciation[i, m]
            terminal_by_month[last, row0 + i] = 0.0 + (spent - charged + book_end)


@kernel
def _close_kernel(gpu_cloud, pass_through, has_default, has_terminal, unearned_usd, sale_month, sale_proceeds,
                  backstop_by_month, recovery_by_month, terminal_by_month, unearned_by_month, row0,
                  power, opex, capex, tax, tax_out, net):
    """The tax outflow, the unearned-prepayment liability and the rest of ``net``, path by path.

    ``net`` holds the sum up to capex from :func:`_contract_kernel` (up to
    the credit in the last column); this adds the tax outflow (``-tax``,
    also written to ``tax_out``, which may be ``tax``) and GPU resale
    proceeds, and in the last column the unearned prepayment
    ``unearned_usd`` ``(rows,)`` (also written to column ``row0 + i`` of the
    last row of ``unearned_by_month``), the default payments, power, opex,
    capex and the terminal value.
    """
    rows, n_periods = net.shape
    last = n_periods - 1
    resale = np.zeros(n_periods)
    for i in range(rows):
        if gpu_cloud:
            resale[:] = 0.0
            for p in range(sale_month.shape[1]):
                column = _month_column(sale_month[i, p], n_periods)
                if column >= 0:
                    resale[column] += sale_proceeds[i, p]
        for m in range(last):
            tax_m = -tax[i, m]
            tax_out[i, m] = tax_m
            net[i, m] = net[i, m] + tax_m + resale[m] if gpu_cloud else net[i, m] + tax_m
        liability = 0.0 + unearned_usd[i]
        unearned_by_month[last, row0 + i] = liability
        total = net[i, last] + liability
        if has_default:
            total = total + backstop_by_month[last, row0 + i] + recovery_by_month[last, row0 + i]
        if not pass_through:
            total = total + power[i, last]
        total = total + opex[i, last] + capex[i, last]
        tax_m = -tax[i, last]
        tax_out[i, last] = tax_m
        total = total + tax_m
        if gpu_cloud:
            total = total + resale[last]
        if has_terminal:
            total = total + terminal_by_month[last, row0 + i]
        net[i, last] = total


def hosting_cash_flows(inputs, market, timeline: Timeline, *, net_only: bool = False,
                       financing: bool = False) -> CashFlows:
    """Monthly cash flows of the AI-hosting deal on the site's grid power.

    Any input may be an array ``(n_paths, 1)``
    (:func:`pivotsim.uncertainty.sample_inputs`); the month loops run in
    compiled kernels, path by path, so a path's flows depend on its own
    inputs only.

    Parameters
    ----------
    inputs : namespace
        The scenario's values (:func:`pivotsim.scenario.to_inputs`), with
        ``ai.risks.default_event`` and ``ai.risks.renewal_event`` draws.
    market : MarketPaths
        Only the power price is used.
    timeline : Timeline
    net_only : bool
        Only the net cash flow (what a valuation reads; the same numbers):
        ``items`` and ``quantities`` are left empty and the lines are never
        written out to memory.
    financing : bool
        Also keep what project debt reads (:mod:`pivotsim.models.debt`),
        even with ``net_only``: the item ``capex_usd`` and the quantity
        ``taxable_income_usd`` (before interest).

    Returns
    -------
    CashFlows
        Items ``revenue_usd, prepayment_usd, prepayment_credit_usd,
        prepayment_unearned_usd, default_backstop_usd, default_recovery_usd,
        power_usd, opex_usd, capex_usd, tax_usd, gpu_residual_usd,
        terminal_value_usd``; quantities ``grid_kwh, critical_it_kwh,
        live_it_mw, ebitda_usd, depreciation_usd``.

    Notes
    -----
    Compiled kernels, about a thousand paths at a time: facility capex
    (:func:`_facility_capex_kernel`), its depreciation
    (:func:`~pivotsim.models.finance.straight_line_depreciation`), every
    tranche's flows and the lines built on them (:func:`_contract_kernel`),
    the tax (:func:`~pivotsim.models.finance.tax_with_loss_carryforward`),
    then the net (:func:`_close_kernel`).  The time is memory traffic:
    one market series read, eleven lines written (one with ``net_only``).
    """
    ai, fin, risks = inputs.ai, inputs.finance, inputs.ai.risks
    n = timeline.n_periods
    horizon = n - 1
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
        gpu_cost, gpu_residual_share = ai.gpu_capex_usd, ai.gpu_residual_share
    else:
        full_rate = first_year_rent_usd_per_kw_month(ai, it_mw) * it_mw * KW_PER_MW
        escalator = ai.rent_escalator_per_year
        age_decay = 1.0
        backstop_usd = ai.backstop_usd
        gpu_cost = gpu_residual_share = 0.0
    tau = default_month(risks.default_hazard_per_month, risks.default_event)
    renewed = np.asarray(risks.renewal_event) < np.asarray(risks.renewal_probability)
    renewal_price = risks.renewal_price_share * age_decay ** (term / 12.0)
    facility_total = ai.datacenter_capex_usd_per_mw * it_mw
    if not gpu_cloud:
        facility_total = np.maximum(0.0, facility_total - ai.tenant_funded_capex_usd)
    facility_total = facility_total * risks.capex_overrun_multiplier
    pass_through = bool(ai.power_pass_through)
    power_price = (np.zeros((1, 1)) if pass_through else
                   np.ascontiguousarray(market.month_mean("power_price_usd_per_kwh"), dtype=float))

    per_path_values = {
        "delay": risks.construction_delay_months, "tau": tau, "vacancy_months": risks.release_months,
        "renewed": renewed, "utilisation": risks.uncontracted_utilisation,
        "release_price": risks.release_price_share, "renewal_price": renewal_price,
        "age_decay": age_decay, "escalator": escalator, "full_rate": full_rate,
        "facility_total": facility_total, "gpu_cost": gpu_cost, "gpu_residual_share": gpu_residual_share,
        "it_mw": it_mw, "it_load_factor": ai.it_load_factor, "pue": ai.pue,
        "opex_rate": ai.opex_usd_per_mw_year * it_mw, "prepayment_share": ai.prepayment_share,
        "prepayment_t0": terms["prepayment_usd"], "backstop_usd": backstop_usd,
        "recovery_share": risks.default_recovery_share, "recovery_months": risks.default_recovery_months,
    }
    # one row per path, or a single row when nothing varies by path (the base case)
    rows = max(power_price.shape[0], *(np.size(v) for v in (*per_path_values.values(), fin.tax_rate)))
    params = {name: per_path(value, rows) for name, value in per_path_values.items()}
    has_default = bool(np.any(np.isfinite(params["tau"])))
    has_terminal = fin.terminal_value == "book_value"
    shares = np.array([float(phase.share) for phase in ai.phases])
    online_months = np.array([float(phase.online_month) for phase in ai.phases])

    def unused():
        return np.zeros((1, 1))

    # Items that are zero but in a few months per path (GPU resale, default
    # payments, unearned prepayment, terminal value) are built month-major,
    # (n_periods, rows), on lazily zeroed memory, and returned transposed:
    # only the months written touch memory.
    def sparse():
        return np.zeros((n, rows))

    shape = (rows, n)
    names = ("revenue", "credit", "live_it_mw", "critical_it_kwh", "grid_kwh", "opex", "capex", "ebitda",
             "depreciation", "tax") + (() if pass_through else ("power",))
    # Lines of the result are (rows, n_periods); scratch lines (the facility
    # capex, reused for the taxable income, and all but the net with
    # net_only) hold one pass of paths and are reused.
    kept = {} if net_only else {name: np.empty(shape) for name in names}
    if financing:
        kept["capex"] = kept.get("capex", np.empty(shape))
        kept["taxable"] = np.empty(shape)
    scratch = {name: np.empty((scratch_rows(rows), n)) for name in (*names, "facility")
               if name not in kept and name != "tax"}  # without kept lines the tax is negated in place
    net = np.empty(shape)
    gpu_residual = sparse() if gpu_cloud else unused()
    backstop, recovery = (sparse(), sparse()) if has_default else (unused(), unused())
    terminal = sparse() if has_terminal else unused()
    unearned = sparse()
    sale_month, sale_proceeds = np.zeros((rows, len(shares))), np.zeros((rows, len(shares)))
    construction = int(ai.construction_months)
    hours = np.ascontiguousarray(timeline.hours, dtype=float)
    tax_rate = np.asarray(fin.tax_rate, dtype=float)
    # About a thousand paths at a time: the lines the depreciation, tax and net
    # read back are still in cache.
    for pass_, line in row_passes(rows, kept, scratch):
        start, stop = pass_.start, pass_.stop
        path = {name: values[start:stop] for name, values in params.items()}
        _facility_capex_kernel(shares, online_months, construction, path["delay"], path["facility_total"],
                               line["facility"])
        facility_depreciation = np.ascontiguousarray(finance.straight_line_depreciation(
            line["facility"], round(fin.depreciation.facility_years * 12)), dtype=float)
        # the taxable income overwrites the facility capex (not needed any more)
        taxable = (np.empty_like(line["facility"]) if np.shares_memory(facility_depreciation, line["facility"])
                   else line["facility"])
        if not gpu_cloud and kept:
            line["depreciation"][...] = facility_depreciation
        _contract_kernel(term, renewal_term, construction, round(fin.depreciation.gpu_years * 12),
                         gpu_cloud, pass_through, has_default, has_terminal, shares, online_months, hours,
                         pass_rows(power_price, pass_),
                         facility_depreciation, *path.values(),
                         line["revenue"], line["credit"], line["live_it_mw"], line["critical_it_kwh"],
                         line["grid_kwh"], line.get("power", unused()), line["opex"], line["capex"],
                         line["ebitda"], line["depreciation"] if gpu_cloud else unused(), taxable,
                         net[start:stop], gpu_residual, backstop, recovery, terminal, start,
                         sale_month[start:stop], sale_proceeds[start:stop])
        tax = np.ascontiguousarray(finance.tax_with_loss_carryforward(
            taxable, pass_rows(tax_rate, pass_)), dtype=float)
        if financing:
            line["taxable"][...] = taxable

        # Service prepaid but not yet delivered at the horizon (contract months a
        # delay pushed past it) is owed to the customer: the unearned prepayment
        # is a liability at the horizon.  A customer that defaulted by then had its
        # claim reduced by the prepayment share already, so nothing is owed there.
        # (credit is the negated credit, so -sum(credit) is sum(credits) exactly.)
        unearned_usd = path["prepayment_t0"] + np.sum(line["credit"], axis=-1)
        unearned_usd = np.where(path["tau"] <= horizon, 0.0, unearned_usd)
        _close_kernel(gpu_cloud, pass_through, has_default, has_terminal, -np.maximum(unearned_usd, 0.0),
                      sale_month[start:stop], sale_proceeds[start:stop], backstop, recovery, terminal, unearned,
                      start, line.get("power", unused()), line["opex"], line["capex"], tax, line.get("tax", tax),
                      net[start:stop])
    if net_only:
        return CashFlows(timeline=timeline, items={"capex_usd": kept["capex"]} if financing else {},
                         quantities={"taxable_income_usd": kept["taxable"]} if financing else {}, net_usd=net)

    zero = np.broadcast_to(0.0, shape)
    if np.ndim(terms["prepayment_usd"]) == 0:
        prepayment = np.zeros((1, n))
        prepayment[:, 0] = terms["prepayment_usd"]
        prepayment = np.broadcast_to(prepayment, shape)
    else:
        prepayment = sparse()
        prepayment[0] = params["prepayment_t0"]
        prepayment = prepayment.T
    items = {
        "revenue_usd": kept["revenue"],
        "prepayment_usd": prepayment,
        "prepayment_credit_usd": kept["credit"],
        "prepayment_unearned_usd": unearned.T,
        "default_backstop_usd": backstop.T if has_default else zero,
        "default_recovery_usd": recovery.T if has_default else zero,
        "power_usd": zero if pass_through else kept["power"],
        "opex_usd": kept["opex"],
        "capex_usd": kept["capex"],
        "tax_usd": kept["tax"],
        "gpu_residual_usd": gpu_residual.T if gpu_cloud else zero,
        "terminal_value_usd": terminal.T if has_terminal else zero,
    }
    quantities = {name: kept[name.removesuffix("_usd")] for name in
                  ("grid_kwh", "critical_it_kwh", "live_it_mw", "ebitda_usd", "depreciation_usd")}
    if financing:
        quantities["taxable_income_usd"] = kept["taxable"]
    return CashFlows(timeline=timeline, items=items, quantities=quantities, net_usd=net)
