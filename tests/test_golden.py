"""Every number of every library scenario, bit for bit, against the golden summaries.

The goldens (``tests/golden/*.json``) are ``summary.json`` at 2,000 paths and
the default seed, written by ``python -m tests.golden.regenerate`` before a
refactor; a refactor must leave them identical.  A change that moves numbers
on purpose regenerates them in the same commit and says why.
"""

import json
from pathlib import Path

import pytest

from .conftest import SCENARIOS

GOLDEN = Path(__file__).resolve().parent / "golden"


def library_scenario_files() -> list[Path]:
    return sorted(p for p in SCENARIOS.glob("*.yaml") if p.stem != "template")


def _diff(expected, actual, path="") -> list[str]:
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for key in sorted(set(expected) | set(actual)):
            if key not in actual:
                out.append(f"{path}.{key}: missing")
            elif key not in expected:
                out.append(f"{path}.{key}: new")
            else:
                out += _diff(expected[key], actual[key], f"{path}.{key}")
        return out
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return [d for i, (e, a) in enumerate(zip(expected, actual)) for d in _diff(e, a, f"{path}[{i}]")]
    return [] if expected == actual else [f"{path}: {expected!r} -> {actual!r}"]


@pytest.mark.parametrize("path", library_scenario_files(), ids=lambda p: p.stem)
def test_summary_identical_to_golden(path):
    from .golden.regenerate import golden_summary

    golden_file = GOLDEN / f"{path.stem}.json"
    assert golden_file.exists(), f"no golden for {path.name}: run python -m tests.golden.regenerate"
    differences = _diff(json.loads(golden_file.read_text()), golden_summary(path))
    assert not differences, "\n".join(differences[:40])
