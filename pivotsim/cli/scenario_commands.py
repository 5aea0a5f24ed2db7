"""``pivotsim validate | schema | sources | claims``: the scenario files and the deal library."""

import json
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from ..errors import PivotsimError
from ..formatting import missing, money, per_kwh_text, quantity_text  # same figures as the PDF
from ..scenario.library import LIBRARY_DIR, cited_file
from .tables import new_table
from .app import EXIT_BAD_INPUT, app, fail, load, stdout


@app.command()
def validate(files: Annotated[List[str], typer.Argument(help="Scenario YAML files or bundled deals.", metavar="PATH...")]):
    """Check scenario files; exit 0 if all are valid, 2 otherwise."""
    bad = 0
    for file in files:
        try:
            scenario = load(file)
            typer.echo(f"ok: {scenario.file if scenario.bundled else file}")
        except PivotsimError as exc:
            typer.echo(f"error: {exc}", err=True)
            bad += 1
    if bad:
        raise typer.Exit(EXIT_BAD_INPUT)


@app.command()
def schema():
    """Print the JSON Schema of the scenario format."""
    from ..scenario import scenario_json_schema

    typer.echo(json.dumps(scenario_json_schema(), indent=2))

DEFAULT_LIBRARY = LIBRARY_DIR




def _provenance_cell(row, scenario) -> str:
    if row["kind"] == "missing":
        return "[bold red]MISSING: no source or assumption[/]"
    if row["kind"] == "default":
        return "[dim]default (not in the file)[/]"
    if row["kind"] == "assumption":
        return f"assumption: {row['provenance']}"
    src = scenario.sources[row["source_id"]]
    who = ", ".join(str(p) for p in (src.publisher, src.date) if p)
    return f"[bold]{row['source_id']}[/] ({who})" if who else f"[bold]{row['source_id']}[/]"


@app.command()
def sources(
    files: Annotated[List[str], typer.Argument(help="Scenario YAML files or bundled deals.", metavar="PATH...")],
    check: Annotated[bool, typer.Option(
        "--check", help="Only check: exit 2 listing every number with no source or assumption.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the provenance tables as JSON.")] = False,
):
    """Every number of a scenario with its unit and provenance (source or assumption)."""
    from ..scenario.provenance import missing_provenance, provenance_table, unused_sources

    bad = 0
    out_json = {}
    for file in files:
        try:
            scenario = load(file)
        except PivotsimError as exc:
            typer.echo(f"error: {exc}", err=True)
            bad += 1
            continue
        if check:
            bare = missing_provenance(scenario)
            for _, row in bare.iterrows():
                where = f"{file}:{row['line']}" if not missing(row["line"]) else str(file)
                typer.echo(f"error: {where}: {row['path']}: {row['value']:g} has no source or assumption; "
                           "write it as {value: ..., source: ID} or {value: ..., assumption: \"reason\"}",
                           err=True)
            if len(bare):
                bad += 1
            else:
                n = len(provenance_table(scenario))
                typer.echo(f"ok: {file}: {n} numbers, each with a source, an assumption or a schema default")
            continue
        table = provenance_table(scenario)
        if as_json:
            out_json[str(file)] = {
                "scenario": scenario.name,
                "numbers": json.loads(table.to_json(orient="records")),
                "sources": {k: v.model_dump(mode="json", exclude_none=True) for k, v in scenario.sources.items()},
                "unused_sources": unused_sources(scenario),
            }
            continue
        numbers = new_table(title=f"{scenario.name}: every number and its provenance ({file})", title_justify="left")
        for col, kw in (("Path", {"no_wrap": True}), ("Value", {"justify": "right", "no_wrap": True}),
                        ("Provenance", {"ratio": 3}), ("Note", {"ratio": 2})):
            numbers.add_column(col, **kw)
        for _, row in table.iterrows():
            value = quantity_text(row["value"], row["unit"])
            if row["distribution"]:
                value += f"\n[dim]{row['distribution']}[/]"
            numbers.add_row(row["path"], value, _provenance_cell(row, scenario), row["note"])
        stdout.print(numbers)
        docs = new_table(title="Sources", title_justify="left")
        for col, kw in (("Id", {"no_wrap": True}), ("Title", {"ratio": 3}), ("Publisher", {"ratio": 2}),
                        ("Date", {"max_width": 14}), ("URL or file", {"ratio": 3, "overflow": "fold"})):
            docs.add_column(col, **kw)
        for sid, src in scenario.sources.items():
            docs.add_row(sid, src.title, src.publisher or "", str(src.date or ""), src.url or cited_file(src.file, scenario.file) or "")
        stdout.print(docs)
        counts = table["kind"].value_counts()
        stdout.print(f"{len(table)} numbers: {counts.get('source', 0)} from sources, "
                     f"{counts.get('assumption', 0)} assumptions, {counts.get('default', 0)} schema defaults, "
                     f"{counts.get('missing', 0)} without provenance")
        unused = unused_sources(scenario)
        if unused:
            stdout.print(f"note: sources defined but never cited: {', '.join(unused)}")
    if as_json and out_json:
        typer.echo(json.dumps(out_json, indent=2, ensure_ascii=False))
    if bad:
        raise typer.Exit(EXIT_BAD_INPUT)




@app.command()
def claims(
    files: Annotated[Optional[List[Path]], typer.Argument(
        help="Scenario files or folders (default: the bundled deal library, without template.yaml).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the tables as JSON.")] = False,
):
    """Check the sources' claims against the model: claim vs model vs verdict."""
    from ..analysis.claims import check_claims, load_library, revenue_per_kwh

    try:
        library = load_library(files or [DEFAULT_LIBRARY])
        if not library:
            fail(f"no scenario files found in {', '.join(str(f) for f in files or [DEFAULT_LIBRARY])}")
        table = check_claims(library)
        per_kwh = revenue_per_kwh(library)
    except PivotsimError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps({"claims": json.loads(table.to_json(orient="records")),
                               "revenue_per_kwh": json.loads(per_kwh.to_json(orient="records"))},
                              indent=2, ensure_ascii=False))
        return
    out = new_table(title="Source claims against the model", title_justify="left", show_lines=True)
    for col, kw in (("Claim (source)", {"ratio": 2}), ("Deal", {"ratio": 1}), ("Claimed", {}),
                    ("Model", {"justify": "right"}), ("Verdict", {}), ("Why", {"ratio": 3})):
        out.add_column(col, **kw)
    for _, row in table.iterrows():
        colour = "green" if row["verdict"] == "agrees" else "yellow"
        out.add_row(f"{row['claim']} ({row['source']})", row["deal"], row["claimed"],
                    quantity_text(row["model"], row["unit"]), f"[{colour}]{row['verdict']}[/]",
                    row["explanation"])
    stdout.print(out)
    kwh = new_table(title="Revenue per kWh: AI deal (over the contract) vs mining on the same power "
                          "(spot, month 1; and its average over the horizon); claim (004): mining $0.17-0.20, AI $3-5",
                    title_justify="left")
    for col in ("Deal", "AI /kWh critical IT", "AI /kWh grid", "Mining /kWh grid (spot, month 1)",
                "Mining /kWh ASIC (spot, month 1)", "Mining /kWh grid (average, months)", "AI / mining (grid, spot)",
                "Mining fleet", "Existing − new (mining NPV)"):
        kwh.add_column(col, justify="left" if col == "Deal" else "right")
    for _, row in per_kwh.iterrows():
        kwh.add_row(row["deal"], per_kwh_text(row["ai_revenue_usd_per_kwh_critical_it"]),
                    per_kwh_text(row["ai_revenue_usd_per_kwh_grid"]),
                    per_kwh_text(row["bitcoin_revenue_usd_per_kwh_grid"]),
                    per_kwh_text(row["bitcoin_revenue_usd_per_kwh_asic"]),
                    f"{per_kwh_text(row['bitcoin_revenue_usd_per_kwh_grid_avg'])} ({row['horizon_months']})",
                    f"{row['ai_to_bitcoin_ratio_grid']:.1f}x", row["bitcoin_fleet"],
                    money(row["bitcoin_npv_existing_minus_new_usd"]))
    stdout.print(kwh)


