"""``pivotsim compare`` (deals side by side) and ``pivotsim calibrate`` (the market model)."""

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from ..errors import PivotsimError
from ..formatting import (  # same figures as the PDF
    compact_money,
    missing,
    money,
    pct,
    per_kwh_text,
)
from ..defaults import DEFAULT_PATHS, DEFAULT_SEED
from .checks import check_output_file, check_output_folder, check_seed
from .tables import new_table, print_table
from .app import (
    SchedulerOption,
    WorkersOption,
    app,
    cluster,
    fail,
    load,
    progress_bar,
    stderr,
    stdout,
)


def _short_money(x) -> str:
    return compact_money(x) or "n/a"


@app.command()
def compare(
    files: Annotated[List[str], typer.Argument(help="Scenario YAML files or library deals (iren cipher_aws ...).", metavar="PATH...")],
    paths: Annotated[int, typer.Option("--paths", help="Monte Carlo paths per deal.", metavar="N")] = DEFAULT_PATHS,
    seed: Annotated[int, typer.Option("--seed", help="One seed for every deal (common random numbers).")]
    = DEFAULT_SEED,
    csv: Annotated[Optional[str], typer.Option("--csv", help="Write the full table as CSV.", metavar="PATH")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full table as JSON only.")] = False,
    plot: Annotated[Optional[str], typer.Option(
        "--plot", help="PNG chart of revenue per kWh and NPV per MW by deal "
                       "\\[default: runs/compare-<UTC timestamp>.png].", metavar="PATH")] = None,
    no_plot: Annotated[bool, typer.Option("--no-plot", help="Do not write the chart.")] = False,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
):
    """Compare deals on equal terms: one table, common random numbers, a chart."""
    from ..analysis.compare import compare as compare_deals
    from ..analysis.compare import compare_records, plot_comparison

    try:
        check_seed(seed)
        if csv is not None:
            check_output_file(csv, "--csv", ".csv")
        if plot is not None and not no_plot:
            check_output_file(plot, "--plot", ".png")
        elif not no_plot:
            check_output_folder("runs", "--plot (default folder runs)")
        files = [load(file, quiet=as_json) for file in files]
        show_bar = not as_json and stderr.is_terminal
        bar, task = progress_bar(show_bar)
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
    # compact money keeps seven deals on 120 columns with whole names and figures; --csv/--json hold every digit
    terms = new_table(title=f"Deal terms ({len(table)} deals)", title_justify="left")
    # headers broken by hand: rich sizes a column by its unbroken header, then cuts cells to fit
    for col in ("Deal", "Kind", "Grid /\nIT MW", "Term", "Contract\nvalue", "ARR", "$/kW-\nmonth", "AI $/kWh\nIT",
                "AI $/kWh\ngrid", "Mining\n$/kWh grid\n(t=0)"):
        terms.add_column(col, justify="left" if col in ("Deal", "Kind") else "right",
                        no_wrap=col in ("Deal", "Kind"))
    for _, r in table.iterrows():
        terms.add_row(r["label"], str(r["kind"]).replace("gpu_cloud", "GPU cloud"),
                      f"{r['grid_power_mw']:,.0f}/{r['critical_it_mw']:,.0f}",
                      f"{r['term_months'] / 12:g} yr", _short_money(r["contract_value_usd"]),
                      _short_money(r["annual_revenue_usd"]), f"${r['rent_usd_per_kw_month']:,.0f}",
                      per_kwh_text(r["ai_revenue_usd_per_kwh_critical_it"]),
                      per_kwh_text(r["ai_revenue_usd_per_kwh_grid"]),
                      per_kwh_text(r["bitcoin_revenue_usd_per_kwh_grid_spot"]))
    print_table(stdout, terms)
    value = new_table(title=f"Valuation on the same grid power: base case and Monte Carlo "
                            f"({table.attrs['paths']:,} paths, seed {table.attrs['seed']}, market drawn over "
                            f"{table.attrs['market_horizon_months']} months for every deal)",
                      title_justify="left")
    for col in ("Deal", "AI NPV", "Mining\nNPV", "AI\nNPV/MW", "Mining\nNPV/MW", "AI IRR", "Mining\nIRR",
                "AI\npayback", "P(AI >\nmining)", "p5 NPV\ndiff"):
        value.add_column(col, justify="left" if col == "Deal" else "right", no_wrap=col == "Deal")
    for _, r in table.iterrows():
        payback = None if missing(r["ai_payback_months"]) else r["ai_payback_months"]
        value.add_row(r["label"], _short_money(r["ai_npv_usd"]), _short_money(r["bitcoin_npv_usd"]),
                      _short_money(r["ai_npv_usd_per_mw_grid"]) + "/MW",
                      _short_money(r["bitcoin_npv_usd_per_mw_grid"]) + "/MW",
                      pct(None if missing(r["ai_irr"]) else r["ai_irr"]),
                      pct(None if missing(r["bitcoin_irr"]) else r["bitcoin_irr"]),
                      "never" if payback is None else f"{payback:.0f} mo",
                      pct(r["prob_ai_beats_bitcoin"]), _short_money(r["npv_difference_p5_usd"]))
    value.caption = ("NPV per MW of grid power; p5 NPV diff = 5th percentile of AI NPV minus mining NPV; "
                     "--csv or --json for every digit")
    print_table(stdout, value)
    framing = new_table(title="Framing of each side: mining on an existing fleet (ASICs sunk, resale to the AI side) "
                              "or a new one (bought at t = 0)", title_justify="left")
    for col in ("Deal", "Mining fleet", "AI share of the site", "Mining NPV: existing minus new fleet"):
        framing.add_column(col, justify="left" if col in ("Deal", "Mining fleet") else "right")
    for _, r in table.iterrows():
        framing.add_row(r["label"], r["bitcoin_fleet"], pct(r["ai_share"]),
                        money(r["bitcoin_npv_existing_minus_new_usd"]))
    print_table(stdout, framing)
    for line in written:
        stdout.print(line)

# ---------------------------------------------------------------- calibrate (market model)
@app.command()
def calibrate(
    start: Annotated[str, typer.Option("--start", help="First day of the fitting window (YYYY-MM-DD).", metavar="DATE")],
    end: Annotated[str, typer.Option("--end", help="Last day of the fitting window (YYYY-MM-DD).", metavar="DATE")],
    data_file: Annotated[Optional[Path], typer.Argument(
        help="Daily network CSV (Coin Metrics layout); default: the user data folder's file "
             "(`pivotsim data update`, `pivotsim data status`).", metavar="[PATH]")] = None,
    price_model: Annotated[str, typer.Option(
        "--price-model", help="Price model of the printed block: merton or gbm.", metavar="MODEL")] = "merton",
    fee_start: Annotated[Optional[str], typer.Option(
        "--fee-start", help="First day of the window the fee process is fitted on (YYYY-MM-DD; default: --start). "
                            "The library scenarios use the last 36 months, the window that forecast fees best "
                            "(benchmarks/backtest_market.py --fees).", metavar="DATE")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print every fitted figure as JSON.")] = False,
):
    """Fit the market model on real data and print a YAML `market:` block to paste into a scenario."""
    import datetime as dt

    from ..btc_data import data_file as user_data_file
    from ..calibration import calibrate as fit

    data_file = user_data_file() if data_file is None else data_file
    try:
        if price_model not in ("merton", "gbm"):
            raise PivotsimError(f"--price-model: {price_model!r} is not allowed; must be merton or gbm")
        dates = []
        for name, text in (("--start", start), ("--end", end)) + ((("--fee-start", fee_start),) if fee_start else ()):
            try:
                dates.append(dt.date.fromisoformat(text))
            except ValueError:
                raise PivotsimError(f"{name}: {text!r} is not allowed; must be a date YYYY-MM-DD") from None
        result = fit(data_file, dates[0], dates[1], fee_start=dates[2] if fee_start else None)
    except PivotsimError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2, default=str))
        return
    typer.echo(result.to_yaml(price_model), nl=False)
