"""Stochastic drivers of mining revenue: BTC price, network hashrate, fees, power price.

First version (foundation): monthly steps on the timeline's grid.

* BTC price, geometric Brownian motion::

      log S_m = log S_0 + (mu - sigma^2 / 2) t_m + sigma W_m

  so that E[S_m] = S_0 exp(mu t_m); with sigma = 0 (the base case) the path is
  the expected path.
* Network hashrate, lognormal growth around an expected yearly rate g::

      log H_m = log H_0 + (log(1 + g) - s^2 / 2) t_m + s W'_m

  so E[H_m] = H_0 (1 + g)^t_m.  H_0 comes from difficulty D as
  D * 2^32 / 600 [H/s].
* Blocks: 144 per day (the target interval), so the block height, and with it
  the subsidy and the halvings, advance deterministically.
* Fees per block [BTC] and power price [USD/kWh]: constant at the scenario's
  values.

W and W' are independent standard Brownian motions built from the normal
shocks passed in, so every business priced on these paths sees the same
draws (common random numbers).

References
----------
Bitcoin protocol: difficulty to hashrate, H = D 2^32 / T_target with
T_target = 600 s.  Hull, *Options, Futures and Other Derivatives*, ch. 15
(GBM).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .timeline import (BLOCKS_PER_DAY, TARGET_BLOCK_INTERVAL_S, Timeline, cumulative_subsidy_btc,
                       subsidy_btc)

HASHES_PER_DIFFICULTY = 2.0 ** 32
H_PER_EH = 1e18
H_PER_PH = 1e15
SHOCK_NAMES = ("btc_price", "network_hashrate")


def hashrate_from_difficulty_eh_s(difficulty):
    """Network hashrate implied by difficulty, ``D * 2^32 / 600`` [EH/s]."""
    return np.asarray(difficulty, dtype=float) * HASHES_PER_DIFFICULTY / TARGET_BLOCK_INTERVAL_S / H_PER_EH


def hashprice_usd_per_ph_day(btc_price_usd, network_hashrate_eh_s, reward_btc_per_block):
    """Revenue of 1 PH/s for one day at the target block interval [USD/PH/day].

    Parameters
    ----------
    btc_price_usd : array_like
        [USD/BTC]
    network_hashrate_eh_s : array_like
        [EH/s]
    reward_btc_per_block : array_like
        Subsidy plus fees [BTC per block].
    """
    network_ph_s = np.asarray(network_hashrate_eh_s, dtype=float) * (H_PER_EH / H_PER_PH)
    return BLOCKS_PER_DAY * np.asarray(reward_btc_per_block) * np.asarray(btc_price_usd) / network_ph_s


@dataclass
class MarketPaths:
    """Market state per path and month, arrays ``(n_paths or 1, n_periods)``.

    Point values (``*_usd``, ``network_hashrate_eh_s``) are at each column's
    date; month quantities (``blocks``, ``subsidy_btc_per_block``) are the
    month's own (zero at t = 0).
    """

    btc_price_usd: np.ndarray
    network_hashrate_eh_s: np.ndarray
    fees_btc_per_block: np.ndarray
    power_price_usd_per_kwh: np.ndarray
    blocks: np.ndarray
    block_height: np.ndarray
    subsidy_btc_per_block: np.ndarray

    def month_mean(self, name: str) -> np.ndarray:
        """Average of a point series over each month (trapezoid of its two ends).

        Column 0 keeps the t = 0 value.
        """
        x = getattr(self, name)
        out = x.copy()
        out[..., 1:] = 0.5 * (x[..., 1:] + x[..., :-1])
        return out

    @property
    def hashprice_usd_per_ph_day(self) -> np.ndarray:
        """Hashprice at each column's date [USD/PH/day] (t = 0 uses the spot subsidy)."""
        subsidy = self.subsidy_btc_per_block.copy()
        subsidy[..., 0] = self.spot_subsidy_btc
        return hashprice_usd_per_ph_day(self.btc_price_usd, self.network_hashrate_eh_s,
                                        subsidy + self.fees_btc_per_block)

    spot_subsidy_btc: float = 0.0


def draw_shocks(rng: np.random.Generator, n_paths: int, horizon_months: int) -> dict[str, np.ndarray]:
    """Standard normal monthly shocks for every market driver, in a fixed order.

    Parameters
    ----------
    rng : numpy.random.Generator
    n_paths, horizon_months : int

    Returns
    -------
    dict of str -> ndarray (n_paths, horizon_months)
        One array per name in :data:`SHOCK_NAMES`.
    """
    return {name: rng.standard_normal((n_paths, horizon_months)) for name in SHOCK_NAMES}


def zero_shocks(horizon_months: int) -> dict[str, np.ndarray]:
    """Shocks of a single path with no noise (the base case)."""
    return {name: np.zeros((1, horizon_months)) for name in SHOCK_NAMES}


def _brownian(shocks: np.ndarray, dt_years: float) -> np.ndarray:
    """Brownian motion at each column (0 at t = 0) from monthly N(0, 1) shocks."""
    w = np.zeros((shocks.shape[0], shocks.shape[1] + 1))
    np.cumsum(shocks * np.sqrt(dt_years), axis=1, out=w[:, 1:])
    return w


def simulate_market(market, site, timeline: Timeline, shocks: dict[str, np.ndarray]) -> MarketPaths:
    """Market paths for the given shocks.

    Parameters
    ----------
    market : namespace
        ``inputs.market`` (see :func:`pivotsim.scenario.to_inputs`).
    site : namespace
        ``inputs.site`` (power price).
    timeline : Timeline
    shocks : dict of str -> ndarray (n_paths, horizon_months)
        From :func:`draw_shocks` or :func:`zero_shocks`.

    Returns
    -------
    MarketPaths
    """
    t = timeline.years[None, :]
    dt_years = 1.0 / 12.0
    mu, sigma = market.btc_drift_per_year, market.btc_volatility_per_year
    log_price = (np.log(market.btc_price_usd) + (mu - 0.5 * sigma ** 2) * t
                 + sigma * _brownian(shocks["btc_price"], dt_years))
    if market.difficulty is not None:
        h0 = hashrate_from_difficulty_eh_s(market.difficulty)
    else:
        h0 = market.network_hashrate_eh_s
    s = market.hashrate_volatility_per_year
    log_hash = (np.log(h0) + (np.log1p(market.hashrate_growth_per_year) - 0.5 * s ** 2) * t
                + s * _brownian(shocks["network_hashrate"], dt_years))
    blocks = (timeline.days * BLOCKS_PER_DAY)[None, :]
    height = market.block_height + np.cumsum(blocks, axis=1)
    issued = cumulative_subsidy_btc(height)
    subsidy = np.zeros_like(height)
    subsidy[:, 1:] = np.diff(issued, axis=1) / blocks[:, 1:]
    n_periods = timeline.n_periods

    return MarketPaths(
        btc_price_usd=np.exp(log_price),
        network_hashrate_eh_s=np.exp(log_hash),
        fees_btc_per_block=np.asarray(market.fees_btc_per_block, dtype=float) * np.ones((1, n_periods)),
        power_price_usd_per_kwh=np.asarray(site.power_price_usd_per_kwh, dtype=float) * np.ones((1, n_periods)),
        blocks=blocks,
        block_height=height,
        subsidy_btc_per_block=subsidy,
        spot_subsidy_btc=subsidy_btc(int(market.block_height)),
    )
