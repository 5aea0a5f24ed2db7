"""``pivotsim data update | status`` and ``pivotsim hashprice`` through the CLI (no network)."""

import datetime as dt
import json

import httpx
import respx
from typer.testing import CliRunner

from pivotsim import data_refresh
from pivotsim.cli import app
from pivotsim.data_refresh import COINMETRICS_URL, DATA_FILE_NAME

from .conftest import BTC_DAILY
from .test_data_refresh import api_row

runner = CliRunner()


def cut_copy(tmp_path, days=3):
    lines = BTC_DAILY.read_text().splitlines()
    (tmp_path / DATA_FILE_NAME).write_text("\n".join(lines[:-days]) + "\n")
    return lines


def test_data_update_appends_and_prints_what_it_added(tmp_path, monkeypatch):
    lines = cut_copy(tmp_path)
    monkeypatch.setattr(data_refresh.dt, "datetime", _FixedNow)
    with respx.mock:
        respx.get(COINMETRICS_URL).mock(return_value=httpx.Response(
            200, json={"data": [api_row(line) for line in lines[-3:]]}))
        result = runner.invoke(app, ["data", "update", "--to", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "added 3 day(s), 2025-09-24 to 2025-09-26" in result.output
    assert (tmp_path / DATA_FILE_NAME).read_text() == "\n".join(lines) + "\n"
    status = runner.invoke(app, ["data", "status", "--file", str(tmp_path), "--json"])
    info = json.loads(status.output)
    assert info["last_day"] == "2025-09-26" and "Coin Metrics" in info["source"]


def test_data_update_failure_is_one_line_and_exit_2(tmp_path, monkeypatch):
    cut_copy(tmp_path)
    before = (tmp_path / DATA_FILE_NAME).read_bytes()
    monkeypatch.setattr(data_refresh.dt, "datetime", _FixedNow)
    with respx.mock:
        respx.get(COINMETRICS_URL).mock(return_value=httpx.Response(500))
        result = runner.invoke(app, ["data", "update", "--to", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and result.output.startswith("error: data update:")
    assert (tmp_path / DATA_FILE_NAME).read_bytes() == before


def test_data_status_of_a_gapped_file_is_exit_2(tmp_path):
    lines = BTC_DAILY.read_text().splitlines()
    (tmp_path / DATA_FILE_NAME).write_text("\n".join(lines[:50] + lines[51:]) + "\n")
    result = runner.invoke(app, ["data", "status", "--file", str(tmp_path)])
    assert result.exit_code == 2 and "missing after" in result.output and result.output.count("\n") == 1


def test_hashprice_json_keys_from_the_data_file():
    result = runner.invoke(app, ["hashprice", "--data", str(BTC_DAILY), "--json", "--power-price", "0.05",
                                 "--efficiency-j-per-th", "12"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert round(out["hashprice_usd_per_ph_day"], 2) == 48.86  # as computed by hand in tests/test_spot.py
    assert set(out["breakeven_power_usd_per_kwh"]) == {"21.5", "17.5", "16.5", "15", "13.5", "12"}
    assert out["next_halving_date"] == "2028-04-10"
    assert out["breakeven_btc_price_usd"]["17.5"] > out["breakeven_btc_price_usd"]["12"]


def test_hashprice_terminal_and_help():
    result = runner.invoke(app, ["hashprice", "--data", str(BTC_DAILY), "--after-halving"])
    assert result.exit_code == 0 and "after the next halving" in result.output and "17.5" in result.output
    help_text = runner.invoke(app, ["hashprice", "--help"], terminal_width=120).output
    assert "break-even power price" in help_text and "after the pool fee" in " ".join(help_text.split())


def test_hashprice_bad_input_is_one_line_exit_2(tmp_path):
    for args in (["--difficulty", "0"], ["--btc-price", "-5"]):
        result = runner.invoke(app, ["hashprice", "--data", str(BTC_DAILY), *args])
        assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
        assert result.output.startswith(f"error: {args[0]}: ")
    (tmp_path / "x.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    result = runner.invoke(app, ["hashprice", "--data", str(tmp_path / "x.csv")])
    assert result.exit_code == 2 and result.output.count("\n") == 1


class _FixedNow(dt.datetime):
    """``datetime.now`` on 2025-09-28 (the shipped file ends two days earlier)."""

    @classmethod
    def now(cls, tz=None):
        return dt.datetime(2025, 9, 28, 12, 0, tzinfo=tz)


def test_run_refuses_a_state_date_after_the_valuation_date(tmp_path):
    from .conftest import SCENARIOS

    out = tmp_path / "runs"
    result = runner.invoke(app, ["run", str(SCENARIOS / "iren.yaml"), "--paths", "10", "--out", str(out),
                                 "--set", "market.state_date=2025-11-02"])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "market.state_date: 2025-11-02 is not allowed; must be on or before scenario.valuation_date" \
        in result.output
    assert not out.exists()


def test_run_from_data_latest_and_a_gapped_data_file(tmp_path):
    from .conftest import SCENARIOS

    out = tmp_path / "runs"
    ok = runner.invoke(app, ["run", str(SCENARIOS / "iren.yaml"), "--paths", "10", "--out", str(out), "--json",
                             "--no-figures", "--set", "market.from_data=latest", "--set", f"market.data_file={BTC_DAILY}"])
    assert ok.exit_code == 0, ok.output
    at = json.loads(ok.stdout)["market"]["at_valuation"]
    assert at["state_date"] == "2025-09-26" and at["state_days_before_valuation"] == 36
    lines = BTC_DAILY.read_text().splitlines()
    gapped = tmp_path / "gapped.csv"
    gapped.write_text("\n".join(lines[:-10] + lines[-9:]) + "\n")
    bad_out = tmp_path / "bad"
    bad = runner.invoke(app, ["run", str(SCENARIOS / "iren.yaml"), "--paths", "10", "--out", str(bad_out),
                              "--set", "market.from_data=latest", "--set", f"market.data_file={gapped}"])
    assert bad.exit_code == 2 and bad.output.count("\n") == 1 and "1 day(s) missing after 2025-09-16" in bad.output
    assert not bad_out.exists()
