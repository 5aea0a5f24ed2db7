"""The bundled deal library: names resolve from any folder, `pivotsim scenarios`, `pivotsim init`.

Origins: the library files themselves (their names, bytes and stated terms,
e.g. IREN–Microsoft's $9.7B over 5 years with 20% prepaid, sources S000/S001
in iren.yaml).
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from pivotsim.cli import app
from pivotsim.errors import ScenarioError
from pivotsim.scenario import load_scenario
from pivotsim.scenario.library import LIBRARY_DIR, find_scenario, key_terms, library_files

from .conftest import SCENARIOS

runner = CliRunner()


def test_library_is_the_package_folder():
    assert LIBRARY_DIR == SCENARIOS.resolve()
    names = [p.name for p in library_files()]
    assert "iren.yaml" in names and "template.yaml" not in names
    assert library_files(include_template=True)[-1].name == "template.yaml"


@pytest.mark.parametrize("name", ["iren.yaml", "iren", "scenarios/iren.yaml"])
def test_name_resolves_to_the_bundled_file(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    found = find_scenario(name)
    assert found.bundled and found.path == LIBRARY_DIR / "iren.yaml"
    scenario = load_scenario(name)
    assert scenario.bundled and scenario.file == str(LIBRARY_DIR / "iren.yaml")


def test_local_file_wins(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = (LIBRARY_DIR / "iren.yaml").read_text(encoding="utf-8")
    (tmp_path / "iren.yaml").write_text(text.replace("name: \"IREN–Microsoft", "name: \"My IREN copy", 1), encoding="utf-8")
    scenario = load_scenario("iren.yaml")
    assert not scenario.bundled and scenario.file == "iren.yaml"
    assert scenario.name.startswith("My IREN copy")


def test_path_with_folders_is_not_looked_up(tmp_path):
    with pytest.raises(ScenarioError, match="file not found"):
        find_scenario(tmp_path / "deals" / "iren.yaml")


def test_unknown_name_lists_the_library(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ScenarioError) as info:
        find_scenario("irn.yaml")
    message = str(info.value)
    assert message.startswith("irn.yaml: file not found") and "iren" in message and "cipher_aws" in message


def test_key_terms_as_written():
    terms = key_terms(load_scenario(LIBRARY_DIR / "iren.yaml"))
    assert terms["kind"] == "gpu_cloud" and terms["contract_value_usd"] == 9.7e9
    assert terms["term_years"] == 5 and terms["prepayment_share"] == 0.2
    assert (terms["grid_mw"], terms["critical_it_mw"]) == (240, 200)


def test_scenarios_command_lists_every_file():
    res = runner.invoke(app, ["scenarios"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    for path in library_files(include_template=True):
        assert path.name in res.stdout
    assert "$9.7B over 5 yr, 20% prepaid" in res.stdout


def test_run_by_name_from_an_empty_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["run", "iren", "--paths", "200", "--no-figures", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["scenario"].startswith("IREN–Microsoft")
    res = runner.invoke(app, ["run", "iren.yaml", "--paths", "200", "--no-figures"])
    assert res.exit_code == 0, res.output
    assert "using the bundled deal library's iren.yaml" in res.stderr


def test_validate_says_which_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["validate", "cipher_aws"])
    assert res.exit_code == 0 and f"ok: {LIBRARY_DIR / 'cipher_aws.yaml'}" in res.stdout


def test_init_copies_and_never_overwrites(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["init", "my_deal.yaml", "--from", "iren"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "my_deal.yaml").read_bytes() == (LIBRARY_DIR / "iren.yaml").read_bytes()
    res = runner.invoke(app, ["init", "my_deal.yaml"])
    assert res.exit_code == 2 and "already exists" in res.stderr
    res = runner.invoke(app, ["init", "other.yaml"])
    assert res.exit_code == 0
    assert (tmp_path / "other.yaml").read_bytes() == (LIBRARY_DIR / "template.yaml").read_bytes()
    res = runner.invoke(app, ["init", "x.yaml", "--from", "nosuch"])
    assert res.exit_code == 2 and "--from: 'nosuch' is not a bundled deal" in res.stderr
    res = runner.invoke(app, ["init", "no/such/folder/x.yaml"])
    assert res.exit_code == 2 and "does not exist" in res.stderr and "Traceback" not in res.output


def test_source_files_degrade_to_their_citation(tmp_path, monkeypatch):
    from pivotsim.scenario.library import cited_file

    deal = tmp_path / "deals" / "x.yaml"
    deal.parent.mkdir()
    deal.write_text("a: 1\n")
    (tmp_path / "src.txt").write_text("source text")
    assert cited_file("../src.txt", str(deal)) == "../src.txt"  # next to the scenario's parent folder
    assert cited_file("../shared/sources/000.txt", str(deal)) is None
    assert cited_file(None, str(deal)) is None
    # the bundled IREN deal copied where no ../shared/sources lies near it (as from a wheel): in a
    # checkout with shared/ beside it the source texts would be found, and shown
    from pivotsim.scenario.library import LIBRARY_DIR

    copy = tmp_path / "elsewhere" / "deal" / "iren.yaml"
    copy.parent.mkdir(parents=True)
    copy.write_bytes((LIBRARY_DIR / "iren.yaml").read_bytes())
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["sources", str(copy)], env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    assert "Microsoft" in res.stdout and "../shared/sources/000_" not in res.stdout
