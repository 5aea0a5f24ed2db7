"""Subsidy schedule (protocol) and hashprice against the real network (Coin Metrics)."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from pivotsim.models.market import hashprice_usd_per_ph_day, hashrate_from_difficulty_eh_s
from pivotsim.models.timeline import (Timeline, cumulative_subsidy_btc, next_halving_height,
                                      subsidy_btc)

from .conftest import BTC_DAILY


def test_subsidy_schedule_protocol():
    # Bitcoin Core GetBlockSubsidy: 50 BTC >> (height // 210000)
    assert subsidy_btc(0) == 50.0
    assert subsidy_btc(209_999) == 50.0
    assert subsidy_btc(210_000) == 25.0
    assert subsidy_btc(839_999) == 6.25
    assert subsidy_btc(840_000) == 3.125
    assert subsidy_btc(1_049_999) == 3.125
    assert subsidy_btc(1_050_000) == 1.5625
    assert subsidy_btc(64 * 210_000) == 0.0
    assert next_halving_height(916_529) == 1_050_000


def test_cumulative_subsidy_known_supply():
    # Supply at the 2024 halving: 19,687,500 BTC; the 21M cap is never quite reached
    # (20,999,999.9769 BTC with satoshi rounding).
    assert cumulative_subsidy_btc(840_000) == pytest.approx(19_687_500.0)
    assert cumulative_subsidy_btc(10 ** 9) == pytest.approx(20_999_999.9769, abs=1e-4)


def test_timeline_month_ends():
    t = Timeline(dt.date(2025, 11, 1), 3)
    assert list(t.days) == [0, 30, 31, 31]
    assert t.n_periods == 4

def test_month_dates_are_pandas_month_offsets():
    # The calendar is computed without pandas; pd.DateOffset(months=m) is the reference, on month ends,
    # the 29th to 31st (clipped to shorter months), leap years and a 25-year horizon.
    for start in (dt.date(2025, 1, 31), dt.date(2024, 2, 29), dt.date(2025, 8, 30), dt.date(2025, 11, 1),
                  dt.date(2023, 12, 31), dt.date(2027, 3, 29)):
        timeline = Timeline(start, 300)
        origin = pd.Timestamp(start)
        expected = pd.DatetimeIndex([origin + pd.DateOffset(months=m) for m in range(301)])
        assert list(timeline.month_dates) == list(expected.date), start
        assert timeline.dates.equals(expected), start
        days = np.zeros(301)
        days[1:] = (expected[1:] - expected[:-1]).days
        assert np.array_equal(timeline.days, days), start


@pytest.fixture(scope="module")
def network():
    return pd.read_csv(BTC_DAILY, parse_dates=["date"]).set_index("date")


@pytest.mark.parametrize("day", ["2021-03-15", "2023-06-01", "2024-10-01", "2025-09-01"])
def test_hashprice_formula_matches_real_network(network, day):
    # Real hashprice of the day: (issuance + fees) [USD] / hashrate [PH/s] (data README).
    row = network.loc[day]
    real = row["miner_revenue_usd_derived"] / (row["hashrate_ths"] / 1e3)
    # Model: 144 blocks/day x (subsidy + fees per block) x price / (D x 2^32 / 600)
    subsidy = row["issuance_usd"] / row["price_usd"] / row["block_count"]
    fees = row["fees_usd"] / row["price_usd"] / row["block_count"]
    model = hashprice_usd_per_ph_day(row["price_usd"], hashrate_from_difficulty_eh_s(row["difficulty_mean"]),
                                     subsidy + fees)
    assert model == pytest.approx(real, rel=0.02)
    # the data's subsidy per block is the protocol's for that era
    assert min(abs(subsidy - s) for s in (12.5, 6.25, 3.125)) < 1e-3 * subsidy


def test_difficulty_to_hashrate():
    # D x 2^32 / 600: difficulty 1.423426e14 (2025-09-26) -> ~1019 EH/s
    assert hashrate_from_difficulty_eh_s(1.423426e14) == pytest.approx(1.423426e14 * 2 ** 32 / 600 / 1e18)
    assert 1000 < hashrate_from_difficulty_eh_s(1.423426e14) < 1030
