"""Spot figures: closed forms and the real network data."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from pivotsim.errors import PivotsimError
from pivotsim.models.market import hashrate_from_difficulty_eh_s
from pivotsim.models.spot import (REFERENCE_EFFICIENCIES_J_PER_TH, breakeven_btc_price_usd, next_halving_date,
                                  spot_figures)

from .conftest import BTC_DAILY

# difficulty of exactly 1,000 EH/s: D = H 600 / 2^32
D_1000_EH = 1e21 * 600 / 2 ** 32
DAY = dt.date(2025, 9, 26)


def test_hashprice_and_per_kwh_closed_form():
    # 1 PH/s of 1,000 EH/s earns 1e-6 of 144 blocks of (3.125 + 0.025) BTC at $100k: $45.36 a day.
    f = spot_figures(100_000, D_1000_EH, 0.025, 900_000, DAY, efficiencies_j_per_th=(17.5, 20), pool_fee_share=0.02)
    assert f.network_hashrate_eh_s == pytest.approx(1000.0, rel=1e-12)
    assert f.hashprice_usd_per_ph_day == pytest.approx(144 * 3.15 * 1e5 / 1e6, rel=1e-12)
    # 17.5 J/TH: 17.5 W per TH/s is 0.42 kWh per TH/s-day; $45.36 per PH/s-day is $0.04536 per TH/s-day
    assert f.revenue_usd_per_kwh["17.5"] == pytest.approx(0.04536 / 0.42, rel=1e-12)
    assert f.breakeven_power_usd_per_kwh["17.5"] == pytest.approx(0.04536 * 0.98 / 0.42, rel=1e-12)
    assert set(f.breakeven_power_usd_per_kwh) == {"17.5", "20"}


def test_breakeven_btc_price_closed_form_and_round_trip():
    # P* = c e 0.024 H_TH / (144 (s + f) (1 - pool)), H_TH = 1e9 TH/s at 1,000 EH/s.
    c, e, pool = 0.05, 17.5, 0.01
    expected = c * e * 0.024 * 1e9 / (144 * 3.15 * (1 - pool))
    f = spot_figures(100_000, D_1000_EH, 0.025, 900_000, DAY, efficiencies_j_per_th=(e,), pool_fee_share=pool,
                     power_price_usd_per_kwh=c)
    assert f.breakeven_btc_price_usd["17.5"] == pytest.approx(expected, rel=1e-12)
    # at that price the break-even power price is c
    g = spot_figures(expected, D_1000_EH, 0.025, 900_000, DAY, efficiencies_j_per_th=(e,), pool_fee_share=pool)
    assert g.breakeven_power_usd_per_kwh["17.5"] == pytest.approx(c, rel=1e-12)
    assert breakeven_btc_price_usd(2 * c, e, 1000.0, 3.15, pool) == pytest.approx(2 * expected, rel=1e-12)


def test_after_halving_uses_the_next_subsidy():
    before = spot_figures(100_000, D_1000_EH, 0.025, 916_529, DAY)
    after = spot_figures(100_000, D_1000_EH, 0.025, 916_529, DAY, after_halving=True)
    assert after.subsidy_btc_per_block == 1.5625
    assert after.hashprice_usd_per_ph_day / before.hashprice_usd_per_ph_day == pytest.approx(
        (1.5625 + 0.025) / (3.125 + 0.025), rel=1e-12)


def test_next_halving_date_from_the_height():
    # 1,050,000 - 916,529 = 133,471 blocks at 144 a day: 926.9 days after 2025-09-26.
    assert next_halving_date(916_529, DAY) == DAY + dt.timedelta(days=927) == dt.date(2028, 4, 10)
    # one block before a halving: the same day; on the halving block: the next era's, 1,458 days on
    assert next_halving_date(839_999, dt.date(2024, 4, 19)) == dt.date(2024, 4, 19)
    assert next_halving_date(840_000, dt.date(2024, 4, 20)) == dt.date(2024, 4, 20) + dt.timedelta(days=1458)
    f = spot_figures(100_000, D_1000_EH, 0.0, 916_529, DAY)
    assert f.next_halving_height == 1_050_000 and f.next_halving_date == dt.date(2028, 4, 10)


def test_reference_classes_and_json_keys():
    f = spot_figures(100_000, D_1000_EH, 0.025, 900_000, DAY)
    assert list(f.breakeven_power_usd_per_kwh) == [f"{e:g}" for e in REFERENCE_EFFICIENCIES_J_PER_TH]
    d = f.to_dict()
    # 150,000 blocks to 1,050,000 at 144 a day: 1,042 days after 2025-09-26
    assert d["next_halving_date"] == (DAY + dt.timedelta(days=1042)).isoformat()
    assert {"hashprice_usd_per_ph_day", "breakeven_power_usd_per_kwh", "next_halving_date"} <= set(d)
    # the more efficient machine breaks even at a higher power price
    values = [f.breakeven_power_usd_per_kwh[f"{e:g}"] for e in REFERENCE_EFFICIENCIES_J_PER_TH]
    assert values == sorted(values)


@pytest.mark.parametrize("field,kwargs", [
    ("difficulty", dict(difficulty=0)), ("btc_price_usd", dict(btc_price_usd=-1)),
    ("fees_btc_per_block", dict(fees_btc_per_block=-0.1)), ("efficiency_j_per_th", dict(efficiencies_j_per_th=(0,))),
    ("pool_fee_share", dict(pool_fee_share=1.0)), ("power_price_usd_per_kwh", dict(power_price_usd_per_kwh=0)),
])
def test_bad_input_names_the_field(field, kwargs):
    values = dict(btc_price_usd=1e5, difficulty=D_1000_EH, fees_btc_per_block=0.02, block_height=900_000, on=DAY)
    values.update({k: v for k, v in kwargs.items() if k in values})
    extra = {k: v for k, v in kwargs.items() if k not in values}
    with pytest.raises(PivotsimError, match=f"^{field}: "):
        spot_figures(**values, **extra)


def test_hashprice_equals_coin_metrics_revenue_per_hash_on_every_day():
    # Coin Metrics' HashRate is BlkCnt x D 2^32 / 86,400 s, so the day's miner revenue over it is exactly
    # the spot hashprice at the day's mean difficulty and mean reward per block (real data, 2024-2025).
    d = pd.read_csv(BTC_DAILY, parse_dates=["date"]).set_index("date").loc["2024-01-01":]
    reward = (d.issuance_usd + d.fees_usd) / d.price_usd / d.block_count
    realised = (d.issuance_usd + d.fees_usd) / d.hashrate_ths * 1e3
    for day, row in d.iloc[::37].iterrows():
        # a height of the 3.125 era with the rest of the day's reward as fees: the day's whole reward per block
        f = spot_figures(row.price_usd, row.difficulty_mean, reward[day] - 3.125, 900_000, day.date())
        assert f.hashprice_usd_per_ph_day == pytest.approx(realised[day], rel=1e-6)
    hashrate = hashrate_from_difficulty_eh_s(d.difficulty_mean) * d.block_count / 144
    np.testing.assert_allclose(hashrate, d.hashrate_ths / 1e6, rtol=1e-6)


def test_latest_data_gives_the_last_days_state():
    # 2025-09-26 in the shipped file: close 109,669.10, difficulty 1.4234e14, fees of the last 30 days;
    # hashprice by hand from those numbers: 144 (3.125 + f) S / (D 2^32 / 600 / 1e15)
    from pivotsim.analysis.hashprice import hashprice

    d = pd.read_csv(BTC_DAILY, parse_dates=["date"]).set_index("date")
    last30 = d.iloc[-30:]
    fees = (last30.fees_usd / last30.price_usd).sum() / last30.block_count.sum()
    price, diff = d.price_usd.iloc[-1], d.difficulty_mean.iloc[-1]
    f = hashprice(data_file=BTC_DAILY)
    assert f.date == dt.date(2025, 9, 26) and f.block_height == 916_529
    assert f.hashprice_usd_per_ph_day == pytest.approx(144 * (3.125 + fees) * price / (diff * 2 ** 32 / 600 / 1e15),
                                                       rel=1e-12)
    assert f.hashprice_usd_per_ph_day == pytest.approx(48.86, abs=0.01)
    assert f.next_halving_date == dt.date(2028, 4, 10)
    # a given price replaces the file's; an extra class is added to the reference ones
    g = hashprice(data_file=BTC_DAILY, btc_price_usd=2 * price, efficiencies_j_per_th=(12.0,))
    assert g.hashprice_usd_per_ph_day == pytest.approx(2 * f.hashprice_usd_per_ph_day, rel=1e-12)
    assert "12" in g.breakeven_power_usd_per_kwh and "given btc_price_usd" in g.source


def test_hashprice_without_data_needs_every_value(tmp_path):
    from pivotsim.analysis.hashprice import hashprice

    with pytest.raises(PivotsimError, match="no data file; run `pivotsim data update`"):
        hashprice(data_file=tmp_path / "none.csv")
    f = hashprice(data_file=tmp_path / "none.csv", btc_price_usd=1e5, difficulty=D_1000_EH, fees_btc_per_block=0.025,
                  block_height=900_000, on=DAY)
    assert f.source == "given" and f.hashprice_usd_per_ph_day == pytest.approx(45.36, rel=1e-12)
    with pytest.raises(PivotsimError, match="^difficulty: 0 is not allowed"):
        hashprice(data_file=BTC_DAILY, difficulty=0)
