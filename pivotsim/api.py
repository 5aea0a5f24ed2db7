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
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from . import __version__
from .distributed import as_executor
from .errors import PivotsimError
from .models.cashflows import CashFlows
from .models.hosting import contract_terms
from .models.market import MarketPaths
from .scenario import Scenario, load_scenario, to_inputs
from .simulate import BUSINESSES, base_case, discount_rate, simulate_paths, timeline_of, valuation

DEFAULT_PATHS = 10_000
DEFAULT_SEED = 2025
MAX_PATHS = 100_000_000
PERCENTILES = (5, 25, 50, 75, 95)


def _finite_or_none(x):
    x = float(x)
    return x if math.isfinite(x) else None


def describe(values: np.ndarray) -> dict:
    """Mean, standard deviation and percentiles of a sample (NaN ignored; None if empty)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"mean": None, "std": None, **{f"p{q}": None for q in PERCENTILES}}
    pct = np.percentile(v, PERCENTILES)
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if v.size > 1 else 0.0,
            **{f"p{q}": float(p) for q, p in zip(PERCENTILES, pct)}}


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
    execution : dict
        Where the paths ran: ``{"backend": "local"}`` or the Dask scheduler,
        workers and threads (written to ``manifest.json``).
    """

    scenario: Scenario
    seed: int
    paths: int
    base: dict[str, CashFlows]
    base_market: MarketPaths
    metrics: dict[str, np.ndarray]
    inputs: object = field(repr=False, default=None)
    market_horizon_months: int | None = None  # shocks drawn over this many months (see run)
    execution: dict = field(default_factory=lambda: {"backend": "local"})

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
            out[business] = {
                "base": self._base_metrics(business),
                "monte_carlo": {
                    "npv_usd": describe(npv),
                    "prob_npv_negative": float(np.mean(npv < 0)),
                    "irr": describe(self.metrics[f"{business}_irr"]),
                    "payback_months": describe(self.metrics[f"{business}_payback_months"]),
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
        out["comparison"] = {
            "npv_difference_usd": describe(diff),
            "prob_ai_beats_bitcoin": float(np.mean(diff > 0)),
        }
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
        df = pd.DataFrame(self.metrics)
        df.insert(0, "path", np.arange(self.paths))
        return df

    # ------------------------------------------------------------ run folder
    def write(self, out_dir: str | Path = "runs", *, command: str | None = None) -> Path:
        """Write the run folder atomically and return its path.

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
            metrics = self.path_metrics()
            try:
                metrics.to_parquet(tmp / "path_metrics.parquet", index=False)
            except ImportError:
                metrics.to_csv(tmp / "path_metrics.csv", index=False)
            (tmp / "scenario.resolved.yaml").write_text(self.scenario.to_yaml(), encoding="utf-8")
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
    if isinstance(paths, bool) or not isinstance(paths, (int, np.integer)) or not 1 <= paths <= MAX_PATHS:
        raise PivotsimError(f"paths: {paths!r} is not allowed; must be a whole number from 1 to {MAX_PATHS:,}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2 ** 63:
        raise PivotsimError(f"seed: {seed!r} is not allowed; must be a whole number >= 0")


def run(scenario: Scenario | str | Path, paths: int = DEFAULT_PATHS, seed: int = DEFAULT_SEED,
        *, overrides=(), progress: Callable[[int, int], None] | None = None,
        market_horizon_months: int | None = None, client=None) -> RunResult:
    """Value a scenario: base case of both businesses and a Monte Carlo.

    Parameters
    ----------
    scenario : Scenario or path
        A loaded scenario or a YAML file.
    paths : int
        Monte Carlo paths (default 10,000).
    seed : int
        Seed of the run; the same scenario and seed give identical numbers.
    overrides : sequence of str
        ``dotted.key=value`` settings, as ``--set``.
    progress : callable(done, total), optional
    market_horizon_months : int, optional
        Draw the market's random shocks over at least this many months.
        Scenarios of different horizons run with the same seed and the same
        value see identical market paths month by month (common random
        numbers, as :func:`pivotsim.compare` uses); the default draws over
        the scenario's own horizon.
    client : distributed.Client, optional
        Run the Monte Carlo on this Dask cluster (see
        :func:`pivotsim.distributed.connect`); the numbers are identical to a
        local run with the same seed.

    Returns
    -------
    RunResult
    """
    _check_run_args(paths, seed)
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, overrides)
    elif overrides:
        scenario = scenario.with_overrides(overrides)
    inputs = to_inputs(scenario)
    flows, market = base_case(inputs)
    executor = None if client is None else as_executor(client)
    metrics = simulate_paths(inputs, int(paths), int(seed), progress=progress,
                             shock_horizon_months=market_horizon_months, executor=executor)
    return RunResult(scenario=scenario, seed=int(seed), paths=int(paths), base=flows,
                     base_market=market, metrics=metrics, inputs=inputs,
                     market_horizon_months=market_horizon_months,
                     execution=executor.description if executor is not None else {"backend": "local"})


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
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, overrides)
    elif overrides:
        scenario = scenario.with_overrides(overrides)
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
