"""``pivotsim export``: the model workbook of a scenario (``.xlsx``)."""

from pathlib import Path
from typing import Annotated, List, Optional

import typer

from ..errors import PivotsimError
from ..defaults import DEFAULT_PATHS, DEFAULT_SEED
from .app import ThreadsOption, app, fail, load, progress_bar, stderr, stdout
from .checks import check_seed


@app.command()
def export(
    scenario: Annotated[str, typer.Argument(help="Scenario YAML file, or a bundled deal (iren).", metavar="PATH")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Excel workbook to write (.xlsx).",
                                         metavar="PATH")],
    paths: Annotated[int, typer.Option("--paths", help="Monte Carlo paths.", metavar="N")] = DEFAULT_PATHS,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same numbers).",
                                      metavar="N")] = DEFAULT_SEED,
    set_: Annotated[Optional[List[str]], typer.Option(
        "--set", help="Override a scenario value: dotted.key=value (repeatable).", metavar="KEY=VALUE")] = None,
    threads: ThreadsOption = None,
):
    """Write the model workbook: assumptions, monthly cash flows, live NPV/IRR/MIRR/payback formulas."""
    from ..output.excel import check_workbook_path, write_workbook
    from ..runs import run as run_scenario
    try:
        check_seed(seed)
        check_workbook_path(output, option="--output")  # before any simulation
        loaded = load(scenario, set_ or ())
        bar, task = progress_bar(stderr.is_terminal)
        if bar is not None:
            with bar:
                result = run_scenario(loaded, paths=paths, seed=seed, threads=threads,
                                      progress=lambda d, t: bar.update(task, completed=d, total=t))
        else:
            result = run_scenario(loaded, paths=paths, seed=seed, threads=threads)
        written = write_workbook(result, output)
    except PivotsimError as exc:
        fail(str(exc))
    stdout.print(f"Excel workbook: {written}")
