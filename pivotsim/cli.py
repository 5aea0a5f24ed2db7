"""Command line: ``pivotsim run | validate | schema``.

A thin shell over the Python API: parse options, call the API, print.  Bad
input (any :class:`~pivotsim.errors.PivotsimError`) is one line on stderr and
exit code 2, never a traceback.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Annotated, List, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import __version__
from .api import DEFAULT_PATHS, DEFAULT_SEED, run as run_scenario
from .errors import PivotsimError
from .scenario import load_scenario, scenario_json_schema

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Bitcoin mining or AI hosting on the same megawatts: value both, path by path.")
stdout = Console()
stderr = Console(stderr=True)
EXIT_BAD_INPUT = 2


def fail(message: str) -> None:
    """Print one line on stderr and exit with code 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def _version(value: bool):
    if value:
        typer.echo(f"pivotsim {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: Annotated[Optional[bool], typer.Option(
        "--version", callback=_version, is_eager=True, help="Show the version and exit.")] = None):
    """pivotsim: should a miner keep mining on its megawatts, or host AI?"""


# ---------------------------------------------------------------- formatting
def money(x) -> str:
    """$1.94B, -$135M, $48.98 style."""
    if x is None:
        return "n/a"
    sign = "-" if x < 0 else ""
    a = abs(x)
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= scale:
            return f"{sign}${a / scale:,.2f}{suffix}"
    return f"{sign}${a:,.2f}"


def pct(x) -> str:
    return "n/a" if x is None else f"{x * 100:.1f}%"


def months(x) -> str:
    return "never" if x is None else f"{x:.0f} months"


def number(x, digits=0) -> str:
    return "n/a" if x is None else f"{x:,.{digits}f}"


def per_kwh(x) -> str:
    return "n/a" if x is None else f"${x:.3f}/kWh"


BASE_ROWS = [
    ("NPV", "npv_usd", money),
    ("IRR (annual)", "irr", pct),
    ("Payback", "payback_months", months),
    ("Discounted payback", "discounted_payback_months", months),
    ("Peak funding need", "peak_funding_usd", money),
    ("Total revenue", "total_revenue_usd", money),
    ("EBITDA margin", "ebitda_margin", pct),
    ("Revenue per kWh (grid)", "revenue_usd_per_kwh", per_kwh),
    ("Hashprice at t=0 (USD/PH/day)", "hashprice_usd_per_ph_day", lambda x: number(x, 2)),
    ("BTC mined", "btc_mined", lambda x: number(x, 0)),
    ("Cash cost per BTC", "cash_cost_usd_per_btc", money),
    ("Contract value", "contract_value_usd", money),
    ("Annual revenue (ARR)", "annual_revenue_usd", money),
    ("Prepayment", "prepayment_usd", money),
    ("Revenue per kWh (critical IT)", "revenue_usd_per_kwh_critical_it", per_kwh),
]


def summary_tables(summary: dict) -> list[Table]:
    """Rich tables of a run summary: base case side by side, then Monte Carlo."""
    base = Table(title=f"{summary['scenario']}: base case "
                       f"(valuation {summary['valuation_date']}, {summary['horizon_months']} months)",
                 title_justify="left")
    base.add_column("Metric")
    base.add_column("Bitcoin mining", justify="right")
    base.add_column("AI hosting", justify="right")
    for label, key, fmt in BASE_ROWS:
        b = summary["bitcoin"]["base"]
        a = summary["ai"]["base"]
        if key not in b and key not in a:
            continue
        base.add_row(label, fmt(b[key]) if key in b else "", fmt(a[key]) if key in a else "")

    mc = Table(title=f"Monte Carlo NPV: {summary['paths']:,} paths, seed {summary['seed']}",
               title_justify="left")
    mc.add_column("")
    for col in ("p5", "p50", "p95", "mean", "P(NPV<0)"):
        mc.add_column(col, justify="right")
    for label, stats, prob in (
            ("Bitcoin mining", summary["bitcoin"]["monte_carlo"]["npv_usd"],
             summary["bitcoin"]["monte_carlo"]["prob_npv_negative"]),
            ("AI hosting", summary["ai"]["monte_carlo"]["npv_usd"],
             summary["ai"]["monte_carlo"]["prob_npv_negative"]),
            ("AI minus bitcoin", summary["comparison"]["npv_difference_usd"], None)):
        mc.add_row(label, *(money(stats[k]) for k in ("p5", "p50", "p95", "mean")),
                   pct(prob) if prob is not None else "")
    mc.caption = f"P(AI NPV > bitcoin NPV) = {pct(summary['comparison']['prob_ai_beats_bitcoin'])}"
    return [base, mc]


def _progress(enabled: bool):
    if not enabled:
        return None, None
    bar = Progress(TextColumn("simulating"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,} paths"),
                   TimeElapsedColumn(), console=stderr, transient=True)
    return bar, bar.add_task("paths", total=1)


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    paths: Annotated[int, typer.Option("--paths", help="Monte Carlo paths.")] = DEFAULT_PATHS,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same numbers).")] = DEFAULT_SEED,
    out: Annotated[Path, typer.Option("--out", help="Parent folder of the run folder.")] = Path("runs"),
    set_: Annotated[Optional[List[str]], typer.Option(
        "--set", help="Override a scenario value: dotted.key=value (repeatable).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON only.")] = False,
):
    """Value a scenario as bitcoin mining and as AI hosting; write a run folder."""
    try:
        loaded = load_scenario(scenario, set_ or ())
        show_bar = not as_json and stderr.is_terminal
        bar, task = _progress(show_bar)

        def progress(done, total):
            bar.update(task, completed=done, total=total)

        if bar is not None:
            with bar:
                result = run_scenario(loaded, paths=paths, seed=seed, progress=progress)
        else:
            result = run_scenario(loaded, paths=paths, seed=seed)
        command = "pivotsim " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv else None
        folder = result.write(out, command=command)
    except PivotsimError as exc:
        fail(str(exc))
    summary = result.summary()
    if as_json:
        typer.echo(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    for table in summary_tables(summary):
        stdout.print(table)
    stdout.print(f"Run folder: {folder}")


@app.command()
def validate(files: Annotated[List[Path], typer.Argument(help="Scenario YAML files.")]):
    """Check scenario files; exit 0 if all are valid, 2 otherwise."""
    bad = 0
    for file in files:
        try:
            load_scenario(file)
            typer.echo(f"ok: {file}")
        except PivotsimError as exc:
            typer.echo(f"error: {exc}", err=True)
            bad += 1
    if bad:
        raise typer.Exit(EXIT_BAD_INPUT)


@app.command()
def schema():
    """Print the JSON Schema of the scenario format."""
    typer.echo(json.dumps(scenario_json_schema(), indent=2))


if __name__ == "__main__":  # pragma: no cover
    app()
