"""``pivotsim timing`` and ``pivotsim.timing``: the result folder, the JSON keys, one-line errors."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import pivotsim
from pivotsim.analysis.options import MAX_BASIS_ORDER
from pivotsim.cli import app
from pivotsim.scenario.option import MAX_BASIS_ORDER as SCHEMA_MAX_BASIS_ORDER

from .conftest import SCENARIOS

runner = CliRunner()
TIMING = SCENARIOS / "iren_timing.yaml"
KEYS = ("value_mine_forever_usd", "value_convert_now_usd", "value_optimal_usd", "value_optimal_se_usd",
        "option_value_of_waiting_usd", "prob_convert_within_years")


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("timing")
    result = runner.invoke(app, ["timing", str(TIMING), "--paths", "2000", "--seed", "4", "--json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), out


def test_json_and_folder_hold_the_headline_keys(cli_run):
    summary, out = cli_run
    for key in KEYS:
        assert key in summary
    assert set(summary["prob_convert_within_years"]) == {"1", "2", "5"}
    # option value of waiting = optimal minus the better static policy
    best = max(summary["value_mine_forever_usd"], summary["value_convert_now_usd"])
    assert summary["option_value_of_waiting_usd"] == pytest.approx(summary["value_optimal_usd"] - best, rel=1e-12)
    (folder,) = out.iterdir()
    assert folder.name.startswith("iren_timing-timing-")
    names = {p.name for p in folder.iterdir()}
    assert {"summary.json", "exercise_boundary.csv", "exercise_boundary.png", "conversion_by_year.csv",
            "manifest.json", "scenario.resolved.yaml"} <= names
    on_disk = json.loads((folder / "summary.json").read_text())
    assert {k: on_disk[k] for k in KEYS} == {k: summary[k] for k in KEYS}
    header = (folder / "exercise_boundary.csv").read_text().splitlines()[0]
    assert header == "year,decision_month,hashprice_usd_per_ph_day,rent_threshold_usd_per_kw_month"
    assert (folder / "exercise_boundary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_api_gives_the_same_numbers_as_the_cli(cli_run):
    summary, _ = cli_run
    result = pivotsim.timing(TIMING, paths=2000, seed=4, threads=1)
    assert isinstance(result, pivotsim.TimingResult)
    assert {k: result.summary()[k] for k in KEYS} == {k: summary[k] for k in KEYS}
    frame = result.to_frame()
    assert list(frame.columns) == ["block_1", "block_2", "block_3", "block_4"]


def test_terminal_table_names_the_policies(tmp_path):
    result = runner.invoke(app, ["timing", str(TIMING), "--paths", "2000", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for text in ("Mine forever", "Convert everything now", "Optimal policy", "Option value of waiting",
                 "Timing folder:"):
        assert text in result.stdout


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    text = TIMING.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "variant.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize("old, new, message", [
    ('- share: {value: 0.25, assumption: "fourth block',
     '- share: {value: 0.45, assumption: "fourth block', "option.blocks: block shares add up to 1.2"),
    ("build_months: {value: 12,", "build_months: {value: 300,", "option.build_months: 300 is not allowed"),
    ("value: 7.0e6", "value: -7.0e6", "option.conversion_capex_usd_per_mw"),
    ("basis_order: 3", "basis_order: 7", "option.basis_order"),
])
def test_bad_option_is_one_line_and_exit_2(tmp_path, old, new, message):
    result = runner.invoke(app, ["timing", str(_variant(tmp_path, old, new)), "--paths", "2000",
                                 "--out", str(tmp_path)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.output
    assert not any(p.is_dir() for p in tmp_path.iterdir())  # checked before any computation


def test_scenario_without_option_is_refused(tmp_path):
    result = runner.invoke(app, ["timing", str(SCENARIOS / "iren.yaml"), "--paths", "2000", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "option: has no `option:` section" in result.stderr


def test_a_new_fleet_is_refused(tmp_path):
    result = runner.invoke(app, ["timing", str(_variant(tmp_path, "  fleet: existing", "  fleet: new")),
                                 "--paths", "2000", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "bitcoin.fleet: 'new' is not allowed with the switching option" in result.stderr


def test_schema_and_engine_agree_on_the_highest_basis_order():
    assert SCHEMA_MAX_BASIS_ORDER == MAX_BASIS_ORDER == 6
