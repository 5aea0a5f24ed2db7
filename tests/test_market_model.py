"""Market model against closed forms: GBM, Merton, OU, Poisson draws, halvings, bootstrap."""

import copy
import datetime as dt
import math

import numpy as np
import pytest
from scipy import stats

import pivotsim
from pivotsim.models.market import (draw_shocks, hashprice_usd_per_ph_day, poisson_counts, simulate_market,
                                    zero_shocks)
from pivotsim.models.timeline import Timeline, subsidy_btc
from pivotsim.inputs import to_inputs
from pivotsim.simulate import chunk_shocks

from .conftest import BTC_DAILY

N = 100_000
HORIZON = 24


@pytest.fixture(scope="module")
def inputs(iren):
    return to_inputs(iren)


def market_with(market, **values):
    market = copy.deepcopy(market)
    for k, v in values.items():
        setattr(market, k, v)
    return market


def draws(market, n=N, horizon=HORIZON, seed=11):
    """Shocks of n paths through the engine's own block seeding."""
    ns = type(market)  # SimpleNamespace
    run_inputs = ns(scenario=ns(horizon_months=horizon), market=market)
    blocks = list(range(-(-n // 2000)))
    shocks = chunk_shocks(run_inputs, seed, blocks)
    return {k: v[:n] for k, v in shocks.items()}


def timeline(horizon=HORIZON):
    return Timeline(dt.date(2025, 11, 1), horizon)


def test_gbm_mean_and_lognormal_quantiles(inputs):
    # Closed form: S_T = S0 exp((mu - s^2/2) T + s sqrt(T) Z), so E[S_T] = S0 exp(mu T)
    # and the q-quantile is S0 exp((mu - s^2/2) T + s sqrt(T) z_q).
    mu, sigma, s0, t_years = 0.10, 0.6, 100_000.0, HORIZON / 12
    market = market_with(inputs.market, price_model="gbm", btc_drift_per_year=mu, btc_volatility_per_year=sigma,
                         btc_price_usd=s0)
    paths = simulate_market(market, inputs.site, timeline(), draws(market))
    s_t = paths.btc_price_usd[:, -1]
    se = s_t.std() / math.sqrt(N)
    assert abs(s_t.mean() - s0 * math.exp(mu * t_years)) < 3 * se
    dist = stats.lognorm(s=sigma * math.sqrt(t_years), scale=s0 * math.exp((mu - sigma ** 2 / 2) * t_years))
    for q in (0.05, 0.25, 0.5, 0.75, 0.95):
        x_q = dist.ppf(q)
        se_q = math.sqrt(q * (1 - q) / N) / dist.pdf(x_q)  # standard error of a sample quantile
        assert abs(np.quantile(s_t, q) - x_q) < 3 * se_q, q


def test_merton_mean_is_compensated_and_variance_adds_jumps(inputs):
    # Merton (1976): with the -lambda k drift compensator E[S_T] = S0 exp(mu T);
    # Var(log S_T) = T (sigma^2 + lambda (m_J^2 + s_J^2)).
    mu, sigma, lam, m_j, s_j = 0.10, 0.4, 6.0, -0.05, 0.15
    s0, t_years = 50_000.0, HORIZON / 12
    market = market_with(inputs.market, price_model="merton", btc_drift_per_year=mu, btc_volatility_per_year=sigma,
                         btc_jump_intensity_per_year=lam, btc_jump_mean_log=m_j, btc_jump_volatility_log=s_j,
                         btc_price_usd=s0)
    paths = simulate_market(market, inputs.site, timeline(), draws(market))
    s_t = paths.btc_price_usd[:, -1]
    assert abs(s_t.mean() - s0 * math.exp(mu * t_years)) < 3 * s_t.std() / math.sqrt(N)
    log_ret = np.log(s_t / s0)
    var = log_ret.var()
    m4 = np.mean((log_ret - log_ret.mean()) ** 4)
    se_var = math.sqrt((m4 - var ** 2) / N)
    assert abs(var - t_years * (sigma ** 2 + lam * (m_j ** 2 + s_j ** 2))) < 3 * se_var
    # without the compensator the mean would be off by exp(lambda k T) (about -1.6% here): far outside 3 s.e.
    k = math.exp(m_j + s_j ** 2 / 2) - 1
    assert abs(math.exp(lam * k * t_years) - 1) * s0 > 6 * s_t.std() / math.sqrt(N)


def test_poisson_counts_exact_inverse_cdf():
    # N = #{k: u >= F(k)}: the same as searching the Poisson CDF (scipy), for scalar and per-path means.
    u = np.random.default_rng(3).random((3000, 40))
    for lam in (0.02, 1.24, 9.0):
        expected = np.searchsorted(stats.poisson.cdf(np.arange(400), lam), u, side="right")
        assert np.array_equal(poisson_counts(u, lam), expected)
        assert np.array_equal(poisson_counts(u, np.full((3000, 1), lam)), expected)


def test_power_price_ou_long_run_mean_and_variance(inputs):
    # Exact OU in log: mean theta + e^{-kT}(x0 - theta), variance s^2 (1 - e^{-2kT}) / (2k).
    kappa, sigma, p0, p_long = 1.5, 0.4, 0.05, 0.03
    horizon = 60
    market = market_with(inputs.market, power_price_volatility_per_year=sigma,
                         power_price_mean_reversion_per_year=kappa, power_price_long_run_usd_per_kwh=p_long,
                         power_price_btc_correlation=0.0)
    site = copy.deepcopy(inputs.site)
    site.power_price_usd_per_kwh = p0
    paths = simulate_market(market, site, timeline(horizon), draws(market, horizon=horizon))
    x = np.log(paths.power_price_usd_per_kwh[:, -1])
    t_years = horizon / 12
    mean = math.log(p_long) + math.exp(-kappa * t_years) * (math.log(p0) - math.log(p_long))
    var = sigma ** 2 * (1 - math.exp(-2 * kappa * t_years)) / (2 * kappa)
    assert abs(x.mean() - mean) < 3 * math.sqrt(var / N)
    assert abs(x.var() - var) < 3 * var * math.sqrt(2 / N)  # s.e. of a normal sample variance
    # stationary limit sigma^2 / (2 kappa) within 1% after 5 years at kappa = 1.5
    assert var == pytest.approx(sigma ** 2 / (2 * kappa), rel=0.01)


def test_power_price_correlation_with_btc_shock(inputs):
    # corr(Z_btc, rho Z_btc + sqrt(1 - rho^2) Z') = rho
    rho = -0.6
    market = market_with(inputs.market, price_model="gbm", power_price_btc_correlation=rho,
                         power_price_volatility_per_year=0.3, power_price_mean_reversion_per_year=0.0)
    shocks = draws(market, n=50_000, horizon=2)
    paths = simulate_market(market, inputs.site, timeline(2), shocks)
    dp = np.diff(np.log(paths.power_price_usd_per_kwh[:, :2]), axis=1).ravel()
    r = np.corrcoef(shocks["btc_price"][:, 0], dp)[0, 1]
    assert abs(r - rho) < 3 * (1 - rho ** 2) / math.sqrt(50_000)


def test_halving_cuts_revenue_per_hash_by_half_the_subsidy_share(inputs):
    # At the block height of a halving the subsidy halves and fees (in BTC) do not:
    # revenue per hash falls from S + F to S/2 + F, i.e. by exactly half the subsidy's share.
    fees = 0.05
    market = market_with(inputs.market, hashrate_model="exogenous", hashrate_growth_per_year=0.0,
                         hashrate_volatility_per_year=0.0, btc_volatility_per_year=0.0, btc_drift_per_year=0.0,
                         price_model="gbm", block_height=1_050_000 - 144 * 45, difficulty_lag_days=0.0,
                         fees_btc_per_block=fees, fee_volatility_per_year=0.0, fee_spike_probability_per_month=0.0,
                         fee_long_run_btc_per_block=None)
    t = Timeline(dt.date(2027, 1, 1), 4)  # Jan 31 d, Feb 28 d: the halving falls 45 days in, in February
    paths = simulate_market(market, inputs.site, t, zero_shocks(4))
    hp = paths.hashprice_usd_per_ph_day.ravel()
    s_before, s_after = subsidy_btc(1_049_999), subsidy_btc(1_050_000)
    assert s_after == s_before / 2
    # Jan: all blocks before the halving; Mar: all after
    assert paths.subsidy_btc_per_block[0, 1] == s_before
    assert paths.subsidy_btc_per_block[0, 3] == s_after
    share = s_before / (s_before + fees)
    assert hp[3] / hp[1] == pytest.approx(1 - share / 2, rel=1e-12)
    # February holds 14 pre-halving days of blocks out of 28: the block-weighted average
    assert paths.subsidy_btc_per_block[0, 2] == pytest.approx((14 * s_before + 14 * s_after) / 28, rel=1e-12)


def test_response_model_hashrate_follows_margin(inputs):
    # dlog H = a + b x(t - L): with no noise and a margin held at x*, growth is a + b x*;
    # a halving lowers x by log((S/2 + F)/(S + F)) and the next month's growth by b times that.
    market = market_with(inputs.market, price_model="gbm", btc_volatility_per_year=0.0, btc_drift_per_year=0.0,
                         hashrate_volatility_per_year=0.0, fee_volatility_per_year=0.0,
                         fee_spike_probability_per_month=0.0, fee_long_run_btc_per_block=None,
                         efficiency_frontier_decline_per_year=0.0, difficulty_lag_days=0.0,
                         hashrate_response_lag_months=1, block_height=1_050_000 - 144 * 20)
    t = Timeline(dt.date(2027, 1, 1), 3)
    paths = simulate_market(market, inputs.site, t, zero_shocks(3))
    h = np.log(paths.network_hashrate_eh_s.ravel())
    reward = paths.reward_btc_per_block.ravel()
    x = (np.log(hashprice_usd_per_ph_day(paths.btc_price_usd.ravel(), paths.network_hashrate_eh_s.ravel(), reward)
                / 1e3)
         - np.log(market.marginal_miner_efficiency_j_per_th * 0.024 * market.marginal_miner_power_usd_per_kwh))
    a, b = market.hashrate_response_intercept_per_month, market.hashrate_response_slope_per_month
    assert np.diff(h) == pytest.approx(a + b * x[:-1], abs=1e-12)
    # month 1 holds the halving (20 days in): month 2 is all new era, x fell by the reward ratio
    assert reward[2] == pytest.approx(subsidy_btc(1_050_000) + market.fees_btc_per_block)


def test_block_timing_speeds_up_when_hashrate_grows(inputs):
    # blocks_m = 144 (days_m + tau dlog H_m): 20% monthly growth and tau = 14 days add 144 x 14 x log(1.2) blocks
    market = market_with(inputs.market, hashrate_model="exogenous", hashrate_growth_per_year=1.2 ** 12 - 1,
                         hashrate_volatility_per_year=0.0, difficulty_lag_days=14.0)
    t = timeline(2)
    paths = simulate_market(market, inputs.site, t, zero_shocks(2))
    assert paths.blocks[0, 1] == pytest.approx(144 * (t.days[1] + 14 * math.log(1.2)), rel=1e-12)
    assert paths.block_height[0, 2] == pytest.approx(market.block_height + paths.blocks[0, 1:].sum(), rel=1e-15)


def test_bootstrap_recentred_mean_and_history_blocks(inputs, tmp_path):
    # One-month blocks: E[exp(r)] = exp(mu dt) by construction of the shift, so E[S_T] = S0 exp(mu T).
    from pivotsim.btc_data import monthly_log_returns

    mu = 0.05
    market = market_with(inputs.market, price_model="bootstrap", bootstrap_file=str(BTC_DAILY),
                         bootstrap_start=dt.date(2016, 1, 1), bootstrap_end=dt.date(2022, 12, 31),
                         bootstrap_block_months=1, btc_drift_per_year=mu, btc_price_usd=1.0,
                         power_price_btc_correlation=0.0)
    history = monthly_log_returns(BTC_DAILY, dt.date(2016, 1, 1), dt.date(2022, 12, 31))
    assert history.size == 84
    paths = simulate_market(market, inputs.site, timeline(12), draws(market, horizon=12),
                            bootstrap_log_returns=history)
    s_t = paths.btc_price_usd[:, -1]
    assert abs(s_t.mean() - math.exp(mu)) < 3 * s_t.std() / math.sqrt(N)
    # Six-month blocks are runs of consecutive historical months (plus one constant shift)
    market.bootstrap_block_months = 6
    paths = simulate_market(market, inputs.site, timeline(12), draws(market, n=10, horizon=12),
                            bootstrap_log_returns=history)
    steps = np.diff(np.log(paths.btc_price_usd[0]))
    shift = mu / 12 - math.log(np.mean(np.exp(history - history.mean())))
    centred = history - history.mean() + shift
    start = int(np.argmin(np.abs(centred - steps[0])))
    assert steps[:6] == pytest.approx(centred[start:start + 6], abs=1e-12)


def test_shock_streams_do_not_move_other_draws(inputs):
    # Switching fee noise on adds a stream; the price and hashrate shocks stay bit for bit.
    calm = market_with(inputs.market, fee_volatility_per_year=0.0)
    noisy = market_with(inputs.market, fee_volatility_per_year=1.0)
    a, b = draws(calm, n=2000, horizon=6), draws(noisy, n=2000, horizon=6)
    assert "fees" not in a and "fees" in b
    for name in ("btc_price", "network_hashrate", "btc_jump", "power_price"):
        assert np.array_equal(a[name], b[name])
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(11, spawn_key=(0,))))
    assert np.array_equal(a["btc_price"], draw_shocks(rng, 2000, 6)["btc_price"])


def test_defaults_reproduce_the_foundation_market(iren, inputs):
    # Scenario defaults (gbm, exogenous hashrate, 144 blocks a day, constant fees and power)
    # give the foundation's closed forms.
    from pivotsim.scenario import parse_scenario

    data = iren.model_dump(mode="json", exclude_none=True)
    data["market"] = {"btc_price_usd": 100_000, "btc_drift_per_year": 0.1, "btc_volatility_per_year": 0.5,
                      "difficulty": 1.4e14, "block_height": 916_000, "fees_btc_per_block": 0.03,
                      "hashrate_growth_per_year": 0.25, "hashrate_volatility_per_year": 0.15}
    market = to_inputs(parse_scenario(data)).market
    t = timeline(12)
    rng = np.random.default_rng(5)
    shocks = draw_shocks(rng, 4, 12)
    paths = simulate_market(market, inputs.site, t, shocks)
    w = np.zeros((4, 13))
    w[:, 1:] = np.cumsum(shocks["btc_price"] * math.sqrt(1 / 12), axis=1)
    expected = 100_000 * np.exp((0.1 - 0.125) * t.years + 0.5 * w)
    assert paths.btc_price_usd == pytest.approx(expected, rel=1e-13)
    assert np.all(paths.fees_btc_per_block == 0.03)
    assert np.all(paths.power_price_usd_per_kwh == inputs.site.power_price_usd_per_kwh)
    assert paths.blocks[0, 1:] == pytest.approx(144 * t.days[1:])
