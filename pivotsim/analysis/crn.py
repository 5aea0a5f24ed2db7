"""Common random numbers: one scenario evaluated at many parameter values with the same draws.

Every point of a sweep, and every step of a stochastic break-even search,
uses the block generators of :func:`pivotsim.simulate.block_generator` with
the same seed, so a sweep point equals ``pivotsim run --set path=value``
with the same seed to the last digit.

Each driver of the market (BTC price, fees, power price, network hashrate)
and each business's per-path metrics are kept between points and reused
when every value they read is the same.  What a computation reads is
recorded while it runs (a read-only view of the inputs, and of the market
paths, logs every attribute access), so the reuse is exact by construction
and follows the models as they change: a power-price sweep re-values the
businesses on the same BTC price and hashrate paths, and the AI deal, which
never reads the BTC price, is valued once per power price.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import inspect
import types
from collections import OrderedDict
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Mapping, Sequence

import numpy as np

from ..errors import PivotsimError
from ..scenario import Scenario
from ..inputs import to_inputs
from ..levered import base_blocks, base_debt
from ..models import equity
from ..models.debt import DebtTerms
from ..models.market import MarketPaths
from ..models.rollforward import MarketView
from ..simulate import (BLOCK_PATHS, BUSINESSES, CHUNK_PATHS, VALUATION_METRICS, base_case, base_case_kpis, block_draws,
                        business_cash_flows, business_metrics, debt_terms, discount_rate, market_paths,
                        timeline_of, valuation, with_draws)
from .metrics import Metric, PointResult
from .parameters import leaf_paths, scenario_at

#: Monte Carlo paths per point of a sweep or stochastic break-even, by default
DEFAULT_SWEEP_PATHS = 2_000


#: objects read through a recorder (their attribute reads are logged), not as values
_WATCHED = (SimpleNamespace, MarketView, MarketPaths)


class _Recorder:
    """Read-only view of an inputs tree (or of market paths) that logs every value read.

    ``log`` maps the dotted path of each value read to the value (the first
    read).  A method or property of the object runs on the view, so what it
    reads is logged too (``MarketPaths.month_mean``).
    """

    __slots__ = ("_node", "_path", "_log")

    def __init__(self, node, path: str, log: dict):
        object.__setattr__(self, "_node", node)
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_log", log)

    def __getattr__(self, name):
        attribute = getattr(type(self._node), name, None)
        if isinstance(attribute, property):
            return attribute.fget(self)
        if isinstance(attribute, types.FunctionType):
            return types.MethodType(attribute, self)
        value = getattr(self._node, name)
        return _watch(value, f"{self._path}.{name}" if self._path else name, self._log)

    def __setattr__(self, name, value):
        raise AttributeError(f"inputs are read-only here (tried to set {self._path}.{name})")


def _watch(value, path: str, log: dict):
    if isinstance(value, _WATCHED):
        return _Recorder(value, path, log)
    if isinstance(value, list) and value and all(isinstance(v, _WATCHED) for v in value):
        log.setdefault(f"{path}.len", len(value))
        return [_Recorder(v, f"{path}.{i}", log) for i, v in enumerate(value)]
    log.setdefault(path, value)
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


#: arrays of one column (per-path draws, rolled states), vectors and arrays up to this
#: many elements are compared by value in a stage's reads; monthly arrays (shocks,
#: market paths) by identity: they come from the draws or from another stage, which
#: hands out the same objects when it reuses its result
SMALL_ARRAY_ELEMENTS = 64
#: memory a stage's kept results may hold [bytes]; the least recently used go first
STAGE_BYTES = 256 << 20


def _value_key(value):
    """A hashable key equal for two values exactly when a model reading them computes the same.

    Floats by their bits (-0.0 is not 0.0), columns, vectors and small
    arrays by shape, type and bytes; anything else (monthly arrays, other
    objects) by identity, the object being kept alive by the entry that
    holds the key.
    """
    if value is None or isinstance(value, (bool, int, str, dt.date)):
        return type(value), value
    if isinstance(value, float):
        return type(value), float(value).hex()
    if isinstance(value, np.ndarray) and (value.ndim < 2 or value.shape[-1] == 1 or value.size <= SMALL_ARRAY_ELEMENTS):
        return np.ndarray, value.shape, value.dtype.str, value.tobytes()
    if isinstance(value, np.generic):
        return type(value), value.tobytes()
    if isinstance(value, DebtTerms):  # sized again at every point: equal terms by value, not by object
        tranches = tuple(tuple(_value_key(getattr(t, f.name)) for f in dataclasses.fields(t)) for t in value.tranches)
        return DebtTerms, tranches, tuple((a.shape, a.dtype.str, a.tobytes()) for a in value[1:])
    if isinstance(value, (list, tuple)):
        return type(value), tuple(_value_key(v) for v in value)
    if isinstance(value, dict):
        return dict, tuple((k, _value_key(v)) for k, v in value.items())
    return object, id(value)


def _resolve(args: tuple, path: tuple):
    """The value at a recorded path: (argument index, attribute or list index, ..., or "len")."""
    node = args[path[0]]
    for part in path[1:]:
        if isinstance(node, list):
            node = len(node) if part == "len" else node[int(part)]
        else:
            node = getattr(node, part)
    return node


def _nbytes(value) -> int:
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (list, tuple)):
        return sum(_nbytes(v) for v in value)
    if isinstance(value, dict):
        return sum(_nbytes(v) for v in value.values())
    return 0


class _StageMemo:
    """Results of one stage of the engine (a pure function of what it reads), by the values it read.

    A stage is called with arguments; inputs trees and market paths among
    them are passed as recorders, every other argument is a value.  The
    result is reused for a later call when every value the first call read
    (and every plain argument) has the same :func:`_value_key`: the
    function, being deterministic, would read the same values in the same
    order and return the same result.
    """

    def __init__(self, budget_bytes: int = STAGE_BYTES):
        self.budget = budget_bytes
        self.groups: dict[tuple, dict] = {}     # read paths -> {value keys -> (result, kept alive)}
        self.lru: OrderedDict = OrderedDict()   # (read paths, value keys) -> bytes
        self.bytes = 0

    def call(self, function, args: tuple):
        """``function(*args)``, or the result of an earlier call that read the same values.

        Returns (result, read paths): the paths (argument index, then names)
        when computed now, None when reused.
        """
        for paths, results in self.groups.items():
            keys = tuple(_value_key(a) for a in args if not isinstance(a, _WATCHED))
            keys += tuple(_value_key(_resolve(args, p)) for p in paths)
            hit = results.get(keys)
            if hit is not None:
                self.lru.move_to_end((paths, keys))
                return hit[0], None
        logs = [{} for _ in args]
        watched = [_Recorder(a, "", log) if isinstance(a, _WATCHED) else a for a, log in zip(args, logs)]
        result = function(*watched)
        plain = [a for a in args if not isinstance(a, _WATCHED)]
        paths = tuple((i, *dotted.split(".")) for i, log in enumerate(logs) for dotted in log)
        values = [v for log in logs for v in log.values()]
        keys = tuple(_value_key(a) for a in plain) + tuple(_value_key(v) for v in values)
        self.groups.setdefault(paths, {})[keys] = (result, (plain, values))
        size = _nbytes(result)
        self.lru[paths, keys] = size
        self.bytes += size
        while self.bytes > self.budget and len(self.lru) > 2:
            (old_paths, old_keys), old_size = self.lru.popitem(last=False)
            del self.groups[old_paths][old_keys]
            if not self.groups[old_paths]:
                del self.groups[old_paths]
            self.bytes -= old_size
        return result, paths


def _business_values(business: str, inputs, market, timeline, n_paths: int, names: tuple, terms=None) -> dict:
    """Per-path metrics of one business on given market paths (as the Monte Carlo computes them).

    ``names``: valuation metrics (:data:`VALUATION_METRICS`) and, with the
    business's debt ``terms`` (sized on the point's base case), its levered
    metrics (:data:`pivotsim.models.equity.LEVERED_METRIC_NAMES`, all of them
    when any is named: one debt kernel pass).
    """
    valued = tuple(n for n in names if n in VALUATION_METRICS)
    levered = terms is not None and any(n in equity.LEVERED_METRIC_NAMES for n in names)
    flows = business_cash_flows(business, inputs, market, timeline, net_only=True, financing=levered)
    out = business_metrics(business, flows, inputs, n_paths, valued) if valued else {}
    if levered:
        out.update(equity.levered_metrics(flows, terms, inputs, business, discount_rate(inputs, business), n_paths))
    return out


#: the market stages the engine keeps one by one: the roll forward to the valuation date
#: (:func:`pivotsim.models.rollforward.roll_forward`) and the drivers of
#: :func:`pivotsim.models.market.simulate_market`
MARKET_DRIVERS = ("roll_forward", "btc_price", "fees", "power_price", "network_hashrate")


class CrnEngine:
    """Evaluate one scenario at many parameter values with common random numbers.

    Monte Carlo metrics at a point are bit-for-bit those of
    ``pivotsim.run(scenario.with_overrides([...]), paths, seed)``: the engine
    calls the Monte Carlo's own steps (:func:`pivotsim.simulate.block_draws`,
    :func:`~pivotsim.simulate.with_draws`, :func:`~pivotsim.simulate.market_paths`,
    :func:`~pivotsim.simulate.business_cash_flows`,
    :func:`~pivotsim.simulate.business_metrics`) on the same chunks of blocks,
    but one at a time, so it can keep their results between points:

    * the random draws (market shocks and uncertain inputs) of every block,
      reused while none of the inputs they read differs from the scenario's;
    * each stage of the market (:data:`MARKET_DRIVERS`: the roll forward to
      the valuation date, then the BTC price, fees, power price and network
      hashrate drivers) and each business's per-path metrics, kept by the
      values they read (:class:`_StageMemo`): a business reads the market
      paths through a view too, so the AI deal, which reads the power price
      but not the BTC price, is valued once per power price.

    What a step reads is logged while it runs (it sees read-only views of
    its arguments), so the reuse is exact by construction and follows the
    models as they change.

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
        Per-path metrics needed per business, e.g. ``{"bitcoin": ["npv_usd"]}``:
        valuation metrics, and levered ones (``min_dscr``, ``equity_npv_usd``,
        ... of :data:`pivotsim.models.equity.LEVERED_METRIC_NAMES`) for a
        business with debt, which is then sized on each point's base case as
        ``pivotsim run`` sizes it.
    base : bool
        Compute the base-case metrics at each point.
    option : str
        Name used in error messages (``--param``).
    shock_horizon_months : int, optional
        As :func:`pivotsim.run`'s ``market_horizon_months``.
    at_close : bool
        Keep the debt as sized on ``scenario``'s own base case at every point
        (:func:`debt_at_close`) instead of sizing it on each point's, as
        ``run --set`` does.
    """

    def __init__(self, scenario: Scenario, swept: Sequence[str], *, paths: int, seed: int,
                 path_metrics: Mapping[str, Sequence[str]], base: bool, option: str = "--param",
                 base_metrics: Sequence[Metric] | None = None, shock_horizon_months: int | None = None,
                 at_close: bool = False):
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
        self.close_terms = debt_at_close(scenario, self.swept, option) if at_close else None
        n_blocks = -(-self.paths // BLOCK_PATHS) if self.paths else 0
        per_chunk = max(1, CHUNK_PATHS // BLOCK_PATHS)
        self.chunks = [list(range(b, min(b + per_chunk, n_blocks))) for b in range(0, n_blocks, per_chunk)]
        reference = _leaves(to_inputs(scenario))
        self._draws = _Memo(reference, keep=1)
        # one memo per (chunk, stage): market drivers and businesses
        self._stages: dict[tuple[int, str], _StageMemo] = {}
        self._timelines: dict[tuple, object] = {}
        self._ids = 0
        self._market_reads: set[str] = set()
        self.computed = {"draws": 0, "market": 0, **{f"market.{d}": 0 for d in MARKET_DRIVERS},
                         "bitcoin": 0, "ai": 0, "points": 0}

    @property
    def market_reads(self) -> tuple[str, ...]:
        """Swept paths the market model read (its drivers, when last computed)."""
        return tuple(p for p in self.swept if _covered(p, frozenset(self._market_reads)))

    def _stage(self, chunk: int, computed: set, name: str, function, *args):
        """``function(*args)`` through the memo of stage ``name`` of ``chunk`` (see :class:`_StageMemo`)."""
        memo = self._stages.get((chunk, name))
        if memo is None:
            memo = self._stages[chunk, name] = _StageMemo()
        result, reads = memo.call(function, args)
        if reads is not None:
            computed.add(name)
            if name in MARKET_DRIVERS:  # a driver's trees are its ``market`` and ``site`` arguments
                names = list(inspect.signature(function).parameters)
                self._market_reads.update(f"{names[path[0]]}.{'.'.join(path[1:])}" for path in reads)
        return result

    def _timeline(self, inputs):
        """The point's timeline, one object per (valuation date, horizon) so stages reuse by identity."""
        key = (_value_key(inputs.scenario.valuation_date), _value_key(inputs.scenario.horizon_months))
        if key not in self._timelines:
            self._timelines[key] = timeline_of(inputs)
        return self._timelines[key]

    def _step(self, memo: _Memo, name: str, delta: dict, deps: tuple, compute) -> _Entry:
        entry = memo.find(delta, deps)
        if entry is None:
            log: dict = {}
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
            point.base = base_point(inputs, scenario, self.base_metrics, close_terms=self.close_terms).base
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
        timeline = self._timeline(inputs)
        computed: set = set()
        markets = [market_paths(tree, timeline, d.shocks, stage=functools.partial(self._stage, k, computed))
                   for k, (tree, d) in enumerate(zip(trees, draws.data))]
        out: dict[str, np.ndarray] = {}
        levered = [b for b in BUSINESSES if set(self.path_metrics[b]) & set(equity.LEVERED_METRIC_NAMES)]
        terms = (self.close_terms if self.close_terms is not None else debt_terms(inputs)) if levered else {}
        for business in BUSINESSES:
            names = self.path_metrics[business]
            if not names:
                continue
            parts = [self._stage(k, computed, business, _business_values, business, tree, m, timeline, d.n_paths,
                                 tuple(names), terms.get(business))
                     for k, (tree, d, m) in enumerate(zip(trees, draws.data, markets))]
            out.update({key: np.concatenate([p[key] for p in parts])[: self.paths] for key in parts[0]})
        for name in computed:
            self.computed[f"market.{name}" if name in MARKET_DRIVERS else name] += 1
        self.computed["market"] += bool(computed & set(MARKET_DRIVERS))
        if "bitcoin_npv_usd" in out and "ai_npv_usd" in out:
            out["npv_difference_usd"] = out["ai_npv_usd"] - out["bitcoin_npv_usd"]
        for path in draws.data[0].inputs:
            out[f"input.{path}"] = np.concatenate([d.inputs[path] for d in draws.data])[: self.paths]
        return out


def metric_needs(metrics: Sequence[Metric]) -> tuple[dict[str, list[str]], bool]:
    """Per-business per-path metrics (valuation or levered) and whether the base case is needed."""
    need: dict[str, list[str]] = {b: [] for b in BUSINESSES}
    base = False
    for metric in metrics:
        if metric.kind == "base":
            base = True
        elif metric.business == "comparison":
            need["bitcoin"].append("npv_usd")
            need["ai"].append("npv_usd")
        else:  # the array it reads, less the business prefix: npv_usd, min_dscr, equity_npv_usd
            need[metric.business].append(metric.path_metric[len(metric.business) + 1:])
    return need, base


#: inputs that a debt kept as sized at close cannot follow: its own terms, and the timeline its schedule is laid on
NOT_AT_CLOSE = ("bitcoin.debt", "ai.debt", "scenario.")


def debt_at_close(scenario: Scenario, moved: Sequence[str], option: str = "--param") -> dict:
    """The debt of ``scenario`` sized on its own base case, to service unchanged while ``moved`` inputs move.

    What a lender fixed at financial close: a construction delay or a lower
    price found later changes the cash flows, not the loan.  A debt term or
    the timeline cannot move under it (one-line error).
    """
    for path in moved:
        if path.startswith(NOT_AT_CLOSE):
            raise PivotsimError(f"{option} {path}: --debt-at-close keeps the debt sized on the scenario's own base "
                                "case, so a debt term or the timeline cannot move under it; drop --debt-at-close")
    return debt_terms(to_inputs(scenario))


def base_point(inputs, scenario: Scenario, metrics: Sequence[Metric] | None = None, *,
               close_terms: dict | None = None) -> PointResult:
    """Base-case metrics of both businesses, only those ``metrics`` need when they are valuations.

    Valuation metrics (NPV, IRR, paybacks, funding) come from
    :func:`pivotsim.simulate.valuation`, as in the run summary; any other
    base metric takes the summary's own code, levered ones too (the
    ``debt``, ``equity`` and ``npv_with_financing_usd`` entries of
    :func:`pivotsim.levered.base_blocks`, for the businesses they name, or
    for every business with debt when ``metrics`` is None).  ``close_terms``
    (:func:`debt_at_close`): service that debt instead of sizing one on this
    base case.
    """
    flows, market = base_case(inputs)
    keys = {b: set() for b in BUSINESSES}
    full = metrics is None
    levered = {b for b in BUSINESSES if equity.has_debt(inputs, b)} if full else set()
    for metric in metrics or ():
        if metric.kind == "base" and metric.levered:
            levered.add(metric.business)
            continue
        if metric.kind != "base" or metric.key not in VALUATION_METRICS and metric.business != "comparison":
            full = full or metric.kind == "base"
            continue
        for business in (BUSINESSES if metric.business == "comparison" else (metric.business,)):
            keys[business].add("npv_usd" if metric.business == "comparison" else metric.key)
    if full:
        base = {b: base_case_kpis(inputs, flows[b], b) for b in BUSINESSES}
    else:
        base = {}
        for business in BUSINESSES:
            names = [k for k in VALUATION_METRICS if k in keys[business]]
            values = valuation(flows[business], discount_rate(inputs, business), names) if names else {}
            base[business] = {k: float(np.asarray(v).ravel()[0]) for k, v in values.items()}
    if levered:  # sized on this base case, as pivotsim run sizes it (ScenarioError on terms it cannot honour),
        # or the loan of the close serviced on this point's cash flows
        debt = base_debt(inputs, {b: flows[b] for b in levered}, close_terms)
        for business in levered:
            base[business].update(base_blocks(inputs, flows[business], debt[business], business))
    return PointResult(base=base)
