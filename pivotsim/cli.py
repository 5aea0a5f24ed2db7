"""Command line: ``pivotsim run | validate | schema | sources | claims | compare | calibrate | sweep | sensitivity | breakeven``.

A thin shell over the Python API: parse options, call the API, print.  Bad
input (any :class:`~pivotsim.errors.PivotsimError`) is one line on stderr and
exit code 2, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, List, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import __version__
from .api import DEFAULT_PATHS, DEFAULT_SEED, run as run_scenario
from .simulate import DEFAULT_MAX_AUTO_PATHS
from .errors import PivotsimError
from .report.formatting import BASE_METRIC_ROWS, money, months, number, pct  # same figures as the PDF
from .scenario import load_scenario, scenario_json_schema

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Bitcoin mining or AI hosting on the same megawatts: value both, path by path.")
# Tables are wide (deals x metrics): when output goes to a file or a pipe,
# where rich would fall back to 80 columns and wrap every cell, print at 160.
stdout = Console(width=None if sys.stdout.isatty() else 160)
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


# ---------------------------------------------------------------- tables


def summary_tables(summary: dict) -> list[Table]:
    """Rich tables of a run summary: base case side by side, then Monte Carlo."""
    base = Table(title=f"{summary['scenario']}: base case "
                       f"(valuation {summary['valuation_date']}, {summary['horizon_months']} months)",
                 title_justify="left")
    base.add_column("Metric")
    base.add_column("Bitcoin mining", justify="right")
    base.add_column("AI hosting", justify="right")
    for key, label, _, fmt in BASE_METRIC_ROWS:
        b = summary["bitcoin"]["base"]
        a = summary["ai"]["base"]
        if key not in b and key not in a:
            continue
        base.add_row(label, fmt(b[key]) if key in b else "", fmt(a[key]) if key in a else "")

    mc = Table(title=f"Monte Carlo NPV: {summary['paths']:,} paths, seed {summary['seed']}",
               title_justify="left")
    mc.add_column("")
    for col in ("p5", "p50", "p95", "mean", "± s.e.", "CVaR 5%", "P(NPV<0)"):
        mc.add_column(col, justify="right")
    for label, stats, prob in (
            ("Bitcoin mining", summary["bitcoin"]["monte_carlo"]["npv_usd"],
             summary["bitcoin"]["monte_carlo"]["prob_npv_negative"]),
            ("AI hosting", summary["ai"]["monte_carlo"]["npv_usd"],
             summary["ai"]["monte_carlo"]["prob_npv_negative"]),
            ("AI minus bitcoin", summary["comparison"]["npv_difference_usd"], None)):
        mc.add_row(label, *(money(stats[k]) for k in ("p5", "p50", "p95", "mean", "sem", "cvar5")),
                   pct(prob) if prob is not None else "")
    comparison = summary["comparison"]
    lo, hi = comparison.get("prob_ai_beats_bitcoin_ci95") or (None, None)
    caption = [f"P(AI NPV > bitcoin NPV) = {pct(comparison['prob_ai_beats_bitcoin'])}"
               + (f" (95% CI {pct(lo)}-{pct(hi)})" if lo is not None else "")]
    k = comparison.get("breakeven_btc_price_multiplier")
    if k is not None:
        caption.append(f"break-even BTC price: {k:.2f} x the base path ({money(comparison['breakeven_btc_price_usd'])} "
                       "at t=0) makes mining's NPV equal AI's")
    else:
        caption.append("break-even BTC price: none between 0.01x and 100x the base path")
    conv = summary.get("monte_carlo", {})
    if conv.get("mode") == "auto":
        caption.append(f"paths auto: {summary['paths']:,} paths, s.e. of the mean NPV difference "
                       f"{money(conv.get('sem_npv_difference_usd'))} "
                       f"{'<=' if conv.get('reached') else '>'} tolerance {money(conv.get('tolerance_usd'))}"
                       + ("" if conv.get("reached") else f" (stopped at the cap of {conv.get('max_paths'):,})"))
    mc.caption = "\n".join(caption)
    mc.caption_justify = "left"

    dist = Table(title="Monte Carlo IRR and payback", title_justify="left")
    dist.add_column("")
    for col in ("IRR p5", "IRR p50", "IRR p95", "no IRR", "payback p50", "never pays back"):
        dist.add_column(col, justify="right")
    for business, label in (("bitcoin", "Bitcoin mining"), ("ai", "AI hosting")):
        m = summary[business]["monte_carlo"]
        dist.add_row(label, pct(m["irr"]["p5"]), pct(m["irr"]["p50"]), pct(m["irr"]["p95"]),
                     pct(m.get("prob_no_irr")), months(m["payback_months"]["p50"]),
                     pct(m.get("prob_never_pays_back")))
    return [base, mc, dist]


def parse_paths(text: str):
    """``--paths``: a whole number >= 1 or ``auto`` -> int or None."""
    if text.strip().lower() == "auto":
        return None
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise PivotsimError(f"--paths: {text!r} is not allowed; must be a whole number >= 1 or 'auto'") from None
    if value < 1:
        raise PivotsimError(f"--paths: {text!r} is not allowed; must be a whole number >= 1 or 'auto'")
    return value


_NOTICE_SHOWN = False


def _first_run_notice() -> None:
    """Say on a terminal's stderr, once, that the kernels are being compiled (first run after installing)."""
    global _NOTICE_SHOWN
    from .compiled import needs_compiling

    if not _NOTICE_SHOWN and stderr.is_terminal and needs_compiling():
        stderr.print("Compiling pivotsim's kernels (first run after installing, about 30 s once)",
                     highlight=False, soft_wrap=True)
    _NOTICE_SHOWN = True


def _progress(enabled: bool):
    _first_run_notice()
    if not enabled:
        return None, None
    bar = Progress(TextColumn("simulating"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,} paths"),
                   TimeElapsedColumn(), console=stderr, transient=True)
    return bar, bar.add_task("paths", total=1)


# ---------------------------------------------------------------- Dask cluster options (issue 8)
# Every command that simulates paths (run, sweep, sensitivity, compare) takes
# the same two options and runs its API call inside ``cluster(...)``:
#
#     def sweep(..., workers: WorkersOption = None, scheduler: SchedulerOption = None):
#         with cluster(workers, scheduler, quiet=as_json) as client:
#             result = api.sweep(..., client=client)
#
# ``client`` is None for a local run.  Cluster failures are PivotsimErrors
# (one line, exit 2), raised within a few seconds.
WorkersOption = Annotated[Optional[int], typer.Option(
    "--workers", help="Run the paths on a local Dask cluster of N worker processes.")]
SchedulerOption = Annotated[Optional[str], typer.Option(
    "--scheduler", help="Run the paths on the Dask scheduler at this address (tcp://host:8786) or "
                        "of this scheduler file (sched.json) [default: $PIVOTSIM_SCHEDULER unless "
                        "--workers is given].")]
ThreadsOption = Annotated[Optional[int], typer.Option(
    "--threads", help="Threads of this process evaluating chunks of paths (never changes the numbers) "
                      "[default: the CPUs available, at most 8].", show_default=False)]


@contextmanager
def cluster(workers: int | None, scheduler: str | None, *, quiet: bool = False):
    """The Dask client of ``--workers``/``--scheduler`` (None for a local run), closed on exit.

    Dask's own log records (a lost scheduler logs a traceback) are muted
    while it runs: the terminal gets pivotsim's one-line error instead.
    """
    import logging

    from .distributed import as_executor, connect, scheduler_address

    if workers is not None or scheduler_address(scheduler, workers) is not None:
        import distributed  # noqa: F401  (sets up its log handlers, muted below)
    dask_log = logging.getLogger("distributed")
    muted = [(h, h.level) for h in dask_log.handlers]  # records of distributed.* end here
    for handler, _ in muted:
        handler.setLevel(logging.CRITICAL + 1)
    try:
        with connect(scheduler, workers) as client:
            if client is not None and not quiet:
                info = as_executor(client).description
                stderr.print(f"Dask: {info['workers']} workers, {info['threads']} threads, "
                             f"scheduler {info['scheduler']}", highlight=False)
            yield client
    finally:
        for handler, level in muted:
            handler.setLevel(level)
# ---------------------------------------------------------------- end of Dask cluster options


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    paths: Annotated[str, typer.Option(
        "--paths", help="Monte Carlo paths, or 'auto': add paths until the standard error of the mean "
                        "NPV difference is below --tolerance-usd.")] = str(DEFAULT_PATHS),
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same numbers).")] = DEFAULT_SEED,
    out: Annotated[Path, typer.Option("--out", help="Parent folder of the run folder.")] = Path("runs"),
    set_: Annotated[Optional[List[str]], typer.Option(
        "--set", help="Override a scenario value: dotted.key=value (repeatable).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON only.")] = False,
    pdf: Annotated[bool, typer.Option("--pdf", help="Also write the PDF report (report.pdf) in the run folder.")]
    = False,
    tolerance_usd: Annotated[Optional[float], typer.Option(
        "--tolerance-usd", help="--paths auto: target standard error of the mean NPV difference [USD] "
                                "(default: 1% of the larger absolute base-case NPV).")] = None,
    max_paths: Annotated[int, typer.Option(
        "--max-paths", help="--paths auto: cap on paths.")] = DEFAULT_MAX_AUTO_PATHS,
    figures: Annotated[bool, typer.Option(
        "--figures/--no-figures", help="Write fan charts and NPV plots (PNG) into the run folder.")] = True,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    threads: ThreadsOption = None,
):
    """Value a scenario as bitcoin mining and as AI hosting; write a run folder."""
    try:
        n_paths = parse_paths(paths)
        loaded = load_scenario(scenario, set_ or ())
        show_bar = not as_json and stderr.is_terminal
        bar, task = _progress(show_bar)

        def progress(done, total):
            bar.update(task, completed=done, total=total)

        options = dict(paths=n_paths, seed=seed, tolerance_usd=tolerance_usd, max_paths=max_paths,
                       threads=threads)
        with cluster(workers, scheduler, quiet=as_json) as client:
            if bar is not None:
                with bar:
                    result = run_scenario(loaded, progress=progress, client=client, **options)
            else:
                result = run_scenario(loaded, client=client, **options)
        command = "pivotsim " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv else None
        folder = result.write(out, command=command, figures=figures)
        if pdf:
            _report_into_run_folder(result, folder)
    except PivotsimError as exc:
        fail(str(exc))
    summary = result.summary()
    if as_json:
        typer.echo(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    for table in summary_tables(summary):
        stdout.print(table)
    # --- uncertain inputs (mc-inputs) ---
    if summary.get("uncertain_inputs"):
        n_corr = len(summary.get("rank_correlations", []))
        stdout.print(f"Uncertain inputs ({summary['sampling']} sampling"
                     + (f", {n_corr} rank correlation{'s' if n_corr > 1 else ''}" if n_corr else "")
                     + f"): {', '.join(summary['uncertain_inputs'])}", highlight=False)
    # --- end uncertain inputs ---
    stdout.print(f"Run folder: {folder}")


# ---------------------------------------------------------------- report (PDF)
def _report_into_run_folder(result, folder: Path) -> None:
    """Write ``report.pdf`` in a fresh run folder; remove the folder if that fails."""
    import shutil

    from .api import report as write_pdf

    try:
        write_pdf(result, folder / "report.pdf")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # a failed run leaves nothing behind
        raise


@app.command()
def report(
    scenarios: Annotated[List[Path], typer.Argument(help="Scenario YAML file(s); several make a book.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="PDF file to write.")],
    paths: Annotated[int, typer.Option("--paths", help="Monte Carlo paths per scenario.")] = DEFAULT_PATHS,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same numbers).")] = DEFAULT_SEED,
    set_: Annotated[Optional[List[str]], typer.Option(
        "--set", help="Override a value in every scenario: dotted.key=value (repeatable).")] = None,
    paper: Annotated[str, typer.Option("--paper", help="Paper size: a4 or letter.")] = "a4",
    sensitivity: Annotated[bool, typer.Option(
        "--sensitivity/--no-sensitivity", help="Include tornado and break-even when available.")] = True,
):
    """Write a PDF research note of a scenario (several scenarios: a book with a comparison first)."""
    from .report.pdf import PAPERS, check_output_path

    try:
        if paper.lower() not in PAPERS:
            raise PivotsimError(f"--paper: {paper!r} is not allowed; must be one of {', '.join(PAPERS)}")
        check_output_path(output)
        loaded = [load_scenario(file, set_ or ()) for file in scenarios]
        # a book compares deals on the same market paths (as `pivotsim compare`)
        horizon = max(int(s.scenario.horizon_months.value) for s in loaded) if len(loaded) > 1 else None
        results = []
        for scenario in loaded:
            bar, task = _progress(stderr.is_terminal)
            if bar is not None:
                with bar:
                    results.append(run_scenario(scenario, paths=paths, seed=seed, market_horizon_months=horizon,
                                                progress=lambda d, t: bar.update(task, completed=d, total=t)))
            else:
                results.append(run_scenario(scenario, paths=paths, seed=seed, market_horizon_months=horizon))
        from .api import report as write_pdf

        written = write_pdf(results if len(results) > 1 else results[0], output, paper=paper,
                            sensitivity=sensitivity)
    except PivotsimError as exc:
        fail(str(exc))
    kind = f"book of {len(results)} scenarios" if len(results) > 1 else "report"
    stdout.print(f"PDF {kind}: {written}")


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


# ================================================================ deal library (issue 5):
# sources, claims, compare.  Economics live in pivotsim.analysis; this block
# only formats and prints.
DEFAULT_LIBRARY = Path("scenarios")


def _is_missing(x) -> bool:
    return x is None or (isinstance(x, float) and x != x)


def _value_text(value: float, unit: str) -> str:
    """A scenario number with its unit, for the sources table."""
    if unit == "USD":
        return money(value)
    if unit == "USD/kWh":
        return f"${value:.3f}/kWh"
    if unit == "USD per TH/s":
        return f"{money(value)} per TH/s"
    if unit.startswith("USD/"):
        return f"{money(value)}{unit[3:]}"
    if unit in ("fraction", "per year"):
        return f"{value * 100:.4g}%" + ("/yr" if unit == "per year" else "")
    if unit in ("", "-", "ratio", "blocks"):
        return f"{value:,.6g}"
    return f"{value:,.6g} {unit}"


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
    files: Annotated[List[Path], typer.Argument(help="Scenario YAML files.")],
    check: Annotated[bool, typer.Option(
        "--check", help="Only check: exit 2 listing every number with no source or assumption.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the provenance tables as JSON.")] = False,
):
    """Every number of a scenario with its unit and provenance (source or assumption)."""
    from .analysis.sources import missing_provenance, provenance_table, unused_sources

    bad = 0
    out_json = {}
    for file in files:
        try:
            scenario = load_scenario(file)
        except PivotsimError as exc:
            typer.echo(f"error: {exc}", err=True)
            bad += 1
            continue
        if check:
            missing = missing_provenance(scenario)
            for _, row in missing.iterrows():
                where = f"{file}:{row['line']}" if not _is_missing(row["line"]) else str(file)
                typer.echo(f"error: {where}: {row['path']}: {row['value']:g} has no source or assumption; "
                           "write it as {value: ..., source: ID} or {value: ..., assumption: \"reason\"}",
                           err=True)
            if len(missing):
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
        numbers = Table(title=f"{scenario.name}: every number and its provenance ({file})", title_justify="left")
        for col, kw in (("Path", {"no_wrap": True}), ("Value", {"justify": "right", "no_wrap": True}),
                        ("Provenance", {"ratio": 3}), ("Note", {"ratio": 2})):
            numbers.add_column(col, **kw)
        for _, row in table.iterrows():
            value = _value_text(row["value"], row["unit"])
            if row["distribution"]:
                value += f"\n[dim]{row['distribution']}[/]"
            numbers.add_row(row["path"], value, _provenance_cell(row, scenario), row["note"])
        stdout.print(numbers)
        docs = Table(title="Sources", title_justify="left")
        for col, kw in (("Id", {"no_wrap": True}), ("Title", {"ratio": 3}), ("Publisher", {"ratio": 2}),
                        ("Date", {"max_width": 14}), ("URL or file", {"ratio": 3, "overflow": "fold"})):
            docs.add_column(col, **kw)
        for sid, src in scenario.sources.items():
            docs.add_row(sid, src.title, src.publisher or "", str(src.date or ""), src.url or src.file or "")
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


def _claim_number(x, unit: str) -> str:
    if _is_missing(x):
        return "n/a"
    if unit.startswith("USD/kWh"):
        return f"${x:.3f}/kWh"
    if unit == "USD/kW-month":
        return f"${x:,.0f}/kW-mo"
    if unit == "USD/BTC":
        return f"${x:,.0f}"
    if unit.startswith("USD"):
        return money(x) + ("/yr" if unit == "USD/yr" else "")
    if unit == "years":
        return f"{x:.2f} yr"
    if unit == "x":
        return f"{x:.1f}x"
    return f"{x:,.4g} {unit}"


@app.command()
def claims(
    files: Annotated[Optional[List[Path]], typer.Argument(
        help="Scenario files or folders (default: scenarios/, without template.yaml).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the tables as JSON.")] = False,
):
    """Check the sources' claims against the model: claim vs model vs verdict."""
    from .analysis.claims import check_claims, load_library, revenue_per_kwh

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
    out = Table(title="Source claims against the model", title_justify="left", show_lines=True)
    for col, kw in (("Claim (source)", {"ratio": 2}), ("Deal", {"ratio": 1}), ("Claimed", {}),
                    ("Model", {"justify": "right"}), ("Verdict", {}), ("Why", {"ratio": 3})):
        out.add_column(col, **kw)
    for _, row in table.iterrows():
        colour = "green" if row["verdict"] == "agrees" else "yellow"
        out.add_row(f"{row['claim']} ({row['source']})", row["deal"], row["claimed"],
                    _claim_number(row["model"], row["unit"]), f"[{colour}]{row['verdict']}[/]",
                    row["explanation"])
    stdout.print(out)
    kwh = Table(title="Revenue per kWh: AI deal (over the contract) vs mining on the same power "
                      "(valuation date); claim (004): mining $0.17-0.20, AI $3-5",
                title_justify="left")
    for col in ("Deal", "AI /kWh critical IT", "AI /kWh grid", "Mining /kWh grid", "Mining /kWh ASIC",
                "AI / mining (grid)"):
        kwh.add_column(col, justify="left" if col == "Deal" else "right")
    for _, row in per_kwh.iterrows():
        kwh.add_row(row["deal"], per_kwh_text(row["ai_revenue_usd_per_kwh_critical_it"]),
                    per_kwh_text(row["ai_revenue_usd_per_kwh_grid"]),
                    per_kwh_text(row["bitcoin_revenue_usd_per_kwh_grid"]),
                    per_kwh_text(row["bitcoin_revenue_usd_per_kwh_asic"]),
                    f"{row['ai_to_bitcoin_ratio_grid']:.1f}x")
    stdout.print(kwh)


def per_kwh_text(x) -> str:
    return "n/a" if _is_missing(x) else f"${x:.3f}"


def _money_per_mw(x) -> str:
    return "n/a" if _is_missing(x) else f"{money(x)}/MW"


@app.command()
def compare(
    files: Annotated[List[Path], typer.Argument(help="Scenario YAML files, e.g. scenarios/*.yaml.")],
    paths: Annotated[int, typer.Option("--paths", help="Monte Carlo paths per deal.")] = DEFAULT_PATHS,
    seed: Annotated[int, typer.Option("--seed", help="One seed for every deal (common random numbers).")]
    = DEFAULT_SEED,
    csv: Annotated[Optional[Path], typer.Option("--csv", help="Write the full table as CSV.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full table as JSON only.")] = False,
    plot: Annotated[Optional[Path], typer.Option(
        "--plot", help="PNG chart of revenue per kWh and NPV per MW by deal "
                       "[default: runs/compare-<UTC timestamp>.png].")] = None,
    no_plot: Annotated[bool, typer.Option("--no-plot", help="Do not write the chart.")] = False,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
):
    """Compare deals on equal terms: one table, common random numbers, a chart."""
    from .analysis.compare import compare as compare_deals, compare_records, plot_comparison

    try:
        show_bar = not as_json and stderr.is_terminal
        bar, task = _progress(show_bar)
        with cluster(workers, scheduler, quiet=as_json) as client:
            if bar is not None:
                with bar:
                    table = compare_deals(files, paths=paths, seed=seed, client=client,
                                          progress=lambda done, total, name: bar.update(task, completed=done,
                                                                                        total=total))
            else:
                table = compare_deals(files, paths=paths, seed=seed, client=client)
    except PivotsimError as exc:
        fail(str(exc))
    written = []
    try:
        if csv is not None:
            table.to_csv(csv, index=False)
            written.append(f"table: {csv}")
        if not no_plot:
            if plot is None:
                stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
                plot = Path("runs") / f"compare-{stamp}.png"
                plot.parent.mkdir(parents=True, exist_ok=True)
            plot_comparison(table, plot)
            written.append(f"chart: {plot}")
    except OSError as exc:
        fail(f"cannot write output: {exc}")
    if as_json:
        typer.echo(json.dumps(compare_records(table), indent=2, ensure_ascii=False))
        return
    terms = Table(title=f"Deal terms ({len(table)} deals)", title_justify="left")
    for col in ("Deal", "Kind", "Grid MW", "Critical IT MW", "Term", "Contract value", "ARR",
                "$/kW-month", "AI $/kWh IT", "AI $/kWh grid", "Mining $/kWh grid (t=0)"):
        terms.add_column(col, justify="left" if col in ("Deal", "Kind") else "right")
    for _, r in table.iterrows():
        terms.add_row(r["label"], r["kind"], f"{r['grid_power_mw']:,.0f}", f"{r['critical_it_mw']:,.0f}",
                      f"{r['term_months'] / 12:g} yr", money(r["contract_value_usd"]), money(r["annual_revenue_usd"]),
                      f"${r['rent_usd_per_kw_month']:,.0f}", per_kwh_text(r["ai_revenue_usd_per_kwh_critical_it"]),
                      per_kwh_text(r["ai_revenue_usd_per_kwh_grid"]),
                      per_kwh_text(r["bitcoin_revenue_usd_per_kwh_grid_spot"]))
    stdout.print(terms)
    value = Table(title=f"Valuation on the same grid power: base case and Monte Carlo "
                        f"({table.attrs['paths']:,} paths, seed {table.attrs['seed']}, market drawn over "
                        f"{table.attrs['market_horizon_months']} months for every deal)",
                  title_justify="left")
    for col in ("Deal", "AI NPV", "Mining NPV", "AI NPV/MW", "Mining NPV/MW", "AI IRR", "Mining IRR",
                "AI payback", "P(AI > mining)", "p5 NPV diff"):
        value.add_column(col, justify="left" if col == "Deal" else "right")
    for _, r in table.iterrows():
        value.add_row(r["label"], money(r["ai_npv_usd"]), money(r["bitcoin_npv_usd"]),
                      _money_per_mw(r["ai_npv_usd_per_mw_grid"]), _money_per_mw(r["bitcoin_npv_usd_per_mw_grid"]),
                      pct(None if _is_missing(r["ai_irr"]) else r["ai_irr"]),
                      pct(None if _is_missing(r["bitcoin_irr"]) else r["bitcoin_irr"]),
                      months(None if _is_missing(r["ai_payback_months"]) else r["ai_payback_months"]),
                      pct(r["prob_ai_beats_bitcoin"]), money(r["npv_difference_p5_usd"]))
    value.caption = "NPV per MW of grid power; p5 NPV diff = 5th percentile of AI NPV minus mining NPV"
    stdout.print(value)
    for line in written:
        stdout.print(line)
# ================================================================ end of deal library block


# ---------------------------------------------------------------- calibrate (market model)
@app.command()
def calibrate(
    data_file: Annotated[Path, typer.Argument(help="Daily network CSV (Coin Metrics layout).")],
    start: Annotated[str, typer.Option("--start", help="First day of the fitting window (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option("--end", help="Last day of the fitting window (YYYY-MM-DD).")],
    price_model: Annotated[str, typer.Option(
        "--price-model", help="Price model of the printed block: merton or gbm.")] = "merton",
    as_json: Annotated[bool, typer.Option("--json", help="Print every fitted figure as JSON.")] = False,
):
    """Fit the market model on real data and print a YAML `market:` block to paste into a scenario."""
    import datetime as dt

    from .calibration import calibrate as fit

    try:
        if price_model not in ("merton", "gbm"):
            raise PivotsimError(f"--price-model: {price_model!r} is not allowed; must be merton or gbm")
        dates = []
        for name, text in (("--start", start), ("--end", end)):
            try:
                dates.append(dt.date.fromisoformat(text))
            except ValueError:
                raise PivotsimError(f"{name}: {text!r} is not allowed; must be a date YYYY-MM-DD") from None
        result = fit(data_file, dates[0], dates[1])
    except PivotsimError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2, default=str))
        return
    typer.echo(result.to_yaml(price_model), nl=False)
# ---------------------------------------------------------------- end calibrate


# ======================================================================= sensitivity
# sweep | sensitivity | breakeven: thin shells over pivotsim.analysis.sensitivity.

def _command_line() -> str | None:
    return "pivotsim " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv else None


def _metric_text(path: str, x) -> str:
    if x is None or (isinstance(x, float) and x != x):
        return "n/a"
    if "prob" in path:
        return pct(x)
    if path.endswith("irr") or path.endswith("margin") or ".irr." in path:
        return pct(x)
    if "_usd" in path and "per_" not in path:
        return money(x)
    return number(x, 4 if abs(x) < 10 else 0)


def _param_text(path: str, x: float) -> str:
    if path.endswith("_usd"):
        return money(x)
    return f"{x:,.6g}"


def _point_progress(label: str, enabled: bool):
    _first_run_notice()
    if not enabled:
        return None, None
    bar = Progress(TextColumn(label), BarColumn(), TextColumn("{task.completed:,}/{task.total:,} evaluations"),
                   TimeElapsedColumn(), console=stderr, transient=True)
    return bar, bar.add_task(label, total=1)


def _with_progress(label: str, enabled: bool, call):
    bar, task = _point_progress(label, enabled)
    if bar is None:
        return call(None)
    with bar:
        return call(lambda done, total: bar.update(task, completed=done, total=total))


def sweep_table(result) -> Table:
    """The sweep in the terminal: one row per point (1 parameter) or per row of the grid (2)."""
    import numpy as np

    from .analysis.metrics import PROB_AI_BEATS

    metric = result.metrics[0]
    frame = result.frame
    caption = (f"{result.paths:,} paths per point, seed {result.seed}, common random numbers"
               if result.paths else "base case")
    if len(result.params) == 1:
        path = result.params[0][0]
        table = Table(title=f"{result.scenario.name}: sweep of {path}", title_justify="left", caption=caption)
        table.add_column(path.rpartition(".")[2], justify="right")
        columns = []
        for m in result.metrics:
            if m.is_scalar:
                columns.append((m.path, m.path, m.path))
            else:
                for stat in ("mean", "p5", "p50", "p95"):
                    columns.append((f"{m.path}.{stat}", f"{m.path} {stat}" if m is not metric else stat, m.path))
        if PROB_AI_BEATS in frame and all(c[0] != PROB_AI_BEATS for c in columns):
            columns.append((PROB_AI_BEATS, "P(AI > BTC)", PROB_AI_BEATS))
        for _, label, _ in columns:
            table.add_column(label, justify="right")
        for _, row in frame.iterrows():
            table.add_row(_param_text(path, row[path]),
                          *(_metric_text(m, row[c]) for c, _, m in columns))
        if not metric.is_scalar:
            table.title += f" -> {metric.path}"
        return table
    (path1, v1), (path2, v2) = result.params
    grid = result.grid(metric)
    name = result.column(metric)
    table = Table(title=f"{result.scenario.name}: {name}\nrows {path1}, columns {path2}", title_justify="left",
                  caption=caption)
    table.add_column(path1.rpartition(".")[2], justify="right")
    table.add_column(f"at {_param_text(path2, v2[0])}", justify="right")
    table.add_column(f"at {_param_text(path2, v2[-1])}", justify="right")
    table.add_column(f"{path2.rpartition('.')[2]} where it is 0", justify="right")
    for i, value in enumerate(v1):
        row = grid[i]
        crossings = []
        for j in range(len(v2) - 1):
            a, b = row[j], row[j + 1]
            if np.isfinite(a) and np.isfinite(b) and (a < 0) != (b < 0) and a != b:
                crossings.append(v2[j] + (v2[j + 1] - v2[j]) * (0 - a) / (b - a))
        where = ", ".join(_param_text(path2, c) for c in crossings[:3]) or "no crossing"
        table.add_row(_param_text(path1, value), _metric_text(name, row[0]), _metric_text(name, row[-1]), where)
    return table


@app.command()
def sweep(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    param: Annotated[List[str], typer.Option(
        "--param", help="path=start:stop:count or path=a,b,c (once or twice).")],
    metric: Annotated[Optional[List[str]], typer.Option(
        "--metric", help="Summary path, e.g. comparison.npv_difference_usd (repeatable).")] = None,
    paths: Annotated[int, typer.Option("--paths", help="Monte Carlo paths per point.")] = 2_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (the same draws at every point).")] = DEFAULT_SEED,
    out: Annotated[Path, typer.Option("--out", help="Parent folder of the sweep folder.")] = Path("runs"),
    set_: Annotated[Optional[List[str]], typer.Option("--set", help="Override a scenario value first.")] = None,
):
    """Sweep one or two parameters on a grid with common random numbers; CSV, PNG and a table."""
    from .analysis.metrics import NPV_DIFFERENCE
    from .analysis.sweep import sweep as run_sweep
    from .output.sensitivity_folders import write_result

    try:
        loaded = load_scenario(scenario, set_ or ())
        result = _with_progress("sweeping", stderr.is_terminal, lambda progress: run_sweep(
            loaded, param, metric or [NPV_DIFFERENCE], paths=paths, seed=seed, progress=progress))
        folder = write_result(result, out, command=_command_line())
    except PivotsimError as exc:
        fail(str(exc))
    stdout.print(sweep_table(result))
    stdout.print(f"Sweep folder: {folder}")


def _short(path: str, x) -> str:
    """3 significant digits: $141M, -$1.23B, 12.5%."""
    if x is None or x != x:
        return "n/a"
    if "_usd" not in path or "per_" in path:
        return _metric_text(path, x)
    sign, a = ("-" if x < 0 else ""), abs(x)
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= scale:
            return f"{sign}${a / scale:.3g}{suffix}"
    return f"{sign}${a:.3g}"


def tornado_table(result) -> Table:
    """Tornado in the terminal: each input's range and the three base-case NPVs at its ends."""
    from .analysis.metrics import TORNADO_METRICS

    base = result.base
    table = Table(title=f"{result.scenario.name}: tornado, ranked by {result.metric.path}",
                  title_justify="left",
                  caption="each input moved alone to its low / high value, others at base; NPVs (base case) at low / high "
                          f"(base: BTC {_short('x_usd', base['bitcoin.base.npv_usd'])}, "
                          f"AI {_short('x_usd', base['ai.base.npv_usd'])}, "
                          f"AI - BTC {_short('x_usd', base['comparison.base.npv_difference_usd'])})")
    table.add_column("Input", overflow="fold")
    table.add_column("Low / high", justify="right")
    short = {"bitcoin.base.npv_usd": "BTC NPV", "ai.base.npv_usd": "AI NPV",
             "comparison.base.npv_difference_usd": "AI - BTC"}
    shown = list(TORNADO_METRICS) + ([result.metric.path] if result.metric.path not in TORNADO_METRICS else [])
    for m in shown:
        table.add_column(short.get(m, m), justify="right")
    table.add_column("Swing", justify="right")
    long = result.all_metrics
    for row in result.table.itertuples():
        cells = []
        for m in shown:
            r = long[(long.input == row.input) & (long.metric == m)].iloc[0]
            cells.append(f"{_short(m, r.metric_low)} / {_short(m, r.metric_high)}")
        table.add_row(row.input, f"{_short(row.input, row.low_value)} / {_short(row.input, row.high_value)}"
                      if row.input.endswith("_usd") else f"{row.low_value:.4g} / {row.high_value:.4g}", *cells,
                      _short(result.metric.path, row.swing))
    return table


def indices_table(result) -> Table:
    """Sobol' or Morris indices in the terminal."""
    if result.method == "sobol":
        table = Table(title=f"Sobol' indices of {result.metric} ({result.evaluations:,} evaluations, "
                            f"{result.conf_level:.0%} intervals)", title_justify="left")
        for col in ("Factor", "S1", "+/-", "ST", "+/-"):
            table.add_column(col, justify="left" if col == "Factor" else "right")
        for r in result.table.itertuples():
            table.add_row(r.factor, f"{r.S1:.3f}", f"{r.S1_conf:.3f}", f"{r.ST:.3f}", f"{r.ST_conf:.3f}")
    else:
        table = Table(title=f"Morris screening of {result.metric} ({result.evaluations:,} evaluations; "
                            "effects per unit quantile)", title_justify="left")
        for col in ("Factor", "mu*", "+/-", "mu", "sigma"):
            table.add_column(col, justify="left" if col == "Factor" else "right")
        for r in result.table.itertuples():
            table.add_row(r.factor, *(_metric_text(result.metric, v)
                                      for v in (r.mu_star, r.mu_star_conf, r.mu, r.sigma)))
    table.caption = "factors: " + "; ".join(f"{f.path} ~ {f.dist!r}" for f in result.factors)
    return table


@app.command()
def sensitivity(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    method: Annotated[str, typer.Option("--method", help="tornado, sobol or morris.")] = "tornado",
    factor: Annotated[Optional[List[str]], typer.Option(
        "--factor", help="path or path=low:high (repeatable); default: every number (tornado) "
                         "or the scenario's distributions (sobol, morris).")] = None,
    metric: Annotated[str, typer.Option("--metric", help="Base-case metric.")] = "comparison.base.npv_difference_usd",
    delta: Annotated[float, typer.Option("--delta", help="Relative move of plain numbers.")] = 0.2,
    quantiles: Annotated[str, typer.Option("--quantiles", help="Tornado low:high quantiles of distributions.")]
    = "0.1:0.9",
    samples: Annotated[Optional[int], typer.Option(
        "--samples", help="Sobol' base sample (power of 2, default 256) or Morris trajectories (50).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the Sobol'/Morris sample.")] = DEFAULT_SEED,
    out: Annotated[Path, typer.Option("--out", help="Parent folder of the result folder.")] = Path("runs"),
    set_: Annotated[Optional[List[str]], typer.Option("--set", help="Override a scenario value first.")] = None,
):
    """Tornado and spider (one at a time) or Sobol'/Morris indices (global, SALib)."""
    from .analysis.global_indices import sensitivity as run_sensitivity
    from .analysis.parameters import parse_range
    from .output.sensitivity_folders import write_result

    try:
        if method not in ("tornado", "sobol", "morris"):
            raise PivotsimError(f"--method {method!r} is not allowed; must be tornado, sobol or morris")
        q = parse_range(quantiles, option="--quantiles")
        loaded = load_scenario(scenario, set_ or ())
        result = _with_progress(method, stderr.is_terminal, lambda progress: run_sensitivity(
            loaded, method, factors=factor, metric=metric, delta=delta, quantiles=q, samples=samples,
            seed=seed, progress=progress))
        folder = write_result(result, out, command=_command_line())
    except PivotsimError as exc:
        fail(str(exc))
    if method == "tornado":
        stdout.print(tornado_table(result))
        for path, reason in result.skipped:
            stdout.print(f"[dim]skipped {path}: {reason}[/dim]")
    else:
        stdout.print(indices_table(result))
    stdout.print(f"Result folder: {folder}")


@app.command()
def breakeven(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    param: Annotated[str, typer.Option("--param", help="Dotted path of the number to solve for.")],
    target: Annotated[str, typer.Option(
        "--target", help="metric=value, e.g. comparison.npv_difference_usd=0.")],
    range_: Annotated[Optional[str], typer.Option(
        "--range", help="Search range low:high (default: value/10 to 10 x value).")] = None,
    stochastic: Annotated[bool, typer.Option(
        "--stochastic", help="Solve the Monte Carlo mean (common random numbers), not the base case.")] = False,
    paths: Annotated[int, typer.Option("--paths", help="Monte Carlo paths with --stochastic.")] = 2_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed with --stochastic.")] = DEFAULT_SEED,
    set_: Annotated[Optional[List[str]], typer.Option("--set", help="Override a scenario value first.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON only.")] = False,
):
    """Solve for the value of a parameter at which a metric reaches a target (brentq), then re-verify."""
    from .analysis.breakeven import breakeven as solve

    try:
        loaded = load_scenario(scenario, set_ or ())
        _first_run_notice()
        result = solve(loaded, param, target, range_, stochastic=stochastic, paths=paths, seed=seed)
    except PivotsimError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps(result.summary(), indent=2))
        return
    m = result.metric.path
    basis = (f"Monte Carlo, {result.paths:,} paths, seed {result.seed}, common random numbers"
             if result.stochastic else "base case")
    change = ""
    if result.base_value:
        change = f", {result.value / result.base_value - 1:+.1%} from the scenario's {_param_text(result.param, result.base_value)}"
    stdout.print(f"[bold]Break-even {result.param} = {_param_text(result.param, result.value)}[/bold]{change}")
    stdout.print(f"  solved   {m} = {result.target:g} ({basis}) by brentq on "
                 f"{_param_text(result.param, result.low)}..{_param_text(result.param, result.high)}, where it goes "
                 f"{_metric_text(m, result.metric_low)} -> {_metric_text(m, result.metric_high)}; "
                 f"{result.iterations} evaluations")
    stdout.print(f"  re-run   pivotsim run --set {result.param}={result.value!r} gives {m} = "
                 f"{result.recomputed:.6g} (target {result.target:g}, tolerance {result.tolerance:.3g}): verified")
# ===================================================================== end sensitivity


if __name__ == "__main__":  # pragma: no cover
    app()
