"""One number per path that sums up its market: what a regression on the Monte Carlo's paths reads.

The NPV of a path depends on the whole month-by-month market, not on any one
input draw; a regression of the NPV on the uncertain inputs alone leaves the
market in its residual.  These summaries stand for the market path in that
regression (:mod:`pivotsim.drivers`, the market as one group):

* ``btc_price_log_mean``: mean log BTC price over months 1..T;
* ``network_hashrate_log_mean``: mean log network hashrate;
* ``fees_log_mean``: mean log fees per block;
* ``power_price_mean``: mean power price [USD/kWh];
* ``hashprice_mean``: mean hashprice [USD/PH/day], what a PH/s earns: price,
  hashrate and block reward together, the quantity mining revenue is
  proportional to.

Column 0 (the valuation date, the same on every path) is left out.
"""

from __future__ import annotations

import numpy as np

MARKET_SUMMARIES = ("btc_price_log_mean", "network_hashrate_log_mean", "fees_log_mean", "power_price_mean",
                    "hashprice_mean")


def _row_mean(x: np.ndarray, n_paths: int, log: bool = False) -> np.ndarray:
    x = np.asarray(x, dtype=float)[..., 1:]
    if log:
        x = np.log(x)
    return np.broadcast_to(x.mean(axis=-1).reshape(-1), (n_paths,)).copy()


def market_path_summaries(market, n_paths: int) -> dict[str, np.ndarray]:
    """The summaries of :data:`MARKET_SUMMARIES` for each path of a :class:`~pivotsim.models.market.MarketPaths`.

    Parameters
    ----------
    market : MarketPaths
        Arrays ``(n_paths or 1, n_periods)``.
    n_paths : int
        Paths to return (rows shared by every path are broadcast).

    Returns
    -------
    dict of str -> ndarray (n_paths,)
    """
    if np.shape(market.btc_price_usd)[-1] < 2:
        raise ValueError("market: a path needs at least one month after t = 0 to be summed up")
    return {
        "btc_price_log_mean": _row_mean(market.btc_price_usd, n_paths, log=True),
        "network_hashrate_log_mean": _row_mean(market.network_hashrate_eh_s, n_paths, log=True),
        "fees_log_mean": _row_mean(market.fees_btc_per_block, n_paths, log=True),
        "power_price_mean": _row_mean(market.power_price_usd_per_kwh, n_paths),
        "hashprice_mean": _row_mean(market.hashprice_usd_per_ph_day, n_paths),
    }
