"""`pivotsim sensitivity --method regression | rank`: drivers read from the Monte Carlo's own paths."""

import json

from typer.testing import CliRunner

from pivotsim.cli import app
from pivotsim.runs import run

runner = CliRunner()


def test_regression_prints_the_drivers_and_writes_a_folder(tmp_path):
    out = runner.invoke(app, ["sensitivity", "scenarios/iren.yaml", "--method", "regression", "--paths", "2000",
                              "--seed", "5", "--out", str(tmp_path)])
    assert out.exit_code == 0, out.output
    assert "Market paths (BTC price, hashrate, fees, power)" in out.output
    assert "GPU residual value" in out.output
    folder = next(tmp_path.iterdir())
    assert {p.name for p in folder.iterdir()} >= {"drivers.csv", "drivers.png", "manifest.json"}
    manifest = json.loads((folder / "manifest.json").read_text())
    # origin: the same run through the API (same seed and paths) gives the same shares
    expected = run("scenarios/iren.yaml", paths=2000, seed=5).summary()["comparison"]["drivers"]
    assert manifest["r_squared"] == expected["r_squared"]
    assert [d["name"] for d in manifest["drivers"]] == [d["name"] for d in expected["drivers"]]


def test_a_bad_method_is_one_line_and_exit_2():
    out = runner.invoke(app, ["sensitivity", "scenarios/cipher_aws.yaml", "--method", "regresion"])
    assert out.exit_code == 2
    assert out.output.strip().splitlines() == [
        "error: --method 'regresion' is not allowed; must be tornado, sobol, morris, regression or rank"]
