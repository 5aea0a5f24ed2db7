"""Break-even: the value of one parameter at which a metric reaches its target (scipy brentq).

Any number of the scenario against any metric, on the base case or (with
common random numbers) on a Monte Carlo statistic; every solution is
re-verified by a fresh :func:`pivotsim.run`.

The break-even *BTC price* that ``summary.json`` and the PDF report (the
constant multiplier on the base BTC price path at which bitcoin NPV equals
AI NPV) has one implementation,
:func:`pivotsim.simulate.breakeven_btc_price_multiplier`, read from a run as
``RunResult.breakeven_btc_price_multiplier``.  ``breakeven(scenario,
"market.btc_price_usd", "comparison.npv_difference_usd=0")`` solves the same
equation in a given range and agrees with it (tests/test_sensitivity.py).

References
----------
Brent, R. (1973), Algorithms for Minimization without Derivatives (brentq).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pandas as pd

from ..runs import DEFAULT_SEED, RunResult, describe, run as run_scenario
from ..errors import PivotsimError
from ..scenario import Scenario, resolve_scenario
from .crn import DEFAULT_SWEEP_PATHS, CrnEngine, metric_needs
from .metrics import NPV_DIFFERENCE, Metric, check_levered, metric_value, parse_metric
from .parameters import check_numeric_path, check_paths_seed, parse_range, read_number, scenario_at


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
    return parse_metric(name), read_number(text, f"--target {name}")


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
              overrides: Sequence[str] = (), debt_at_close: bool = False) -> BreakevenResult:
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
        both ends), a metric that is not a number at an end, a base-case
        metric that crosses the target more than once on a grid of
        :data:`SCAN_POINTS` points inside the range (not monotone: naming
        where), a levered metric of a business without debt, or a solution
        that the fresh run does not reproduce within tolerance (the metric
        jumps there).
    """
    from scipy.optimize import brentq

    check_paths_seed(paths, seed)
    scenario = resolve_scenario(scenario, overrides)
    param = str(param).strip()
    base_value = check_numeric_path(scenario, param)
    metric, goal = _parse_target(target)
    check_levered([metric], scenario)
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
    need, need_base = metric_needs([metric])
    engine = CrnEngine(scenario, [param], paths=int(paths) if stochastic else 0, seed=int(seed),
                       path_metrics=need, base=need_base, base_metrics=[metric], at_close=debt_at_close)
    calls = [0]

    def gap(x: float) -> float:
        calls[0] += 1
        return metric_value(engine.evaluate({param: x}), metric) - goal

    f_low, f_high = gap(low), gap(high)
    ends = (f"{metric.path} is {_value_text(metric.path, f_low + goal)} at {param}={_value_text(param, low)} "
            f"and {_value_text(metric.path, f_high + goal)} at {param}={_value_text(param, high)}")
    if not (math.isfinite(f_low) and math.isfinite(f_high)):
        raise PivotsimError(f"breakeven: {ends}; the metric must be a number at both ends")
    if not stochastic:  # cheap on the base case; a Monte Carlo statistic's noise would cross spuriously
        _check_one_crossing(gap, metric, param, goal, (low, f_low), (high, f_high))
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


#: points inside the range at which a base-case solve first checks that the metric crosses its
#: target once (a metric that is not monotone, such as a minimum DSCR, may cross it several times)
SCAN_POINTS = 7


def _check_one_crossing(gap, metric: Metric, param: str, goal: float, low: tuple, high: tuple) -> None:
    """Refuse a range in which the metric crosses its target more than once (seen on a grid of the range).

    ``gap`` is the metric minus the target as a function of ``param``;
    ``low`` and ``high`` are ``(value, gap)`` at the ends.  Points where the
    metric is not a number, or is exactly on target, are left out.  Only sign changes between grid
    points are seen: a single crossing here is not a proof of one root.
    """
    (a, f_a), (b, f_b) = low, high
    inner = [a + (b - a) * k / (SCAN_POINTS + 1) for k in range(1, SCAN_POINTS + 1)]
    points = [(a, f_a)] + [(x, gap(x)) for x in inner] + [(b, f_b)]
    points = [(x, f) for x, f in points if math.isfinite(f) and f != 0]  # a root on the grid: its neighbours
    crossings = [(x0, x1) for (x0, f0), (x1, f1) in zip(points, points[1:]) if (f0 > 0) != (f1 > 0)]
    if len(crossings) > 1:
        where = ", ".join(f"{_value_text(param, x0)}..{_value_text(param, x1)}" for x0, x1 in crossings)
        raise PivotsimError(f"breakeven: {metric.path} crosses {_value_text(metric.path, goal)} {len(crossings)} "
                            f"times in {param} {_value_text(param, a)}..{_value_text(param, b)} (in {where}): "
                            "it is not monotone there, so the break-even is not unique; give a --range around one "
                            "crossing")


def _metric_from_run(result: RunResult, metric: Metric) -> float:
    """A metric read from a run's summary (the independent check of the solver)."""
    summary = result.summary()
    if metric.kind == "base":
        if metric.business == "comparison":
            return summary["ai"]["base"]["npv_usd"] - summary["bitcoin"]["base"]["npv_usd"]
        section = summary[metric.business]["base"]
    elif metric.business == "comparison":
        section = summary["comparison"]
    else:
        section = summary[metric.business]["monte_carlo"]
    block, _, key = metric.key.rpartition(".")  # equity.irr: the equity block's irr
    section = section[block] if block else section
    if key in section:
        value = section[key]
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
