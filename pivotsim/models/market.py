"""Stochastic drivers of mining revenue: BTC price, network hashrate, fees, power price.

Monthly steps on the timeline's grid: column 0 is the valuation date, column
m the end of month m, ``dt = 1/12`` year.  Every driver is built from
standard shocks passed in (see :func:`draw_shocks`), so both businesses, and
every point of a sweep, priced on these paths see the same draws (common
random numbers).  With every volatility at zero the paths are deterministic:
that is the base case.

BTC price (``price_model``)
---------------------------
* ``gbm``: ``log S_m = log S_0 + (mu - sigma^2/2) t_m + sigma W_m`` with W a
  Brownian motion built from the ``btc_price`` shocks Z, so
  ``E[S_m] = S_0 exp(mu t_m)``.
* ``merton`` (jump diffusion): each month ``N_m ~ Poisson(lambda dt)`` jumps
  of log size ``Y ~ N(m_J, s_J^2)`` are added::

      log S_m - log S_{m-1} = (mu - sigma^2/2 - lambda k) dt + N_m m_J
                              + sqrt(sigma^2 dt + N_m s_J^2) Z_m,
      k = E[e^Y] - 1 = exp(m_J + s_J^2/2) - 1,

  which, given N_m, is exactly the sum of the diffusion and N_m jump sizes.
  The ``-lambda k`` compensator keeps ``E[S_m] = S_0 exp(mu t_m)``.  N_m is
  the Poisson inverse CDF of a uniform ``btc_jump`` shock.
* ``bootstrap``: a block bootstrap of historical monthly log returns r_i
  (i = 1..N, from ``bootstrap_file`` over ``bootstrap_start..bootstrap_end``):
  paths are cut into blocks of ``bootstrap_block_months`` consecutive months,
  each copied from a history window starting at ``floor(u (N - L + 1))`` for a
  uniform ``btc_bootstrap`` shock u.  Returns are recentred to the scenario's
  drift: ``r_i - mean(r) + c`` with ``c = mu dt - log mean(exp(r - mean(r)))``,
  so that E[S_m] = S_0 exp(mu t_m) holds exactly for one-month blocks and
  approximately for longer ones (autocorrelation inside a block).

Network hashrate (``hashrate_model``), H in EH/s, h = log H
-----------------------------------------------------------
* ``exogenous`` (foundation): ``h_m = h_0 + (log(1+g) - s^2/2) t_m + s W'_m``,
  so ``E[H_m] = H_0 (1+g)^t_m``.
* ``response``: hashrate follows miners' margins::

      h_m = h_{m-1} + a + b x_{m-L} + s sqrt(dt) Z'_m
      x_j = log( hashprice_j / (e_j * 0.024 * c) )

  where hashprice_j [USD per TH/s per day] = 144 R_j S_j / H_j (R = subsidy +
  fees per block [BTC]), ``e_j = e_0 (1 - d)^t_j`` [J/TH] is the marginal
  miner's efficiency on a frontier falling by d per year, ``0.024`` kWh is the
  energy of 1 TH/s for one day at 1 J/TH, and c [USD/kWh] the marginal miner's
  power price.  So x is the log of the marginal miner's revenue per kWh over
  its power cost: hashrate grows faster when margins are fat, and the same
  hashprice supports more hashrate every year as J/TH falls.  L >= 1 is the
  lag in months (ordering and installing machines); before t = 0, x is held at
  x_0.  A halving halves the subsidy in R at the block height where it
  happens, x drops by about log 2 and weak miners switch off (growth turns
  negative when ``a + b x < 0``).  The recursion runs month by month,
  vectorised over paths.

Blocks and subsidy
------------------
Difficulty is retargeted every 2016 blocks (about two weeks) from the
observed block times, so it trails the hashrate by about ``tau`` =
``difficulty_lag_days`` days: while hashrate grows, blocks come faster than
one per 600 s.  Monthly approximation (first order in the month's growth)::

    blocks_m = 144 (days_m + tau (h_m - h_{m-1}))

so the height is a direct function of the log hashrate,
``height_m = height_0 + 144 (cumdays_m + tau (h_m - h_0))`` (blocks would
only turn negative if hashrate fell by more than 88% in a month).
``tau = 0`` gives exactly 144 blocks a day (the foundation).  The block
height is the running sum of blocks; the subsidy of each month is the
protocol's, averaged over the month's blocks when a halving falls inside it.

Fees per block [BTC]
--------------------
Log fees follow a mean-reverting AR(1) (a discretised Ornstein-Uhlenbeck
process) with occasional upward spikes that then decay::

    y_m = theta_f + phi_f (y_{m-1} - theta_f) + s_f sqrt((1 - phi_f^2)/(2 kappa_f)) Z''_m + J_f 1[u_m < p_f]

with ``phi_f = exp(-kappa_f dt)``, ``y_0 = log fees_btc_per_block``,
``theta_f = log fee_long_run_btc_per_block`` (default: y_0).  Fees stay in
BTC across a halving (as in the data: they did not halve in 2016, 2020 or
2024), so at a halving revenue per hash falls by exactly half the subsidy's
share of revenue.  With all fee dynamics off, fees are constant (foundation).

Power price [USD/kWh]
---------------------
Log power price is an Ornstein-Uhlenbeck process sampled monthly (exact
discretisation)::

    q_m = theta_p + phi_p (q_{m-1} - theta_p) + s_p sqrt((1 - phi_p^2)/(2 kappa_p)) (rho Z_m + sqrt(1 - rho^2) Z'''_m)

so its long-run log mean is ``theta_p = log power_price_long_run_usd_per_kwh``
and long-run log variance ``s_p^2 / (2 kappa_p)``; rho correlates it with the
BTC price shock Z.  Zero volatility and reversion: constant (foundation).

Common random numbers
---------------------
``btc_price`` and ``network_hashrate`` normals come from the block's own
generator, in that order (the foundation's draws, unchanged).  The shocks
added here come from their own streams, ``SeedSequence(seed,
spawn_key=(block, 100 + j))`` for the j-th name in :data:`STREAM_SHOCKS`, and
are drawn only when their feature is on: switching a feature on or off never
moves the draws of another driver, or of anything drawn from the block's
generator after the market shocks.

References
----------
Bitcoin protocol: difficulty to hashrate, H = D 2^32 / 600 s; subsidy
schedule (Bitcoin Core ``GetBlockSubsidy``).  Hull, *Options, Futures and
Other Derivatives*, ch. 15 (GBM); R. C. Merton (1976), "Option pricing when
underlying stock returns are discontinuous", J. Financial Economics 3
(jump diffusion); Uhlenbeck & Ornstein (1930) and Vasicek (1977) (exact OU
discretisation); Kunsch (1989), "The jackknife and the bootstrap for general
stationary observations" (block bootstrap).  DESIGN.md, "Economics".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .timeline import (BLOCKS_PER_DAY, ERA_SUBSIDY_BTC, HALVING_INTERVAL_BLOCKS, MAX_ERA,
                       TARGET_BLOCK_INTERVAL_S, Timeline, month_subsidy_btc_per_block, subsidy_btc)

HASHES_PER_DIFFICULTY = 2.0 ** 32
H_PER_EH = 1e18
H_PER_PH = 1e15
TH_PER_EH = 1e6
KWH_PER_J = 1.0 / 3.6e6
SECONDS_PER_DAY = 86_400
#: energy of 1 TH/s for one day at 1 J/TH [kWh]
KWH_PER_TH_DAY_PER_J_PER_TH = SECONDS_PER_DAY * KWH_PER_J
DT_YEARS = 1.0 / 12.0

PRICE_MODELS = ("gbm", "merton", "bootstrap")
HASHRATE_MODELS = ("exogenous", "response")
#: shocks from the block's generator, drawn in this order (foundation)
SHOCK_NAMES = ("btc_price", "network_hashrate")
#: shocks with their own stream: SeedSequence(seed, spawn_key=(block, STREAM_KEY_OFFSET + j))
STREAM_SHOCKS = ("btc_jump", "btc_bootstrap", "fees", "fee_spike", "power_price")
STREAM_KEY_OFFSET = 100
_UNIFORM_SHOCKS = {"btc_jump", "btc_bootstrap", "fee_spike"}


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


def marginal_efficiency_j_per_th(market, years):
    """Efficiency of the marginal miner on the frontier, ``e_0 (1 - d)^t`` [J/TH].

    Parameters
    ----------
    market : namespace
        ``inputs.market`` (``marginal_miner_efficiency_j_per_th``,
        ``efficiency_frontier_decline_per_year``).
    years : array_like
        Time from the valuation date [years].
    """
    return market.marginal_miner_efficiency_j_per_th * np.power(
        1.0 - market.efficiency_frontier_decline_per_year, np.asarray(years, dtype=float))


@dataclass
class MarketPaths:
    """Market state per path and month, arrays ``(n_paths or 1, n_periods)``.

    Point values (``*_usd``, ``network_hashrate_eh_s``, ``fees_btc_per_block``,
    ``power_price_usd_per_kwh``, ``block_height``) are at each column's date;
    month quantities (``blocks``, ``subsidy_btc_per_block``) are the month's
    own (zero at t = 0).
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
        out = np.empty(np.shape(x))
        out[..., :1] = x[..., :1]
        np.add(x[..., 1:], x[..., :-1], out=out[..., 1:])
        out[..., 1:] *= 0.5
        return out

    @property
    def reward_btc_per_block(self) -> np.ndarray:
        """Subsidy plus fees per block [BTC] (t = 0 uses the spot subsidy)."""
        subsidy = np.array(self.subsidy_btc_per_block, dtype=float, copy=True)
        subsidy[..., 0] = self.spot_subsidy_btc
        return subsidy + self.fees_btc_per_block

    @property
    def hashprice_usd_per_ph_day(self) -> np.ndarray:
        """Hashprice at each column's date [USD/PH/day] (t = 0 uses the spot subsidy)."""
        return hashprice_usd_per_ph_day(self.btc_price_usd, self.network_hashrate_eh_s,
                                        self.reward_btc_per_block)

    spot_subsidy_btc: float = 0.0


# --------------------------------------------------------------------------- shocks

def active_stream_shocks(market) -> tuple[str, ...]:
    """Names in :data:`STREAM_SHOCKS` that the market's settings use."""
    names = []
    if market.price_model == "merton" and np.any(np.asarray(market.btc_jump_intensity_per_year) > 0):
        names.append("btc_jump")
    if market.price_model == "bootstrap":
        names.append("btc_bootstrap")
    if np.any(np.asarray(market.fee_volatility_per_year) > 0):
        names.append("fees")
    if np.any(np.asarray(market.fee_spike_probability_per_month) > 0):
        names.append("fee_spike")
    if np.any(np.asarray(market.power_price_volatility_per_year) > 0):
        names.append("power_price")
    return tuple(names)


def draw_stream_shock(name: str, rng: np.random.Generator, n_paths: int, horizon_months: int,
                      out: np.ndarray | None = None) -> np.ndarray:
    """One stream shock ``(n_paths, horizon_months)``: uniform [0, 1) or standard normal.

    With ``out`` (a C-contiguous array of that shape) the draws are written
    there: the same numbers as without it.
    """
    if name not in STREAM_SHOCKS:
        raise ValueError(f"shock {name!r} is not allowed; must be one of {', '.join(STREAM_SHOCKS)}")
    if name in _UNIFORM_SHOCKS:
        return rng.random((n_paths, horizon_months), out=out)
    return rng.standard_normal((n_paths, horizon_months), out=out)


def draw_shocks(rng: np.random.Generator, n_paths: int, horizon_months: int, market=None,
                stream=None) -> dict[str, np.ndarray]:
    """Monthly shocks for every market driver, in a fixed order.

    Parameters
    ----------
    rng : numpy.random.Generator
        The block's generator: ``btc_price`` then ``network_hashrate`` standard
        normals are drawn from it, in that order.
    n_paths, horizon_months : int
    market : namespace, optional
        ``inputs.market``; when given with ``stream``, the shocks its settings
        need (:func:`active_stream_shocks`) are added.
    stream : callable(name) -> numpy.random.Generator, optional
        Generator of each named stream shock.

    Returns
    -------
    dict of str -> ndarray (n_paths, horizon_months)
    """
    shocks = {name: rng.standard_normal((n_paths, horizon_months)) for name in SHOCK_NAMES}
    if market is not None and stream is not None:
        for name in active_stream_shocks(market):
            shocks[name] = draw_stream_shock(name, stream(name), n_paths, horizon_months)
    return shocks


def zero_shocks(horizon_months: int) -> dict[str, np.ndarray]:
    """Shocks of a single path with no noise (the base case)."""
    return {name: np.zeros((1, horizon_months)) for name in SHOCK_NAMES}


# --------------------------------------------------------------------------- building blocks

def _brownian(shocks: np.ndarray, dt_years: float) -> np.ndarray:
    """Brownian motion at each column (0 at t = 0) from monthly N(0, 1) shocks."""
    w = np.zeros((shocks.shape[0], shocks.shape[1] + 1))
    np.cumsum(shocks * np.sqrt(dt_years), axis=1, out=w[:, 1:])
    return w


def _path_from_increments(start, increments: np.ndarray) -> np.ndarray:
    """``start`` in column 0, then ``start`` plus the running sum of increments."""
    out = np.empty((increments.shape[0], increments.shape[1] + 1))
    np.cumsum(increments, axis=1, out=out[:, 1:])
    out[:, 1:] += start
    out[:, :1] = start
    return out


_LUT_BINS = 1 << 16


def _poisson_cdf_table(lam: float) -> np.ndarray:
    """Poisson CDF F(0), F(1), ... up to where it stops growing in floating point."""
    values = []
    pmf = math.exp(-lam)
    cdf = pmf
    k = 0
    while True:
        values.append(cdf)
        k += 1
        pmf *= lam / k
        new = cdf + pmf
        if new == cdf or new >= 1.0 or k > 10_000:
            break
        cdf = new
    return np.array(values)


def poisson_counts(u: np.ndarray, mean) -> np.ndarray:
    """Poisson(mean) variates by inverse CDF of uniforms ``u`` in [0, 1).

    ``N = #{k >= 0 : u >= F(k)}`` with F the Poisson CDF, so N is exactly
    Poisson distributed (up to the CDF's last representable step, below
    1e-16); the same u always gives the same count (common random numbers
    across parameter changes that keep ``mean``).

    Parameters
    ----------
    u : ndarray
        Uniform [0, 1) draws.
    mean : float or ndarray broadcastable to ``u``
        Expected count per cell [-], >= 0.

    Returns
    -------
    ndarray of int64, shape of ``u``
    """
    u = np.asarray(u, dtype=float)
    mean_arr = np.asarray(mean, dtype=float)
    counts = np.zeros(u.shape, dtype=np.int64)
    if mean_arr.ndim == 0:
        lam = float(mean_arr)
        if lam <= 0:
            return counts
        cdf = _poisson_cdf_table(lam)
        # Look up the count of each 1/65536-wide bin of u; only bins holding a
        # CDF value are ambiguous and get an exact comparison.
        low = np.searchsorted(cdf, np.arange(_LUT_BINS) / _LUT_BINS, side="right")
        high = np.searchsorted(cdf, np.nextafter(np.arange(1, _LUT_BINS + 1) / _LUT_BINS, 0.0), side="right")
        table = np.where(low == high, low, -1).astype(np.int64)
        bins = (u * _LUT_BINS).astype(np.int64)
        np.minimum(bins, _LUT_BINS - 1, out=bins)
        counts = table[bins]
        ambiguous = np.flatnonzero(counts < 0)
        if ambiguous.size:
            flat = counts.reshape(-1)
            flat[ambiguous] = np.searchsorted(cdf, u.reshape(-1)[ambiguous], side="right")
        return counts
    lam = np.broadcast_to(mean_arr, u.shape)
    pmf = np.exp(-lam)
    cdf = pmf.copy()
    k = 0
    while True:
        more = u >= cdf
        if not more.any() or k >= 1000:
            break
        counts += more
        k += 1
        pmf = pmf * lam / k
        new_cdf = cdf + pmf
        if np.array_equal(new_cdf, cdf):
            break
        cdf = new_cdf
    return counts


def _ar1_paths(start, theta, phi, innovations: np.ndarray) -> np.ndarray:
    """AR(1) paths ``y_m = theta + phi (y_{m-1} - theta) + eta_m`` without a month loop.

    Uses ``y_m - theta = phi^m [(y_0 - theta) + sum_{i<=m} phi^-i eta_i]`` on
    segments short enough that ``phi^-i`` stays finite.

    Parameters
    ----------
    start : float or ndarray (n_paths, 1)
        y_0.
    theta : float or ndarray (n_paths, 1)
        Long-run level.
    phi : float or ndarray (n_paths, 1)
        Persistence per step, in (0, 1].
    innovations : ndarray (n_paths, n_steps)

    Returns
    -------
    ndarray (n_paths, n_steps + 1)
    """
    steps = innovations.shape[1]
    dev = np.asarray(start, dtype=float) - theta
    n = max([innovations.shape[0]] + [np.shape(x)[0] for x in (dev, theta, phi) if np.ndim(x) == 2])
    out = np.empty((n, steps + 1))
    dev = np.broadcast_to(dev, (n, 1)).astype(float)
    out[:, :1] = dev
    log_phi = np.log(np.asarray(phi, dtype=float))
    worst = float(np.max(-log_phi)) if np.size(log_phi) else 0.0
    segment = steps if worst * steps < 300 else max(1, int(300 / worst))
    col = 0
    while col < steps:
        length = min(segment, steps - col)
        k = np.arange(1, length + 1, dtype=float)
        grow = np.exp(-log_phi * k) if np.ndim(log_phi) == 0 else np.exp(-log_phi * k[None, :])
        shrink = np.exp(log_phi * k) if np.ndim(log_phi) == 0 else np.exp(log_phi * k[None, :])
        block = np.cumsum(innovations[:, col:col + length] * grow, axis=1) + dev
        block *= shrink
        out[:, col + 1:col + 1 + length] = block
        dev = block[:, -1:]
        col += length
    out += theta
    return out


def _ou_step(kappa_per_year, sigma_per_year):
    """Persistence ``phi = exp(-kappa dt)`` and innovation sd of an OU process sampled monthly."""
    kappa = np.asarray(kappa_per_year, dtype=float)
    phi = np.exp(-kappa * DT_YEARS)
    with np.errstate(divide="ignore", invalid="ignore"):
        var_factor = np.where(kappa > 0, -np.expm1(-2.0 * kappa * DT_YEARS) / np.where(kappa > 0, 2.0 * kappa, 1.0),
                              DT_YEARS)
    sd = np.asarray(sigma_per_year, dtype=float) * np.sqrt(var_factor)
    return (float(phi) if phi.ndim == 0 else phi), (float(sd) if sd.ndim == 0 else sd)


def _column(x):
    """A per-path parameter as a float or an (n, 1) column (see :func:`_per_path`)."""
    return x if np.ndim(x) == 0 else np.reshape(x, (-1, 1))


def _per_path(x):
    """A parameter as a float, or as a 1-D array over paths when it varies by path."""
    arr = np.asarray(x, dtype=float)
    return float(arr) if arr.size == 1 else arr.reshape(-1)


# --------------------------------------------------------------------------- drivers

def btc_log_price(market, timeline: Timeline, shocks: dict[str, np.ndarray],
                  bootstrap_log_returns: np.ndarray | None = None) -> np.ndarray:
    """Log BTC price paths ``(n_paths, n_periods)`` [log USD].

    Parameters
    ----------
    market : namespace
        ``inputs.market``.
    timeline : Timeline
    shocks : dict of str -> ndarray (n_paths, horizon_months)
        ``btc_price`` normals; ``btc_jump`` / ``btc_bootstrap`` uniforms
        when the price model needs them.
    bootstrap_log_returns : ndarray, optional
        Historical monthly log returns (``price_model: bootstrap``).
    """
    mu, sigma = market.btc_drift_per_year, market.btc_volatility_per_year
    log_s0 = np.log(market.btc_price_usd)
    z = shocks["btc_price"]
    if market.price_model == "bootstrap" and "btc_bootstrap" in shocks:
        if bootstrap_log_returns is None:
            raise ValueError("price_model 'bootstrap' needs the historical monthly log returns")
        increments = bootstrap_increments(bootstrap_log_returns, shocks["btc_bootstrap"],
                                          int(market.bootstrap_block_months), mu)
        return _path_from_increments(log_s0, increments)
    if market.price_model == "merton" and "btc_jump" in shocks:
        lam = market.btc_jump_intensity_per_year
        jump_mean, jump_sd = market.btc_jump_mean_log, market.btc_jump_volatility_log
        k = np.expm1(jump_mean + 0.5 * np.square(jump_sd))
        counts = poisson_counts(shocks["btc_jump"], np.asarray(lam) * DT_YEARS)
        drift = (mu - 0.5 * np.square(sigma) - np.asarray(lam) * k) * DT_YEARS
        increments = np.sqrt(np.square(sigma) * DT_YEARS + counts * np.square(jump_sd))
        increments *= z
        increments += counts * jump_mean
        increments += drift
        return _path_from_increments(log_s0, increments)
    t = timeline.years[None, :]
    return log_s0 + (mu - 0.5 * np.square(sigma)) * t + sigma * _brownian(z, DT_YEARS)


def bootstrap_increments(log_returns: np.ndarray, u: np.ndarray, block_months: int, drift_per_year) -> np.ndarray:
    """Monthly log-price increments by block bootstrap of historical returns.

    Parameters
    ----------
    log_returns : ndarray (N,)
        Historical monthly log returns [-].
    u : ndarray (n_paths, horizon_months)
        Uniform [0, 1) shocks; column j picks the start of block j.
    block_months : int
        Months per block, >= 1 (cut to N).
    drift_per_year : float or ndarray (n_paths, 1)
        mu: the recentred returns give ``E[exp(r)] = exp(mu dt)``.

    Returns
    -------
    ndarray (n_paths, horizon_months)
    """
    r = np.asarray(log_returns, dtype=float)
    n, horizon = u.shape
    length = max(1, min(int(block_months), r.size))
    centred = r - r.mean()
    shift = np.asarray(drift_per_year, dtype=float) * DT_YEARS - np.log(np.mean(np.exp(centred)))
    n_blocks = -(-horizon // length)
    starts = np.minimum(np.floor(u[:, :n_blocks] * (r.size - length + 1)).astype(np.int64), r.size - length)
    index = (starts[:, :, None] + np.arange(length)).reshape(n, n_blocks * length)[:, :horizon]
    return centred[index] + shift


def log_ar1_driver(start, long_run, kappa_per_year, sigma_per_year, normals: np.ndarray | None,
                   n_paths: int, horizon_months: int, jumps: np.ndarray | None = None) -> np.ndarray:
    """Log of a mean-reverting driver (exact monthly OU), ``(n_paths, n_periods)``.

    Parameters
    ----------
    start, long_run : float or ndarray (n_paths, 1)
        Value at t = 0 and long-run median [driver's unit], > 0.
    kappa_per_year : float or ndarray
        Mean-reversion speed [1/year], >= 0 (0: random walk).
    sigma_per_year : float or ndarray
        Volatility of the log [1/sqrt(year)].
    normals : ndarray (n_paths, horizon_months) or None
        Standard normal shocks (None: no noise).
    jumps : ndarray (n_paths, horizon_months), optional
        Jumps added to the log each month (they decay like any shock).
    """
    phi, sd = _ou_step(kappa_per_year, sigma_per_year)
    if normals is not None:
        innovations = normals * (sd if np.ndim(sd) == 0 else np.reshape(sd, (-1, 1)))
    else:
        innovations = np.zeros((1, horizon_months))
    if jumps is not None:
        innovations = innovations + jumps
    phi_arr = phi if np.ndim(phi) == 0 else np.reshape(phi, (-1, 1))
    return _ar1_paths(np.log(start), np.log(long_run), phi_arr, innovations)


def _fees_btc_per_block(market, n_periods: int, shocks) -> np.ndarray:
    fee0 = market.fees_btc_per_block
    long_run = market.fee_long_run_btc_per_block
    dynamic = ("fees" in shocks or "fee_spike" in shocks
               or (long_run is not None and np.any(np.asarray(long_run) != np.asarray(fee0))
                   and np.any(np.asarray(market.fee_mean_reversion_per_year) > 0)))
    if not dynamic:
        return np.broadcast_to(np.asarray(fee0, dtype=float), (1, n_periods)) * np.ones((1, n_periods))
    jumps = None
    if "fee_spike" in shocks:
        jumps = (shocks["fee_spike"] < market.fee_spike_probability_per_month) * market.fee_spike_mean_log
    log_fees = log_ar1_driver(fee0, fee0 if long_run is None else long_run, market.fee_mean_reversion_per_year,
                              market.fee_volatility_per_year, shocks.get("fees"), 1, n_periods - 1, jumps)
    return np.exp(log_fees)


def _power_price_usd_per_kwh(market, site, n_periods: int, shocks) -> np.ndarray:
    p0 = site.power_price_usd_per_kwh
    long_run = market.power_price_long_run_usd_per_kwh
    moves = ("power_price" in shocks
             or (long_run is not None and np.any(np.asarray(long_run) != np.asarray(p0))
                 and np.any(np.asarray(market.power_price_mean_reversion_per_year) > 0)))
    if not moves or np.all(np.asarray(p0) == 0):
        return np.broadcast_to(np.asarray(p0, dtype=float), (1, n_periods)) * np.ones((1, n_periods))
    normals = None
    if "power_price" in shocks:
        rho = np.asarray(market.power_price_btc_correlation, dtype=float)
        if np.any(rho != 0):
            normals = rho * shocks["btc_price"] + np.sqrt(1.0 - rho ** 2) * shocks["power_price"]
        else:
            normals = shocks["power_price"]
    log_p = log_ar1_driver(p0, p0 if long_run is None else long_run, market.power_price_mean_reversion_per_year,
                           market.power_price_volatility_per_year, normals, 1, n_periods - 1)
    return np.exp(log_p)


def initial_hashrate_eh_s(market):
    """Network hashrate at t = 0 [EH/s], from difficulty when given."""
    if market.difficulty is not None:
        return hashrate_from_difficulty_eh_s(market.difficulty)
    return np.asarray(market.network_hashrate_eh_s, dtype=float)


def _blocks_from_growth(days: np.ndarray, log_hashrate: np.ndarray, lag_days) -> np.ndarray:
    """Blocks mined in each month given log-hashrate growth (see module docstring)."""
    blocks = np.zeros(np.broadcast_shapes(log_hashrate.shape, days.shape))
    step = np.diff(log_hashrate, axis=1)
    month_days = days[..., 1:]
    blocks[:, 1:] = BLOCKS_PER_DAY * (month_days + lag_days * step)
    return blocks


def _heights_and_subsidy(block_height0, blocks: np.ndarray):
    height = block_height0 + np.cumsum(blocks, axis=1)
    subsidy = np.zeros_like(height)
    subsidy[:, 1:] = month_subsidy_btc_per_block(height[:, :-1], height[:, 1:])
    return height, subsidy


def _hashrate_response(market, timeline: Timeline, log_price: np.ndarray, fees: np.ndarray,
                       noise: np.ndarray):
    """Month-by-month recursion of the hashrate response model.

    Returns log hashrate, blocks, block height and subsidy, each ``(n, n_periods)``.
    """
    n = max(log_price.shape[0], fees.shape[0], noise.shape[0])
    n_periods = timeline.n_periods
    days = timeline.days
    a = _per_path(market.hashrate_response_intercept_per_month)
    b = _per_path(market.hashrate_response_slope_per_month)
    lag = int(market.hashrate_response_lag_months)
    step_sd = _per_path(market.hashrate_volatility_per_year) * math.sqrt(DT_YEARS)
    tau = _per_path(market.difficulty_lag_days)
    # Column constant of x: log(144 / TH_PER_EH) - log(e_j * 0.024 * c).
    efficiency = marginal_efficiency_j_per_th(market, timeline.years[None, :])
    x_const = (math.log(BLOCKS_PER_DAY / TH_PER_EH)
               - np.log(efficiency * KWH_PER_TH_DAY_PER_J_PER_TH * np.asarray(market.marginal_miner_power_usd_per_kwh)))
    x_const = np.atleast_2d(x_const)

    # Everything that does not depend on the recursion is computed up front.
    h0 = _per_path(np.log(initial_hashrate_eh_s(market)))
    n = max([n] + [np.size(x) for x in (a, b, step_sd, tau, h0) if np.ndim(x) == 1])
    step = np.broadcast_to(noise, (n, n_periods - 1)) * _column(step_sd)
    step += _column(a)                                 # a + s sqrt(dt) Z', per month
    x_base = np.broadcast_to(log_price, (n, n_periods)) + x_const   # x_j + h_j - log(R_j)
    fee_col = np.broadcast_to(fees, (n, n_periods))
    # Blocks of month m are 144 (days_m + tau (h_m - h_{m-1})), so the height
    # is a direct function of h: height_m = height_0 + 144 (cumdays_m + tau (h_m - h_0)).
    height_calendar = market.block_height + BLOCKS_PER_DAY * np.cumsum(days)
    height_per_log_h = BLOCKS_PER_DAY * tau

    h_out = np.empty((n, n_periods))
    h = np.array(np.broadcast_to(h0, (n,)), dtype=float)
    h_out[:, 0] = h
    height = np.full(n, float(market.block_height))
    # heights and month subsidies are recorded as the recursion makes them
    # (the same numbers as recomputing them from h_out afterwards)
    height_out = np.empty((n, n_periods))
    height_out[:, 0] = (h - h0) * height_per_log_h + height_calendar[0]
    subsidy = np.zeros((n, n_periods))
    spot = subsidy_btc(int(market.block_height))
    era_subsidy = np.full(n, spot)
    next_halving = float((min(int(market.block_height) // HALVING_INTERVAL_BLOCKS, MAX_ERA) + 1)
                         * HALVING_INTERVAL_BLOCKS)
    threshold = next_halving
    x_history = [np.log(spot + fee_col[:, 0]) + x_base[:, 0] - h]
    for m in range(1, n_periods):
        x_lag = x_history[m - lag] if m - lag >= 0 else x_history[0]
        growth = x_lag * b
        growth += step[:, m - 1]
        h_new = h + growth
        h_out[:, m] = h_new
        height_new = h_new - h0
        height_new *= height_per_log_h
        height_new += height_calendar[m]
        height_out[:, m] = height_new
        crossing = height_new >= threshold
        if crossing.any():
            # A halving in this month for these paths: the month's reward is
            # the block-weighted subsidy, then the new era's.
            rows = np.flatnonzero(crossing)
            month_subsidy = era_subsidy.copy()
            month_subsidy[rows] = month_subsidy_btc_per_block(height[rows], height_new[rows])
            new_era = np.minimum(np.floor(height_new[rows] / HALVING_INTERVAL_BLOCKS), MAX_ERA).astype(np.int64)
            era_subsidy[rows] = ERA_SUBSIDY_BTC[new_era]
            if np.ndim(threshold) == 0:
                threshold = np.full(n, threshold)
            threshold[rows] = (new_era + 1.0) * HALVING_INTERVAL_BLOCKS
        else:
            month_subsidy = era_subsidy
        subsidy[:, m] = month_subsidy
        x_now = np.add(month_subsidy, fee_col[:, m])
        np.log(x_now, out=x_now)
        x_now += x_base[:, m]
        x_now -= h_new
        x_history.append(x_now)
        if m - lag - 1 >= 0:
            x_history[m - lag - 1] = None  # only the last lag + 1 months are needed
        h, height = h_new, height_new
    tau_col = _column(tau)
    blocks = np.zeros((n, n_periods))
    np.subtract(h_out[:, 1:], h_out[:, :-1], out=blocks[:, 1:])
    blocks[:, 1:] *= tau_col
    blocks[:, 1:] += days[1:]
    blocks[:, 1:] *= BLOCKS_PER_DAY
    return h_out, blocks, height_out, subsidy


def simulate_market(market, site, timeline: Timeline, shocks: dict[str, np.ndarray],
                    bootstrap_log_returns: np.ndarray | None = None) -> MarketPaths:
    """Market paths for the given shocks.

    Parameters
    ----------
    market : namespace
        ``inputs.market`` (see :func:`pivotsim.scenario.to_inputs`).
    site : namespace
        ``inputs.site`` (power price at t = 0).
    timeline : Timeline
    shocks : dict of str -> ndarray (n_paths, horizon_months)
        From :func:`draw_shocks` or :func:`zero_shocks`.
    bootstrap_log_returns : ndarray, optional
        Historical monthly log returns, for ``price_model: bootstrap``.

    Returns
    -------
    MarketPaths
    """
    n_periods = timeline.n_periods
    log_price = btc_log_price(market, timeline, shocks, bootstrap_log_returns)
    fees = _fees_btc_per_block(market, n_periods, shocks)
    power = _power_price_usd_per_kwh(market, site, n_periods, shocks)
    days = timeline.days[None, :]
    if market.hashrate_model == "response":
        log_hash, blocks, height, subsidy = _hashrate_response(market, timeline, log_price, fees,
                                                               shocks["network_hashrate"])
    else:
        t = timeline.years[None, :]
        s = market.hashrate_volatility_per_year
        log_hash = (np.log(initial_hashrate_eh_s(market)) + (np.log1p(market.hashrate_growth_per_year)
                                                             - 0.5 * np.square(s)) * t
                    + s * _brownian(shocks["network_hashrate"], DT_YEARS))
        if np.any(np.asarray(market.difficulty_lag_days) != 0):
            blocks = _blocks_from_growth(days, log_hash, market.difficulty_lag_days)
        else:
            blocks = days * BLOCKS_PER_DAY
        height, subsidy = _heights_and_subsidy(market.block_height, blocks)

    return MarketPaths(
        btc_price_usd=np.exp(log_price),
        network_hashrate_eh_s=np.exp(log_hash),
        fees_btc_per_block=fees,
        power_price_usd_per_kwh=power,
        blocks=blocks,
        block_height=height,
        subsidy_btc_per_block=subsidy,
        spot_subsidy_btc=subsidy_btc(int(market.block_height)),
    )
