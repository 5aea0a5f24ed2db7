"""Discounting and valuation: NPV, IRR, payback, funding need, depreciation, tax.

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

import numpy as np

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


def discount_factors(rate, n_periods):
    """Discount factors ``1 / (1 + rate) ** t`` for t = 0 .. n_periods-1.

    Parameters
    ----------
    rate : float or ndarray shaped (n_paths, 1)
        Rate per period [fraction].
    n_periods : int
        Number of periods including t = 0.
    """
    t = np.arange(n_periods, dtype=float)
    return np.power(1.0 + np.asarray(rate, dtype=float), -t)


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
    cf = np.asarray(cash_flows, dtype=float)
    return np.sum(cf * discount_factors(rate, cf.shape[-1]), axis=-1)


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


_GRID_CACHE: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}


def _grid_discounts(n_periods: int, n_nodes: int):
    key = (n_periods, n_nodes)
    if key not in _GRID_CACHE:
        grid = _irr_grid(n_nodes)
        t = np.arange(n_periods, dtype=float)
        _GRID_CACHE[key] = grid, np.exp(-np.outer(t, grid))
    return _GRID_CACHE[key]


def _horner(cf_by_period: np.ndarray, v: np.ndarray):
    """``P(v) = sum_t cf_t v^t`` and ``P'(v)`` for each column of ``cf_by_period`` (n_periods, k)."""
    p = cf_by_period[-1].copy()
    dp = np.zeros_like(p)
    for t in range(cf_by_period.shape[0] - 2, -1, -1):
        dp *= v
        dp += p
        p *= v
        p += cf_by_period[t]
    return p, dp


def irr(cash_flows, *, n_grid=64, max_iter=100, tol=1e-13):
    """Internal rate of return per period, vectorised over paths.

    The root of ``npv(r, cash_flows) = 0``.  Where several roots exist the one
    closest to zero is returned, as numpy-financial does; where none exists
    (e.g. all flows of one sign) the result is NaN.

    Roots are bracketed on a grid of ``n_grid`` rates between -50% and +300%
    per period (in log(1 + r), spaced about 0.3% near zero and wider further
    out), then refined in the bracket closest to zero by Newton's method on
    x = log(1 + r) from the bracket's middle, falling back to bisection
    whenever a step would leave the bracket.  Each path stops as soon as its
    own step is below ``tol``, so its result does not depend on which other
    paths are computed with it.  Two roots closer together than the grid
    spacing are not told apart.

    Parameters
    ----------
    cash_flows : ndarray, shape (n_periods,) or (n_paths, n_periods)
        Cash flows [USD], first at t = 0.

    Returns
    -------
    float or ndarray shaped (n_paths,)
        IRR [fraction per period]; NaN where there is no root in range.

    Examples
    --------
    >>> round(float(irr([-70000, 12000, 15000, 18000, 21000, 26000])), 10)
    0.086630948
    """
    cf = np.atleast_2d(np.asarray(cash_flows, dtype=float))
    result = _irr_by_period(np.ascontiguousarray(cf.T), n_grid=n_grid, max_iter=max_iter, tol=tol)
    return result if np.ndim(cash_flows) > 1 else float(result[0])


def _irr_by_period(by_period: np.ndarray, *, n_grid=64, max_iter=100, tol=1e-13) -> np.ndarray:
    """:func:`irr` of each column of ``by_period`` (n_periods, n_paths), C-contiguous."""
    n_periods, n = by_period.shape
    grid, discounts = _grid_discounts(n_periods, n_grid)
    scale = np.max(np.abs(by_period), axis=0)
    # Bracketing only reads signs, so the grid goes through BLAS.
    values = discounts.T @ by_period  # (n_grid, n)
    negative = np.signbit(values)
    sign_change = negative[:-1] != negative[1:]
    # numpy-financial picks the root closest to zero: take that bracket.
    distance = np.abs(np.expm1(0.5 * (grid[:-1] + grid[1:])))
    distance = np.where(sign_change, distance[:, None], np.inf)
    best = np.argmin(distance, axis=0)
    cols = np.arange(n)
    has_root = np.isfinite(distance[best, cols]) & (scale > 0)
    result = np.full(n, np.nan)
    active = np.flatnonzero(has_root)
    if active.size:
        index = active
        lo = grid[best[index]]
        hi = grid[best[index] + 1]
        lo_negative = negative[best[index], index]
        # start from the secant of the bracket's grid values (regula falsi): a
        # few Newton steps from there instead of a dozen from the middle
        f_lo = values[best[index], index]
        f_hi = values[best[index] + 1, index]
        with np.errstate(divide="ignore", invalid="ignore"):
            x = lo + (hi - lo) * (f_lo / (f_lo - f_hi))
        x = np.where((x > lo) & (x < hi), x, 0.5 * (lo + hi))
        flows = by_period[:, index] if index.size < n else by_period
        flow_scale = scale[index]
        live = np.ones(index.size, dtype=bool)
        for _ in range(max_iter):
            v = np.exp(-x)
            f, dfdv = _horner(flows, v)
            slope = -dfdv * v  # df/dx
            # keep the bracket around the root
            same_as_lo = np.signbit(f) == lo_negative
            lo = np.where(same_as_lo, x, lo)
            hi = np.where(same_as_lo, hi, x)
            with np.errstate(divide="ignore", invalid="ignore"):
                newton = x - f / slope
            inside = (newton > lo) & (newton < hi) & np.isfinite(newton)
            x_new = np.where(inside, newton, 0.5 * (lo + hi))
            exact = np.abs(f) <= tol * flow_scale
            done = live & (exact | (np.abs(x_new - x) <= tol) | (hi - lo <= tol))
            result[index[done]] = np.expm1(np.where(exact, x, x_new)[done])
            live &= ~done
            x = x_new
            if not live.any():
                break
            if live.sum() < 0.5 * live.size:
                # drop finished paths once most are done (values of the others unchanged)
                flows, index, lo, hi, lo_negative, x, flow_scale = (
                    flows[:, live], index[live], lo[live], hi[live], lo_negative[live], x[live], flow_scale[live])
                live = live[live]
        if live.any():
            result[index[live]] = np.expm1(x[live])
    # A flow that is exactly zero at a grid rate is a root too.
    exact_zero = values == 0.0
    exact_cols = exact_zero.any(axis=0) & ~has_root
    if exact_cols.any():
        idx = np.argmax(exact_zero, axis=0)
        result = np.where(exact_cols, np.expm1(grid[idx]), result)
    return result


def payback_months(cash_flows, cumulative=None):
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
    cumulative : ndarray, same shape, optional
        ``cumsum(cash_flows)`` when already computed.

    Returns
    -------
    float or ndarray shaped (n_paths,)
        Payback [months]; NaN when cumulative cash is still negative at the
        horizon.
    """
    cf = np.atleast_2d(np.asarray(cash_flows, dtype=float))
    cumulative = np.cumsum(cf, axis=1) if cumulative is None else np.atleast_2d(cumulative)
    negative = cumulative < 0
    n = cf.shape[1]
    # Index of the last negative cumulative value (-1 if none).
    last_negative = n - 1 - np.argmax(negative[:, ::-1], axis=1)
    last_negative = np.where(negative.any(axis=1), last_negative, -1)
    never = last_negative == n - 1
    rows = np.arange(len(cf))
    k = np.clip(last_negative, 0, n - 2)
    shortfall = -cumulative[rows, k]
    recovered_in = cf[rows, k + 1]
    fraction = np.where(recovered_in > 0, shortfall / np.where(recovered_in > 0, recovered_in, 1.0), 1.0)
    months = np.where(last_negative < 0, 0.0, k + fraction)
    months = np.where(never, np.nan, months)
    return months if np.ndim(cash_flows) > 1 else float(months[0])


def discounted_payback_months(rate, cash_flows):
    """Payback of the discounted cash flows (see :func:`payback_months`).

    Parameters
    ----------
    rate : float or ndarray broadcastable to (n_paths, 1)
        Discount rate per month [fraction].
    """
    cf = np.asarray(cash_flows, dtype=float)
    return payback_months(cf * discount_factors(rate, cf.shape[-1]))


def peak_funding_usd(cash_flows):
    """Largest cumulative cash shortfall, ``max(0, -min(cumsum(cf)))`` [USD]."""
    cf = np.asarray(cash_flows, dtype=float)
    return np.maximum(0.0, -np.min(np.cumsum(cf, axis=-1), axis=-1))


def straight_line_depreciation(capex_usd, life_months):
    """Straight-line depreciation of a capex schedule.

    Capex spent in period s is depreciated in equal parts over periods
    s+1 .. s+life_months.

    Parameters
    ----------
    capex_usd : ndarray, shape (..., n_periods)
        Capital spending [USD], as a positive amount.
    life_months : int
        Useful life [months], >= 1.

    Returns
    -------
    ndarray, same shape
        Depreciation expense per period [USD], positive.
    """
    capex = np.asarray(capex_usd, dtype=float)
    life = int(life_months)
    spent = np.cumsum(capex, axis=-1)
    # dep[s] = (spent[s-1] - spent[s-1-life]) / life, the second term only once s-1 >= life
    dep = np.empty_like(spent)
    dep[..., :1] = 0.0
    dep[..., 1:] = spent[..., :-1]
    if life < capex.shape[-1] - 1:
        dep[..., life + 1:] -= spent[..., :-life - 1]
    dep[..., 1:] /= life
    return dep


def book_value(capex_usd, depreciation_usd):
    """Net book value after each period: cumulative capex minus depreciation [USD]."""
    return np.cumsum(capex_usd, axis=-1) - np.cumsum(depreciation_usd, axis=-1)


def tax_with_loss_carryforward(taxable_income_usd, tax_rate):
    """Income tax with unlimited loss carry-forward and no carry-back.

    With carried-forward losses the cumulative income taxed up to period t is
    the running maximum of cumulative taxable income (floored at zero): a loss
    lowers the cumulative sum, and later profits are taxed only once the
    cumulative sum climbs above its earlier peak.  This gives the tax of every
    period without a loop.

    Parameters
    ----------
    taxable_income_usd : ndarray, shape (..., n_periods)
        EBITDA minus depreciation [USD].
    tax_rate : float or ndarray broadcastable to (..., 1)
        Income tax rate [fraction].

    Returns
    -------
    ndarray, same shape
        Tax paid per period [USD], non-negative.
    """
    taxed = np.cumsum(np.asarray(taxable_income_usd, dtype=float), axis=-1)
    np.maximum(taxed, 0.0, out=taxed)
    np.maximum.accumulate(taxed, axis=-1, out=taxed)
    tax = np.empty_like(taxed)
    tax[..., :1] = taxed[..., :1]
    np.subtract(taxed[..., 1:], taxed[..., :-1], out=tax[..., 1:])
    tax *= tax_rate
    return tax


def _running_sum_by_period(by_period: np.ndarray) -> np.ndarray:
    """``np.cumsum(by_period, axis=0)`` of a C-contiguous ``(n_periods, n_paths)`` array.

    The same additions in the same order, done one contiguous row at a time:
    numpy's accumulate along axis 0 walks each column with a stride and is
    several times slower on this layout.
    """
    out = np.empty_like(by_period)
    if by_period.shape[0]:
        out[0] = by_period[0]
    for t in range(1, by_period.shape[0]):
        np.add(out[t - 1], by_period[t], out=out[t])
    return out


def _payback_by_period(flows: np.ndarray, cumulative: np.ndarray) -> np.ndarray:
    """:func:`payback_months` of each column of ``(n_periods, n_paths)`` flows."""
    n = flows.shape[0]
    # index of the last negative cumulative value (-1 if none), one row at a time
    last_negative = np.full(flows.shape[1], -1, dtype=np.int64)
    for t in range(n):
        np.copyto(last_negative, t, where=cumulative[t] < 0)
    cols = np.arange(flows.shape[1])
    k = np.clip(last_negative, 0, n - 2)
    shortfall = -cumulative[k, cols]
    recovered_in = flows[k + 1, cols]
    positive = recovered_in > 0
    fraction = np.where(positive, shortfall / np.where(positive, recovered_in, 1.0), 1.0)
    months = np.where(last_negative < 0, 0.0, k + fraction)
    return np.where(last_negative == n - 1, np.nan, months)


VALUATION_METRIC_NAMES = ("npv_usd", "irr", "payback_months", "discounted_payback_months", "peak_funding_usd")


def valuation_metrics(cash_flows, monthly_discount_rate, names=None) -> dict[str, np.ndarray]:
    """NPV, IRR, payback, discounted payback and peak funding of each path.

    The flows are turned once into a months-by-paths layout, where running
    sums, reductions over months and the IRR's polynomial evaluations are
    contiguous; one pass of running sums serves several metrics (the NPV is
    the last value of the discounted running sum, the discounted payback
    reads the same sum, the payback and peak funding the undiscounted one).
    Each metric equals its stand-alone function (:func:`npv` up to rounding).

    Parameters
    ----------
    cash_flows : ndarray (n_paths, n_periods)
        Net cash flows [USD], column 0 at t = 0.
    monthly_discount_rate : float or ndarray broadcastable to (n_paths, 1)
        [fraction per month].
    names : iterable of str, optional
        Only these metrics (of :data:`VALUATION_METRIC_NAMES`); each is
        computed exactly as when all are asked (a sweep skips the IRR).

    Returns
    -------
    dict of str -> ndarray (n_paths,)
        ``npv_usd`` [USD], ``irr`` [effective annual], ``payback_months``,
        ``discounted_payback_months`` [months], ``peak_funding_usd`` [USD].
    """
    wanted = VALUATION_METRIC_NAMES if names is None else tuple(names)
    unknown = set(wanted) - set(VALUATION_METRIC_NAMES)
    if unknown:
        raise ValueError(f"names: {sorted(unknown)!r} are not allowed; must be among "
                         f"{', '.join(VALUATION_METRIC_NAMES)}")
    cf = np.atleast_2d(np.asarray(cash_flows, dtype=float))
    by_period = np.ascontiguousarray(cf.T)
    out = {}
    if "npv_usd" in wanted or "discounted_payback_months" in wanted:
        rate = np.asarray(monthly_discount_rate, dtype=float)
        t = np.arange(by_period.shape[0], dtype=float)[:, None]
        factors = np.power(1.0 + (rate if rate.ndim == 0 else rate.reshape(1, -1)), -t)
        discounted = by_period * factors
        discounted_cumulative = _running_sum_by_period(discounted)
        out["npv_usd"] = discounted_cumulative[-1].copy()
        if "discounted_payback_months" in wanted:
            out["discounted_payback_months"] = _payback_by_period(discounted, discounted_cumulative)
    if "irr" in wanted:
        out["irr"] = annual_rate(_irr_by_period(by_period))
    if "payback_months" in wanted or "peak_funding_usd" in wanted:
        cumulative = _running_sum_by_period(by_period)
        out["payback_months"] = _payback_by_period(by_period, cumulative)
        out["peak_funding_usd"] = np.maximum(0.0, -np.min(cumulative, axis=0))
    return {name: out[name] for name in VALUATION_METRIC_NAMES if name in wanted}
