"""Per-path market summaries (pivotsim.models.path_summaries), checked against their definitions."""

import numpy as np
import pytest

from pivotsim.models.market import MarketPaths, hashprice_usd_per_ph_day
from pivotsim.models.path_summaries import MARKET_SUMMARIES, market_path_summaries


def _market(n=3, months=4):
    rng = np.random.default_rng(0)
    price = 1e5 * np.exp(rng.normal(size=(n, months + 1)).cumsum(axis=1) * 0.1)
    hashrate = np.full((1, months + 1), 1000.0)  # shared row, broadcast to every path
    fees = np.full((n, months + 1), 0.02)
    power = np.linspace(0.03, 0.05, months + 1)[None, :].repeat(n, 0)
    subsidy = np.full((1, months + 1), 3.125)
    zeros = np.zeros((1, months + 1))
    return MarketPaths(price, hashrate, fees, power, zeros, zeros, subsidy, spot_subsidy_btc=3.125)


def test_summaries_are_means_over_months_after_t0():
    m = _market()
    s = market_path_summaries(m, 3)
    assert set(s) == set(MARKET_SUMMARIES)
    # origin: the definitions in the module docstring, computed by hand
    assert s["btc_price_log_mean"] == pytest.approx(np.log(m.btc_price_usd[:, 1:]).mean(axis=1))
    assert np.all(s["network_hashrate_log_mean"] == np.log(1000.0))
    assert s["power_price_mean"] == pytest.approx(np.full(3, np.mean(np.linspace(0.03, 0.05, 5)[1:])))
    hp = hashprice_usd_per_ph_day(m.btc_price_usd, m.network_hashrate_eh_s, m.reward_btc_per_block)
    assert s["hashprice_mean"] == pytest.approx(hp[:, 1:].mean(axis=1))
    assert all(v.shape == (3,) for v in s.values())


def test_a_horizon_of_zero_months_is_refused():
    m = _market(months=0)
    with pytest.raises(ValueError, match="at least one month"):
        market_path_summaries(m, 3)
