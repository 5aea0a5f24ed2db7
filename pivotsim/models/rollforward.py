"""The market state rolled forward from its own date to the valuation date.

A scenario's ``market`` block is the network as observed on ``state_date``
(price, difficulty, block height, fees: usually the last day of data).  When
that day is before the valuation date, the days in between are simulated
with the scenario's own market model, so t = 0 is a distribution, one state
per path, and the base case (no noise) starts from the expected path.

The gap of ``g`` days is cut into ``k = max(1, round(g / 30.4375))`` steps of
``g / k`` days each.  A step is one step of the monthly model with its
parameters rescaled to the step's length, ``f = (g / k) / (365.25 / 12)``
months:

* price: ``mu f``, ``sigma sqrt(f)``, jump intensity ``lambda f`` (jump sizes
  unchanged), so ``E[S] = S_0 exp(mu t)`` over the real gap; a
  ``bootstrap`` price model steps as a GBM with its ``btc_volatility_per_year``
  (a block of historical months does not fit a gap of days);
* hashrate: exogenous growth ``(1 + g_H)^f - 1``, volatility ``s sqrt(f)``;
  response ``a f``, ``b f``, ``s sqrt(f)``, frontier ``1 - (1 - d)^f``;
  blocks come from the real days of each step;
* fees: reversion ``kappa f``, volatility ``sigma sqrt(f)``, spike chance
  ``1 - (1 - p)^f``;
* the power price is the site's at the valuation date and is not rolled.

After the gap, the market's state fields hold each path's values at the
valuation date (``btc_price_usd``, ``network_hashrate_eh_s`` with
``difficulty`` cleared, ``fees_btc_per_block``, ``block_height``: ``(n, 1)``
columns, floats for one path) and the marginal miner's J/TH has moved along
its frontier by the gap.  With no gap the market is returned as it is, so
every number is unchanged to the last bit.

Random numbers: the gap's shocks come from their own streams, one per name
of :data:`GAP_SHOCKS` (the engine's seed layout: :mod:`pivotsim.seeds`,
``gap_generator``), so rolling forward never moves another draw.

References
----------
DESIGN.md, "Economics" (block heights and halvings from the simulated
block interval); :mod:`pivotsim.models.market` for each driver's equations.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .market import (STREAM_SHOCKS, active_stream_shocks, draw_stream_shock, simulate_market)
from .timeline import BLOCKS_PER_DAY, HALVING_INTERVAL_BLOCKS

DAYS_PER_MONTH = 365.25 / 12.0
#: the gap's shocks, each from its own stream (:mod:`pivotsim.seeds`)
GAP_SHOCKS = ("btc_price", "network_hashrate", "btc_jump", "fees", "fee_spike")
#: prefix of the gap's shocks among the engine's shocks
GAP_PREFIX = "gap."
#: market fields that hold the state (replaced by each path's values at the valuation date)
STATE_FIELDS = ("btc_price_usd", "network_hashrate_eh_s", "fees_btc_per_block", "block_height")


def gap_days(state_date, valuation_date) -> int:
    """Days from the market state's date to the valuation date [days], >= 0.

    Raises
    ------
    ValueError
        When the state's date is after the valuation date.
    """
    if state_date is None:
        return 0
    days = (_as_date(valuation_date) - _as_date(state_date)).days
    if days < 0:
        raise ValueError(f"market.state_date: {state_date} is not allowed; must be on or before the "
                         f"valuation date ({valuation_date})")
    return days


def _as_date(x) -> dt.date:
    if isinstance(x, dt.datetime):
        return x.date()
    if isinstance(x, dt.date):
        return x
    return dt.date.fromisoformat(str(x)[:10])


def gap_steps(days: int) -> tuple[int, float]:
    """Steps of the gap and days per step: ``k = max(1, round(days / 30.4375))``, ``days / k``."""
    if days <= 0:
        return 0, 0.0
    steps = max(1, int(round(days / DAYS_PER_MONTH)))
    return steps, days / steps


def gap_shock_names(market) -> tuple[str, ...]:
    """The names of :data:`GAP_SHOCKS` that the market's settings use in the gap."""
    active = set(active_stream_shocks(_gap_market(market, 1.0)))
    return tuple(name for name in GAP_SHOCKS if name in ("btc_price", "network_hashrate") or name in active)


def draw_gap_shocks(stream: Callable[[str], np.random.Generator], n_paths: int, n_steps: int,
                    market) -> dict[str, np.ndarray]:
    """Shocks of the gap ``(n_paths, n_steps)``, each name from its own generator ``stream(name)``.

    Normals for ``btc_price``, ``network_hashrate`` and ``fees``; uniforms for
    ``btc_jump`` and ``fee_spike`` (as the monthly model's shocks).
    """
    shocks = {}
    for name in gap_shock_names(market):
        rng = stream(name)
        if name in STREAM_SHOCKS:
            shocks[name] = draw_stream_shock(name, rng, n_paths, n_steps)
        else:
            shocks[name] = rng.standard_normal((n_paths, n_steps))
    return shocks


@dataclass(frozen=True)
class _GapTimeline:
    """The gap as a grid of equal steps: model time counts one step as a month of rescaled parameters."""

    n_steps: int
    step_days: float

    @property
    def horizon_months(self) -> int:
        return self.n_steps

    @property
    def n_periods(self) -> int:
        return self.n_steps + 1

    @property
    def days(self) -> np.ndarray:
        days = np.full(self.n_periods, self.step_days)
        days[0] = 0.0
        return days

    @property
    def years(self) -> np.ndarray:
        return np.arange(self.n_periods) / 12.0


class MarketView:
    """The market with some fields replaced: reads everything else from the market it wraps.

    A view, not a copy, so any read-only namespace (the CRN engine's
    recorders included) can be rolled forward.
    """

    def __init__(self, base, **values):
        object.__setattr__(self, "_base", base)
        object.__setattr__(self, "_values", values)

    def __getattr__(self, name):
        values = object.__getattribute__(self, "_values")
        if name in values:
            return values[name]
        return getattr(object.__getattribute__(self, "_base"), name)

    def __setattr__(self, name, value):
        object.__getattribute__(self, "_values")[name] = value


def _scaled_share(rate, f: float):
    """A per-year (or per-month) compound rate over f periods: ``(1 + r)^f - 1`` with r = -rate for declines."""
    return -np.expm1(f * np.log1p(-np.asarray(rate, dtype=float)))


def _gap_market(market, f: float):
    """The market with every rate rescaled to steps of f months (see the module docstring)."""
    m = MarketView(market)
    root = math.sqrt(f)
    m.btc_drift_per_year = np.asarray(market.btc_drift_per_year, dtype=float) * f
    m.btc_volatility_per_year = np.asarray(market.btc_volatility_per_year, dtype=float) * root
    if market.price_model == "bootstrap":
        m.price_model = "gbm"
    m.btc_jump_intensity_per_year = np.asarray(market.btc_jump_intensity_per_year, dtype=float) * f
    m.hashrate_volatility_per_year = np.asarray(market.hashrate_volatility_per_year, dtype=float) * root
    if market.hashrate_growth_per_year is not None:
        m.hashrate_growth_per_year = np.expm1(f * np.log1p(np.asarray(market.hashrate_growth_per_year, dtype=float)))
    m.hashrate_response_intercept_per_month = np.asarray(market.hashrate_response_intercept_per_month,
                                                         dtype=float) * f
    m.hashrate_response_slope_per_month = np.asarray(market.hashrate_response_slope_per_month, dtype=float) * f
    m.efficiency_frontier_decline_per_year = _scaled_share(market.efficiency_frontier_decline_per_year, f)
    m.fee_mean_reversion_per_year = np.asarray(market.fee_mean_reversion_per_year, dtype=float) * f
    m.fee_volatility_per_year = np.asarray(market.fee_volatility_per_year, dtype=float) * root
    m.fee_spike_probability_per_month = _scaled_share(market.fee_spike_probability_per_month, f)
    m.power_price_volatility_per_year = 0.0
    m.power_price_mean_reversion_per_year = 0.0
    return m


@dataclass
class RolledMarket:
    """The market at the valuation date, per path.

    Attributes
    ----------
    market : namespace
        ``inputs.market`` with its state fields at the valuation date (the
        input itself when there is no gap).
    gap_days : int
        Days simulated [days].
    """

    market: object
    gap_days: int


def _state_value(column: np.ndarray):
    """The last column of a path array: ``(n, 1)``, or a float for one path."""
    last = np.ascontiguousarray(column[:, -1:])
    return float(last[0, 0]) if last.shape[0] == 1 else last


def _without_power_price(name: str, function, *args):
    """Stage runner of the gap's market: the power price is not rolled, so not simulated."""
    return None if name == "power_price" else function(*args)


def rolled_state(market, site, days: int, valuation_date, shocks: dict[str, np.ndarray]) -> dict:
    """The fields of the market that the gap of ``days`` days changes, per path (see :func:`roll_forward`)."""
    n_steps, step_days = gap_steps(days)
    f = step_days / DAYS_PER_MONTH
    gap_market = _gap_market(market, f)
    shocks = dict(shocks)
    n_paths = max([1] + [s.shape[0] for s in shocks.values()])
    for name in ("btc_price", "network_hashrate"):
        shocks.setdefault(name, np.zeros((1, n_steps)))
    for name, values in shocks.items():
        if values.shape[1] != n_steps:
            raise ValueError(f"gap shock {name!r} has {values.shape[1]} steps; the gap of {days} days has {n_steps}")
    paths = simulate_market(gap_market, site, _GapTimeline(n_steps, step_days), shocks, stage=_without_power_price)
    n = max(n_paths, paths.btc_price_usd.shape[0])

    def state(x):
        return _state_value(np.broadcast_to(x, (n, x.shape[1])))

    rolled = {"btc_price_usd": state(paths.btc_price_usd), "network_hashrate_eh_s": state(paths.network_hashrate_eh_s),
              "difficulty": None, "fees_btc_per_block": state(paths.fees_btc_per_block),
              "block_height": state(paths.block_height)}
    if market.marginal_miner_efficiency_j_per_th is not None:
        efficiency = market.marginal_miner_efficiency_j_per_th * np.power(
            1.0 - np.asarray(market.efficiency_frontier_decline_per_year, dtype=float), days / 365.25)
        rolled["marginal_miner_efficiency_j_per_th"] = float(efficiency) if np.ndim(efficiency) == 0 else efficiency
    rolled["state_date"] = _as_date(valuation_date)
    return rolled


def roll_forward(market, site, state_date, valuation_date, shocks: dict[str, np.ndarray] | None = None, *,
                 stage=None) -> RolledMarket:
    """Simulate the market from ``state_date`` to ``valuation_date``; the state at the end, per path.

    Parameters
    ----------
    market : namespace
        ``inputs.market``: its state (price [USD], difficulty or hashrate
        [EH/s], fees [BTC/block], block height [blocks]) is at ``state_date``.
    site : namespace
        ``inputs.site`` (only to satisfy the power-price driver, not rolled).
    state_date, valuation_date : date
        ``state_date`` None or equal to the valuation date: no gap.
    shocks : dict of str -> ndarray (n_paths, n_steps), optional
        From :func:`draw_gap_shocks`; missing names (the base case) are zeros:
        the expected path.
    stage : callable(name, function, *args), optional
        Runs :func:`rolled_state` as a stage named ``roll_forward`` (see
        :func:`pivotsim.models.market.simulate_market`).

    Returns
    -------
    RolledMarket
    """
    days = gap_days(state_date, valuation_date)
    if days == 0:
        return RolledMarket(market=market, gap_days=0)
    args = (market, site, days, valuation_date, shocks or {})
    values = rolled_state(*args) if stage is None else stage("roll_forward", rolled_state, *args)
    return RolledMarket(market=MarketView(market, **values), gap_days=days)


# --------------------------------------------------------------------------- halvings

def next_halving_height(block_height) -> np.ndarray:
    """Height of the next halving above each height [blocks] (the protocol's 210,000-block eras)."""
    h = np.floor(np.asarray(block_height, dtype=float))
    return (h // HALVING_INTERVAL_BLOCKS + 1) * HALVING_INTERVAL_BLOCKS


def halving_days(block_height: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Days from t = 0 until each path's height reaches the next halving [days] (NaN past the horizon).

    Parameters
    ----------
    block_height : ndarray (n_paths, n_periods)
        Height at each column's date [blocks] (column 0: t = 0).
    days : ndarray (n_periods,)
        Days of each column's month (0 for t = 0) [days].

    Returns
    -------
    ndarray (n_paths,)
        The crossing is interpolated linearly within its month (blocks come
        at a steady rate inside a month in the model).
    """
    heights = np.atleast_2d(np.asarray(block_height, dtype=float))
    target = next_halving_height(heights[:, 0])
    elapsed = np.cumsum(np.asarray(days, dtype=float))
    out = np.full(heights.shape[0], np.nan)
    above = heights >= target[:, None]
    crossed = above.any(axis=1)
    first = np.argmax(above, axis=1)
    for i in np.flatnonzero(crossed):
        m = first[i]
        if m == 0:
            out[i] = 0.0
            continue
        h0, h1 = heights[i, m - 1], heights[i, m]
        share = (target[i] - h0) / (h1 - h0) if h1 > h0 else 1.0
        out[i] = elapsed[m - 1] + share * (elapsed[m] - elapsed[m - 1])
    return out


def expected_halving_days_at_target_rate(block_height) -> np.ndarray:
    """Days to the next halving at exactly 144 blocks a day [days] (the protocol's target interval)."""
    h = np.asarray(block_height, dtype=float)
    return (next_halving_height(h) - h) / BLOCKS_PER_DAY


# --------------------------------------------------------------------------- the state at the valuation date

#: per-path figures of the market at the valuation date (:func:`state_at_valuation`)
AT_VALUATION = ("btc_price_usd", "hashprice_usd_per_ph_day", "network_hashrate_eh_s", "block_height",
                "next_halving_days")


def state_at_valuation(paths, days: np.ndarray, n_paths: int) -> dict[str, np.ndarray]:
    """The market at t = 0 of each path, and the days to its next halving.

    Parameters
    ----------
    paths : MarketPaths
        Paths from the valuation date (rows: one per path, or one for all).
    days : ndarray (n_periods,)
        Days of each column's month [days].
    n_paths : int

    Returns
    -------
    dict of str -> ndarray (n_paths,)
        Each name of :data:`AT_VALUATION`: price [USD], hashprice [USD/PH/day],
        hashrate [EH/s], block height [blocks] at t = 0, and days from t = 0
        to the next halving (:func:`halving_days`; NaN past the horizon).
    """
    def first(x):
        return np.broadcast_to(np.asarray(x, dtype=float)[:, 0], (n_paths,)).copy()

    heights = np.asarray(paths.block_height, dtype=float)
    return {"btc_price_usd": first(paths.btc_price_usd),
            "hashprice_usd_per_ph_day": first(paths.hashprice_usd_per_ph_day),
            "network_hashrate_eh_s": first(paths.network_hashrate_eh_s),
            "block_height": first(heights),
            "next_halving_days": np.broadcast_to(halving_days(heights, days), (n_paths,)).copy()}


def describe_at_valuation(per_path: dict[str, np.ndarray], base: dict[str, np.ndarray], valuation_date,
                          gap_days_: int) -> dict:
    """The ``market.at_valuation`` block of a run summary.

    Parameters
    ----------
    per_path : dict of str -> ndarray (n_paths,)
        :func:`state_at_valuation` of the Monte Carlo paths.
    base : dict of str -> ndarray (1,)
        The same of the base case (the expected path).
    valuation_date : date
    gap_days_ : int
        Days rolled forward.

    Returns
    -------
    dict
        Per figure ``{"p5", "p50", "p95", "base"}``; ``next_halving``:
        ``{"expected": base-case date, "p5": date, "p95": date}`` (ISO
        strings; None when the halving is past the horizon).
    """
    day0 = _as_date(valuation_date)
    out = {"state_days_before_valuation": int(gap_days_)}
    for name in AT_VALUATION[:-1]:
        values = per_path[name]
        p5, p50, p95 = np.percentile(values, [5, 50, 95])
        out[name] = {"p5": float(p5), "p50": float(p50), "p95": float(p95), "base": float(base[name][0])}

    def date_of(days):
        return None if not np.isfinite(days) else (day0 + dt.timedelta(days=float(days))).isoformat()

    days = per_path["next_halving_days"]
    finite = days[np.isfinite(days)]
    # a path whose halving is past the horizon counts as late (it sorts after every date)
    late = np.where(np.isfinite(days), days, np.inf)
    p5, p95 = (np.percentile(late, [5, 95], method="inverted_cdf") if finite.size else (np.nan, np.nan))
    out["next_halving"] = {"expected": date_of(base["next_halving_days"][0]), "p5": date_of(p5), "p95": date_of(p95)}
    return out
