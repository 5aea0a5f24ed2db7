"""Every input of a scenario as rows: dotted path, value, unit, provenance.

Walks the validated :class:`~pivotsim.scenario.Scenario` (after overrides and
defaults), so the table shows exactly what was valued.  Units come from the
field's description (``[USD/MW]``) or, failing that, from the unit suffix of
its name (``_usd_per_kwh``).  A number that is a distribution (a Quantity
with a ``dist``, when the scenario format has them) is shown as such.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from pydantic import BaseModel

from ..scenario import Quantity
from .formatting import money

_SKIP = {("scenario", "name"), ("scenario", "description"), ("sources",), ("correlations",)}
_QUANTITY_KEYS = {"value", "source", "assumption", "note", "dist"}

# Longest suffix first: the unit a field name ends with.
_SUFFIX_UNITS = [
    ("_usd_per_kw_month", "USD/kW-month"), ("_usd_per_mw_year", "USD/MW/yr"), ("_usd_per_mw", "USD/MW"),
    ("_usd_per_kwh", "USD/kWh"), ("_usd_per_mwh", "USD/MWh"), ("_usd_per_th", "USD per TH/s"),
    ("_btc_per_block", "BTC/block"), ("_j_per_th", "J/TH"), ("_eh_s", "EH/s"), ("_per_year", "per year"),
    ("_usd", "USD"), ("_mw", "MW"), ("_months", "months"), ("_per_month", "per month"), ("_month", "month"),
    ("_years", "years"),
    ("_share", "fraction"), ("tax_rate", "fraction"), ("_rate", "per year"),
    ("_probability", "fraction"), ("_utilisation", "fraction"), ("_multiplier", "×"), ("pue", "ratio"), ("uptime", "fraction"),
    ("it_load_factor", "fraction"), ("share", "fraction"), ("block_height", "blocks"),
    ("difficulty", "-"),
]
_BRACKET = re.compile(r"\[([^\]]+)\]\s*$")


@dataclass
class AssumptionRow:
    """One input: where it is, what it is, and where it comes from."""

    path: str
    value: str
    unit: str
    provenance: str


def unit_of(name: str, description: str | None) -> str:
    """Unit of a field: the ``[unit]`` ending its description, else from its name."""
    if description:
        match = _BRACKET.search(description)
        if match and match.group(1) not in ("-",):
            return match.group(1)
    for suffix, unit in _SUFFIX_UNITS:
        if name.endswith(suffix):
            return unit
    return ""


def format_value(value, unit: str) -> str:
    """A scenario value as an analyst reads it ($9.70B, 20%, 1.2, 916,529)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dt.date, str)):
        return str(value)
    if not isinstance(value, (int, float)):
        return str(value)
    if unit == "USD":
        return money(value) if abs(value) >= 1e6 else f"${value:,.0f}"
    if unit.startswith("USD"):
        return f"${value:,.4g}" if abs(value) < 1e4 else f"${value:,.0f}"
    if unit == "fraction":
        return f"{value * 100:.4g}%"
    if unit.startswith("per "):
        return f"{value * 100:.4g}%"
    if float(value).is_integer() and abs(value) < 1e12:
        return f"{value:,.0f}"
    return f"{value:,.7g}"


def _distribution_text(q: Quantity, unit: str) -> str | None:
    """``lognormal(mu=…, sigma=…)`` when the Quantity carries a distribution, else None."""
    dist = getattr(q, "dist", None)
    if dist is None:
        return None
    if isinstance(dist, BaseModel):
        params = dist.model_dump(exclude_none=True)
    elif isinstance(dist, dict):
        params = dict(dist)
    else:  # the kind as a string, parameters on the Quantity itself
        params = {"kind": str(dist)}
        extra = q.model_dump(exclude_none=True) if isinstance(q, BaseModel) else {}
        params.update({k: v for k, v in extra.items() if k not in _QUANTITY_KEYS})
    kind = params.pop("kind", None) or params.pop("dist", None) or params.pop("type", None) or "distribution"
    parts = []
    for k, v in params.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            parts.append(f"{k}={v:,.6g}")
        elif isinstance(v, (list, tuple)) and len(v) <= 6:
            parts.append(f"{k}=[{', '.join(f'{x:,.6g}' if isinstance(x, (int, float)) else str(x) for x in v)}]")
        elif isinstance(v, (list, tuple)):
            parts.append(f"{k}=[{len(v)} values]")
        else:
            parts.append(f"{k}={v}")
    return f"{kind}({', '.join(parts)})"


def _source_text(scenario, source_id: str) -> str:
    src = scenario.sources.get(source_id)
    if src is None:
        return f"source {source_id}"
    bits = [b for b in (src.publisher, str(src.date) if src.date else None) if b]
    return f"{source_id} → {', '.join(bits) + ': ' if bits else ''}{src.title}"


def provenance_of(scenario, q: Quantity) -> str:
    """Source (id → publisher, date: title) or assumption, plus any note."""
    parts = []
    if q.source:
        parts.append(_source_text(scenario, q.source))
    if q.assumption:
        parts.append(f"Assumption: {q.assumption}")
    if not parts:
        parts.append("no provenance given")
    if q.note:
        parts.append(f"Note: {q.note}")
    return ". ".join(p.rstrip(". ") for p in parts) + "."


def _walk(model: BaseModel, prefix: tuple[str, ...]):
    fields = type(model).model_fields
    explicitly_set = model.model_fields_set
    for name, info in fields.items():
        path = prefix + (name,)
        if path in _SKIP or path[:1] in _SKIP:
            continue
        value = getattr(model, name)
        defaulted = name not in explicitly_set
        yield from _walk_value(value, path, info.description, defaulted)


def _walk_value(value, path, description, defaulted):
    if value is None:
        return
    if isinstance(value, Quantity):
        yield path, value, description, defaulted
    elif isinstance(value, BaseModel):
        yield from _walk(value, path)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk_value(item, path + (str(i),), description, defaulted)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk_value(item, path + (str(key),), description, defaulted)
    else:
        yield path, value, description, defaulted


def assumption_rows(scenario) -> list[AssumptionRow]:
    """Every input of ``scenario`` (numbers, switches, dates) as table rows, in file order."""
    rows = []
    for path, value, description, defaulted in _walk(scenario, ()):
        name = path[-1] if not path[-1].isdigit() else path[-2]
        unit = unit_of(name, description)
        if isinstance(value, Quantity):
            shown = _distribution_text(value, unit)
            base = format_value(value.value, unit)
            shown = f"{shown}; base {base}" if shown else base
            provenance = provenance_of(scenario, value)
            if defaulted and not (value.source or value.assumption):
                provenance = "default"
        else:
            shown = format_value(value, unit)
            unit = ""
            provenance = "default" if defaulted else "setting"
        rows.append(AssumptionRow(path=".".join(path), value=shown, unit=unit, provenance=provenance))
    return rows + correlation_rows(scenario)


def correlation_rows(scenario) -> list[AssumptionRow]:
    """One row per rank correlation of the scenario (when the format has them)."""
    rows = []
    for i, item in enumerate(getattr(scenario, "correlations", None) or []):
        data = item.model_dump(exclude_none=True) if isinstance(item, BaseModel) else dict(item)
        between = data.get("between") or ()
        rho = data.get("rho")
        value = f"{rho:g}" if isinstance(rho, (int, float)) else str(rho)
        provenance = []
        if data.get("source"):
            provenance.append(_source_text(scenario, data["source"]))
        if data.get("assumption"):
            provenance.append(f"Assumption: {data['assumption']}")
        text = ". ".join(p.rstrip(". ") for p in provenance) + "." if provenance else "no provenance given"
        rows.append(AssumptionRow(path=f"correlations.{i}: {' ~ '.join(map(str, between))}",
                                  value=f"rho {value}", unit="rank correlation", provenance=text))
    return rows


def source_rows(scenario) -> list[tuple[str, str]]:
    """``(id, "title. publisher, date. url or file")`` for each source of the scenario."""
    out = []
    for sid, src in scenario.sources.items():
        bits = [src.title]
        meta = ", ".join(b for b in (src.publisher, str(src.date) if src.date else None) if b)
        if meta:
            bits.append(meta)
        if src.url:
            bits.append(src.url)
        if src.file:
            bits.append(f"file {src.file}")
        if src.note:
            bits.append(src.note)
        out.append((sid, ". ".join(b.rstrip(".") for b in bits) + "."))
    return out
