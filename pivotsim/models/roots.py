"""IRRs of cash flows known to have one root: Newton's method on log(1 + r), bracketed.

The debt kernel needs, on every path, the borrower's all-in cost (its debt
flows: draws, then service) and often the equity's IRR; both usually change
sign once, so Descartes' rule of signs gives a single root and a Newton
search from a good guess finds it in a few passes instead of the general grid
search of :func:`pivotsim.models.finance.irr` (which the debt kernel runs, in
the same pass, when the flows change sign more than once).
"""

from __future__ import annotations

import math

import numpy as np

from ..compiled import inner_kernel
from . import finance


@inner_kernel
def rate_of_flows(flows, guess):
    """IRR per period of the borrower's debt flows (one sign change): Newton on log(1 + r) from ``guess``."""
    x = math.log1p(guess)
    for _ in range(60):
        f, slope = finance.npv_and_slope(flows, x)
        if slope == 0.0 or not math.isfinite(f):
            return np.nan
        step = f / slope
        x = x - step
        if abs(step) <= 1e-13:
            return math.expm1(x)
    return np.nan


_LOWEST_X, _HIGHEST_X = math.log(0.5), math.log(4.0)  # the IRR grid of finance.irr, in log(1 + r)


@inner_kernel
def single_root(flows, guess):
    """IRR per period of flows with one sign change (Descartes: one root), as :func:`~pivotsim.models.finance.irr`.

    The root is bracketed from ``guess`` outwards within finance's grid
    (-50% to +300% per period; NaN outside), then refined by Newton's method
    on x = log(1 + r), bisecting when a step would leave the bracket, to the
    same tolerance (1e-13).
    """
    scale = 0.0
    for t in range(flows.shape[0]):
        scale = max(scale, abs(flows[t]))
    x = min(max(math.log1p(guess), _LOWEST_X), _HIGHEST_X)
    f, slope = finance.npv_and_slope(flows, x)
    lo = hi = x
    f_lo = f_hi = f
    step = 0.02
    while (f_lo < 0.0) == (f_hi < 0.0):
        if lo <= _LOWEST_X and hi >= _HIGHEST_X:
            return np.nan
        if lo > _LOWEST_X:
            lo = max(lo - step, _LOWEST_X)
            f_lo, _ = finance.npv_and_slope(flows, lo)
        if hi < _HIGHEST_X and (f_lo < 0.0) == (f_hi < 0.0):
            hi = min(hi + step, _HIGHEST_X)
            f_hi, _ = finance.npv_and_slope(flows, hi)
        step *= 2.0
    lo_negative = f_lo < 0.0
    x = lo + (hi - lo) * (f_lo / (f_lo - f_hi))
    for _ in range(100):
        f, slope = finance.npv_and_slope(flows, x)
        if (f < 0.0) == lo_negative:
            lo = x
        else:
            hi = x
        x_new = 0.5 * (lo + hi)
        if slope != 0.0:
            newton = x - f / slope
            if lo < newton < hi and math.isfinite(newton):
                x_new = newton
        if abs(f) <= 1e-13 * scale:
            return math.expm1(x)
        if abs(x_new - x) <= 1e-13 or hi - lo <= 1e-13:
            return math.expm1(x_new)
        x = x_new
    return math.expm1(x)
