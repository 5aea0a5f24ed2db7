"""Tables a person can read: whole figures at 80 columns, whole deal names at 120, titles on one line, plain help.

Rendered with rich's Console at fixed widths.  Origins: the figures are the
run's own summary (``RunResult.summary()``) formatted by pivotsim.formatting,
the deal names the library's labels; the widths are issue 18's.
"""

from __future__ import annotations

import io
import re
import os
import subprocess
import sys

import pytest
import typer
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from typer.testing import CliRunner

import pivotsim
from pivotsim.cli import app, compare_commands
from pivotsim.cli.run_commands import summary_tables
from pivotsim.cli.tables import fit_table, print_table, stacked
from pivotsim.formatting import money, pct
from .conftest import forked_children

runner = CliRunner()


def render(width: int, tables) -> str:
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    for table in tables:
        print_table(console, table)
    return console.export_text()


def assert_fits(text: str, width: int):
    assert "…" not in text, text
    assert max(cell_len(line.rstrip()) for line in text.splitlines()) <= width, text


@pytest.fixture(scope="module")
def summary(iren):
    return pivotsim.run(iren, paths=2_000).summary()


def test_run_tables_at_80_columns_keep_every_figure_whole(summary):
    text = render(80, summary_tables(summary))
    assert_fits(text, 80)
    for business in ("bitcoin", "ai"):
        npv = summary[business]["monte_carlo"]["npv_usd"]
        for stat in ("p5", "p50", "p95", "mean", "cvar5"):
            assert money(npv[stat]) in text, (business, stat)
        assert pct(summary[business]["monte_carlo"]["prob_npv_negative"]) in text
        assert money(summary[business]["base"]["npv_usd"]) in text


def test_title_is_one_line_at_100_columns(summary):
    title = (f"{summary['scenario']}: base case (valuation {summary['valuation_date']}, "
             f"{summary['horizon_months']} months)")
    assert 80 < len(title) <= 100  # the IREN title: it wrapped at the table's width before
    base = [t for t in summary_tables(summary) if str(t.title).startswith(summary["scenario"])]
    lines = render(100, base).splitlines()
    assert lines[0].rstrip() == title


def test_wide_terminal_keeps_the_wide_layout(summary):
    npv = [t for t in summary_tables(summary) if str(t.title).startswith("Monte Carlo NPV")]
    text = render(120, npv)
    header = next(line for line in text.splitlines() if "p5" in line)
    assert "p50" in header and "p95" in header  # statistics across ...
    assert any(line.startswith("│ Bitcoin mining") for line in text.splitlines())  # ... businesses down


def test_stacked_transposes():
    table = Table("", "p5", "p50")
    table.add_row("Mining", "-$407.14M", "-$174.61M")
    table.add_row("AI", "$1.00M", "$2.00M")
    out = stacked(table)
    assert [str(c.header) for c in out.columns] == ["", "Mining", "AI"]
    assert list(out.columns[0].cells) == ["p5", "p50"]
    assert list(out.columns[1].cells) == ["-$407.14M", "-$174.61M"]


def test_fit_table_leaves_a_fitting_table_alone():
    table = Table("a", "b")
    table.add_row("1", "2")
    assert fit_table(table, 80) is table


def test_compare_at_120_columns_shows_whole_deal_names(monkeypatch):
    console = Console(width=120, record=True, file=io.StringIO(), color_system=None)
    monkeypatch.setattr(compare_commands, "stdout", console)
    deals = ["iren", "cipher_aws", "cipher_fluidstack", "terawulf_fluidstack", "core_scientific_coreweave",
             "galaxy_coreweave", "iren_mining"]
    res = runner.invoke(app, ["compare", *deals, "--paths", "200", "--no-plot"])
    assert res.exit_code == 0, res.output
    text = console.export_text()
    assert_fits(text, 120)
    for label in ("IREN–Microsoft", "Cipher–AWS", "Cipher–Fluidstack", "TeraWulf–Fluidstack",
                  "Core Scientific–CoreWeave", "Galaxy–CoreWeave", "IREN mining baseline"):
        assert sum(label in line for line in text.splitlines()) >= 2, label  # terms and valuation tables


@pytest.mark.parametrize("command", ["run", "compare", "sweep", "sensitivity", "report", "validate", "init"])
def test_help_has_plain_metavars(command):
    res = runner.invoke(app, [command, "--help"], env={"COLUMNS": "100"}, terminal_width=100)
    assert res.exit_code == 0
    text = res.stdout
    for typed in ("<bool>", "<int>", "<str>", "<float>", "<path>", "<list[str]>", "{"):
        assert typed not in text, (command, typed)
    assert "PATH" in text


def test_run_help_names_the_metavars():
    text = runner.invoke(app, ["run", "--help"], env={"COLUMNS": "100"}, terminal_width=100).stdout
    for option, metavar in (("--paths", "N"), ("--seed", "N"), ("--set", "KEY=VALUE"), ("--out", "PATH")):
        line = next(line for line in text.splitlines() if f"{option} " in line)
        assert f" {metavar} " in line, line


def test_sweep_threads_change_no_number(iren):
    """Points evaluated on two threads (two engines) equal the one-thread sweep to the last digit."""
    from pivotsim.analysis.sweep import sweep

    axes = ["market.btc_price_usd=60000:120000:3", "site.power_price_usd_per_kwh=0.03:0.05:3"]
    one = sweep(iren, axes, paths=300, threads=1)
    two = sweep(iren, axes, paths=300, threads=2)
    assert one.frame.equals(two.frame)
    assert two.computed["points"] == 9


def test_sweep_workers_in_forked_processes_change_no_number(iren, monkeypatch):
    """Two workers as forked processes, or as threads (PIVOTSIM_FORK=0): the same frame, counts and progress."""
    from pivotsim.analysis import forked
    from pivotsim.analysis.sweep import sweep

    if not forked.can_fork():
        pytest.skip("no fork here")
    before = forked_children()
    axes = ["market.btc_price_usd=60000:120000:4", "site.power_price_usd_per_kwh=0.03:0.05:3"]
    seen = []
    in_processes = sweep(iren, axes, paths=300, threads=2, progress=lambda done, total: seen.append((done, total)))
    monkeypatch.setenv("PIVOTSIM_FORK", "0")
    in_threads = sweep(iren, axes, paths=300, threads=2)
    assert in_processes.frame.equals(in_threads.frame)
    assert in_processes.computed == in_threads.computed
    assert sorted(seen) == [(k, 12) for k in range(1, 13)]
    assert forked_children() <= before  # no worker process left


def test_a_bad_point_in_a_forked_worker_is_the_one_line_error(iren):
    """A pair of values that fails only together, reached by the second worker: its error, raised here."""
    from pivotsim.analysis import forked
    from pivotsim.analysis.sweep import sweep
    from pivotsim.errors import PivotsimError

    if not forked.can_fork():
        pytest.skip("no fork here")
    before = forked_children()
    # each value alone fits iren's terms (credits from month 25 of a 60-month term); a 40-month start
    # does not fit a 30-month term: the tenth of the twelve points, in the second worker's stretch
    axes = ["ai.prepayment_credit_start_month=1,2,3,40", "ai.term_months=30,36,48"]
    with pytest.raises(PivotsimError, match="prepayment_credit_start_month=40, ai.term_months=30"):
        sweep(iren, axes, paths=100, threads=2)
    assert forked_children() <= before


def test_piped_output_honours_columns(tmp_path):
    """Piped or redirected, the tables print at 160 columns, or at the width the user sets with COLUMNS."""
    env = {**os.environ, "COLUMNS": "80", "PYTHONPATH": str(pivotsim.__path__[0].rsplit("/", 1)[0])}
    out = subprocess.run([sys.executable, "-m", "pivotsim", "run", "iren", "--paths", "200", "--no-figures",
                          "--out", str(tmp_path)], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert_fits(out.stdout, 80)
    env.pop("COLUMNS")
    wide = subprocess.run([sys.executable, "-m", "pivotsim", "run", "iren", "--paths", "200", "--no-figures",
                           "--out", str(tmp_path)], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert wide.returncode == 0, wide.stderr
    assert max(cell_len(line) for line in wide.stdout.splitlines()) > 80


def _commands(command, path=()):
    yield command, list(path)
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def test_help_keeps_every_bracketed_note():
    """``[default: ...]`` or ``[share]`` in an option's help is text, not rich markup that --help would drop."""
    lost = []
    for command, path in _commands(typer.main.get_command(app)):
        shown = " ".join(runner.invoke(app, [*path, "--help"], env={"COLUMNS": "400"}).output
                         .replace("│", " ").split())
        for param in command.params:
            for note in re.findall(r"\\?\[[^\]]*\]", getattr(param, "help", None) or ""):
                if " ".join(note.replace("\\[", "[").split()) not in shown:
                    lost.append((" ".join(path), param.name, note))
    assert not lost
