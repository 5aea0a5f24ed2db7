"""Named cases of a scenario (bull, bear, ...): each a list of ``--set`` overrides and the reason for them.

A scenario may say, next to its base numbers, how an analyst's upside and
downside read::

    cases:
      bull:
        overrides: ["market.btc_price_usd=150000", "market.btc_drift_per_year=0.25"]
        assumption: "BTC back above its 2025 high and a strong cycle into the 2028 halving"
      bear:
        overrides: ["market.btc_price_usd=70000", "ai.risks.capex_overrun_multiplier=1.3"]
        assumption: "BTC at its 2024 range and the AI halls 30% over budget"

A case is exactly what ``pivotsim run --set ...`` would run: its overrides
are applied to the scenario as the command line applies them (validated the
same way, provenance kept with a note), and it is run with the same seed and
paths as the base, so the cases differ by their inputs only (common random
numbers).  ``base`` is the scenario as written and cannot be redefined.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

from pydantic import ValidationError

from ..errors import ScenarioError
from ..scenario.cases import BASE_CASE, CASE_NAME, Case, check_case_overrides

#: cases shown in this order when present, the others after them in the file's order
CASE_ORDER = ("bear", BASE_CASE, "bull")


def parse_cases(data: Mapping | None) -> dict[str, Case]:
    """Validate a ``cases`` mapping read from YAML.

    Raises
    ------
    ScenarioError
        Naming ``cases.<name>...``: a name that is not lower-case letters,
        digits and underscores, ``base`` redefined, a missing or empty
        ``overrides`` or ``assumption``, an unknown key.
    """
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ScenarioError(f"expected a mapping of case names to {{overrides, assumption}}, got "
                            f"{type(data).__name__}", path="cases")
    out: dict[str, Case] = {}
    for name, body in data.items():
        name = str(name)
        if not CASE_NAME.match(name):
            raise ScenarioError(f"case name {name!r} is not allowed; use lower-case letters, digits and _ "
                                "(bull, bear, low_btc)", path="cases")
        if name == BASE_CASE:
            raise ScenarioError("'base' is the scenario as written; name the case otherwise", path="cases.base")
        try:
            out[name] = body if isinstance(body, Case) else Case.model_validate(body)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise ScenarioError(err["msg"], path=f"cases.{name}" + (f".{where}" if where else "")) from None
    return out


def check_cases(scenario, cases: Mapping[str, Case]) -> dict[str, object]:
    """Each case's scenario, every override validated before anything runs.

    Returns
    -------
    dict of str -> Scenario
        ``scenario.with_overrides(case.overrides)`` by case name.

    Raises
    ------
    ScenarioError
        ``cases.<name>.overrides.<i>: ...`` for an override the scenario rejects.
    """
    return check_case_overrides(scenario, dict(cases))


@dataclass(frozen=True)
class CaseResult:
    """The numbers of one case.

    Attributes
    ----------
    name : str
    assumption : str
        Why the case's numbers are what they are ("scenario as written" for base).
    overrides : tuple of str
    bitcoin_npv_usd, ai_npv_usd, npv_difference_usd : float
        Base-case NPVs (deterministic path) [USD]; difference is AI minus mining.
    mean_npv_difference_usd : float
        Monte Carlo mean of the difference [USD].
    prob_ai_beats_bitcoin : float
        Share of paths where AI's NPV is higher [-].
    equity_irr : dict of str -> float or None
        Base-case equity IRR by business when the scenario has financing.
    """

    name: str
    assumption: str
    overrides: tuple[str, ...]
    bitcoin_npv_usd: float
    ai_npv_usd: float
    npv_difference_usd: float
    mean_npv_difference_usd: float
    prob_ai_beats_bitcoin: float
    equity_irr: dict = field(default_factory=dict)

    def summary(self) -> dict:
        def num(x):
            return None if x is None or not math.isfinite(x) else float(x)

        return {"name": self.name, "assumption": self.assumption, "overrides": list(self.overrides),
                "bitcoin_npv_usd": num(self.bitcoin_npv_usd), "ai_npv_usd": num(self.ai_npv_usd),
                "npv_difference_usd": num(self.npv_difference_usd),
                "mean_npv_difference_usd": num(self.mean_npv_difference_usd),
                "prob_ai_beats_bitcoin": num(self.prob_ai_beats_bitcoin),
                "equity_irr": {k: num(v) for k, v in self.equity_irr.items()}}


def equity_irr_of(summary: dict) -> dict:
    """Base-case equity IRR by business from a run summary, where project debt gives one."""
    out = {}
    for business in ("bitcoin", "ai"):
        equity = summary.get(business, {}).get("base", {}).get("equity") or {}
        if equity.get("irr") is not None:
            out[business] = equity["irr"]
    return out


def case_result(name: str, assumption: str, overrides: Sequence[str], summary: dict) -> CaseResult:
    """A case's numbers read from its run summary (``RunResult.summary()``)."""
    b, a = summary["bitcoin"]["base"]["npv_usd"], summary["ai"]["base"]["npv_usd"]
    comparison = summary["comparison"]
    return CaseResult(name=name, assumption=assumption, overrides=tuple(overrides), bitcoin_npv_usd=b,
                      ai_npv_usd=a, npv_difference_usd=a - b,
                      mean_npv_difference_usd=comparison["npv_difference_usd"]["mean"],
                      prob_ai_beats_bitcoin=comparison["prob_ai_beats_bitcoin"],
                      equity_irr=equity_irr_of(summary))


def ordered(names) -> list[str]:
    """Case names in reading order: bear, base, bull, then the others as given."""
    names = list(names)
    first = [n for n in CASE_ORDER if n in names]
    return first + [n for n in names if n not in first]


def evaluate_cases(scenario, cases: Mapping[str, Case] | None = None, *, run: Callable, paths: int, seed: int,
                   base_summary: dict | None = None, **run_options) -> list[CaseResult]:
    """Run the base and every case with the same seed and paths.

    Parameters
    ----------
    scenario : Scenario
    cases : dict of str -> Case, optional
        Default: the scenario's own ``cases`` (none: only the base).
    run : callable(scenario, paths=, seed=, **run_options) -> RunResult
        The run function (:func:`pivotsim.run`); passed in so this module
        stays below the run layer's callers.
    paths, seed : int
    base_summary : dict, optional
        The base run's summary when it was already computed (same paths and
        seed), so it is not run twice.
    **run_options
        Passed to ``run`` (e.g. ``market_horizon_months``, ``threads``).

    Returns
    -------
    list of CaseResult
        In :func:`ordered` order; ``base`` is the scenario as written.

    Raises
    ------
    ScenarioError
        A bad case (see :func:`parse_cases`, :func:`check_cases`), before any run.
    """
    if cases is None:
        cases = dict(scenario.cases or {})
    elif not all(isinstance(c, Case) for c in cases.values()):
        cases = parse_cases(cases)
    scenarios = check_cases(scenario, cases)
    if base_summary is None:
        base_summary = run(scenario, paths=paths, seed=seed, **run_options).summary()
    results = {BASE_CASE: case_result(BASE_CASE, "scenario as written", (), base_summary)}
    for name, case_scenario in scenarios.items():
        summary = run(case_scenario, paths=paths, seed=seed, **run_options).summary()
        results[name] = case_result(name, cases[name].assumption, cases[name].overrides, summary)
    return [results[n] for n in ordered(results)]
