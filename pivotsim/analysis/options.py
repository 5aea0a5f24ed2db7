"""Optimal stopping by least-squares Monte Carlo (Longstaff–Schwartz).

A stopping problem on simulated paths, every amount in present value at
t = 0 [USD, or the option's currency]: at decision dates j = 0 .. D-1 a path
that is still alive may stop and collect ``exercise[i]``; a path alive
after date j collects ``running[i, j]`` before date j + 1 (e.g. the mining
cash of the months in between), and a path that never stops collects
``final[i]`` after the last date.  So the value of stopping at j is
``sum(running[i, :j]) + exercise[i]`` and of never stopping
``sum(running[i, :]) + final[i]``.

The policy is fitted backwards on one set of paths (:func:`fit_stopping_policy`):
at each date the value of continuing, realised along each path under the
policy already fitted for later dates, is regressed on basis functions of
the path's state at that date; a path stops where its exercise value beats
the fitted continuation value.  The fitted policy is then applied to an
*independent* set of paths (:func:`apply_stopping_policy`): its mean is a
lower bound of the true value, unbiased for that policy, with the usual
standard error.  In-sample values (the fit set's own) are biased upwards and
only reported for comparison.

Basis functions: every monomial of total degree <= ``order`` in the state
variables, each standardised by the fit set's mean and standard deviation
at that date (``polynomial``), or products of Laguerre polynomials
``L_n(x / mean) exp(-x / (2 mean))`` of positive state variables
(``laguerre``, as Longstaff and Schwartz used for the put).  The normal
equations are formed with BLAS on one thread and solved by least squares
(minimum norm when a state is constant across paths, as at t = 0), so the
numbers do not depend on the machine's thread count.

References
----------
F. A. Longstaff and E. S. Schwartz (2001), "Valuing American options by
simulation: a simple least-squares approach", Review of Financial Studies
14(1), 113-147 (Table 1: the American put).  P. Glasserman (2004), *Monte
Carlo Methods in Financial Engineering*, sec. 8.6 (low-biased estimator on
independent paths).
"""

from __future__ import annotations

import contextlib
import itertools
import math
from dataclasses import dataclass

import numpy as np

from ..compiled import kernel

BASIS_KINDS = ("polynomial", "laguerre")
MAX_BASIS_ORDER = 6

_BLAS = None


def _one_blas_thread():
    """BLAS on one thread while the normal equations are formed: the same sums on any machine."""
    global _BLAS
    try:
        if _BLAS is None:
            from threadpoolctl import ThreadpoolController

            _BLAS = ThreadpoolController()
        return _BLAS.limit(limits=1, user_api="blas")
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        return contextlib.nullcontext()


def check_basis(order: int, kind: str) -> tuple[int, str]:
    """``(order, kind)`` validated: order 1..:data:`MAX_BASIS_ORDER`, kind in :data:`BASIS_KINDS`."""
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or not 1 <= order <= MAX_BASIS_ORDER:
        raise ValueError(f"basis_order: {order!r} is not allowed; must be an integer from 1 to {MAX_BASIS_ORDER}")
    if kind not in BASIS_KINDS:
        raise ValueError(f"basis: {kind!r} is not allowed; must be one of {', '.join(BASIS_KINDS)}")
    return int(order), kind


def monomial_exponents(n_features: int, order: int) -> np.ndarray:
    """Exponents ``(p, n_features)`` of every monomial of total degree <= ``order``, by degree.

    ``p = C(n_features + order, order)``; row 0 is the constant.
    """
    rows = [e for degree in range(order + 1)
            for e in sorted(itertools.product(range(degree + 1), repeat=n_features), reverse=True)
            if sum(e) == degree]
    return np.array(rows, dtype=np.int64).reshape(-1, n_features)


def _as_kernel_array(x) -> np.ndarray:
    """A writable C-contiguous float64 copy-if-needed of ``x`` (the kernel rules)."""
    arr = np.ascontiguousarray(x, dtype=float)
    return arr if arr.flags.writeable else arr.copy()


@kernel
def _standardise(features, j, after, money_only, exercise, polynomial, center, scale):
    """Centre and scale of the states ``features (k, n)`` at date ``j`` over the rows that may stop there.

    A row may stop at j when ``j > after[i]`` and, with ``money_only``, its
    exercise value at j, ``exercise[i]``, is positive.  Polynomial: mean and standard deviation
    (a constant state gets its own value as centre and scale 1, so its
    standardised value is exactly 0); Laguerre: centre 0, scale the mean.
    Sums run over rows in order: the same numbers on any machine.
    """
    k, n = features.shape
    count = 0.0
    first = -1
    for f in range(k):
        center[f] = 0.0
        scale[f] = 0.0
    for i in range(n):
        if j > after[i] and (money_only == 0 or exercise[i] > 0):
            count += 1.0
            if first < 0:
                first = i
            for f in range(k):
                center[f] += features[f, i]
    if count == 0:
        for f in range(k):
            scale[f] = 1.0
        return count
    for f in range(k):
        center[f] /= count
    if polynomial == 0:
        for f in range(k):
            scale[f] = abs(center[f]) if center[f] != 0 else 1.0
            center[f] = 0.0
        return count
    for i in range(n):
        if j > after[i] and (money_only == 0 or exercise[i] > 0):
            for f in range(k):
                dev = features[f, i] - center[f]
                scale[f] += dev * dev
    for f in range(k):
        sd = math.sqrt(scale[f] / count)
        if sd > 1e-12 * max(1.0, abs(center[f])):
            scale[f] = sd
        else:
            center[f] = features[f, first]
            scale[f] = 1.0
    return count


@kernel
def _basis_rows(features, j, after, money_only, exercise, center, scale, exponents, polynomial, basis):
    """Basis functions of each row's states at date ``j`` into ``basis (n, p)``; rows that cannot stop: 0.

    ``exponents (p, k)`` (float64 holding integers); polynomial: products of
    powers of the standardised states; Laguerre: products of
    ``L_m(z) exp(-z/2)`` (1 for degree 0), z = state / scale.
    """
    k, n = features.shape
    p = exponents.shape[0]
    degree = np.empty((p, k), dtype=np.int64)
    order = 0
    for c in range(p):
        for f in range(k):
            degree[c, f] = int(exponents[c, f])
            order = max(order, degree[c, f])
    # polynomial: each monomial is an earlier one (its parent) times one state (graded order)
    parent = np.zeros(p, dtype=np.int64)
    var = np.zeros(p, dtype=np.int64)
    for c in range(1, p):
        f = 0
        while degree[c, f] == 0:
            f += 1
        for q in range(c):
            same = True
            for g in range(k):
                if degree[q, g] != degree[c, g] - (1 if g == f else 0):
                    same = False
            if same:
                parent[c] = q
                var[c] = f
                break
    factors = np.empty((k, order + 1))
    z_row = np.empty(k)
    for i in range(n):
        if not (j > after[i] and (money_only == 0 or exercise[i] > 0)):
            for c in range(p):
                basis[i, c] = 0.0
            continue
        if polynomial == 1:
            for f in range(k):
                z_row[f] = (features[f, i] - center[f]) / scale[f]
            basis[i, 0] = 1.0
            for c in range(1, p):
                basis[i, c] = basis[i, parent[c]] * z_row[var[c]]
            continue
        for f in range(k):
            z = (features[f, i] - center[f]) / scale[f]
            factors[f, 0] = 1.0
            weight = math.exp(-0.5 * z)
            previous, current = 1.0, 1.0 - z
            for m in range(1, order + 1):
                factors[f, m] = current * weight
                previous, current = current, ((2 * m + 1 - z) * current - m * previous) / (m + 1)
        for c in range(p):
            value = factors[0, degree[c, 0]]
            for f in range(1, k):
                value *= factors[f, degree[c, f]]
            basis[i, c] = value


@kernel
def _stop_where_better(basis, coefficients, j, after, money_only, exercise, accrued, value, stop, alive):
    """Rows that may stop at ``j`` and whose exercise value beats the fitted continuation stop there.

    Continuation = ``basis[i] . coefficients`` summed in column order.
    Backward (fitting, ``alive[0] < 0``): the realised value becomes the
    exercise value.  Forward (pricing): only alive rows, whose value becomes
    what they accrued plus the exercise value, and which stop living.
    """
    n, p = basis.shape
    backward = alive[0] < 0
    for i in range(n):
        if not (j > after[i] and (money_only == 0 or exercise[i] > 0)):
            continue
        if not backward and alive[i] == 0:
            continue
        continuation = 0.0
        for c in range(p):
            continuation += basis[i, c] * coefficients[c]
        if exercise[i] > continuation:
            stop[i] = j
            if backward:
                value[i] = exercise[i]
            else:
                value[i] = accrued[i] + exercise[i]
                alive[i] = 0.0


def least_squares(basis: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Coefficients ``(p,)`` minimising ``|basis @ c - target|``, by the normal equations.

    The columns are equilibrated (unit diagonal) before a least-squares solve
    of the ``p x p`` system, so all-zero columns (a constant state) get a
    zero coefficient.
    """
    with _one_blas_thread():
        gram = basis.T @ basis
        rhs = basis.T @ target
    diagonal = np.sqrt(np.diag(gram))
    diagonal[~(diagonal > 0)] = 1.0
    scaled = gram / np.outer(diagonal, diagonal)
    solution = np.linalg.lstsq(scaled, rhs / diagonal, rcond=1e-13)[0]
    return solution / diagonal


@dataclass(frozen=True)
class StoppingPolicy:
    """A fitted exercise rule: stop at date j where ``exercise > basis(state_j) @ coefficients[j]``.

    Attributes
    ----------
    exponents : ndarray (p, k)
        Monomial or Laguerre degrees per state variable.
    kind : str
        ``polynomial`` or ``laguerre``.
    centers, scales : ndarray (D, k)
        Standardisation of the states per date (fit set).
    coefficients : ndarray (D, p)
        Regression coefficients per date; a row of NaN never stops
        (no path could stop there in the fit set).
    """

    exponents: np.ndarray
    kind: str
    centers: np.ndarray
    scales: np.ndarray
    coefficients: np.ndarray

    @property
    def n_dates(self) -> int:
        return self.coefficients.shape[0]

    @property
    def polynomial(self) -> int:
        return int(self.kind == "polynomial")

    def continuation(self, j: int, features: np.ndarray) -> np.ndarray:
        """Fitted value of continuing at date ``j`` for states ``features (n, k)`` (the rule's own sums)."""
        features = np.asarray(features, dtype=float)
        n = len(features)
        features = _as_kernel_array(features.reshape(n, -1).T)
        if np.isnan(self.coefficients[j]).any():
            return np.full(n, np.inf)
        basis = np.empty((n, len(self.exponents)))
        after = np.full(n, -1.0)
        _basis_rows(features, 0, after, 0, np.zeros(n), _as_kernel_array(self.centers[j]),
                    _as_kernel_array(self.scales[j]), _as_kernel_array(self.exponents), self.polynomial, basis)
        return _row_products(basis, self.coefficients[j])


def _row_products(basis: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    """``basis @ coefficients`` row by row, in column order (as :func:`_stop_where_better` sums)."""
    out = np.zeros(len(basis))
    for c in range(basis.shape[1]):
        out += basis[:, c] * coefficients[c]
    return out


def _prepare(exercise, features, running, final, after, date_major: bool):
    """Everything date-major and kernel-ready: exercise ``(D, n)``, running ``(D, n)``, features ``(D, k, n)``."""
    exercise = np.asarray(exercise, dtype=float)
    features = np.asarray(features, dtype=float)
    if not date_major:
        exercise = exercise.T
        features = (features[:, :, None] if features.ndim == 2 else features).transpose(1, 2, 0)
        running = None if running is None else np.asarray(running, dtype=float).T
    elif features.ndim == 2:
        features = features[:, None, :]
    exercise, features = _as_kernel_array(exercise), _as_kernel_array(features)
    n_dates, n = exercise.shape
    if features.shape[0] != n_dates or features.shape[2] != n:
        raise ValueError(f"features: shape {features.shape} does not match exercise {exercise.shape}")
    running = np.zeros((n_dates, n)) if running is None else np.ascontiguousarray(running, dtype=float)
    final = np.zeros(n) if final is None else np.asarray(final, dtype=float)
    after = np.full(n, -1.0) if after is None else _as_kernel_array(after)
    return exercise, features, running, final, after


def fit_stopping_policy(exercise: np.ndarray, features: np.ndarray, *, running: np.ndarray | None = None,
                        final: np.ndarray | None = None, after: np.ndarray | None = None,
                        in_the_money_only: bool = False, order: int = 3, kind: str = "polynomial",
                        date_major: bool = False) -> tuple[StoppingPolicy, np.ndarray, np.ndarray]:
    """Fit a stopping rule backwards on one set of paths (Longstaff–Schwartz).

    Parameters
    ----------
    exercise : ndarray (n, D)
        Value of stopping at each decision date, in PV at t = 0.
    features : ndarray (n, D, k) or (n, D)
        State variables at each date (regressors).
    running : ndarray (n, D), optional
        Value collected after date j and before date j + 1 by a path still alive (PV at t = 0).
    final : ndarray (n,), optional
        Value collected after the last date by a path that never stopped (PV at t = 0).
    after : ndarray (n,), optional
        A path may stop only at dates j > after[i] (default -1: any date);
        e.g. a block converts after the previous block did.
    in_the_money_only : bool
        Stop (and regress) only where the exercise value is positive (the put).
    order : int
        Basis order, 1..:data:`MAX_BASIS_ORDER`.
    kind : str
        ``polynomial`` or ``laguerre``.
    date_major : bool
        The arrays are given date first: exercise and running ``(D, n)``,
        features ``(D, k, n)`` (no transposed copy; faster for many paths).

    Returns
    -------
    policy : StoppingPolicy
    in_sample_values : ndarray (n,)
        Each fit path's value under the fitted rule (biased upwards).
    stop_date : ndarray (n,) of int
        Index of the date each fit path stops at; D if it never stops.
    """
    order, kind = check_basis(order, kind)
    exercise, features, running, final, after = _prepare(exercise, features, running, final, after, date_major)
    n_dates, n = exercise.shape
    k = features.shape[1]
    exponents = monomial_exponents(k, order).astype(float)
    polynomial, money = int(kind == "polynomial"), int(bool(in_the_money_only))
    value = final.astype(float, copy=True)
    stop = np.full(n, float(n_dates))
    centers, scales = np.zeros((n_dates, k)), np.ones((n_dates, k))
    coefficients = np.full((n_dates, len(exponents)), np.nan)
    basis = np.empty((n, len(exponents)))
    backward = np.full(1, -1.0)
    for j in range(n_dates - 1, -1, -1):
        value += running[j]  # the value of continuing at j, realised along each path
        center, scale = np.zeros(k), np.ones(k)
        if _standardise(features[j], j, after, money, exercise[j], polynomial, center, scale) == 0:
            continue
        centers[j], scales[j] = center, scale
        _basis_rows(features[j], j, after, money, exercise[j], center, scale, exponents, polynomial, basis)
        coefficients[j] = least_squares(basis, value)
        _stop_where_better(basis, coefficients[j], j, after, money, exercise[j], value, value, stop, backward)
    policy = StoppingPolicy(exponents=exponents, kind=kind, centers=centers, scales=scales, coefficients=coefficients)
    return policy, value, stop.astype(np.int64)


def apply_stopping_policy(policy: StoppingPolicy, exercise: np.ndarray, features: np.ndarray, *,
                          running: np.ndarray | None = None, final: np.ndarray | None = None,
                          after: np.ndarray | None = None, in_the_money_only: bool = False, never: bool = False,
                          date_major: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Values ``(n,)`` and stop dates ``(n,)`` of paths following a fitted rule, forwards.

    Same arguments as :func:`fit_stopping_policy`, for an independent set of
    paths.  ``never``: do not stop at all (the same sums, so the value of a
    path that never stops is bit for bit the value of never stopping).
    Stop date D means the path never stopped.  Each path's numbers depend on
    its own row only.
    """
    exercise, features, running, final, after = _prepare(exercise, features, running, final, after, date_major)
    n_dates, n = exercise.shape
    money = int(bool(in_the_money_only))
    accrued, value = np.zeros(n), np.zeros(n)
    alive = np.ones(n)
    stop = np.full(n, float(n_dates))
    basis = np.empty((n, len(policy.exponents)))
    for j in range(n_dates):
        if not never and not np.isnan(policy.coefficients[j]).any():
            _basis_rows(features[j], j, after, money, exercise[j], _as_kernel_array(policy.centers[j]),
                        _as_kernel_array(policy.scales[j]), policy.exponents, policy.polynomial, basis)
            _stop_where_better(basis, policy.coefficients[j], j, after, money, exercise[j], accrued, value, stop,
                               alive)
        accrued += running[j]
    living = alive > 0
    value[living] = accrued[living] + final[living]
    return value, stop.astype(np.int64)


def mean_and_se(values: np.ndarray) -> tuple[float, float]:
    """Mean and standard error of the mean, ``std(ddof=1) / sqrt(n)`` (0 for one value)."""
    values = np.asarray(values, dtype=float)
    se = float(values.std(ddof=1) / math.sqrt(values.size)) if values.size > 1 else 0.0
    return float(values.mean()), se


def gbm_paths(rng: np.random.Generator, s0: float, rate: float, volatility: float, times_years: np.ndarray,
              n_paths: int) -> np.ndarray:
    """Risk-neutral GBM at ``times_years`` ``(n_paths, len(times))``: exact log-normal steps."""
    dt = np.diff(np.concatenate([[0.0], times_years]))
    z = rng.standard_normal((n_paths, len(times_years)))
    log_steps = (rate - 0.5 * volatility ** 2) * dt + volatility * np.sqrt(dt) * z
    return s0 * np.exp(np.cumsum(log_steps, axis=1))


def lsm_american_put(s0: float, strike: float, rate: float, volatility: float, maturity_years: float,
                     exercises_per_year: int, paths: int, seed: int, *, basis_order: int = 3,
                     basis: str = "polynomial") -> tuple[float, float]:
    """Price of an American (Bermudan) put by least-squares Monte Carlo.

    GBM paths under the risk-neutral measure; exercise at
    ``maturity_years * exercises_per_year`` equally spaced dates (not at
    t = 0); the continuation value is regressed on the basis functions of
    ``S / K`` over in-the-money paths of a fit set of ``paths`` paths, and
    the rule is priced on an independent set of ``paths`` paths.

    Parameters
    ----------
    s0, strike : float
        Spot and strike [currency].
    rate : float
        Continuously compounded risk-free rate [per year].
    volatility : float
        Black–Scholes volatility [per sqrt(year)].
    maturity_years : float
        [years].
    exercises_per_year : int
        Exercise dates per year (Longstaff–Schwartz Table 1: 50).
    paths : int
        Paths of each set (fit and pricing), >= 2.
    seed : int
        ``SeedSequence(seed).spawn(2)``: fit set, pricing set.
    basis_order : int
        Degree of the polynomial (or Laguerre) basis, 1..6.
    basis : str
        ``polynomial`` or ``laguerre``.

    Returns
    -------
    price : float
        Mean discounted payoff of the fitted rule on the pricing set (a low-biased estimate).
    se : float
        Its standard error.

    Examples
    --------
    >>> price, se = lsm_american_put(36.0, 40.0, 0.06, 0.2, 1.0, 50, 100_000, 1)  # doctest: +SKIP
    >>> round(price, 2)  # Longstaff & Schwartz (2001) Table 1: 4.472
    4.47

    References
    ----------
    Longstaff and Schwartz (2001), Table 1.
    """
    if not paths >= 2:
        raise ValueError(f"paths: {paths!r} is not allowed; must be >= 2")
    n_dates = int(round(maturity_years * exercises_per_year))
    if n_dates < 1:
        raise ValueError(f"exercises_per_year: {exercises_per_year!r} gives no exercise date before maturity")
    times = maturity_years * np.arange(1, n_dates + 1) / n_dates
    discount = np.exp(-rate * times)
    fit_rng, price_rng = (np.random.Generator(np.random.PCG64(s)) for s in np.random.SeedSequence(seed).spawn(2))

    def problem(rng):
        prices = gbm_paths(rng, s0, rate, volatility, times, int(paths))
        payoff = np.maximum(strike - prices, 0.0)
        return payoff * discount, (prices / strike)[:, :, None]

    exercise, features = problem(fit_rng)
    policy, _, _ = fit_stopping_policy(exercise, features, in_the_money_only=True, order=basis_order, kind=basis)
    exercise, features = problem(price_rng)
    values, _ = apply_stopping_policy(policy, exercise, features, in_the_money_only=True)
    return mean_and_se(values)


