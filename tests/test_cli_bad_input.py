"""No input crashes pivotsim: each bad input is one line on stderr, exit code 2, before any simulation.

Origins: the inputs are the cases of issue 18 (a 342-byte alias bomb, a
duplicate key, 2025-13-45, a 23-digit seed, --out on a file or an unwritable
place, report -o unwritable); the allowed seed range is the seed layout's
(numpy SeedSequence from a signed 64-bit number, pivotsim.runs.check_seed).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pivotsim.cli import app

from .test_yaml_text import billion_laughs

runner = CliRunner()
UNWRITABLE = Path("/proc/pivotsim-out")  # a pseudo file system: nobody, root included, creates files there


def one_line_exit_2(res, *fragments):
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    err = [line for line in res.stderr.strip().splitlines() if line.startswith("error:")]
    assert len(err) == 1, res.stderr
    for fragment in fragments:
        assert fragment in err[0], (fragment, err[0])
    return err[0]


@pytest.fixture
def no_simulation(monkeypatch):
    """Fail the test if any command reaches the engine."""
    import importlib
    import pkgutil

    import pivotsim

    # import every module and resolve the lazy exports first, so that no `from ..runs import run`
    # executed while the stand-in is in place keeps it after this test
    for module in pkgutil.walk_packages(pivotsim.__path__, "pivotsim."):
        if not module.name.endswith("__main__"):  # which would run the CLI on pytest's arguments
            importlib.import_module(module.name)
    for name in pivotsim.__all__:
        getattr(pivotsim, name)
    import pivotsim.analysis.compare as compare_module
    import pivotsim.analysis.global_indices as indices_module
    import pivotsim.analysis.note_data as note_data_module  # binds runs.run at import: imported before the patch
    import pivotsim.analysis.sweep as sweep_module
    import pivotsim.runs as runs_module

    def refuse(*args, **kwargs):
        raise AssertionError("a simulation ran before the bad input was reported")

    monkeypatch.setattr(runs_module, "run", refuse)
    monkeypatch.setattr(note_data_module, "run", refuse)
    monkeypatch.setattr(compare_module, "compare", refuse)
    monkeypatch.setattr(sweep_module, "sweep", refuse)
    monkeypatch.setattr(indices_module, "sensitivity", refuse)
    return refuse


def _variant(iren_path, tmp_path, old, new):
    text = Path(iren_path).read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_alias_bomb_exits_2_fast_and_small(tmp_path):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(billion_laughs())
    # measure the child's peak memory from a fresh parent, so no earlier child of this test run counts
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
             f"p = subprocess.run([sys.executable, '-m', 'pivotsim', 'validate', {str(bomb)!r}], "
             "capture_output=True, text=True); "
             "print(p.returncode, time.perf_counter() - t, "
             "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); print(p.stderr.strip())")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60).stdout
    status, seconds, maxrss_kb = out.splitlines()[0].split()
    stderr = out.splitlines()[1:]
    assert int(status) == 2
    assert float(seconds) < 2.0, seconds
    assert int(maxrss_kb) < 300_000, maxrss_kb
    assert len(stderr) == 1 and stderr[0].startswith(f"error: {bomb}:") and "alias" in stderr[0]


def test_duplicate_key_names_key_and_both_lines(iren_path, tmp_path, no_simulation):
    text = Path(iren_path).read_text(encoding="utf-8").splitlines(keepends=True)
    first = next(i for i, line in enumerate(text, 1) if line.startswith("  grid_power_mw:"))
    # a second grid_power_mw written just before the first one: lines first and first + 1
    text.insert(first - 1, "  grid_power_mw: 300\n")
    bad = tmp_path / "dup.yaml"
    bad.write_text("".join(text), encoding="utf-8")
    for args in (["validate", str(bad)], ["run", str(bad), "--out", str(tmp_path / "runs")]):
        err = one_line_exit_2(runner.invoke(app, args), str(bad), "site.grid_power_mw",
                              f"at lines {first} and {first + 1}")
        assert f"{bad}:{first + 1}:" in err
    assert not (tmp_path / "runs").exists()


def test_invalid_date_in_file(iren_path, tmp_path, no_simulation):
    bad = _variant(iren_path, tmp_path, "valuation_date: 2025-11-01", "valuation_date: 2025-13-45")
    one_line_exit_2(runner.invoke(app, ["run", str(bad), "--out", str(tmp_path / "runs")]),
                    "2025-13-45 is not a valid date", str(bad))
    assert not (tmp_path / "runs").exists()


def test_invalid_date_in_set(iren_path, tmp_path, no_simulation):
    one_line_exit_2(runner.invoke(app, ["run", str(iren_path), "--set", "scenario.valuation_date=2025-13-45"]),
                    "--set scenario.valuation_date=2025-13-45: 2025-13-45 is not a valid date")


@pytest.mark.parametrize("seed", ["99999999999999999999999", "-1", str(2 ** 63)])
@pytest.mark.parametrize("command", ["run", "report", "sweep", "compare"])
def test_seed_out_of_range(iren_path, tmp_path, no_simulation, seed, command):
    extra = {"run": [], "report": ["-o", str(tmp_path / "x.pdf")],
             "sweep": ["--param", "market.btc_price_usd=6e4:9e4:2"], "compare": ["--no-plot"]}[command]
    res = runner.invoke(app, [command, str(iren_path), "--seed", seed, *extra])
    one_line_exit_2(res, f"--seed: {seed} is not allowed", "from 0 to 9,223,372,036,854,775,807")


def test_largest_seed_is_allowed(iren_path, tmp_path):
    res = runner.invoke(app, ["run", str(iren_path), "--paths", "50", "--seed", str(2 ** 63 - 1), "--json",
                              "--no-figures", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["seed"] == 2 ** 63 - 1


@pytest.mark.parametrize("command", ["run", "sweep", "sensitivity"])
def test_out_is_a_file(iren_path, tmp_path, no_simulation, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    Path("taken").write_text("keep me")
    extra = ["--param", "market.btc_price_usd=6e4:9e4:2"] if command == "sweep" else []
    for out, fragment in (("taken", "--out: taken is a file"), ("taken/sub", "--out: taken/sub cannot be created")):
        one_line_exit_2(runner.invoke(app, [command, str(iren_path), "--out", out, *extra]), fragment)
    assert Path("taken").read_text() == "keep me" and sorted(p.name for p in Path().iterdir()) == ["taken"]


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("args,fragment", [
    (["run", "{iren}", "--out", str(UNWRITABLE)], f"--out: {UNWRITABLE} (in /proc) is not writable"),
    (["report", "{iren}", "-o", str(UNWRITABLE / "x.pdf")], "--output: folder"),
    (["report", "{iren}", "-o", "/proc/x.pdf"], "--output: /proc/x.pdf is not writable"),
    (["compare", "{iren}", "--csv", "/proc/x.csv", "--no-plot"], "--csv: /proc/x.csv is not writable"),
    (["compare", "{iren}", "--plot", "/proc/x.png"], "--plot: /proc/x.png is not writable"),
])
def test_unwritable_output(iren_path, no_simulation, args, fragment):
    args = [a.replace("{iren}", str(iren_path)) for a in args]
    one_line_exit_2(runner.invoke(app, args), fragment)


@pytest.mark.skipif(sys.platform == "win32" or __import__("os").geteuid() == 0,
                    reason="root writes into read-only folders")
def test_read_only_folder(iren_path, tmp_path, no_simulation):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    one_line_exit_2(runner.invoke(app, ["run", str(iren_path), "--out", str(ro)]), "--out", "not writable")
    one_line_exit_2(runner.invoke(app, ["report", str(iren_path), "-o", str(ro / "x.pdf")]), "--output")


def test_paths_named_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("deals").mkdir()
    err = one_line_exit_2(runner.invoke(app, ["validate", "deals/./missing.yaml"]))
    assert err.startswith("error: deals/./missing.yaml: file not found")


def test_api_argument_names_become_options(iren_path, tmp_path):
    one_line_exit_2(runner.invoke(app, ["run", str(iren_path), "--threads", "0", "--out", str(tmp_path)]),
                    "--threads: 0 is not allowed")
    one_line_exit_2(runner.invoke(app, ["sensitivity", str(iren_path), "--method", "sobol", "--samples", "3",
                                        "--out", str(tmp_path)]), "--samples: 3 is not allowed")
