"""Poisson counts by inverse CDF of uniforms, compiled (the jump counts of the Merton price model).

``N = #{k >= 0 : u >= F(k)}`` with F the Poisson CDF: one uniform gives one
count, and the same uniform always gives the same count (common random
numbers across parameter changes that keep the mean).

References
----------
L. Devroye (1986), *Non-Uniform Random Variate Generation*, ch. X.3
(sequential search of the inverse CDF).
"""

from __future__ import annotations

import math

import numpy as np

from ..compiled import inner_kernel, kernel

#: longest Poisson CDF table: F(0) .. F(10000) (then 4 slots of +inf)
_POISSON_TABLE_SIZE = 10_001
_POISSON_TABLE_SLOTS = _POISSON_TABLE_SIZE + 4


@inner_kernel
def _poisson_cdf_fill(mean, table):
    """Poisson(mean) CDF F(0), F(1), ... into ``table`` up to where it stops growing.

    Returns the number of CDF values written (0 when ``mean`` is not > 0:
    every count is then 0); the next 4 slots hold +inf (no count reaches them).
    """
    size = 0
    if mean > 0.0:
        pmf = math.exp(-mean)
        cdf = pmf
        k = 0
        while True:
            table[size] = cdf
            size += 1
            k += 1
            pmf *= mean / k
            new = cdf + pmf
            if new == cdf or new >= 1.0 or k >= _POISSON_TABLE_SIZE:
                break
            cdf = new
    table[size:size + 4] = np.inf
    return size


@inner_kernel
def _poisson_count(u, table, size):
    """``#{k : u >= F(k)}`` for the CDF values ``table[:size]`` (increasing, then +inf)."""
    # The first four comparisons without branches: counts are mostly small.
    count = (u >= table[0]) + (u >= table[1]) + (u >= table[2]) + (u >= table[3])
    while count < size and u >= table[count]:
        count += 1
    return count


@kernel
def _poisson_rows(u, mean, out):
    """Poisson counts of uniforms ``u`` (n, m) with one mean per row (n,) into ``out``."""
    table = np.empty(_POISSON_TABLE_SLOTS)
    size = 0
    for i in range(u.shape[0]):
        if i == 0 or mean[i] != mean[i - 1]:
            size = _poisson_cdf_fill(mean[i], table)
        for j in range(u.shape[1]):
            out[i, j] = _poisson_count(u[i, j], table, size)


def poisson_counts(u: np.ndarray, mean) -> np.ndarray:
    """Poisson(mean) variates by inverse CDF of uniforms ``u`` in [0, 1).

    ``N = #{k >= 0 : u >= F(k)}`` with F the Poisson CDF, so N is exactly
    Poisson distributed (up to the CDF's last representable step, below
    1e-16); the same u always gives the same count (common random numbers
    across parameter changes that keep ``mean``).

    Parameters
    ----------
    u : ndarray
        Uniform [0, 1) draws.
    mean : float or ndarray broadcastable to ``u``
        Expected count per cell [-], >= 0 (a mean <= 0 gives 0).

    Returns
    -------
    ndarray of int64, shape of ``u``
    """
    u = np.asarray(u, dtype=float)
    mean_arr = np.asarray(mean, dtype=float)
    if u.ndim >= 1 and (mean_arr.ndim == 0 or mean_arr.shape[-1] == 1):
        # one mean per row of the last axis: the CDF is built once per row
        rows = np.ascontiguousarray(u.reshape(-1, u.shape[-1]))
        means = np.ascontiguousarray(np.broadcast_to(mean_arr, u.shape[:-1] + (1,)).reshape(-1))
    else:
        # a mean per cell: each cell is a row of its own
        rows = np.ascontiguousarray(u.reshape(-1, 1))
        means = np.ascontiguousarray(np.broadcast_to(mean_arr, u.shape).reshape(-1))
    counts = np.empty(rows.shape, dtype=np.int64)
    _poisson_rows(rows, means, counts)
    return counts.reshape(u.shape)
