"""The AI lease market: a colocation rent index and a GPU rental index per path and month.

Each index L (colocation rent [USD per kW-month], GPU rental [USD per
GPU-hour]) is log-normal on the timeline's monthly grid, ``dt = 1/12`` year,
column 0 the valuation date:

* without mean reversion (``mean_reversion_per_year = 0``), a geometric
  Brownian motion::

      log L_m = log L_{m-1} + (mu - sigma^2 / 2) dt + sigma sqrt(dt) e_m,   E[L_m] = L_0 exp(mu t_m)

* with mean reversion kappa > 0, the log follows an Ornstein–Uhlenbeck
  process towards ``log long_run`` (exact monthly discretisation, as the
  power price in :mod:`pivotsim.models.market`)::

      log L_m = theta + phi (log L_{m-1} - theta) + sigma sqrt((1 - phi^2) / (2 kappa)) e_m,
      phi = exp(-kappa dt),  theta = log long_run

  (the drift is then unused: the level reverts instead of growing).

The shocks ``e_m = rho Z_m + sqrt(1 - rho^2) W_m`` mix the BTC price shock Z
of the same month and path with the index's own normal W, so the monthly
shocks of the index and of BTC have Spearman rank correlation
``btc_rank_correlation``; the Pearson correlation of the normals is
``rho = 2 sin(pi r_s / 6)`` (the exact relation for a bivariate normal).
With zero volatility the index is deterministic.

W comes from its own stream per block of paths (see
:func:`lease_index_generator`), so adding the lease market never moves a
draw of the mining market.

References
----------
K. Pearson (1907) / W. Kruskal (1958), "Ordinal measures of association",
JASA 53: Spearman's rho of a bivariate normal is (6/pi) arcsin(rho/2).
Vasicek (1977) (exact OU discretisation).  Reference figures (REF):
colocation asking rents ~$196/kW-month (CBRE, H2 2025), H100 rental
$2-3.5 per GPU-hour in late 2025.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DT_YEARS = 1.0 / 12.0
#: spawn keys ``(block, LEASE_STREAM_KEYS[name])`` of the index shocks; the
#: mining market uses 100 + j (:mod:`pivotsim.models.market`)
LEASE_STREAM_KEYS = {"rent": 300, "gpu": 301}


@dataclass(frozen=True)
class LeaseIndex:
    """Parameters of one lease-market index.

    Attributes
    ----------
    start : float
        Level at t = 0 [USD per kW-month, or USD per GPU-hour].
    drift_per_year : float
        mu: expected log-growth rate plus sigma^2/2 [1/year] (GBM only).
    volatility_per_year : float
        sigma [1/sqrt(year)], >= 0.
    mean_reversion_per_year : float
        kappa [1/year], >= 0; 0 is a GBM.
    long_run : float or None
        Level the log reverts to (default: ``start``).
    btc_rank_correlation : float
        Spearman correlation of the index's monthly shocks with BTC's, in [-1, 1].
    """

    start: float
    drift_per_year: float = 0.0
    volatility_per_year: float = 0.0
    mean_reversion_per_year: float = 0.0
    long_run: float | None = None
    btc_rank_correlation: float = 0.0

    def __post_init__(self):
        checks = (("start", self.start > 0, "> 0"),
                  ("volatility_per_year", self.volatility_per_year >= 0, ">= 0"),
                  ("mean_reversion_per_year", self.mean_reversion_per_year >= 0, ">= 0"),
                  ("long_run", self.long_run is None or self.long_run > 0, "> 0"),
                  ("btc_rank_correlation", -1 <= self.btc_rank_correlation <= 1, "in [-1, 1]"))
        for name, ok, allowed in checks:
            if not ok:
                raise ValueError(f"{name}: {getattr(self, name)!r} is not allowed; must be {allowed}")

    @property
    def pearson_correlation(self) -> float:
        """Correlation of the normal shocks giving ``btc_rank_correlation``: 2 sin(pi r_s / 6)."""
        return 2.0 * math.sin(math.pi * self.btc_rank_correlation / 6.0)


def lease_index_generator(seed: int, block: int, name: str) -> np.random.Generator:
    """Generator of an index's shocks for a block: ``SeedSequence(seed, spawn_key=(block, key))``."""
    key = LEASE_STREAM_KEYS[name]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(block, key))))


def draw_index_shocks(rng: np.random.Generator, n_paths: int, horizon_months: int) -> np.ndarray:
    """Standard normals ``(n_paths, horizon_months)`` of one index (month 1 .. horizon)."""
    return rng.standard_normal((n_paths, horizon_months))


def lease_index_paths(index: LeaseIndex, own_shocks: np.ndarray, btc_shocks: np.ndarray | None = None
                      ) -> np.ndarray:
    """Index levels ``(n_paths, horizon_months + 1)``; column 0 is ``index.start``.

    Parameters
    ----------
    index : LeaseIndex
    own_shocks : ndarray (n_paths, horizon_months)
        The index's own standard normals W.
    btc_shocks : ndarray (n_paths, horizon_months), optional
        The BTC price shocks Z of the same paths (needed when the rank
        correlation is not 0).

    Returns
    -------
    ndarray (n_paths, horizon_months + 1)
        [USD per kW-month or USD per GPU-hour].
    """
    own_shocks = np.asarray(own_shocks, dtype=float)
    n_paths, horizon = own_shocks.shape
    rho = index.pearson_correlation
    if rho != 0.0:
        if btc_shocks is None:
            raise ValueError("btc_shocks: needed when btc_rank_correlation is not 0")
        shocks = rho * np.asarray(btc_shocks, dtype=float)[:, :horizon] + math.sqrt(1.0 - rho * rho) * own_shocks
    else:
        shocks = own_shocks
    sigma, kappa = index.volatility_per_year, index.mean_reversion_per_year
    log_level = np.empty((n_paths, horizon + 1))
    log_level[:, 0] = math.log(index.start)
    if kappa > 0:
        theta = math.log(index.start if index.long_run is None else index.long_run)
        phi = math.exp(-kappa * DT_YEARS)
        step_sd = sigma * math.sqrt((1.0 - phi * phi) / (2.0 * kappa))
        for m in range(1, horizon + 1):  # a recursion over months, vectorised over paths
            log_level[:, m] = theta + phi * (log_level[:, m - 1] - theta) + step_sd * shocks[:, m - 1]
    else:
        steps = (index.drift_per_year - 0.5 * sigma * sigma) * DT_YEARS + sigma * math.sqrt(DT_YEARS) * shocks
        np.cumsum(steps, axis=1, out=log_level[:, 1:])
        log_level[:, 1:] += log_level[:, :1]
    levels = np.exp(log_level)
    levels[:, 0] = index.start  # exactly, not exp(log(start))
    return levels
