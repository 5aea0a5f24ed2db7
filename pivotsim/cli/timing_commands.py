"""``pivotsim timing``: keep mining, convert now, or convert later (the switching option, by LSM)."""

import json
from typing import TYPE_CHECKING, Annotated, List, Optional

import typer

from ..defaults import DEFAULT_SEED, DEFAULT_TIMING_PATHS
from ..errors import PivotsimError
from ..formatting import money, pct
from .tables import new_table, print_table
from .app import ThreadsOption, app, command_line, fail, first_run_notice, load, stdout
from .checks import check_output_folder, check_seed

if TYPE_CHECKING:
    from rich.table import Table


def timing_table(summary: dict) -> "Table":
    """The headline values of the switching option."""
    table = new_table(title=f"{summary['scenario']}: keep mining, convert now, or later "
                            f"({summary['site_mw']:,.0f} MW, {summary['horizon_months']} months, "
                            f"{summary['paths']:,} + {summary['fit_paths']:,} fit paths, seed {summary['seed']})",
                      title_justify="left")
    table.add_column("Policy")
    table.add_column("Value (PV, pre-tax)", justify="right")
    table.add_column("± s.e.", justify="right")
    table.add_row("Mine forever", money(summary["value_mine_forever_usd"]), money(summary["value_mine_forever_se_usd"]))
    table.add_row("Convert everything now", money(summary["value_convert_now_usd"]),
                  money(summary["value_convert_now_se_usd"]))
    table.add_row("Optimal policy (LSM, independent paths)", money(summary["value_optimal_usd"]),
                  money(summary["value_optimal_se_usd"]))
    table.add_row("Option value of waiting", money(summary["option_value_of_waiting_usd"]),
                  money(summary["option_value_of_waiting_se_usd"]))
    within = summary["prob_convert_within_years"]
    lines = [f"P(first conversion within 1 / 2 / 5 years) = {pct(within['1'])} / {pct(within['2'])} / "
             f"{pct(within['5'])}"]
    for i, block in enumerate(summary["blocks"], start=1):
        median = block["median_conversion_month"]
        lines.append(f"block {i}: {block['mw']:,.0f} MW, converts on {pct(block['prob_convert'])} of paths"
                     + (f", median month {median:.0f}" if median is not None else ""))
    lines.append(f"basis: {summary['basis']} order {summary['basis_order']}; in-sample (fit set) "
                 f"{money(summary['value_optimal_in_sample_usd'])}")
    table.caption = "\n".join(lines)
    table.caption_justify = "left"
    return table


@app.command()
def timing(
    scenario: Annotated[str, typer.Argument(help="Scenario YAML file with an `option:` section.", metavar="PATH")],
    paths: Annotated[int, typer.Option("--paths", help="Pricing paths (the fit set has as many, independent).", metavar="N")]
    = DEFAULT_TIMING_PATHS,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same numbers).")] = DEFAULT_SEED,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON only.")] = False,
    out: Annotated[str, typer.Option("--out", help="Parent folder of the timing folder.", metavar="PATH")] = "runs",
    set_: Annotated[Optional[List[str]], typer.Option(
        "--set", help="Override a scenario value: dotted.key=value (repeatable).", metavar="KEY=VALUE")] = None,
    threads: ThreadsOption = None,
):
    """Value converting a mining site to AI hosting now, later or never (least-squares Monte Carlo)."""
    from ..analysis.timing import timing as value_timing_option
    from ..output.timing import write_timing_folder

    try:
        if paths < 2:
            raise PivotsimError(f"--paths: {paths} is not allowed; must be >= 2")
        check_seed(seed)
        check_output_folder(out, "--out")
        loaded = load(scenario, set_ or ())
        first_run_notice()
        result = value_timing_option(loaded, paths=paths, seed=seed, threads=threads)
        folder = write_timing_folder(result, loaded, out, command=command_line())
    except PivotsimError as exc:
        fail(str(exc))
    summary = result.summary()
    if as_json:
        typer.echo(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    print_table(stdout, timing_table(summary))
    stdout.print(f"Timing folder: {folder}")
