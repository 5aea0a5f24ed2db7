"""Provenance of every number in a scenario: ``pivotsim sources``.

Each number of a scenario is a :class:`~pivotsim.scenario.Quantity` that
should carry a source id (defined in the scenario's ``sources`` section) or an
``assumption`` with a one-line reason.  :func:`provenance_table` lists them
all with their unit and provenance; :func:`missing_provenance` keeps the ones
written in the file without either (what ``pivotsim sources --check``
rejects).  Fields left out of the file and filled by the schema's default are
listed as ``default`` and are not an error: the file makes no claim about them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from pydantic import BaseModel

from ..errors import PivotsimError
from ..scenario import Quantity, Scenario, read_yaml

PROVENANCE_COLUMNS = ("path", "value", "unit", "kind", "source_id", "provenance", "note",
                      "distribution", "line")

# Unit of a field from its name (DESIGN.md: units live in names).  Checked in
# order: the first suffix that matches wins.
_UNIT_SUFFIXES = (
    ("_usd_per_kw_month", "USD/kW-month"),
    ("_usd_per_kwh", "USD/kWh"),
    ("_usd_per_mw_year", "USD/MW/yr"),
    ("_usd_per_mw", "USD/MW"),
    ("_usd_per_th", "USD per TH/s"),
    ("_usd", "USD"),
    ("_mw", "MW"),
    ("_j_per_th", "J/TH"),
    ("_eh_s", "EH/s"),
    ("_btc_per_block", "BTC/block"),
    ("_months", "months"),
    ("_per_month", "per month"),
    ("_month", "month index"),
    ("_days", "days"),
    ("_log", "log units"),
    ("_correlation", "correlation"),
    ("_years", "years"),
    ("_per_year", "per year"),
    ("_share", "fraction"),
)
_UNIT_NAMES = {
    "share": "fraction", "uptime": "fraction", "it_load_factor": "fraction", "tax_rate": "fraction",
    "discount_rate": "per year", "discount_rate_bitcoin": "per year", "discount_rate_ai": "per year",
    "pue": "ratio", "difficulty": "-", "block_height": "blocks",
    # ai.risks
    "capex_overrun_multiplier": "ratio", "uncontracted_utilisation": "fraction",
    "renewal_probability": "fraction", "default_hazard_per_month": "per month",
}


def unit_of(path: str) -> str:
    """Unit of a dotted scenario path, read from its last field name.

    >>> unit_of("ai.rent_usd_per_kw_month")
    'USD/kW-month'
    >>> unit_of("ai.phases.0.share")
    'fraction'
    """
    name = path.rsplit(".", 1)[-1]
    if name in _UNIT_NAMES:
        return _UNIT_NAMES[name]
    for suffix, unit in _UNIT_SUFFIXES:
        if name.endswith(suffix):
            return unit
    return ""


def describe_distribution(dist) -> str:
    """One-line text of a Quantity's distribution (empty when there is none).

    Written defensively: distributions are added to :class:`Quantity` by a
    later change, as a pydantic model, a mapping or any object with a
    readable ``str``.
    """
    if dist is None:
        return ""
    if isinstance(dist, BaseModel):
        dist = dist.model_dump(exclude_none=True)
    if isinstance(dist, dict):
        fields = dict(dist)
        family = next((fields.pop(k) for k in ("dist", "kind", "family", "name", "type") if k in fields), "")
        args = ", ".join(f"{k}={_short(v)}" for k, v in fields.items())
        return f"{family}({args})" if family else args
    return str(dist)


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _walk(model: BaseModel, prefix: str = "", explicit: bool = True):
    """Yield ``(dotted_path, Quantity, written_in_file)`` for every number."""
    for name in type(model).model_fields:
        value = getattr(model, name)
        written = explicit and name in model.model_fields_set
        yield from _walk_value(value, f"{prefix}{name}", written)


def _walk_value(value, path, written):
    if isinstance(value, Quantity):
        yield path, value, written
    elif isinstance(value, BaseModel):
        yield from _walk(value, path + ".", written)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _walk_value(item, f"{path}.{i}", written)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk_value(item, f"{path}.{key}", written)


def _source_text(scenario: Scenario, source_id: str) -> str:
    src = scenario.sources[source_id]
    parts = [src.publisher, str(src.date) if src.date is not None else None, src.title,
             src.url or src.file]
    return f"{source_id}: " + "; ".join(p for p in parts if p)


def _line_numbers(scenario: Scenario) -> dict[tuple, int]:
    if not scenario.file or not Path(scenario.file).is_file():
        return {}
    try:
        return read_yaml(scenario.file)[1]
    except PivotsimError:
        return {}


def provenance_table(scenario: Scenario) -> pd.DataFrame:
    """Every number of a scenario with its unit and provenance.

    Parameters
    ----------
    scenario : Scenario

    Returns
    -------
    pandas.DataFrame
        One row per number, in the order of the schema, with columns
        :data:`PROVENANCE_COLUMNS`: ``path`` (dotted), ``value`` (float, in
        ``unit``), ``kind`` (``source``, ``assumption``, ``missing`` for a
        number written without provenance, ``default`` for a field left out
        of the file), ``source_id``, ``provenance`` (the source's publisher,
        date, title and URL or file; or the assumption text), ``note``,
        ``distribution`` (empty for plain numbers) and ``line`` (YAML line
        in the scenario file, when known).
    """
    lines = _line_numbers(scenario)
    rows = []
    for path, q, written in _walk(scenario):
        if q.source is not None:
            kind, text = "source", _source_text(scenario, q.source)
            if q.assumption:
                text += f" | assumption: {q.assumption}"
        elif q.assumption is not None:
            kind, text = "assumption", q.assumption
        elif not written:
            kind, text = "default", "not in the file: schema default"
        else:
            kind, text = "missing", ""
        key = tuple(path.split("."))
        line = lines.get(key + ("value",), lines.get(key))
        rows.append({
            "path": path, "value": float(q.value), "unit": unit_of(path), "kind": kind,
            "source_id": q.source or "", "provenance": text, "note": q.note or "",
            "distribution": q.distribution.describe() if q.distribution is not None else "",
            "line": line,
        })
    frame = pd.DataFrame(rows, columns=list(PROVENANCE_COLUMNS))
    frame["line"] = frame["line"].astype("Int64")
    return frame


def missing_provenance(scenario: Scenario) -> pd.DataFrame:
    """Numbers written in the file with neither a source nor an assumption.

    Returns
    -------
    pandas.DataFrame
        The rows of :func:`provenance_table` whose ``kind`` is ``missing``
        (empty when every number is traced).
    """
    table = provenance_table(scenario)
    return table[table["kind"] == "missing"].reset_index(drop=True)


def unused_sources(scenario: Scenario) -> list[str]:
    """Ids in ``sources`` that no number cites and no assumption or note mentions."""
    texts = []
    used = set()
    for _, q, _ in _walk(scenario):
        if q.source:
            used.add(q.source)
        texts.extend(t for t in (q.assumption, q.note) if t)
    blob = "\n".join(texts)
    return [sid for sid in scenario.sources
            if sid not in used and not re.search(rf"(?<![\w]){re.escape(sid)}(?![\w])", blob)]
