"""The Python API: ``run`` a scenario and get a :class:`RunResult`.

The CLI is a thin shell over these functions; notebooks call them directly.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from . import __version__
from .distributed import as_executor, default_threads
from .errors import PivotsimError
from .models.cashflows import CashFlows
from .models.hosting import contract_terms
from .models.market import MarketPaths
from .scenario import Scenario, resolve_scenario, to_inputs
from .simulate import (BLOCK_PATHS, BUSINESSES, DEFAULT_MAX_AUTO_PATHS, MonteCarlo, base_case,
                       breakeven_btc_price_multiplier, discount_rate, simulate, timeline_of, valuation)

DEFAULT_PATHS = 10_000
DEFAULT_SEED = 2025
DEFAULT_SAMPLE_PATHS = 1_000
MAX_PATHS = 100_000_000
PERCENTILES = (1, 5, 10, 25, 50, 75, 90, 95, 99)
#: --paths auto: default tolerance on the standard error of the mean NPV
#: difference, as a share of the larger absolute base-case NPV
AUTO_TOLERANCE_SHARE = 0.01
Z_95 = 1.959963984540054


def _finite_or_none(x):
    x = float(x)
    return x if math.isfinite(x) else None


def describe(values: np.ndarray, *, tail: bool = False) -> dict:
    """Statistics of a sample, NaN ignored (None where there is nothing to describe).

    Parameters
    ----------
    values : ndarray
    tail : bool
        Also give ``cvar5``: the mean of the worst 5% (the values at or below
        the 5th percentile), the expected shortfall of an NPV.

    Returns
    -------
    dict
        ``mean``, ``std`` (ddof 1), ``sem`` (std / sqrt(n)), ``count`` (finite
        values), ``p1 p5 p10 p25 p50 p75 p90 p95 p99``, and ``cvar5``.
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    keys = {"mean": None, "std": None, "sem": None, "count": int(v.size),
            **{f"p{q}": None for q in PERCENTILES}}
    if tail:
        keys["cvar5"] = None
    if v.size == 0:
        return keys
    pct = np.percentile(v, PERCENTILES)
    std = float(v.std(ddof=1)) if v.size > 1 else 0.0
    out = {"mean": float(v.mean()), "std": std, "sem": std / math.sqrt(v.size), "count": int(v.size),
           **{f"p{q}": float(p) for q, p in zip(PERCENTILES, pct)}}
    if tail:
        out["cvar5"] = float(v[v <= pct[PERCENTILES.index(5)]].mean())
    return out


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (95% by default).

    References
    ----------
    E. B. Wilson (1927), "Probable inference, the law of succession, and
    statistical inference", JASA 22(158).
    """
    if trials <= 0:
        return (math.nan, math.nan)
    p = successes / trials
    denom = 1.0 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def _json_safe(obj):
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return _finite_or_none(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


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
    breakeven_btc_price_multiplier : float or None
        Constant multiplier on the base BTC price path at which bitcoin NPV
        equals AI NPV (None if none in 0.01..100), computed on first use.
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
    _breakeven: list = field(default_factory=list, repr=False)

    @property
    def breakeven_btc_price_multiplier(self) -> float | None:
        """Constant multiplier on the base BTC price path at which bitcoin NPV equals AI NPV.

        None if there is none in 0.01..100; computed on first use
        (:func:`pivotsim.simulate.breakeven_btc_price_multiplier`).
        """
        if not self._breakeven:
            self._breakeven.append(breakeven_btc_price_multiplier(self.inputs))
        return self._breakeven[0]

    @property
    def timeline(self):
        return timeline_of(self.inputs)

    # ------------------------------------------------------------ base case
    def _base_metrics(self, business: str) -> dict:
        flows = self.base[business]
        val = {k: float(np.asarray(v).ravel()[0])
               for k, v in valuation(flows, discount_rate(self.inputs, business)).items()}
        revenue = float(flows.items["revenue_usd"].sum())
        ebitda = float(flows.quantities["ebitda_usd"].sum())
        kwh = float(flows.quantities["grid_kwh"].sum())
        out = {**val,
               "total_revenue_usd": revenue,
               "ebitda_margin": ebitda / revenue if revenue else math.nan,
               "revenue_usd_per_kwh": revenue / kwh if kwh else math.nan}
        if business == "bitcoin":
            btc = float(flows.quantities["btc_mined"].sum())
            cash_cost = -float((flows.items["power_usd"] + flows.items["opex_usd"]).sum())
            all_in = cash_cost - float(flows.items["capex_usd"].sum())
            out.update({
                "hashprice_usd_per_ph_day": float(flows.quantities["hashprice_usd_per_ph_day"][0, 0]),
                "btc_mined": btc,
                "cash_cost_usd_per_btc": cash_cost / btc if btc else math.nan,
                "all_in_cost_usd_per_btc": all_in / btc if btc else math.nan,
            })
        else:
            it_kwh = float(flows.quantities["critical_it_kwh"].sum())
            out.update({k: float(v) for k, v in contract_terms(self.inputs).items()})
            out["revenue_usd_per_kwh_critical_it"] = revenue / it_kwh if it_kwh else math.nan
        return out

    def summary(self) -> dict:
        """The run as a JSON-ready dict (the contract of ``summary.json``).

        Missing values (no IRR root, never pays back) are None.
        """
        out = {
            "scenario": self.scenario.name,
            "seed": self.seed,
            "paths": self.paths,
            "valuation_date": self.timeline.valuation_date.isoformat(),
            "horizon_months": self.timeline.horizon_months,
        }
        for business in BUSINESSES:
            npv = self.metrics[f"{business}_npv_usd"]
            irr = self.metrics[f"{business}_irr"]
            payback = self.metrics[f"{business}_payback_months"]
            out[business] = {
                "base": self._base_metrics(business),
                "monte_carlo": {
                    "npv_usd": describe(npv, tail=True),
                    "prob_npv_negative": float(np.mean(npv < 0)),
                    "irr": describe(irr),
                    "prob_no_irr": float(np.mean(~np.isfinite(irr))),
                    "payback_months": describe(payback),
                    "prob_never_pays_back": float(np.mean(~np.isfinite(payback))),
                    "discounted_payback_months": describe(self.metrics[f"{business}_discounted_payback_months"]),
                    "peak_funding_usd": describe(self.metrics[f"{business}_peak_funding_usd"]),
                },
            }
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
        base_price = float(np.asarray(self.inputs.market.btc_price_usd).ravel()[0])
        multiplier = self.breakeven_btc_price_multiplier
        out["comparison"] = {
            "npv_difference_usd": describe(diff, tail=True),
            "prob_ai_beats_bitcoin": float(np.mean(diff > 0)),
            "prob_ai_beats_bitcoin_ci95": list(wilson_interval(wins, diff.size)),
            "breakeven_btc_price_multiplier": multiplier,
            "breakeven_btc_price_usd": None if multiplier is None else multiplier * base_price,
        }
        out["monte_carlo"] = {"paths": self.paths, "block_paths": BLOCK_PATHS,
                              "sample_paths": int(next(iter(self.samples.values())).shape[0]) if self.samples else 0,
                              **self.convergence}
        return _json_safe(out)

    def to_json(self) -> str:
        return json.dumps(self.summary(), indent=2, ensure_ascii=False)

    # ------------------------------------------------------------ tables
    def cashflows(self) -> pd.DataFrame:
        """Base-case monthly line items of both businesses (long by business).

        One row per business and month: ``business, month, date``, every cash
        line item [USD] (0 where a business has no such item), ``net_usd``,
        then the non-cash quantities.
        """
        frames = []
        timeline = self.timeline
        for business in BUSINESSES:
            flows = self.base[business]
            data = {"business": business, "month": np.arange(timeline.n_periods),
                    "date": timeline.dates.date}
            data.update({k: np.asarray(v)[0] for k, v in flows.items.items()})
            data["net_usd"] = np.asarray(flows.net)[0]
            data.update({k: np.asarray(v)[0] for k, v in flows.quantities.items()})
            frames.append(pd.DataFrame(data))
        df = pd.concat(frames, ignore_index=True)
        cash = [c for c in df.columns if c.endswith("_usd") and c not in ("ebitda_usd", "depreciation_usd")]
        df[cash] = df[cash].fillna(0.0)
        return df

    def path_metrics(self) -> pd.DataFrame:
        """One row per Monte Carlo path: NPV, IRR, payback, funding of each business."""
        return pd.DataFrame(self._path_metric_columns())

    def _path_metric_columns(self) -> dict[str, np.ndarray]:
        """The columns of :meth:`path_metrics`: the path index, then each metric (no copies)."""
        return {"path": np.arange(self.paths), **self.metrics}

    # ------------------------------------------------------------ run folder
    def _write_path_metrics(self, path: Path) -> None:
        """``path_metrics.parquet``: the columns of :meth:`path_metrics`, written from the arrays.

        pyarrow wraps the float64 arrays without copying them (a DataFrame
        and its Arrow table would be two copies: 250 MB at 1M paths); NaN
        (no IRR, no payback) is stored as null, as pandas would.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = {}
        for name, values in self._path_metric_columns().items():
            values = np.asarray(values)
            mask = np.isnan(values) if values.dtype.kind == "f" else None
            columns[name] = pa.array(values, mask=mask if mask is not None and mask.any() else None)
        pq.write_table(pa.table(columns), path)

    def write(self, out_dir: str | Path = "runs", *, command: str | None = None, figures: bool = True) -> Path:
        """Write the run folder atomically and return its path.

        With ``figures`` the folder also holds PNG fan charts (BTC price,
        network hashrate, hashprice, cumulative cash of both businesses) and
        the NPV histogram and CDF (:mod:`pivotsim.report.figures`).

        The folder ``<out_dir>/<scenario file stem>-<UTC timestamp>`` is built
        under a temporary name and renamed when complete; an existing folder
        is never overwritten, and a failure leaves nothing behind.
        """
        out_dir = Path(out_dir)
        stem = Path(self.scenario.file).stem if self.scenario.file else "scenario"
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        out_dir.mkdir(parents=True, exist_ok=True)
        tmp = out_dir / f".{stem}-{stamp}.partial-{os.getpid()}"
        try:
            tmp.mkdir()
            (tmp / "summary.json").write_text(self.to_json() + "\n", encoding="utf-8")
            self.cashflows().to_csv(tmp / "cashflows_base.csv", index=False)
            self._write_path_metrics(tmp / "path_metrics.parquet")
            (tmp / "scenario.resolved.yaml").write_text(self.scenario.to_yaml(), encoding="utf-8")
            if figures:
                from .report.figures import write_run_figures

                write_run_figures(self, tmp)
            manifest = {
                "pivotsim_version": __version__,
                "seed": self.seed,
                "paths": self.paths,
                "command": command or "pivotsim.run (Python API)",
                "input_file": self.scenario.file,
                "input_sha256": self.scenario.sha256,
                "overrides": list(self.scenario.overrides),
                "created_utc": stamp,
                "python": platform.python_version(),
                "numpy": np.__version__,
                "execution": self.execution,
            }
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
            final = out_dir / f"{stem}-{stamp}"
            n = 2
            while True:
                try:
                    tmp.rename(final)  # atomic on one file system; fails if final exists non-empty
                    if not any(final.iterdir()):
                        raise OSError("empty")
                    break
                except OSError:
                    if tmp.exists() and final.exists():
                        final = out_dir / f"{stem}-{stamp}-{n}"
                        n += 1
                    else:
                        raise
            return final
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


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
        raise PivotsimError(f"seed: {seed!r} is not allowed; must be a whole number >= 0")


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
                     execution=execution)



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
    flows, market = base_case(inputs)
    result = RunResult(scenario=scenario, seed=0, paths=0, base=flows, base_market=market,
                       metrics={}, inputs=inputs)
    return {business: result._base_metrics(business) for business in BUSINESSES}


# ---------------------------------------------------------------- report (PDF)
def report(result_or_results, path, *, paper: str = "a4", sensitivity: bool = True,
           generated: dt.datetime | None = None) -> Path:
    """Write the PDF research note of a run, or a book of several runs.

    Parameters
    ----------
    result_or_results : RunResult or sequence of RunResult
        One run: a note on that deal.  Several: a comparison section, then
        one chapter per deal.
    path : str or Path
        Target ``.pdf`` file (its folder must exist).  Written atomically.
    paper : {"a4", "letter"}
    sensitivity : bool
        Include the tornado and break-even BTC price when pivotsim provides them.
    generated : datetime, optional
        Generation time printed on the title page (default now, UTC); the
        PDF is byte-identical for the same runs and time.

    Returns
    -------
    Path
    """
    from .report.pdf import write_report

    return write_report(result_or_results, path, paper=paper, sensitivity=sensitivity, generated=generated)
