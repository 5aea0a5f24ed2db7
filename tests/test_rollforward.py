"""The market state rolled forward to the valuation date, against closed forms."""

import copy
import datetime as dt
import math

import numpy as np
import pytest

from pivotsim.models.market import simulate_market, zero_shocks
from pivotsim.models.rollforward import (GAP_SHOCKS, draw_gap_shocks, gap_days, gap_steps, halving_days,
                                         roll_forward)
from pivotsim.models.timeline import BLOCKS_PER_DAY, Timeline
from pivotsim.inputs import to_inputs

STATE = dt.date(2025, 9, 26)
VALUATION = dt.date(2025, 11, 1)
N = 40_000


@pytest.fixture(scope="module")
def inputs(iren):
    return to_inputs(iren)


def quiet(market, **values):
    """The market with every noise off (then the values given)."""
    m = copy.deepcopy(market)
    for name in ("btc_volatility_per_year", "hashrate_volatility_per_year", "btc_jump_intensity_per_year",
                 "fee_volatility_per_year", "fee_spike_probability_per_month"):
        setattr(m, name, 0.0)
    m.price_model = "gbm"
    for k, v in values.items():
        setattr(m, k, v)
    return m


def streams(seed=5):
    def stream(name):
        key = 200 + GAP_SHOCKS.index(name)  # pivotsim.seeds.gap_generator
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(0, key))))
    return stream


def test_gap_is_cut_into_steps_of_about_a_month():
    assert gap_days(STATE, VALUATION) == 36
    assert gap_steps(36) == (1, 36.0)
    assert gap_steps(61) == (2, 30.5)
    assert gap_steps(0) == (0, 0.0)
    assert gap_days(None, VALUATION) == 0
    with pytest.raises(ValueError, match="market.state_date: 2025-11-02"):
        gap_days(dt.date(2025, 11, 2), VALUATION)


def test_no_gap_returns_the_market_itself(inputs):
    rolled = roll_forward(inputs.market, inputs.site, VALUATION, VALUATION)
    assert rolled.market is inputs.market and rolled.gap_days == 0
    assert roll_forward(inputs.market, inputs.site, None, VALUATION).market is inputs.market


@pytest.mark.parametrize("days", [36, 61, 400])
def test_gbm_price_closed_form_over_the_real_gap(inputs, days):
    # One GBM over T = days / 365.25 years in k steps of T/k: log S_T = log S_0 + (mu - s^2/2) T + s sqrt(T/k) sum(Z).
    mu, sigma, s0 = 0.10, 0.55, 109_669.0
    market = quiet(inputs.market, btc_drift_per_year=mu, btc_volatility_per_year=sigma, btc_price_usd=s0)
    valuation = STATE + dt.timedelta(days=days)
    k, _ = gap_steps(days)
    shocks = draw_gap_shocks(streams(), 1000, k, market)
    rolled = roll_forward(market, inputs.site, STATE, valuation, shocks).market
    t = days / 365.25
    expected = s0 * np.exp((mu - sigma ** 2 / 2) * t + sigma * math.sqrt(t / k) * shocks["btc_price"].sum(axis=1))
    np.testing.assert_allclose(rolled.btc_price_usd.ravel(), expected, rtol=1e-12)


def test_base_case_is_the_expected_path(inputs):
    # No noise: S = S_0 exp(mu T); fees revert as an OU mean, y_T - theta = e^{-kappa T} (y_0 - theta);
    # tau = 0 and exogenous hashrate: exactly 144 blocks a day, H_T = H_0 (1 + g)^T.
    market = quiet(inputs.market, hashrate_model="exogenous", hashrate_growth_per_year=0.4, difficulty_lag_days=0.0,
                   network_hashrate_eh_s=1000.0, difficulty=None)
    rolled = roll_forward(market, inputs.site, STATE, VALUATION).market
    t = 36 / 365.25
    assert rolled.btc_price_usd == pytest.approx(market.btc_price_usd * math.exp(market.btc_drift_per_year * t),
                                                 rel=1e-12)
    assert rolled.network_hashrate_eh_s == pytest.approx(1000.0 * 1.4 ** t, rel=1e-12)
    assert rolled.block_height == pytest.approx(market.block_height + 36 * BLOCKS_PER_DAY, abs=1e-6)
    theta = math.log(market.fee_long_run_btc_per_block)
    y = theta + math.exp(-market.fee_mean_reversion_per_year * t) * (math.log(market.fees_btc_per_block) - theta)
    assert rolled.fees_btc_per_block == pytest.approx(math.exp(y), rel=1e-12)
    assert rolled.difficulty is None and rolled.state_date == VALUATION
    # the marginal miner moved along its frontier by the gap
    assert rolled.marginal_miner_efficiency_j_per_th == pytest.approx(
        market.marginal_miner_efficiency_j_per_th * (1 - market.efficiency_frontier_decline_per_year) ** t)


def test_merton_mean_over_the_gap(inputs):
    # E[S_T] = S_0 exp(mu T) for the compensated jump diffusion (to 4 standard errors).
    market = inputs.market
    assert market.price_model == "merton" and market.btc_jump_intensity_per_year > 0
    shocks = draw_gap_shocks(streams(9), N, 1, market)
    price = roll_forward(market, inputs.site, STATE, VALUATION, shocks).market.btc_price_usd.ravel()
    expected = market.btc_price_usd * math.exp(market.btc_drift_per_year * 36 / 365.25)
    assert abs(price.mean() - expected) < 4 * price.std() / math.sqrt(N)


def test_month_zero_is_a_distribution_and_the_run_starts_from_each_paths_state(inputs):
    market = inputs.market
    shocks = draw_gap_shocks(streams(), 2000, 1, market)
    rolled = roll_forward(market, inputs.site, STATE, VALUATION, shocks).market
    assert rolled.btc_price_usd.shape == (2000, 1) and np.ptp(rolled.btc_price_usd) > 0
    assert np.ptp(rolled.block_height) > 0
    timeline = Timeline(VALUATION, 12)
    paths = simulate_market(rolled, inputs.site, timeline, zero_shocks(12) | {
        "network_hashrate": np.zeros((2000, 12)), "btc_price": np.zeros((2000, 12))})
    # column 0 is exp(log S_0): the same price to the last bit or two
    np.testing.assert_allclose(paths.btc_price_usd[:, 0], rolled.btc_price_usd.ravel(), rtol=1e-15)
    np.testing.assert_array_equal(paths.block_height[:, 0], rolled.block_height.ravel())
    np.testing.assert_allclose(paths.network_hashrate_eh_s[:, 0], rolled.network_hashrate_eh_s.ravel(), rtol=1e-14)


def test_per_path_heights_match_one_path_at_a_time(inputs):
    # The response kernel with a column of heights gives each path what a scalar height gives it.
    market = quiet(inputs.market)
    heights = np.array([[916_529.0], [1_049_000.0], [1_049_990.0]])
    timeline = Timeline(VALUATION, 24)
    together = simulate_market(quiet(market, block_height=heights), inputs.site, timeline, zero_shocks(24))
    for i, h in enumerate(heights.ravel()):
        alone = simulate_market(quiet(market, block_height=float(h)), inputs.site, timeline, zero_shocks(24))
        np.testing.assert_array_equal(together.block_height[i], alone.block_height[0])
        np.testing.assert_array_equal(together.network_hashrate_eh_s[i], alone.network_hashrate_eh_s[0])
        np.testing.assert_array_equal(together.subsidy_btc_per_block[i], alone.subsidy_btc_per_block[0])
        np.testing.assert_array_equal(together.hashprice_usd_per_ph_day[i], alone.hashprice_usd_per_ph_day[0])


def test_halving_days_at_144_blocks_a_day(inputs):
    # tau = 0: exactly 144 blocks a day, so the halving at 1,050,000 comes (1,050,000 - h_0) / 144 days on.
    market = quiet(inputs.market, hashrate_model="exogenous", hashrate_growth_per_year=0.3, difficulty_lag_days=0.0,
                   block_height=916_529)
    timeline = Timeline(VALUATION, 40)
    paths = simulate_market(market, inputs.site, timeline, zero_shocks(40))
    days = halving_days(paths.block_height, timeline.days)
    assert days[0] == pytest.approx((1_050_000 - 916_529) / 144, abs=1e-9)
    assert np.isnan(halving_days(paths.block_height[:, :10], timeline.days[:10])[0])


def test_growing_hashrate_brings_the_halving_earlier(inputs):
    # Difficulty trails a growing hashrate: blocks come faster than 144 a day, the halving earlier.
    market = quiet(inputs.market, hashrate_model="exogenous", hashrate_growth_per_year=0.3, difficulty_lag_days=14.0,
                   block_height=916_529)
    timeline = Timeline(VALUATION, 40)
    paths = simulate_market(market, inputs.site, timeline, zero_shocks(40))
    assert halving_days(paths.block_height, timeline.days)[0] < (1_050_000 - 916_529) / 144


def test_state_at_valuation_and_its_summary(inputs):
    from pivotsim.models.rollforward import describe_at_valuation, state_at_valuation

    market = inputs.market
    shocks = draw_gap_shocks(streams(), 2000, 1, market)
    rolled = roll_forward(market, inputs.site, STATE, VALUATION, shocks).market
    timeline = Timeline(VALUATION, 40)
    paths = simulate_market(rolled, inputs.site, timeline, {"btc_price": np.zeros((2000, 40)),
                                                           "network_hashrate": np.zeros((2000, 40))})
    per_path = state_at_valuation(paths, timeline.days, 2000)
    np.testing.assert_array_equal(per_path["block_height"], rolled.block_height.ravel())
    base_rolled = roll_forward(quiet(market), inputs.site, STATE, VALUATION).market
    base_paths = simulate_market(base_rolled, inputs.site, timeline, zero_shocks(40))
    base = state_at_valuation(base_paths, timeline.days, 1)
    block = describe_at_valuation(per_path, base, VALUATION, 36)
    prices = rolled.btc_price_usd.ravel()
    assert block["btc_price_usd"]["p5"] == pytest.approx(np.percentile(prices, 5))
    assert block["btc_price_usd"]["p5"] < block["btc_price_usd"]["p50"] < block["btc_price_usd"]["p95"]
    assert block["state_days_before_valuation"] == 36
    halving = block["next_halving"]
    expected = VALUATION + dt.timedelta(days=float(base["next_halving_days"][0]))
    assert halving["expected"] == expected.isoformat()
    assert halving["p5"] <= halving["expected"] <= halving["p95"]
    # the height moved on by the gap: the halving comes ~36 days (of blocks) earlier than from the stale height
    stale = (1_050_000 - market.block_height) / 144
    assert (VALUATION + dt.timedelta(days=stale) - expected).days >= 30


# --------------------------------------------------------------------------- through the engine

def _gapped(iren, state_date="2025-09-26"):
    return to_inputs(iren.with_overrides([f"market.state_date={state_date}"]))


def _no_state_date(iren):
    """iren.yaml without its market.state_date (the state taken at the valuation date)."""
    return to_inputs(iren.model_copy(update={"market": iren.market.model_copy(update={"state_date": None})}))


def test_engine_roll_forward_is_the_same_for_any_chunking_and_threads(iren):
    from pivotsim.simulate import simulate

    inputs = _gapped(iren)
    runs = [simulate(inputs, 5000, 7, chunk_paths=chunk, threads=threads).metrics
            for chunk, threads in ((10_000, 1), (2_000, 1), (4_000, 2))]
    for other in runs[1:]:
        assert set(other) == set(runs[0])
        for name, values in runs[0].items():
            np.testing.assert_array_equal(other[name], values, err_msg=name)
    assert np.ptp(runs[0]["at_valuation.btc_price_usd"]) > 0  # month 0 is a distribution


def test_state_date_equal_to_the_valuation_date_changes_nothing(iren):
    from pivotsim.simulate import simulate

    plain = simulate(_no_state_date(iren), 2000, 3).metrics
    same_day = simulate(_gapped(iren, "2025-11-01"), 2000, 3).metrics
    for name, values in plain.items():
        np.testing.assert_array_equal(same_day[name], values, err_msg=name)
    assert np.ptp(plain["at_valuation.btc_price_usd"]) == 0


def test_a_gap_moves_month_0_and_leaves_other_draws_alone(iren):
    # the gap's shocks come from their own streams: the months after t = 0 see the same shocks
    from pivotsim.simulate import chunk_shocks

    gapped, plain = _gapped(iren), _no_state_date(iren)
    with_gap, without = chunk_shocks(gapped, 11, [0]), chunk_shocks(plain, 11, [0])
    assert set(with_gap) - set(without) == {f"gap.{n}" for n in GAP_SHOCKS}
    for name, values in without.items():
        np.testing.assert_array_equal(with_gap[name], values)


def test_npv_of_mining_reflects_the_rolled_state(iren):
    # the base case starts from S_0 exp(mu T) after the gap: mining revenue in month 1 scales with it
    from pivotsim.simulate import base_case

    plain_flows, plain_market = base_case(_no_state_date(iren))
    gap_flows, gap_market = base_case(_gapped(iren))
    t = 36 / 365.25
    mu = iren.market.btc_drift_per_year.value
    assert gap_market.btc_price_usd[0, 0] == pytest.approx(plain_market.btc_price_usd[0, 0] * math.exp(mu * t),
                                                           rel=1e-12)
    assert gap_market.block_height[0, 0] > plain_market.block_height[0, 0] + 36 * 144 * 0.99


def test_library_scenarios_state_the_data_last_day():
    # the shipped data ends on 2025-09-26: every library scenario's market state is that day's
    import pivotsim
    from pivotsim.data_refresh import status

    from .conftest import BTC_DAILY, SCENARIOS

    last_day = status(BTC_DAILY).last_day
    for path in sorted(SCENARIOS.glob("*.yaml")):
        scenario = pivotsim.load_scenario(path)
        assert scenario.market.state_date == last_day, path.name
        assert scenario.market.state_date < scenario.scenario.valuation_date
