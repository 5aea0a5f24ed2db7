"""``pivotsim sweep | sensitivity | breakeven``: parameters moved on common random numbers."""

import json
from typing import TYPE_CHECKING, Annotated, List, Optional

import typer

from ..errors import PivotsimError
from ..formatting import compact_money, metric_text, metric_words, reference_level  # as the PDF
from ..defaults import DEFAULT_PATHS, DEFAULT_SEED
from .checks import check_output_folder, check_seed
from .tables import new_table, print_table
from .app import (
    SweepWorkersOption,
    app,
    command_line,
    fail,
    first_run_notice,
    load,
    stderr,
    stdout,
    with_progress,
)

if TYPE_CHECKING:
    from rich.table import Table


#: ``--debt-at-close`` of sweep, sensitivity (tornado) and breakeven
DebtAtCloseOption = Annotated[bool, typer.Option(
    "--debt-at-close", help="Keep the debt as sized on the scenario's own base case while inputs move (a "
                            "delay or price found after close); default: sized at each point, as run --set.")]


def sweep_table(result) -> "Table":
    """The sweep in the terminal: one row per point (1 parameter) or per row of the grid (2)."""
    import numpy as np

    from ..analysis.metrics import PROB_AI_BEATS

    metric = result.metrics[0]
    frame = result.frame
    caption = (f"{result.paths:,} paths per point, seed {result.seed}, common random numbers"
               if result.paths else "base case")
    if len(result.params) == 1:
        path = result.params[0][0]
        table = new_table(title=f"{result.scenario.name}: sweep of {path}", title_justify="left", caption=caption)
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
            table.add_row(metric_text(path, row[path]),
                          *(metric_text(m, row[c]) for c, _, m in columns))
        if not metric.is_scalar:
            table.title += f" -> {metric.path}"
        return table
    (path1, v1), (path2, v2) = result.params
    grid = result.grid(metric)
    name = result.column(metric)
    table = new_table(title=f"{result.scenario.name}: {name}\nrows {path1}, columns {path2}", title_justify="left",
                      caption=caption)
    table.add_column(path1.rpartition(".")[2], justify="right")
    table.add_column(f"at {metric_text(path2, v2[0])}", justify="right")
    table.add_column(f"at {metric_text(path2, v2[-1])}", justify="right")
    level, level_text = reference_level(name)  # (a DSCR is read against 1.00x, the rest against zero)
    table.add_column(f"{path2.rpartition('.')[2]} where it is {level_text}", justify="right")
    for i, value in enumerate(v1):
        row = grid[i]
        crossings = []
        for j in range(len(v2) - 1):
            a, b = row[j], row[j + 1]
            if np.isfinite(a) and np.isfinite(b) and (a < level) != (b < level) and a != b:
                crossings.append(v2[j] + (v2[j + 1] - v2[j]) * (level - a) / (b - a))
        where = ", ".join(metric_text(path2, c) for c in crossings[:3]) or "no crossing"
        table.add_row(metric_text(path1, value), metric_text(name, row[0]), metric_text(name, row[-1]), where)
    return table


@app.command()
def sweep(
    scenario: Annotated[str, typer.Argument(help="Scenario YAML file, or a bundled deal (iren).", metavar="PATH")],
    param: Annotated[List[str], typer.Option(
        "--param", help="path=start:stop:count or path=a,b,c (once or twice).", metavar="KEY=START:STOP:COUNT")],
    metric: Annotated[Optional[List[str]], typer.Option(
        "--metric", help="Summary path, e.g. comparison.npv_difference_usd, ai.monte_carlo.npv_usd.p50; with "
                   "ai.debt: ai.base.equity.irr, ai.monte_carlo.debt.prob_covenant_breach (repeatable).",
        metavar="KEY")] = None,
    paths: Annotated[int, typer.Option("--paths", help="Monte Carlo paths per point.", metavar="N")] = 2_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (the same draws at every point).")] = DEFAULT_SEED,
    out: Annotated[str, typer.Option("--out", help="Parent folder of the sweep folder.", metavar="PATH")] = "runs",
    set_: Annotated[Optional[List[str]], typer.Option("--set", help="Override a scenario value first.", metavar="KEY=VALUE")] = None,
    threads: SweepWorkersOption = None,
    debt_at_close: DebtAtCloseOption = False,
):
    """Sweep one or two parameters on a grid with common random numbers; CSV, PNG and a table."""
    from ..analysis.metrics import NPV_DIFFERENCE
    from ..analysis.sweep import sweep as run_sweep
    from ..output.sensitivity_folders import write_result  # matplotlib: only for sweeps

    try:
        check_seed(seed)
        check_output_folder(out, "--out")
        loaded = load(scenario, set_ or ())
        result = with_progress("sweeping", stderr.is_terminal, lambda progress: run_sweep(
            loaded, param, metric or [NPV_DIFFERENCE], paths=paths, seed=seed, progress=progress, threads=threads,
            debt_at_close=debt_at_close))
        folder = write_result(result, out, command=command_line())
    except PivotsimError as exc:
        fail(str(exc))
    except OSError as exc:  # the folder changed between the check and the write
        fail(f"--out: cannot write into {out}: {exc.strerror or exc}")
    print_table(stdout, sweep_table(result))
    stdout.print(f"Sweep folder: {folder}")




def short_text(path: str, x) -> str:
    """A narrow cell: compact money for amounts ($141M), else as :func:`metric_text`."""
    if "_usd" not in path or "per_" in path:
        return metric_text(path, x)
    return compact_money(x) or "n/a"


def tornado_table(result) -> "Table":
    """Tornado in the terminal: each input's range and the three base-case NPVs at its ends."""
    from ..analysis.metrics import TORNADO_METRICS

    base = result.base
    table = new_table(title=f"{result.scenario.name}: tornado, ranked by {result.metric.path}",
                      title_justify="left",
                      caption="each input moved alone to its low / high value, others at base; NPVs (base case) at low / high "
                              f"(base: BTC {short_text('x_usd', base['bitcoin.base.npv_usd'])}, "
                              f"AI {short_text('x_usd', base['ai.base.npv_usd'])}, "
                              f"AI - BTC {short_text('x_usd', base['comparison.base.npv_difference_usd'])})")
    table.add_column("Input", overflow="fold")
    table.add_column("Low / high", justify="right")
    short = {"bitcoin.base.npv_usd": "BTC NPV", "ai.base.npv_usd": "AI NPV",
             "comparison.base.npv_difference_usd": "AI - BTC"}
    shown = list(TORNADO_METRICS) + ([result.metric.path] if result.metric.path not in TORNADO_METRICS else [])
    for m in shown:
        table.add_column(short.get(m) or metric_words(m), justify="right")
    table.add_column("Swing", justify="right")
    long = result.all_metrics
    for row in result.table.itertuples():
        cells = []
        for m in shown:
            r = long[(long.input == row.input) & (long.metric == m)].iloc[0]
            cells.append(f"{short_text(m, r.metric_low)} / {short_text(m, r.metric_high)}")
        table.add_row(row.input, f"{short_text(row.input, row.low_value)} / {short_text(row.input, row.high_value)}"
                      if row.input.endswith("_usd") else f"{row.low_value:.4g} / {row.high_value:.4g}", *cells,
                      short_text(result.metric.path, row.swing))
    return table


def indices_table(result) -> "Table":
    """Sobol' or Morris indices in the terminal."""
    if result.method == "sobol":
        table = new_table(title=f"Sobol' indices of {result.metric} ({result.evaluations:,} evaluations, "
                                f"{result.conf_level:.0%} intervals)", title_justify="left")
        for col in ("Factor", "S1", "+/-", "ST", "+/-"):
            table.add_column(col, justify="left" if col == "Factor" else "right")
        for r in result.table.itertuples():
            table.add_row(r.factor, f"{r.S1:.3f}", f"{r.S1_conf:.3f}", f"{r.ST:.3f}", f"{r.ST_conf:.3f}")
    else:
        table = new_table(title=f"Morris screening of {result.metric} ({result.evaluations:,} evaluations; "
                                "effects per unit quantile)", title_justify="left")
        for col in ("Factor", "mu*", "+/-", "mu", "sigma"):
            table.add_column(col, justify="left" if col == "Factor" else "right")
        for r in result.table.itertuples():
            table.add_row(r.factor, *(metric_text(result.metric, v)
                                      for v in (r.mu_star, r.mu_star_conf, r.mu, r.sigma)))
    table.caption = "factors: " + "; ".join(f"{f.path} ~ {f.dist!r}" for f in result.factors)
    return table


def drivers_table(drivers, scenario_name: str) -> "Table":
    """Contribution to the variance of the NPV difference, from the run's paths, in the terminal."""
    method = "rank regression" if drivers.method == "rank" else "regression"
    table = new_table(title=f"{scenario_name}: drivers of the NPV difference (AI minus mining), {method} on "
                            f"{drivers.paths:,} Monte Carlo paths", title_justify="left",
                      caption=f"R² {drivers.r_squared:.1%}; shares are Shapley values of R² (they add up to it); "
                              f"{drivers.unexplained:.1%} not explained linearly. Coefficient: standardised, "
                              "+ raises the AI advantage.")
    for col in ("Driver", "Input", "Share of variance", "Coefficient"):
        table.add_column(col, justify="right" if col in ("Share of variance", "Coefficient") else "left")
    for d in drivers.drivers:
        what = f"{len(d.members)} market summaries" if d.is_group else d.name
        coefficient = "group" if d.is_group else f"{d.coefficient:+.3f}"
        table.add_row(d.label, what, f"{d.contribution:.1%}", coefficient)
    return table


def _drivers_command(scenario: str, method: str, set_, paths: int, seed: int, out: str) -> None:
    from ..output.sensitivity_folders import write_drivers
    from ..runs import run

    try:
        check_seed(seed)
        check_output_folder(out, "--out")
        loaded = load(scenario, set_ or ())
        first_run_notice()
        result = with_progress("Monte Carlo", stderr.is_terminal,
                               lambda progress: run(loaded, paths=paths, seed=seed, progress=progress))
        drivers = result.drivers(method)
        if drivers is None:
            raise PivotsimError(f"--paths: {paths:,} is too few for a regression on the paths; use at least 20")
        folder = write_drivers(drivers, loaded, out, command=command_line())
    except PivotsimError as exc:
        fail(str(exc))
    print_table(stdout, drivers_table(drivers, loaded.name))
    stdout.print(f"Result folder: {folder}")


@app.command()
def sensitivity(
    scenario: Annotated[str, typer.Argument(help="Scenario YAML file, or a bundled deal (iren).", metavar="PATH")],
    method: Annotated[str, typer.Option(
        "--method", help="tornado, sobol or morris (inputs moved), or regression / rank (drivers read from the "
                         "Monte Carlo's own paths).", metavar="METHOD")] = "tornado",
    factor: Annotated[Optional[List[str]], typer.Option(
        "--factor", help="path or path=low:high (repeatable); default: every number (tornado) "
                         "or the scenario's distributions (sobol, morris).", metavar="KEY[=LOW:HIGH]")] = None,
    metric: Annotated[str, typer.Option(
        "--metric", help="Base-case metric, e.g. ai.base.npv_usd; with ai.debt: ai.base.equity.npv_usd, "
                         "ai.base.debt.min_dscr.", metavar="KEY")] = "comparison.base.npv_difference_usd",
    delta: Annotated[float, typer.Option("--delta", help="Relative move of plain numbers.")] = 0.2,
    quantiles: Annotated[str, typer.Option("--quantiles", help="Tornado low:high quantiles of distributions.", metavar="LOW:HIGH")]
    = "0.1:0.9",
    samples: Annotated[Optional[int], typer.Option(
        "--samples", help="Sobol' base sample (power of 2, default 256) or Morris trajectories (50).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the Sobol'/Morris sample or of the run.")]
    = DEFAULT_SEED,
    paths: Annotated[int, typer.Option("--paths", help="Monte Carlo paths (regression, rank).", metavar="N")]
    = DEFAULT_PATHS,
    out: Annotated[str, typer.Option("--out", help="Parent folder of the result folder.", metavar="PATH")] = "runs",
    set_: Annotated[Optional[List[str]], typer.Option("--set", help="Override a scenario value first.",
                                                      metavar="KEY=VALUE")] = None,
    debt_at_close: DebtAtCloseOption = False,
):
    """Tornado and spider (one at a time), Sobol'/Morris indices (global, SALib), or drivers from the paths."""
    from ..analysis.parameters import parse_range
    from ..analysis.global_indices import check_debt_at_close, sensitivity as run_sensitivity
    from ..output.sensitivity_folders import write_result  # matplotlib: only for analyses

    from ..drivers import DRIVER_METHODS  # pandas: only for the commands that need it

    if method in DRIVER_METHODS:
        try:
            check_debt_at_close(method, debt_at_close)  # (the other methods check it in the API)
        except PivotsimError as exc:
            fail(str(exc))
        return _drivers_command(scenario, method, set_, paths, seed, out)
    try:
        if method not in ("tornado", "sobol", "morris"):
            raise PivotsimError(f"--method {method!r} is not allowed; must be tornado, sobol, morris, "
                                "regression or rank")
        q = parse_range(quantiles, option="--quantiles")
        check_seed(seed)
        check_output_folder(out, "--out")
        loaded = load(scenario, set_ or ())
        result = with_progress(method, stderr.is_terminal, lambda progress: run_sensitivity(
            loaded, method, factors=factor, metric=metric, delta=delta, quantiles=q, samples=samples,
            seed=seed, progress=progress, debt_at_close=debt_at_close))
        folder = write_result(result, out, command=command_line())
    except PivotsimError as exc:
        fail(str(exc))
    except OSError as exc:  # the folder changed between the check and the write
        fail(f"--out: cannot write into {out}: {exc.strerror or exc}")
    if method == "tornado":
        print_table(stdout, tornado_table(result))
        for path, reason in result.skipped:
            stdout.print(f"[dim]skipped {path}: {reason}[/dim]")
    else:
        print_table(stdout, indices_table(result))
    stdout.print(f"Result folder: {folder}")


@app.command()
def breakeven(
    scenario: Annotated[str, typer.Argument(help="Scenario YAML file, or a bundled deal (iren).", metavar="PATH")],
    param: Annotated[str, typer.Option("--param", help="Dotted path of the number to solve for.", metavar="KEY")],
    target: Annotated[str, typer.Option(
        "--target", help="metric=value, e.g. comparison.npv_difference_usd=0; with ai.debt: "
                         "ai.base.debt.min_dscr=1.05, ai.base.equity.npv_usd=0.", metavar="KEY=VALUE")],
    range_: Annotated[Optional[str], typer.Option(
        "--range", help="Search range low:high (default: value/10 to 10 x value).", metavar="LOW:HIGH")] = None,
    stochastic: Annotated[bool, typer.Option(
        "--stochastic", help="Solve the Monte Carlo mean (common random numbers), not the base case.")] = False,
    paths: Annotated[int, typer.Option("--paths", help="Monte Carlo paths with --stochastic.", metavar="N")] = 2_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed with --stochastic.")] = DEFAULT_SEED,
    set_: Annotated[Optional[List[str]], typer.Option("--set", help="Override a scenario value first.", metavar="KEY=VALUE")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON only.")] = False,
    debt_at_close: DebtAtCloseOption = False,
):
    """Solve for the value of a parameter at which a metric reaches a target (brentq), then re-verify."""
    from ..analysis.breakeven import breakeven as solve

    try:
        check_seed(seed)
        loaded = load(scenario, set_ or ())
        first_run_notice()
        result = solve(loaded, param, target, range_, stochastic=stochastic, paths=paths, seed=seed,
                       debt_at_close=debt_at_close)
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
        change = f", {result.value / result.base_value - 1:+.1%} from the scenario's {metric_text(result.param, result.base_value)}"
    stdout.print(f"[bold]Break-even {result.param} = {metric_text(result.param, result.value)}[/bold]{change}")
    stdout.print(f"  solved   {m} = {result.target:g} ({basis}) by brentq on "
                 f"{metric_text(result.param, result.low)}..{metric_text(result.param, result.high)}, where it goes "
                 f"{metric_text(m, result.metric_low)} -> {metric_text(m, result.metric_high)}; "
                 f"{result.iterations} evaluations")
    stdout.print(f"  re-run   pivotsim run --set {result.param}={result.value!r} gives {m} = "
                 f"{result.recomputed:.6g} (target {result.target:g}, tolerance {result.tolerance:.3g}): verified")
