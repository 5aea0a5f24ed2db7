"""Brent's bracketed root finder for a scalar function, without importing scipy.optimize.

``pivotsim run`` solves one break-even (the BTC price multiplier at which the
two businesses' NPVs meet) on every run.  ``scipy.optimize`` is where Brent's
method lives, but importing it takes about 0.14 s of CPU (it loads
scipy.linalg, scipy.sparse and scipy.spatial), a tenth of a warm run's
budget, for one call of a few dozen lines.  This module is that method: the
steps of Brent (1973) as ``scipy.optimize.brentq`` takes them (inverse
quadratic or secant steps kept while they shrink fast enough, bisection
otherwise, the same tolerance test), so that it returns the same root;
``tests/test_brent.py`` checks it against scipy's on several functions.  The
``breakeven`` command, which solves many break-evens and is not timed to the
tenth of a second, calls scipy's own.

References
----------
R. P. Brent (1973), *Algorithms for Minimization without Derivatives*,
ch. 4; ``scipy.optimize.brentq`` (the tolerance convention: converged when
half the bracket is below ``(xtol + rtol * |x|) / 2``).
"""

from __future__ import annotations

from typing import Callable

#: scipy.optimize.brentq's default relative tolerance, four machine epsilons
DEFAULT_RTOL = 4.0 * 2.220446049250313e-16


def brent_root(f: Callable[[float], float], a: float, b: float, *, xtol: float = 2e-12,
               rtol: float = DEFAULT_RTOL, maxiter: int = 100) -> float:
    """A root of ``f`` in ``[a, b]``, where ``f(a)`` and ``f(b)`` differ in sign.

    Raises ``ValueError`` when they do not, or when ``maxiter`` steps do not
    converge.
    """
    # `best` is the current estimate, `last` the previous one, `other` the end of the
    # bracket opposite `best` (the root lies between best and other)
    last, best = float(a), float(b)
    f_last, f_best = f(last), f(best)
    if f_last * f_best > 0:
        raise ValueError(f"brent_root: f({a!r}) and f({b!r}) have the same sign; no bracket")
    if f_last == 0:
        return last
    if f_best == 0:
        return best
    other = f_other = 0.0
    step = previous_step = 0.0
    for _ in range(maxiter):
        if f_last * f_best < 0:  # the sign changed: the previous point is the new far end
            other, f_other = last, f_last
            step = previous_step = best - last
        if abs(f_other) < abs(f_best):  # keep the smaller |f| as the estimate
            last, best, other = best, other, best
            f_last, f_best, f_other = f_best, f_other, f_best
        tolerance = (xtol + rtol * abs(best)) / 2
        half = (other - best) / 2
        if f_best == 0 or abs(half) < tolerance:
            return best
        if abs(previous_step) > tolerance and abs(f_best) < abs(f_last):
            if last == other:  # two points: secant
                trial = -f_best * (best - last) / (f_best - f_last)
            else:  # three points: inverse quadratic interpolation
                slope_last = (f_last - f_best) / (last - best)
                slope_other = (f_other - f_best) / (other - best)
                trial = -f_best * (f_other * slope_other - f_last * slope_last) / (
                    slope_other * slope_last * (f_other - f_last))
            if 2 * abs(trial) < min(abs(previous_step), 3 * abs(half) - tolerance):
                previous_step, step = step, trial  # the interpolation shrinks fast enough: take it
            else:
                previous_step = step = half
        else:
            previous_step = step = half
        last, f_last = best, f_best
        best += step if abs(step) > tolerance else (tolerance if half > 0 else -tolerance)  # at least the tolerance
        f_best = f(best)
    raise ValueError(f"brent_root: no convergence in {maxiter} steps (last estimate {best!r})")
