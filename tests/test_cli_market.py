"""CLI of the market work: calibrate, --paths auto, new scenario fields in the schema and errors."""

import json

import yaml
from typer.testing import CliRunner

from pivotsim.cli import app

from .conftest import BTC_DAILY

runner = CliRunner()


def test_calibrate_prints_a_market_block():
    res = runner.invoke(app, ["calibrate", str(BTC_DAILY), "--start", "2016-01-01", "--end", "2022-12-31"])
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("# pivotsim calibrate: fitted on")
    block = yaml.safe_load(res.stdout)["market"]
    assert block["price_model"] == "merton" and block["hashrate_model"] == "response"
    assert all("source" in v or "assumption" in v for v in block.values() if isinstance(v, dict))


def test_calibrate_bad_input_is_one_line_exit_2():
    res = runner.invoke(app, ["calibrate", str(BTC_DAILY), "--start", "2016-13-01", "--end", "2022-12-31"])
    assert res.exit_code == 2 and "--start: '2016-13-01' is not allowed" in res.output
    res = runner.invoke(app, ["calibrate", "nope.csv", "--start", "2016-01-01", "--end", "2022-12-31"])
    assert res.exit_code == 2 and "file not found" in res.output and "Traceback" not in res.output


def test_paths_auto_states_tolerance(iren_path, tmp_path):
    res = runner.invoke(app, ["run", str(iren_path), "--paths", "auto", "--tolerance-usd", "1e12", "--json",
                              "--out", str(tmp_path), "--no-figures"])
    assert res.exit_code == 0, res.output
    mc = json.loads(res.stdout)["monte_carlo"]
    assert mc["mode"] == "auto" and mc["tolerance_usd"] == 1e12 and mc["reached"] and mc["paths"] == 10_000
    res = runner.invoke(app, ["run", str(iren_path), "--paths", "lots", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "--paths: 'lots' is not allowed" in res.output


def test_schema_lists_market_model_fields():
    schema = json.loads(runner.invoke(app, ["schema"]).stdout)
    market = schema["$defs"]["Market"]["properties"]
    for name in ("price_model", "btc_jump_intensity_per_year", "bootstrap_file", "hashrate_model",
                 "hashrate_response_slope_per_month", "marginal_miner_efficiency_j_per_th",
                 "efficiency_frontier_decline_per_year", "difficulty_lag_days", "fee_volatility_per_year",
                 "fee_spike_probability_per_month", "power_price_volatility_per_year",
                 "power_price_btc_correlation"):
        assert name in market, name


def test_market_field_errors_name_the_path(iren_path, tmp_path):
    res = runner.invoke(app, ["validate", str(iren_path)])
    assert res.exit_code == 0
    res = runner.invoke(app, ["run", str(iren_path), "--set", "market.price_model=bootstrap", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "market.bootstrap_file: required field is missing" in res.output
    res = runner.invoke(app, ["run", str(iren_path), "--set", "market.price_model=bootstrap",
                              "--set", "market.bootstrap_file=missing.csv", "--set", "market.bootstrap_start=2016-01-01",
                              "--set", "market.bootstrap_end=2022-12-31", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "market.bootstrap_file" in res.output and "file not found" in res.output
    res = runner.invoke(app, ["run", str(iren_path), "--set", "market.hashrate_response_lag_months=0",
                              "--out", str(tmp_path)])
    assert res.exit_code == 2 and "market.hashrate_response_lag_months: 0 is not allowed" in res.output


def test_bootstrap_scenario_runs(iren_path, tmp_path):
    res = runner.invoke(app, ["run", str(iren_path), "--paths", "100", "--json", "--no-figures",
                              "--out", str(tmp_path),
                              "--set", "market.price_model=bootstrap", "--set", f"market.bootstrap_file={BTC_DAILY}",
                              "--set", "market.bootstrap_start=2016-01-01", "--set", "market.bootstrap_end=2025-09-26"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["paths"] == 100
