"""Global sensitivity indices, Sobol' and Morris, through SALib; :func:`sensitivity` picks the method.

Inputs are sampled on the unit hypercube (Saltelli/Sobol' or Morris
trajectories), mapped through each factor's inverse CDF, and analysed with
``SALib.analyze.sobol`` (first and total order with bootstrap confidence
intervals) or ``SALib.analyze.morris`` (mu*, sigma).

References
----------
Saltelli, A. et al. (2010), Variance based sensitivity analysis of model
output, Comput. Phys. Commun. 181, 259-270.  Morris, M. D. (1991),
Factorial sampling plans for preliminary computational experiments,
Technometrics 33, 161-174.  Herman, J. and Usher, W. (2017), SALib, JOSS 2(9).
Ishigami, T. and Homma, T. (1990), test function, S1 = 0.3139, 0.4424, 0.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from ..runs import DEFAULT_SEED
from ..errors import PivotsimError
from ..scenario import Scenario, resolve_scenario
from ..inputs import to_inputs
from ..simulate import VALUATION_METRICS, base_case, discount_rate, valuation
from ..inputs import substitute
from .crn import base_point
from .metrics import NPV_DIFFERENCE_BASE, Metric, check_levered, metric_value, parse_metric
from .parameters import check_paths_seed, scenario_at
from .tornado import Factor, check_delta, parse_factor, scenario_distributions, tornado


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
    :func:`pivotsim.inputs.sample_inputs` does) and one base case of n
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


def check_debt_at_close(method: str, debt_at_close: bool) -> None:
    """``--debt-at-close`` moves inputs one at a time under a fixed debt: the tornado's, not Sobol', Morris or drivers'."""
    if debt_at_close and method != "tornado":
        raise PivotsimError(f"--debt-at-close: only with --method tornado (sweep and breakeven take it too), "
                            f"not {method}")


def sensitivity(scenario: Scenario | str | Path, method: str = "tornado", *,
                factors: Sequence[str] | None = None, metric: str = NPV_DIFFERENCE_BASE,
                delta: float = 0.2, quantiles: tuple = (0.1, 0.9), samples: int | None = None,
                seed: int = DEFAULT_SEED, overrides: Sequence[str] = (), spider_points: int = 9,
                progress: Callable[[int, int], None] | None = None, debt_at_close: bool = False):
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
    debt_at_close : bool
        Tornado: keep the debt sized on the scenario's own base case while
        each input moves (:func:`pivotsim.analysis.tornado.tornado`).

    Returns
    -------
    TornadoResult or GlobalResult
    """
    if method == "tornado":
        return tornado(scenario, factors, metric=metric, delta=delta, quantiles=quantiles,
                       spider_points=spider_points, overrides=overrides, progress=progress,
                       debt_at_close=debt_at_close)
    if method not in ("sobol", "morris"):
        raise PivotsimError(f"--method {method!r} is not allowed; must be tornado, sobol or morris")
    check_debt_at_close(method, debt_at_close)
    check_delta(delta)
    check_paths_seed(1, seed)
    scenario = resolve_scenario(scenario, overrides)
    target = parse_metric(metric)
    check_levered([target], scenario)
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
