"""What a research note computes beyond the run: its cases, sensitivity grids and drivers.

Numbers only (no drawing): :mod:`pivotsim.output` lays them out.  Each piece
reuses an engine that exists elsewhere: the cases are runs with ``--set``
overrides (:mod:`pivotsim.analysis.cases`), the grids are sweeps
(:mod:`pivotsim.analysis.grid`), the drivers are the run's own paths
(:meth:`pivotsim.runs.RunResult.drivers`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..runs import RunResult, run
from .cases import evaluate_cases
from .grid import default_grid_specs, sensitivity_grid
from .sweep import sweep
from .timing import timing

#: pricing paths of the switching option in a note (the policy is fitted on as many others)
NOTE_TIMING_PATHS = 5_000


@dataclass
class NoteData:
    """What the decision pages of a note read.

    Attributes
    ----------
    result : RunResult
    summary : dict
        ``result.summary()``.
    drivers : DriversResult or None
        Contribution to the variance of the NPV difference, from the run's paths.
    cases : list of CaseResult
        Bear, base, bull (and any other named case of the scenario); empty
        when the scenario has none or the analyses were not asked for.
    grids : list of SensitivityGrid
    extras : dict
        Sections other analyses add when the run carries them (summary
        sub-dicts by name: ``value_bridge``, ``financing``, ``timing``,
        ``market_now``).
    """

    result: RunResult
    summary: dict
    drivers: object = None
    cases: list = field(default_factory=list)
    grids: list = field(default_factory=list)
    extras: dict = field(default_factory=dict)


EXTRA_KEYS = ("value_bridge", "financing", "timing", "market_now")


def _extras(summary: dict) -> dict:
    """Summary sections the note shows when a run has them, wherever the summary keeps them."""
    out = {}
    for key in EXTRA_KEYS:
        if summary.get(key):
            out[key] = summary[key]
        per_business = {b: summary[b][key] for b in ("bitcoin", "ai") if summary.get(b, {}).get(key)}
        if per_business and key not in out:
            out[key] = per_business
        comparison = summary.get("comparison", {}).get(key)
        if comparison and key not in out:
            out[key] = comparison
    return out


def note_data(result: RunResult, *, analyses: bool = True) -> NoteData:
    """The note's numbers for a run: drivers, cases (same seed and paths), grids.

    Parameters
    ----------
    result : RunResult
    analyses : bool
        False: the run's own numbers only (no cases, no grids).

    Returns
    -------
    NoteData
    """
    summary = result.summary()
    data = NoteData(result=result, summary=summary, drivers=result.drivers(), extras=_extras(summary))
    if not analyses:
        return data
    if result.scenario.cases:
        data.cases = evaluate_cases(result.scenario, run=run, paths=result.paths, seed=result.seed,
                                    base_summary=summary, market_horizon_months=result.market_horizon_months)
    data.grids = [sensitivity_grid(result.scenario, spec, sweep=sweep) for spec in default_grid_specs(result.scenario)]
    if getattr(result.scenario, "option", None) is not None:
        found = timing(result.scenario, paths=min(max(result.paths, 2), NOTE_TIMING_PATHS), seed=result.seed)
        data.extras["timing_result"] = found
        data.extras["timing"] = {"option_value_usd": found.summary()["option_value_of_waiting_usd"]}
    return data
