"""Tornado and break-even for the report, when pivotsim provides them.

Sensitivity (``pivotsim.sensitivity``) and break-even solving
(``pivotsim.breakeven``) live outside the report.  The report asks for them
through the two functions here, which return ``(value, reason)``: a
normalised table or price when available, else None and a one-line reason the
PDF prints instead.  Only these two functions know the other API's shape.
"""

from __future__ import annotations

import math

import pandas as pd

from ..errors import PivotsimError

#: the tornado ranks base-case metrics (pivotsim.analysis.sensitivity.tornado)
TORNADO_METRIC = "comparison.base.npv_difference_usd"
BREAKEVEN_PARAM = "market.btc_price_usd"
#: solved on its base-case counterpart (comparison.base.npv_difference_usd)
BREAKEVEN_TARGET = "comparison.npv_difference_usd=0"

_INPUT_COLUMNS = ("input", "parameter", "param", "name", "path")
_LOW_COLUMNS = ("metric_low", "low_metric", "low", "value_at_low", "npv_low")
_HIGH_COLUMNS = ("metric_high", "high_metric", "high", "value_at_high", "npv_high")
_BASE_COLUMNS = ("base", "metric_base", "base_metric", "base_value")
_LOW_VALUE_COLUMNS = ("low_value", "input_low", "low_input")
_HIGH_VALUE_COLUMNS = ("high_value", "input_high", "high_input")


def _pick(columns, names):
    for name in names:
        if name in columns:
            return name
    return None


def normalise_tornado(raw) -> pd.DataFrame | None:
    """A tornado table with columns ``input, metric_low, metric_high, base[, low_value, high_value]``.

    Accepts a DataFrame (or an object with ``.table`` / ``.to_frame()``)
    whose columns use one of the usual names; returns None when it cannot
    recognise them.
    """
    table = raw
    for attr in ("table", "tornado"):
        if not isinstance(table, pd.DataFrame) and isinstance(getattr(table, attr, None), pd.DataFrame):
            table = getattr(table, attr)
    if not isinstance(table, pd.DataFrame) and callable(getattr(table, "to_frame", None)):
        table = table.to_frame()
    if not isinstance(table, pd.DataFrame) or table.empty:
        return None
    if "metric" in table.columns:
        rows = table[table["metric"] == TORNADO_METRIC]
        table = rows if not rows.empty else table
    cols = table.columns
    found = {"input": _pick(cols, _INPUT_COLUMNS), "metric_low": _pick(cols, _LOW_COLUMNS),
             "metric_high": _pick(cols, _HIGH_COLUMNS), "base": _pick(cols, _BASE_COLUMNS)}
    if found["input"] is None and table.index.name:
        table = table.reset_index()
        found["input"] = _pick(table.columns, _INPUT_COLUMNS)
    if any(v is None for v in found.values()):
        return None
    out = pd.DataFrame({k: table[v].to_numpy() for k, v in found.items()})
    low_v, high_v = _pick(cols, _LOW_VALUE_COLUMNS), _pick(cols, _HIGH_VALUE_COLUMNS)
    if low_v and high_v:
        out["low_value"] = table[low_v].to_numpy()
        out["high_value"] = table[high_v].to_numpy()
    out["swing"] = (out["metric_high"] - out["metric_low"]).abs()
    return out.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)


def tornado_for(result) -> tuple[pd.DataFrame | None, str | None]:
    """Tornado of the NPV difference for a run, or (None, reason)."""
    import pivotsim

    sensitivity = getattr(pivotsim, "sensitivity", None)
    if not callable(sensitivity):
        return None, "sensitivity analysis is not available in this pivotsim version"
    try:
        # one-at-a-time base cases; no spider table (the report does not draw it)
        raw = sensitivity(result.scenario, method="tornado", metric=TORNADO_METRIC, spider_points=0)
    except PivotsimError as exc:
        return None, f"sensitivity failed: {exc}"
    except TypeError as exc:  # an API of another shape: say so rather than guess
        return None, f"sensitivity API not recognised ({exc})"
    table = normalise_tornado(raw)
    if table is None:
        return None, "sensitivity output not recognised (expected input, low, high and base columns)"
    return table, None


def breakeven_btc_price_for(result) -> tuple[float | None, str | None]:
    """BTC price [USD] at which mining's NPV equals the AI deal's, or (None, reason)."""
    import pivotsim

    breakeven = getattr(pivotsim, "breakeven", None)
    if not callable(breakeven):
        return None, "break-even solving is not available in this pivotsim version"
    try:
        raw = breakeven(result.scenario, param=BREAKEVEN_PARAM, target=BREAKEVEN_TARGET)
    except PivotsimError as exc:
        return None, f"no break-even BTC price: {exc}"
    except TypeError as exc:
        return None, f"break-even API not recognised ({exc})"
    value = getattr(raw, "value", raw)
    if isinstance(raw, dict):
        value = raw.get("value")
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None, "break-even output not recognised"
    if not math.isfinite(value):
        return None, "no break-even BTC price in the searched range"
    return value, None
