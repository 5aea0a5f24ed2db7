"""Probability distributions of uncertain scenario inputs.

Any number in a scenario may be written as a distribution::

    {dist: <kind>, <parameters>, min: ..., max: ..., value: ..., source: ...}

Kinds and their parameters (units are those of the field):

==========  ======================================  ==============================
kind        parameters                              scipy.stats equivalent
==========  ======================================  ==============================
normal      ``mean``, ``sd``                        ``norm(mean, sd)``
lognormal   ``mu``, ``sigma`` (of the log) or       ``lognorm(s=sigma,
            ``mean``, ``sd`` (of the value)         scale=exp(mu))``
triangular  ``low``, ``mode``, ``high``             ``triang``
uniform     ``low``, ``high``                       ``uniform``
pert        ``low``, ``mode``, ``high``,            ``beta`` scaled to [low, high]
            ``shape`` (default 4)
bernoulli   ``p``                                   ``bernoulli(p)`` (values 0, 1)
discrete    ``values``, ``probs``                   finite distribution
empirical   ``samples`` or ``file`` + ``column``    the observed values, each with
                                                    probability 1/n
==========  ======================================  ==============================

``min`` and ``max`` truncate any kind: draws come from the distribution
conditioned on ``min <= x <= max`` (inverse CDF on the truncated CDF range
``F(min) + u (F(max) - F(min))``; for the finite kinds, the values outside are
dropped and the probabilities renormalised).

The *base value* (used by the base case, a one-path run) is ``value`` when
given, else the distribution's median ``ppf(0.5)`` (for the finite kinds: the
smallest value whose CDF reaches 0.5).

Every draw is ``ppf(u)`` of a point ``u`` of the unit interval, so the same
distributions serve random, Latin-hypercube and Sobol sampling, and a
sensitivity analysis can evaluate the model at given unit-hypercube points
(as SALib does).

Support, CDF and inverse CDF are scipy.stats' formulas (``norm``,
``lognorm``, ``uniform``, ``triang``, ``beta`` with their ``loc`` and
``scale``), written here so that reading a scenario imports neither
scipy.stats nor, until a number is drawn, scipy.special: ``ndtr`` and
``ndtri`` for normal and lognormal, the closed forms of the triangular and
uniform, ``betainc`` for the PERT's CDF.  Building a distribution checks
the probability left between ``min`` and ``max`` with the stdlib's
``math.erfc`` (an error past 1e-12 does not depend on the last bits); the
exact ``F(min)``, ``F(max)`` the draws use are scipy's, computed at the
first draw.  The beta of the PERT has no closed form and
scipy's ``betaincinv`` costs about 2 microseconds a value, so it is
interpolated: on each piece ``[2^-(k+2), 2^-(k+1)]`` of ``u`` (lower half) or
of ``1 - u`` (upper half), k = 0..18, a degree-22 Chebyshev polynomial
through exact values of ``betaincinv`` / ``betainccinv``.  The inverse CDF is
analytic inside (0, 1) with branch points at 0 and 1 only, and each piece
lies at least its own width away from them, so the interpolant converges
geometrically (error below 1e-14 relative, checked against
``scipy.stats.beta.ppf`` in the tests); a piece whose last Chebyshev
coefficients do not show it, and points within 2^-20 of 0 or 1, use
``betaincinv`` itself.

References
----------
PERT: D. Vose, *Risk Analysis: A Quantitative Guide*, 3rd ed., Wiley 2008,
ch. 9 (modified PERT with shape lambda = 4: alpha = 1 + lambda (mode - low) /
(high - low), beta = 1 + lambda (high - mode) / (high - low)).
Lognormal from mean m and sd s: sigma^2 = ln(1 + s^2 / m^2),
mu = ln m - sigma^2 / 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


KINDS = ("normal", "lognormal", "triangular", "uniform", "pert", "bernoulli", "discrete", "empirical")
FINITE_KINDS = ("bernoulli", "discrete", "empirical")

#: parameter names each kind accepts (alternative sets for lognormal and empirical)
PARAMETERS: dict[str, tuple[frozenset[str], ...]] = {
    "normal": (frozenset({"mean", "sd"}),),
    "lognormal": (frozenset({"mu", "sigma"}), frozenset({"mean", "sd"})),
    "triangular": (frozenset({"low", "mode", "high"}),),
    "uniform": (frozenset({"low", "high"}),),
    "pert": (frozenset({"low", "mode", "high"}), frozenset({"low", "mode", "high", "shape"})),
    "bernoulli": (frozenset({"p"}),),
    "discrete": (frozenset({"values", "probs"}),),
    "empirical": (frozenset({"samples"}), frozenset({"file", "column"})),
}
ALL_PARAMETERS = frozenset().union(*(s for sets in PARAMETERS.values() for s in sets))

#: smallest distance of a unit-interval point from 0 and 1, so that unbounded
#: distributions never return infinities for u = 0 (which random and LHS
#: sampling can produce)
UNIT_EPS = 2.0 ** -53


def _fmt(x) -> str:
    if isinstance(x, (list, tuple, np.ndarray)):
        items = [_fmt(v) for v in list(x)[:6]]
        return "[" + ", ".join(items) + (", ..." if len(x) > 6 else "") + "]"
    return f"{x:g}" if isinstance(x, (int, float, np.floating)) else str(x)


def parameter_help(kind: str) -> str:
    """What a kind accepts, e.g. ``'mu, sigma or mean, sd'``."""
    order = ["mean", "sd", "mu", "sigma", "low", "mode", "high", "p", "values", "probs",
             "samples", "file", "column"]
    if kind == "pert":
        return "low, mode, high (optional: shape, default 4)"
    return " or ".join(", ".join(n for n in order if n in s) for s in PARAMETERS[kind])


@dataclass(frozen=True, eq=False)
class Distribution:
    """A one-dimensional distribution with an inverse CDF.

    Build it with :func:`make_distribution`.

    Attributes
    ----------
    kind : str
        One of :data:`KINDS`.
    params : dict
        The parameters as written (for :meth:`describe`).
    lower, upper : float or None
        Truncation bounds (``min``, ``max``); None when absent.
    base : float
        The base value: ``value`` if the scenario gives one, else the median.
    label : str, optional
        Free text replacing the formula in :meth:`describe` (event draws).
    """

    kind: str
    params: dict
    lower: float | None
    upper: float | None
    base: float
    label: str | None = None
    _continuous: "_Continuous | None" = field(default=None, repr=False)
    _values: np.ndarray | None = field(default=None, repr=False)
    _cum_probs: np.ndarray | None = field(default=None, repr=False)

    @property
    def is_finite(self) -> bool:
        """True for kinds with finitely many values (bernoulli, discrete, empirical)."""
        return self._values is not None

    def ppf(self, u) -> np.ndarray:
        """Inverse CDF (of the truncated distribution) at points of (0, 1).

        Parameters
        ----------
        u : array_like
            Points of the unit interval; values are clipped to
            ``[2^-53, 1 - 2^-53]`` so unbounded kinds stay finite.

        Returns
        -------
        ndarray, same shape as ``u``
            Values in the field's unit.
        """
        u = np.clip(np.asarray(u, dtype=float), UNIT_EPS, 1.0 - UNIT_EPS)
        if self._values is not None:
            idx = np.searchsorted(self._cum_probs, u, side="left")
            return self._values[np.minimum(idx, len(self._values) - 1)]
        lo, hi = self._continuous.cdf_range
        x = self._continuous.ppf(lo + u * (hi - lo)) if (lo, hi) != (0.0, 1.0) else self._continuous.ppf(u)
        if self.lower is not None or self.upper is not None:
            x = np.clip(x, -np.inf if self.lower is None else self.lower,
                        np.inf if self.upper is None else self.upper)
        return x

    def median(self) -> float:
        """``ppf(0.5)``: the median (finite kinds: smallest value with CDF >= 0.5)."""
        if self._values is not None:
            return float(self._values[np.searchsorted(self._cum_probs, 0.5, side="left")])
        return float(self.ppf(0.5))

    def support(self) -> tuple[float, float]:
        """Smallest and largest value a draw can take, truncation included."""
        if self._values is not None:
            return float(self._values[0]), float(self._values[-1])
        lo, hi = self._continuous.support()
        if self.lower is not None:
            lo = max(lo, self.lower)
        if self.upper is not None:
            hi = min(hi, self.upper)
        return lo, hi

    def values(self) -> np.ndarray | None:
        """The possible values of a finite kind (sorted), else None."""
        return None if self._values is None else self._values.copy()

    def describe(self) -> str:
        """One line, e.g. ``pert(low=0, mode=2, high=8), base 2.4``."""
        if self.label:
            return self.label
        shown = {k: v for k, v in self.params.items() if k != "samples"}
        if "samples" in self.params:
            shown["n"] = len(self.params["samples"])
        text = f"{self.kind}(" + ", ".join(f"{k}={_fmt(v)}" for k, v in shown.items()) + ")"
        if self.lower is not None or self.upper is not None:
            text += (f" truncated to [{'-inf' if self.lower is None else _fmt(self.lower)}, "
                     f"{'inf' if self.upper is None else _fmt(self.upper)}]")
        return f"{text}, base {self.base:g}"

    def with_base(self, base: float) -> "Distribution":
        """The same distribution with another base value."""
        return Distribution(self.kind, self.params, self.lower, self.upper, float(base), self.label,
                            self._continuous, self._values, self._cum_probs)


def _need(cond: bool, message: str) -> None:
    if not cond:
        raise ValueError(message)


def _finite_table(values, probs, lower, upper, kind):
    values = np.asarray(values, dtype=float)
    probs = np.asarray(probs, dtype=float)
    keep = np.ones(len(values), dtype=bool)
    if lower is not None:
        keep &= values >= lower
    if upper is not None:
        keep &= values <= upper
    _need(keep.any() and probs[keep].sum() > 0,
          f"{kind}: min/max leave no value with positive probability")
    values, probs = values[keep], probs[keep]
    uniq, inverse = np.unique(values, return_inverse=True)
    summed = np.bincount(inverse, weights=probs, minlength=len(uniq))
    keep = summed > 0
    uniq, summed = uniq[keep], summed[keep]
    cum = np.cumsum(summed / summed.sum())
    cum[-1] = 1.0
    return uniq, cum


def _continuous(kind: str, p: dict, lower: float | None, upper: float | None) -> "_Continuous":
    if kind == "normal":
        _need(p["sd"] > 0, f"normal: sd must be > 0, got {p['sd']:g} (use a plain number for a fixed value)")
        return _Continuous(kind, p["mean"], p["sd"], (), lower, upper)
    if kind == "lognormal":
        if "mu" in p:
            _need(p["sigma"] > 0, f"lognormal: sigma must be > 0, got {p['sigma']:g}")
            mu, sigma = p["mu"], p["sigma"]
        else:
            _need(p["mean"] > 0, f"lognormal: mean must be > 0, got {p['mean']:g}")
            _need(p["sd"] > 0, f"lognormal: sd must be > 0, got {p['sd']:g}")
            sigma = math.sqrt(math.log1p((p["sd"] / p["mean"]) ** 2))
            mu = math.log(p["mean"]) - 0.5 * sigma ** 2
        return _Continuous(kind, 0.0, math.exp(mu), (sigma,), lower, upper)
    low, high = p["low"], p["high"]
    _need(low < high, f"{kind}: low must be < high, got low={low:g}, high={high:g}")
    if kind == "uniform":
        return _Continuous(kind, low, high - low, (), lower, upper)
    mode = p["mode"]
    _need(low <= mode <= high, f"{kind}: mode must be within [low, high], got low={low:g}, "
                               f"mode={mode:g}, high={high:g}")
    if kind == "triangular":
        return _Continuous(kind, low, high - low, ((mode - low) / (high - low),), lower, upper)
    shape = p.get("shape", 4.0)
    _need(shape > 0, f"pert: shape must be > 0, got {shape:g}")
    a = 1.0 + shape * (mode - low) / (high - low)
    b = 1.0 + shape * (high - mode) / (high - low)
    return _Continuous(kind, low, high - low, (a, b), lower, upper)


#: support of each kind's standard form (scipy.stats' ``a``, ``b``); the others: [0, 1]
_STANDARD_SUPPORT = {"normal": (-math.inf, math.inf), "lognormal": (0.0, math.inf)}


class _Continuous:
    """A continuous kind in scipy.stats' form ``x = y scale + loc``, y of the standard distribution.

    ``shape``: lognormal ``(s,)``, triangular ``(c,)``, PERT the beta's
    ``(a, b)``.  Support, CDF and inverse CDF give the numbers of the frozen
    ``scipy.stats`` distribution (``norm(loc, scale)``, ``lognorm(s,
    scale=scale)``, ``uniform``, ``triang(c, ...)``, ``beta(a, b, ...)``) to
    the last bit, without importing scipy.stats; scipy.special is imported
    by the first CDF or inverse CDF that needs it.  ``lower``, ``upper``:
    the truncation, whose exact CDF values :attr:`cdf_range` computes once.
    """

    def __init__(self, kind: str, loc: float, scale: float, shape: tuple[float, ...],
                 lower: float | None, upper: float | None):
        self.kind, self.loc, self.scale = kind, float(loc), float(scale)
        self.shape = tuple(float(v) for v in shape)
        self.lower, self.upper = lower, upper
        self._cdf_range = None
        self._beta_pieces = None

    def support(self) -> tuple[float, float]:
        """Smallest and largest value before truncation, as ``frozen.support()``."""
        a, b = _STANDARD_SUPPORT.get(self.kind, (0.0, 1.0))
        return a * self.scale + self.loc, b * self.scale + self.loc

    def cdf(self, x: float, exact: bool = True) -> float:
        """``frozen.cdf(x)``; with ``exact=False`` normal and lognormal use ``math.erfc`` (no scipy)."""
        y = (x - self.loc) / self.scale
        a, b = _STANDARD_SUPPORT.get(self.kind, (0.0, 1.0))
        if y >= b:
            return 1.0
        if not y > a:
            return 0.0
        if self.kind in ("normal", "lognormal"):
            z = y if self.kind == "normal" else np.log(y) / self.shape[0]
            if not exact:
                return 0.5 * math.erfc(-z / math.sqrt(2.0))
            return float(_special().ndtr(z))
        if self.kind == "uniform":
            return float(y)
        if self.kind == "triangular":  # scipy's triang._cdf, the later of its cases winning as there
            c = self.shape[0]
            return y * y if c == 1 else (y * y / c if y < c else (y * y - 2 * y + c) / (c - 1))
        return float(_special().betainc(*self.shape, y))

    def probability_between(self) -> float:
        """``F(max) - F(min)`` to about 1e-15 (stdlib only): what :func:`make_distribution` checks."""
        lo, hi = self._range(exact=False)
        return hi - lo

    @property
    def cdf_range(self) -> tuple[float, float]:
        """``(F(min), F(max))`` of the untruncated distribution, as scipy computes them ((0, 1) without truncation)."""
        if self._cdf_range is None:
            self._cdf_range = self._range(exact=True)
        return self._cdf_range

    def _range(self, exact: bool) -> tuple[float, float]:
        lo_s, hi_s = self.support()
        lo = self.cdf(self.lower, exact) if self.lower is not None and self.lower > lo_s else 0.0
        hi = self.cdf(self.upper, exact) if self.upper is not None and self.upper < hi_s else 1.0
        return lo, hi

    @property
    def beta_pieces(self) -> np.ndarray:
        """Chebyshev pieces of the PERT's beta (:func:`_beta_quantile_pieces`), built at first use (~2 ms)."""
        if self._beta_pieces is None:
            self._beta_pieces = _beta_quantile_pieces(*self.shape)
        return self._beta_pieces

    def ppf(self, q: np.ndarray) -> np.ndarray:
        """``standard_ppf(q) * scale + loc`` at ``q`` in (0, 1), as ``rv_continuous.ppf``."""
        q = np.asarray(q, dtype=float)
        if self.kind == "normal":
            y = _ndtri(q)
        elif self.kind == "lognormal":
            y = np.exp(self.shape[0] * _ndtri(q))
        elif self.kind == "uniform":
            y = q
        elif self.kind == "triangular":
            c = self.shape[0]
            y = np.where(q < c, np.sqrt(c * q), 1 - np.sqrt((1 - c) * (1 - q)))
        else:
            from .beta_quantile import beta_quantile  # numba: imported when a PERT is drawn, not to validate

            y = np.empty(q.shape)
            beta_quantile(np.ascontiguousarray(q).reshape(-1), self.beta_pieces, y.reshape(-1))
            exact = np.isnan(y)
            if exact.any():
                y[exact] = _special().betaincinv(*self.shape, q[exact])
        return y * self.scale + self.loc


def _ndtri(q: np.ndarray) -> np.ndarray:
    """``scipy.special.ndtri``; at 0.5 only (an untruncated median) 0 exactly, without importing scipy."""
    return np.zeros(q.shape) if np.all(q == 0.5) else _special().ndtri(q)


def _special():
    """scipy.special, imported at its first use: reading and validating a scenario needs none of it."""
    from scipy import special

    return special


#: degree of the Chebyshev polynomial on each piece of the beta inverse CDF
BETA_DEGREE = 22
#: pieces per half of the unit interval: [2^-(k+2), 2^-(k+1)], k = 0..BETA_PIECES-1
BETA_PIECES = 19


def _beta_quantile_pieces(alpha: float, beta: float) -> np.ndarray:
    """Chebyshev coefficients of the beta(alpha, beta) inverse CDF, ``(2, BETA_PIECES, BETA_DEGREE + 1)``.

    ``[0, k]``: y as a function of u on ``[2^-(k+2), 2^-(k+1)]``; ``[1, k]``:
    y as a function of ``z = 1 - u`` on the same interval (values from
    ``betainccinv``, exact in z).  The variable of piece k is
    ``s = z 2^(k+3) - 3`` in [-1, 1].  A piece whose last three coefficients
    are not below 1e-14 of its smallest value is NaN (computed exactly).
    """
    special = _special()
    theta = np.pi * np.arange(BETA_DEGREE + 1) / BETA_DEGREE
    s = np.cos(theta)  # Chebyshev points of the second kind, ends included
    chebyshev = np.cos(np.outer(theta, np.arange(BETA_DEGREE + 1)))  # T_k(s_j)
    out = np.empty((2, BETA_PIECES, BETA_DEGREE + 1))
    for k in range(BETA_PIECES):
        z = np.ldexp(s + 3.0, -(k + 3))
        for half, inverse in enumerate((special.betaincinv, special.betainccinv)):
            y = inverse(alpha, beta, z)
            coefficients = np.linalg.solve(chebyshev, y)
            converged = np.all(np.isfinite(coefficients)) and \
                np.max(np.abs(coefficients[-3:])) <= 1e-14 * np.min(np.abs(y))
            out[half, k] = coefficients if converged else np.nan
    return out


def _numbers(name: str, raw, kind: str) -> list[float]:
    _need(isinstance(raw, (list, tuple)) and len(raw) > 0,
          f"{kind}: {name} must be a non-empty list of numbers")
    out = []
    for x in raw:
        _need(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x),
              f"{kind}: {name} must hold finite numbers, got {x!r}")
        out.append(float(x))
    return out


def make_distribution(kind: str, params: dict, lower: float | None = None, upper: float | None = None,
                      base: float | None = None, label: str | None = None) -> Distribution:
    """Build and check a distribution.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    params : dict
        Parameters of the kind (see the module docstring); numbers already
        parsed, ``samples`` already read when the scenario names a file.
    lower, upper : float, optional
        Truncation (``min``, ``max``).
    base : float, optional
        The base value; default: the median.
    label : str, optional
        Text for :meth:`Distribution.describe`.

    Returns
    -------
    Distribution

    Raises
    ------
    ValueError
        One line naming the kind, the bad parameter and what is allowed.
    """
    _need(kind in KINDS, f"dist {kind!r} is not allowed; must be one of {', '.join(KINDS)}")
    given = frozenset(params)
    if given not in PARAMETERS[kind]:
        unknown = sorted(given - frozenset().union(*PARAMETERS[kind]))
        missing = sorted(min(PARAMETERS[kind], key=lambda s: len(s - given)) - given)
        what = (f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not a parameter of {kind}"
                if unknown else f"missing {', '.join(missing)}")
        raise ValueError(f"{what}; {kind} takes {parameter_help(kind)}")
    if lower is not None and upper is not None:
        _need(lower < upper, f"{kind}: min must be < max, got min={lower:g}, max={upper:g}")
    if kind in FINITE_KINDS:
        if kind == "bernoulli":
            _need(0.0 <= params["p"] <= 1.0, f"bernoulli: p must be within [0, 1], got {params['p']:g}")
            values, probs = [0.0, 1.0], [1.0 - params["p"], params["p"]]
        elif kind == "discrete":
            values = _numbers("values", params["values"], kind)
            probs = _numbers("probs", params["probs"], kind)
            _need(len(values) == len(probs), f"discrete: values ({len(values)}) and probs ({len(probs)}) "
                                             "must have the same length")
            _need(min(probs) >= 0, f"discrete: probs must be >= 0, got {min(probs):g}")
            _need(abs(sum(probs) - 1.0) <= 1e-6, f"discrete: probs add up to {sum(probs):g}; they must add up to 1")
        else:
            values = _numbers("samples", params["samples"], kind)
            probs = [1.0 / len(values)] * len(values)
        table, cum = _finite_table(values, probs, lower, upper, kind)
        dist = Distribution(kind, dict(params), lower, upper, 0.0, label, None, table, cum)
    else:
        continuous = _continuous(kind, params, lower, upper)
        mass = continuous.probability_between()
        _need(mass > 1e-12, f"{kind}: min/max leave (almost) no probability "
                            f"(P(min <= x <= max) = {max(mass, 0.0):.2g})")
        dist = Distribution(kind, dict(params), lower, upper, 0.0, label, continuous)
    if base is None:
        base = dist.median()
    else:
        lo_v, hi_v = dist.support()
        _need(lo_v <= base <= hi_v, f"value {base:g} is outside the distribution's range "
                                    f"[{lo_v:g}, {hi_v:g}]")
    return dist.with_base(base)


def unit_uniform(label: str) -> Distribution:
    """U(0, 1) with base 0.5: the draw behind a random event (default, renewal)."""
    return make_distribution("uniform", {"low": 0.0, "high": 1.0}, label=label)
