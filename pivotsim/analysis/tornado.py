"""Factors (inputs that vary and their distributions) and the one-at-a-time tornado and spider.

Each input is moved to its low and high value with every other input at its
base; the base-case metrics are recomputed at each end.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..distributed import default_threads
from ..errors import PivotsimError
from ..scenario import Scenario, iter_quantities, resolve_scenario
from ..inputs import to_inputs
from ..uncertainty import uncertain_inputs
from . import forked
from .crn import NOT_AT_CLOSE, base_point
from .crn import debt_at_close as debt_at_close_terms
from .metrics import (NPV_DIFFERENCE_BASE, TORNADO_METRICS, Metric, PointResult, check_levered, metric_value,
                      parse_metric)
from .parameters import check_numeric_path, parse_range, scenario_at

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


def check_delta(delta):
    if not (isinstance(delta, (int, float)) and 0 < delta < 1):
        raise PivotsimError(f"delta: {delta!r} is not allowed; must be a fraction between 0 and 1, e.g. 0.2")


# --------------------------------------------------------------------------- tornado

# Structural numbers that a one-at-a-time +/-20% move would not make sense for:
# the grid itself, the tranche plan, and the chain's block height.
TORNADO_EXCLUDED = ("scenario.", "ai.phases.", "market.block_height")
#: inputs per worker below which a tornado stays in one process (a forked worker costs its fork)
MIN_INPUTS_PER_WORKER = 8


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


def _base_point(scenario: Scenario, metrics: Sequence[Metric], close_terms: dict | None = None) -> PointResult:
    return base_point(to_inputs(scenario), scenario, metrics, close_terms=close_terms)


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


class _Points:
    """Moved scenarios and their base-case metrics, each computed once (the spider repeats the ends)."""

    def __init__(self, scenario: Scenario, metrics: Sequence[Metric], close_terms: dict | None = None):
        self.scenario, self.metrics, self.close_terms = scenario, metrics, close_terms
        self._moved: dict[tuple, object] = {}
        self._points: dict[tuple, PointResult] = {}

    def moved(self, path: str, value: float, base: float) -> tuple[Scenario, float, bool]:
        """:func:`_moved`, its result (or its error) kept."""
        key = (path, float(value), float(base))
        if key not in self._moved:
            try:
                self._moved[key] = _moved(self.scenario, path, value, base)
            except PivotsimError as exc:
                self._moved[key] = exc
        hit = self._moved[key]
        if isinstance(hit, PivotsimError):
            raise hit
        return hit

    def point(self, path: str, value: float, scenario: Scenario) -> PointResult:
        """Base-case metrics of ``scenario``, the scenario with ``path`` moved to ``value``."""
        key = (path, float(value))
        if key not in self._points:
            self._points[key] = _base_point(scenario, self.metrics, self.close_terms)
        return self._points[key]


@dataclass
class _Moves:
    """How :func:`tornado` moves one input: its low and high ends, its spider, or why it is skipped."""

    scenario: Scenario
    factors_given: bool
    distributions: dict
    delta: float
    quantiles: tuple
    spider_points: int
    points: _Points
    base_point: PointResult
    base: dict
    metrics: list

    def rows(self, spec) -> tuple[list, list, list]:
        """(tornado rows, spider rows, skipped entries) of one ``--factor`` spec.

        An input that cannot be moved is skipped with its reason, or (inputs
        the user named) raises its :class:`PivotsimError`.
        """
        path, eq, text = (s.strip() for s in str(spec).partition("="))
        base_value = check_numeric_path(self.scenario, path, option="--factor")
        if eq:
            low, high = parse_range(text, option=f"--factor {path}")
            how = "range"
        elif path in self.distributions:
            q_low, q_high = self.quantiles
            low, high = (float(v) for v in np.ravel(self.distributions[path].ppf(np.array([q_low, q_high]))))
            how = f"p{q_low * 100:g}/p{q_high * 100:g}"
        elif base_value is None or base_value == 0:
            return [], [], [(path, f"value is {0 if base_value == 0 else 'unset'}; give --factor {path}=low:high")]
        else:
            low, high = base_value * (1 - self.delta), base_value * (1 + self.delta)
            how = f"-{self.delta:.0%}/+{self.delta:.0%}"
        points = self.points
        try:
            low_scenario, low, low_clipped = points.moved(path, low, base_value)
            high_scenario, high, high_clipped = points.moved(path, high, base_value)
            if low_clipped or high_clipped:
                how += ", clipped to the field's bounds"
            # a levered metric sizes the debt at each end: terms the moved base case cannot honour stop here
            at_low, at_high = points.point(path, low, low_scenario), points.point(path, high, high_scenario)
        except PivotsimError as exc:
            if self.factors_given:
                raise
            return [], [], [(path, str(exc))]
        rows = []
        for m in self.metrics:
            metric_low, metric_high = metric_value(at_low, m), metric_value(at_high, m)
            rows.append({"input": path, "how": how, "base_value": base_value, "low_value": low,
                         "high_value": high, "metric": m.path, "metric_base": self.base[m.path],
                         "metric_low": metric_low, "metric_high": metric_high,
                         "swing": abs(metric_high - metric_low)})
        # spider: the input across its range, plus its base value
        reference = base_value if base_value else 0.5 * (low + high)
        grid = np.unique(np.concatenate([np.linspace(low, high, self.spider_points), [reference]])) \
            if self.spider_points else ()
        spider = []
        for value in grid:
            try:
                moved, value, _ = points.moved(path, float(value), reference)
                point = self.base_point if value == base_value else points.point(path, value, moved)
            except PivotsimError:
                continue
            spider.append({"input": path, "change": value / reference - 1.0 if reference else math.nan,
                           "value": value, **{m.path: metric_value(point, m) for m in self.metrics}})
        return rows, spider, []


def _specs_and_close(scenario: Scenario, factors, at_close: bool) -> tuple[list, dict | None]:
    """The inputs to move (``factors``, else every number but :data:`TORNADO_EXCLUDED`) and the debt to keep.

    ``at_close``: the debt stays as sized on the scenario's own base case
    while each input moves (a delay or a price found after close); debt terms
    and the timeline are then left out of the default inputs (given, they
    are a one-line error).  Else (None) each moved base case sizes its own.
    """
    if factors:
        specs = list(factors)
    else:
        specs = [p for p, _ in iter_quantities(scenario) if not p.startswith(TORNADO_EXCLUDED)
                 and not (at_close and p.startswith(NOT_AT_CLOSE))]
    if not at_close:
        return specs, None
    return specs, debt_at_close_terms(scenario, [str(f).partition("=")[0].strip() for f in specs], "--factor")


def tornado(scenario: Scenario | str | Path, factors: Sequence[str] | None = None, *,
            metric: str = NPV_DIFFERENCE_BASE, delta: float = 0.2, quantiles: tuple = (0.1, 0.9),
            spider_points: int = 9, overrides: Sequence[str] = (),
            progress: Callable[[int, int], None] | None = None, debt_at_close: bool = False) -> TornadoResult:
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
    debt_at_close : bool
        Keep the debt sized on the scenario's own base case (see :func:`_specs_and_close`).

    Returns
    -------
    TornadoResult
    """
    check_delta(delta)
    q_low, q_high = (float(q) for q in quantiles)
    if not 0 < q_low < q_high < 1:
        raise PivotsimError(f"quantiles: {quantiles!r} is not allowed; need 0 < low < high < 1, e.g. 0.1:0.9")
    if isinstance(spider_points, bool) or not isinstance(spider_points, int) \
            or not (spider_points == 0 or 3 <= spider_points <= 101):
        raise PivotsimError(f"spider_points: {spider_points!r} is not allowed; must be 0 (no spider) "
                            "or from 3 to 101")
    scenario = resolve_scenario(scenario, overrides)
    ranking = parse_metric(metric)
    check_levered([ranking], scenario)
    if ranking.kind != "base":
        raise PivotsimError(f"metric {ranking.path}: tornado ranks base-case metrics; use e.g. "
                            f"{ranking.base_counterpart().path if ranking.kind != 'probability' else NPV_DIFFERENCE_BASE}")
    reported = list(dict.fromkeys(list(TORNADO_METRICS) + [ranking.path]))
    reported_metrics = [parse_metric(m) for m in reported]
    distributions = scenario_distributions(scenario)

    specs, close_terms = _specs_and_close(scenario, factors, debt_at_close)
    base_point0 = _base_point(scenario, reported_metrics, close_terms)
    points = _Points(scenario, reported_metrics, close_terms)
    base = {m.path: metric_value(base_point0, m) for m in reported_metrics}

    moves = _Moves(scenario, bool(factors), distributions, delta, (q_low, q_high), spider_points, points,
                   base_point0, base, reported_metrics)
    per_input: dict[int, tuple] = {}
    tick = forked.Ticks(progress, len(specs))

    def store(k: int, found: tuple) -> None:
        per_input[k] = found

    inputs = list(range(len(specs)))
    n_workers = max(1, min(default_threads(), len(specs) // MIN_INPUTS_PER_WORKER))
    if n_workers > 1 and forked.can_fork():
        # every n-th input to each worker: the AI inputs (whose moves re-run the deal) are spread out
        forked.walk_forked([inputs[k::n_workers] for k in range(n_workers)], points, lambda: points,
                           lambda _points, k: moves.rows(specs[k]), store, tick)
    else:
        for k in inputs:
            store(k, moves.rows(specs[k]))
            tick()
    rows = [row for k in inputs for row in per_input[k][0]]
    spider_rows = [row for k in inputs for row in per_input[k][1]]
    skipped = [entry for k in inputs for entry in per_input[k][2]]
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
