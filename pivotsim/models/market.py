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
  path by path (a compiled kernel).

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

from ..compiled import inner_kernel, kernel, per_path, rows_of, series
from .poisson import _POISSON_TABLE_SLOTS, _poisson_cdf_fill, _poisson_count, poisson_counts  # noqa: F401
from .timeline import (BLOCKS_PER_DAY, ERA_SUBSIDY_BTC, HALVING_INTERVAL_BLOCKS, MAX_ERA,
                       TARGET_BLOCK_INTERVAL_S, Timeline, era_of_height, month_subsidy_at,
                       month_subsidy_btc_per_block, subsidy_btc)

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
#: shocks with their own stream j (its seed: pivotsim.seeds.stream_generator)
STREAM_SHOCKS = ("btc_jump", "btc_bootstrap", "fees", "fee_spike", "power_price")
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
        x = np.asarray(getattr(self, name), dtype=float)
        out = np.empty(x.shape)
        _month_mean_rows(np.ascontiguousarray(x).reshape(-1, x.shape[-1]), out.reshape(-1, x.shape[-1]))
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

    #: subsidy at the height of t = 0 [BTC/block]: a float, or ``(n_paths,)`` when heights differ by path
    spot_subsidy_btc: float | np.ndarray = 0.0


@kernel
def _month_mean_rows(x, out):
    """``out[:, 0] = x[:, 0]``, ``out[:, m] = (x[:, m] + x[:, m - 1]) / 2`` for arrays (n, n_periods)."""
    for i in range(x.shape[0]):
        out[i, 0] = x[i, 0]
        for m in range(1, x.shape[1]):
            out[i, m] = (x[i, m] + x[i, m - 1]) * 0.5


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


@inner_kernel
def _exp_row(log_values, i, out):
    """``out[i] = exp(log_values)`` for one row (months independent: the calls overlap)."""
    for m in range(log_values.shape[0]):
        out[i, m] = math.exp(log_values[m])


@inner_kernel
def _shared_row(i, values):
    """Row of ``values`` that path i reads: its own, or row 0 when one row serves every path."""
    return i if values.shape[0] > 1 else 0




def _ou_step(kappa_per_year, sigma_per_year):
    """Persistence ``phi = exp(-kappa dt)`` and innovation sd of an OU process sampled monthly."""
    kappa = np.asarray(kappa_per_year, dtype=float)
    phi = np.exp(-kappa * DT_YEARS)
    with np.errstate(divide="ignore", invalid="ignore"):
        var_factor = np.where(kappa > 0, -np.expm1(-2.0 * kappa * DT_YEARS) / np.where(kappa > 0, 2.0 * kappa, 1.0),
                              DT_YEARS)
    sd = np.asarray(sigma_per_year, dtype=float) * np.sqrt(var_factor)
    return (float(phi) if phi.ndim == 0 else phi), (float(sd) if sd.ndim == 0 else sd)


def _n_paths(*values) -> int:
    """Paths of a set of shocks ``(n, m)`` and parameters (scalars or ``(n, 1)`` columns)."""
    return max([1] + [np.shape(x)[0] for x in values if np.ndim(x) == 2]
               + [np.size(x) for x in values if np.ndim(x) == 1])


_NO_SHOCKS = np.empty((0, 0))


def _shock(shocks, name: str, n: int) -> np.ndarray:
    """A shock as a C-contiguous ``(n, horizon)`` array, or an empty one when it is not drawn."""
    if name not in shocks:
        return _NO_SHOCKS
    values = shocks[name]
    return rows_of(values, n, values.shape[1])


# --------------------------------------------------------------------------- drivers

@kernel
def _merton_price(z, u, log_s0, drift, diffusion_var, jump_mean, jump_var, jumps_per_month, price):
    """Merton price paths (see the module docstring) into ``price``.

    Parameters
    ----------
    z, u : ndarray (n, horizon)
        ``btc_price`` normals and ``btc_jump`` uniforms.
    log_s0 : ndarray (n,)
        Log price at t = 0 [log USD].
    drift : ndarray (n,)
        ``(mu - sigma^2/2 - lambda k) dt`` per month [-].
    diffusion_var : ndarray (n,)
        ``sigma^2 dt`` [-].
    jump_mean, jump_var : ndarray (n,)
        ``m_J`` and ``s_J^2`` of a jump's log size [-].
    jumps_per_month : ndarray (n,)
        ``lambda dt`` [-].
    price : ndarray (n, horizon + 1)
        Output [USD].
    """
    table = np.empty(_POISSON_TABLE_SLOTS)
    size = 0
    log_price = np.empty(price.shape[1])
    for i in range(z.shape[0]):
        if i == 0 or jumps_per_month[i] != jumps_per_month[i - 1]:
            size = _poisson_cdf_fill(jumps_per_month[i], table)
        log_price[0] = log_s0[i]
        total = 0.0
        for m in range(z.shape[1]):
            count = float(_poisson_count(u[i, m], table, size))
            increment = math.sqrt(diffusion_var[i] + count * jump_var[i]) * z[i, m]
            increment += count * jump_mean[i]
            increment += drift[i]
            total += increment
            log_price[m + 1] = total + log_s0[i]
        _exp_row(log_price, i, price)


def btc_price_paths(market, timeline: Timeline, shocks: dict[str, np.ndarray],
                    bootstrap_log_returns: np.ndarray | None = None) -> np.ndarray:
    """BTC price paths ``(n_paths, n_periods)`` [USD].

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
        return np.exp(_path_from_increments(log_s0, increments))
    if market.price_model == "merton" and "btc_jump" in shocks:
        lam = np.asarray(market.btc_jump_intensity_per_year, dtype=float)
        jump_mean, jump_sd = market.btc_jump_mean_log, market.btc_jump_volatility_log
        k = np.expm1(jump_mean + 0.5 * np.square(jump_sd))
        drift = (mu - 0.5 * np.square(sigma) - lam * k) * DT_YEARS
        n = _n_paths(z, shocks["btc_jump"], log_s0, drift, jump_mean, jump_sd, lam)
        horizon = z.shape[1]
        price = np.empty((n, horizon + 1))
        _merton_price(rows_of(z, n, horizon), rows_of(shocks["btc_jump"], n, horizon), per_path(log_s0, n),
                      per_path(drift, n), per_path(np.square(sigma) * DT_YEARS, n), per_path(jump_mean, n),
                      per_path(np.square(jump_sd), n), per_path(lam * DT_YEARS, n), price)
        return price
    t = timeline.years[None, :]
    return np.exp(log_s0 + (mu - 0.5 * np.square(sigma)) * t + sigma * _brownian(z, DT_YEARS))


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


@kernel
def _log_ou_levels(dev0, theta, phi, sd, normals, btc_normals, rho, spike_u, spike_probability, spike_log, out):
    """Levels ``exp(y_m)`` of a log OU driver with jumps (see :func:`ou_levels`) into ``out`` (n, n_periods).

    ``y_m - theta = phi (y_{m-1} - theta) + eta_m``, ``y_0 - theta = dev0``,
    ``eta_m = sd (rho Z_btc + sqrt(1 - rho^2) Z) + J 1[u < p]``.  Shock
    arrays with no rows are not drawn: no noise (``normals``), no
    correlation (``btc_normals``: ``rho Z_btc + ...`` is just Z), no spikes.
    Per-path arrays are ``(n,)``.
    """
    noisy = normals.shape[0] > 0
    correlated = btc_normals.shape[0] > 0
    spiky = spike_u.shape[0] > 0
    log_level = np.empty(out.shape[1])
    for i in range(out.shape[0]):
        dev = dev0[i]
        log_level[0] = dev + theta[i]
        own = math.sqrt(1.0 - rho[i] ** 2)
        for m in range(1, out.shape[1]):
            eta = 0.0
            if noisy:
                shock = normals[i, m - 1]
                if correlated:
                    shock = rho[i] * btc_normals[i, m - 1] + own * shock
                eta = shock * sd[i]
            if spiky and spike_u[i, m - 1] < spike_probability[i]:
                eta += spike_log[i]
            dev = phi[i] * dev + eta
            log_level[m] = dev + theta[i]
        _exp_row(log_level, i, out)


def ou_levels(start, long_run, kappa_per_year, sigma_per_year, n_periods: int, shocks: dict[str, np.ndarray],
              normals: str | None = None, btc_correlation=0.0, spike: str | None = None, spike_probability=0.0,
              spike_log=0.0) -> np.ndarray:
    """A driver whose log is a mean-reverting AR(1) (exact monthly OU), ``(n_paths, n_periods)``.

    ``y_m = theta + phi (y_{m-1} - theta) + sd eps_m + J 1[u_m < p]`` with
    ``y = log level``, ``theta = log long_run``, ``phi = exp(-kappa dt)``,
    ``sd = sigma sqrt((1 - phi^2) / (2 kappa))`` (``sigma sqrt(dt)`` at
    kappa = 0), ``eps = rho Z_btc + sqrt(1 - rho^2) Z``.

    Parameters
    ----------
    start, long_run : float or ndarray (n_paths, 1)
        Level at t = 0 and long-run median [driver's unit], > 0.
    kappa_per_year : float or ndarray (n_paths, 1)
        Mean-reversion speed [1/year], >= 0 (0: random walk).
    sigma_per_year : float or ndarray (n_paths, 1)
        Volatility of the log [1/sqrt(year)].
    n_periods : int
    shocks : dict of str -> ndarray (n_paths, n_periods - 1)
    normals : str, optional
        Name of the driver's own normal shocks Z in ``shocks`` (None or not
        drawn: no noise).
    btc_correlation : float or ndarray (n_paths, 1)
        rho, correlation of eps with the ``btc_price`` shock [-].
    spike : str, optional
        Name of the uniform spike shocks u in ``shocks`` (None or not drawn: no spikes).
    spike_probability : float or ndarray (n_paths, 1)
        p, per month [-].
    spike_log : float or ndarray (n_paths, 1)
        J, added to the log in a spike month (it then decays like any shock) [-].
    """
    phi, sd = _ou_step(kappa_per_year, sigma_per_year)
    log_long_run = np.log(long_run)
    dev0 = np.log(start) - log_long_run
    noisy = normals is not None and normals in shocks
    correlated = noisy and np.any(np.asarray(btc_correlation) != 0)
    spiky = spike is not None and spike in shocks
    n = _n_paths(*[shocks[name] for name in (normals, spike) if name in shocks],
                 dev0, log_long_run, phi, sd, btc_correlation, spike_probability, spike_log)
    out = np.empty((n, n_periods))
    _log_ou_levels(per_path(dev0, n), per_path(log_long_run, n), per_path(phi, n), per_path(sd, n),
                   _shock(shocks, normals, n) if noisy else _NO_SHOCKS,
                   _shock(shocks, "btc_price", n) if correlated else _NO_SHOCKS,
                   per_path(btc_correlation, n),
                   _shock(shocks, spike, n) if spiky else _NO_SHOCKS,
                   per_path(spike_probability, n), per_path(spike_log, n), out)
    return out


def _constant_series(value, n_periods: int) -> np.ndarray:
    """A constant (or per-path constant) series, ``(1 or n_paths, n_periods)``."""
    return np.ones((1, n_periods)) * _column(value)


def _column(x):
    """A per-path parameter as a float or an (n, 1) column."""
    return x if np.ndim(x) == 0 else np.reshape(x, (-1, 1))


def _fees_btc_per_block(market, n_periods: int, shocks) -> np.ndarray:
    fee0 = market.fees_btc_per_block
    long_run = market.fee_long_run_btc_per_block
    dynamic = ("fees" in shocks or "fee_spike" in shocks
               or (long_run is not None and np.any(np.asarray(long_run) != np.asarray(fee0))
                   and np.any(np.asarray(market.fee_mean_reversion_per_year) > 0)))
    if not dynamic:
        return _constant_series(fee0, n_periods)
    return ou_levels(fee0, fee0 if long_run is None else long_run, market.fee_mean_reversion_per_year,
                     market.fee_volatility_per_year, n_periods, shocks, normals="fees", spike="fee_spike",
                     spike_probability=market.fee_spike_probability_per_month, spike_log=market.fee_spike_mean_log)


def _power_price_usd_per_kwh(market, site, n_periods: int, shocks) -> np.ndarray:
    p0 = site.power_price_usd_per_kwh
    long_run = market.power_price_long_run_usd_per_kwh
    moves = ("power_price" in shocks
             or (long_run is not None and np.any(np.asarray(long_run) != np.asarray(p0))
                 and np.any(np.asarray(market.power_price_mean_reversion_per_year) > 0)))
    if not moves or np.all(np.asarray(p0) == 0):
        return _constant_series(p0, n_periods)
    return ou_levels(p0, p0 if long_run is None else long_run, market.power_price_mean_reversion_per_year,
                     market.power_price_volatility_per_year, n_periods, shocks, normals="power_price",
                     btc_correlation=market.power_price_btc_correlation)


def _spot_subsidy_btc(block_height):
    """Subsidy at a block height [BTC/block]: a float, or ``(n,)`` for per-path heights."""
    if np.ndim(block_height) == 0:
        return subsidy_btc(int(block_height))
    return subsidy_btc(np.floor(np.asarray(block_height, dtype=float).reshape(-1)).astype(np.int64))


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


#: months of log reward computed ahead of the hashrate recursion
_LOG_REWARD_AHEAD = 16


@kernel
def _hashrate_response_paths(price, x_const, fees, noise, a, b, step_sd, tau, h0, lag, days,
                             height_calendar, block_height0, spot_subsidy, next_halving,
                             hashrate, blocks, height_out, subsidy):
    """Month-by-month recursion of the response model, path by path (see the module docstring).

    Parameters
    ----------
    price : ndarray (n or 1, n_periods)
        BTC price [USD].
    x_const : ndarray (n or 1, n_periods)
        ``log(144 / 1e6) - log(e_j 0.024 c)``: ``x_j = log(R_j S_j) + x_const_j - h_j``.
    fees : ndarray (n or 1, n_periods)
        Fees per block [BTC].
    noise : ndarray (n or 1, n_periods - 1)
        ``network_hashrate`` normals.
    a, b, step_sd, tau, h0 : ndarray (n,)
        Intercept and slope [1/month], noise sd [1/month], difficulty lag
        [days] and log hashrate at t = 0 [log EH/s].
    lag : int
        L >= 1 [months].
    days : ndarray (n_periods,)
        Days of each month.
    height_calendar : ndarray (n or 1, n_periods)
        ``height_0 + 144 cumdays`` [blocks].
    block_height0, spot_subsidy, next_halving : ndarray (n,)
        Height at t = 0, its subsidy [BTC/block] and the next halving's height.
    hashrate, blocks, height_out, subsidy : ndarray (n, n_periods)
        Outputs: H [EH/s], blocks of each month, block height at each
        column, month subsidy [BTC/block] (0 at t = 0).
    """
    history = np.empty(lag + 1)            # x of the last lag + 1 months
    log_h = np.empty(hashrate.shape[1])
    # log(R_m S_m) of the months ahead at the current era's subsidy, computed
    # a few months at a time outside the recursion (the logs then overlap
    # instead of waiting for each other); a halving invalidates them.
    log_reward = np.empty(hashrate.shape[1])
    for i in range(hashrate.shape[0]):
        rp, rx, rf, rz = (_shared_row(i, price), _shared_row(i, x_const), _shared_row(i, fees),
                          _shared_row(i, noise))
        rc = _shared_row(i, height_calendar)
        h = h0[i]
        height_per_log_h = BLOCKS_PER_DAY * tau[i]
        log_h[0] = h
        blocks[i, 0] = 0.0
        subsidy[i, 0] = 0.0
        height_out[i, 0] = (h - h0[i]) * height_per_log_h + height_calendar[rc, 0]
        height = block_height0[i]
        era_subsidy = spot_subsidy[i]
        threshold = next_halving[i]
        history[0] = math.log((era_subsidy + fees[rf, 0]) * price[rp, 0]) + x_const[rx, 0] - h
        slot = 0                           # history slot of month m: m mod (lag + 1)
        ahead = 1                          # log_reward holds months [.., ahead)
        for m in range(1, hashrate.shape[1]):
            slot = slot + 1 if slot < lag else 0
            oldest = slot + 1 if slot < lag else 0         # month m - lag (month 0 before it exists)
            x_lag = history[oldest] if m >= lag else history[0]
            growth = x_lag * b[i]
            growth += noise[rz, m - 1] * step_sd[i] + a[i]
            h_new = h + growth
            height_new = (h_new - h0[i]) * height_per_log_h + height_calendar[rc, m]
            if height_new >= threshold:
                # a halving in this month: the month's reward is the
                # block-weighted subsidy, then the new era's
                month_subsidy = month_subsidy_at(height, height_new)
                era = era_of_height(height_new)
                era_subsidy = ERA_SUBSIDY_BTC[era]
                threshold = (era + 1.0) * HALVING_INTERVAL_BLOCKS
                log_r = math.log((month_subsidy + fees[rf, m]) * price[rp, m])
                ahead = m + 1
            else:
                month_subsidy = era_subsidy
                if m >= ahead:
                    ahead = min(m + _LOG_REWARD_AHEAD, hashrate.shape[1])
                    for j in range(m, ahead):
                        log_reward[j] = math.log((era_subsidy + fees[rf, j]) * price[rp, j])
                log_r = log_reward[m]
            subsidy[i, m] = month_subsidy
            x_now = log_r + x_const[rx, m]
            x_now -= h_new
            history[slot] = x_now
            log_h[m] = h_new
            blocks[i, m] = ((h_new - h) * tau[i] + days[m]) * BLOCKS_PER_DAY
            height_out[i, m] = height_new
            h, height = h_new, height_new
        _exp_row(log_h, i, hashrate)


def _hashrate_response(market, timeline: Timeline, price: np.ndarray, fees: np.ndarray,
                       noise: np.ndarray):
    """Network hashrate of the response model and the blocks it mines.

    Returns hashrate [EH/s], blocks, block height and subsidy [BTC/block],
    each ``(n, n_periods)``.
    """
    n_periods = timeline.n_periods
    a = market.hashrate_response_intercept_per_month
    b = market.hashrate_response_slope_per_month
    step_sd = np.asarray(market.hashrate_volatility_per_year, dtype=float) * math.sqrt(DT_YEARS)
    tau = market.difficulty_lag_days
    h0 = np.log(initial_hashrate_eh_s(market))
    # Column constant of x: log(144 / TH_PER_EH) - log(e_j * 0.024 * c).
    efficiency = marginal_efficiency_j_per_th(market, timeline.years[None, :])
    x_const = (math.log(BLOCKS_PER_DAY / TH_PER_EH)
               - np.log(efficiency * KWH_PER_TH_DAY_PER_J_PER_TH * _column(market.marginal_miner_power_usd_per_kwh)))
    n = _n_paths(price, fees, noise, x_const, a, b, step_sd, tau, h0)
    # Blocks of month m are 144 (days_m + tau (h_m - h_{m-1})), so the height
    # is a direct function of h: height_m = height_0 + 144 (cumdays_m + tau (h_m - h_0)).
    height0 = _column(market.block_height)
    height_calendar = np.atleast_2d(height0 + BLOCKS_PER_DAY * np.cumsum(timeline.days))
    n = max(n, height_calendar.shape[0])
    whole_height = np.floor(per_path(height0, n)).astype(np.int64)
    next_halving = (np.minimum(whole_height // HALVING_INTERVAL_BLOCKS, MAX_ERA) + 1) * HALVING_INTERVAL_BLOCKS
    hashrate, blocks, height, subsidy = (np.empty((n, n_periods)) for _ in range(4))
    contiguous = (np.ascontiguousarray(x, dtype=float) for x in (price, x_const, fees, noise, height_calendar))
    price, x_const, fees, noise, height_calendar = contiguous
    _hashrate_response_paths(price, x_const, fees, noise, per_path(a, n), per_path(b, n), per_path(step_sd, n),
                             per_path(tau, n), per_path(h0, n), int(market.hashrate_response_lag_months),
                             series(timeline.days), height_calendar,
                             per_path(height0, n), per_path(subsidy_btc(whole_height), n),
                             next_halving.astype(float), hashrate, blocks, height, subsidy)
    return hashrate, blocks, height, subsidy


def _network_hashrate(market, timeline: Timeline, price: np.ndarray, fees: np.ndarray, noise: np.ndarray):
    """Network hashrate [EH/s], blocks, block height and subsidy [BTC/block] of either hashrate model."""
    if market.hashrate_model == "response":
        return _hashrate_response(market, timeline, price, fees, noise)
    t = timeline.years[None, :]
    s = market.hashrate_volatility_per_year
    log_hash = (np.log(initial_hashrate_eh_s(market)) + (np.log1p(market.hashrate_growth_per_year)
                                                         - 0.5 * np.square(s)) * t + s * _brownian(noise, DT_YEARS))
    if np.any(np.asarray(market.difficulty_lag_days) != 0):
        blocks = _blocks_from_growth(timeline.days[None, :], log_hash, market.difficulty_lag_days)
    else:
        blocks = timeline.days[None, :] * BLOCKS_PER_DAY
    return (np.exp(log_hash), blocks, *_heights_and_subsidy(market.block_height, blocks))


def _call(name: str, function, *args):
    return function(*args)


def simulate_market(market, site, timeline: Timeline, shocks: dict[str, np.ndarray],
                    bootstrap_log_returns: np.ndarray | None = None, *, stage=_call) -> MarketPaths:
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
    stage : callable(name, function, *args), optional
        Runs each driver (``btc_price``, ``fees``, ``power_price``, ``network_hashrate``)
        as ``function(*args)``; the sweeps' CRN engine reuses results instead.

    Returns
    -------
    MarketPaths
    """
    n_periods = timeline.n_periods
    price = stage("btc_price", btc_price_paths, market, timeline, shocks, bootstrap_log_returns)
    fees = stage("fees", _fees_btc_per_block, market, n_periods, shocks)
    power = stage("power_price", _power_price_usd_per_kwh, market, site, n_periods, shocks)
    hashrate, blocks, height, subsidy = stage("network_hashrate", _network_hashrate, market, timeline, price, fees,
                                              shocks["network_hashrate"])
    return MarketPaths(btc_price_usd=price, network_hashrate_eh_s=hashrate, fees_btc_per_block=fees,
                       power_price_usd_per_kwh=power, blocks=blocks, block_height=height,
                       subsidy_btc_per_block=subsidy, spot_subsidy_btc=_spot_subsidy_btc(market.block_height))
