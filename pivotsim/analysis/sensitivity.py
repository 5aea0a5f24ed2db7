"""Sensitivity of a scenario: parameter sweeps, tornado and spider, Sobol and Morris, break-even.

Everything here evaluates the one engine of :mod:`pivotsim.simulate` at
changed inputs; nothing re-implements the economics.

* **Metrics** are addressed by dotted paths into the run summary
  (``comparison.npv_difference_usd``, ``bitcoin.base.npv_usd``,
  ``ai.monte_carlo.npv_usd.p50``); :data:`METRICS` lists them and
  :func:`parse_metric` validates them.  ``comparison.base.npv_difference_usd``
  (AI minus bitcoin, base case) is added to the summary's own paths.
* **Parameters** are dotted scenario paths holding a number; every value is
  validated like ``--set`` (:meth:`pivotsim.Scenario.with_overrides`).
* **Common random numbers**: every point of a sweep, and every step of a
  stochastic break-even search, uses the block generators of
  :func:`pivotsim.simulate.block_generator` with the same seed, so a sweep
  point equals ``pivotsim run --set path=value`` with the same seed to the
  last digit.
* **Reuse**: market paths and each business's per-path metrics are kept
  between points and reused when none of the swept parameters they read has
  changed.  What a computation reads is recorded while it runs (a read-only
  view of the inputs logs every attribute access), so the reuse is exact by
  construction and follows the models as they change.
* **Global indices** go through SALib: inputs are sampled on the unit
  hypercube (Saltelli/Sobol' or Morris trajectories), mapped through each
  factor's inverse CDF, and analysed with ``SALib.analyze.sobol`` (first and
  total order with bootstrap confidence intervals) or
  ``SALib.analyze.morris`` (mu*, sigma).

References
----------
Saltelli, A. et al. (2010), Variance based sensitivity analysis of model
output, Comput. Phys. Commun. 181, 259-270.  Morris, M. D. (1991),
Factorial sampling plans for preliminary computational experiments,
Technometrics 33, 161-174.  Herman, J. and Usher, W. (2017), SALib, JOSS 2(9).
Ishigami, T. and Homma, T. (1990), test function, S1 = 0.3139, 0.4424, 0.
Brent, R. (1973), Algorithms for Minimization without Derivatives (brentq).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import difflib
import json
import math
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from .._version import __version__
from ..runs import DEFAULT_SEED, MAX_PATHS, RunResult, check_seed, describe, run as run_scenario
from ..errors import PivotsimError, ScenarioError
from ..scenario import Scenario, iter_quantities, resolve_scenario
from ..scenario.quantity import parse_number
from ..inputs import to_inputs
from ..inputs import substitute
from ..uncertainty import uncertain_inputs
from ..simulate import (BLOCK_PATHS, BUSINESSES, CHUNK_PATHS, VALUATION_METRICS, base_case, block_draws,
                        business_cash_flows, business_metrics, discount_rate, market_paths, timeline_of,
                        valuation, with_draws)

DEFAULT_SWEEP_PATHS = 2_000
MAX_AXIS_POINTS = 1_000
MAX_GRID_POINTS = 100_000
SWEEP_STATS = ("mean", "p5", "p50", "p95")

# --------------------------------------------------------------------------- metrics

STATS = ("mean", "std", "p5", "p25", "p50", "p75", "p95")
_COMMON_BASE = VALUATION_METRICS + ("total_revenue_usd", "ebitda_margin", "revenue_usd_per_kwh")
BASE_KEYS = {
    "bitcoin": _COMMON_BASE + ("hashprice_usd_per_ph_day", "btc_mined", "cash_cost_usd_per_btc",
                               "all_in_cost_usd_per_btc"),
    "ai": _COMMON_BASE + ("contract_value_usd", "annual_revenue_usd", "prepayment_usd",
                          "revenue_usd_per_kwh_critical_it"),
}
NPV_DIFFERENCE_BASE = "comparison.base.npv_difference_usd"
NPV_DIFFERENCE = "comparison.npv_difference_usd"
PROB_AI_BEATS = "comparison.prob_ai_beats_bitcoin"
TORNADO_METRICS = ("bitcoin.base.npv_usd", "ai.base.npv_usd", NPV_DIFFERENCE_BASE)


def _metric_catalog() -> dict[str, str]:
    """Every allowed metric path (without a statistic suffix) -> its kind."""
    out: dict[str, str] = {}
    for business in BUSINESSES:
        for key in BASE_KEYS[business]:
            out[f"{business}.base.{key}"] = "base"
        for key in VALUATION_METRICS:
            out[f"{business}.monte_carlo.{key}"] = "distribution"
        out[f"{business}.monte_carlo.prob_npv_negative"] = "probability"
    out[NPV_DIFFERENCE_BASE] = "base"
    out[NPV_DIFFERENCE] = "distribution"
    out[PROB_AI_BEATS] = "probability"
    return out


METRICS = _metric_catalog()
"""Allowed metric paths -> kind (``base``, ``distribution`` or ``probability``).

A ``distribution`` path may end with a statistic: ``.mean``, ``.std``,
``.p5``, ``.p25``, ``.p50``, ``.p75`` or ``.p95``.
"""


@dataclass(frozen=True)
class Metric:
    """A validated metric path.

    Attributes
    ----------
    path : str
        As written, e.g. ``ai.monte_carlo.npv_usd.p50``.
    kind : str
        ``base`` (base case, one number), ``distribution`` (Monte Carlo,
        per path) or ``probability`` (Monte Carlo, one number).
    business : str
        ``bitcoin``, ``ai`` or ``comparison``.
    key : str
        ``npv_usd``, ``npv_difference_usd``, ``prob_npv_negative``, ...
    stat : str or None
        Statistic of a distribution (None: the whole distribution).
    """

    path: str
    kind: str
    business: str
    key: str
    stat: str | None = None

    @property
    def root(self) -> str:
        """The path without its statistic."""
        return self.path[: -len(self.stat) - 1] if self.stat else self.path

    @property
    def is_scalar(self) -> bool:
        """One number per evaluation (base, probability, or a distribution's statistic)."""
        return self.kind != "distribution" or self.stat is not None

    @property
    def path_metric(self) -> str | None:
        """Name of the per-path array it reads (``bitcoin_npv_usd``), or None."""
        if self.kind == "base":
            return None
        if self.business == "comparison":
            return "npv_difference_usd"
        if self.key == "prob_npv_negative":
            return f"{self.business}_npv_usd"
        return f"{self.business}_{self.key}"

    def base_counterpart(self) -> "Metric":
        """The base-case metric of the same quantity (for deterministic solving)."""
        if self.kind == "base":
            return self
        if self.kind == "probability":
            raise PivotsimError(f"metric {self.path}: a probability has no base-case value; "
                                "use --stochastic or a base-case metric")
        if self.business == "comparison":
            return parse_metric(NPV_DIFFERENCE_BASE)
        return parse_metric(f"{self.business}.base.{self.key}")

    def with_stat(self, stat: str) -> "Metric":
        return parse_metric(f"{self.root}.{stat}") if self.kind == "distribution" else self


def parse_metric(path: str) -> Metric:
    """Validate a metric path (see :data:`METRICS`).

    Raises
    ------
    PivotsimError
        Naming the path, the closest allowed one and where the list is.
    """
    text = str(path).strip()
    stat = None
    root = text
    head, _, last = text.rpartition(".")
    if last in STATS and METRICS.get(head) == "distribution":
        root, stat = head, last
    kind = METRICS.get(root)
    if kind is None:
        close = difflib.get_close_matches(text, list(METRICS), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise PivotsimError(
            f"metric {text!r} is not allowed{hint}; use a summary path such as {NPV_DIFFERENCE}, "
            f"bitcoin.base.npv_usd or ai.monte_carlo.npv_usd.p50 (all: pivotsim.analysis.sensitivity.METRICS)")
    business, _, rest = root.partition(".")
    key = rest.rpartition(".")[2]
    return Metric(path=text, kind=kind, business=business, key=key, stat=stat)


@dataclass
class PointResult:
    """What one evaluation of a scenario gives.

    Attributes
    ----------
    base : dict of str -> dict, or None
        Base-case metrics of each business (as in ``summary()[b]["base"]``).
    paths : dict of str -> ndarray (n_paths,), or None
        Per-path metrics (as :meth:`pivotsim.RunResult.path_metrics`).
    """

    base: dict | None = None
    paths: dict | None = None


def metric_value(point: PointResult, metric: Metric, stat: str | None = None) -> float:
    """One number of a point: a base value, a probability or a statistic.

    Parameters
    ----------
    point : PointResult
    metric : Metric
    stat : str, optional
        Statistic for a distribution metric given without one (default mean).

    Returns
    -------
    float
        NaN where the summary would have None (no IRR root, never pays back).
    """
    if metric.kind == "base":
        if metric.business == "comparison":
            return float(point.base["ai"]["npv_usd"]) - float(point.base["bitcoin"]["npv_usd"])
        value = point.base[metric.business][metric.key]
        return math.nan if value is None else float(value)
    values = point.paths[metric.path_metric]
    if metric.kind == "probability":
        if metric.business == "comparison":
            return float(np.mean(values > 0))
        return float(np.mean(values < 0))
    stats = describe(values)[metric.stat or stat or "mean"]
    return math.nan if stats is None else stats


# --------------------------------------------------------------------------- parameters

def _override(path: str, value: float) -> str:
    # repr of a Python float reads back as the same float, through YAML or float()
    return f"{path}={float(value)!r}"


def _leaf_paths(node, prefix="") -> dict[str, object]:
    """Every leaf of a :func:`to_inputs` tree -> its value."""
    out: dict[str, object] = {}
    if isinstance(node, SimpleNamespace):
        items = vars(node).items()
    elif isinstance(node, list):
        items = ((str(i), v) for i, v in enumerate(node))
    elif isinstance(node, dict):
        items = node.items()
    else:
        return {prefix: node}
    for key, value in items:
        out.update(_leaf_paths(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def check_numeric_path(scenario: Scenario, path: str, *, option: str = "--param") -> float | None:
    """Check that ``path`` names a number of the scenario; return its value (None if unset).

    Raises
    ------
    PivotsimError
        Unknown path (with the closest known one) or a path that holds no number.
    """
    leaves = _leaf_paths(to_inputs(scenario))
    leaves = {k: v for k, v in leaves.items() if not k.startswith("sources.")}
    if path not in leaves:
        numbers = [p for p, _ in iter_quantities(scenario)]
        close = difflib.get_close_matches(path, numbers, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise PivotsimError(f"{option} {path}: unknown scenario path; {hint}"
                            "give the dotted path of a number, e.g. market.btc_price_usd")
    value = leaves[path]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PivotsimError(f"{option} {path}: holds {value!r}, not a number; only numbers can be varied")
    return float(value)


def scenario_at(scenario: Scenario, values: Mapping[str, float], *, option: str = "--param") -> Scenario:
    """The scenario with ``path=value`` overrides, validated like ``--set``."""
    try:
        return scenario.with_overrides([_override(p, v) for p, v in values.items()])
    except ScenarioError as exc:
        where = ", ".join(f"{p}={v:g}" for p, v in values.items())
        field_ = f"{exc.path}: " if exc.path else ""
        raise PivotsimError(f"{option} {where}: {field_}{exc.message}") from None


def number_field(text: str, what: str) -> float:
    try:
        return parse_number(text.strip())
    except ValueError:
        raise PivotsimError(f"{what}: {text.strip()!r} is not a number") from None


def parse_axis(spec: str) -> tuple[str, np.ndarray]:
    """Read ``path=start:stop:count`` or ``path=a,b,c`` -> (path, values).

    Raises
    ------
    PivotsimError
        Missing ``=``, bad numbers, a count below 2 or above
        :data:`MAX_AXIS_POINTS`, equal ends, repeated values.
    """
    example = "e.g. market.btc_price_usd=40000:200000:17 or market.btc_price_usd=60000,90000,120000"
    if "=" not in spec:
        raise PivotsimError(f"--param {spec}: expected path=start:stop:count or path=a,b,c; {example}")
    path, _, text = (s.strip() for s in spec.partition("="))
    if not path or not text:
        raise PivotsimError(f"--param {spec}: expected path=start:stop:count or path=a,b,c; {example}")
    label = f"--param {path}"
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise PivotsimError(f"{label}: {text!r} is not start:stop:count; {example}")
        start, stop = number_field(parts[0], label), number_field(parts[1], label)
        count_text = parts[2].strip()
        if not count_text.isdigit():
            raise PivotsimError(f"{label}: count {count_text!r} is not allowed; must be a whole number "
                                f"from 2 to {MAX_AXIS_POINTS:,}")
        count = int(count_text)
        if not 2 <= count <= MAX_AXIS_POINTS:
            raise PivotsimError(f"{label}: count {count} is not allowed; must be from 2 to {MAX_AXIS_POINTS:,}")
        if start == stop:
            raise PivotsimError(f"{label}: start and stop are both {start:g}; give two different ends")
        values = np.linspace(start, stop, count)
    else:
        values = np.array([number_field(v, label) for v in text.split(",")])
    return path, check_axis_values(path, values)


def check_axis_values(path: str, values) -> np.ndarray:
    """Check an axis's values: 2 to :data:`MAX_AXIS_POINTS` distinct finite numbers."""
    try:
        values = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        raise PivotsimError(f"--param {path}: values must be numbers") from None
    if not 2 <= values.size <= MAX_AXIS_POINTS:
        raise PivotsimError(f"--param {path}: {values.size} value(s) given; a sweep needs 2 to "
                            f"{MAX_AXIS_POINTS:,}")
    if not np.all(np.isfinite(values)):
        raise PivotsimError(f"--param {path}: values must be finite numbers")
    if np.unique(values).size != values.size:
        raise PivotsimError(f"--param {path}: values repeat; give distinct values")
    return values


def parse_range(text: str, *, option: str = "--range") -> tuple[float, float]:
    """Read ``low:high`` -> (low, high), ends in increasing order."""
    parts = str(text).split(":")
    if len(parts) != 2:
        raise PivotsimError(f"{option} {text}: expected low:high, e.g. 20000:500000")
    a, b = number_field(parts[0], f"{option} {text}"), number_field(parts[1], f"{option} {text}")
    if a == b:
        raise PivotsimError(f"{option} {text}: both ends are {a:g}; give two different numbers")
    return (a, b) if a < b else (b, a)


# --------------------------------------------------------------------------- CRN engine

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
    return {p: v for p, v in _leaf_paths(inputs).items() if not p.startswith("sources.")}


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


def _needs(metrics: Sequence[Metric]) -> tuple[dict[str, list[str]], bool]:
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
        run = RunResult(scenario=scenario, seed=0, paths=0, base=flows, base_market=market, metrics={},
                        inputs=inputs)
        return PointResult(base={b: run._base_metrics(b) for b in BUSINESSES})
    base = {}
    for business in BUSINESSES:
        names = [k for k in VALUATION_METRICS if k in keys[business]]
        values = valuation(flows[business], discount_rate(inputs, business), names) if names else {}
        base[business] = {k: float(np.asarray(v).ravel()[0]) for k, v in values.items()}
    return PointResult(base=base)


def _check_paths_seed(paths, seed, *, allow_zero=False):
    low = 0 if allow_zero else 1
    if isinstance(paths, bool) or not isinstance(paths, (int, np.integer)) or not low <= paths <= MAX_PATHS:
        raise PivotsimError(f"paths: {paths!r} is not allowed; must be a whole number from {low} to {MAX_PATHS:,}")
    check_seed(seed)


# --------------------------------------------------------------------------- sweep

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

    def write(self, out_dir: str | Path = "runs", *, command: str | None = None) -> Path:
        """Write ``sweep.csv``, ``sweep.png``, the resolved scenario and a manifest."""
        from ..report.sensitivity_figures import plot_sweep, save_figure

        return write_folder(out_dir, self.scenario, "sweep", {
            "sweep.csv": lambda p: self.frame.to_csv(p, index=False),
            "sweep.png": lambda p: save_figure(plot_sweep, self, p),
        }, {**self.summary(), "command": command})


def _grid_order(n1: int, n2: int, swap: bool) -> list[tuple[int, int]]:
    if swap:
        return [(i, j) for j in range(n2) for i in range(n1)]
    return [(i, j) for i in range(n1) for j in range(n2)]


def sweep(scenario: Scenario | str | Path, params, metrics: Sequence[str] | str = (NPV_DIFFERENCE,), *,
          paths: int = DEFAULT_SWEEP_PATHS, seed: int = DEFAULT_SEED, overrides: Sequence[str] = (),
          progress: Callable[[int, int], None] | None = None) -> SweepResult:
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

    Returns
    -------
    SweepResult

    Raises
    ------
    PivotsimError
        Bad paths, values, counts or metrics (before any computation).
    """
    _check_paths_seed(paths, seed)
    scenario = resolve_scenario(scenario, overrides)
    if isinstance(params, Mapping):
        axes = [(str(p), check_axis_values(str(p), v)) for p, v in params.items()]
    else:
        if isinstance(params, str):
            params = [params]
        axes = [parse_axis(spec) for spec in params]
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
    need, need_base = _needs(metric_list)
    monte_carlo = any(m.kind != "base" for m in metric_list)
    if monte_carlo:  # P(AI beats bitcoin) is always reported with Monte Carlo metrics
        for business in BUSINESSES:
            need[business].append("npv_usd")
    swept = [p for p, _ in axes]

    # Validate every point first: a bad value stops the sweep before it starts.
    shape = [len(v) for _, v in axes] + ([1] if len(axes) == 1 else [])
    values2 = [axes[0][1], axes[1][1] if len(axes) == 2 else np.array([math.nan])]
    scenarios: dict[tuple[int, int], Scenario] = {}
    for i in range(shape[0]):
        for j in range(shape[1]):
            point = {swept[0]: values2[0][i]}
            if len(axes) == 2:
                point[swept[1]] = values2[1][j]
            scenarios[i, j] = scenario_at(scenario, point)

    engine = CrnEngine(scenario, swept, paths=int(paths) if monte_carlo else 0, seed=int(seed),
                       path_metrics=need, base=need_base, base_metrics=metric_list)
    results: dict[tuple[int, int], PointResult] = {}

    def values_at(i, j):
        point = {swept[0]: values2[0][i]}
        if len(axes) == 2:
            point[swept[1]] = values2[1][j]
        return point

    # The first point tells which swept parameter the market reads; the grid
    # is then walked with that parameter changing slowest, so market paths
    # are built once per value of it.
    results[0, 0] = engine.evaluate(values_at(0, 0), scenarios[0, 0])
    done = 1
    if progress is not None:
        progress(done, n_points)
    swap = len(axes) == 2 and swept[1] in engine.market_reads and swept[0] not in engine.market_reads
    for i, j in _grid_order(shape[0], shape[1], swap):
        if (i, j) in results:
            continue
        results[i, j] = engine.evaluate(values_at(i, j), scenarios[i, j])
        done += 1
        if progress is not None:
            progress(done, n_points)

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
                       seed=int(seed), frame=pd.DataFrame(rows), computed=dict(engine.computed))


# --------------------------------------------------------------------------- factors

class UniformFactor:
    """Uniform distribution on [low, high]: the ``--factor path=low:high`` kind.

    Any object with ``ppf(u) -> values`` (inverse CDF on the unit interval)
    and ``base`` can stand for a factor's distribution.
    """

    def __init__(self, low: float, high: float, base: float | None = None):
        self.low, self.high = float(low), float(high)
        self.base = 0.5 * (self.low + self.high) if base is None else float(base)

    def ppf(self, u):
        return self.low + (self.high - self.low) * np.asarray(u, dtype=float)

    def __repr__(self):
        return f"uniform({self.low:g}, {self.high:g})"


@dataclass(frozen=True)
class Factor:
    """A scenario input that varies: its dotted path and its distribution."""

    path: str
    dist: object
    source: str = "range"


def scenario_distributions(scenario: Scenario) -> dict:
    """Distributions the scenario gives its numbers, {path: distribution}.

    :func:`pivotsim.uncertainty.uncertain_inputs`: the ``dist:`` inputs in
    file order, then the AI deal's event draws when they matter.
    """
    return dict(uncertain_inputs(scenario))


def parse_factor(spec: str, scenario: Scenario, *, delta: float = 0.2,
                 distributions: Mapping | None = None) -> Factor:
    """Read ``path`` or ``path=low:high`` into a :class:`Factor`.

    ``path=low:high`` is uniform on the range; a bare ``path`` takes the
    scenario's distribution of that number, or a uniform +/- ``delta``
    around its value.
    """
    path, eq, text = (s.strip() for s in str(spec).partition("="))
    base = check_numeric_path(scenario, path, option="--factor")
    if eq:
        low, high = parse_range(text, option=f"--factor {path}")
        return Factor(path, UniformFactor(low, high, base), "range")
    distributions = scenario_distributions(scenario) if distributions is None else distributions
    if path in distributions:
        return Factor(path, distributions[path], "distribution")
    if base is None or base == 0:
        raise PivotsimError(f"--factor {path}: value is {0 if base == 0 else 'unset'}, so +/-{delta:.0%} "
                            f"moves nothing; give a range, e.g. --factor {path}=low:high")
    low, high = sorted((base * (1 - delta), base * (1 + delta)))
    return Factor(path, UniformFactor(low, high, base), f"+/-{delta:.0%}")


def _check_delta(delta):
    if not (isinstance(delta, (int, float)) and 0 < delta < 1):
        raise PivotsimError(f"delta: {delta!r} is not allowed; must be a fraction between 0 and 1, e.g. 0.2")


# --------------------------------------------------------------------------- tornado

# Structural numbers that a one-at-a-time +/-20% move would not make sense for:
# the grid itself, the tranche plan, and the chain's block height.
TORNADO_EXCLUDED = ("scenario.", "ai.phases.", "market.block_height")


@dataclass
class TornadoResult:
    """One-at-a-time sensitivity of base-case metrics.

    Attributes
    ----------
    metric : Metric
        The metric inputs are ranked by.
    base : dict of str -> float
        Base value of every reported metric.
    table : DataFrame
        One row per input for the ranking metric, largest swing first:
        ``input, how, base_value, low_value, high_value`` (the input),
        ``metric, metric_base, metric_low, metric_high`` (the metric at the
        base, low and high input) and ``swing`` = |metric_high - metric_low|.
    all_metrics : DataFrame
        The same columns for every reported metric (bitcoin NPV, AI NPV,
        their difference), inputs in the ranking's order.
    spider : DataFrame
        ``input, change, value, <metrics...>``: each input moved across its
        range, ``change`` the fraction from its base value.
    skipped : list of (str, str)
        Inputs left out and why.
    """

    scenario: Scenario
    metric: Metric
    metrics: list
    base: dict
    table: pd.DataFrame
    all_metrics: pd.DataFrame
    spider: pd.DataFrame
    skipped: list = field(default_factory=list)

    method = "tornado"

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> dict:
        return {"scenario": self.scenario.name, "method": "tornado", "metric": self.metric.path,
                "base": self.base, "inputs": json.loads(self.table.to_json(orient="records")),
                "skipped": [{"input": p, "reason": r} for p, r in self.skipped]}

    def write(self, out_dir: str | Path = "runs", *, command: str | None = None) -> Path:
        """Write ``tornado.csv``, ``spider.csv``, ``tornado.png``, ``spider.png`` and a manifest."""
        from ..report.sensitivity_figures import plot_spider, plot_tornado, save_figure

        return write_folder(out_dir, self.scenario, "tornado", {
            "tornado.csv": lambda p: self.all_metrics.to_csv(p, index=False),
            "spider.csv": lambda p: self.spider.to_csv(p, index=False),
            "tornado.png": lambda p: save_figure(plot_tornado, self, p),
            "spider.png": lambda p: save_figure(plot_spider, self, p, size=(8, 5.5)),
        }, {"method": "tornado", "metric": self.metric.path, "command": command,
            "skipped": [{"input": p, "reason": r} for p, r in self.skipped]})


def _base_point(scenario: Scenario, metrics: Sequence[Metric]) -> PointResult:
    return base_point(to_inputs(scenario), scenario, metrics)


_BOUND = re.compile(r"(>=|<=) (-?\d+(?:\.\d*)?(?:e[-+]?\d+)?)")


def _moved(scenario: Scenario, path: str, value: float, base: float) -> tuple[Scenario, float, bool]:
    """Scenario with one input moved, kept inside the field's rules.

    Whole-number fields are rounded away from the base; a value beyond an
    inclusive bound (a share above 1, a PUE below 1) is clipped to it.

    Returns
    -------
    (Scenario, float, bool)
        The scenario, the value used, and whether it was clipped.
    """
    clipped = False
    for _ in range(3):
        try:
            return scenario_at(scenario, {path: value}, option="--factor"), value, clipped
        except PivotsimError as exc:
            message = str(exc)
            moved = value
            if "whole number" in message and value != round(value):
                moved = float(round(value))
                if moved == base:
                    moved = base + (1.0 if value > base else -1.0)
            else:
                for sign, text in _BOUND.findall(message):
                    bound = float(text)
                    if sign == "<=" and value > bound >= base or sign == ">=" and value < bound <= base:
                        moved, clipped = bound, True
            if moved == value or moved == base:
                raise
            value = moved
    return scenario_at(scenario, {path: value}, option="--factor"), value, clipped


def tornado(scenario: Scenario | str | Path, factors: Sequence[str] | None = None, *,
            metric: str = NPV_DIFFERENCE_BASE, delta: float = 0.2, quantiles: tuple = (0.1, 0.9),
            spider_points: int = 9, overrides: Sequence[str] = (),
            progress: Callable[[int, int], None] | None = None) -> TornadoResult:
    """One-at-a-time (tornado) sensitivity of base-case NPVs.

    Each input is moved to its low and high value with every other input at
    its base: the ``quantiles`` (p10/p90) of its distribution when the
    scenario gives one, else ``-delta`` / ``+delta`` of its value, or the
    range of ``--factor path=low:high``.

    Parameters
    ----------
    scenario : Scenario or path
    factors : sequence of str, optional
        ``path`` or ``path=low:high``; default every number of the scenario
        except :data:`TORNADO_EXCLUDED`.
    metric : str
        Base-case metric that ranks the inputs (default AI minus bitcoin
        NPV); bitcoin and AI base NPVs are always reported.
    delta : float
        Relative move of plain numbers [fraction].
    quantiles : (float, float)
        Low and high quantiles of distributions.
    spider_points : int
        Points per input in the spider table (odd keeps the base value).

    Returns
    -------
    TornadoResult
    """
    _check_delta(delta)
    q_low, q_high = (float(q) for q in quantiles)
    if not 0 < q_low < q_high < 1:
        raise PivotsimError(f"quantiles: {quantiles!r} is not allowed; need 0 < low < high < 1, e.g. 0.1:0.9")
    if isinstance(spider_points, bool) or not isinstance(spider_points, int) \
            or not (spider_points == 0 or 3 <= spider_points <= 101):
        raise PivotsimError(f"spider_points: {spider_points!r} is not allowed; must be 0 (no spider) "
                            "or from 3 to 101")
    scenario = resolve_scenario(scenario, overrides)
    ranking = parse_metric(metric)
    if ranking.kind != "base":
        raise PivotsimError(f"metric {ranking.path}: tornado ranks base-case metrics; use e.g. "
                            f"{ranking.base_counterpart().path if ranking.kind != 'probability' else NPV_DIFFERENCE_BASE}")
    reported = list(dict.fromkeys(list(TORNADO_METRICS) + [ranking.path]))
    reported_metrics = [parse_metric(m) for m in reported]
    distributions = scenario_distributions(scenario)

    if factors:
        specs = list(factors)
    else:
        specs = [p for p, _ in iter_quantities(scenario) if not p.startswith(TORNADO_EXCLUDED)]
    base_point0 = _base_point(scenario, reported_metrics)
    base = {m.path: metric_value(base_point0, m) for m in reported_metrics}

    rows, spider_rows, skipped = [], [], []
    total = len(specs)
    for k, spec in enumerate(specs):
        path, eq, text = (s.strip() for s in str(spec).partition("="))
        base_value = check_numeric_path(scenario, path, option="--factor")
        if eq:
            low, high = parse_range(text, option=f"--factor {path}")
            how = "range"
        elif path in distributions:
            dist = distributions[path]
            low, high = (float(v) for v in np.ravel(dist.ppf(np.array([q_low, q_high]))))
            how = f"p{q_low * 100:g}/p{q_high * 100:g}"
        elif base_value is None or base_value == 0:
            skipped.append((path, f"value is {0 if base_value == 0 else 'unset'}; give --factor {path}=low:high"))
            continue
        else:
            low, high = base_value * (1 - delta), base_value * (1 + delta)
            how = f"-{delta:.0%}/+{delta:.0%}"
        try:
            low_scenario, low, low_clipped = _moved(scenario, path, low, base_value)
            high_scenario, high, high_clipped = _moved(scenario, path, high, base_value)
            if low_clipped or high_clipped:
                how += ", clipped to the field's bounds"
        except PivotsimError as exc:
            if factors:
                raise
            skipped.append((path, str(exc)))
            continue
        at_low, at_high = _base_point(low_scenario, reported_metrics), _base_point(high_scenario, reported_metrics)
        for m in reported_metrics:
            metric_low, metric_high = metric_value(at_low, m), metric_value(at_high, m)
            rows.append({"input": path, "how": how, "base_value": base_value, "low_value": low,
                         "high_value": high, "metric": m.path, "metric_base": base[m.path],
                         "metric_low": metric_low, "metric_high": metric_high,
                         "swing": abs(metric_high - metric_low)})
        # spider: the input across its range, plus its base value
        reference = base_value if base_value else 0.5 * (low + high)
        grid = np.unique(np.concatenate([np.linspace(low, high, spider_points), [reference]])) \
            if spider_points else ()
        for value in grid:
            try:
                moved, value, _ = _moved(scenario, path, float(value), reference)
            except PivotsimError:
                continue
            point = base_point0 if value == base_value else _base_point(moved, reported_metrics)
            spider_rows.append({"input": path, "change": value / reference - 1.0 if reference else math.nan,
                                "value": value,
                                **{m.path: metric_value(point, m) for m in reported_metrics}})
        if progress is not None:
            progress(k + 1, total)
    if not rows:
        raise PivotsimError("tornado: no input could be moved" + (f" ({skipped[0][0]}: {skipped[0][1]})"
                                                                  if skipped else ""))
    long = pd.DataFrame(rows)
    table = long[long.metric == ranking.path].sort_values("swing", ascending=False, kind="stable")
    order = {path: k for k, path in enumerate(table.input)}
    long = long.assign(_rank=long.input.map(order)).sort_values(["_rank"], kind="stable").drop(columns="_rank")
    spider = (pd.DataFrame(spider_rows).drop_duplicates(["input", "value"]).reset_index(drop=True)
              if spider_rows else pd.DataFrame(columns=["input", "change", "value", *reported]))
    return TornadoResult(scenario=scenario, metric=ranking, metrics=reported_metrics, base=base,
                         table=table.reset_index(drop=True), all_metrics=long.reset_index(drop=True),
                         spider=spider, skipped=skipped)


# --------------------------------------------------------------------------- Sobol, Morris

@dataclass
class GlobalResult:
    """Global sensitivity indices (Sobol' or Morris).

    Attributes
    ----------
    method : str
        ``sobol`` or ``morris``.
    table : DataFrame
        Sobol': ``factor, S1, S1_conf, ST, ST_conf`` (confidence half-widths
        at ``conf_level``).  Morris: ``factor, mu, mu_star, sigma,
        mu_star_conf``, elementary effects per unit of each factor's
        quantile (the unit hypercube), so factors compare in metric units.
        Rows in decreasing ST or mu*.
    evaluations : int
        Model evaluations.
    """

    method: str
    factors: list
    metric: str
    table: pd.DataFrame
    samples: int
    evaluations: int
    seed: int
    conf_level: float = 0.95
    scenario: Scenario | None = None
    outputs: np.ndarray | None = field(default=None, repr=False)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> dict:
        return {"scenario": self.scenario.name if self.scenario else None, "method": self.method,
                "metric": self.metric, "samples": self.samples, "evaluations": self.evaluations,
                "seed": self.seed, "conf_level": self.conf_level,
                "factors": [{"path": f.path, "distribution": repr(f.dist), "source": f.source}
                            for f in self.factors],
                "indices": json.loads(self.table.to_json(orient="records"))}

    def write(self, out_dir: str | Path = "runs", *, command: str | None = None) -> Path:
        """Write ``<method>.csv``, ``<method>.png`` and a manifest."""
        from ..report.sensitivity_figures import plot_indices, save_figure

        return write_folder(out_dir, self.scenario, self.method, {
            f"{self.method}.csv": lambda p: self.table.to_csv(p, index=False),
            f"{self.method}.png": lambda p: save_figure(plot_indices, self, p),
        }, {**self.summary(), "command": command})


def global_indices(factors: Sequence[Factor], model: Callable[[dict], np.ndarray], *, method: str = "sobol",
                   samples: int = 256, seed: int = DEFAULT_SEED, conf_level: float = 0.95,
                   num_levels: int = 4, metric: str = "y") -> GlobalResult:
    """Sobol' or Morris indices of ``model`` over ``factors`` through SALib.

    Sampling is on the unit hypercube; each column goes through its
    factor's ``dist.ppf``.  Unbounded distributions are cut at the
    1e-3 / 1 - 1e-3 quantiles (Morris levels include 0 and 1).

    Parameters
    ----------
    factors : sequence of Factor
    model : callable(dict of path -> ndarray (n,)) -> ndarray (n,)
        The quantity analysed, one value per sample.
    method : {"sobol", "morris"}
    samples : int
        Sobol': base sample N, a power of 2 (N (D + 2) evaluations).
        Morris: trajectories (N (D + 1) evaluations).
    seed : int
    conf_level : float
        Confidence level of the bootstrap intervals.
    num_levels : int
        Morris grid levels.

    Returns
    -------
    GlobalResult
    """
    from SALib.analyze import morris as morris_analyze, sobol as sobol_analyze
    from SALib.sample import morris as morris_sample, sobol as sobol_sample

    if method not in ("sobol", "morris"):
        raise PivotsimError(f"method: {method!r} is not allowed; must be tornado, sobol or morris")
    factors = list(factors)
    if not factors:
        raise PivotsimError(f"{method}: no factors; give --factor path=low:high (or distributions in the scenario)")
    paths = [f.path for f in factors]
    if len(set(paths)) != len(paths):
        raise PivotsimError(f"--factor: a path is given twice ({', '.join(paths)})")
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 2:
        raise PivotsimError(f"samples: {samples!r} is not allowed; must be a whole number >= 2")
    if method == "sobol" and samples & (samples - 1):
        raise PivotsimError(f"samples: {samples} is not allowed for sobol; must be a power of 2 (e.g. 256, 512)")
    problem = {"num_vars": len(factors), "names": paths, "bounds": [[0.0, 1.0]] * len(factors)}
    if method == "sobol":
        unit = sobol_sample.sample(problem, int(samples), calc_second_order=False, seed=seed)
    else:
        unit = morris_sample.sample(problem, int(samples), num_levels=num_levels, seed=seed)
    columns = {}
    for j, factor in enumerate(factors):
        u = unit[:, j]
        ends = np.ravel(factor.dist.ppf(np.array([0.0, 1.0])))
        if not np.all(np.isfinite(ends)):
            u = np.clip(u, 1e-3, 1 - 1e-3)
        columns[factor.path] = np.asarray(factor.dist.ppf(u), dtype=float)
    outputs = np.asarray(model(columns), dtype=float).ravel()
    if outputs.size != unit.shape[0]:
        raise PivotsimError(f"{method}: the model gave {outputs.size} values for {unit.shape[0]} samples")
    bad = ~np.isfinite(outputs)
    if bad.any():
        raise PivotsimError(f"{method}: metric {metric} is not a number at {bad.sum()} of {outputs.size} samples "
                            "(e.g. no IRR); choose an NPV metric or narrower ranges")
    if method == "sobol":
        si = sobol_analyze.analyze(problem, outputs, calc_second_order=False, conf_level=conf_level,
                                   print_to_console=False, seed=seed)
        table = pd.DataFrame({"factor": paths, "S1": si["S1"], "S1_conf": si["S1_conf"],
                              "ST": si["ST"], "ST_conf": si["ST_conf"]})
        table = table.sort_values("ST", ascending=False, kind="stable")
    else:
        si = morris_analyze.analyze(problem, unit, outputs, num_levels=num_levels, conf_level=conf_level,
                                    print_to_console=False, seed=seed)
        table = pd.DataFrame({"factor": paths, "mu": si["mu"], "mu_star": si["mu_star"],
                              "sigma": si["sigma"], "mu_star_conf": si["mu_star_conf"]})
        table = table.sort_values("mu_star", ascending=False, kind="stable")
    return GlobalResult(method=method, factors=factors, metric=metric, table=table.reset_index(drop=True),
                        samples=int(samples), evaluations=int(outputs.size), seed=int(seed),
                        conf_level=conf_level, outputs=outputs)


def _set_input(inputs, path: str, value: float) -> None:
    *parents, last = path.split(".")
    node = inputs
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else getattr(node, part)
    if isinstance(node, list):
        node[int(last)] = value
    else:
        setattr(node, last, value)


#: rows of the vectorised base case evaluated at once (bounds memory)
MODEL_BATCH_ROWS = 4_096


def scenario_model(scenario: Scenario, factors: Sequence[Factor], metric: Metric,
                   progress: Callable[[int, int], None] | None = None) -> Callable[[dict], np.ndarray]:
    """The base-case ``metric`` of ``scenario`` as a function of the factors' values.

    Each factor's sampled extremes are validated like ``--set`` once.
    Whole-month inputs are rounded as the Monte Carlo rounds them.  When
    every factor is one of the scenario's uncertain inputs (which every
    model takes per path) and the metric is a valuation, the samples are
    evaluated together: they go into the inputs tree as ``(n, 1)`` columns
    (:func:`pivotsim.uncertainty.substitute`, as
    :func:`pivotsim.uncertainty.sample_inputs` does) and one base case of n
    rows gives every value.  Otherwise each sample is its own base case.
    """
    if metric.kind != "base":
        raise PivotsimError(f"metric {metric.path}: global indices use base-case metrics; use e.g. "
                            f"{metric.base_counterpart().path if metric.kind != 'probability' else NPV_DIFFERENCE_BASE}")
    template = to_inputs(scenario)
    template.sources = {}  # never read by the models; keeps the base case's copy of the inputs small
    whole = template.uncertainty.whole
    vectorised = (metric.key in VALUATION_METRICS or metric.business == "comparison") and all(
        f.path in template.uncertainty.distributions for f in factors)

    def model(columns: dict) -> np.ndarray:
        columns = {p: np.rint(v) if p in whole else np.asarray(v, dtype=float) for p, v in columns.items()}
        for path, values in columns.items():
            for value in (np.min(values), np.max(values)):
                scenario_at(scenario, {path: float(value)}, option="--factor")
        n = len(next(iter(columns.values())))
        out = np.empty(n)
        if vectorised:
            for start in range(0, n, MODEL_BATCH_ROWS):
                rows = slice(start, min(start + MODEL_BATCH_ROWS, n))
                inputs = substitute(template, {p: v[rows] for p, v in columns.items()})
                out[rows] = _base_metric_rows(inputs, metric, rows.stop - rows.start)
                if progress is not None:
                    progress(rows.stop, n)
            return out
        inputs = copy.deepcopy(template)
        for i in range(n):
            for path, values in columns.items():
                _set_input(inputs, path, float(values[i]))
            out[i] = metric_value(base_point(inputs, scenario, [metric]), metric)
            if progress is not None and ((i + 1) % 50 == 0 or i + 1 == n):
                progress(i + 1, n)
        return out

    return model


def _base_metric_rows(inputs, metric: Metric, n: int) -> np.ndarray:
    """A base-case valuation metric ``(n,)`` of an inputs tree holding ``(n, 1)`` columns."""
    flows, _ = base_case(inputs)

    def per_row(business, key):
        values = valuation(flows[business], discount_rate(inputs, business), [key])[key]
        return np.broadcast_to(values, (n,))

    if metric.business == "comparison":
        return per_row("ai", "npv_usd") - per_row("bitcoin", "npv_usd")
    return per_row(metric.business, metric.key)


def sensitivity(scenario: Scenario | str | Path, method: str = "tornado", *,
                factors: Sequence[str] | None = None, metric: str = NPV_DIFFERENCE_BASE,
                delta: float = 0.2, quantiles: tuple = (0.1, 0.9), samples: int | None = None,
                seed: int = DEFAULT_SEED, overrides: Sequence[str] = (), spider_points: int = 9,
                progress: Callable[[int, int], None] | None = None):
    """Sensitivity of a scenario's base-case metrics: tornado, Sobol' or Morris.

    Parameters
    ----------
    scenario : Scenario or path
    method : {"tornado", "sobol", "morris"}
    factors : sequence of str, optional
        ``path`` or ``path=low:high``.  Tornado default: every number but
        :data:`TORNADO_EXCLUDED`.  Sobol'/Morris default: the scenario's
        distributions; a bare ``path`` takes its distribution or +/- delta.
    metric : str
        A base-case metric (default AI minus bitcoin NPV).
    delta : float
        Relative range of plain numbers [fraction].
    quantiles : (float, float)
        Tornado low/high quantiles of distributions.
    samples : int, optional
        Sobol' base sample (power of 2, default 256) or Morris
        trajectories (default 50).
    seed : int
        Seed of the Sobol'/Morris sample (the tornado draws nothing).
    spider_points : int
        Tornado: points per input in the spider table (0: no spider).

    Returns
    -------
    TornadoResult or GlobalResult
    """
    if method == "tornado":
        return tornado(scenario, factors, metric=metric, delta=delta, quantiles=quantiles,
                       spider_points=spider_points, overrides=overrides, progress=progress)
    if method not in ("sobol", "morris"):
        raise PivotsimError(f"--method {method!r} is not allowed; must be tornado, sobol or morris")
    _check_delta(delta)
    _check_paths_seed(1, seed)
    scenario = resolve_scenario(scenario, overrides)
    target = parse_metric(metric)
    distributions = scenario_distributions(scenario)
    if factors:
        factor_list = [parse_factor(s, scenario, delta=delta, distributions=distributions) for s in factors]
    else:
        factor_list = [Factor(p, d, "distribution") for p, d in distributions.items()]
    if not factor_list:
        raise PivotsimError(f"{method}: the scenario has no distributions; give factors, "
                            "e.g. --factor market.btc_price_usd=60000:160000 --factor ai.gpu_capex_usd")
    if samples is None:
        samples = 256 if method == "sobol" else 50
    model = scenario_model(scenario, factor_list, target, progress)
    result = global_indices(factor_list, model, method=method, samples=samples, seed=seed, metric=target.path)
    result.scenario = scenario
    return result


# --------------------------------------------------------------------------- break-even

@dataclass
class BreakevenResult:
    """The parameter value at which a metric reaches its target.

    Attributes
    ----------
    param : str
    value : float
        The break-even value of ``param``.
    base_value : float or None
        The scenario's own value of ``param``.
    metric : Metric
        The metric solved for (its base-case counterpart unless stochastic).
    target : float
    recomputed : float
        The metric from a fresh ``pivotsim.run`` at ``value``.
    tolerance : float
        Allowed |recomputed - target|.
    low, high : float
        Search range; ``metric_low``, ``metric_high`` the metric at its ends.
    """

    scenario: Scenario
    param: str
    metric: Metric
    target: float
    value: float
    base_value: float | None
    recomputed: float
    tolerance: float
    low: float
    high: float
    metric_low: float
    metric_high: float
    iterations: int
    stochastic: bool
    paths: int
    seed: int

    @property
    def verified(self) -> bool:
        return abs(self.recomputed - self.target) <= self.tolerance

    def summary(self) -> dict:
        return {"scenario": self.scenario.name, "param": self.param, "value": self.value,
                "scenario_value": self.base_value, "metric": self.metric.path, "target": self.target, "recomputed": self.recomputed,
                "tolerance": self.tolerance, "verified": self.verified,
                "range": [self.low, self.high], "metric_at_range": [self.metric_low, self.metric_high],
                "iterations": self.iterations, "stochastic": self.stochastic,
                "paths": self.paths if self.stochastic else 0, "seed": self.seed}

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.summary()])


def _parse_target(target) -> tuple[Metric, float]:
    if isinstance(target, tuple):
        name, value = target
        return parse_metric(name), float(value)
    name, eq, text = (s.strip() for s in str(target).partition("="))
    if not eq or not name or not text:
        raise PivotsimError(f"--target {target}: expected metric=value, e.g. {NPV_DIFFERENCE}=0")
    return parse_metric(name), number_field(text, f"--target {name}")


def _default_range(scenario: Scenario, param: str, base: float | None) -> tuple[float, float]:
    """base/10 .. 10 x base, each end pulled towards the base until the scenario rules accept it."""
    if not base:
        raise PivotsimError(f"--param {param}: value is {0 if base == 0 else 'unset'}; give --range low:high")
    ends = []
    for factors in ((0.1, 0.2, 0.5, 0.8, 0.9), (10.0, 5.0, 3.0, 2.0, 1.5, 1.2, 1.1)):
        for k in factors:
            try:
                scenario_at(scenario, {param: base * k})
            except PivotsimError:
                continue
            ends.append(base * k)
            break
        else:
            raise PivotsimError(f"--param {param}: no default range around {base:g} passes the scenario "
                                "rules; give --range low:high")
    return tuple(sorted(ends))


def breakeven(scenario: Scenario | str | Path, param: str, target, range: tuple | str | None = None, *,
              stochastic: bool = False, paths: int = DEFAULT_SWEEP_PATHS, seed: int = DEFAULT_SEED,
              overrides: Sequence[str] = ()) -> BreakevenResult:
    """Solve for the value of ``param`` at which a metric equals its target (scipy brentq).

    Parameters
    ----------
    scenario : Scenario or path
    param : str
        Dotted path of a number, e.g. ``market.btc_price_usd``.
    target : str or (str, float)
        ``metric=value``, e.g. ``comparison.npv_difference_usd=0``.
        Without ``stochastic`` the metric's base-case counterpart is solved.
    range : (float, float) or "low:high", optional
        Search range; default base/10 .. 10 x base (narrowed to what the
        scenario rules allow).
    stochastic : bool
        Solve the Monte Carlo statistic (mean unless given) with common
        random numbers: ``paths`` paths, ``seed``.

    Returns
    -------
    BreakevenResult
        Re-verified by a fresh :func:`pivotsim.run` at the solution.

    Raises
    ------
    PivotsimError
        No sign change in the range (naming the range and the metric at
        both ends), a metric that is not a number at an end, or a solution
        that the fresh run does not reproduce within tolerance.
    """
    from scipy.optimize import brentq

    _check_paths_seed(paths, seed)
    scenario = resolve_scenario(scenario, overrides)
    param = str(param).strip()
    base_value = check_numeric_path(scenario, param)
    metric, goal = _parse_target(target)
    if base_value is not None:
        try:  # brentq needs a continuous parameter; whole-month fields are swept instead
            scenario_at(scenario, {param: base_value + 0.5})
        except PivotsimError as exc:
            if "whole number" in str(exc):
                raise PivotsimError(
                    f"--param {param}: takes whole numbers only, so it has no exact break-even; sweep it to "
                    f"see where {metric.path} crosses {_g(goal)}, e.g. pivotsim sweep FILE --param "
                    f"{param}={max(base_value - 6, 0):g}:{base_value + 12:g}:{int(base_value + 12 - max(base_value - 6, 0)) + 1} "
                    f"--metric {metric.path}") from None
    if stochastic:
        if metric.kind == "base":
            raise PivotsimError(f"--target {metric.path}: a base-case metric with --stochastic; use a Monte "
                                f"Carlo metric such as {NPV_DIFFERENCE} or drop --stochastic")
        if metric.kind == "distribution" and metric.stat is None:
            metric = metric.with_stat("mean")
    else:
        metric = metric.base_counterpart()
    if range is None:
        low, high = _default_range(scenario, param, base_value)
    elif isinstance(range, str):
        low, high = parse_range(range)
    else:
        low, high = parse_range(f"{float(range[0])!r}:{float(range[1])!r}")
    need, need_base = _needs([metric])
    engine = CrnEngine(scenario, [param], paths=int(paths) if stochastic else 0, seed=int(seed),
                       path_metrics=need, base=need_base, base_metrics=[metric])
    calls = [0]

    def gap(x: float) -> float:
        calls[0] += 1
        return metric_value(engine.evaluate({param: x}), metric) - goal

    f_low, f_high = gap(low), gap(high)
    ends = (f"{metric.path} is {_value_text(metric.path, f_low + goal)} at {param}={_value_text(param, low)} "
            f"and {_value_text(metric.path, f_high + goal)} at {param}={_value_text(param, high)}")
    if not (math.isfinite(f_low) and math.isfinite(f_high)):
        raise PivotsimError(f"breakeven: {ends}; the metric must be a number at both ends")
    if f_low == 0:
        root = low
    elif f_high == 0:
        root = high
    elif (f_low > 0) == (f_high > 0):
        raise PivotsimError(f"breakeven: no {metric.path} = {_value_text(metric.path, goal)} in {param} "
                            f"{_value_text(param, low)}..{_value_text(param, high)}: {ends}; "
                            "the metric does not cross the target there (widen --range)")
    else:
        try:
            root = brentq(gap, low, high, xtol=1e-12 * max(abs(low), abs(high)), maxiter=200)
        except (RuntimeError, ValueError) as exc:
            raise PivotsimError(f"breakeven: the solver did not converge in {param} {_g(low)}..{_g(high)} "
                                f"({exc})") from None
    # Fresh, independent re-run at the solution through the public API.
    rerun = run_scenario(scenario_at(scenario, {param: root}), paths=int(paths) if stochastic else 1,
                         seed=int(seed))
    recomputed = _metric_from_run(rerun, metric)
    scale = max(abs(f_low), abs(f_high), abs(goal))
    tolerance = 1e-6 * scale
    result = BreakevenResult(scenario=scenario, param=param, metric=metric, target=goal, value=float(root),
                             base_value=base_value, recomputed=recomputed, tolerance=tolerance, low=low, high=high,
                             metric_low=f_low + goal, metric_high=f_high + goal, iterations=calls[0],
                             stochastic=bool(stochastic), paths=int(paths), seed=int(seed))
    if not result.verified:
        raise PivotsimError(f"breakeven: {metric.path} jumps at {param}={_g(root)} ({_g(recomputed)} there, "
                            f"target {_g(goal)}): the metric is not continuous, so no exact break-even")
    return result


def _metric_from_run(result: RunResult, metric: Metric) -> float:
    """A metric read from a run's summary (the independent check of the solver)."""
    summary = result.summary()
    if metric.kind == "base":
        if metric.business == "comparison":
            return summary["ai"]["base"]["npv_usd"] - summary["bitcoin"]["base"]["npv_usd"]
        value = summary[metric.business]["base"][metric.key]
    elif metric.business == "comparison":
        value = summary["comparison"][metric.key]
        value = value[metric.stat] if isinstance(value, dict) else value
    else:
        section = summary[metric.business]["monte_carlo"]
        if metric.key in section:
            value = section[metric.key]
            value = value[metric.stat] if isinstance(value, dict) else value
        else:
            value = describe(result.metrics[metric.path_metric])[metric.stat]
    return math.nan if value is None else float(value)


def _g(x: float) -> str:
    return f"{x:,.6g}" if abs(x) < 1e6 else f"{x:,.0f}"


def _value_text(path: str, x: float) -> str:
    """A number for a message: $1.23B for USD amounts, else 6 significant digits."""
    if not math.isfinite(x):
        return str(x)
    if path.endswith("_usd") or "_usd." in path:
        sign, a = ("-" if x < 0 else ""), abs(x)
        for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
            if a >= scale:
                return f"{sign}${a / scale:,.2f}{suffix}"
        return f"{sign}${a:,.2f}"
    return _g(x)


# --------------------------------------------------------------------------- folders

def write_folder(out_dir: str | Path, scenario: Scenario | None, kind: str,
                 files: Mapping[str, Callable[[Path], None]], manifest: dict) -> Path:
    """Write a result folder ``<out_dir>/<stem>-<kind>-<UTC stamp>`` atomically.

    Built under a temporary name and renamed when complete; never
    overwrites; a failure leaves nothing behind.
    """
    out_dir = Path(out_dir)
    stem = Path(scenario.file).stem if scenario is not None and scenario.file else "scenario"
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / f".{stem}-{kind}-{stamp}.partial-{os.getpid()}"
    try:
        tmp.mkdir()
        for name, writer in files.items():
            writer(tmp / name)
        if scenario is not None:
            (tmp / "scenario.resolved.yaml").write_text(scenario.to_yaml(), encoding="utf-8")
        info = {"pivotsim_version": __version__, "kind": kind, "created_utc": stamp,
                "input_file": scenario.file if scenario is not None else None,
                "input_sha256": scenario.sha256 if scenario is not None else None,
                "overrides": list(scenario.overrides) if scenario is not None else [], **manifest}
        (tmp / "manifest.json").write_text(json.dumps(info, indent=2, default=str) + "\n", encoding="utf-8")
        final = out_dir / f"{stem}-{kind}-{stamp}"
        n = 2
        while final.exists():
            final = out_dir / f"{stem}-{kind}-{stamp}-{n}"
            n += 1
        tmp.rename(final)
        return final
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
