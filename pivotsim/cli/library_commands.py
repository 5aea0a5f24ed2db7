"""``pivotsim scenarios`` (the bundled deal library) and ``pivotsim init`` (a copy to edit)."""

from pathlib import Path
from typing import Annotated

import typer

from ..errors import PivotsimError
from ..formatting import compact_money, pct
from ..scenario.library import LIBRARY_DIR, TEMPLATE, key_terms, library_files, write_copy
from .tables import new_table, print_table
from .app import app, fail, load, stdout


def _terms_text(terms: dict) -> str:
    bits = []
    if terms["contract_value_usd"] is not None:
        bits.append(f"{compact_money(terms['contract_value_usd'])} over {terms['term_years']:g} yr")
    elif terms["rent_usd_per_kw_month"] is not None:
        bits.append(f"${terms['rent_usd_per_kw_month']:,.0f}/kW-month for {terms['term_years']:g} yr")
    elif terms["annual_revenue_usd"] is not None:
        bits.append(f"{compact_money(terms['annual_revenue_usd'])}/yr for {terms['term_years']:g} yr")
    if terms["prepayment_share"]:
        bits.append(f"{pct(terms['prepayment_share'], 0)} prepaid")
    return ", ".join(bits)


@app.command()
def scenarios():
    """List the bundled deal library: file, deal, MW and key terms (run any of them by name)."""
    table = new_table(title=f"Bundled deals ({LIBRARY_DIR})", title_justify="left")
    for col in ("File", "Deal", "Kind", "Grid / IT MW", "Key terms"):
        table.add_column(col, justify="right" if col == "Grid / IT MW" else "left", overflow="fold")
    try:
        for path in library_files(include_template=True):
            terms = key_terms(load(path))
            table.add_row(path.name, terms["deal"], terms["kind"].replace("_", " "),
                          f"{terms['grid_mw']:,.0f} / {terms['critical_it_mw']:,.0f}", _terms_text(terms))
    except PivotsimError as exc:
        fail(str(exc))
    table.caption = ("pivotsim run iren.yaml (or: run iren) values one; pivotsim init my_deal.yaml --from iren "
                     "copies one to edit")
    table.caption_justify = "left"
    print_table(stdout, table)


@app.command()
def init(
    target: Annotated[Path, typer.Argument(help="New scenario file to write.", metavar="PATH")],
    from_: Annotated[str, typer.Option(
        "--from", help="Bundled deal to copy (see pivotsim scenarios).", metavar="DEAL")]
    = TEMPLATE.removesuffix(".yaml"),
):
    """Write a copy of a bundled scenario (default: the commented template) to edit as your own deal."""
    try:
        copied = write_copy(target, from_)
    except PivotsimError as exc:
        fail(str(exc))
    typer.echo(f"wrote {target} (a copy of the bundled {copied.name}); edit it, then "
               f"pivotsim validate {target}")
