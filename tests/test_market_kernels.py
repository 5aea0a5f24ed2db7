"""Compiled market kernels against the numpy formulas they replaced, with per-path parameters.

Each reference below is the previous vectorised numpy code (month loop over
columns, or the closed form of the AR(1)), written out here; the kernels must
agree with it within rtol 1e-12 (numba's libm exp/log may differ from
numpy's in the last ulp), and give the same bits whatever the chunking.
"""

import copy
import datetime as dt
import math

import numpy as np
import pytest

from pivotsim.models.market import DT_YEARS, MarketPaths, poisson_counts, simulate_market
from pivotsim.models.timeline import (BLOCKS_PER_DAY, ERA_SUBSIDY_BTC, HALVING_INTERVAL_BLOCKS, MAX_ERA, Timeline,
                                      month_subsidy_btc_per_block, subsidy_btc)
from pivotsim.inputs import to_inputs

N = 400
HORIZON = 60
RTOL = 1e-12


@pytest.fixture(scope="module")
def inputs(iren):
    return to_inputs(iren)


def column(rng, low, high, n=N):
    return rng.uniform(low, high, (n, 1))


def per_path_market(market, rng, n=N):
    """The iren market with every parameter the kernels read drawn per path, ``(n, 1)``.

    The block height sits ~200 days before the 2028 halving, so paths cross it
    in different months (and some in the middle of a month).
    """
    m = copy.deepcopy(market)
    m.price_model, m.hashrate_model = "merton", "response"
    m.btc_price_usd = column(rng, 5e4, 2e5, n)
    m.btc_drift_per_year = column(rng, -0.2, 0.5, n)
    m.btc_volatility_per_year = column(rng, 0.2, 0.9, n)
    m.btc_jump_intensity_per_year = column(rng, 1.0, 30.0, n)
    m.btc_jump_mean_log = column(rng, -0.05, 0.03, n)
    m.btc_jump_volatility_log = column(rng, 0.02, 0.2, n)
    m.difficulty = column(rng, 1.0e14, 1.6e14, n)
    m.block_height = HALVING_INTERVAL_BLOCKS * 5 - 144 * 200
    m.difficulty_lag_days = column(rng, 0.0, 20.0, n)
    m.hashrate_response_intercept_per_month = column(rng, -0.01, 0.03, n)
    m.hashrate_response_slope_per_month = column(rng, 0.0, 0.15, n)
    m.hashrate_response_lag_months = 2
    m.hashrate_volatility_per_year = column(rng, 0.0, 0.5, n)
    m.marginal_miner_efficiency_j_per_th = column(rng, 12.0, 30.0, n)
    m.efficiency_frontier_decline_per_year = column(rng, 0.0, 0.3, n)
    m.marginal_miner_power_usd_per_kwh = column(rng, 0.03, 0.08, n)
    m.fees_btc_per_block = column(rng, 0.01, 0.1, n)
    m.fee_long_run_btc_per_block = column(rng, 0.02, 0.2, n)
    m.fee_mean_reversion_per_year = column(rng, 0.2, 3.0, n)
    m.fee_volatility_per_year = column(rng, 0.5, 2.0, n)
    m.fee_spike_probability_per_month = column(rng, 0.0, 0.2, n)
    m.fee_spike_mean_log = column(rng, 0.5, 2.0, n)
    m.power_price_long_run_usd_per_kwh = column(rng, 0.02, 0.06, n)
    m.power_price_mean_reversion_per_year = column(rng, 0.0, 2.0, n)
    m.power_price_volatility_per_year = column(rng, 0.05, 0.5, n)
    m.power_price_btc_correlation = column(rng, -0.8, 0.8, n)
    return m


def per_path_site(site, rng, n=N):
    s = copy.deepcopy(site)
    s.power_price_usd_per_kwh = column(rng, 0.02, 0.06, n)
    return s


def all_shocks(rng, n=N, horizon=HORIZON):
    normal = ("btc_price", "network_hashrate", "fees", "power_price")
    shocks = {name: rng.standard_normal((n, horizon)) for name in normal}
    shocks.update({name: rng.random((n, horizon)) for name in ("btc_jump", "fee_spike")})
    return shocks


def timeline(horizon=HORIZON):
    return Timeline(dt.date(2027, 11, 1), horizon)


# --------------------------------------------------------------------------- numpy references

def reference_merton_log_price(m, shocks):
    # log S_m - log S_{m-1} = (mu - s^2/2 - lambda k) dt + N m_J + sqrt(s^2 dt + N s_J^2) Z (module docstring)
    k = np.expm1(m.btc_jump_mean_log + 0.5 * m.btc_jump_volatility_log ** 2)
    counts = poisson_counts(shocks["btc_jump"], m.btc_jump_intensity_per_year * DT_YEARS)
    drift = (m.btc_drift_per_year - 0.5 * m.btc_volatility_per_year ** 2 - m.btc_jump_intensity_per_year * k) * DT_YEARS
    increments = (np.sqrt(m.btc_volatility_per_year ** 2 * DT_YEARS + counts * m.btc_jump_volatility_log ** 2)
                  * shocks["btc_price"] + counts * m.btc_jump_mean_log + drift)
    log_s0 = np.log(m.btc_price_usd)
    return np.hstack([log_s0, log_s0 + np.cumsum(increments, axis=1)])


def reference_log_ou(start, long_run, kappa, sigma, innovations_per_sd, jumps):
    # Closed form of y_m - theta = phi (y_{m-1} - theta) + eta_m:
    # y_m - theta = phi^m [(y_0 - theta) + sum_{i <= m} phi^-i eta_i]   (the previous code's formula)
    phi = np.exp(-kappa * DT_YEARS)
    sd = sigma * np.sqrt(np.where(kappa > 0, -np.expm1(-2 * kappa * DT_YEARS) / (2 * np.maximum(kappa, 1e-300)),
                                  DT_YEARS))
    eta = innovations_per_sd * sd + jumps
    i = np.arange(1, eta.shape[1] + 1)
    theta = np.log(long_run)
    dev = (np.log(start) - theta) + np.cumsum(eta * phi ** -i, axis=1)
    return theta + np.hstack([np.log(start) - theta, dev * phi ** i])


def reference_hashrate_response(m, t, price, fees, noise):
    """The previous numpy month loop (vectorised over paths) of the response model."""
    n, n_periods = price.shape
    efficiency = m.marginal_miner_efficiency_j_per_th * (1 - m.efficiency_frontier_decline_per_year) ** t.years
    x_const = math.log(BLOCKS_PER_DAY / 1e6) - np.log(efficiency * 0.024 * m.marginal_miner_power_usd_per_kwh)
    x_base = np.log(price) + x_const
    step = noise * (m.hashrate_volatility_per_year * math.sqrt(DT_YEARS)) + m.hashrate_response_intercept_per_month
    b, lag, tau = m.hashrate_response_slope_per_month[:, 0], int(m.hashrate_response_lag_months), m.difficulty_lag_days
    h0 = np.log(m.difficulty * 2.0 ** 32 / 600 / 1e18)[:, 0]
    height_calendar = m.block_height + BLOCKS_PER_DAY * np.cumsum(t.days)
    h_out, height_out, subsidy = np.empty((n, n_periods)), np.empty((n, n_periods)), np.zeros((n, n_periods))
    h, height = h0.copy(), np.full(n, float(m.block_height))
    h_out[:, 0], height_out[:, 0] = h, height_calendar[0]
    spot = subsidy_btc(m.block_height)
    era_subsidy = np.full(n, spot)
    threshold = np.full(n, float((m.block_height // HALVING_INTERVAL_BLOCKS + 1) * HALVING_INTERVAL_BLOCKS))
    x = [np.log(spot + fees[:, 0]) + x_base[:, 0] - h]
    for month in range(1, n_periods):
        h_new = h + (x[max(month - lag, 0)] * b + step[:, month - 1])
        height_new = (h_new - h0) * (BLOCKS_PER_DAY * tau[:, 0]) + height_calendar[month]
        month_subsidy = era_subsidy.copy()
        rows = np.flatnonzero(height_new >= threshold)
        if rows.size:
            month_subsidy[rows] = month_subsidy_btc_per_block(height[rows], height_new[rows])
            era = np.minimum(np.floor(height_new[rows] / HALVING_INTERVAL_BLOCKS), MAX_ERA).astype(int)
            era_subsidy[rows] = ERA_SUBSIDY_BTC[era]
            threshold[rows] = (era + 1.0) * HALVING_INTERVAL_BLOCKS
        subsidy[:, month] = month_subsidy
        x.append(np.log(month_subsidy + fees[:, month]) + x_base[:, month] - h_new)
        h_out[:, month], height_out[:, month] = h_new, height_new
        h, height = h_new, height_new
    blocks = np.zeros((n, n_periods))
    blocks[:, 1:] = BLOCKS_PER_DAY * (np.diff(h_out, axis=1) * tau + t.days[1:])
    return np.exp(h_out), blocks, height_out, subsidy


# --------------------------------------------------------------------------- tests

def test_kernels_match_the_numpy_formulas_with_per_path_parameters(inputs):
    rng = np.random.default_rng(2024)
    m, site, shocks, t = per_path_market(inputs.market, rng), per_path_site(inputs.site, rng), all_shocks(rng), timeline()
    paths = simulate_market(m, site, t, shocks)

    assert paths.btc_price_usd == pytest.approx(np.exp(reference_merton_log_price(m, shocks)), rel=RTOL)

    spikes = (shocks["fee_spike"] < m.fee_spike_probability_per_month) * m.fee_spike_mean_log
    fees = np.exp(reference_log_ou(m.fees_btc_per_block, m.fee_long_run_btc_per_block, m.fee_mean_reversion_per_year,
                                   m.fee_volatility_per_year, shocks["fees"], spikes))
    assert paths.fees_btc_per_block == pytest.approx(fees, rel=RTOL)

    rho = m.power_price_btc_correlation
    eps = rho * shocks["btc_price"] + np.sqrt(1 - rho ** 2) * shocks["power_price"]
    power = np.exp(reference_log_ou(site.power_price_usd_per_kwh, m.power_price_long_run_usd_per_kwh,
                                    m.power_price_mean_reversion_per_year, m.power_price_volatility_per_year, eps, 0.0))
    assert paths.power_price_usd_per_kwh == pytest.approx(power, rel=RTOL)

    # the hashrate recursion on the kernels' own price and fees
    hashrate, blocks, height, subsidy = reference_hashrate_response(m, t, paths.btc_price_usd,
                                                                    paths.fees_btc_per_block,
                                                                    shocks["network_hashrate"])
    assert paths.network_hashrate_eh_s == pytest.approx(hashrate, rel=RTOL)
    assert paths.blocks == pytest.approx(blocks, rel=RTOL)
    assert paths.block_height == pytest.approx(height, rel=RTOL)
    assert paths.subsidy_btc_per_block == pytest.approx(subsidy, rel=RTOL)
    # the test covers halvings (1,050,000 and 1,260,000): paths cross them in different months,
    # mostly in the middle of a month (block-weighted subsidy)
    for halving in (5, 6):
        after = paths.subsidy_btc_per_block[:, 1:] <= subsidy_btc(HALVING_INTERVAL_BLOCKS * halving)
        assert np.unique(after.argmax(axis=1)[after.any(axis=1)]).size > 1, halving
    straddle = ~np.isin(paths.subsidy_btc_per_block[:, 1:], ERA_SUBSIDY_BTC)
    assert straddle.sum() > N


def test_kernels_give_the_same_bits_whatever_the_chunking(inputs):
    # Each path's numbers depend on its own row only: two halves equal the whole, bit for bit.
    rng = np.random.default_rng(7)
    m, site, shocks, t = per_path_market(inputs.market, rng), per_path_site(inputs.site, rng), all_shocks(rng), timeline()
    whole = simulate_market(m, site, t, shocks)
    cut = N // 3
    for rows in (slice(0, cut), slice(cut, N)):
        part_m, part_site = copy.deepcopy(m), copy.deepcopy(site)
        for obj in (part_m, part_site):
            for name, value in vars(obj).items():
                if isinstance(value, np.ndarray) and value.shape == (N, 1):
                    setattr(obj, name, value[rows])
        part = simulate_market(part_m, part_site, t, {k: v[rows] for k, v in shocks.items()})
        for name in ("btc_price_usd", "network_hashrate_eh_s", "fees_btc_per_block", "power_price_usd_per_kwh",
                     "blocks", "block_height", "subsidy_btc_per_block"):
            assert np.array_equal(getattr(part, name), getattr(whole, name)[rows]), name


def test_one_path_without_shocks_is_the_noise_free_recursion(inputs):
    # Base case: with zero shocks, one path of iren's market follows the deterministic recursions
    # (the same reference formulas with every shock at 0 and no jumps or spikes).
    m = copy.deepcopy(inputs.market)
    t = timeline(24)
    zero = {name: np.zeros((1, 24)) for name in ("btc_price", "network_hashrate")}
    paths = simulate_market(m, inputs.site, t, zero)
    mu, s = m.btc_drift_per_year, m.btc_volatility_per_year
    assert paths.btc_price_usd[0] == pytest.approx(m.btc_price_usd * np.exp((mu - s ** 2 / 2) * t.years), rel=RTOL)
    fees = np.exp(reference_log_ou(np.full((1, 1), m.fees_btc_per_block), m.fee_long_run_btc_per_block,
                                   m.fee_mean_reversion_per_year, 0.0, np.zeros((1, 24)), 0.0))
    assert paths.fees_btc_per_block == pytest.approx(fees, rel=RTOL)
    as_columns = copy.deepcopy(m)
    for name in ("difficulty", "difficulty_lag_days", "hashrate_response_slope_per_month",
                 "hashrate_response_intercept_per_month", "hashrate_volatility_per_year",
                 "marginal_miner_efficiency_j_per_th", "efficiency_frontier_decline_per_year",
                 "marginal_miner_power_usd_per_kwh"):
        setattr(as_columns, name, np.full((1, 1), getattr(m, name)))
    expected = reference_hashrate_response(as_columns, t, paths.btc_price_usd, paths.fees_btc_per_block,
                                           np.zeros((1, 24)))
    for got, want in zip((paths.network_hashrate_eh_s, paths.blocks, paths.block_height,
                          paths.subsidy_btc_per_block), expected):
        assert got == pytest.approx(want, rel=RTOL)


def test_poisson_counts_per_cell_means():
    # A mean per cell (not per row) is the same count as the scalar mean of that cell:
    # N = #{k: u >= F(k)} depends only on (u, mean).
    rng = np.random.default_rng(5)
    u = rng.random((50, 8))
    means = rng.choice([0.0, 0.3, 2.5], size=(50, 8))
    expected = np.vectorize(lambda x, lam: int(poisson_counts(np.array([[x]]), lam)[0, 0]))(u, means)
    assert np.array_equal(poisson_counts(u, means), expected)
    assert np.array_equal(poisson_counts(u, 0.0), np.zeros((50, 8), dtype=np.int64))


def test_month_mean_is_the_trapezoid_of_each_month():
    # (x_m + x_{m-1}) / 2, column 0 kept: the same arithmetic as numpy's, bit for bit.
    x = np.random.default_rng(1).lognormal(size=(5, 13))
    paths = MarketPaths(*(x,) * 7)
    out = paths.month_mean("btc_price_usd")
    assert np.array_equal(out[:, 1:], (x[:, 1:] + x[:, :-1]) * 0.5)
    assert np.array_equal(out[:, 0], x[:, 0])
    one_row = MarketPaths(*(x[:1],) * 7).month_mean("power_price_usd_per_kwh")
    assert np.array_equal(one_row, out[:1])
