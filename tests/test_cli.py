"""The command line through typer's CliRunner: run, --json, validate, schema, bad input."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pivotsim.cli import app

runner = CliRunner()

SUMMARY_BASE = {"npv_usd", "irr", "payback_months", "discounted_payback_months", "peak_funding_usd",
                "total_revenue_usd", "ebitda_margin", "revenue_usd_per_kwh"}
STATS = {"mean", "std", "p5", "p25", "p50", "p75", "p95"}


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_run_writes_run_folder(iren_path, tmp_path):
    res = invoke("run", iren_path, "--paths", 300, "--seed", 3, "--out", tmp_path)
    assert res.exit_code == 0, res.output
    assert "Bitcoin mining" in res.output and "AI hosting" in res.output
    assert "P(AI NPV > bitcoin NPV)" in res.output
    folders = [p for p in tmp_path.iterdir()]
    assert len(folders) == 1 and folders[0].name.startswith("iren-")
    names = {p.name for p in folders[0].iterdir()}
    assert {"summary.json", "cashflows_base.csv", "scenario.resolved.yaml", "manifest.json"} <= names
    assert "path_metrics.parquet" in names
    manifest = json.loads((folders[0] / "manifest.json").read_text())
    assert manifest["seed"] == 3 and manifest["paths"] == 300
    import hashlib
    assert manifest["input_sha256"] == hashlib.sha256(Path(iren_path).read_bytes()).hexdigest()
    # the resolved scenario is itself a valid scenario
    res2 = invoke("validate", folders[0] / "scenario.resolved.yaml")
    assert res2.exit_code == 0, res2.output
    # a second run never overwrites the first
    invoke("run", iren_path, "--paths", 10, "--out", tmp_path)
    assert len(list(tmp_path.iterdir())) == 2


def test_run_json_contract(iren_path, tmp_path):
    res = runner.invoke(app, ["run", str(iren_path), "--paths", "200", "--json", "--out", str(tmp_path),
                              "--no-figures"])
    assert res.exit_code == 0
    summary = json.loads(res.stdout)  # nothing but JSON on stdout
    assert {"scenario", "seed", "paths", "valuation_date", "horizon_months", "market",
            "bitcoin", "ai", "comparison"} <= set(summary)
    assert SUMMARY_BASE | {"hashprice_usd_per_ph_day", "btc_mined", "cash_cost_per_btc_spot_usd",
                           "cash_cost_per_btc_avg_usd", "all_in_cost_per_btc_usd", "revenue_per_kwh_spot_usd",
                           "revenue_per_kwh_avg_usd"} <= set(summary["bitcoin"]["base"])
    at = summary["market"]["at_valuation"]
    assert {"btc_price_usd", "hashprice_usd_per_ph_day", "network_hashrate_eh_s", "block_height",
            "next_halving"} <= set(at)
    assert {"p5", "p50", "p95"} <= set(at["btc_price_usd"]) and {"expected", "p5", "p95"} <= set(at["next_halving"])
    assert SUMMARY_BASE | {"contract_value_usd", "annual_revenue_usd", "prepayment_usd"} \
        <= set(summary["ai"]["base"])
    for business in ("bitcoin", "ai"):
        assert STATS <= set(summary[business]["monte_carlo"]["npv_usd"])
        assert 0 <= summary[business]["monte_carlo"]["prob_npv_negative"] <= 1
    assert STATS <= set(summary["comparison"]["npv_difference_usd"])
    assert 0 <= summary["comparison"]["prob_ai_beats_bitcoin"] <= 1
    assert "NaN" not in res.stdout
    folder = next(tmp_path.iterdir())
    assert json.loads((folder / "summary.json").read_text()) == summary


def test_set_override_changes_result(iren_path, tmp_path):
    a = json.loads(invoke("run", iren_path, "--paths", 50, "--json", "--out", tmp_path, "--no-figures").stdout)
    b = json.loads(invoke("run", iren_path, "--paths", 50, "--json", "--out", tmp_path, "--no-figures",
                          "--set", "market.btc_price_usd=200000").stdout)
    assert b["bitcoin"]["base"]["total_revenue_usd"] > a["bitcoin"]["base"]["total_revenue_usd"]
    assert b["ai"]["base"]["npv_usd"] == a["ai"]["base"]["npv_usd"]
    # prepayment written as a percentage on the command line
    c = json.loads(invoke("run", iren_path, "--paths", 50, "--json", "--out", tmp_path, "--no-figures",
                          "--set", "ai.prepayment_share=10%").stdout)
    assert c["ai"]["base"]["prepayment_usd"] == pytest.approx(0.97e9)


def test_validate_schema_version(iren_path):
    assert invoke("validate", iren_path).exit_code == 0
    res = invoke("schema")
    schema = json.loads(res.stdout)
    assert {"scenario", "site", "bitcoin", "market", "ai", "finance"} <= set(schema["properties"])
    res = invoke("--version")
    assert res.exit_code == 0 and res.stdout.startswith("pivotsim ")


def _variant(iren_path, tmp_path, old, new, name="bad.yaml"):
    text = Path(iren_path).read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


BAD = [
    # (old text, new text, expected fragments in the one-line error)
    ("  grid_power_mw:\n", "  grid_power_mww:\n", ["site.grid_power_mww", "unknown field", "grid_power_mw"]),
    ("    value: 0.035\n    dist: lognormal", "    value: cheap\n    dist: lognormal",
     ["site.power_price_usd_per_kwh", "'cheap'", "number"]),
    ("    value: 240\n", "    value: -240\n", ["site.grid_power_mw", "-240", "> 0"]),
    ("    value: \"20%\"", "    value: \"120%\"", ["ai.prepayment_share", "1.2", "<= 1"]),
    ("  term_months:\n    value: 60", "  term_months:\n    value: 0", ["ai.term_months", "0", "> 0"]),
    ("  pue:\n    value: 1.05", "  pue: [1.05\n", ["YAML syntax error"]),
    ("  fleet: new", "  fleet: !!python/object/apply:os.system ['echo hi']",
     ["python/object", "not allowed"]),
]


@pytest.mark.parametrize("old,new,fragments", BAD)
def test_bad_input_one_line_exit_2(iren_path, tmp_path, old, new, fragments):
    bad = _variant(iren_path, tmp_path, old, new)
    out = tmp_path / "runs"
    for args in (("validate", bad), ("run", bad, "--paths", 10, "--out", out)):
        res = invoke(*args)
        assert res.exit_code == 2, res.output
        err = res.stderr.strip()
        assert len(err.splitlines()) == 1, err
        assert "Traceback" not in res.output
        assert str(bad) in err
        for fragment in fragments:
            assert fragment in err, (fragment, err)
    assert not out.exists() or not any(out.iterdir())


def test_error_names_yaml_line(iren_path, tmp_path):
    bad = _variant(iren_path, tmp_path, "    value: 240\n", "    value: -240\n")
    line = next(i for i, l in enumerate(bad.read_text().splitlines(), 1) if "value: -240" in l)
    assert f"{bad}:{line}:" in invoke("validate", bad).stderr


@pytest.mark.parametrize("content,fragment", [("", "empty"), ("- a\n", "mapping")])
def test_empty_and_non_mapping_files(tmp_path, content, fragment):
    path = tmp_path / "x.yaml"
    path.write_text(content)
    res = invoke("run", path, "--out", tmp_path / "runs")
    assert res.exit_code == 2 and fragment in res.stderr and not (tmp_path / "runs").exists()


def test_missing_file(tmp_path):
    res = invoke("run", tmp_path / "nope.yaml", "--out", tmp_path / "runs")
    assert res.exit_code == 2 and "file not found" in res.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("setting,fragment", [
    ("ai.term_months=0", "ai.term_months"),
    ("ai.no_such_field=1", "unknown field"),
    ("market.btc_price_usd=abc", "market.btc_price_usd"),
    ("noequals", "dotted.key=value"),
    ("scenario.horizon_months=60", "shorter than the AI contract"),
])
def test_bad_set_override(iren_path, tmp_path, setting, fragment):
    res = invoke("run", iren_path, "--paths", 10, "--out", tmp_path / "runs", "--set", setting)
    assert res.exit_code == 2, res.output
    assert "--set" in res.stderr and fragment in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("paths", ["0", "-5"])
def test_bad_paths(iren_path, tmp_path, paths):
    res = invoke("run", iren_path, "--paths", paths, "--out", tmp_path / "runs")
    assert res.exit_code == 2 and "paths" in res.stderr


@pytest.mark.parametrize("threads", ["0", "-1"])
def test_bad_threads(iren_path, tmp_path, threads):
    res = invoke("run", iren_path, "--paths", 10, "--threads", threads, "--out", tmp_path / "runs")
    assert res.exit_code == 2 and "threads" in res.stderr and "Traceback" not in res.output
    assert len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()


def test_threads_change_no_number(iren_path, tmp_path):
    """--threads 1 and --threads 2 write the same summary (chunks are evaluated independently)."""
    summaries = []
    for threads in ("1", "2"):
        res = invoke("run", iren_path, "--paths", 4500, "--threads", threads, "--json", "--no-figures",
                     "--out", tmp_path / threads)
        assert res.exit_code == 0, res.output
        summaries.append(json.loads(res.stdout))
    for summary in summaries:
        summary.pop("execution", None)
        summary.pop("run_folder", None)
    assert summaries[0] == summaries[1]


def test_path_metrics_parquet_is_the_path_metrics_frame(iren_path, tmp_path):
    """The parquet written from the arrays reads back as RunResult.path_metrics(), NaN included."""
    import pandas as pd

    import pivotsim

    result = pivotsim.run(iren_path, paths=2500, seed=11)
    folder = pivotsim.write_run(result, tmp_path, figures=False)
    frame = pd.read_parquet(folder / "path_metrics.parquet")
    expected = result.path_metrics()
    assert expected.isna().any().any()  # some paths have no IRR / payback: the NaN case is exercised
    pd.testing.assert_frame_equal(frame, expected, check_exact=True)


def test_the_command_exits_at_once_with_its_output_flushed_and_code_kept(tmp_path):
    # `python -m pivotsim` leaves without the interpreter's teardown (pivotsim.cli.main): every byte printed
    # still arrives (the same text as in-process), exit codes are kept, and the exit handlers ran (the run's
    # figure worker is gone).
    import os
    import subprocess
    import sys

    root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=root, COLUMNS="100", NO_COLOR="1", PIVOTSIM_FIGURE_WORKERS="1")

    def command(*args):
        return subprocess.run([sys.executable, "-m", "pivotsim", *args], capture_output=True, text=True, env=env,
                              cwd=tmp_path, timeout=300)

    listed = command("scenarios")
    assert listed.returncode == 0
    in_process = CliRunner().invoke(app, ["scenarios"])
    last_words = " ".join(in_process.output.split()[-12:])  # the closing sentence, however the lines wrap
    assert " ".join(listed.stdout.split()).endswith(last_words)
    bad = command("run", "nosuch.yaml")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    ran = command("run", "iren", "--paths", "300", "--out", str(tmp_path / "runs"))
    assert ran.returncode == 0, ran.stderr
    assert "Run folder:" in ran.stdout
    folder = next((tmp_path / "runs").iterdir())
    assert len(list(folder.glob("*.png"))) == 8
    left = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if b"pivotsim.output.figure_worker" in cmdline.read_bytes():
                left.append(cmdline.parent.name)
        except OSError:  # a process that ended meanwhile
            continue
    assert left == []
