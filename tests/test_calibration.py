"""Calibration on the real Coin Metrics data, and the 2023-2025 back-test."""

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
import yaml

import pivotsim
from pivotsim.btc_data import state_at
from pivotsim.calibration import backtest_market, calibrate

from .conftest import BTC_DAILY


@pytest.fixture(scope="module")
def fitted():
    return calibrate(BTC_DAILY, "2016-01-01", "2022-12-31")


def test_volatility_and_mean_equal_a_direct_numpy_computation(fitted):
    # Independent computation: month-end closes from the CSV with pandas, log returns, numpy.
    daily = pd.read_csv(BTC_DAILY, parse_dates=["date"]).set_index("date")["price_usd"]
    closes = daily.loc["2015-12-31":"2022-12-31"].resample("ME").last()
    r = np.diff(np.log(closes.to_numpy()))
    assert len(r) == fitted.months == 84
    assert fitted.monthly_log_return_volatility_per_year == pytest.approx(r.std(ddof=1) * math.sqrt(12), rel=1e-12)
    assert fitted.monthly_log_return_mean_per_year == pytest.approx(r.mean() * 12, rel=1e-12)
    # BTC: 430 -> 16,500 USD over 2016-2022, ~52%/yr log growth, ~77%/yr volatility (the data, not a guess)
    assert 0.45 < fitted.monthly_log_return_mean_per_year < 0.6
    assert 0.65 < fitted.monthly_log_return_volatility_per_year < 0.85


def test_jumps_and_drift_are_consistent(fitted):
    # sigma^2 + lambda (m^2 + s^2) = monthly variance; mu = mean + sigma^2/2 + lambda (k - m)
    c = fitted
    total = c.btc_volatility_per_year ** 2 + c.btc_jump_intensity_per_year * (
        c.btc_jump_mean_log ** 2 + c.btc_jump_volatility_log ** 2)
    assert total == pytest.approx(c.monthly_log_return_volatility_per_year ** 2, rel=1e-12)
    k = math.expm1(c.btc_jump_mean_log + c.btc_jump_volatility_log ** 2 / 2)
    assert c.btc_drift_per_year == pytest.approx(c.monthly_log_return_mean_per_year + c.btc_volatility_per_year ** 2 / 2
                                                 + c.btc_jump_intensity_per_year * (k - c.btc_jump_mean_log))
    # rare, large jumps: a few to a few dozen days a year, moves of several percent; significant vs a normal
    assert 2 < c.btc_jump_intensity_per_year < 40 and 0.05 < c.btc_jump_volatility_log < 0.3
    assert c.jump_p_value < 1e-6


def test_hashrate_response_and_frontier_are_sane(fitted):
    c = fitted
    # hashrate grows when margins are fat: positive slope, at least 2 standard errors
    assert c.hashrate_response_slope_per_month > 2 * c.hashrate_response_slope_se
    assert 1 <= c.hashrate_response_lag_months <= 6
    # ASIC J/TH: S9 98 J/TH (2016) to S19 XP 21.5 J/TH (2022): roughly -20 to -30% a year
    assert 0.15 < c.efficiency_frontier_decline_per_year < 0.35
    assert 12 < c.frontier_efficiency_j_per_th < 25
    assert 0.0 < c.hashrate_volatility_per_year < 0.6


def test_state_matches_protocol_facts():
    # The 2024 halving block (840,000) was mined on 2024-04-20 at 00:09 UTC:
    # by the end of 2024-04-19, 840,000 blocks (heights 0..839,999) existed.
    assert abs(state_at(BTC_DAILY, "2024-04-19")["block_height"] - 840_000) <= 3
    s = state_at(BTC_DAILY, "2022-12-31")
    assert s["btc_price_usd"] == pytest.approx(16_524.2178, rel=1e-6)  # CM close of 2022-12-31


def test_printed_block_is_a_valid_market(fitted, iren):
    text = fitted.to_yaml()
    block = yaml.safe_load(text)["market"]
    assert block["btc_price_usd"]["source"] == "CM" and "2022-12-31" in block["btc_price_usd"]["note"]
    data = iren.model_dump(mode="json", exclude_none=True)
    data["market"] = block
    data["scenario"]["valuation_date"] = "2023-01-01"
    scenario = pivotsim.scenario.parse_scenario(data)
    assert scenario.market.hashrate_model == "response"


def test_calibrate_refuses_windows_outside_the_data():
    with pytest.raises(pivotsim.PivotsimError, match="data covers"):
        calibrate(BTC_DAILY, "2005-01-01", "2022-12-31")
    with pytest.raises(pivotsim.PivotsimError, match="must be after start"):
        calibrate(BTC_DAILY, "2022-12-31", "2016-01-01")


@pytest.mark.slow
def test_backtest_2023_2025_hashprice_coverage():
    # Calibrate on 2016-2022, simulate Jan 2023 - Sep 2025 from the real state at 2023-01-01:
    # the goal of the issue is realised hashprice inside the simulated p5-p95 in >= 80% of months.
    bt = backtest_market(BTC_DAILY, "2016-01-01", "2022-12-31", "2025-09-30", paths=4000)
    scores = bt.scores["hashprice_usd_per_ph_day"]
    assert scores["months"] == 33
    assert scores["coverage_p5_p95"] >= 0.8
    # and the bands are not trivially wide: p95/p5 of hashprice stays within a factor 10
    assert scores["median_band_width"] < 4
    assert bt.table.index[0] == pd.Timestamp("2023-01-31")


def test_pinball_loss_closed_form():
    # q (y - f) above the forecast, (1 - q) (f - y) below it; at q = 0.5 half the absolute error
    from pivotsim.calibration import pinball_loss

    assert pinball_loss(2.0, 1.0, 0.05) == pytest.approx(0.05)
    assert pinball_loss(1.0, 2.0, 0.05) == pytest.approx(0.95)
    np.testing.assert_allclose(pinball_loss([1.0, 3.0], [2.0, 2.0], 0.5), [0.5, 0.5])


def test_fee_window_is_its_own():
    # fees fitted on 2022-10..2025-09 equal fit_fees on those months of the real data; the rest is unchanged
    from pivotsim.btc_data import monthly_network
    from pivotsim.calibration import fit_fees

    both = calibrate(BTC_DAILY, "2016-01-01", "2025-09-26")
    recent = calibrate(BTC_DAILY, "2016-01-01", "2025-09-26", fee_start="2022-10-01")
    direct = fit_fees(monthly_network(BTC_DAILY, "2022-10-01", "2025-09-26")["fees_btc_per_block"].to_numpy()[1:])
    assert recent.fee_long_run_btc_per_block == pytest.approx(direct["fee_long_run_btc_per_block"], rel=1e-12)
    assert recent.fee_long_run_btc_per_block < both.fee_long_run_btc_per_block
    assert recent.btc_volatility_per_year == both.btc_volatility_per_year
    assert "2022-10-01..2025-09-26" in recent.market_block()["fee_long_run_btc_per_block"]["note"]
    with pytest.raises(pivotsim.PivotsimError, match="fee_start: 2025-06-01"):
        calibrate(BTC_DAILY, "2016-01-01", "2025-09-26", fee_start="2025-06-01")


@pytest.mark.slow
def test_rolling_origins_model_beats_flat_forecast():
    # Real data, two origins (2021-06-30, 2022-12-31), 24 months each: the model's mean pinball loss on log
    # hashprice is below the flat forecast's, and the realised months fall inside its p5-p95 band mostly.
    from pivotsim.calibration import rolling_backtest, score_backtest

    table = rolling_backtest(BTC_DAILY, ["2021-06-30", "2022-12-31"], paths=2000)
    assert len(table) == 48 and set(table["horizon"]) == set(range(1, 25))
    scores = score_backtest(table)
    assert scores.loc[("1-24", "model"), "pinball_mean"] < scores.loc[("1-24", "flat"), "pinball_mean"]
    assert scores.loc[("1-24", "model"), "coverage_p5_p95"] >= 0.8
