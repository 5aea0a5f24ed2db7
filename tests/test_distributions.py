"""Distributions of uncertain inputs against closed forms; sampling; Iman–Conover.

Every expected number is a closed form (stated in a comment); sample checks
use 3 standard errors with fixed seeds.
"""

import math
import subprocess
import sys
from statistics import NormalDist

import numpy as np
import pytest
import scipy
from scipy import stats
from scipy.stats import qmc, spearmanr

from pivotsim.scenario.distributions import make_distribution
from pivotsim.uncertainty import iman_conover, latin_hypercube, unit_sample

N = 200_000
Z = NormalDist()


def draws(dist, n=N, seed=0):
    return dist.ppf(np.random.default_rng(seed).random(n))


def assert_mean(x, expected, sd):
    se = sd / math.sqrt(len(x))
    assert abs(x.mean() - expected) < 3 * se, (x.mean(), expected, se)


def assert_quantiles(x, quantile_fn, qs=(0.05, 0.25, 0.5, 0.75, 0.95)):
    # P(X <= x_q) = q; the sample share has s.e. sqrt(q (1 - q) / n)
    for q in qs:
        share = np.mean(x <= quantile_fn(q))
        assert abs(share - q) < 3 * math.sqrt(q * (1 - q) / len(x)), (q, share)


def test_normal():
    d = make_distribution("normal", {"mean": 0.1, "sd": 0.2})
    x = draws(d)
    assert_mean(x, 0.1, 0.2)
    assert_quantiles(x, lambda q: 0.1 + 0.2 * Z.inv_cdf(q))
    assert d.base == pytest.approx(0.1)  # median of a normal = mean


def test_lognormal_both_parametrisations():
    # (mu, sigma): mean exp(mu + s^2/2), sd mean * sqrt(exp(s^2) - 1), quantile exp(mu + s z_q)
    mu, s = math.log(0.035), 0.25
    d = make_distribution("lognormal", {"mu": mu, "sigma": s})
    x = draws(d)
    mean = math.exp(mu + s * s / 2)
    assert_mean(x, mean, mean * math.sqrt(math.exp(s * s) - 1))
    assert_quantiles(x, lambda q: math.exp(mu + s * Z.inv_cdf(q)))
    assert d.base == pytest.approx(0.035)  # median exp(mu)
    # (mean, sd) of the value itself: sigma^2 = ln(1 + sd^2/mean^2)
    d2 = make_distribution("lognormal", {"mean": 0.035, "sd": 0.008})
    x2 = draws(d2, seed=1)
    assert_mean(x2, 0.035, 0.008)
    s2 = math.sqrt(math.log(1 + (0.008 / 0.035) ** 2))
    assert d2.base == pytest.approx(0.035 * math.exp(-s2 * s2 / 2))  # median = mean exp(-s^2/2)


def test_triangular():
    a, c, b = 0.0, 2.0, 8.0
    d = make_distribution("triangular", {"low": a, "mode": c, "high": b})
    x = draws(d)
    # mean (a+b+c)/3, variance (a²+b²+c²-ab-ac-bc)/18
    var = (a * a + b * b + c * c - a * b - a * c - b * c) / 18
    assert_mean(x, (a + b + c) / 3, math.sqrt(var))
    fc = (c - a) / (b - a)

    def quantile(q):  # inverse of the triangular CDF
        return a + math.sqrt(q * (b - a) * (c - a)) if q < fc else b - math.sqrt((1 - q) * (b - a) * (b - c))

    assert_quantiles(x, quantile)
    assert d.base == pytest.approx(quantile(0.5))


def test_uniform():
    d = make_distribution("uniform", {"low": 0.95, "high": 1.5})
    x = draws(d)
    assert_mean(x, (0.95 + 1.5) / 2, 0.55 / math.sqrt(12))
    assert_quantiles(x, lambda q: 0.95 + q * 0.55)
    assert x.min() >= 0.95 and x.max() <= 1.5


@pytest.mark.parametrize("shape", [4.0, 2.0])
def test_pert_mean_and_variance(shape):
    a, m, b = 0.05, 0.15, 0.35
    d = make_distribution("pert", {"low": a, "mode": m, "high": b, "shape": shape})
    x = draws(d)
    # Vose (2008): mean (a + lambda m + b) / (lambda + 2), variance (mean-a)(b-mean)/(lambda+3)
    mean = (a + shape * m + b) / (shape + 2)
    var = (mean - a) * (b - mean) / (shape + 3)
    assert_mean(x, mean, math.sqrt(var))
    # the sample variance: s.e. of s^2 is about sqrt((m4 - var^2)/n) < var * sqrt(2/n) * 1.5
    assert abs(x.var() - var) < 3 * var * math.sqrt(2 / len(x)) * 1.5
    assert x.min() >= a and x.max() <= b


def test_bernoulli_discrete_empirical():
    d = make_distribution("bernoulli", {"p": 0.3})
    x = draws(d)
    assert set(np.unique(x)) == {0.0, 1.0}
    assert_mean(x, 0.3, math.sqrt(0.3 * 0.7))
    assert d.base == 0.0  # smallest value with CDF >= 0.5 (CDF(0) = 0.7)
    values, probs = [0.0, 3.0, 6.0, 12.0], [0.5, 0.25, 0.15, 0.1]
    d = make_distribution("discrete", {"values": values, "probs": probs})
    x = draws(d)
    mean = sum(v * p for v, p in zip(values, probs))
    sd = math.sqrt(sum(p * (v - mean) ** 2 for v, p in zip(values, probs)))
    assert_mean(x, mean, sd)
    for v, p in zip(values, probs):
        assert abs(np.mean(x == v) - p) < 3 * math.sqrt(p * (1 - p) / len(x))
    assert d.base == 0.0  # CDF(0) = 0.5 reaches one half
    samples = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]
    d = make_distribution("empirical", {"samples": samples})
    x = draws(d)
    assert set(np.unique(x)) <= set(samples)
    assert_mean(x, np.mean(samples), np.std(samples))
    assert abs(np.mean(x == 1.0) - 2 / 8) < 3 * math.sqrt(2 / 8 * 6 / 8 / len(x))
    assert d.base == 3.0  # sorted 1,1,2,3,4,...: the 4th of 8 values has CDF 0.5


def test_truncation_respected_with_closed_form_mean():
    d = make_distribution("normal", {"mean": 0.0, "sd": 1.0}, lower=-0.5, upper=1.5)
    x = draws(d)
    assert x.min() >= -0.5 and x.max() <= 1.5
    # truncated normal mean: (phi(alpha) - phi(beta)) / (Phi(beta) - Phi(alpha))
    mass = Z.cdf(1.5) - Z.cdf(-0.5)
    mean = (Z.pdf(-0.5) - Z.pdf(1.5)) / mass
    assert_mean(x, mean, 1.0)
    assert d.support() == (-0.5, 1.5)
    # conditional CDF at 0: (Phi(0) - Phi(-0.5)) / mass
    assert abs(np.mean(x <= 0) - (0.5 - Z.cdf(-0.5)) / mass) < 3 * math.sqrt(0.25 / len(x))
    # unbounded lognormal cut from above
    d = make_distribution("lognormal", {"mu": 0.0, "sigma": 1.0}, upper=2.0)
    assert draws(d).max() <= 2.0 and d.support() == (0.0, 2.0)
    # finite kinds: values outside are dropped, probabilities renormalised (0.2/0.5, 0.3/0.5)
    d = make_distribution("discrete", {"values": [1, 2, 3, 4], "probs": [0.1, 0.2, 0.3, 0.4]},
                          lower=2, upper=3)
    x = draws(d)
    assert set(np.unique(x)) == {2.0, 3.0}
    assert abs(np.mean(x == 2.0) - 0.4) < 3 * math.sqrt(0.24 / len(x))


def test_extreme_unit_points_stay_finite():
    d = make_distribution("normal", {"mean": 0.0, "sd": 1.0})
    x = d.ppf(np.array([0.0, 1.0 - 1e-17, 1.0]))
    assert np.all(np.isfinite(x))


@pytest.mark.parametrize("kind,params,lower,upper,fragment", [
    ("normal", {"mean": 0.1, "sd": -0.2}, None, None, "sd must be > 0"),
    ("normal", {"mean": 0.1}, None, None, "missing sd"),
    ("normal", {"mean": 0.1, "sd": 0.1, "low": 0}, None, None, "low is not a parameter of normal"),
    ("triangular", {"low": 0, "mode": 9, "high": 8}, None, None, "mode must be within [low, high]"),
    ("uniform", {"low": 2, "high": 1}, None, None, "low must be < high"),
    ("discrete", {"values": [1, 2], "probs": [0.5, 0.6]}, None, None, "add up to 1.1"),
    ("bernoulli", {"p": 1.5}, None, None, "p must be within [0, 1]"),
    ("uniform", {"low": 0, "high": 1}, 2.0, 3.0, "no probability"),
    ("normal", {"mean": 0, "sd": 1}, 1.0, 0.0, "min must be < max"),
])
def test_bad_parameters(kind, params, lower, upper, fragment):
    with pytest.raises(ValueError, match=None) as exc:
        make_distribution(kind, params, lower, upper)
    assert fragment in str(exc.value) and "\n" not in str(exc.value)


# ----------------------------------------------------------------- sampling


def test_lhs_one_point_per_stratum():
    n, d = 1000, 5
    u = unit_sample("lhs", n, d, np.random.default_rng(4))
    for j in range(d):
        assert np.array_equal(np.sort(np.floor(u[:, j] * n)), np.arange(n))


def test_sobol_balance():
    m = 10
    n = 2 ** m
    u = unit_sample("sobol", n, 3, np.random.default_rng(5))
    # every 1-D projection of 2^m scrambled Sobol' points has one point in each [k/n, (k+1)/n)
    for j in range(3):
        assert np.array_equal(np.sort(np.floor(u[:, j] * n)), np.arange(n))
    # the first two dimensions form a (0, m, 2)-net: each box 2^-a x 2^-(m-a) holds exactly one point
    for a in range(m + 1):
        cells = np.floor(u[:, 0] * 2 ** a) * 2 ** (m - a) + np.floor(u[:, 1] * 2 ** (m - a))
        assert np.array_equal(np.sort(cells), np.arange(n))
    # non-powers of two: the first n of the 2^m points
    assert unit_sample("sobol", 2000, 2, np.random.default_rng(5)).shape == (2000, 2)


def test_iman_conover_hits_target_and_keeps_marginals():
    n = 10_000
    rng = np.random.default_rng(6)
    x = np.column_stack([
        make_distribution("normal", {"mean": 0.1, "sd": 0.2}).ppf(rng.random(n)),
        make_distribution("lognormal", {"mean": 0.035, "sd": 0.008}).ppf(rng.random(n)),
        make_distribution("uniform", {"low": 0, "high": 8}).ppf(rng.random(n)),
    ])
    target = np.array([[1.0, 0.3, -0.5], [0.3, 1.0, 0.2], [-0.5, 0.2, 1.0]])
    y = iman_conover(x, target, rng)
    assert np.array_equal(np.sort(y, axis=0), np.sort(x, axis=0))  # marginals unchanged, bit for bit
    achieved = spearmanr(y).statistic
    assert np.max(np.abs(achieved - target)) < 0.02, achieved
    # before: independent columns
    assert np.max(np.abs(spearmanr(x).statistic - np.eye(3))) < 0.04


# ----------------------------------------------------------------- inverse CDFs against scipy.stats

# Points of the unit interval: random ones, and both tails down to the clip at 2^-53.
UNIT_GRID = np.concatenate([
    np.random.default_rng(11).random(20_000),
    np.logspace(-16, math.log10(0.5), 400), 1.0 - np.logspace(-16, math.log10(0.5), 400),
    [2.0 ** -53, 2.0 ** -20, 2.0 ** -19, 0.25, 0.5, 0.75, 1 - 2.0 ** -20, 1 - 2.0 ** -53],
])


def pert_reference(low, mode, high, shape=4.0):
    # Vose (2008): beta(1 + shape (mode - low) / (high - low), 1 + shape (high - mode) / (high - low)) on [low, high]
    a = 1 + shape * (mode - low) / (high - low)
    b = 1 + shape * (high - mode) / (high - low)
    return stats.beta(a, b, loc=low, scale=high - low)


def lognormal_reference(mean, sd):
    sigma = math.sqrt(math.log1p((sd / mean) ** 2))
    return stats.lognorm(s=sigma, scale=math.exp(math.log(mean) - 0.5 * sigma ** 2))


CONTINUOUS_CASES = [
    # (kind, params, min, max, the scipy.stats distribution whose ppf the draws used before)
    ("normal", {"mean": 0.1, "sd": 0.2}, None, None, stats.norm(0.1, 0.2)),
    ("normal", {"mean": 0.0, "sd": 1.0}, -1.0, 2.5, stats.norm(0.0, 1.0)),
    ("lognormal", {"mean": 0.036, "sd": 0.007}, 0.015, 0.08, lognormal_reference(0.036, 0.007)),
    ("lognormal", {"mu": -3.0, "sigma": 0.5}, None, None, stats.lognorm(s=0.5, scale=math.exp(-3.0))),
    ("triangular", {"low": 0, "mode": 1, "high": 9}, None, None, stats.triang(c=1 / 9, loc=0, scale=9)),
    ("triangular", {"low": 2, "mode": 2, "high": 5}, None, None, stats.triang(c=0.0, loc=2, scale=3)),
    ("triangular", {"low": -1, "mode": 3, "high": 3}, 0.0, None, stats.triang(c=1.0, loc=-1, scale=4)),
    ("uniform", {"low": 0.5, "high": 8}, None, 6.0, stats.uniform(0.5, 7.5)),
]
PERT_CASES = [  # (low, mode, high, shape, min, max)
    (0.95, 1.05, 1.5, 4.0, None, None),  # the IREN capex overrun
    (0.03, 0.15, 0.35, 4.0, None, None),  # the IREN GPU residual share
    (0.0, 0.0, 1.0, 4.0, None, None),  # mode at low: beta(1, 5), values down to 0 (relative error of tiny x)
    (0.0, 10.0, 10.0, 4.0, None, None),  # mode at high: beta(5, 1)
    (0.0, 2.0, 8.0, 0.5, None, None),  # flat: beta(1.125, 1.375)
    (0.0, 2.0, 8.0, 40.0, None, None),  # peaked: beta(11, 31)
    (-5.0, 1.0, 5.0, 4.0, -2.0, 3.0),  # truncated, and x crosses zero
]


def truncated_reference(frozen, lower, upper, u):
    # as the module docstring defines truncation: ppf(F(min) + u (F(max) - F(min))), clipped to [min, max]
    lo = frozen.cdf(lower) if lower is not None else 0.0
    hi = frozen.cdf(upper) if upper is not None else 1.0
    u = np.clip(u, 2.0 ** -53, 1 - 2.0 ** -53)
    x = frozen.ppf(lo + u * (hi - lo)) if (lo, hi) != (0.0, 1.0) else frozen.ppf(u)
    return np.clip(x, -np.inf if lower is None else lower, np.inf if upper is None else upper)


@pytest.mark.parametrize("kind, params, lower, upper, frozen", CONTINUOUS_CASES)
def test_closed_form_inverse_cdfs_are_scipys_formulas(kind, params, lower, upper, frozen):
    # ndtri / exp(sigma ndtri) / the triangular and uniform closed forms, times scale plus loc,
    # are what scipy.stats' ppf computes: the same numbers to the last bit.
    d = make_distribution(kind, params, lower, upper)
    assert np.array_equal(d.ppf(UNIT_GRID), truncated_reference(frozen, lower, upper, UNIT_GRID))


SCIPY_CASES = CONTINUOUS_CASES + [
    ("pert", {"low": low, "mode": mode, "high": high} | ({} if shape == 4.0 else {"shape": shape}), lower, upper,
     pert_reference(low, mode, high, shape)) for low, mode, high, shape, lower, upper in PERT_CASES]


@pytest.mark.parametrize("kind, params, lower, upper, frozen", SCIPY_CASES)
def test_support_cdf_and_median_are_scipys(kind, params, lower, upper, frozen):
    # Support, CDF and median are written without scipy.stats (so that reading a scenario does not import
    # it): the frozen scipy.stats distribution's numbers to the last bit, inside and outside the support.
    d = make_distribution(kind, params, lower, upper)
    continuous = d._continuous
    assert continuous.support() == tuple(float(v) for v in frozen.support())
    lo_s, hi_s = frozen.support()
    xs = np.concatenate([frozen.ppf(np.linspace(0.0005, 0.9995, 401)), frozen.ppf([1e-12, 1 - 1e-12]),
                         [lo_s - 1.0, lo_s, hi_s, hi_s + 1.0]])
    for x in xs[np.isfinite(xs)]:
        assert continuous.cdf(float(x)) == float(frozen.cdf(x)), x
    expected = (float(frozen.cdf(lower)) if lower is not None and lower > lo_s else 0.0,
                float(frozen.cdf(upper)) if upper is not None and upper < hi_s else 1.0)
    assert continuous.cdf_range == expected
    # the stdlib's erfc gives the mass between min and max that make_distribution checks to ~1e-16
    assert continuous.probability_between() == pytest.approx(expected[1] - expected[0], rel=0, abs=1e-15)
    median = float(truncated_reference(frozen, lower, upper, np.array([0.5]))[0])
    # the PERT's inverse CDF is interpolated (see test_pert_inverse_cdf_matches_scipy_beta_ppf)
    assert d.median() == d.base == (pytest.approx(median, rel=1e-12) if kind == "pert" else median)


def test_reading_distributions_imports_no_scipy():
    # Every kind, truncated normal and lognormal included, is built and given its base value (a median
    # where no value is written) without scipy; its first draw imports scipy.special, never scipy.stats.
    code = """
import sys
from pivotsim.scenario.distributions import make_distribution
made = [make_distribution("normal", {"mean": 1.0, "sd": 0.5}, 0.0, 3.0, 1.0),
        make_distribution("normal", {"mean": 1.0, "sd": 0.5}),
        make_distribution("lognormal", {"mean": 0.036, "sd": 0.007}, 0.015, 0.08, 0.035),
        make_distribution("lognormal", {"mu": -3.0, "sigma": 0.5}),
        make_distribution("triangular", {"low": 0, "mode": 1, "high": 9}, None, 8.0),
        make_distribution("uniform", {"low": 0.5, "high": 8}, 1.0),
        make_distribution("pert", {"low": 0.95, "mode": 1.05, "high": 1.5}, base=1.0),
        make_distribution("discrete", {"values": [1, 2], "probs": [0.5, 0.5]})]
assert [d.base for d in made[:4]] == [1.0, 1.0, 0.035, 0.049787068367863944], [d.base for d in made]
before = sorted(m for m in sys.modules if m.startswith("scipy"))
made[0].ppf([0.25])
print(before, "scipy.special" in sys.modules, "scipy.stats" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["[]", "True", "False"]


@pytest.mark.parametrize("low, mode, high, shape, lower, upper", PERT_CASES)
def test_pert_inverse_cdf_matches_scipy_beta_ppf(low, mode, high, shape, lower, upper):
    # Interpolated beta inverse CDF against scipy.stats.beta.ppf (boost's ibeta_inv) on the grid,
    # both tails included: relative error <= 1e-12 (measured: a few 1e-15).  Where x = y scale + low
    # crosses zero, one ulp of y or of low is a larger share of x: a few ulps of |low| are allowed.
    params = {"low": low, "mode": mode, "high": high} | ({} if shape == 4.0 else {"shape": shape})
    d = make_distribution("pert", params, lower, upper)
    expected = truncated_reference(pert_reference(low, mode, high, shape), lower, upper, UNIT_GRID)
    np.testing.assert_allclose(d.ppf(UNIT_GRID), expected, rtol=1e-12, atol=8 * np.finfo(float).eps * abs(low))
    # one value at a time gives the same bits as a whole array (chunk invariance of the draws)
    some = UNIT_GRID[::997]
    assert np.array_equal(np.concatenate([d.ppf(some[i:i + 1]) for i in range(some.size)]), d.ppf(some))


def test_pert_pieces_that_do_not_converge_are_computed_exactly():
    # A piece marked NaN (its Chebyshev coefficients did not decay) falls back to betaincinv itself,
    # which is scipy.stats.beta.ppf to the last bit.
    d = make_distribution("pert", {"low": 0.0, "mode": 0.3, "high": 1.0})
    quantile = d._continuous
    quantile._beta_pieces = np.full_like(quantile.beta_pieces, np.nan)
    assert np.array_equal(d.ppf(UNIT_GRID), stats.beta(2.2, 3.8).ppf(np.clip(UNIT_GRID, 2.0 ** -53, 1 - 2.0 ** -53)))


# ----------------------------------------------------------------- sampling streams


@pytest.mark.skipif(tuple(int(v) for v in scipy.__version__.split(".")[:2]) < (1, 15),
                    reason="scipy < 1.15 drew LHS from the generator itself (no child generator)")
def test_latin_hypercube_is_scipys_stream():
    # pivotsim's LHS writes out scipy's LatinHypercube (scramble=True, strength 1): same points,
    # and the parent generator left in the same state.
    ours, theirs = np.random.default_rng(12), np.random.default_rng(12)
    for n, d in ((2000, 4), (7, 1), (1, 3)):
        assert np.array_equal(latin_hypercube(n, d, ours), qmc.LatinHypercube(d, rng=theirs).random(n))
    assert np.array_equal(ours.random(5), theirs.random(5))


def test_iman_conover_same_numbers_as_the_double_argsort():
    # The former formulation (ranks = argsort(argsort(t)), scores from scipy.stats.norm.ppf), written
    # out here with the same generator: one argsort and a scatter give the same sample to the bit.
    n = 2000
    target = np.array([[1.0, 0.5, 0.1], [0.5, 1.0, -0.3], [0.1, -0.3, 1.0]])
    x = np.random.default_rng(13).lognormal(size=(n, 3))
    got = iman_conover(x, target, np.random.default_rng(14))
    rng = np.random.default_rng(14)
    scores = stats.norm.ppf(np.arange(1, n + 1) / (n + 1))
    s = np.column_stack([rng.permutation(scores) for _ in range(3)])
    f = np.linalg.cholesky(np.corrcoef(s, rowvar=False))
    normal = 2.0 * np.sin(np.pi * target / 6.0)  # Pearson (1907), as the module states
    np.fill_diagonal(normal, 1.0)
    p = np.linalg.cholesky(normal)
    t = s @ np.linalg.inv(f).T @ p.T
    ranks = np.argsort(np.argsort(t, axis=0, kind="stable"), axis=0, kind="stable")
    assert np.array_equal(got, np.take_along_axis(np.sort(x, axis=0), ranks, axis=0))
