"""Compiled kernels of :mod:`pivotsim.models.hosting`: every tranche's flows, path by path.

The equations are in :mod:`pivotsim.models.hosting`'s docstring.  The kernels
take packed arrays (the rule: at most 25 arguments per kernel):

* ``settings`` (``S_*``): the scenario's switches and whole-month terms;
* ``tranches`` (n_tranches, 3): share, contracted delivery month (the
  build and the GPU order are scheduled on it) and contracted service or
  rent commencement month (revenue, delay credits, long-stop and
  prepayment run from it; the delivery month unless a colocation lease
  says otherwise);
* ``params`` (rows, ``N_PARAMS``): one row of per-path parameters (``K_*``);
* ``lines`` (``N_LINES``, rows, n_periods): the monthly lines (``L_*``);
* ``sparse`` (``N_SPARSE``, n_periods, n_paths): items that are zero in
  all but a few months per path, month-major (``SP_*``), so only the months
  written touch memory;
* ``sales`` (2, n_paths, n_tranches): GPU sale month and proceeds.

A pass of paths reads rows ``row0 ..`` of the path-indexed outputs and rows
``line_row0 ..`` of ``lines``.
"""

from __future__ import annotations

import math

import numpy as np

from ..compiled import inner_kernel, kernel

# settings
(S_TERM, S_RENEWAL_TERM, S_CONSTRUCTION, S_GPU_LIFE, S_GPU_CLOUD, S_PASS_THROUGH, S_HAS_DEFAULT,
 S_TERMINAL, S_COMMITTED, S_STRETCH, S_SHIP_LEAD, S_PAY_LAG, S_PER_TRANCHE, S_PREPAY_LEAD, S_CREDIT_START,
 S_GRACE, S_SELL_ON_TERMINATION, S_HAS_DELAY_CREDIT) = range(18)
N_SETTINGS = 18
#: ``settings[S_TERMINAL]``: none, book value, economic value
TERMINAL_NONE, TERMINAL_BOOK, TERMINAL_ECONOMIC = 0.0, 1.0, 2.0

# per-path parameters (columns of ``params``)
(K_DELAY, K_TAU, K_VACANCY, K_RENEWED, K_UTILISATION, K_RELEASE_PRICE, K_RENEWAL_PRICE, K_AGE_DECAY,
 K_ESCALATOR, K_FULL_RATE, K_FACILITY_TOTAL, K_GPU_COST, K_GPU_RESIDUAL, K_IT_MW, K_LOAD_FACTOR, K_PUE,
 K_OPEX_RATE, K_PREPAY_SHARE, K_PREPAY_T0, K_BACKSTOP, K_RECOVERY_SHARE, K_RECOVERY_MONTHS,
 K_TERMINATES, K_MARKET_RATE, K_HAIRCUT, K_DELAY_COST, K_CREDIT_SHARE, K_CREDIT_CAP, K_VALUE_UNITS,
 K_HALL_VALUE, K_TERMINATION_VACANCY) = range(31)
N_PARAMS = 31

# monthly lines
(L_REVENUE, L_CREDIT, L_LIVE_IT_MW, L_CRITICAL_IT_KWH, L_GRID_KWH, L_POWER, L_OPEX, L_CAPEX, L_EBITDA,
 L_DEPRECIATION, L_TAXABLE, L_FACILITY, L_TAX) = range(13)
N_LINES = 13

# sparse items, month-major
(SP_RESIDUAL, SP_BACKSTOP, SP_RECOVERY, SP_TERMINAL, SP_UNEARNED, SP_PREPAYMENT, SP_REFUND,
 SP_DELAY_CREDIT) = range(8)
N_SPARSE = 8

# scratch rows of one path
(W_EARNED, W_ORIGINAL, W_LOAD, W_SERVICE, W_FACILITY, W_GPUS, W_GPU_DEP, W_GAIN, W_BACKSTOP, W_RECOVERY,
 W_CREDIT, W_DELAY_CREDIT, W_PREPAYMENT, W_REFUND) = range(14)
N_WORK = 14

# per-path sums (``state``)
(A_REMAINING_INVOICES, A_BOOK_END, A_UNCREDITED, A_GPU_VALUE_END) = range(4)


@inner_kernel
def month_column(month, n_periods):
    """Grid column of a month [months], or -1 when it is fractional, infinite or off the grid."""
    if month >= 0.0 and month < n_periods and month == math.floor(month):
        return int(month)
    return -1


@inner_kernel
def first_lease_month(golive, lease_month, n_periods):
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


@inner_kernel
def month_at_or_after(month, n_periods):
    """First whole month >= ``month``, within [0, n_periods]."""
    if not month < n_periods:
        return n_periods
    if month < 0.0:
        return 0
    return min(int(math.ceil(month)), n_periods)


@inner_kernel
def month_after(month, n_periods):
    """First whole month > ``month``, within [0, n_periods].

    Its own kernel, not a flag of :func:`month_at_or_after`: a constant flag
    would compile that kernel once per value.
    """
    return month_at_or_after(np.floor(month) + 1.0, n_periods)


@inner_kernel
def gpu_resale_share(age_months, residual_share, term_months, age_decay):
    """Resale value of GPUs aged ``age_months`` since go-live, share of their cost [-].

    ``residual_share`` at the end of the term T, geometric in between
    (``residual_share ** (age / T)``: 1 when new), and falling by the GPU
    age factor ``age_decay`` per year after it.
    """
    age = max(age_months, 0.0)
    if age <= term_months:
        return residual_share ** (age / term_months)
    return residual_share * age_decay ** ((age - term_months) / 12.0)


@inner_kernel
def add_facility_capex(row, tranches, construction, end_shift, stretch, facility_total):
    """Add one path's facility capex [USD] into ``row`` ``(n_periods,)``.

    Each tranche's share of ``facility_total`` is spent evenly over
    ``construction + stretch`` months ending at its delivery month plus
    ``end_shift``; what would fall before t = 0 is spent at t = 0.
    """
    n_periods = row.shape[0]
    months = construction + stretch
    for p in range(tranches.shape[0]):
        golive = tranches[p, 1] + end_shift
        per_month = tranches[p, 0] * facility_total / months
        first = golive - months + 1.0
        for m in range(month_at_or_after(max(first, 1.0), n_periods), month_after(golive, n_periods)):
            row[m] += per_month
        row[0] += per_month * min(max(months - golive, 0.0), float(months))


@inner_kernel
def _spending_shift(settings, params_row):
    """(end shift, stretch) of the facility spending of a path [months] (see :func:`_facility_capex_kernel`)."""
    delay = params_row[K_DELAY]
    if settings[S_COMMITTED] == 0.0:  # spending moves with the delay
        return delay, 0.0
    if settings[S_STRETCH] != 0.0:  # the build stretches over the delay
        return delay, delay
    return 0.0, 0.0


@inner_kernel
def _facility_total(settings, params_row):
    """Facility capex of a path [USD]: budget times the cost of the delay, if any."""
    total = params_row[K_FACILITY_TOTAL]
    if settings[S_COMMITTED] != 0.0 and params_row[K_DELAY_COST] != 0.0:
        total = total * (1.0 + params_row[K_DELAY_COST] * params_row[K_DELAY])
    return total


@kernel
def _facility_capex_kernel(settings, tranches, params, facility_capex):
    """Facility capex [USD] of each path into ``facility_capex`` ``(rows, n_periods)``.

    Committed spending (``S_COMMITTED``) follows the construction schedule
    ending at each contracted delivery month (stretched over the delay with
    ``S_STRETCH``); otherwise it ends at the delayed go-live.
    """
    construction = settings[S_CONSTRUCTION]
    for i in range(facility_capex.shape[0]):
        row = facility_capex[i]
        row[:] = 0.0
        shift, stretch = _spending_shift(settings, params[i])
        add_facility_capex(row, tranches, construction, shift, stretch, _facility_total(settings, params[i]))


@inner_kernel
def _is_terminated(settings, params_row):
    """Whether the customer cancels the path's tranches: late past the long-stop, and the draw says so."""
    grace = settings[S_GRACE]
    return grace >= 0.0 and params_row[K_DELAY] > grace and params_row[K_TERMINATES] != 0.0


@inner_kernel
def _contract_months(settings, tranches, p, params_row, renewed, n_periods, work, state, invoiced_units):
    """Revenue, load and service of tranche ``p`` of a path as signed (delay, default, renewal)."""
    term = settings[S_TERM]
    share = tranches[p, 0]
    golive = tranches[p, 2] + params_row[K_DELAY]
    full_rate = params_row[K_FULL_RATE]
    base_rate = share * full_rate
    t_default = params_row[K_TAU]
    defaults = math.isfinite(t_default)
    vacancy_end = t_default + params_row[K_VACANCY]
    a = params_row[K_AGE_DECAY]
    growth = 1.0 + params_row[K_ESCALATOR]
    plain = growth == 1.0 and not defaults
    renewal_price = params_row[K_RENEWAL_PRICE]
    earned, original, load, service = work[W_EARNED], work[W_ORIGINAL], work[W_LOAD], work[W_SERVICE]
    # lease months 0 .. term - 1, then the renewal's (months where m - golive - 1 is in range)
    start = first_lease_month(golive, 0.0, n_periods)
    term_end = first_lease_month(golive, term, n_periods)
    end = first_lease_month(golive, term + settings[S_RENEWAL_TERM], n_periods) if renewed else term_end
    if plain:  # the contract as signed: one rate, every month invoiced, then the renewal's
        for m in range(start, term_end):
            earned[m] += base_rate
            load[m] += share
        if renewed:  # else the original revenue is the revenue
            for m in range(start, term_end):
                original[m] += base_rate
        for m in range(term_end, end):
            earned[m] += renewal_price * base_rate
            load[m] += share
    release_factor = 0.0
    if defaults:
        release_factor = params_row[K_RELEASE_PRICE] * a ** (max(vacancy_end - golive - 1.0, 0.0) / 12.0)
    utilisation = params_row[K_UTILISATION]
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
            earned[m] += renewal_price * rate
            load[m] += share
        elif defaults and m >= t_default:
            if m < vacancy_end:  # vacant: spot sales of a share of the capacity
                spot = utilisation
                if a != 1.0:
                    spot = spot * a ** (max(lease_month, 0.0) / 12.0)
                earned[m] += spot * rate
                load[m] += utilisation * share
            else:  # re-leased until the original term end
                earned[m] += release_factor * rate
                load[m] += share
        else:
            earned[m] += rate
            original[m] += rate
            load[m] += share
        service[m] += share
    if defaults:
        invoiced = int(min(max(t_default - golive - 1.0, 0.0), term))
        unbilled = invoiced_units[int(term)] - invoiced_units[invoiced]
        state[A_REMAINING_INVOICES] = state[A_REMAINING_INVOICES] + share * full_rate * unbilled


@inner_kernel
def _terminated_months(settings, tranches, p, params_row, n_periods, work):
    """Tranche ``p`` after the customer cancelled it: re-leased at the market rate, or left idle.

    With re-leasing (not ``S_SELL_ON_TERMINATION``) the capacity is leased
    from ``max(go-live, cancellation) + vacancy`` to the end of the term it
    would have had, at ``K_MARKET_RATE`` times the contract rate times the
    GPU age factor at re-lease (and the rent escalator by lease year).
    """
    if settings[S_SELL_ON_TERMINATION] != 0.0:
        return
    share = tranches[p, 0]
    golive = tranches[p, 2] + params_row[K_DELAY]
    cancelled = tranches[p, 2] + settings[S_GRACE]
    release = max(golive, cancelled) + params_row[K_TERMINATION_VACANCY]
    base_rate = share * params_row[K_FULL_RATE] * params_row[K_MARKET_RATE]
    base_rate = base_rate * params_row[K_AGE_DECAY] ** (max(release - golive, 0.0) / 12.0)
    growth = 1.0 + params_row[K_ESCALATOR]
    start = month_after(release, n_periods)
    end = first_lease_month(golive, settings[S_TERM], n_periods)
    for m in range(start, end):
        year = max(m - release - 1.0, 0.0) // 12.0
        work[W_EARNED, m] += base_rate * growth ** year if growth != 1.0 else base_rate
        work[W_LOAD, m] += share
        work[W_SERVICE, m] += share


@inner_kernel
def _tranche_value(settings, tranches, p, params_row):
    """Contract value of tranche ``p`` [USD]: its invoices over the full term."""
    return tranches[p, 0] * params_row[K_FULL_RATE] * params_row[K_VALUE_UNITS]


@inner_kernel
def _delay_credits(settings, tranches, p, params_row, n_periods, work):
    """Delay credits of tranche ``p`` (negative) from its first invoices on.

    Per month late, ``K_CREDIT_SHARE`` of the tranche's first monthly
    invoice, at most ``K_CREDIT_CAP`` of its contract value in all, set off
    against its invoices in order (while the customer pays).
    """
    late = params_row[K_DELAY]
    if not late > 0.0:
        return
    share = tranches[p, 0]
    golive = tranches[p, 2] + late
    invoice = share * params_row[K_FULL_RATE]
    owed = min(params_row[K_CREDIT_SHARE] * late * invoice,
               params_row[K_CREDIT_CAP] * _tranche_value(settings, tranches, p, params_row))
    growth = 1.0 + params_row[K_ESCALATOR]
    start = first_lease_month(golive, 0.0, n_periods)
    end = min(first_lease_month(golive, settings[S_TERM], n_periods),
              month_at_or_after(params_row[K_TAU], n_periods))
    for m in range(start, end):
        if not owed > 0.0:
            break
        year = max(m - golive - 1.0, 0.0) // 12.0
        billed = invoice * growth ** year if growth != 1.0 else invoice
        taken = min(owed, billed)
        work[W_DELAY_CREDIT, m] -= taken
        owed -= taken


@inner_kernel
def _prepayment(settings, tranches, p, params_row, terminated, n_periods, work, state):
    """Per-tranche prepayment: paid before delivery, credited evenly from a service month, refunded on cancellation.

    Tranche p prepays ``K_PREPAY_SHARE`` of its contract value at t = 0
    (``S_PREPAY_LEAD`` < 0) or ``S_PREPAY_LEAD`` months before it goes live;
    it is credited in equal parts in service months ``S_CREDIT_START`` ..
    term (while the customer pays).  A customer that defaults first never
    pays it; one that cancels gets back what it paid.
    """
    term = settings[S_TERM]
    share_value = params_row[K_PREPAY_SHARE] * _tranche_value(settings, tranches, p, params_row)
    golive = tranches[p, 2] + params_row[K_DELAY]
    lead = settings[S_PREPAY_LEAD]
    paid_month = 0.0 if lead < 0.0 else max(golive - lead, 0.0)
    t_default = params_row[K_TAU]
    if terminated:
        cancelled = tranches[p, 2] + settings[S_GRACE]
        if paid_month <= cancelled:
            column = month_column(paid_month, n_periods)
            if column >= 0:
                work[W_PREPAYMENT, column] += share_value
            column = month_column(cancelled, n_periods)
            if column >= 0:
                work[W_REFUND, column] -= share_value
        return
    if not paid_month < t_default:
        return
    column = month_column(paid_month, n_periods)
    if column >= 0:
        work[W_PREPAYMENT, column] += share_value
    first_credit = settings[S_CREDIT_START]
    per_month = share_value / (term - first_credit + 1.0)
    start = first_lease_month(golive, first_credit - 1.0, n_periods)
    end = min(first_lease_month(golive, term, n_periods), month_at_or_after(t_default, n_periods))
    credited = 0.0
    for m in range(start, end):
        work[W_CREDIT, m] -= per_month
        credited += per_month
    if math.isfinite(t_default):
        state[A_UNCREDITED] = state[A_UNCREDITED] + (share_value - credited)


@inner_kernel
def _gpus(settings, tranches, p, params_row, renewed, terminated, n_periods, work, state, sales, row, residual):
    """GPUs of tranche ``p`` (gpu_cloud): paid, depreciated from go-live, sold; book and economic value at the horizon.

    Paid at go-live, or with committed spending (``S_COMMITTED``) on the
    shipment schedule: ``S_SHIP_LEAD`` months before the contracted
    delivery, ``S_PAY_LAG`` months after shipping.  Sold at the end of the
    term (or of the renewal) at the resale curve, or, when the customer
    cancelled and the scenario sells (``S_SELL_ON_TERMINATION``), at the
    cancellation at the resale curve less ``K_HAIRCUT``, never in service.
    """
    last = n_periods - 1
    term = settings[S_TERM]
    gpu_life = settings[S_GPU_LIFE]
    online = tranches[p, 1]
    golive = online + params_row[K_DELAY]
    a = params_row[K_AGE_DECAY]
    cost = tranches[p, 0] * params_row[K_GPU_COST]
    per_month = cost / gpu_life
    paid = golive
    if settings[S_COMMITTED] != 0.0:
        paid = max(online - settings[S_SHIP_LEAD] + settings[S_PAY_LAG], 0.0)
    if terminated and settings[S_SELL_ON_TERMINATION] != 0.0:
        sale = max(online + settings[S_GRACE], paid)
        proceeds = (cost * gpu_resale_share(sale - online, params_row[K_GPU_RESIDUAL], term, a)
                    * (1.0 - params_row[K_HAIRCUT]))
        book = cost if paid <= last else 0.0
    else:
        sale = golive + term + (settings[S_RENEWAL_TERM] if renewed else 0.0)
        # depreciated straight line from the month after go-live until sold
        last_dep = min(golive + gpu_life, sale)
        for m in range(month_after(golive, n_periods), month_after(last_dep, n_periods)):
            work[W_GPU_DEP, m] += per_month
        book = 0.0
        if golive <= last:
            book = cost - per_month * min(max(min(last_dep, last) - golive, 0.0), gpu_life)
        elif paid <= last:
            book = cost
        proceeds = cost * params_row[K_GPU_RESIDUAL]
        if renewed:
            proceeds = proceeds * a ** ((sale - golive - term) / 12.0)
    sales[0, row, p] = sale
    sales[1, row, p] = proceeds
    column = month_column(sale, n_periods)
    if column >= 0:
        residual[column, row] += proceeds
        work[W_GAIN, column] += proceeds - book
    state[A_BOOK_END] = state[A_BOOK_END] + (0.0 if sale <= last else book)
    if sale > last and paid <= last:
        value = cost * gpu_resale_share(last - golive, params_row[K_GPU_RESIDUAL], term, a)
        state[A_GPU_VALUE_END] = state[A_GPU_VALUE_END] + value
    column = month_column(paid, n_periods)
    if column >= 0:
        work[W_GPUS, column] += cost


@inner_kernel
def _default_payments(settings, params_row, n_periods, work, state, sparse, row):
    """Backstop at the default, recovery later, on the claim net of the prepayment still to credit."""
    remaining = state[A_REMAINING_INVOICES]
    if settings[S_PER_TRANCHE] != 0.0:
        claim = max(remaining - state[A_UNCREDITED], 0.0)
    else:
        claim = (1.0 - params_row[K_PREPAY_SHARE]) * remaining
    paid = min(params_row[K_BACKSTOP], claim)
    recovered = params_row[K_RECOVERY_SHARE] * (claim - paid)
    t_default = params_row[K_TAU]
    column = month_column(t_default, n_periods)
    if column >= 0:
        work[W_BACKSTOP, column] += paid
        sparse[SP_BACKSTOP, column, row] += paid
    column = month_column(t_default + params_row[K_RECOVERY_MONTHS], n_periods)
    if column >= 0:
        work[W_RECOVERY, column] += recovered
        sparse[SP_RECOVERY, column, row] += recovered


@inner_kernel
def _write_lines(settings, hours, price, facility_depreciation, params_row, plain, original_is_earned, work,
                 lines, r):
    """The monthly lines of one path (row ``r`` of ``lines``) from its scratch rows."""
    n_periods = hours.shape[0]
    gpu_cloud = settings[S_GPU_CLOUD] != 0.0
    pass_through = settings[S_PASS_THROUGH] != 0.0
    has_default = settings[S_HAS_DEFAULT] != 0.0
    has_delay_credit = settings[S_HAS_DELAY_CREDIT] != 0.0
    earned = work[W_EARNED]
    # without a default the capacity in service is the capacity drawing
    # power, and without a renewal either the original revenue is the revenue
    in_service = work[W_LOAD] if plain else work[W_SERVICE]
    original_revenue = earned if original_is_earned else work[W_ORIGINAL]
    revenue, credit, live_it_mw = lines[L_REVENUE, r], lines[L_CREDIT, r], lines[L_LIVE_IT_MW, r]
    critical_it_kwh, grid_kwh, power = lines[L_CRITICAL_IT_KWH, r], lines[L_GRID_KWH, r], lines[L_POWER, r]
    opex, capex, ebitda = lines[L_OPEX, r], lines[L_CAPEX, r], lines[L_EBITDA, r]
    depreciation, taxable = lines[L_DEPRECIATION, r], lines[L_TAXABLE, r]
    # One loop per output row and step, each streams into one array
    # (stores interleaved over many large arrays thrash the cache) and
    # has no branch (so it runs on vectors).
    for m in range(n_periods):
        revenue[m] = earned[m]
    if settings[S_PER_TRANCHE] != 0.0:
        for m in range(n_periods):
            credit[m] = work[W_CREDIT, m]
    else:
        share = params_row[K_PREPAY_SHARE]
        for m in range(n_periods):
            credit[m] = original_revenue[m] * -share
    for m in range(n_periods):
        live_it_mw[m] = work[W_LOAD, m] * params_row[K_IT_MW]
    for m in range(n_periods):
        critical_it_kwh[m] = live_it_mw[m] * 1e3 * hours[m]
    for m in range(n_periods):
        grid_kwh[m] = critical_it_kwh[m] * params_row[K_LOAD_FACTOR] * params_row[K_PUE]
    if not pass_through:
        for m in range(n_periods):
            power[m] = -(grid_kwh[m] * price[m])
    for m in range(n_periods):
        opex[m] = -(in_service[m] * params_row[K_OPEX_RATE] / 12.0)
    if gpu_cloud:
        for m in range(n_periods):
            capex[m] = -(work[W_FACILITY, m] + work[W_GPUS, m])
    else:
        for m in range(n_periods):
            capex[m] = -work[W_FACILITY, m]
    # ebitda = revenue + backstop + recovery - power - opex (-(-x) is x exactly)
    for m in range(n_periods):
        earnings = earned[m]
        if has_default:
            earnings = earnings + work[W_BACKSTOP, m] + work[W_RECOVERY, m]
        if has_delay_credit:
            earnings = earnings + work[W_DELAY_CREDIT, m]
        if not pass_through:
            earnings = earnings - -power[m]
        ebitda[m] = earnings - -opex[m]
    if gpu_cloud:
        for m in range(n_periods):
            depreciation[m] = facility_depreciation[m] + work[W_GPU_DEP, m]
        for m in range(n_periods):
            taxable[m] = ebitda[m] - depreciation[m] + work[W_GAIN, m]
    else:
        for m in range(n_periods):
            depreciation[m] = facility_depreciation[m]
        for m in range(n_periods):
            taxable[m] = ebitda[m] - facility_depreciation[m]


@inner_kernel
def _write_net(settings, params_row, work, lines, r, net_row, extras):
    """The net of one path in :func:`~pivotsim.models.hosting.hosting_cash_flows`' item order, up to capex.

    In the last column only revenue and the prepayment items: the unearned
    prepayment comes next, in :func:`_close_kernel`.  ``extras``: the path
    has per-tranche prepayments, delay credits or a refund.
    """
    n_periods = net_row.shape[0]
    last = n_periods - 1
    pass_through = settings[S_PASS_THROUGH] != 0.0
    has_default = settings[S_HAS_DEFAULT] != 0.0
    earned = work[W_EARNED]
    credit, power, opex, capex = lines[L_CREDIT, r], lines[L_POWER, r], lines[L_OPEX, r], lines[L_CAPEX, r]
    prepayment_t0 = params_row[K_PREPAY_T0]
    for m in range(last):
        total = earned[m] + prepayment_t0 if m == 0 else earned[m]
        total = total + credit[m]
        if extras:
            total = total + work[W_PREPAYMENT, m] + work[W_REFUND, m] + work[W_DELAY_CREDIT, m]
        if has_default:
            total = total + work[W_BACKSTOP, m] + work[W_RECOVERY, m]
        if not pass_through:
            total = total + power[m]
        net_row[m] = total + opex[m] + capex[m]
    total = earned[last] + credit[last]
    if extras:
        total = total + work[W_PREPAYMENT, last] + work[W_REFUND, last] + work[W_DELAY_CREDIT, last]
    net_row[last] = total


@inner_kernel
def _terminal_value(settings, tranches, params_row, facility_depreciation, work, state):
    """Value of what the operator owns at the horizon [USD] (``S_TERMINAL``).

    Book value: facility capex spent less its depreciation, plus the GPUs'
    book value.  Economic: ``K_HALL_VALUE`` for the halls built by the
    horizon (by share of capacity), plus the GPUs still owned at their
    resale curve; it does not depend on tax lives.
    """
    mode = settings[S_TERMINAL]
    if mode == TERMINAL_BOOK:  # facilities at book value (capex spent - depreciation charged), GPUs too
        spent = 0.0
        charged = 0.0
        for m in range(work.shape[1]):
            spent = spent + work[W_FACILITY, m]
            charged = charged + facility_depreciation[m]
        return 0.0 + (spent - charged + state[A_BOOK_END])
    last = work.shape[1] - 1.0
    shift, _ = _spending_shift(settings, params_row)
    built = 0.0
    for p in range(tranches.shape[0]):
        if tranches[p, 1] + shift <= last:
            built += tranches[p, 0]
    return built * params_row[K_HALL_VALUE] + state[A_GPU_VALUE_END]


@inner_kernel
def _fill_invoiced_units(growth, invoiced_units):
    """``invoiced_units[k]`` = sum over lease months j < k of growth^(j // 12)."""
    factor = 1.0
    for k in range(invoiced_units.shape[0] - 1):
        if k % 12 == 0:
            factor = growth ** float(k // 12)
        invoiced_units[k + 1] = invoiced_units[k] + factor


@inner_kernel
def _copy_sparse(work_row, sparse_line, row):
    """The months of ``work_row`` that are not zero into ``sparse_line[:, row]``.

    Rows, not row indices, are passed: a constant index argument would
    compile the kernel once per constant.
    """
    for m in range(work_row.shape[0]):
        if work_row[m] != 0.0:
            sparse_line[m, row] += work_row[m]


@kernel
def _contract_kernel(settings, tranches, hours, power_price, facility_depreciation, params, lines, line_row0,
                    net, net_row0, sparse, row0, sales):
    """Every tranche's contract, default, renewal, capex and GPU flows, path by path.

    Path i of the pass (row i of ``params``, ``power_price`` when it has a
    row per path, and ``facility_depreciation``) writes row ``line_row0 +
    i`` of ``lines``, row ``net_row0 + i`` of ``net`` (see
    :func:`_write_net`) and column ``row0 + i`` of ``sparse`` (GPU resale,
    default payments, terminal value, per-tranche prepayments, refunds,
    delay credits) and row ``row0 + i`` of ``sales``.  Outflows negative.
    """
    rows = params.shape[0]
    n_periods = hours.shape[0]
    last = n_periods - 1
    term = int(settings[S_TERM])
    n_tranches = tranches.shape[0]
    gpu_cloud = settings[S_GPU_CLOUD] != 0.0
    per_tranche = settings[S_PER_TRANCHE] != 0.0
    work = np.zeros((N_WORK, n_periods))
    state = np.zeros(4)
    invoiced_units = np.zeros(term + 1)  # sum over lease months j < k of (1 + e)^(j // 12)
    for i in range(rows):
        work[:] = 0.0
        state[:] = 0.0
        pr = params[i]
        row = row0 + i
        defaults = math.isfinite(pr[K_TAU])
        terminated = _is_terminated(settings, pr)
        renewed = pr[K_RENEWED] != 0.0 and not terminated
        plain = 1.0 + pr[K_ESCALATOR] == 1.0 and not defaults
        if defaults:
            _fill_invoiced_units(1.0 + pr[K_ESCALATOR], invoiced_units)
        for p in range(n_tranches):
            if terminated:
                _terminated_months(settings, tranches, p, pr, n_periods, work)
            else:
                _contract_months(settings, tranches, p, pr, renewed, n_periods, work, state, invoiced_units)
                if settings[S_HAS_DELAY_CREDIT] != 0.0:
                    _delay_credits(settings, tranches, p, pr, n_periods, work)
            if per_tranche:
                _prepayment(settings, tranches, p, pr, terminated, n_periods, work, state)
            elif terminated:  # the tranche's part of the prepayment at signing goes back
                column = month_column(tranches[p, 2] + settings[S_GRACE], n_periods)
                if column >= 0:
                    work[W_REFUND, column] -= tranches[p, 0] * pr[K_PREPAY_T0]
            if gpu_cloud:
                _gpus(settings, tranches, p, pr, renewed, terminated, n_periods, work, state, sales, row,
                      sparse[SP_RESIDUAL])
        shift, stretch = _spending_shift(settings, pr)
        add_facility_capex(work[W_FACILITY], tranches, settings[S_CONSTRUCTION], shift, stretch,
                           _facility_total(settings, pr))
        if defaults and not terminated:
            _default_payments(settings, pr, n_periods, work, state, sparse, row)
        price = power_price[i] if power_price.shape[0] > 1 else power_price[0]
        _write_lines(settings, hours, price, facility_depreciation[i], pr, plain,
                     plain and not renewed and not terminated, work, lines, line_row0 + i)
        extras = per_tranche or terminated or settings[S_HAS_DELAY_CREDIT] != 0.0
        _write_net(settings, pr, work, lines, line_row0 + i, net[net_row0 + i], extras)
        if extras:
            _copy_sparse(work[W_PREPAYMENT], sparse[SP_PREPAYMENT], row)
            _copy_sparse(work[W_REFUND], sparse[SP_REFUND], row)
            _copy_sparse(work[W_DELAY_CREDIT], sparse[SP_DELAY_CREDIT], row)
        if settings[S_TERMINAL] != TERMINAL_NONE:
            sparse[SP_TERMINAL, last, row] = _terminal_value(settings, tranches, pr, facility_depreciation[i],
                                                             work, state)


@kernel
def _close_kernel(settings, unearned_usd, sales, sparse, row0, lines, line_row0, tax, net, net_row0):
    """The tax outflow, the unearned-prepayment liability and the rest of ``net``, path by path.

    ``net`` holds the sum up to capex from :func:`_contract_kernel` (up to
    the prepayment items in the last column); this writes the tax outflow
    (``-tax``) into the tax line and adds it and GPU resale proceeds, and
    in the last column the unearned prepayment ``unearned_usd`` ``(rows,)``
    (also written to ``sparse[SP_UNEARNED]``), the default payments, power,
    opex, capex and the terminal value.
    """
    rows, n_periods = tax.shape
    last = n_periods - 1
    gpu_cloud = settings[S_GPU_CLOUD] != 0.0
    pass_through = settings[S_PASS_THROUGH] != 0.0
    has_default = settings[S_HAS_DEFAULT] != 0.0
    has_terminal = settings[S_TERMINAL] != TERMINAL_NONE
    resale = np.zeros(n_periods)
    for i in range(rows):
        row = row0 + i
        r = line_row0 + i
        net_row = net[net_row0 + i]
        tax_out = lines[L_TAX, r]
        if gpu_cloud:
            resale[:] = 0.0
            for p in range(sales.shape[2]):
                column = month_column(sales[0, row, p], n_periods)
                if column >= 0:
                    resale[column] += sales[1, row, p]
        for m in range(last):
            tax_m = -tax[i, m]
            tax_out[m] = tax_m
            net_row[m] = net_row[m] + tax_m + resale[m] if gpu_cloud else net_row[m] + tax_m
        liability = 0.0 + unearned_usd[i]
        sparse[SP_UNEARNED, last, row] = liability
        total = net_row[last] + liability
        if has_default:
            total = total + sparse[SP_BACKSTOP, last, row] + sparse[SP_RECOVERY, last, row]
        if not pass_through:
            total = total + lines[L_POWER, r, last]
        total = total + lines[L_OPEX, r, last] + lines[L_CAPEX, r, last]
        tax_m = -tax[i, last]
        tax_out[last] = tax_m
        total = total + tax_m
        if gpu_cloud:
            total = total + resale[last]
        if has_terminal:
            total = total + sparse[SP_TERMINAL, last, row]
        net_row[last] = total
