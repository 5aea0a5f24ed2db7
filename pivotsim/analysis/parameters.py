"""What a sensitivity analysis varies: dotted scenario paths holding a number, and their values.

Every value is validated like ``--set``
(:meth:`pivotsim.Scenario.with_overrides`); axis and range specs
(``path=start:stop:count``, ``path=a,b,c``, ``low:high``) are read here,
with one-line errors naming the option, the value and what is allowed.
"""

from __future__ import annotations

import difflib
from types import SimpleNamespace
from typing import Mapping

import numpy as np

from ..runs import MAX_PATHS, check_seed
from ..errors import PivotsimError, ScenarioError
from ..scenario import Scenario, iter_quantities
from ..scenario.quantity import parse_number
from ..inputs import to_inputs

MAX_AXIS_POINTS = 1_000


def _override(path: str, value: float) -> str:
    # repr of a Python float reads back as the same float, through YAML or float()
    return f"{path}={float(value)!r}"


def leaf_paths(node, prefix="") -> dict[str, object]:
    """Every leaf of a :func:`to_inputs` tree -> its value."""
    out: dict[str, object] = {}
    if isinstance(node, SimpleNamespace):
        items = vars(node).items()
    elif isinstance(node, list):
        items = ((str(i), v) for i, v in enumerate(node))
    elif isinstance(node, dict):
        items = node.items()
    else:
        return {prefix: node}
    for key, value in items:
        out.update(leaf_paths(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def check_numeric_path(scenario: Scenario, path: str, *, option: str = "--param") -> float | None:
    """Check that ``path`` names a number of the scenario; return its value (None if unset).

    Raises
    ------
    PivotsimError
        Unknown path (with the closest known one) or a path that holds no number.
    """
    leaves = leaf_paths(to_inputs(scenario))
    leaves = {k: v for k, v in leaves.items() if not k.startswith("sources.")}
    if path not in leaves:
        numbers = [p for p, _ in iter_quantities(scenario)]
        close = difflib.get_close_matches(path, numbers, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise PivotsimError(f"{option} {path}: unknown scenario path; {hint}"
                            "give the dotted path of a number, e.g. market.btc_price_usd")
    value = leaves[path]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PivotsimError(f"{option} {path}: holds {value!r}, not a number; only numbers can be varied")
    return float(value)


def scenario_at(scenario: Scenario, values: Mapping[str, float], *, option: str = "--param") -> Scenario:
    """The scenario with ``path=value`` overrides, validated like ``--set``."""
    try:
        return scenario.with_overrides([_override(p, v) for p, v in values.items()])
    except ScenarioError as exc:
        where = ", ".join(f"{p}={v:g}" for p, v in values.items())
        field_ = f"{exc.path}: " if exc.path else ""
        raise PivotsimError(f"{option} {where}: {field_}{exc.message}") from None


def read_number(text: str, what: str) -> float:
    try:
        return parse_number(text.strip())
    except ValueError:
        raise PivotsimError(f"{what}: {text.strip()!r} is not a number") from None


def parse_axis(spec: str) -> tuple[str, np.ndarray]:
    """Read ``path=start:stop:count`` or ``path=a,b,c`` -> (path, values).

    Raises
    ------
    PivotsimError
        Missing ``=``, bad numbers, a count below 2 or above
        :data:`MAX_AXIS_POINTS`, equal ends, repeated values.
    """
    example = "e.g. market.btc_price_usd=40000:200000:17 or market.btc_price_usd=60000,90000,120000"
    if "=" not in spec:
        raise PivotsimError(f"--param {spec}: expected path=start:stop:count or path=a,b,c; {example}")
    path, _, text = (s.strip() for s in spec.partition("="))
    if not path or not text:
        raise PivotsimError(f"--param {spec}: expected path=start:stop:count or path=a,b,c; {example}")
    label = f"--param {path}"
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise PivotsimError(f"{label}: {text!r} is not start:stop:count; {example}")
        start, stop = read_number(parts[0], label), read_number(parts[1], label)
        count_text = parts[2].strip()
        if not count_text.isdigit():
            raise PivotsimError(f"{label}: count {count_text!r} is not allowed; must be a whole number "
                                f"from 2 to {MAX_AXIS_POINTS:,}")
        count = int(count_text)
        if not 2 <= count <= MAX_AXIS_POINTS:
            raise PivotsimError(f"{label}: count {count} is not allowed; must be from 2 to {MAX_AXIS_POINTS:,}")
        if start == stop:
            raise PivotsimError(f"{label}: start and stop are both {start:g}; give two different ends")
        values = np.linspace(start, stop, count)
    else:
        values = np.array([read_number(v, label) for v in text.split(",")])
    return path, check_axis_values(path, values)


def check_axis_values(path: str, values) -> np.ndarray:
    """Check an axis's values: 2 to :data:`MAX_AXIS_POINTS` distinct finite numbers."""
    try:
        values = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        raise PivotsimError(f"--param {path}: values must be numbers") from None
    if not 2 <= values.size <= MAX_AXIS_POINTS:
        raise PivotsimError(f"--param {path}: {values.size} value(s) given; a sweep needs 2 to "
                            f"{MAX_AXIS_POINTS:,}")
    if not np.all(np.isfinite(values)):
        raise PivotsimError(f"--param {path}: values must be finite numbers")
    if np.unique(values).size != values.size:
        raise PivotsimError(f"--param {path}: values repeat; give distinct values")
    return values


def parse_range(text: str, *, option: str = "--range") -> tuple[float, float]:
    """Read ``low:high`` -> (low, high), ends in increasing order."""
    parts = str(text).split(":")
    if len(parts) != 2:
        raise PivotsimError(f"{option} {text}: expected low:high, e.g. 20000:500000")
    a, b = read_number(parts[0], f"{option} {text}"), read_number(parts[1], f"{option} {text}")
    if a == b:
        raise PivotsimError(f"{option} {text}: both ends are {a:g}; give two different numbers")
    return (a, b) if a < b else (b, a)


def check_paths_seed(paths, seed, *, allow_zero=False):
    low = 0 if allow_zero else 1
    if isinstance(paths, bool) or not isinstance(paths, (int, np.integer)) or not low <= paths <= MAX_PATHS:
        raise PivotsimError(f"paths: {paths!r} is not allowed; must be a whole number from {low} to {MAX_PATHS:,}")
    check_seed(seed)
