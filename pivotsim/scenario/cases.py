"""Named cases of a scenario: ``cases: {bull: {overrides: [...], assumption: "..."}, bear: ...}``.

A case is a list of ``--set`` overrides and the one-line reason for its
numbers (with a source id when one gives them).  The case's scenario is
exactly ``scenario.with_overrides(case.overrides)``: validated as the
command line is, provenance kept with a note.  ``base`` is the scenario as
written and cannot be redefined.  :mod:`pivotsim.analysis.cases` runs them.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from ..errors import ScenarioError

BASE_CASE = "base"
CASE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class Case(BaseModel):
    """One named case: overrides and the one-line reason for them."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    overrides: list[str] = Field(min_length=1, description="dotted.key=value settings, as --set")
    assumption: str = Field(min_length=1, description="one-line rationale of the case's numbers")
    source: str | None = Field(None, description="id of a source in the scenario's sources, if any")


def check_case_names(cases: dict | None, sources: dict) -> None:
    """Raise ``ValueError("cases...: message")`` for a bad name, ``base`` redefined or an unknown source."""
    for name, case in (cases or {}).items():
        if name == BASE_CASE:
            raise ValueError("cases.base: 'base' is the scenario as written; name the case otherwise")
        if not CASE_NAME.match(name):
            raise ValueError(f"cases: case name {name!r} is not allowed; use lower-case letters, digits and _ "
                             "(bull, bear, low_btc)")
        if case.source is not None and case.source not in sources:
            raise ValueError(f"cases.{name}.source: {case.source!r} is not in `sources`")


def check_case_overrides(scenario, cases: dict | None = None) -> dict:
    """Each case's scenario, its overrides validated together as ``--set`` (before anything runs).

    When they are refused, the first override refused on its own is named.

    ``cases``: name -> :class:`Case` (default: the scenario's own).

    Returns
    -------
    dict of str -> Scenario

    Raises
    ------
    ScenarioError
        ``cases.<name>.overrides.<i>: '<override>': message``.
    """
    out = {}
    chosen = scenario.cases if cases is None else cases
    for name, case in (chosen or {}).items():
        try:
            out[name] = scenario.with_overrides(case.overrides)
        except ScenarioError:
            for i, item in enumerate(case.overrides):  # name the first override refused on its own
                try:
                    scenario.with_overrides([item])
                except ScenarioError as exc:
                    raise ScenarioError(f"{item!r}: {exc.message}", file=scenario.file,
                                        path=f"cases.{name}.overrides.{i}") from None
            raise  # each override is valid alone, not all of them together
        if case.source is not None and case.source not in scenario.sources:
            raise ScenarioError(f"source {case.source!r} is not in the scenario's sources", file=scenario.file,
                                path=f"cases.{name}.source")
    return out
