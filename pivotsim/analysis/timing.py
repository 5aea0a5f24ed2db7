"""Keep mining, convert now, or convert later, and how much: the switching option of a mining site.

State per path and month: the market pivotsim simulates for mining (BTC
price, network hashrate, fees, power price, through the same engine as a
run) and the AI lease market's colocation rent index
(:mod:`pivotsim.models.lease_market`).  At each decision month the operator
may convert a block of megawatts that still mines to a colocation lease,
irreversibly, on the terms of :mod:`pivotsim.models.conversion`.

Valuation by least-squares Monte Carlo (:mod:`pivotsim.analysis.options`):
the continuation value is regressed on basis functions of the state
(hashprice, the rent index, and the power price when it is uncertain; one
regression per decision month, so time enters through the coefficients) on
a *fit* set of paths; the fitted rule is then applied to an independent
*pricing* set: the optimal value is a low-biased estimate with its standard
error.  Blocks are decided one at a time: block 1's option first, then
block 2's given block 1's conversion date (it may convert from the next
decision month on), and so on; the MW not in any block always mine.

The fit set uses blocks of paths 0, 1, ... of the run's seed, the pricing
set blocks :data:`PRICING_BLOCK_OFFSET` + 0, 1, ..., both through the
engine's block generators, so every number is the same for any chunking
or number of threads.

References
----------
Longstaff and Schwartz (2001); Glasserman (2004), sec. 8.6.  DESIGN.md,
"The decision, not only the comparison".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..defaults import DEFAULT_TIMING_PATHS  # noqa: F401  (re-exported)
from .. import simulate as engine
from ..distributed import default_threads, local_executor
from ..errors import PivotsimError, ScenarioError
from ..inputs import to_inputs
from ..models import finance
from ..models.conversion import (ConversionTerms, asic_resale_usd_per_mw, discount_factors, exercise_coefficients,
                                 mining_between_dates)
from ..models.lease_market import LeaseIndex, draw_index_shocks, lease_index_generator, lease_index_paths
from ..models.mining import mining_cash_flows
from ..runs import DEFAULT_SEED
from ..scenario import Scenario, load_scenario
from .options import StoppingPolicy, apply_stopping_policy, check_basis, fit_stopping_policy, mean_and_se

#: first block index of the pricing set (the fit set starts at block 0)
PRICING_BLOCK_OFFSET = 1_000_000
WITHIN_YEARS = (1, 2, 5)
#: points of the hashprice grid of the exercise boundary, per year
BOUNDARY_POINTS = 25


@dataclass(frozen=True)
class TimingOption:
    """The switching option of a mining site.

    Attributes
    ----------
    terms : ConversionTerms
        Cost and lease of converting one grid MW.
    rent_index : LeaseIndex
        Colocation rent index [USD per kW-month].
    blocks : tuple of float
        Shares of the site's grid MW, decided one at a time; sum <= 1.
    decision_every_months : int
        Months between decision dates (first at t = 0).
    deadline_month : int or None
        Last month a conversion may be decided (default: H - build_months - 1).
    basis_order : int
        Degree of the regression basis, 1..6.
    basis : str
        ``polynomial`` or ``laguerre``.
    discount_rate : float or None
        Annual rate; default the scenario's ``finance.discount_rate``.
    """

    terms: ConversionTerms
    rent_index: LeaseIndex
    blocks: tuple = (1.0,)
    decision_every_months: int = 1
    deadline_month: int | None = None
    basis_order: int = 3
    basis: str = "polynomial"
    discount_rate: float | None = None

    def __post_init__(self):
        blocks = tuple(float(b) for b in self.blocks)
        object.__setattr__(self, "blocks", blocks)
        if not blocks or any(not 0 < b <= 1 for b in blocks):
            raise ValueError(f"blocks: {list(blocks)!r} is not allowed; each block is a share in (0, 1]")
        if sum(blocks) > 1 + 1e-9:
            raise ValueError(f"blocks: shares sum to {sum(blocks):g}; they must add up to at most 1 (the site)")
        if not (int(self.decision_every_months) == self.decision_every_months and self.decision_every_months >= 1):
            raise ValueError(f"decision_every_months: {self.decision_every_months!r} is not allowed; must be >= 1")
        if self.deadline_month is not None and not self.deadline_month >= 0:
            raise ValueError(f"deadline_month: {self.deadline_month!r} is not allowed; must be >= 0")
        check_basis(self.basis_order, self.basis)


def decision_months(option: TimingOption, horizon_months: int) -> np.ndarray:
    """Decision months 0, k, 2k, ... up to the deadline (and H - build_months - 1)."""
    build = int(option.terms.build_months)
    if build >= horizon_months:
        raise ValueError(f"build_months: {build} is not allowed; must be shorter than the horizon "
                         f"({horizon_months} months)")
    last = horizon_months - build - 1
    if option.deadline_month is not None:
        last = min(last, int(option.deadline_month))
    return np.arange(0, last + 1, int(option.decision_every_months))


@dataclass
class _Setup:
    """What every chunk of paths needs: dates, discounting, the closed-form parts of converting."""

    inputs: object
    option: TimingOption
    seed: int
    timeline: object
    dates: np.ndarray
    monthly_rate: float
    rent_factor: np.ndarray
    fixed: np.ndarray
    final_per_mw: float
    with_power: bool


def _setup(inputs, option: TimingOption, seed: int) -> _Setup:
    timeline = engine.timeline_of(inputs)
    horizon = timeline.horizon_months
    dates = decision_months(option, horizon)
    annual = inputs.finance.discount_rate if option.discount_rate is None else option.discount_rate
    rate = float(finance.monthly_rate(float(annual)))
    rent_factor, fixed = exercise_coefficients(option.terms, dates, horizon, rate)
    final = float(asic_resale_usd_per_mw(option.terms, horizon)) * discount_factors(rate, horizon)[horizon]
    with_power = bool(np.any(np.asarray(inputs.market.power_price_volatility_per_year) > 0))
    return _Setup(inputs, option, int(seed), timeline, dates, rate, rent_factor, fixed, final, with_power)


def _chunk(setup: _Setup, blocks: range, out: dict | None = None, start: int = 0) -> dict[str, np.ndarray]:
    """Per-MW arrays of the stopping problem for consecutive blocks of paths (one chunk).

    Date-major: ``exercise`` and ``running`` ``(D, n)``, ``features``
    ``(D, k, n)`` (each decision date's numbers contiguous for the
    regression kernels); ``final`` and ``site_mw`` ``(n,)``.  With ``out``
    (arrays of a whole path set) the chunk is written into its paths
    ``start .. start + n`` of those arrays instead.
    """
    inputs, horizon, dates = setup.inputs, setup.timeline.horizon_months, setup.dates
    draws = engine.block_draws(inputs, setup.seed, blocks)
    path_inputs = engine.with_draws(inputs, draws)
    n = draws.n_paths
    btc_shocks = draws.shocks["btc_price"]
    market = engine.market_paths(path_inputs, setup.timeline, draws.shocks)
    items = mining_cash_flows(path_inputs, market, setup.timeline, with_quantities=False).items
    site_mw = np.broadcast_to(np.asarray(path_inputs.site.grid_power_mw, dtype=float).reshape(-1, 1), (n, 1))
    mining = (items["revenue_usd"] + items["power_usd"] + items["opex_usd"] + items["capex_usd"]) / site_mw
    own = np.concatenate([draw_index_shocks(lease_index_generator(setup.seed, b, "rent"), engine.BLOCK_PATHS, horizon)
                          for b in blocks])
    rent = lease_index_paths(setup.option.rent_index, own, btc_shocks)[:, dates]
    states = [np.broadcast_to(market.hashprice_usd_per_ph_day, (n, horizon + 1))[:, dates], rent]
    if setup.with_power:
        states.append(np.broadcast_to(market.power_price_usd_per_kwh, (n, horizon + 1))[:, dates])
    if out is None:
        out = {"exercise": np.empty((len(dates), n)), "running": np.empty((len(dates), n)),
               "features": np.empty((len(dates), len(states), n)), "final": np.empty(n), "site_mw": np.empty(n)}
    cols = slice(start, start + n)
    out["exercise"][:, cols] = rent.T * setup.rent_factor[:, None] + setup.fixed[:, None]
    out["running"][:, cols] = mining_between_dates(mining, dates, setup.monthly_rate).T
    for f, state in enumerate(states):
        out["features"][:, f, cols] = state.T
    out["final"][cols] = setup.final_per_mw
    out["site_mw"][cols] = site_mw[:, 0]
    return out


def _n_states(setup: _Setup) -> int:
    return 3 if setup.with_power else 2


def _path_set(setup: _Setup, n_paths: int, first_block: int, threads: int, chunk_paths: int
              ) -> dict[str, np.ndarray]:
    """The stopping problem on ``n_paths`` paths from block ``first_block`` on, chunks written in place."""
    n_blocks = -(-int(n_paths) // engine.BLOCK_PATHS)
    total = n_blocks * engine.BLOCK_PATHS
    n_dates = len(setup.dates)
    out = {"exercise": np.empty((n_dates, total)), "running": np.empty((n_dates, total)),
           "features": np.empty((n_dates, _n_states(setup), total)), "final": np.empty(total),
           "site_mw": np.empty(total)}
    per_chunk = max(1, int(chunk_paths) // engine.BLOCK_PATHS)
    tasks = [(setup, range(first_block + b, first_block + min(b + per_chunk, n_blocks)), out,
              b * engine.BLOCK_PATHS) for b in range(0, n_blocks, per_chunk)]
    local_executor(threads).map(_chunk, tasks)
    if total == n_paths:
        return out
    return {name: np.ascontiguousarray(x[..., :n_paths]) for name, x in out.items()}


def _after(previous_stop: np.ndarray | None) -> np.ndarray | None:
    """A block may convert at decision dates after the previous block's (any date for block 1)."""
    return None if previous_stop is None else previous_stop.astype(float)


def _fit_policies(setup: _Setup, fit: dict) -> tuple[list[StoppingPolicy], np.ndarray]:
    """One policy per block, block after block on the fit set; and each fit path's site value."""
    option = setup.option
    policies, previous = [], None
    site_value = np.zeros(len(fit["final"]))
    for share in option.blocks:
        policy, values, stop = fit_stopping_policy(fit["exercise"], fit["features"], running=fit["running"],
                                                   final=fit["final"], after=_after(previous),
                                                   order=option.basis_order, kind=option.basis, date_major=True)
        policies.append(policy)
        site_value += share * fit["site_mw"] * values
        previous = stop
    return policies, site_value


def _price_chunk(setup: _Setup, policies: list[StoppingPolicy], blocks: range) -> dict[str, np.ndarray]:
    """Pricing-set values of one chunk: mine forever, convert now, the fitted policy; stop dates per block."""
    problem = _chunk(setup, blocks)
    args = dict(running=problem["running"], final=problem["final"], date_major=True)
    mine, _ = apply_stopping_policy(policies[0], problem["exercise"], problem["features"], never=True, **args)
    site_mw = problem["site_mw"]
    rest = 1.0 - sum(setup.option.blocks)
    mine_forever = rest * site_mw * mine
    convert_now = rest * site_mw * mine
    optimal = rest * site_mw * mine
    stops, previous = [], None
    for share, policy in zip(setup.option.blocks, policies):
        values, stop = apply_stopping_policy(policy, problem["exercise"], problem["features"],
                                             after=_after(previous), **args)
        mine_forever = mine_forever + share * site_mw * mine
        convert_now = convert_now + share * site_mw * problem["exercise"][0]
        optimal = optimal + share * site_mw * values
        stops.append(stop)
        previous = stop
    return {"mine_forever": mine_forever, "convert_now": convert_now, "optimal": optimal,
            "stop_date": np.stack(stops, axis=1)}


def _boundary(setup: _Setup, policy: StoppingPolicy, fit: dict) -> pd.DataFrame:
    """Rent index above which block 1 converts, against hashprice, at the first decision date of each year.

    Read off the fitted rule inside the cloud of simulated states only (a
    regression says nothing outside it): hashprice over its 5-95% range at
    that date, the rent threshold searched between the 1% and 99% rent
    quantiles (NaN when the crossing lies outside), other states (the power
    price) at their median.  The threshold is where the exercise value
    crosses the fitted continuation value (linear interpolation on a grid).
    """
    rows = []
    dates = setup.dates
    for year in range(0, int(dates[-1]) // 12 + 1):
        j = int(np.searchsorted(dates, 12 * year))
        if j >= len(dates) or dates[j] >= 12 * (year + 1):
            continue
        x = fit["features"][j].T
        hp_grid = np.quantile(x[:, 0], np.linspace(0.05, 0.95, BOUNDARY_POINTS))
        low, high = np.quantile(x[:, 1], [0.01, 0.99])
        rent_grid = np.linspace(low, high, 400) if high > low else np.linspace(0.5 * low, 2.0 * low, 400)
        for hp in (hp_grid if np.ptp(x[:, 0]) > 0 else hp_grid[:1]):
            state = np.tile(np.median(x, axis=0), (len(rent_grid), 1))
            state[:, 0], state[:, 1] = hp, rent_grid
            gap = rent_grid * setup.rent_factor[j] + setup.fixed[j] - policy.continuation(j, state)
            above = np.flatnonzero(gap > 0)
            threshold = math.nan
            if above.size and above[0] > 0:
                k = above[0]
                threshold = float(rent_grid[k - 1] + (rent_grid[k] - rent_grid[k - 1]) * -gap[k - 1]
                                  / (gap[k] - gap[k - 1]))
            rows.append({"year": year, "decision_month": int(dates[j]), "hashprice_usd_per_ph_day": float(hp),
                         "rent_threshold_usd_per_kw_month": threshold})
    return pd.DataFrame(rows, columns=["year", "decision_month", "hashprice_usd_per_ph_day",
                                       "rent_threshold_usd_per_kw_month"])


@dataclass
class TimingResult:
    """Values of mining forever, converting now and the optimal conversion policy (LSM), and its shape.

    Attributes
    ----------
    per_path : dict of str -> ndarray
        Pricing-set values per path [USD]: ``mine_forever``, ``convert_now``,
        ``optimal``; ``conversion_month`` ``(paths, blocks)`` (NaN: never).
    in_sample_optimal_usd : float
        The fit set's own value under its policy (biased upwards).
    boundary : DataFrame
        Exercise boundary of block 1 (see :func:`_boundary`).
    option : TimingOption
    paths, fit_paths, seed, horizon_months : int
    site_mw : float
        Mean grid MW of the site.
    """

    per_path: dict
    in_sample_optimal_usd: float
    boundary: pd.DataFrame
    option: TimingOption
    paths: int
    fit_paths: int
    seed: int
    horizon_months: int
    site_mw: float
    scenario_name: str = ""
    extra: dict = field(default_factory=dict)

    def prob_convert_within_years(self, block: int | None = None) -> dict[str, float]:
        """P(a conversion is decided within 1, 2, 5 years): block 1 (any conversion) or a given block."""
        months = self.per_path["conversion_month"][:, 0 if block is None else block]
        return {str(y): float(np.mean(months < 12 * y)) for y in WITHIN_YEARS}

    def summary(self) -> dict:
        """Headline values [USD], their standard errors, and the conversion probabilities."""
        mine, mine_se = mean_and_se(self.per_path["mine_forever"])
        now, now_se = mean_and_se(self.per_path["convert_now"])
        optimal, optimal_se = mean_and_se(self.per_path["optimal"])
        best_static = self.per_path["mine_forever"] if mine >= now else self.per_path["convert_now"]
        waiting, waiting_se = mean_and_se(self.per_path["optimal"] - best_static)
        blocks = []
        for b, share in enumerate(self.option.blocks):
            months = self.per_path["conversion_month"][:, b]
            converted = months[np.isfinite(months)]
            blocks.append({"share": share, "mw": share * self.site_mw,
                           "prob_convert": float(np.isfinite(months).mean()),
                           "prob_convert_within_years": self.prob_convert_within_years(b),
                           "median_conversion_month": float(np.median(converted)) if converted.size else None})
        return {
            "scenario": self.scenario_name,
            "value_mine_forever_usd": mine, "value_mine_forever_se_usd": mine_se,
            "value_convert_now_usd": now, "value_convert_now_se_usd": now_se,
            "value_optimal_usd": optimal, "value_optimal_se_usd": optimal_se,
            "value_optimal_in_sample_usd": self.in_sample_optimal_usd,
            "option_value_of_waiting_usd": waiting, "option_value_of_waiting_se_usd": waiting_se,
            "value_of_waiting_vs_convert_now_usd": optimal - now,
            "prob_convert_within_years": self.prob_convert_within_years(),
            "blocks": blocks,
            "paths": self.paths, "fit_paths": self.fit_paths, "seed": self.seed,
            "horizon_months": self.horizon_months, "site_mw": self.site_mw,
            "basis": self.option.basis, "basis_order": self.option.basis_order,
            "decision_every_months": self.option.decision_every_months,
        }

    def to_frame(self) -> pd.DataFrame:
        """Share of paths converting each block, by year of the decision (rows) and block (columns)."""
        months = self.per_path["conversion_month"]
        years = np.arange(int(math.ceil((self.horizon_months + 1) / 12)))
        data = {f"block_{b + 1}": [float(np.mean((months[:, b] >= 12 * y) & (months[:, b] < 12 * (y + 1))))
                                   for y in years] for b in range(months.shape[1])}
        frame = pd.DataFrame(data, index=pd.Index(years, name="year"))
        return frame


def value_timing(inputs, option: TimingOption, paths: int, seed: int, *, fit_paths: int | None = None,
                 threads: int = 1, chunk_paths: int = engine.CHUNK_PATHS, scenario_name: str = "") -> TimingResult:
    """Value the switching option of a mining site by least-squares Monte Carlo.

    Parameters
    ----------
    inputs : namespace
        Plain scenario values (:func:`pivotsim.scenario.to_inputs`): the site, the mining fleet, the market.
    option : TimingOption
    paths : int
        Pricing paths, >= 2.
    seed : int
        Run seed, >= 0.
    fit_paths : int, optional
        Paths of the fit set (default ``paths``).
    threads : int
        Threads evaluating chunks of paths; never changes a number.
    chunk_paths : int
        Paths evaluated together; never changes a number.

    Returns
    -------
    TimingResult
    """
    if not int(paths) >= 2:
        raise ValueError(f"paths: {paths!r} is not allowed; must be >= 2")
    fit_paths = int(paths if fit_paths is None else fit_paths)
    setup = _setup(inputs, option, seed)
    fit = _path_set(setup, fit_paths, 0, threads, chunk_paths)
    policies, fit_values = _fit_policies(setup, fit)
    boundary = _boundary(setup, policies[0], fit)
    del fit
    n_blocks = -(-int(paths) // engine.BLOCK_PATHS)
    per_chunk = max(1, int(chunk_paths) // engine.BLOCK_PATHS)
    tasks = [(setup, policies, range(PRICING_BLOCK_OFFSET + b, PRICING_BLOCK_OFFSET + min(b + per_chunk, n_blocks)))
             for b in range(0, n_blocks, per_chunk)]
    parts = local_executor(threads).map(_price_chunk, tasks)
    priced = {name: np.concatenate([p[name] for p in parts])[:int(paths)] for name in parts[0]}
    stop = priced.pop("stop_date")
    months = np.where(stop < len(setup.dates), setup.dates[np.minimum(stop, len(setup.dates) - 1)], np.nan)
    priced["conversion_month"] = months.astype(float)
    site_mw = float(np.mean(np.asarray(inputs.site.grid_power_mw, dtype=float)))
    return TimingResult(per_path=priced, in_sample_optimal_usd=float(fit_values.mean()), boundary=boundary,
                        option=option, paths=int(paths), fit_paths=fit_paths, seed=int(seed),
                        horizon_months=setup.timeline.horizon_months, site_mw=site_mw, scenario_name=scenario_name)


def with_blocks(option: TimingOption, blocks) -> TimingOption:
    """The same option with other blocks."""
    return replace(option, blocks=tuple(blocks))




def option_from_inputs(inputs) -> TimingOption:
    """The :class:`TimingOption` of a scenario's ``option:`` section (plain values, :func:`~pivotsim.inputs.to_inputs`)."""
    o = inputs.option
    index = o.rent_index
    terms = ConversionTerms(
        conversion_capex_usd_per_mw=float(o.conversion_capex_usd_per_mw), build_months=int(o.build_months),
        term_months=int(o.term_months), rent_escalator_per_year=float(o.rent_escalator_per_year),
        ai_pue=float(o.ai_pue), opex_usd_per_mw_year=float(o.opex_usd_per_mw_year),
        tenant_funded_capex_share=float(o.tenant_funded_capex_share),
        prepayment_share=float(o.prepayment_share),
        asic_resale_usd_per_mw=float(o.asic_resale_usd_per_mw),
        asic_resale_decline_per_year=float(o.asic_resale_decline_per_year),
        facility_years=float(inputs.finance.depreciation.facility_years))
    rent = LeaseIndex(start=float(index.start_usd_per_kw_month), drift_per_year=float(index.drift_per_year),
                      volatility_per_year=float(index.volatility_per_year),
                      mean_reversion_per_year=float(index.mean_reversion_per_year),
                      long_run=None if index.long_run_usd_per_kw_month is None
                      else float(index.long_run_usd_per_kw_month),
                      btc_rank_correlation=float(index.btc_rank_correlation))
    return TimingOption(terms=terms, rent_index=rent, blocks=tuple(float(b.share) for b in o.blocks),
                        decision_every_months=int(o.decision_every_months),
                        deadline_month=None if o.deadline_month is None else int(o.deadline_month),
                        basis_order=int(o.basis_order), basis=o.basis,
                        discount_rate=None if o.discount_rate is None else float(o.discount_rate))


def timing(scenario: Scenario | str | Path, paths: int = DEFAULT_TIMING_PATHS, seed: int = DEFAULT_SEED, *,
           fit_paths: int | None = None, threads: int | None = None) -> TimingResult:
    """Keep mining, convert now, or convert later: the switching option of a scenario's site.

    Parameters
    ----------
    scenario : Scenario or path
        A scenario with an ``option:`` section.
    paths : int
        Pricing paths, >= 2 (the fit set has ``fit_paths``, default as many, independent).
    seed : int
    fit_paths : int, optional
    threads : int, optional
        Threads evaluating chunks of paths (default: the usable CPUs); never changes a number.

    Returns
    -------
    TimingResult
        ``.summary()`` (values of mining forever, converting now and the
        optimal policy with its s.e., the option value of waiting, P(conversion
        within 1/2/5 years)), ``.to_frame()`` (conversions by year and block),
        ``.boundary`` (exercise boundary).

    Examples
    --------
    >>> result = pivotsim.timing("iren_timing.yaml", paths=20_000)  # doctest: +SKIP
    >>> result.summary()["option_value_of_waiting_usd"]  # doctest: +SKIP
    """
    if isinstance(scenario, (str, Path)):
        scenario = load_scenario(scenario)
    if scenario.option is None:
        raise ScenarioError("has no `option:` section; add one (see the library deal iren_timing.yaml)",
                            file=scenario.file, path="option")
    if scenario.bitcoin.fleet != "existing":
        raise ScenarioError(f"{scenario.bitcoin.fleet!r} is not allowed with the switching option; it values a "
                            "site that already mines: use fleet: existing", file=scenario.file, path="bitcoin.fleet")
    if isinstance(paths, bool) or not isinstance(paths, int) or paths < 2:
        raise PivotsimError(f"paths: {paths!r} is not allowed; must be a whole number >= 2")
    inputs = to_inputs(scenario)
    try:
        option = option_from_inputs(inputs)
        decision_months(option, int(inputs.scenario.horizon_months))
    except ValueError as exc:
        raise ScenarioError(str(exc), file=scenario.file, path="option") from None
    return value_timing(inputs, option, paths, seed, fit_paths=fit_paths,
                        threads=default_threads() if threads is None else int(threads), scenario_name=scenario.name)
