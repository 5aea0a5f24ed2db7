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


def _npv_at_log_rates(cf, log_growth):
    """NPV of every row of ``cf`` at each rate ``exp(log_growth) - 1`` -> (n_paths, n_rates)."""
    t = np.arange(cf.shape[-1], dtype=float)
    return cf @ np.exp(-np.outer(t, log_growth))


def irr(cash_flows, *, n_grid=400, max_iter=60, tol=1e-12):
    """Internal rate of return per period, vectorised over paths.

    The root of ``npv(r, cash_flows) = 0``.  Where several roots exist the one
    closest to zero is returned, as numpy-financial does; where none exists
    (e.g. all flows of one sign) the result is NaN.

    Roots are bracketed on a grid of ``n_grid`` rates between -50% and +300%
    per period, then refined in each bracket by the Illinois (modified
    regula falsi) method, which keeps the bracket and converges superlinearly.

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
    # Scale each path so the tolerance is relative to the size of its flows.
    scale = np.max(np.abs(cf), axis=1, keepdims=True)
    scale[scale == 0] = 1.0
    cf = cf / scale
    grid = np.linspace(np.log(0.5), np.log(4.0), n_grid)  # log(1 + r)
    values = _npv_at_log_rates(cf, grid)
    sign_change = np.signbit(values[:, :-1]) != np.signbit(values[:, 1:])
    exact = values == 0.0
    # Choose the bracket whose rates are closest to zero (numpy-financial picks
    # the root closest to zero).
    distance = np.abs(np.expm1(0.5 * (grid[:-1] + grid[1:])))
    distance = np.where(sign_change, distance[None, :], np.inf)
    best = np.argmin(distance, axis=1)
    has_root = np.isfinite(distance[np.arange(len(cf)), best])
    lo = grid[best].copy()
    hi = grid[best + 1].copy()
    f_lo = values[np.arange(len(cf)), best].copy()
    f_hi = values[np.arange(len(cf)), best + 1].copy()
    t = np.arange(cf.shape[-1], dtype=float)
    x = lo.copy()
    side = np.zeros(len(cf))
    for _ in range(max_iter):
        denom = f_hi - f_lo
        safe = np.where(denom == 0, 1.0, denom)
        x = np.where(denom == 0, 0.5 * (lo + hi), (lo * f_hi - hi * f_lo) / safe)
        x = np.clip(x, grid[0], grid[-1])
        f_x = np.sum(cf * np.exp(-np.outer(x, t)), axis=1)
        same_as_lo = np.signbit(f_x) == np.signbit(f_lo)
        # Illinois: halve the retained end's value when the same end is kept twice.
        lo, f_lo, hi, f_hi = (
            np.where(same_as_lo, x, lo),
            np.where(same_as_lo, f_x, np.where(side == -1, 0.5 * f_lo, f_lo)),
            np.where(same_as_lo, hi, x),
            np.where(same_as_lo, np.where(side == 1, 0.5 * f_hi, f_hi), f_x),
        )
        side = np.where(same_as_lo, 1, -1)
        if np.all((np.abs(f_x) < tol) | (np.abs(hi - lo) < tol) | ~has_root):
            break
    result = np.where(has_root, np.expm1(x), np.nan)
    # A flow that is exactly zero at a grid rate is a root too.
    exact_rows = exact.any(axis=1) & ~has_root
    if exact_rows.any():
        idx = np.argmax(exact, axis=1)
        result = np.where(exact_rows, np.expm1(grid[idx]), result)
    return result if np.ndim(cash_flows) > 1 else float(result[0])


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
    cf = np.atleast_2d(np.asarray(cash_flows, dtype=float))
    cumulative = np.cumsum(cf, axis=1)
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
    written_off = np.zeros_like(spent)
    if life < capex.shape[-1]:
        written_off[..., life:] = spent[..., :-life]
    depreciable = spent - written_off
    dep = np.zeros_like(capex)
    dep[..., 1:] = depreciable[..., :-1] / life
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
    cumulative = np.cumsum(np.asarray(taxable_income_usd, dtype=float), axis=-1)
    taxed = np.maximum.accumulate(np.maximum(cumulative, 0.0), axis=-1)
    increments = np.diff(taxed, axis=-1, prepend=0.0)
    return np.asarray(tax_rate) * increments
