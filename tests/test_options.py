"""Least-squares Monte Carlo engine: the published American put table, QuantLib, the basis functions."""

import math

import numpy as np
import pytest
from scipy.special import eval_laguerre

from pivotsim.analysis.options import (_basis_rows, apply_stopping_policy, check_basis, fit_stopping_policy,
                                       monomial_exponents)
from pivotsim.options import lsm_american_put

# Longstaff & Schwartz (2001), Table 1: K = 40, r = 0.06, 50 exercise dates a year, sigma = 0.2, T = 1.
LS_TABLE_1 = [(36.0, 4.472), (38.0, 3.244), (40.0, 2.313), (42.0, 1.617), (44.0, 1.118)]


@pytest.mark.parametrize("spot, published", LS_TABLE_1)
def test_longstaff_schwartz_table_1(spot, published):
    price, se = lsm_american_put(spot, 40.0, 0.06, 0.2, 1.0, 50, 100_000, 2001)
    assert 0 < se < 0.02
    assert abs(price - published) <= 3 * se + 0.01


def _quantlib_american_put(s0, strike, rate, volatility, maturity_years):
    ql = pytest.importorskip("QuantLib")
    today = ql.Date(2, 1, 2025)
    ql.Settings.instance().evaluationDate = today
    day_count = ql.Actual365Fixed()
    maturity = today + int(round(maturity_years * 365))
    option = ql.VanillaOption(ql.PlainVanillaPayoff(ql.Option.Put, strike), ql.AmericanExercise(today, maturity))
    process = ql.BlackScholesProcess(
        ql.QuoteHandle(ql.SimpleQuote(s0)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, rate, day_count)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), volatility, day_count)))
    option.setPricingEngine(ql.FdBlackScholesVanillaEngine(process, 800, 800))
    return option.NPV()


@pytest.mark.parametrize("s0, strike, rate, volatility, maturity", [
    (100.0, 100.0, 0.05, 0.30, 0.5),
    (90.0, 100.0, 0.03, 0.25, 1.0),
    (44.0, 40.0, 0.06, 0.40, 2.0),
])
def test_agrees_with_quantlib_finite_differences(s0, strike, rate, volatility, maturity):
    # QuantLib's FD engine prices the American put (continuous exercise); 100 dates a year
    # approach it from below (a Bermudan, and a low-biased policy on independent paths).
    reference = _quantlib_american_put(s0, strike, rate, volatility, maturity)
    price, se = lsm_american_put(s0, strike, rate, volatility, maturity, 100, 60_000, 17)
    assert abs(price - reference) <= 3 * se + 0.01
    # and the early-exercise premium is really there: above the European price (Black-Scholes)
    d1 = (math.log(s0 / strike) + (rate + volatility ** 2 / 2) * maturity) / (volatility * math.sqrt(maturity))
    d2 = d1 - volatility * math.sqrt(maturity)
    phi = lambda x: 0.5 * (1 + math.erf(x / math.sqrt(2)))  # noqa: E731
    european = strike * math.exp(-rate * maturity) * phi(-d2) - s0 * phi(-d1)
    assert price > european + 3 * se


def test_laguerre_basis_also_reproduces_the_table():
    price, se = lsm_american_put(36.0, 40.0, 0.06, 0.2, 1.0, 50, 50_000, 5, basis="laguerre")
    assert abs(price - 4.472) <= 3 * se + 0.01


def test_same_seed_same_price_and_seeds_differ():
    a = lsm_american_put(40.0, 40.0, 0.06, 0.2, 1.0, 50, 5_000, 3)
    assert a == lsm_american_put(40.0, 40.0, 0.06, 0.2, 1.0, 50, 5_000, 3)
    assert a != lsm_american_put(40.0, 40.0, 0.06, 0.2, 1.0, 50, 5_000, 4)


def test_monomials_count_and_basis_values():
    # C(k + order, order) monomials of total degree <= order
    for k, order in [(1, 3), (2, 3), (3, 6)]:
        assert len(monomial_exponents(k, order)) == math.comb(k + order, order)
    rng = np.random.default_rng(0)
    x = rng.uniform(0.2, 3.0, (500, 2))
    exponents = monomial_exponents(2, 4).astype(float)
    center, scale = np.array([1.0, 0.5]), np.array([0.7, 1.3])
    after, exercise = np.full(500, -1.0), np.ones(500)
    basis = np.empty((500, len(exponents)))
    _basis_rows(np.ascontiguousarray(x.T), 0, after, 0, exercise, center, scale, exponents, 1, basis)
    z = (x - center) / scale
    expected = np.stack([np.prod(z ** e, axis=1) for e in exponents], axis=1)
    np.testing.assert_allclose(basis, expected, rtol=1e-12, atol=1e-12)
    # Laguerre: products of L_m(z) exp(-z/2) (scipy's eval_laguerre), 1 for degree 0
    _basis_rows(np.ascontiguousarray(x.T), 0, after, 0, exercise, np.zeros(2), scale, exponents, 0, basis)
    z = x / scale
    factor = lambda m, v: np.ones_like(v) if m == 0 else eval_laguerre(m, v) * np.exp(-v / 2)  # noqa: E731
    expected = np.stack([factor(int(e[0]), z[:, 0]) * factor(int(e[1]), z[:, 1]) for e in exponents], axis=1)
    np.testing.assert_allclose(basis, expected, rtol=1e-10, atol=1e-12)
    # rows that may not stop get zeros (they add nothing to the normal equations)
    after[:10] = 5.0
    _basis_rows(np.ascontiguousarray(x.T), 0, after, 0, exercise, center, scale, exponents, 1, basis)
    assert not basis[:10].any() and basis[10:, 0].all()


def test_deterministic_problem_is_solved_exactly():
    # One state for all paths: the regression is the realised mean, so LSM is exact backward induction.
    # Rewards of stopping at dates 0..5 and a running income of 1 per period: the best date is the
    # argmax of sum(running[:j]) + exercise[j] (brute force).
    exercise = np.array([3.0, 5.0, 6.5, 6.8, 6.0, 5.0])
    running = np.full(6, 0.2)
    totals = np.concatenate([[0.0], np.cumsum(running)])[:6] + exercise
    n = 50
    features = np.full((n, 6, 1), 2.0)
    policy, fitted, stop = fit_stopping_policy(np.tile(exercise, (n, 1)), features,
                                               running=np.tile(running, (n, 1)), final=np.full(n, 0.0))
    values, stop = apply_stopping_policy(policy, np.tile(exercise, (n, 1)), features,
                                         running=np.tile(running, (n, 1)), final=np.full(n, 0.0))
    never = running.sum()
    best = int(np.argmax(totals))
    assert best == 3 and totals[best] > never  # 6.8 + 3 x 0.2 = 7.4
    assert (stop == best).all() and np.allclose(values, totals[best], rtol=0, atol=1e-12)


def test_bad_basis_is_one_clear_error():
    with pytest.raises(ValueError, match="basis_order: 7 is not allowed"):
        check_basis(7, "polynomial")
    with pytest.raises(ValueError, match="basis: 'hermite' is not allowed"):
        check_basis(3, "hermite")
