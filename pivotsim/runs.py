"""The Python API: ``run`` a scenario and get a :class:`RunResult`.

The CLI is a thin shell over these functions; notebooks call them directly.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .distributed import as_executor, default_threads
from .drivers import MIN_PATHS as MIN_DRIVER_PATHS, DriversResult, run_drivers
from .errors import PivotsimError
from .framing import framing_summary
from .levered import (base_blocks, base_debt, financing_headline, monte_carlo_blocks, schedule_columns,
                      value_bridge_with_financing)
from .inputs import to_inputs
from .models.cashflows import CashFlows
from .models.finance import BRIDGE_PARTS
from .models.market import MarketPaths
from .models.rollforward import AT_VALUATION, describe_at_valuation, gap_days, state_at_valuation
from .scenario import Scenario, resolve_scenario
from .scenario.labels import input_labels
from .simulate import (
    BLOCK_PATHS,
    BUSINESSES,
    DEFAULT_MAX_AUTO_PATHS,
    MonteCarlo,
    base_case,
    base_case_kpis,
    breakeven_btc_price_multiplier,
    discount_rate,
    simulate,
    timeline_of,
    valuation,
)
from .defaults import DEFAULT_PATHS, DEFAULT_SEED  # noqa: F401  (re-exported)
from .statistics import describe, json_safe, wilson_interval
from .valuation import base_value_bridge

DEFAULT_SAMPLE_PATHS = 1_000
MAX_PATHS = 100_000_000
#: --paths auto: default tolerance on the standard error of the mean NPV
#: difference, as a share of the larger absolute base-case NPV
AUTO_TOLERANCE_SHARE = 0.01


@dataclass
class RunResult:
    """A valued scenario: base case of both businesses and the Monte Carlo.

    Attributes
    ----------
    scenario : Scenario
    seed : int
    paths : int
    base : dict of str -> CashFlows
        Base-case line items of ``"bitcoin"`` and ``"ai"``.
    base_market : MarketPaths
        Base-case market path.
    metrics : dict of str -> ndarray (paths,)
        Per-path metrics (see :meth:`path_metrics`).
    samples : dict of str -> ndarray (sample paths, n_periods)
        Monthly series of the first Monte Carlo paths, for fan charts
        (:data:`pivotsim.simulate.SAMPLE_SERIES`).
    convergence : dict
        How the path count was set (fixed or auto) and the standard error of
        the mean NPV difference.
    debt : dict of str -> DebtResult
        The base case's debt of each levered business (schedule lines,
        metrics, the equity's flows; :mod:`pivotsim.models.debt`).
    breakeven_btc_price_multiplier : float or None
        Constant multiplier on the base BTC price path at which bitcoin NPV
        equals AI NPV (None if none in 0.01..100;
        :func:`pivotsim.simulate.breakeven_btc_price_multiplier`, the one
        break-even BTC price of pivotsim).  Solved when first read (the
        command line reads it once the figures are being drawn).
    framing : dict
        Fleet framing and converted share of the site, with the base-case
        mining NPV under each fleet framing (:func:`pivotsim.framing.framing_summary`).
    execution : dict
        Where the paths ran: ``{"backend": "local"}`` (plus ``threads`` when
        more than one), or the Dask scheduler, workers and threads (written to
        ``manifest.json``).
    """

    scenario: Scenario
    seed: int
    paths: int
    base: dict[str, CashFlows]
    base_market: MarketPaths
    metrics: dict[str, np.ndarray]
    inputs: object = field(repr=False, default=None)
    market_horizon_months: int | None = None  # shocks drawn over this many months (see run)
    samples: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    convergence: dict = field(default_factory=dict)
    execution: dict = field(default_factory=lambda: {"backend": "local"})
    framing: dict = field(default_factory=dict)
    debt: dict = field(repr=False, default_factory=dict)
    _breakeven: tuple | None = field(default=None, repr=False)  # (multiplier,) once solved

    @property
    def breakeven_btc_price_multiplier(self) -> float | None:
        if self._breakeven is None:
            self._breakeven = (breakeven_btc_price_multiplier(self.inputs),)
        return self._breakeven[0]

    @breakeven_btc_price_multiplier.setter
    def breakeven_btc_price_multiplier(self, value: float | None) -> None:
        self._breakeven = (value,)

    @property
    def breakeven_btc_price_usd(self) -> float | None:
        """``market.btc_price_usd`` [USD] at which bitcoin NPV equals AI NPV (None when there is none).

        :attr:`breakeven_btc_price_multiplier` times the scenario's price, the
        value ``pivotsim breakeven --param market.btc_price_usd`` finds: the
        price on the market state's date (t = 0 when there is no gap; the
        multiplier scales the whole path, the gap included).
        """
        k = self.breakeven_btc_price_multiplier
        return None if k is None else k * float(np.asarray(self.inputs.market.btc_price_usd).ravel()[0])

    @property
    def gap_days(self) -> int:
        """Days from the market state's date to the valuation date (0: no gap)."""
        return gap_days(getattr(self.inputs.market, "state_date", None), self.timeline.valuation_date)

    def market_at_valuation(self) -> dict:
        """The market at the valuation date: p5/p50/p95 over paths and the base case, next halving dates.

        See :func:`pivotsim.models.rollforward.describe_at_valuation`.
        """
        per_path = {name: self.metrics[f"at_valuation.{name}"] for name in AT_VALUATION}
        base = state_at_valuation(self.base_market, self.timeline.days, 1)
        block = describe_at_valuation(per_path, base, self.timeline.valuation_date, self.gap_days)
        state_date = getattr(self.inputs.market, "state_date", None) or self.timeline.valuation_date
        return {"state_date": state_date.isoformat(), **block}

    @property
    def timeline(self):
        return timeline_of(self.inputs)

    def drivers(self, method: str = "regression") -> DriversResult | None:
        """What drives the spread of the NPV difference over this run's paths (None below 20 paths).

        Contribution to its variance of each uncertain input and of the
        market paths as one group (:func:`pivotsim.drivers.run_drivers`),
        from the run's own draws: ``method`` ``"regression"`` or ``"rank"``.
        """
        if self.paths < MIN_DRIVER_PATHS:
            return None
        paths = [k.split(".", 1)[1] for k in self.metrics if k.startswith("input.")]
        return run_drivers(self.metrics, method=method, labels=input_labels(paths, self.scenario))

    def base_value_bridges(self) -> dict[str, dict]:
        """Each business's base-case value bridge (part -> USD), as ``summary.json`` gives it.

        A levered business's has the debt's ``financing_usd`` part.  What the
        figures read, without the rest of the summary (the break-even BTC
        price among it).
        """
        return {b: value_bridge_with_financing(self.inputs, self.base[b], self.debt[b], b) if b in self.debt
                else base_value_bridge(self.base[b], discount_rate(self.inputs, b)) for b in BUSINESSES}

    def summary(self) -> dict:
        """The run as a JSON-ready dict (the contract of ``summary.json``).

        Missing values (no IRR root or none that means something, never
        pays back) are None.  ``<business>.base.value_bridge`` and
        ``<business>.monte_carlo.value_bridge_mean`` take the NPV apart
        (:func:`pivotsim.models.finance.value_bridge`).
        """
        out = {
            "scenario": self.scenario.name,
            "seed": self.seed,
            "paths": self.paths,
            "valuation_date": self.timeline.valuation_date.isoformat(),
            "horizon_months": self.timeline.horizon_months,
            "market": {"at_valuation": self.market_at_valuation()},
        }
        for business in BUSINESSES:
            npv = self.metrics[f"{business}_npv_usd"]
            irr = self.metrics[f"{business}_irr"]
            payback = self.metrics[f"{business}_payback_months"]
            out[business] = {
                "base": base_case_kpis(self.inputs, self.base[business], business),
                "monte_carlo": {
                    "npv_usd": describe(npv, tail=True),
                    "prob_npv_negative": float(np.mean(npv < 0)),
                    "irr": describe(irr),
                    "prob_no_irr": float(np.mean(~np.isfinite(irr))),
                    "mirr": describe(self.metrics[f"{business}_mirr"]),
                    "payback_months": describe(payback),
                    "prob_never_pays_back": float(np.mean(~np.isfinite(payback))),
                    "discounted_payback_months": describe(self.metrics[f"{business}_discounted_payback_months"]),
                    "peak_funding_usd": describe(self.metrics[f"{business}_peak_funding_usd"]),
                    "value_bridge_mean": {part: float(np.mean(self.metrics[f"{business}_value_bridge_{part}"]))
                                          for part in BRIDGE_PARTS},
                },
            }
            if business in self.debt:
                base = base_blocks(self.inputs, self.base[business], self.debt[business], business)
                out[business]["base"].update(base)
                out[business]["monte_carlo"].update(monte_carlo_blocks(self.metrics, business))
                out[business]["financing"] = financing_headline(base, out[business]["monte_carlo"])
        spec = getattr(self.inputs, "uncertainty", None)
        if spec is not None:
            out["sampling"] = spec.sampling
            out["uncertain_inputs"] = {path: {"kind": d.kind, "base": d.base, "distribution": d.describe()}
                                       for path, d in spec.distributions.items()}
            out["rank_correlations"] = [
                [a, b, float(spec.rank_correlation[i, j])]
                for i, a in enumerate(spec.correlated) for j, b in enumerate(spec.correlated)
                if i < j and spec.rank_correlation[i, j] != 0]
        diff = self.metrics["npv_difference_usd"]
        wins = int(np.sum(diff > 0))
        multiplier = self.breakeven_btc_price_multiplier
        out["comparison"] = {
            "npv_difference_usd": describe(diff, tail=True),
            "prob_ai_beats_bitcoin": float(np.mean(diff > 0)),
            "prob_ai_beats_bitcoin_ci95": list(wilson_interval(wins, diff.size)),
            "breakeven_btc_price_multiplier": multiplier,
            "breakeven_btc_price_usd": self.breakeven_btc_price_usd,
        }
        drivers = self.drivers()
        if drivers is not None:
            out["comparison"]["drivers"] = drivers.summary()
        if self.framing:
            out["framing"] = dict(self.framing)
        out["monte_carlo"] = {"paths": self.paths, "block_paths": BLOCK_PATHS,
                              "sample_paths": int(next(iter(self.samples.values())).shape[0]) if self.samples else 0,
                              **self.convergence}
        return json_safe(out)

    def to_json(self) -> str:
        return json.dumps(self.summary(), indent=2, ensure_ascii=False)

    # ------------------------------------------------------------ tables
    def cashflows(self) -> "pd.DataFrame":  # noqa: F821 - pandas only for the table
        """Base-case monthly line items of both businesses (long by business).

        One row per business and month: ``business, month, date``, every cash
        line item [USD] (0 where a business has no such item), ``net_usd``,
        then the non-cash quantities, and for a levered business its debt
        schedule (:data:`pivotsim.models.debt.LINE_NAMES`: draws, fees,
        interest, principal, balance, tax saving, CFADS, DSCR, reserve,
        lock-up cash and the equity's flow; not line items of the net).
        """
        import pandas as pd

        return pd.DataFrame(self.cashflow_columns())

    def cashflow_columns(self) -> dict[str, np.ndarray]:
        """The columns of :meth:`cashflows`, in its order (what ``cashflows_base.csv`` holds)."""
        parts = []
        timeline = self.timeline
        for business in BUSINESSES:
            flows = self.base[business]
            data = {"business": np.full(timeline.n_periods, business, dtype=object),
                    "month": np.arange(timeline.n_periods),
                    "date": np.array(timeline.month_dates, dtype=object)}
            data.update({k: np.asarray(v, dtype=float)[0] for k, v in flows.items.items()})
            data["net_usd"] = np.asarray(flows.net, dtype=float)[0]
            data.update({k: np.asarray(v, dtype=float)[0] for k, v in flows.quantities.items()})
            if business in self.debt:
                data.update({k: np.asarray(v, dtype=float) for k, v in schedule_columns(self.debt[business]).items()})
            parts.append(data)
        # the union of the columns in order of appearance; a line a business lacks: NaN, 0 for cash
        names = list(dict.fromkeys(name for data in parts for name in data))
        columns = {}
        for name in names:
            cash = name.endswith("_usd") and name not in ("ebitda_usd", "depreciation_usd")
            pieces = [data.get(name, np.full(timeline.n_periods, np.nan)) for data in parts]
            column = np.concatenate(pieces)
            columns[name] = np.where(np.isnan(column), 0.0, column) if cash else column
        return columns

    def path_metrics(self) -> "pd.DataFrame":  # noqa: F821 - pandas only for the table
        """One row per Monte Carlo path: NPV, IRR, payback, funding of each business."""
        import pandas as pd

        return pd.DataFrame(self.path_metric_columns())

    def path_metric_columns(self) -> dict[str, np.ndarray]:
        """The columns of :meth:`path_metrics`: the path index, then each metric (no copies)."""
        return {"path": np.arange(self.paths), **self.metrics}

def _check_run_args(paths, seed):
    if paths is None or (isinstance(paths, str) and paths.strip().lower() == "auto"):
        paths = None
    elif isinstance(paths, bool) or not isinstance(paths, (int, np.integer)) or not 1 <= paths <= MAX_PATHS:
        raise PivotsimError(f"paths: {paths!r} is not allowed; must be 'auto' or a whole number "
                            f"from 1 to {MAX_PATHS:,}")
    check_seed(seed)
    return None if paths is None else int(paths)


def check_seed(seed) -> None:
    """Raise a one-line PivotsimError unless ``seed`` is a whole number in [0, 2**63)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2 ** 63:
        raise PivotsimError(f"seed: {seed!r} is not allowed; must be a whole number from 0 to 2**63 - 1")


def default_tolerance_usd(base: dict[str, CashFlows], inputs) -> float:
    """Default ``--paths auto`` tolerance: 1% of the larger absolute base-case NPV [USD]."""
    npvs = [abs(float(np.asarray(valuation(base[b], discount_rate(inputs, b))["npv_usd"]).ravel()[0]))
            for b in BUSINESSES]
    return max(AUTO_TOLERANCE_SHARE * max(npvs), 1.0)


def run(scenario: Scenario | str | Path, paths: int | str | None = DEFAULT_PATHS, seed: int = DEFAULT_SEED,
        *, overrides=(), progress: Callable[[int, int], None] | None = None,
        tolerance_usd: float | None = None, max_paths: int = DEFAULT_MAX_AUTO_PATHS,
        sample_paths: int = DEFAULT_SAMPLE_PATHS, threads: int | None = None,
        market_horizon_months: int | None = None, client=None) -> RunResult:
    """Value a scenario: base case of both businesses and a Monte Carlo.

    Parameters
    ----------
    scenario : Scenario or path
        A loaded scenario or a YAML file.
    paths : int or "auto"
        Monte Carlo paths (default 10,000).  ``"auto"`` (or None) adds paths
        (10k, 20k, 50k, 100k, ...) until the standard error of the mean NPV
        difference is at most ``tolerance_usd``, up to ``max_paths``.
    seed : int
        Seed of the run; the same scenario and seed give identical numbers.
    overrides : sequence of str
        ``dotted.key=value`` settings, as ``--set``.
    progress : callable(done, total), optional
    tolerance_usd : float, optional
        Auto mode's target standard error [USD]; default 1% of the larger
        absolute base-case NPV.
    max_paths : int
        Auto mode's cap (default 1,000,000).
    sample_paths : int
        Paths whose monthly series are kept for fan charts (default 1,000).
    threads : int, optional
        Threads of this process evaluating chunks of paths (local runs only;
        ignored with ``client``); never changes results.  Default: the CPUs
        this process may use, at most 8
        (:func:`pivotsim.distributed.default_threads`).  Not the CLI's
        ``--workers``, which starts Dask worker processes (``client``).
    market_horizon_months : int, optional
        Draw the market's random shocks over at least this many months.
        Scenarios of different horizons run with the same seed and the same
        value see identical market paths month by month (common random
        numbers, as :func:`pivotsim.compare` uses); the default draws over
        the scenario's own horizon.
    client : distributed.Client, optional
        Run the Monte Carlo on this Dask cluster (see
        :func:`pivotsim.distributed.connect`); the numbers are identical to a
        local run with the same seed.  Also a pivotsim executor
        (:func:`pivotsim.distributed.as_executor`).  ``paths="auto"`` works
        there too: each checkpoint's new blocks are sent as one batch of tasks.

    Returns
    -------
    RunResult
    """
    n_paths = _check_run_args(paths, seed)
    if n_paths is None:
        if isinstance(max_paths, bool) or not isinstance(max_paths, (int, np.integer)) \
                or not BLOCK_PATHS <= max_paths <= MAX_PATHS:
            raise PivotsimError(f"max_paths: {max_paths!r} is not allowed; must be a whole number "
                                f"from {BLOCK_PATHS:,} to {MAX_PATHS:,}")
        if tolerance_usd is not None and not (isinstance(tolerance_usd, (int, float)) and tolerance_usd > 0
                                              and math.isfinite(tolerance_usd)):
            raise PivotsimError(f"tolerance_usd: {tolerance_usd!r} is not allowed; must be a number > 0")
    if threads is None:
        threads = default_threads()
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise PivotsimError(f"threads: {threads!r} is not allowed; must be a whole number >= 1")
    scenario = resolve_scenario(scenario, overrides)
    inputs = to_inputs(scenario)
    flows, market = base_case(inputs)
    debt = base_debt(inputs, flows)  # sized on the base case: bad terms stop here, before the paths
    if n_paths is None and tolerance_usd is None:
        tolerance_usd = default_tolerance_usd(flows, inputs)
    executor = None if client is None else as_executor(client)
    mc: MonteCarlo = simulate(inputs, n_paths, int(seed), progress=progress, sample_paths=int(sample_paths),
                              tolerance_usd=tolerance_usd, max_paths=int(max_paths), threads=int(threads),
                              shock_horizon_months=market_horizon_months, executor=executor)
    if executor is not None:
        execution = executor.description
    else:
        execution = {"backend": "local", **({"threads": int(threads)} if threads > 1 else {})}
    return RunResult(scenario=scenario, seed=int(seed), paths=mc.paths, base=flows,
                     base_market=market, metrics=mc.metrics, inputs=inputs, samples=mc.samples,
                     convergence=mc.convergence, market_horizon_months=market_horizon_months,
                     execution=execution, framing=framing_summary(inputs), debt=debt)



def base_case_metrics(scenario: Scenario | str | Path, *, overrides=()) -> dict[str, dict]:
    """Base-case metrics of both businesses, without a Monte Carlo.

    Parameters
    ----------
    scenario : Scenario or path
    overrides : sequence of str
        ``dotted.key=value`` settings, as ``--set``.

    Returns
    -------
    dict
        ``{"bitcoin": {...}, "ai": {...}}``, the same dicts as
        ``RunResult.summary()[business]["base"]``.
    """
    scenario = resolve_scenario(scenario, overrides)
    inputs = to_inputs(scenario)
    flows, _ = base_case(inputs)
    return {business: base_case_kpis(inputs, flows[business], business) for business in BUSINESSES}
