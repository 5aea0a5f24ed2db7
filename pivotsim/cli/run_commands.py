"""``pivotsim run`` and ``pivotsim report``: a scenario's base case, Monte Carlo, run folder and PDF."""

import json
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, List, Optional

import typer

from ..errors import PivotsimError
from ..formatting import BASE_METRIC_ROWS, BRIDGE_LABELS, BRIDGE_TOTAL_LABELS, irr_text, money, months, pct, ratio  # same figures as the PDF
from ..defaults import DEFAULT_MAX_AUTO_PATHS, DEFAULT_PATHS, DEFAULT_SEED
from .checks import check_output_file, check_output_folder, check_seed
from .tables import new_table, print_table
from .app import (
    SchedulerOption,
    ThreadsOption,
    WorkersOption,
    app,
    cluster,
    fail,
    load,
    parse_paths,
    progress_bar,
    stderr,
    stdout,
)

if TYPE_CHECKING:
    from rich.table import Table


def summary_tables(summary: dict) -> "list[Table]":
    """Rich tables of a run summary: base case side by side, then Monte Carlo."""
    base = new_table(title=f"{summary['scenario']}: base case "
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
        if key == "irr":
            base.add_row(label, irr_text(b), irr_text(a))
            continue
        base.add_row(label.format(months=summary["horizon_months"]), fmt(b[key]) if key in b else "",
                     fmt(a[key]) if key in a else "")

    mc = new_table(title=f"Monte Carlo NPV: {summary['paths']:,} paths, seed {summary['seed']}",
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
        at = summary["market"]["at_valuation"]
        when = f"on {at['state_date']}" if at["state_days_before_valuation"] else "at t=0"
        caption.append(f"break-even BTC price: {k:.2f} x the base path ({money(comparison['breakeven_btc_price_usd'])} "
                       f"{when}) makes mining's NPV equal AI's")
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

    dist = new_table(title="Monte Carlo IRR and payback", title_justify="left")
    dist.add_column("")
    for col in ("IRR p5", "IRR p50", "IRR p95", "no IRR", "MIRR p50", "payback p50", "never pays back"):
        dist.add_column(col, justify="right")
    for business, label in (("bitcoin", "Bitcoin mining"), ("ai", "AI hosting")):
        m = summary[business]["monte_carlo"]
        dist.add_row(label, pct(m["irr"]["p5"]), pct(m["irr"]["p50"]), pct(m["irr"]["p95"]),
                     pct(m.get("prob_no_irr")), pct(m.get("mirr", {}).get("p50")),
                     months(m["payback_months"]["p50"]), pct(m.get("prob_never_pays_back")))
    dist.caption = ("no IRR: the cash flows have no root, several (their sign changes more than once), or "
                    "borrow first; MIRR finances and reinvests at the discount rate")
    dist.caption_justify = "left"
    tables = [base, market_table(summary), mc, dist, bridge_table(summary)]
    levered = [(b, label) for b, label in (("bitcoin", "Bitcoin mining"), ("ai", "AI hosting"))
               if "debt" in summary[b]["base"]]
    if levered:
        tables.append(_debt_table(summary, levered))
    return tables


def bridge_table(summary: dict) -> "Table":
    """The NPV of each business taken apart: base case and Monte Carlo mean; with debt, its financing part too."""
    table = new_table(title="Value bridge (present values): the NPV taken apart", title_justify="left")
    table.add_column("")
    for col in ("Bitcoin base", "AI base", "Bitcoin MC mean", "AI MC mean"):
        table.add_column(col, justify="right")
    blocks = [summary["bitcoin"]["base"], summary["ai"]["base"],
              summary["bitcoin"]["monte_carlo"], summary["ai"]["monte_carlo"]]
    bridges = [blocks[0].get("value_bridge", {}), blocks[1].get("value_bridge", {}),
               blocks[2].get("value_bridge_mean", {}), blocks[3].get("value_bridge_mean", {})]
    npv = [blocks[0]["npv_usd"], blocks[1]["npv_usd"], blocks[2]["npv_usd"]["mean"], blocks[3]["npv_usd"]["mean"]]
    for part, label in BRIDGE_LABELS.items():
        if part != "financing_usd":
            table.add_row(label, *(money(b.get(part)) for b in bridges))
    table.add_row(f"= {BRIDGE_TOTAL_LABELS['npv_usd']}", *(money(v) for v in npv))
    if any("debt" in summary[b]["base"] for b in ("bitcoin", "ai")):
        financing = [b.get("financing_usd") or 0.0 for b in bridges]
        table.add_row(BRIDGE_LABELS["financing_usd"], *(money(v) for v in financing))
        table.add_row(f"= {BRIDGE_TOTAL_LABELS['npv_with_financing_usd']}",
                      *(money(v + f) for v, f in zip(npv, financing)))
    return table


def _debt_table(summary: dict, levered) -> "Table":
    """Debt and equity of the levered businesses: base case, then the paths' DSCR and covenant risk."""
    table = new_table(title="Project debt and the equity (base case; Monte Carlo min DSCR and probabilities)",
                      title_justify="left")
    table.add_column("")
    for col in ("debt", "cost", "min DSCR", "equity NPV", "equity IRR", "MIRR", "min DSCR p5", "min DSCR p50",
                "P(breach)", "P(default)", "equity NPV p50"):
        table.add_column(col, justify="right")
    for business, label in levered:
        base, mc = summary[business]["base"], summary[business]["monte_carlo"]
        debt, equity = base["debt"], base["equity"]
        dscr = mc["debt"]["min_dscr"]
        table.add_row(label, money(debt["amount_usd"]), pct(debt["cost_of_debt"]), ratio(debt["min_dscr"]),
                      money(equity["npv_usd"]), pct(equity["irr"]), pct(equity["mirr"]),
                      ratio(dscr["p5"]), ratio(dscr["p50"]), pct(mc["debt"]["prob_covenant_breach"]),
                      pct(mc["debt"]["prob_payment_default"]), money(mc["equity"]["npv_usd"]["p50"]))
    table.caption = ("equity NPV at the cost of equity; DSCR = CFADS / (interest + scheduled principal) in "
                     "months of repayment (min DSCR: the lowest single month); breach: the covenant's test "
                     "DSCR (a trailing window where the scenario sets covenant_test_months) below the covenant")
    table.caption_justify = "left"
    return table


def market_table(summary: dict) -> "Table":
    """The market at the valuation date: p5/p50/p95 over paths and the base case (``market.at_valuation``)."""
    at = summary["market"]["at_valuation"]
    gap = at["state_days_before_valuation"]
    title = (f"Market at {summary['valuation_date']}: state of {at['state_date']} rolled forward {gap} days"
             if gap else f"Market at {summary['valuation_date']} (the state date)")
    table = new_table(title=title, title_justify="left")
    table.add_column("")
    for col in ("p5", "p50", "p95", "base"):
        table.add_column(col, justify="right")
    rows = (("BTC price", "btc_price_usd", money), ("Hashprice ($/PH/day)", "hashprice_usd_per_ph_day",
                                                  lambda x: f"{x:,.2f}"),
            ("Network hashrate (EH/s)", "network_hashrate_eh_s", lambda x: f"{x:,.0f}"),
            ("Block height", "block_height", lambda x: f"{x:,.0f}"))
    for label, key, fmt in rows:
        table.add_row(label, *(fmt(at[key][k]) for k in ("p5", "p50", "p95", "base")))
    halving = at["next_halving"]
    if halving["expected"] is not None:
        table.caption = (f"next halving expected {halving['expected']} (p5 {halving['p5'] or 'past the horizon'}, "
                         f"p95 {halving['p95'] or 'past the horizon'})")
    else:
        table.caption = "next halving: past the horizon"
    table.caption_justify = "left"
    return table


@app.command()
def run(
    ctx: typer.Context,
    scenario: Annotated[str, typer.Argument(help="Scenario YAML file, or a bundled deal (iren).", metavar="PATH")],
    paths: Annotated[str, typer.Option(
        "--paths", help="Monte Carlo paths, or 'auto': add paths until the standard error of the mean "
                        "NPV difference is below --tolerance-usd.", metavar="N")] = str(DEFAULT_PATHS),
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same numbers).")] = DEFAULT_SEED,
    out: Annotated[str, typer.Option("--out", help="Parent folder of the run folder.", metavar="PATH")] = "runs",
    set_: Annotated[Optional[List[str]], typer.Option(
        "--set", help="Override a scenario value: dotted.key=value (repeatable).", metavar="KEY=VALUE")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON only.")] = False,
    pdf: Annotated[bool, typer.Option("--pdf", help="Also write the PDF report (report.pdf) in the run folder.")]
    = False,
    xlsx: Annotated[bool, typer.Option(
        "--xlsx", help="Also write the model workbook (model.xlsx: live NPV/IRR formulas) in the run folder.")]
    = False,
    tolerance_usd: Annotated[Optional[float], typer.Option(
        "--tolerance-usd", help="--paths auto: target standard error of the mean NPV difference [USD] "
                                "(default: 1% of the larger absolute base-case NPV).", metavar="USD")] = None,
    max_paths: Annotated[int, typer.Option(
        "--max-paths", help="--paths auto: cap on paths.")] = DEFAULT_MAX_AUTO_PATHS,
    figures: Annotated[bool, typer.Option(
        "--figures/--no-figures", help="Write fan charts and NPV plots (PNG) into the run folder.")] = True,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    threads: ThreadsOption = None,
):
    """Value a scenario as bitcoin mining and as AI hosting; write a run folder."""
    from ..output.figure_worker import start_figure_workers, stop_figure_workers

    figure_helpers = start_figure_workers() if figures else []  # first: matplotlib loads there while we simulate
    ctx.call_on_close(stop_figure_workers)  # unused ones too, however the command ends
    from ..output.folders import write_run_folder
    from ..runs import run as run_scenario

    try:
        n_paths = parse_paths(paths)
        check_seed(seed)
        check_output_folder(out, "--out")
        loaded = load(scenario, set_ or (), quiet=as_json)
        show_bar = not as_json and stderr.is_terminal
        bar, task = progress_bar(show_bar)

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
        folder = write_run_folder(result, out, command=command, figures=figures, xlsx=xlsx,
                                  figure_workers=figure_helpers)
        if pdf:
            _report_into_run_folder(result, folder)
    except PivotsimError as exc:
        fail(str(exc))
    except OSError as exc:  # the folder changed between the check and the write
        fail(f"--out: cannot write into {out}: {exc.strerror or exc}")
    summary = result.summary()
    if as_json:
        typer.echo(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    for table in summary_tables(summary):
        print_table(stdout, table)
    # --- uncertain inputs (mc-inputs) ---
    if summary.get("uncertain_inputs"):
        n_corr = len(summary.get("rank_correlations", []))
        stdout.print(f"Uncertain inputs ({summary['sampling']} sampling"
                     + (f", {n_corr} rank correlation{'s' if n_corr > 1 else ''}" if n_corr else "")
                     + f"): {', '.join(summary['uncertain_inputs'])}", highlight=False)
    if summary.get("framing"):
        from ..framing import framing_text  # the engine is loaded by now

        stdout.print(framing_text(summary["framing"]), highlight=False)
    stdout.print(f"Run folder: {folder}")


# ---------------------------------------------------------------- report (PDF)
def _report_into_run_folder(result, folder: Path) -> None:
    """Write ``report.pdf`` in a fresh run folder; remove the folder if that fails."""
    import shutil

    from ..output.pdf import write_report as write_pdf

    try:
        write_pdf(result, folder / "report.pdf")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # a failed run leaves nothing behind
        raise


@app.command()
def report(
    scenarios: Annotated[List[str], typer.Argument(help="Scenario YAML file(s); several make a book.", metavar="PATH...")],
    output: Annotated[str, typer.Option("-o", "--output", help="PDF file to write.", metavar="PATH")],
    paths: Annotated[int, typer.Option("--paths", help="Monte Carlo paths per scenario.", metavar="N")] = DEFAULT_PATHS,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same numbers).")] = DEFAULT_SEED,
    set_: Annotated[Optional[List[str]], typer.Option(
        "--set", help="Override a value in every scenario: dotted.key=value (repeatable).", metavar="KEY=VALUE")] = None,
    paper: Annotated[str, typer.Option("--paper", help="Paper size: a4 or letter.", metavar="SIZE")] = "a4",
    sensitivity: Annotated[bool, typer.Option(
        "--sensitivity/--no-sensitivity", help="Include the cases and sensitivity grids (more runs).")] = True,
):
    """Write a PDF research note of a scenario (several scenarios: a book with a comparison first)."""
    from ..output.pdf import PAPERS, check_output_path
    from ..runs import run as run_scenario

    try:
        if paper.lower() not in PAPERS:
            raise PivotsimError(f"--paper: {paper!r} is not allowed; must be one of {', '.join(PAPERS)}")
        check_seed(seed)
        check_output_file(output, "--output", ".pdf")
        check_output_path(output)
        loaded = [load(file, set_ or ()) for file in scenarios]
        # a book's chapter is its deal's own note: each deal runs alone, on its own horizon's market
        # (pivotsim.output.book states the rule), so a chapter equals `pivotsim report <deal>.yaml`
        results = []
        for scenario in loaded:
            bar, task = progress_bar(stderr.is_terminal)
            if bar is not None:
                with bar:
                    results.append(run_scenario(scenario, paths=paths, seed=seed,
                                                progress=lambda d, t: bar.update(task, completed=d, total=t)))
            else:
                results.append(run_scenario(scenario, paths=paths, seed=seed))
        from ..output.pdf import write_report as write_pdf

        written = write_pdf(results if len(results) > 1 else results[0], output, paper=paper,
                            sensitivity=sensitivity)
    except PivotsimError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"--output: cannot write {output}: {exc.strerror or exc}")
    kind = f"book of {len(results)} scenarios" if len(results) > 1 else "report"
    stdout.print(f"PDF {kind}: {written}")
