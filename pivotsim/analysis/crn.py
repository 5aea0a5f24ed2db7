"""Common random numbers: one scenario evaluated at many parameter values with the same draws.

Every point of a sweep, and every step of a stochastic break-even search,
uses the block generators of :func:`pivotsim.simulate.block_generator` with
the same seed, so a sweep point equals ``pivotsim run --set path=value``
with the same seed to the last digit.

Market paths and each business's per-path metrics are kept between points
and reused when none of the swept parameters they read has changed.  What a
computation reads is recorded while it runs (a read-only view of the inputs
logs every attribute access), so the reuse is exact by construction and
follows the models as they change.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Mapping, Sequence

import numpy as np

from ..scenario import Scenario
from ..inputs import to_inputs
from ..simulate import (BLOCK_PATHS, BUSINESSES, CHUNK_PATHS, VALUATION_METRICS, base_case, base_case_kpis, block_draws,
                        business_cash_flows, business_metrics, discount_rate, market_paths, timeline_of,
                        valuation, with_draws)
from .metrics import Metric, PointResult
from .parameters import leaf_paths, scenario_at

#: Monte Carlo paths per point of a sweep or stochastic break-even, by default
DEFAULT_SWEEP_PATHS = 2_000


class _Recorder:
    """Read-only view of an inputs tree that logs the dotted path of every value read."""

    __slots__ = ("_node", "_path", "_log")

    def __init__(self, node, path: str, log: set):
        object.__setattr__(self, "_node", node)
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_log", log)

    def __getattr__(self, name):
        value = getattr(self._node, name)
        return _watch(value, f"{self._path}.{name}" if self._path else name, self._log)

    def __setattr__(self, name, value):
        raise AttributeError(f"inputs are read-only here (tried to set {self._path}.{name})")


def _watch(value, path: str, log: set):
    if isinstance(value, SimpleNamespace):
        return _Recorder(value, path, log)
    if isinstance(value, list) and value and all(isinstance(v, SimpleNamespace) for v in value):
        return [_Recorder(v, f"{path}.{i}", log) for i, v in enumerate(value)]
    log.add(path)
    return value


def _covered(path: str, reads: frozenset) -> bool:
    """Whether reading ``reads`` saw the leaf ``path`` (itself, a list holding it, or below it)."""
    if path in reads:
        return True
    head = path
    while "." in head:
        head = head.rpartition(".")[0]
        if head in reads:
            return True
    prefix = path + "."
    return any(r.startswith(prefix) for r in reads)


_MISSING = object()


def _same(a, b) -> bool:
    """Whether two input values are equal for the models (arrays element-wise, no NaN == NaN)."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b))
    if dataclasses.is_dataclass(a):
        # public fields only: private ones are caches derived from them (scipy objects)
        return all(_same(getattr(a, f.name), getattr(b, f.name))
                   for f in dataclasses.fields(a) if f.compare and not f.name.startswith("_"))
    if isinstance(a, SimpleNamespace):
        return _same(vars(a), vars(b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _leaves(inputs) -> dict[str, object]:
    """Every leaf of an inputs tree but the sources (never read by the models)."""
    return {p: v for p, v in leaf_paths(inputs).items() if not p.startswith("sources.")}


@dataclass
class _Entry:
    """A cached computation: what it read, where it was computed, what it gave."""

    id: int
    deps: tuple
    reads: frozenset
    delta: dict
    data: object


class _Memo:
    """Results reused while every input they read is unchanged.

    A point is described by its *delta*: the leaves of its inputs tree that
    differ from the engine's reference scenario.  An entry computed at one
    point is valid at another when, for every leaf in either delta that the
    computation read, both points hold the same value, and its dependencies
    (entries it was computed from) are the same.
    """

    def __init__(self, reference: dict, keep: int | None):
        self.reference = reference
        self.keep = keep
        self.entries: list[_Entry] = []

    def find(self, delta: dict, deps: tuple) -> _Entry | None:
        for entry in self.entries:
            if entry.deps == deps and self._valid(entry, delta):
                return entry
        return None

    def _valid(self, entry: _Entry, delta: dict) -> bool:
        for path in delta.keys() | entry.delta.keys():
            if _covered(path, entry.reads):
                ref = self.reference.get(path, _MISSING)
                if not _same(delta.get(path, ref), entry.delta.get(path, ref)):
                    return False
        return True

    def add(self, entry: _Entry) -> _Entry:
        self.entries.append(entry)
        if self.keep is not None and len(self.entries) > self.keep:
            del self.entries[: len(self.entries) - self.keep]
        return entry


class CrnEngine:
    """Evaluate one scenario at many parameter values with common random numbers.

    Monte Carlo metrics at a point are bit-for-bit those of
    ``pivotsim.run(scenario.with_overrides([...]), paths, seed)``: the engine
    calls the Monte Carlo's own steps (:func:`pivotsim.simulate.block_draws`,
    :func:`~pivotsim.simulate.with_draws`, :func:`~pivotsim.simulate.market_paths`,
    :func:`~pivotsim.simulate.business_cash_flows`,
    :func:`~pivotsim.simulate.business_metrics`) on the same chunks of blocks,
    but one at a time, so it can keep their results between points:

    * the random draws (market shocks and uncertain inputs) of every block;
    * the market paths;
    * each business's per-path metrics.

    Each is reused at the next point only when none of the inputs it read
    changed.  What a step reads is logged while it runs (it sees a
    read-only view of the inputs tree), and a point's changes are found by
    comparing its whole inputs tree with the scenario's, so the reuse is
    exact by construction and follows the models as they change.

    Uncertain inputs: every point draws them from the same streams, so all
    points see the same draws.  A swept parameter that the scenario gives a
    distribution is set to a fixed value at each point (as ``--set`` does,
    which also drops its correlations); the other inputs are then drawn
    without it, identically at every point.

    Parameters
    ----------
    scenario : Scenario
    swept : sequence of str
        Dotted paths that will vary (only used to report which of them the
        market read, see :attr:`market_reads`).
    paths : int
        Monte Carlo paths per point (0: base case only).
    seed : int
    path_metrics : dict of str -> sequence of str
        Valuation metrics needed per business, e.g. ``{"bitcoin": ["npv_usd"]}``.
    base : bool
        Compute the base-case metrics at each point.
    option : str
        Name used in error messages (``--param``).
    shock_horizon_months : int, optional
        As :func:`pivotsim.run`'s ``market_horizon_months``.
    """

    def __init__(self, scenario: Scenario, swept: Sequence[str], *, paths: int, seed: int,
                 path_metrics: Mapping[str, Sequence[str]], base: bool, option: str = "--param",
                 base_metrics: Sequence[Metric] | None = None, shock_horizon_months: int | None = None):
        self.scenario = scenario
        self.swept = tuple(swept)
        self.paths = int(paths)
        self.seed = int(seed)
        self.path_metrics = {b: tuple(dict.fromkeys(path_metrics.get(b, ()))) for b in BUSINESSES}
        if self.paths and not any(self.path_metrics.values()):
            self.path_metrics = {b: ("npv_usd",) for b in BUSINESSES}
        self.base = bool(base)
        self.base_metrics = list(base_metrics) if base_metrics is not None else None
        self.option = option
        self.shock_horizon_months = shock_horizon_months
        n_blocks = -(-self.paths // BLOCK_PATHS) if self.paths else 0
        per_chunk = max(1, CHUNK_PATHS // BLOCK_PATHS)
        self.chunks = [list(range(b, min(b + per_chunk, n_blocks))) for b in range(0, n_blocks, per_chunk)]
        reference = _leaves(to_inputs(scenario))
        self._draws = _Memo(reference, keep=1)
        self._market = _Memo(reference, keep=1)
        self._businesses = {b: _Memo(reference, keep=None) for b in BUSINESSES}
        self._ids = 0
        self._last_market: _Entry | None = None
        self.computed = {"draws": 0, "market": 0, "bitcoin": 0, "ai": 0, "points": 0}

    @property
    def market_reads(self) -> tuple[str, ...]:
        """Swept paths the market model read at the last computation."""
        entry = self._last_market
        return tuple(p for p in self.swept if entry is not None and _covered(p, entry.reads))

    def _step(self, memo: _Memo, name: str, delta: dict, deps: tuple, compute) -> _Entry:
        entry = memo.find(delta, deps)
        if entry is None:
            log: set = set()
            data = compute(log)
            self._ids += 1
            reads = frozenset(log)
            entry = memo.add(_Entry(self._ids, deps, reads,
                                    {p: v for p, v in delta.items() if _covered(p, reads)}, data))
            self.computed[name] += 1
        return entry

    def evaluate(self, values: Mapping[str, float], scenario: Scenario | None = None) -> PointResult:
        """Metrics at one point.

        Parameters
        ----------
        values : dict of str -> float
            A value for every swept path.
        scenario : Scenario, optional
            The already validated scenario at these values.
        """
        values = {p: float(values[p]) for p in self.swept}
        if scenario is None:
            scenario = scenario_at(self.scenario, values, option=self.option)
        inputs = to_inputs(scenario)
        point = PointResult()
        if self.base:
            point.base = base_point(inputs, scenario, self.base_metrics).base
        if self.paths:
            point.paths = self._paths(inputs)
        self.computed["points"] += 1
        return point

    def _paths(self, inputs) -> dict[str, np.ndarray]:
        leaves = _leaves(inputs)
        reference = self._draws.reference
        delta = {p: leaves.get(p, _MISSING) for p in leaves.keys() | reference.keys()
                 if not _same(leaves.get(p, _MISSING), reference.get(p, _MISSING))}
        seed, horizon = self.seed, self.shock_horizon_months

        draws = self._step(self._draws, "draws", delta, (), lambda log: [
            block_draws(_watch(inputs, "", log), seed, chunk, horizon) for chunk in self.chunks])
        # the trees with this point's values and the draws substituted
        trees = [with_draws(inputs, d) for d in draws.data]

        def markets(log):
            timeline = timeline_of(_watch(inputs, "", log))
            return [market_paths(_watch(tree, "", log), timeline, d.shocks) for tree, d in zip(trees, draws.data)]

        market = self._step(self._market, "market", delta, (draws.id,), markets)
        self._last_market = market
        out: dict[str, np.ndarray] = {}
        for business in BUSINESSES:
            names = self.path_metrics[business]
            if not names:
                continue

            def metrics(log, business=business, names=names):
                timeline = timeline_of(_watch(inputs, "", log))
                parts = []
                for tree, d, m in zip(trees, draws.data, market.data):
                    view = _watch(tree, "", log)
                    flows = business_cash_flows(business, view, m, timeline)
                    parts.append(business_metrics(business, flows, view, d.n_paths, names))
                return {k: np.concatenate([p[k] for p in parts])[: self.paths] for k in parts[0]}

            out.update(self._step(self._businesses[business], business, delta, (draws.id, market.id),
                                  metrics).data)
        if "bitcoin_npv_usd" in out and "ai_npv_usd" in out:
            out["npv_difference_usd"] = out["ai_npv_usd"] - out["bitcoin_npv_usd"]
        for path in draws.data[0].inputs:
            out[f"input.{path}"] = np.concatenate([d.inputs[path] for d in draws.data])[: self.paths]
        return out


def metric_needs(metrics: Sequence[Metric]) -> tuple[dict[str, list[str]], bool]:
    """Per-business valuation metrics and whether the base case is needed."""
    need: dict[str, list[str]] = {b: [] for b in BUSINESSES}
    base = False
    for metric in metrics:
        if metric.kind == "base":
            base = True
        elif metric.business == "comparison":
            need["bitcoin"].append("npv_usd")
            need["ai"].append("npv_usd")
        else:
            need[metric.business].append("npv_usd" if metric.key == "prob_npv_negative" else metric.key)
    return need, base


def base_point(inputs, scenario: Scenario, metrics: Sequence[Metric] | None = None) -> PointResult:
    """Base-case metrics of both businesses, only those ``metrics`` need when they are valuations.

    Valuation metrics (NPV, IRR, paybacks, funding) come from
    :func:`pivotsim.simulate.valuation`, as in the run summary; any other
    base metric takes the summary's own code.
    """
    flows, market = base_case(inputs)
    keys = {b: set() for b in BUSINESSES}
    full = metrics is None
    for metric in metrics or ():
        if metric.kind != "base" or metric.key not in VALUATION_METRICS and metric.business != "comparison":
            full = full or metric.kind == "base"
            continue
        for business in (BUSINESSES if metric.business == "comparison" else (metric.business,)):
            keys[business].add("npv_usd" if metric.business == "comparison" else metric.key)
    if full:
        return PointResult(base={b: base_case_kpis(inputs, flows[b], b) for b in BUSINESSES})
    base = {}
    for business in BUSINESSES:
        names = [k for k in VALUATION_METRICS if k in keys[business]]
        values = valuation(flows[business], discount_rate(inputs, business), names) if names else {}
        base[business] = {k: float(np.asarray(v).ravel()[0]) for k, v in values.items()}
    return PointResult(base=base)
