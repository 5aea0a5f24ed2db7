"""AI lease market: rent and GPU rental indices (closed-form moments, rank correlation, determinism)."""

import math

import numpy as np
import pytest
from scipy.stats import spearmanr

from pivotsim.models.lease_market import (LeaseIndex, draw_index_shocks, lease_index_generator,
                                          lease_index_paths)

DT = 1 / 12


def _shocks(n=40_000, months=60, seed=11):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, months)), rng.standard_normal((n, months))


def test_gbm_mean_is_start_times_exp_drift():
    # E[L_m] = L_0 exp(mu t_m) (log-normal mean), within 4 standard errors
    own, _ = _shocks()
    index = LeaseIndex(start=196.0, drift_per_year=-0.05, volatility_per_year=0.25)
    levels = lease_index_paths(index, own)
    assert levels.shape == (40_000, 61) and (levels[:, 0] == 196.0).all()
    for m in (12, 36, 60):
        se = levels[:, m].std(ddof=1) / math.sqrt(len(levels))
        assert abs(levels[:, m].mean() - 196.0 * math.exp(-0.05 * m * DT)) < 4 * se
    # log variance sigma^2 t (chi-square: relative s.e. sqrt(2 / n))
    var = np.log(levels[:, 60]).var(ddof=1)
    assert var == pytest.approx(0.25 ** 2 * 5, rel=4 * math.sqrt(2 / 40_000))


def test_zero_volatility_is_the_deterministic_growth_path():
    index = LeaseIndex(start=2.95, drift_per_year=-0.2)
    levels = lease_index_paths(index, np.zeros((1, 24)))
    np.testing.assert_allclose(levels[0], 2.95 * np.exp(-0.2 * DT * np.arange(25)), rtol=1e-14)


def test_mean_reversion_has_the_ou_long_run_moments():
    # log L -> N(theta, sigma^2 / (2 kappa)) (Vasicek 1977); started at the long-run level,
    # the month-m log mean stays theta and the variance is sigma^2 (1 - phi^(2m)) / (2 kappa)
    own, _ = _shocks(months=120)
    index = LeaseIndex(start=150.0, long_run=150.0, volatility_per_year=0.3, mean_reversion_per_year=0.8)
    logs = np.log(lease_index_paths(index, own)[:, 120])
    expected_var = 0.3 ** 2 * (1 - math.exp(-2 * 0.8 * 10)) / (2 * 0.8)
    assert abs(logs.mean() - math.log(150.0)) < 4 * logs.std() / math.sqrt(len(logs))
    assert logs.var(ddof=1) == pytest.approx(expected_var, rel=4 * math.sqrt(2 / len(logs)))
    # reverting from above: the deterministic log falls by phi per month towards theta
    path = lease_index_paths(LeaseIndex(start=300.0, long_run=150.0, mean_reversion_per_year=0.8),
                             np.zeros((1, 12)))
    gap = math.log(300 / 150) * np.exp(-0.8 * np.arange(13) / 12)
    np.testing.assert_allclose(np.log(path[0] / 150.0), gap, rtol=1e-12)


@pytest.mark.parametrize("rank", [0.3, -0.5])
def test_rank_correlation_with_btc_shocks(rank):
    # Spearman's rho of a bivariate normal with correlation r is (6/pi) arcsin(r/2) (Kruskal 1958):
    # the index's monthly log steps and BTC's shocks have the stated rank correlation
    own, btc = _shocks(n=20_000, months=12)
    index = LeaseIndex(start=100.0, volatility_per_year=0.2, btc_rank_correlation=rank)
    steps = np.diff(np.log(lease_index_paths(index, own, btc)), axis=1)
    rho = spearmanr(steps.ravel(), btc.ravel())[0]
    assert rho == pytest.approx(rank, abs=4 / math.sqrt(steps.size))
    assert index.pearson_correlation == pytest.approx(2 * math.sin(math.pi * rank / 6))


def test_streams_are_per_block_and_deterministic():
    a = draw_index_shocks(lease_index_generator(7, 3, "rent"), 100, 24)
    assert np.array_equal(a, draw_index_shocks(lease_index_generator(7, 3, "rent"), 100, 24))
    assert not np.array_equal(a, draw_index_shocks(lease_index_generator(7, 4, "rent"), 100, 24))
    assert not np.array_equal(a, draw_index_shocks(lease_index_generator(7, 3, "gpu"), 100, 24))


def test_bad_parameters_name_the_field():
    with pytest.raises(ValueError, match="volatility_per_year: -0.1 is not allowed"):
        LeaseIndex(start=1.0, volatility_per_year=-0.1)
    with pytest.raises(ValueError, match="btc_rank_correlation"):
        LeaseIndex(start=1.0, btc_rank_correlation=1.5)
    with pytest.raises(ValueError, match="btc_shocks"):
        lease_index_paths(LeaseIndex(start=1.0, btc_rank_correlation=0.2), np.zeros((2, 3)))
