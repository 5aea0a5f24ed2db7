"""Compiled finance kernels against numpy-financial, the definitions and the numpy formulas they replaced.

Every reference below is independent of the kernels: numpy-financial
(``npf.irr``: roots of the polynomial by eigenvalues, the real positive one
closest to a zero rate; ``npf.npv``), the documented IRR definition solved with
``scipy.optimize.brentq``, a plain Python loop for the tax, and the short numpy
formulas of the previous (array) implementation.
"""

import math

import numpy as np
import numpy_financial as npf
import pytest
from scipy.optimize import brentq

from pivotsim.models import finance

RNG_SEED = 20250417


def random_flows(rng, n_rows, n_periods):
    """Cash-flow rows of every sign pattern the engine produces, and the degenerate ones.

    Mining-like (capex at 0 and at a refresh, noisy monthly margin that may
    turn negative), hosting-like (construction, rent, a liability at the end),
    pure noise (many sign changes), one sign only (no root), all zero, and
    leading zeros.
    """
    kinds = rng.integers(0, 6, n_rows)
    t = np.arange(n_periods)
    flows = np.empty((n_rows, n_periods))
    for i, kind in enumerate(kinds):
        if kind == 0:  # mining: capex, margin ~ N(mu, sigma), a fleet refresh
            row = rng.normal(rng.uniform(-2e6, 2e7), 5e6, n_periods)
            row[0] = -rng.uniform(2e8, 1e9)
            row[n_periods // 2] -= rng.uniform(0, 5e8)
        elif kind == 1:  # hosting: construction months, then rent, a liability at the horizon
            build = rng.integers(1, max(2, n_periods // 4))
            row = np.where(t < build, -rng.uniform(1e7, 5e7), rng.uniform(5e6, 2e7))
            row[0] = -rng.uniform(1e8, 5e8)
            row[-1] -= rng.uniform(0, 3e8)
        elif kind == 2:  # noise: several sign changes
            row = rng.normal(0, 1, n_periods)
        elif kind == 3:  # one sign: no root
            row = rng.uniform(0, 1, n_periods) * rng.choice([-1.0, 1.0])
        elif kind == 4:
            row = np.zeros(n_periods)
        else:  # an investment after some empty months
            row = np.zeros(n_periods)
            start = rng.integers(1, max(2, n_periods // 3))
            row[start] = -100.0
            row[start + 1:] = rng.uniform(0, 30, n_periods - start - 1)
        flows[i] = row
    return flows


def reference_irr(row, n_grid=64):
    """The documented IRR: the grid bracket with a sign change closest to a zero rate, solved by brentq."""
    grid = finance._irr_grid(n_grid)
    t = np.arange(row.size)

    def npv_at(x):  # npv at r = e^x - 1, in x = log(1 + r)
        return float(np.dot(row, np.exp(-t * x)))

    if not np.any(row):
        return math.nan
    negative = np.signbit([npv_at(x) for x in grid])
    changes = np.flatnonzero(negative[:-1] != negative[1:])
    if changes.size == 0:
        return math.nan
    distance = np.abs(np.expm1(0.5 * (grid[changes] + grid[changes + 1])))
    b = changes[np.argmin(distance)]
    return math.expm1(brentq(npv_at, grid[b], grid[b + 1], xtol=1e-16, rtol=1e-15, maxiter=500))


def test_irr_of_long_random_rows_follows_its_definition():
    # 121 months like the engine's; the kernel's bracket search and Newton steps against brentq
    # on the same grid.  Tolerance: 1e-10 relative, or 1e-15 per period absolute for rates near
    # zero (the root in log(1 + r) is only known to ~1e-16 there).
    rng = np.random.default_rng(RNG_SEED)
    flows = random_flows(rng, 300, 121)
    ours = finance.irr(flows)
    expected = np.array([reference_irr(row) for row in flows])
    assert np.array_equal(np.isnan(ours), np.isnan(expected))
    assert np.isfinite(expected).sum() > 100  # most rows have a root: the comparison is not vacuous
    np.testing.assert_allclose(ours, expected, rtol=1e-10, atol=1e-15)


def numpy_financial_comparable(row):
    """npf.irr(row) when it is the documented root, else None.

    npf keeps the real positive roots of the polynomial in v = 1/(1 + r)
    closest to a zero rate; we compare where its answer lies in the grid's
    range (-50% .. +300% per period), is the closest of all roots within
    round-off of the real axis, and no other root is so close that the grid
    could tell them apart differently (0.02 in log(1 + r)).
    """
    expected = npf.irr(row)
    roots = np.roots(row[::-1])
    real = roots[(np.abs(roots.imag) <= 1e-9 * np.abs(roots)) & (roots.real > 0)].real
    if np.isnan(expected):
        return expected if real.size == 0 else None
    x = np.sort(-np.log(real))
    rates = np.expm1(x)
    if not (-0.45 < expected < 2.9) or abs(np.min(np.abs(rates)) - abs(expected)) > 1e-9:
        return None
    others = x[np.abs(np.expm1(x) - expected) > 1e-9]
    x_expected = math.log1p(expected)
    if np.any(np.abs(others - x_expected) < 0.02) or np.any(np.abs(np.abs(np.expm1(others)) - abs(expected)) < 0.02):
        return None
    return expected


def test_irr_of_random_rows_matches_numpy_financial():
    rng = np.random.default_rng(RNG_SEED + 1)
    flows = random_flows(rng, 400, 13)
    ours = finance.irr(flows)
    compared = 0
    for row, r in zip(flows, ours):
        expected = numpy_financial_comparable(row)
        if expected is None:
            continue
        compared += 1
        if np.isnan(expected):
            assert np.isnan(r), row
        else:
            assert r == pytest.approx(expected, rel=1e-9, abs=1e-12), row
    assert compared >= 300


def test_irr_of_all_zero_flows_is_nan_like_numpy_financial():
    # every rate is a root of all-zero flows: no IRR (npf.irr gives NaN; the array version gave -50%)
    assert np.isnan(npf.irr([0.0, 0.0, 0.0]))
    assert math.isnan(finance.irr([0.0, 0.0, 0.0]))
    assert np.isnan(finance.valuation_metrics(np.zeros((2, 5)), 0.01)["irr"]).all()


def test_irr_exact_zero_at_a_grid_rate_without_sign_change():
    # [1, -0.5]: npv = 1 - 0.5 (1 + r)^-1 = 0 at r = -50% (npf.irr: -0.5), which is the lowest grid
    # rate itself: with two grid rates (-50% and +300%, npv 0 and 0.875) there is no sign change and
    # the exact zero is the root.
    assert npf.irr([1.0, -0.5]) == pytest.approx(-0.5)
    assert finance.irr([1.0, -0.5], n_grid=2) == -0.5
    assert finance.irr([1.0, -0.5]) == pytest.approx(-0.5, abs=1e-12)


def test_npv_of_random_rows_matches_numpy_financial():
    rng = np.random.default_rng(RNG_SEED + 2)
    flows = random_flows(rng, 200, 121)
    rates = rng.uniform(-0.02, 0.05, 200)
    ours = finance.valuation_metrics(flows, rates[:, None])["npv_usd"]
    expected = np.array([npf.npv(r, row) for r, row in zip(rates, flows)])
    # discount factors to ~2 ulp, sums in another order: round-off relative to the gross discounted flows
    gross = np.abs(flows * (1.0 + rates[:, None]) ** -np.arange(121.0)).sum(axis=1)
    assert np.all(np.abs(ours - expected) <= 1e-13 * gross)
    # the stand-alone function is the same computation
    assert np.array_equal(finance.npv(rates[:, None], flows), ours)


def array_payback(cf, cumulative):
    """The previous numpy payback: last negative cumulative value, interpolated into the next month."""
    n = cf.shape[1]
    negative = cumulative < 0
    last_negative = np.where(negative.any(axis=1), n - 1 - np.argmax(negative[:, ::-1], axis=1), -1)
    rows = np.arange(len(cf))
    k = np.clip(last_negative, 0, n - 2)
    recovered_in = cf[rows, k + 1]
    fraction = np.where(recovered_in > 0, -cumulative[rows, k] / np.where(recovered_in > 0, recovered_in, 1.0), 1.0)
    months = np.where(last_negative < 0, 0.0, k + fraction)
    return np.where(last_negative == n - 1, np.nan, months)


def test_cash_metrics_match_the_array_formulas():
    rng = np.random.default_rng(RNG_SEED + 3)
    flows = random_flows(rng, 300, 121)
    rates = rng.uniform(0.0, 0.03, (300, 1))
    got = finance.valuation_metrics(flows, rates)
    cumulative = np.cumsum(flows, axis=1)
    discounted = flows * np.power(1.0 + rates, -np.arange(121.0))
    np.testing.assert_allclose(got["payback_months"], array_payback(flows, cumulative), rtol=1e-12)
    np.testing.assert_allclose(got["peak_funding_usd"], np.maximum(0.0, -cumulative.min(axis=1)), rtol=1e-12)
    np.testing.assert_allclose(got["discounted_payback_months"],
                               array_payback(discounted, np.cumsum(discounted, axis=1)), rtol=1e-12)
    np.testing.assert_allclose(got["npv_usd"], discounted.sum(axis=1), rtol=1e-12,
                               atol=1e-14 * np.abs(flows).sum())
    # IRR: effective annual of the per-period root
    np.testing.assert_allclose(got["irr"], (1 + finance.irr(flows)) ** 12 - 1, rtol=1e-15)


def test_valuation_is_row_by_row():
    # A row's metrics never depend on the other rows: any split gives the same bits (chunk invariance).
    rng = np.random.default_rng(RNG_SEED + 4)
    flows = random_flows(rng, 60, 121)
    rates = rng.choice([0.0095, 0.0095, 0.012], (60, 1))  # runs of equal rates and changes
    whole = finance.valuation_metrics(flows, rates)
    for start, stop in [(0, 1), (1, 17), (17, 60)]:
        part = finance.valuation_metrics(flows[start:stop], rates[start:stop])
        for name, values in part.items():
            assert np.array_equal(values, whole[name][start:stop], equal_nan=True), name
    # one metric alone is computed as when all are asked
    alone = finance.valuation_metrics(flows, rates, ["discounted_payback_months"])
    assert np.array_equal(alone["discounted_payback_months"], whole["discounted_payback_months"], equal_nan=True)


def test_shapes_and_broadcasting():
    flows = np.array([-100.0, 30, 40, 50, 60])
    # one row valued at several rates: npv as npf at each
    rates = np.array([[0.0], [0.05], [0.1]])
    np.testing.assert_allclose(finance.npv(rates, flows), [npf.npv(r, flows) for r in rates[:, 0]], rtol=1e-14)
    metrics = finance.valuation_metrics(flows[None, :], rates)
    assert all(v.shape == (3,) for v in metrics.values())
    np.testing.assert_allclose(metrics["irr"], (1 + npf.irr(flows)) ** 12 - 1, rtol=1e-12)
    # 1-D in, numbers out
    assert isinstance(finance.irr(flows), float) and isinstance(finance.payback_months(flows), float)
    assert isinstance(finance.peak_funding_usd(flows), float) and finance.peak_funding_usd(flows) == 100.0


def python_carryforward_tax(income, rate):
    """Tax with a loss pool, period by period: losses reduce later taxable profits."""
    loss, out = 0.0, []
    for x in income:
        taxable = max(0.0, x - loss)
        loss = max(0.0, loss - x)
        out.append(rate * taxable)
    return out


def test_tax_kernel_matches_a_python_loss_pool_and_the_running_max_formula():
    rng = np.random.default_rng(RNG_SEED + 5)
    income = rng.normal(0, 1e6, (200, 121)) + rng.normal(0, 5e5, (200, 1))
    income[:5] = 0.0
    income[5:10] = -np.abs(income[5:10])
    rates = rng.uniform(0, 0.4, (200, 1))
    tax = finance.tax_with_loss_carryforward(income, rates)
    expected = np.array([python_carryforward_tax(row, r) for row, r in zip(income, rates[:, 0])])
    np.testing.assert_allclose(tax, expected, rtol=1e-9, atol=1e-6)
    # the previous numpy formula: rate x increments of the running max of max(cumsum, 0)
    taxed = np.maximum.accumulate(np.maximum(np.cumsum(income, axis=1), 0.0), axis=1)
    np.testing.assert_allclose(tax, np.diff(taxed, axis=1, prepend=0.0) * rates, rtol=1e-12, atol=0)
    # one row of income with a rate per path broadcasts to paths; a plain series stays 1-D
    assert finance.tax_with_loss_carryforward(income[10:11], rates).shape == (200, 121)
    assert finance.tax_with_loss_carryforward(income[10], 0.21).shape == (121,)
    with pytest.raises(ValueError, match="tax_rate"):
        finance.tax_with_loss_carryforward(income, np.full(121, 0.2))


def test_depreciation_and_book_value_match_the_cumulative_formulas():
    rng = np.random.default_rng(RNG_SEED + 6)
    capex = np.where(rng.random((50, 121)) < 0.05, rng.uniform(0, 1e8, (50, 121)), 0.0)
    for life in (1, 7, 48, 120, 200):
        dep = finance.straight_line_depreciation(capex, life)
        spent = np.cumsum(capex, axis=1)
        lagged = np.zeros_like(spent)
        lagged[:, life + 1:] = spent[:, :max(0, 121 - life - 1)]
        expected = np.concatenate([np.zeros((50, 1)), (spent[:, :-1] - lagged[:, 1:]) / life], axis=1)
        np.testing.assert_allclose(dep, expected, rtol=1e-12, atol=0)
        book = finance.book_value(capex, dep)
        np.testing.assert_allclose(book, spent - np.cumsum(dep, axis=1), rtol=1e-12, atol=1e-6)
    # capex spent once is fully written off after its life: book value back to zero
    one = np.zeros(30)
    one[2] = 120.0
    assert finance.book_value(one, finance.straight_line_depreciation(one, 12))[-1] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="life_months"):
        finance.straight_line_depreciation(one, 0)
