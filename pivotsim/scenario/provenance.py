"""Provenance of a scenario's numbers: every input with its dotted path, unit and source.

One walk of the validated :class:`~pivotsim.scenario.Scenario` serves every
"number with unit and source" table: ``pivotsim sources`` (a DataFrame,
:func:`provenance_table`), ``sources --check`` (:func:`missing_provenance`),
the PDF's assumptions table and the Excel Assumptions sheet
(:func:`provenance_rows`).  Each number is a :class:`Quantity` that should
carry a source id (defined in ``sources``) or an ``assumption`` with a
one-line reason; fields left out of the file and filled by the schema's
default are ``default`` and are not an error: the file makes no claim about
them.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from ..errors import PivotsimError
from .quantity import Quantity
from .yaml_text import read_yaml

PROVENANCE_COLUMNS = ("path", "value", "unit", "kind", "source_id", "provenance", "note",
                      "distribution", "line")

# Unit of a field from its name (DESIGN.md: units live in names): the first
# suffix that matches wins, so longer suffixes come first.
_UNIT_SUFFIXES = (
    ("_usd_per_kw_month", "USD/kW-month"), ("_usd_per_kwh", "USD/kWh"), ("_usd_per_mwh", "USD/MWh"),
    ("_usd_per_mw_year", "USD/MW/yr"), ("_usd_per_mw", "USD/MW"), ("_usd_per_th", "USD per TH/s"),
    ("_usd", "USD"), ("_mw", "MW"), ("_j_per_th", "J/TH"), ("_eh_s", "EH/s"),
    ("_btc_per_block", "BTC/block"), ("_months", "months"), ("_per_month", "per month"),
    ("_month", "month index"), ("_days", "days"), ("_log", "log units"), ("_correlation", "correlation"),
    ("_years", "years"), ("_per_year", "per year"), ("_share", "fraction"), ("_probability", "fraction"),
    ("_utilisation", "fraction"), ("_multiplier", "ratio"), ("_rate", "per year"),
)
_UNIT_NAMES = {
    "share": "fraction", "uptime": "fraction", "it_load_factor": "fraction", "tax_rate": "fraction",
    "pue": "ratio", "difficulty": "-", "block_height": "blocks",
    "default_hazard_per_month": "per month",
    "ltc": "fraction", "target_dscr": "ratio", "covenant_dscr": "ratio", "lockup_dscr": "ratio",
    "draw": "month index", "cost_of_equity_per_year_ai": "per year", "cost_of_equity_per_year_bitcoin": "per year",
}
_BRACKET = re.compile(r"\[([^\]]+)\]\s*$")
#: what the walk of inputs leaves out: the scenario's own name and text, the source list, correlations
_SKIP = {("scenario", "name"), ("scenario", "description"), ("sources",), ("correlations",)}


def unit_of(path: str, description: str | None = None) -> str:
    """Unit of a dotted scenario path: the ``[unit]`` ending its description, else from its last field name.

    >>> unit_of("ai.rent_usd_per_kw_month")
    'USD/kW-month'
    >>> unit_of("ai.phases.0.share")
    'fraction'
    """
    if description:
        match = _BRACKET.search(description)
        if match and match.group(1) not in ("-",):
            return match.group(1)
    parts = path.split(".")
    name = parts[-2] if parts[-1].isdigit() and len(parts) > 1 else parts[-1]
    if name in _UNIT_NAMES:
        return _UNIT_NAMES[name]
    for suffix, unit in _UNIT_SUFFIXES:
        if name.endswith(suffix):
            return unit
    return ""


def plain_data(obj):
    """Quantities as dicts and dates kept, for re-validation."""
    if isinstance(obj, dict):
        return {k: plain_data(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [plain_data(v) for v in obj]
    return obj


def iter_quantities(model: BaseModel, prefix: str = ""):
    """Yield ``(dotted_path, Quantity)`` for every number in a model tree."""
    for name in type(model).model_fields:
        value = getattr(model, name)
        path = f"{prefix}{name}"
        yield from _iter_value(value, path)


def _iter_value(value, path):
    if isinstance(value, Quantity):
        yield path, value
    elif isinstance(value, BaseModel):
        yield from iter_quantities(value, path + ".")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _iter_value(item, f"{path}.{i}")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _iter_value(item, f"{path}.{key}")


def walk_inputs(model: BaseModel, prefix: tuple[str, ...] = (), written: bool = True):
    """Yield ``(path, value, description, written_in_file)`` for every input, numbers and settings.

    ``value`` is a :class:`Quantity` for a number, else the setting itself
    (a switch, a date, a name); the scenario's name, description, sources
    and correlations are left out.
    """
    for name, info in type(model).model_fields.items():
        path = prefix + (name,)
        if path in _SKIP or path[:1] in _SKIP:
            continue
        yield from _walk_value(getattr(model, name), path, info.description,
                               written and name in model.model_fields_set)


def _walk_value(value, path, description, written):
    if value is None:
        return
    if isinstance(value, Quantity):
        yield path, value, description, written
    elif isinstance(value, BaseModel):
        yield from walk_inputs(value, path, written)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _walk_value(item, path + (str(i),), description, written)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk_value(item, path + (str(key),), description, written)
    else:
        yield path, value, description, written


def source_text(scenario, source_id: str) -> str:
    """``id → publisher, date: title`` of a source of the scenario."""
    src = scenario.sources.get(source_id)
    if src is None:
        return f"source {source_id}"
    bits = [b for b in (src.publisher, str(src.date) if src.date else None) if b]
    return f"{source_id} → {', '.join(bits) + ': ' if bits else ''}{src.title}"


def _line_numbers(scenario) -> dict[tuple, int]:
    if not scenario.file or not Path(scenario.file).is_file():
        return {}
    try:
        return read_yaml(scenario.file)[1]
    except PivotsimError:
        return {}


def provenance_rows(scenario, *, settings: bool = False) -> list[dict]:
    """Every number of a scenario (and, with ``settings``, every switch) with unit and provenance.

    Returns
    -------
    list of dict
        One per input in the order of the schema, with the keys of
        :data:`PROVENANCE_COLUMNS`: ``path`` (dotted), ``value`` (float in
        ``unit``; the setting itself for a switch), ``kind`` (``source``,
        ``assumption``, ``missing`` for a number written without provenance,
        ``default`` for a field left out of the file, ``setting`` for a
        switch written in the file), ``source_id``, ``provenance`` (source id
        → publisher, date: title, or the assumption text), ``note``,
        ``distribution`` (empty for plain numbers) and ``line`` (YAML line in
        the scenario file, when known).
    """
    lines = _line_numbers(scenario)
    rows = []
    for path, value, description, written in walk_inputs(scenario):
        dotted = ".".join(path)
        line = lines.get(path + ("value",), lines.get(path))
        if not isinstance(value, Quantity):
            if settings:
                rows.append({"path": dotted, "value": value, "unit": "", "kind": "setting" if written else "default",
                             "source_id": "", "provenance": "setting" if written else "default", "note": "",
                             "distribution": "", "line": line})
            continue
        if value.source is not None:
            kind, text = "source", source_text(scenario, value.source)
            if value.assumption:
                text += f" | assumption: {value.assumption}"
        elif value.assumption is not None:
            kind, text = "assumption", value.assumption
        elif not written:
            kind, text = "default", "not in the file: schema default"
        else:
            kind, text = "missing", ""
        rows.append({"path": dotted, "value": float(value.value), "unit": unit_of(dotted, description),
                     "kind": kind, "source_id": value.source or "", "provenance": text, "note": value.note or "",
                     "distribution": value.distribution.describe() if value.distribution is not None else "",
                     "line": line})
    return rows


def provenance_table(scenario):
    """:func:`provenance_rows` (numbers only) as a pandas DataFrame with :data:`PROVENANCE_COLUMNS`."""
    import pandas as pd  # only the commands that print or export the table need pandas

    frame = pd.DataFrame(provenance_rows(scenario), columns=list(PROVENANCE_COLUMNS))
    frame["line"] = frame["line"].astype("Int64")
    return frame


def missing_provenance(scenario):
    """Numbers written in the file with neither a source nor an assumption (the rows of kind ``missing``)."""
    table = provenance_table(scenario)
    return table[table["kind"] == "missing"].reset_index(drop=True)


def unused_sources(scenario) -> list[str]:
    """Ids in ``sources`` that no number cites and no assumption or note mentions."""
    texts = []
    used = set()
    for _, q in iter_quantities(scenario):
        if q.source:
            used.add(q.source)
        texts.extend(t for t in (q.assumption, q.note) if t)
    blob = "\n".join(texts)
    return [sid for sid in scenario.sources
            if sid not in used and not re.search(rf"(?<![\w]){re.escape(sid)}(?![\w])", blob)]
