"""Every input of a scenario as rows of the PDF's assumptions table: path, value, unit, provenance.

Built on the one provenance walk (:func:`pivotsim.scenario.provenance.provenance_rows`)
of the validated scenario (after overrides and defaults), so the table shows
exactly what was valued, with the numbers formatted as everywhere else
(:func:`pivotsim.formatting.quantity_text`).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from ..formatting import quantity_text
from ..scenario.library import cited_file
from ..scenario.provenance import provenance_rows, source_text


@dataclass
class AssumptionRow:
    """One input: where it is, what it is, and where it comes from."""

    path: str
    value: str
    unit: str
    provenance: str


def _provenance_cell(row: dict) -> str:
    """Source (id → publisher, date: title) or assumption, plus any note; ``default`` for schema defaults."""
    if row["kind"] in ("default", "setting"):
        return row["kind"]
    if row["kind"] == "missing":
        parts = ["no provenance given"]
    elif row["kind"] == "source":
        parts = [row["provenance"].replace(" | assumption: ", ". Assumption: ")]
    else:
        parts = [f"Assumption: {row['provenance']}"]
    if row["note"]:
        parts.append(f"Note: {row['note']}")
    return ". ".join(p.rstrip(". ") for p in parts) + "."


def assumption_rows(scenario) -> list[AssumptionRow]:
    """Every input of ``scenario`` (numbers, switches, dates) as table rows, in file order."""
    rows = []
    for row in provenance_rows(scenario, settings=True):
        if row["kind"] == "setting" or not isinstance(row["value"], float):
            rows.append(AssumptionRow(path=row["path"], value=quantity_text(row["value"], ""), unit="",
                                      provenance=row["kind"] if row["kind"] == "default" else "setting"))
            continue
        base = quantity_text(row["value"], row["unit"], plain_unit=False)
        shown = f"{row['distribution'].split(', base ')[0]}; base {base}" if row["distribution"] else base
        rows.append(AssumptionRow(path=row["path"], value=shown, unit=row["unit"], provenance=_provenance_cell(row)))
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
            provenance.append(source_text(scenario, data["source"]))
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
        file = cited_file(src.file, scenario.file)  # absent (a wheel, another folder): the citation alone
        if file:
            bits.append(f"file {file}")
        if src.note:
            bits.append(src.note)
        out.append((sid, ". ".join(b.rstrip(".") for b in bits) + "."))
    return out
