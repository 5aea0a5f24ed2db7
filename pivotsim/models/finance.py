"""Discounting and valuation: NPV, IRR, MIRR, payback, funding need, value bridge, depreciation, tax.

Every function works on cash-flow arrays shaped ``(n_paths, n_periods)`` (or a
single 1-D series), where column 0 is the valuation date (t = 0, undiscounted)
and column m is the end of month m.  The conventions are those of
numpy-financial: ``npv(rate, values) = sum(values[t] / (1 + rate) ** t)``.

References
----------
numpy-financial 1.0 (``npv``, ``irr``); L. J. Gitman, *Principles of
Managerial Finance*, for IRR and payback definitions.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..compiled import inner_kernel, kernel, per_path, rows_of
from .accounting import book_value, straight_line_depreciation, tax_with_loss_carryforward  # noqa: F401 (re-exported)

MONTHS_PER_YEAR = 12


def monthly_rate(annual_rate):
    """Convert an effective annual rate to the equivalent monthly rate.

    Parameters
    ----------
    annual_rate : float or ndarray
        Effective annual rate [fraction per year], e.g. 0.10.

    Returns
    -------
    float or ndarray
        ``(1 + annual_rate) ** (1/12) - 1`` [fraction per month].
    """
    return np.power(1.0 + np.asarray(annual_rate, dtype=float), 1.0 / MONTHS_PER_YEAR) - 1.0


def annual_rate(monthly):
    """Convert a monthly rate to the effective annual rate, ``(1+r)^12 - 1``."""
    return np.power(1.0 + np.asarray(monthly, dtype=float), MONTHS_PER_YEAR) - 1.0


def _irr_grid(n_nodes: int) -> np.ndarray:
    """Bracketing grid in log(1 + r): from log 0.5 to log 4 per period, dense near 0.

    Nodes are ``c * sinh(s)`` for evenly spaced s, so the spacing is about
    0.003 near a zero rate and widens towards the ends.
    """
    lo, hi = np.log(0.5), np.log(4.0)
    c = 0.02
    s = np.linspace(np.arcsinh(lo / c), np.arcsinh(hi / c), n_nodes)
    nodes = c * np.sinh(s)
    nodes[0], nodes[-1] = lo, hi
    return nodes


# Grid nodes whose NPV a kernel evaluates together (independent sums, a loop
# the compiler vectorises); :func:`_npv_at_node_block` adds four months at a time.
_NODE_BLOCK = 8
_MONTHS_AT_ONCE = 4


class _IrrSearch(NamedTuple):
    """The IRR grid of one cash-flow length, laid out for :func:`_valuation_kernel`.

    ``order`` lists the brackets ``[grid[b], grid[b+1]]`` closest to a zero
    rate first (distance ``|expm1(midpoint)|``, ties to the lower bracket, as
    ``argmin`` would); nodes are numbered in the order that walk first needs
    them (``position[node]``), so bracket ``order[i]`` is decided once the
    first ``nodes_needed[i]`` of them are known.
    ``discounts[block, q, j, k]`` is ``exp(-t * grid[node])`` at month
    ``t = 4 q + j`` for the node numbered ``block * 8 + k`` (zero beyond the
    grid and the horizon).
    """

    grid: np.ndarray
    order: np.ndarray
    position: np.ndarray
    nodes_needed: np.ndarray
    discounts: np.ndarray


_SEARCH_CACHE: dict[tuple[int, int], _IrrSearch] = {}


def _irr_search(n_periods: int, n_nodes: int) -> _IrrSearch:
    key = (n_periods, n_nodes)
    if key not in _SEARCH_CACHE:
        if n_nodes < 2:
            raise ValueError(f"n_grid: {n_nodes} is not allowed; must be at least 2")
        grid = _irr_grid(n_nodes)
        distance = np.abs(np.expm1(0.5 * (grid[:-1] + grid[1:])))
        order = np.argsort(distance, kind="stable")
        walk = list(dict.fromkeys(node for bracket in order for node in (bracket, bracket + 1)))
        position = np.empty(n_nodes, dtype=np.int64)
        position[walk] = np.arange(n_nodes)
        nodes_needed = np.maximum(position[order], position[order + 1]) + 1
        n_blocks = -(-n_nodes // _NODE_BLOCK)
        n_groups = -(-n_periods // _MONTHS_AT_ONCE)
        by_walk = np.zeros((n_groups * _MONTHS_AT_ONCE, n_blocks * _NODE_BLOCK))
        by_walk[:n_periods, :n_nodes] = np.exp(-np.outer(np.arange(n_periods, dtype=float), grid[walk]))
        discounts = np.ascontiguousarray(
            by_walk.reshape(n_groups, _MONTHS_AT_ONCE, n_blocks, _NODE_BLOCK).transpose(2, 0, 1, 3))
        _SEARCH_CACHE[key] = _IrrSearch(grid, order.astype(np.int64), position, nodes_needed, discounts)
    return _SEARCH_CACHE[key]


@inner_kernel
def _is_negative(value):
    """``np.signbit`` of a float: True for negative numbers and -0.0."""
    return math.copysign(1.0, value) < 0.0


@inner_kernel
def _npv_at_node_block(flows, discounts, block, values):
    """NPV of ``flows`` at the grid nodes of ``block``, into ``values[8*block : 8*block + 8]``.

    Only the signs of these values are used (to bracket roots), so the
    months are added four at a time.
    """
    n = flows.shape[0]
    # the eight (_NODE_BLOCK) sums in registers, not in ``values`` (the compiler cannot tell it from ``discounts``)
    v0 = v1 = v2 = v3 = v4 = v5 = v6 = v7 = 0.0
    for q in range(discounts.shape[1]):
        t = 4 * q
        c0 = flows[t]
        c1 = flows[t + 1] if t + 1 < n else 0.0
        c2 = flows[t + 2] if t + 2 < n else 0.0
        c3 = flows[t + 3] if t + 3 < n else 0.0
        d = discounts[block, q]
        v0 += (c0 * d[0, 0] + c1 * d[1, 0]) + (c2 * d[2, 0] + c3 * d[3, 0])
        v1 += (c0 * d[0, 1] + c1 * d[1, 1]) + (c2 * d[2, 1] + c3 * d[3, 1])
        v2 += (c0 * d[0, 2] + c1 * d[1, 2]) + (c2 * d[2, 2] + c3 * d[3, 2])
        v3 += (c0 * d[0, 3] + c1 * d[1, 3]) + (c2 * d[2, 3] + c3 * d[3, 3])
        v4 += (c0 * d[0, 4] + c1 * d[1, 4]) + (c2 * d[2, 4] + c3 * d[3, 4])
        v5 += (c0 * d[0, 5] + c1 * d[1, 5]) + (c2 * d[2, 5] + c3 * d[3, 5])
        v6 += (c0 * d[0, 6] + c1 * d[1, 6]) + (c2 * d[2, 6] + c3 * d[3, 6])
        v7 += (c0 * d[0, 7] + c1 * d[1, 7]) + (c2 * d[2, 7] + c3 * d[3, 7])
    k = block * _NODE_BLOCK
    values[k], values[k + 1], values[k + 2], values[k + 3] = v0, v1, v2, v3
    values[k + 4], values[k + 5], values[k + 6], values[k + 7] = v4, v5, v6, v7


@inner_kernel
def npv_and_slope(flows, x):
    """``f(x) = sum_t flows[t] e^{-t x}`` and ``df/dx`` (two interleaved power chains)."""
    v = math.exp(-x)
    v2 = v * v
    w_even, w_odd = 1.0, v
    t_even, t_odd = 0.0, 1.0
    f_even = f_odd = g_even = g_odd = 0.0
    n = flows.shape[0]
    t = 0
    while t + 1 < n:
        a_even = flows[t] * w_even
        a_odd = flows[t + 1] * w_odd
        f_even += a_even
        f_odd += a_odd
        g_even += t_even * a_even
        g_odd += t_odd * a_odd
        w_even *= v2
        w_odd *= v2
        t_even += 2.0
        t_odd += 2.0
        t += 2
    if t < n:
        a_even = flows[t] * w_even
        f_even += a_even
        g_even += t_even * a_even
    return f_even + f_odd, -(g_even + g_odd)


@inner_kernel
def _irr_of_row(flows, both_signs, grid, order, position, nodes_needed, discounts, values, max_iter, tol):
    """IRR per period of one row of cash flows (see :func:`irr`); ``values`` is scratch space.

    ``both_signs``: the row has a positive and a negative flow (else the NPV
    has one sign at every rate: no root).
    """
    if not both_signs:
        return np.nan
    scale = 0.0
    for t in range(flows.shape[0]):
        scale = max(scale, abs(flows[t]))
    # the bracket with a sign change closest to zero, evaluating nodes only as needed
    known = 0
    bracket = -1
    for i in range(order.shape[0]):
        while known < nodes_needed[i]:
            _npv_at_node_block(flows, discounts, known // _NODE_BLOCK, values)
            known += _NODE_BLOCK
        b = order[i]
        if _is_negative(values[position[b]]) != _is_negative(values[position[b + 1]]):
            bracket = b
            break
    if bracket < 0:
        # no sign change (every node is known now): a node where the NPV is exactly zero is a root
        for node in range(grid.shape[0]):
            if values[position[node]] == 0.0:
                return math.expm1(grid[node])
        return np.nan
    lo = grid[bracket]
    hi = grid[bracket + 1]
    f_lo = values[position[bracket]]
    f_hi = values[position[bracket + 1]]
    lo_negative = _is_negative(f_lo)
    # start from the secant of the bracket (regula falsi), then Newton on x = log(1 + r),
    # bisecting whenever a step would leave the bracket
    x = 0.5 * (lo + hi)
    if f_lo != f_hi:
        secant = lo + (hi - lo) * (f_lo / (f_lo - f_hi))
        if secant > lo and secant < hi:
            x = secant
    for _ in range(max_iter):
        f, slope = npv_and_slope(flows, x)
        if _is_negative(f) == lo_negative:
            lo = x
        else:
            hi = x
        x_new = 0.5 * (lo + hi)
        if slope != 0.0:
            newton = x - f / slope
            if newton > lo and newton < hi and math.isfinite(newton):
                x_new = newton
        if abs(f) <= tol * scale:
            return math.expm1(x)
        if abs(x_new - x) <= tol or hi - lo <= tol:
            return math.expm1(x_new)
        x = x_new
    return math.expm1(x)


@inner_kernel
def _discount_factors_into(rate, factors):
    """``factors[t] = (1 + rate) ** -t``: an exact power every 8 months times one of 8 exact powers."""
    base = 1.0 + rate
    within = np.empty(8)
    for j in range(8):
        within[j] = base ** (-float(j))
    for t in range(factors.shape[0]):
        if t % 8 == 0:
            every_eighth = base ** (-float(t))
        factors[t] = every_eighth * within[t % 8]


@inner_kernel
def _payback(last_negative, shortfall, recovered_in, n_periods):
    """Payback [periods] from the last negative cumulative value (see :func:`payback_months`)."""
    if last_negative < 0:
        return 0.0
    if last_negative == n_periods - 1:
        return np.nan
    fraction = shortfall / recovered_in if recovered_in > 0 else 1.0
    return last_negative + fraction


# codes of ``irr_note`` (:data:`IRR_NOTES`)
IRR_OK, IRR_NO_ROOT, IRR_MULTIPLE, IRR_BORROWING = 0.0, 1.0, 2.0, 3.0
#: what an ``irr_note`` code means: no note, no root, several roots, or a
#: single root of a series that borrows first (NPV rises with the rate, so an
#: IRR above the discount rate would mean a negative NPV)
IRR_NOTES = {IRR_OK: None, IRR_NO_ROOT: "none", IRR_MULTIPLE: "multiple", IRR_BORROWING: "borrowing"}


@inner_kernel
def _unique_irr_note(flows, sign_changes, first_negative, position, discounts, values):
    """``irr_note`` code of a row whose IRR search found a root (see :func:`irr_with_note`).

    One sign change of the flows (Descartes): one root, and the series lends
    (invests first) when its first non-zero flow is negative.  More: the NPV
    at every grid rate decides, by its sign changes (several: ``multiple``)
    and by its sign at the lowest rate (positive: the series invests first).
    """
    if sign_changes <= 1:
        return IRR_OK if first_negative else IRR_BORROWING
    for block in range(discounts.shape[0]):
        _npv_at_node_block(flows, discounts, block, values)
    changes = 0
    first = 0.0
    previous = 0.0
    for node in range(position.shape[0]):  # in the order of the rates
        v = values[position[node]]
        if v == 0.0 or not math.isfinite(v):
            continue
        if first == 0.0:
            first = v
        elif (v < 0.0) != (previous < 0.0):
            changes += 1
        previous = v
    if changes >= 2:
        return IRR_MULTIPLE
    return IRR_OK if first > 0.0 else IRR_BORROWING


@kernel
def _valuation_kernel(flows, rate, wanted, grid, order, position, nodes_needed, discounts, max_iter, tol):
    """Valuation metrics of each row of ``flows`` (n_paths, n_periods), in one pass per path.

    ``wanted`` (floats, 0 or 1): discounted metrics, cash metrics, IRR,
    MIRR, a unique IRR (rows with several roots or a borrowing root get NaN
    and their note).  Returns NPV, discounted
    payback, payback, peak funding, IRR per period, MIRR per period and the
    ``irr_note`` codes (NaN for the metrics not wanted).
    """
    want_discounted = wanted[0] != 0.0
    want_cash = wanted[1] != 0.0
    want_irr = wanted[2] != 0.0
    want_mirr = wanted[3] != 0.0
    unique_irr = wanted[4] != 0.0
    n_paths, n = flows.shape
    npv_out = np.full(n_paths, np.nan)
    discounted_payback_out = np.full(n_paths, np.nan)
    payback_out = np.full(n_paths, np.nan)
    peak_out = np.full(n_paths, np.nan)
    irr_out = np.full(n_paths, np.nan)
    mirr_out = np.full(n_paths, np.nan)
    note_out = np.full(n_paths, np.nan)
    factors = np.ones(n)
    factors_rate = np.nan
    values = np.empty(discounts.shape[0] * _NODE_BLOCK)
    for i in range(n_paths):
        row = flows[i]
        if (want_discounted or want_mirr) and not rate[i] == factors_rate:  # same rate, same factors
            _discount_factors_into(rate[i], factors)
            factors_rate = rate[i]
        # running sums of the flows, discounted and not: the last negative value of each, its
        # shortfall and the lowest sum; whether there are flows of both signs
        discounted_sum = row[0] * factors[0] if want_discounted else 0.0
        cash_sum = row[0]
        lowest = cash_sum
        any_positive = row[0] > 0.0
        any_negative = row[0] < 0.0
        last_negative_discounted, shortfall_discounted = -1, 0.0
        last_negative, shortfall = -1, 0.0
        if discounted_sum < 0.0:
            last_negative_discounted, shortfall_discounted = 0, -discounted_sum
        if cash_sum < 0.0:
            last_negative, shortfall = 0, -cash_sum
        for t in range(1, n):
            cash = row[t]
            if want_discounted:
                discounted_sum += cash * factors[t]
                if discounted_sum < 0.0:
                    last_negative_discounted, shortfall_discounted = t, -discounted_sum
            cash_sum += cash
            if cash_sum < 0.0:
                last_negative, shortfall = t, -cash_sum
            if not cash_sum >= lowest:  # np.min: a NaN wins
                lowest = cash_sum
            any_positive |= cash > 0.0
            any_negative |= cash < 0.0
        if want_discounted:
            npv_out[i] = discounted_sum
            k = last_negative_discounted
            recovered_in = row[k + 1] * factors[k + 1] if 0 <= k < n - 1 else 0.0
            discounted_payback_out[i] = _payback(k, shortfall_discounted, recovered_in, n)
        if want_cash:
            k = last_negative
            recovered_in = row[k + 1] if 0 <= k < n - 1 else 0.0
            payback_out[i] = _payback(k, shortfall, recovered_in, n)
            peak_out[i] = -lowest if not -lowest <= 0.0 else 0.0
        if want_mirr:
            mirr_out[i] = _mirr_of_row(row, factors, rate[i])
        if want_irr:
            root = _irr_of_row(row, any_positive and any_negative, grid, order, position, nodes_needed,
                               discounts, values, max_iter, tol)
            note = IRR_OK if root == root else IRR_NO_ROOT
            if unique_irr and note == IRR_OK:
                changes, first_negative = _sign_changes(row)
                note = _unique_irr_note(row, changes, first_negative, position, discounts, values)
                if note != IRR_OK:
                    root = np.nan
            irr_out[i] = root
            note_out[i] = note
    return npv_out, discounted_payback_out, payback_out, peak_out, irr_out, mirr_out, note_out


@inner_kernel
def _sign_changes(row):
    """Sign changes of the non-zero flows of a row, and whether the first non-zero one is negative."""
    changes = 0
    previous = 0.0
    first_negative = False
    for t in range(row.shape[0]):
        c = row[t]
        if c == 0.0:
            continue
        if previous == 0.0:
            first_negative = c < 0.0
        elif (c < 0.0) != (previous < 0.0):
            changes += 1
        previous = c
    return changes, first_negative


@inner_kernel
def _mirr_of_row(row, factors, rate):
    """MIRR per period with the finance and the reinvestment rate both ``rate`` (see :func:`mirr`).

    ``factors[t] = (1 + rate)^-t``: (1 + MIRR)^(n-1) = (1 + rate)^(n-1) PV(inflows) / -PV(outflows).
    """
    n = row.shape[0]
    inflows = 0.0
    outflows = 0.0
    for t in range(n):
        c = row[t]
        if c > 0.0:
            inflows += c * factors[t]
        elif c < 0.0:
            outflows += c * factors[t]
    return _mirr_of_sums(inflows, outflows, rate, n)


@inner_kernel
def _mirr_of_sums(inflows, outflows, rate, n):
    """MIRR per period of ``n`` flows from the present values of their inflows and outflows (see :func:`_mirr_of_row`)."""
    if n < 2 or not inflows > 0.0 or not outflows < 0.0:
        return np.nan
    return (1.0 + rate) * (inflows / -outflows) ** (1.0 / (n - 1)) - 1.0


def _valuation(cash_flows, monthly_discount_rate, wanted, *, n_grid=64, max_iter=100, tol=1e-13,
               unique_irr=False):
    """The metrics in ``wanted`` of each row of ``cash_flows`` (..., n_periods) as a dict of arrays.

    Per period rates; the leading shape is that of the flows broadcast
    against the rate (a rate per path with one row of flows values that
    row at each rate).  ``unique_irr``: the IRR only where it is the only
    root and the series invests first (see :func:`irr_with_note`).
    """
    cf = np.asarray(cash_flows, dtype=float)
    if cf.ndim == 0 or cf.shape[-1] == 0:
        raise ValueError(f"cash_flows: shape {cf.shape} is not allowed; must have at least one period")
    rate = np.asarray(monthly_discount_rate, dtype=float)
    if rate.ndim and rate.shape[-1] == 1:
        rate = rate.reshape(rate.shape[:-1])  # (n_paths, 1) -> one rate per row
    leading = np.broadcast_shapes(cf.shape[:-1], rate.shape)
    n_rows = math.prod(leading)
    n_periods = cf.shape[-1]
    flows = rows_of(np.broadcast_to(cf, leading + (n_periods,)).reshape(n_rows, n_periods), n_rows, n_periods)
    rate_rows = per_path(np.broadcast_to(rate, leading), n_rows)
    search = _irr_search(n_periods, n_grid)
    flags = np.array([
        "npv_usd" in wanted or "discounted_payback_months" in wanted,
        "payback_months" in wanted or "peak_funding_usd" in wanted,
        "irr" in wanted or "irr_note" in wanted,
        "mirr" in wanted,
        bool(unique_irr)], dtype=float)
    npv_usd, discounted_payback, payback, peak, irr_per_period, mirr_per_period, note = _valuation_kernel(
        flows, rate_rows, flags,
        search.grid, search.order, search.position, search.nodes_needed, search.discounts,
        int(max_iter), float(tol))
    out = {"npv_usd": npv_usd, "irr": irr_per_period, "payback_months": payback,
           "discounted_payback_months": discounted_payback, "peak_funding_usd": peak,
           "mirr": mirr_per_period, "irr_note": note}
    return {name: out[name].reshape(leading) for name in wanted}


def _one_or_many(values: np.ndarray, single: bool):
    return float(values.reshape(-1)[0]) if single else values


def npv(rate, cash_flows):
    """Net present value, numpy-financial convention (first flow at t = 0).

    Parameters
    ----------
    rate : float or ndarray broadcastable to (n_paths, 1)
        Discount rate per period [fraction].
    cash_flows : ndarray, shape (n_periods,) or (n_paths, n_periods)
        Cash flows [USD], inflows positive.

    Returns
    -------
    float or ndarray shaped (n_paths,)
        NPV [USD].

    Examples
    --------
    >>> round(float(npv(0.05, [-15000, 1500, 2500, 3500, 4500, 6000])), 2)
    122.89
    """
    values = _valuation(cash_flows, rate, ("npv_usd",))["npv_usd"]
    return _one_or_many(values, np.ndim(cash_flows) <= 1 and np.ndim(rate) == 0)


def irr(cash_flows, *, n_grid=64, max_iter=100, tol=1e-13):
    """Internal rate of return per period, computed path by path.

    The root of ``npv(r, cash_flows) = 0``.  Where several roots exist the one
    closest to zero is returned, as numpy-financial does; where none exists
    (e.g. all flows of one sign, or all zero: these rows skip the search) the
    result is NaN.

    Roots are bracketed on a grid of ``n_grid`` rates between -50% and +300%
    per period (in log(1 + r), spaced about 0.3% near zero and wider further
    out): the brackets are examined from the one closest to a zero rate
    outwards (distance ``|r|`` of the bracket's middle, the lower one first on
    a tie) and the first with a sign change is kept; grid values are computed
    only as far as that search goes.  The root is then refined by Newton's
    method on x = log(1 + r) from the secant of the bracket, falling back to
    bisection whenever a step would leave the bracket, until a step is below
    ``tol``.  Without any sign change, a grid rate where the NPV is exactly
    zero is the root.  Two roots closer together than the grid spacing are
    not told apart.

    Parameters
    ----------
    cash_flows : ndarray, shape (n_periods,) or (n_paths, n_periods)
        Cash flows [USD], first at t = 0.
    n_grid : int
        Number of grid rates (>= 2).
    max_iter : int
        Most Newton/bisection steps.
    tol : float
        Step [in log(1 + r)] at which the refinement stops; an NPV within
        ``tol * max|cash_flows|`` of zero also stops it.

    Returns
    -------
    float or ndarray shaped (n_paths,)
        IRR [fraction per period]; NaN where there is no root in range.

    Examples
    --------
    >>> round(float(irr([-70000, 12000, 15000, 18000, 21000, 26000])), 10)
    0.086630948
    """
    values = _valuation(cash_flows, 0.0, ("irr",), n_grid=n_grid, max_iter=max_iter, tol=tol)["irr"]
    return _one_or_many(values, np.ndim(cash_flows) <= 1)


def payback_months(cash_flows):
    """Simple payback: when cumulative cash turns non-negative for good.

    The payback is the first time from which the cumulative net cash flow
    stays at or above zero until the horizon, interpolated linearly inside the
    month in which it crosses (the spreadsheet convention "years before
    recovery + unrecovered / flow of the recovery year", in months).  A
    project whose cumulative cash never goes negative pays back at 0.

    Parameters
    ----------
    cash_flows : ndarray, shape (n_periods,) or (n_paths, n_periods)
        Cash flows [USD], column 0 at t = 0.

    Returns
    -------
    float or ndarray shaped (n_paths,)
        Payback [months]; NaN when cumulative cash is still negative at the
        horizon.
    """
    values = _valuation(cash_flows, 0.0, ("payback_months",))["payback_months"]
    return _one_or_many(values, np.ndim(cash_flows) <= 1)


def discounted_payback_months(rate, cash_flows):
    """Payback of the discounted cash flows (see :func:`payback_months`).

    Parameters
    ----------
    rate : float or ndarray broadcastable to (n_paths, 1)
        Discount rate per month [fraction].
    """
    values = _valuation(cash_flows, rate, ("discounted_payback_months",))["discounted_payback_months"]
    return _one_or_many(values, np.ndim(cash_flows) <= 1 and np.ndim(rate) == 0)


def peak_funding_usd(cash_flows):
    """Largest cumulative cash shortfall, ``max(0, -min(cumsum(cf)))`` [USD]."""
    values = _valuation(cash_flows, 0.0, ("peak_funding_usd",))["peak_funding_usd"]
    return _one_or_many(values, np.ndim(cash_flows) <= 1)


VALUATION_METRIC_NAMES = ("npv_usd", "irr", "payback_months", "discounted_payback_months", "peak_funding_usd")
#: metrics computed only when asked by name: MIRR (finance and reinvestment
#: rate = the discount rate) and the ``irr_note`` codes (:data:`IRR_NOTES`)
OPTIONAL_METRIC_NAMES = ("mirr", "irr_note")


def valuation_metrics(cash_flows, monthly_discount_rate, names=None, *, unique_irr=False
                      ) -> dict[str, np.ndarray]:
    """NPV, IRR, payback, discounted payback and peak funding of each path.

    One compiled pass per path: the running sums of the discounted and
    undiscounted flows give the NPV (the last discounted sum), both paybacks
    and the peak funding; the IRR's root search then reads the same row.
    Each metric equals its stand-alone function.

    Parameters
    ----------
    cash_flows : ndarray (n_paths, n_periods)
        Net cash flows [USD], column 0 at t = 0.
    monthly_discount_rate : float or ndarray broadcastable to (n_paths, 1)
        [fraction per month].
    names : iterable of str, optional
        Only these metrics (of :data:`VALUATION_METRIC_NAMES` and
        :data:`OPTIONAL_METRIC_NAMES`); each is computed exactly as when all
        are asked (a sweep skips the IRR).  Default: the five of
        :data:`VALUATION_METRIC_NAMES`.
    unique_irr : bool
        Report an IRR only where it means something (:func:`irr_with_note`):
        NaN where the series has several roots or borrows first.

    Returns
    -------
    dict of str -> ndarray (n_paths,)
        ``npv_usd`` [USD], ``irr`` [effective annual], ``payback_months``,
        ``discounted_payback_months`` [months], ``peak_funding_usd`` [USD];
        if asked, ``mirr`` [effective annual] and ``irr_note`` [code].
    """
    known = VALUATION_METRIC_NAMES + OPTIONAL_METRIC_NAMES
    wanted = VALUATION_METRIC_NAMES if names is None else tuple(names)
    unknown = set(wanted) - set(known)
    if unknown:
        raise ValueError(f"names: {sorted(unknown)!r} are not allowed; must be among {', '.join(known)}")
    cf = np.asarray(cash_flows, dtype=float)
    out = _valuation(cf if cf.ndim > 1 else cf[None, :], monthly_discount_rate, wanted, unique_irr=unique_irr)
    for name in ("irr", "mirr"):
        if name in out:
            out[name] = annual_rate(out[name])
    return {name: out[name] for name in known if name in wanted}


def irr_with_note(cash_flows, *, n_grid=64):
    """The IRR per period where it is meaningful, and why not where it is not.

    The root of the NPV is reported only when it is the only one on the
    grid of :func:`irr` (rates from -50% to +300% per period) and the series
    invests first (its NPV falls as the rate rises), so that NPV > 0 exactly
    when the IRR is above the discount rate.  Otherwise the IRR is NaN with
    a note: ``"none"`` (no root), ``"multiple"`` (the NPV changes sign more
    than once along the grid, e.g. [-100, 230, -132], roots 10% and 20%) or
    ``"borrowing"`` (one root but the series receives cash first, as a loan:
    its NPV is positive below the root).

    One sign change of the flows proves a single root (Descartes' rule of
    signs); with more, the NPV at every grid rate counts the roots (two roots
    closer than the grid spacing are not told apart).

    Parameters
    ----------
    cash_flows : ndarray, shape (n_periods,) or (n_paths, n_periods)
        Cash flows [USD], first at t = 0.

    Returns
    -------
    irr : float or ndarray (n_paths,)
        IRR [fraction per period] or NaN.
    note : str or None, or list of them
        ``None`` where the IRR is reported, else the reason.

    References
    ----------
    R. A. Brealey, S. C. Myers, F. Allen, *Principles of Corporate Finance*,
    ch. 5 ("Pitfalls of the IRR": lending or borrowing, multiple rates).

    Examples
    --------
    >>> irr_with_note([-100, 230, -132])
    (nan, 'multiple')
    """
    out = _valuation(cash_flows, 0.0, ("irr", "irr_note"), n_grid=n_grid, unique_irr=True)
    single = np.ndim(cash_flows) <= 1
    notes = [IRR_NOTES[float(code)] for code in out["irr_note"].reshape(-1)]
    return _one_or_many(out["irr"], single), notes[0] if single else notes


def mirr(cash_flows, finance_rate, reinvest_rate):
    """Modified internal rate of return per period (Excel's MIRR).

    Outflows are discounted to t = 0 at ``finance_rate``, inflows
    compounded to the last period at ``reinvest_rate``:
    ``(FV(inflows) / -PV(outflows))^(1 / (n - 1)) - 1`` for n periods.  Unlike
    the IRR it always has one value (NaN without flows of both signs).

    Parameters
    ----------
    cash_flows : ndarray, shape (n_periods,) or (n_paths, n_periods)
        Cash flows [USD], first at t = 0.
    finance_rate, reinvest_rate : float
        [fraction per period].

    Returns
    -------
    float or ndarray (n_paths,)
        MIRR [fraction per period].

    References
    ----------
    Microsoft Excel, MIRR function; numpy-financial ``mirr``.

    Examples
    --------
    >>> round(float(mirr([-120000, 39000, 30000, 21000, 37000, 46000], 0.10, 0.12)), 4)
    0.1261
    """
    cf = np.asarray(cash_flows, dtype=float)
    rows = np.atleast_2d(cf)
    n = rows.shape[-1]
    t = np.arange(n)
    pv_out = np.sum(np.where(rows < 0, rows, 0.0) / (1.0 + finance_rate) ** t, axis=-1)
    fv_in = np.sum(np.where(rows > 0, rows, 0.0) * (1.0 + reinvest_rate) ** (n - 1 - t), axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where((pv_out < 0) & (fv_in > 0) & (n > 1), (fv_in / -pv_out) ** (1.0 / max(n - 1, 1)) - 1.0,
                       np.nan)
    return _one_or_many(out, cf.ndim <= 1)


#: the parts of a value bridge, in the order they are shown: operations
#: (the project's own flows), the customer's prepayment as financing, the
#: value of what is still owned at the horizon, and debt (zero without it)
BRIDGE_PARTS = ("operations_usd", "prepayment_financing_usd", "terminal_value_usd", "financing_usd")


def value_bridge(net_usd, parts_usd, monthly_discount_rate) -> dict[str, np.ndarray]:
    """The NPV taken apart: the present value of each part of the net cash flow.

    Parameters
    ----------
    net_usd : ndarray (n_paths, n_periods)
        Net cash flow [USD] whose NPV is taken apart.
    parts_usd : dict of str -> ndarray broadcastable to (n_paths, n_periods)
        Cash flows of the parts other than operations (names of
        :data:`BRIDGE_PARTS`; a part not given is zero) [USD].
    monthly_discount_rate : float or ndarray broadcastable to (n_paths, 1)
        [fraction per month].

    Returns
    -------
    dict of str -> ndarray (n_paths,)
        Every name of :data:`BRIDGE_PARTS` -> present value [USD];
        operations are the net less the other parts, so the values add up
        to the NPV of ``net_usd`` (to rounding: each is discounted on its own).
    """
    unknown = set(parts_usd) - set(BRIDGE_PARTS[1:])
    if unknown:
        raise ValueError(f"parts_usd: {sorted(unknown)!r} are not allowed; must be among "
                         f"{', '.join(BRIDGE_PARTS[1:])}")
    net = np.asarray(net_usd, dtype=float)
    net = net if net.ndim > 1 else net[None, :]
    others = {name: np.broadcast_to(np.asarray(parts_usd.get(name, 0.0), dtype=float), net.shape)
              for name in BRIDGE_PARTS[1:]}
    operations = net - sum(others.values())
    out = {"operations_usd": _valuation(operations, monthly_discount_rate, ("npv_usd",))["npv_usd"]}
    for name, flows in others.items():
        out[name] = (_valuation(flows, monthly_discount_rate, ("npv_usd",))["npv_usd"] if np.any(flows)
                     else np.zeros_like(out["operations_usd"]))
    return {name: out[name] for name in BRIDGE_PARTS}
