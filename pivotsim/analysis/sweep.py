"""Sweeps: a scenario evaluated on a grid of one or two parameters, with common random numbers."""

from __future__ import annotations

import functools
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..runs import DEFAULT_SEED, describe
from ..distributed import default_threads
from ..errors import PivotsimError
from ..scenario import Scenario, resolve_scenario
from ..simulate import BUSINESSES
from . import forked
from .crn import DEFAULT_SWEEP_PATHS, CrnEngine, metric_needs
from .metrics import (NPV_DIFFERENCE, PROB_AI_BEATS, Metric, PointResult, check_levered, metric_value,
                      parse_metric)
from .parameters import check_axis_values, check_numeric_path, check_paths_seed, parse_axis, scenario_at

MAX_GRID_POINTS = 100_000
#: points per thread below which a sweep with default threads stays on one engine
MIN_POINTS_PER_THREAD = 16
#: statistics of a whole distribution in a sweep's frame
SWEEP_STATS = ("mean", "p5", "p50", "p95")


@dataclass
class SweepResult:
    """A grid of one or two parameters and the metrics at every point.

    Attributes
    ----------
    scenario : Scenario
    params : list of (str, ndarray)
        Swept paths and their values, in grid order (first = slowest).
    metrics : list of Metric
    paths, seed : int
    frame : DataFrame
        One row per point (see :meth:`to_frame`).
    computed : dict
        How many points, market path sets and business valuations were
        computed (the rest were reused).
    """

    scenario: Scenario
    params: list
    metrics: list
    paths: int
    seed: int
    frame: pd.DataFrame
    computed: dict = field(default_factory=dict)

    @property
    def param_paths(self) -> list[str]:
        return [p for p, _ in self.params]

    def to_frame(self) -> pd.DataFrame:
        """One row per point: parameter values, then each metric.

        A whole distribution gives ``<metric>.mean, .p5, .p50, .p95``
        columns; any other metric one column named by its path.  With Monte
        Carlo metrics, ``comparison.prob_ai_beats_bitcoin`` is added.
        """
        return self.frame.copy()

    def column(self, metric: Metric | str | None = None, stat: str = "mean") -> str:
        """Frame column of a metric (the first one by default)."""
        metric = self.metrics[0] if metric is None else (
            parse_metric(metric) if isinstance(metric, str) else metric)
        return metric.path if metric.is_scalar else f"{metric.path}.{stat}"

    def grid(self, metric: Metric | str | None = None, stat: str = "mean") -> np.ndarray:
        """A metric as an array shaped like the grid (n1,) or (n1, n2)."""
        shape = tuple(len(v) for _, v in self.params)
        return self.frame[self.column(metric, stat)].to_numpy().reshape(shape)

    def summary(self) -> dict:
        return {"scenario": self.scenario.name, "paths": self.paths, "seed": self.seed,
                "params": {p: [float(x) for x in v] for p, v in self.params},
                "metrics": [m.path for m in self.metrics], "computed": dict(self.computed)}


def _grid_order(n1: int, n2: int, swap: bool) -> list[tuple[int, int]]:
    if swap:
        return [(i, j) for j in range(n2) for i in range(n1)]
    return [(i, j) for i in range(n1) for j in range(n2)]


def _walk(order, threads, engine, new_engine, evaluate, results, progress, n_points) -> list[dict]:
    """Evaluate the points of ``order`` into ``results`` on one or more workers -> each worker's ``computed`` counts.

    Contiguous stretches of the walk go to the workers, so each engine still
    reuses market paths along the slow axis.  Workers beyond the first are
    forked processes where :func:`~pivotsim.analysis.forked.can_fork` (a
    point's Python work then runs in parallel), else threads.
    """
    # by default a second engine only pays for itself over a long walk (its own draws and market)
    wanted = default_threads() if threads is None else int(threads)
    n_workers = max(1, min(wanted, len(order) // (MIN_POINTS_PER_THREAD if threads is None else 1)))
    tick = forked.Ticks(progress, n_points, done=len(results))

    def store(ij, point) -> None:
        results[ij] = point

    size = -(-len(order) // n_workers)
    stretches = [order[k * size:(k + 1) * size] for k in range(n_workers)]
    if n_workers > 1 and forked.can_fork():
        return forked.walk_forked(stretches, engine, new_engine, evaluate, store, tick)
    engines = [engine] + [new_engine() for _ in range(n_workers - 1)]

    def walk(index: int, stretch) -> None:
        for ij in stretch:
            store(ij, evaluate(engines[index], ij))
            tick()

    if n_workers == 1:
        walk(0, order)
    else:
        with ThreadPoolExecutor(max_workers=n_workers) as pool:
            for future in [pool.submit(walk, k, stretch) for k, stretch in enumerate(stretches)]:
                future.result()
    return [e.computed for e in engines]


def sweep(scenario: Scenario | str | Path, params, metrics: Sequence[str] | str = (NPV_DIFFERENCE,), *,
          paths: int = DEFAULT_SWEEP_PATHS, seed: int = DEFAULT_SEED, overrides: Sequence[str] = (),
          progress: Callable[[int, int], None] | None = None, threads: int | None = None,
          debt_at_close: bool = False) -> SweepResult:
    """Evaluate a scenario on a grid of one or two parameters, with common random numbers.

    Parameters
    ----------
    scenario : Scenario or path
    params : dict of str -> sequence of float, or sequence of str
        Swept paths and their values, or ``path=start:stop:count`` /
        ``path=a,b,c`` strings.  One or two parameters.
    metrics : str or sequence of str
        Metric paths (:data:`METRICS`); default the Monte Carlo NPV
        difference, AI minus bitcoin.
    paths : int
        Monte Carlo paths per point (the same draws at every point).
    seed : int
    overrides : sequence of str
        ``--set`` overrides applied before sweeping.
    progress : callable(done_points, total_points), optional
    threads : int, optional
        Threads evaluating points at once, as ``pivotsim.run``'s (default:
        the usable CPUs, at most 8, and one per 16 points).  Each thread
        walks its own stretch of the grid with its own engine; a point's
        numbers do not depend on which thread or engine computed it (the
        engine's reuse is exact), only ``computed`` counts more work.
    debt_at_close : bool
        Keep the debt sized on the scenario's own base case (not at each point, as ``run --set``).

    Returns
    -------
    SweepResult

    Raises
    ------
    PivotsimError
        Bad paths, values, counts or metrics (before any computation).
    """
    check_paths_seed(paths, seed)
    if threads is not None and (isinstance(threads, bool) or int(threads) < 1):
        raise PivotsimError(f"threads: {threads!r} is not allowed; must be a whole number >= 1")
    scenario = resolve_scenario(scenario, overrides)
    if isinstance(params, Mapping):
        axes = [(str(p), check_axis_values(str(p), v)) for p, v in params.items()]
    else:
        axes = [parse_axis(spec) for spec in ([params] if isinstance(params, str) else params)]
    if not 1 <= len(axes) <= 2:
        raise PivotsimError(f"--param: {len(axes)} parameters given; a sweep takes 1 or 2")
    if len(axes) == 2 and axes[0][0] == axes[1][0]:
        raise PivotsimError(f"--param {axes[0][0]}: given twice; give two different parameters")
    for path, _ in axes:
        check_numeric_path(scenario, path)
    n_points = math.prod(len(v) for _, v in axes)
    if n_points > MAX_GRID_POINTS:
        raise PivotsimError(f"--param: {n_points:,} grid points; at most {MAX_GRID_POINTS:,}")
    metric_list = [parse_metric(m) for m in ([metrics] if isinstance(metrics, str) else metrics)]
    if not metric_list:
        raise PivotsimError("--metric: give at least one metric")
    check_levered(metric_list, scenario)
    need, need_base = metric_needs(metric_list)
    monte_carlo = any(m.kind != "base" for m in metric_list)
    if monte_carlo:  # P(AI beats bitcoin) is always reported with Monte Carlo metrics
        for business in BUSINESSES:
            need[business].append("npv_usd")
    swept = [p for p, _ in axes]

    # Validate every value alone first: a bad value stops the sweep before it
    # starts (for one parameter these are the points).  A point of two values
    # is validated by the thread that evaluates it, so its Python work
    # overlaps another thread's arrays; a pair that fails only together stops
    # the sweep when reached.
    shape = [len(v) for _, v in axes] + ([1] if len(axes) == 1 else [])
    values2 = [axes[0][1], axes[1][1] if len(axes) == 2 else np.array([math.nan])]
    alone = [{float(v): scenario_at(scenario, {path: v}) for v in values} for path, values in axes]
    scenarios: dict[tuple[int, int], Scenario] = (
        {(i, 0): alone[0][float(v)] for i, v in enumerate(values2[0])} if len(axes) == 1 else {})

    new_engine = functools.partial(CrnEngine, scenario, swept, paths=int(paths) if monte_carlo else 0, seed=int(seed),
                                   path_metrics=need, base=need_base, base_metrics=metric_list, at_close=debt_at_close)
    engine = new_engine()
    results: dict[tuple[int, int], PointResult] = {}

    def values_at(i, j):
        point = {swept[0]: values2[0][i]}
        if len(axes) == 2:
            point[swept[1]] = values2[1][j]
        return point

    # The first point tells which swept parameter the market reads; the grid
    # is then walked with that parameter changing slowest, so market paths
    # are built once per value of it.
    results[0, 0] = engine.evaluate(values_at(0, 0), scenarios.get((0, 0)))
    done = 1
    if progress is not None:
        progress(done, n_points)
    swap = len(axes) == 2 and swept[1] in engine.market_reads and swept[0] not in engine.market_reads
    order = [ij for ij in _grid_order(shape[0], shape[1], swap) if ij not in results]
    counts = _walk(order, threads, engine, new_engine, lambda e, ij: e.evaluate(values_at(*ij), scenarios.get(ij)),
                   results, progress, n_points)
    computed = {key: sum(c.get(key, 0) for c in counts) for key in engine.computed}

    rows = []
    for i in range(shape[0]):
        for j in range(shape[1]):
            row = dict(values_at(i, j))
            point = results[i, j]
            for metric in metric_list:
                if metric.is_scalar:
                    row[metric.path] = metric_value(point, metric)
                else:
                    stats = describe(point.paths[metric.path_metric])
                    for stat in SWEEP_STATS:
                        row[f"{metric.path}.{stat}"] = math.nan if stats[stat] is None else stats[stat]
            if monte_carlo and PROB_AI_BEATS not in row and point.paths.get("npv_difference_usd") is not None:
                row[PROB_AI_BEATS] = metric_value(point, parse_metric(PROB_AI_BEATS))
            rows.append(row)
    return SweepResult(scenario=scenario, params=axes, metrics=metric_list, paths=int(paths) if monte_carlo else 0,
                       seed=int(seed), frame=pd.DataFrame(rows), computed=computed)
