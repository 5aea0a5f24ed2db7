"""Accounting: straight-line depreciation, net book value and income tax with loss carry-forward.

Arrays ``(n_paths, n_periods)`` (or a single 1-D series); column 0 is t = 0.
:mod:`pivotsim.models.finance` re-exports these functions.
"""

from __future__ import annotations

import math

import numpy as np

from ..compiled import inner_kernel, kernel, per_path, rows_of


def _as_rows(values):
    """An array (..., n_periods) as C-contiguous float64 rows (n_rows, n_periods), and its shape."""
    arr = np.asarray(values, dtype=float)
    shape = arr.shape if arr.ndim else (1,)
    n_periods = shape[-1]
    n_rows = math.prod(shape[:-1])
    return rows_of(arr.reshape(n_rows, n_periods), n_rows, n_periods), shape


@kernel
def _depreciation_kernel(capex, life_months):
    n_rows, n = capex.shape
    out = np.empty_like(capex)
    spent = np.empty(n)
    for i in range(n_rows):
        total = 0.0
        for t in range(n):
            total = capex[i, 0] if t == 0 else total + capex[i, t]
            spent[t] = total
        for s in range(min(n, 1)):
            out[i, s] = 0.0
        for s in range(1, n):
            still_depreciating = spent[s - 1]
            if s - 1 - life_months >= 0:
                still_depreciating -= spent[s - 1 - life_months]
            out[i, s] = still_depreciating / life_months
    return out


def straight_line_depreciation(capex_usd, life_months):
    """Straight-line depreciation of a capex schedule.

    Capex spent in period s is depreciated in equal parts over periods
    s+1 .. s+life_months: the expense of period s is the capex spent over
    the ``life_months`` periods before it, divided by ``life_months``
    (computed from the running sum of capex, path by path).

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
    life = int(life_months)
    if life < 1:
        raise ValueError(f"life_months: {life_months} is not allowed; must be at least 1")
    rows, shape = _as_rows(capex_usd)
    return _depreciation_kernel(rows, life).reshape(shape)


@kernel
def _book_value_kernel(capex, depreciation):
    n_rows, n = capex.shape
    out = np.empty_like(capex)
    for i in range(n_rows):
        spent = written_off = 0.0
        for t in range(n):
            spent = capex[i, 0] if t == 0 else spent + capex[i, t]
            written_off = depreciation[i, 0] if t == 0 else written_off + depreciation[i, t]
            out[i, t] = spent - written_off
    return out


def book_value(capex_usd, depreciation_usd):
    """Net book value after each period: cumulative capex minus depreciation [USD].

    Parameters
    ----------
    capex_usd, depreciation_usd : ndarray, shapes broadcastable to (..., n_periods)
        Capital spending and depreciation expense [USD], positive.

    Returns
    -------
    ndarray (..., n_periods)
        ``cumsum(capex_usd) - cumsum(depreciation_usd)`` [USD].
    """
    capex = np.asarray(capex_usd, dtype=float)
    depreciation = np.asarray(depreciation_usd, dtype=float)
    shape = np.broadcast_shapes(capex.shape, depreciation.shape)
    capex_rows, _ = _as_rows(np.broadcast_to(capex, shape))
    depreciation_rows, _ = _as_rows(np.broadcast_to(depreciation, shape))
    return _book_value_kernel(capex_rows, depreciation_rows).reshape(shape)


@inner_kernel
def not_below(value, floor):
    """``np.maximum(value, floor)``: NaN in either wins."""
    return value if (value >= floor or value != value) else floor


@kernel
def _tax_kernel(taxable, rate):
    n_rows, n = taxable.shape
    out = np.empty_like(taxable)
    for i in range(n_rows):
        cumulative = 0.0
        taxed = 0.0  # cumulative income taxed so far: running max of the cumulative income, >= 0
        for t in range(n):
            cumulative = taxable[i, 0] if t == 0 else cumulative + taxable[i, t]
            level = not_below(cumulative, 0.0)
            now_taxed = level if t == 0 else not_below(taxed, level)
            out[i, t] = (now_taxed if t == 0 else now_taxed - taxed) * rate[i]
            taxed = now_taxed
    return out


def tax_with_loss_carryforward(taxable_income_usd, tax_rate):
    """Income tax with unlimited loss carry-forward and no carry-back.

    With carried-forward losses the cumulative income taxed up to period t is
    the running maximum of cumulative taxable income (floored at zero): a loss
    lowers the cumulative sum, and later profits are taxed only once the
    cumulative sum climbs above its earlier peak.  The tax of a period is the
    rate times the increase of that running maximum (one pass per path).

    Parameters
    ----------
    taxable_income_usd : ndarray, shape (..., n_periods)
        EBITDA minus depreciation [USD].
    tax_rate : float or ndarray broadcastable to (..., 1)
        Income tax rate [fraction].

    Returns
    -------
    ndarray, same shape (broadcast against ``tax_rate``)
        Tax paid per period [USD], non-negative.
    """
    income = np.asarray(taxable_income_usd, dtype=float)
    rate = np.asarray(tax_rate, dtype=float)
    if rate.ndim and rate.shape[-1] != 1:
        raise ValueError(f"tax_rate: shape {rate.shape} is not allowed; must be a number or (..., 1)")
    shape = np.broadcast_shapes(income.shape, rate.shape)
    rows, shape = _as_rows(np.broadcast_to(income, shape))
    rate_rows = per_path(np.broadcast_to(rate, shape[:-1] + (1,)), rows.shape[0])
    return _tax_kernel(rows, rate_rows).reshape(shape)
