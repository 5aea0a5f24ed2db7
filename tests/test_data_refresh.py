"""The data refresh client against replayed Coin Metrics answers (no network).

The answers are built from the real shipped file: its last days, turned back
into the API's JSON (strings per metric, ``time`` stamps, ``next_page_url``
paging), so a correct update of a copy cut a few days short must give back
the shipped file byte for byte.
"""

import datetime as dt
import re
import time

import httpx
import pytest
import respx

from pivotsim import btc_data, data_refresh
from pivotsim.data_refresh import COINMETRICS_URL, COLUMNS, DATA_FILE_NAME, METRICS, csv_line
from pivotsim.errors import PivotsimError

from .conftest import BTC_DAILY

TODAY = dt.date(2025, 9, 28)  # the shipped file ends on 2025-09-26, yesterday is 09-27
CUT = 5  # days taken off the end of the shipped file


@pytest.fixture(scope="module")
def shipped_lines():
    return BTC_DAILY.read_text().splitlines()


def api_row(line: str) -> dict:
    """A line of the data file as the API's JSON row."""
    cells = dict(zip(COLUMNS, line.split(",")))
    row = {"asset": "btc", "time": f"{cells['date']}T00:00:00.000000000Z"}
    row.update({metric: cells[column] for metric, column in METRICS.items()})
    return row


@pytest.fixture
def cut_file(tmp_path, shipped_lines):
    """A copy of the shipped file without its last CUT days."""
    path = tmp_path / DATA_FILE_NAME
    path.write_text("\n".join(shipped_lines[:-CUT]) + "\n")
    return path


def unchanged(path, before: bytes):
    assert path.read_bytes() == before
    assert not list(path.parent.glob("*.tmp"))


def test_every_shipped_line_is_rebuilt_from_its_source_columns(shipped_lines):
    # the two derived columns are exact decimal arithmetic on the source strings (../shared/data/btc/README.md)
    for line in shipped_lines[1::50] + shipped_lines[-3:]:
        row = api_row(line)
        assert csv_line(dt.date.fromisoformat(line[:10]), row) == line


@respx.mock
def test_normal_update_gives_back_the_shipped_file(cut_file, shipped_lines):
    route = respx.get(COINMETRICS_URL).mock(return_value=httpx.Response(
        200, json={"data": [api_row(line) for line in shipped_lines[-CUT:]]}))
    report = data_refresh.update(cut_file.parent, today=TODAY)
    assert cut_file.read_text() == "\n".join(shipped_lines) + "\n"
    assert report.added_days[0] == dt.date(2025, 9, 22) and report.last_day == dt.date(2025, 9, 26)
    assert len(report.added_days) == CUT and report.pages == 1 and not report.partial_days
    params = route.calls[0].request.url.params
    assert params["start_time"] == "2025-09-22" and params["end_time"] == "2025-09-27"
    assert params["metrics"] == "PriceUSD,DiffMean,HashRate,BlkCnt,IssTotUSD,FeeTotUSD"
    assert "added 5 day(s), 2025-09-22 to 2025-09-26" in report.summary()
    # the updated file reads as network data, and its status names the source and the last day
    assert btc_data.read_daily(cut_file).index[-1] == btc_data.read_daily(BTC_DAILY).index[-1]
    status = data_refresh.status(cut_file)
    assert status.last_day == dt.date(2025, 9, 26) and "Coin Metrics" in status.source and status.updated_utc


@respx.mock
def test_pagination_follows_next_page_url(cut_file, shipped_lines):
    rows = [api_row(line) for line in shipped_lines[-CUT:]]
    next_url = COINMETRICS_URL + "?next_page_token=abc"
    respx.get(COINMETRICS_URL, params={"next_page_token": "abc"}).mock(
        return_value=httpx.Response(200, json={"data": rows[3:]}))
    respx.get(COINMETRICS_URL).mock(
        return_value=httpx.Response(200, json={"data": rows[:3], "next_page_token": "abc", "next_page_url": next_url}))
    report = data_refresh.update(cut_file.parent, today=TODAY)
    assert report.pages == 2
    assert cut_file.read_text() == "\n".join(shipped_lines) + "\n"


@respx.mock
def test_empty_update_changes_nothing(cut_file):
    before = cut_file.read_bytes()
    respx.get(COINMETRICS_URL).mock(return_value=httpx.Response(200, json={"data": []}))
    report = data_refresh.update(cut_file.parent, today=TODAY)
    assert report.added_days == [] and "nothing added" in report.summary()
    unchanged(cut_file, before)


@respx.mock
def test_up_to_date_file_asks_nothing(tmp_path, shipped_lines):
    path = tmp_path / DATA_FILE_NAME
    path.write_text("\n".join(shipped_lines) + "\n")
    route = respx.get(COINMETRICS_URL)
    report = data_refresh.update(tmp_path, today=dt.date(2025, 9, 27))
    assert not route.called and report.added_days == [] and report.last_day == dt.date(2025, 9, 26)


@respx.mock
def test_partial_last_day_is_left_out(cut_file, shipped_lines):
    rows = [api_row(line) for line in shipped_lines[-CUT:]]
    del rows[-1]["BlkCnt"], rows[-1]["HashRate"]  # the day's network metrics are not computed yet
    respx.get(COINMETRICS_URL).mock(return_value=httpx.Response(200, json={"data": rows}))
    report = data_refresh.update(cut_file.parent, today=TODAY)
    assert report.partial_days == [dt.date(2025, 9, 26)] and report.last_day == dt.date(2025, 9, 25)
    assert cut_file.read_text() == "\n".join(shipped_lines[:-1]) + "\n"
    assert "left out partial day(s) 2025-09-26" in report.summary()


@respx.mock
def test_today_is_partial(cut_file, shipped_lines):
    respx.get(COINMETRICS_URL).mock(return_value=httpx.Response(
        200, json={"data": [api_row(line) for line in shipped_lines[-CUT:]]}))
    report = data_refresh.update(cut_file.parent, today=dt.date(2025, 9, 26))
    assert report.partial_days == [dt.date(2025, 9, 26)] and report.last_day == dt.date(2025, 9, 25)


@pytest.mark.parametrize("answer,message", [
    (httpx.Response(200, text="<html>maintenance</html>"), "malformed answer (not JSON)"),
    (httpx.Response(200, json={"rows": []}), "malformed answer (no 'data' list)"),
    (httpx.Response(429, json={"error": {"type": "too_many_requests"}}), "HTTP 429"),
    (httpx.Response(500, text="oops"), "HTTP 500"),
    (httpx.ConnectTimeout("timed out"), "no answer from community-api.coinmetrics.io within the timeout"),
    (httpx.ReadTimeout("timed out"), "within the timeout"),
    (httpx.ConnectError("[Errno -3] Temporary failure in name resolution"), "cannot reach"),
])
def test_failures_are_one_line_and_leave_the_file_unchanged(cut_file, answer, message):
    before = cut_file.read_bytes()
    with respx.mock:
        route = respx.get(COINMETRICS_URL)
        if isinstance(answer, Exception):
            route.mock(side_effect=answer)
        else:
            route.mock(return_value=answer)
        with pytest.raises(PivotsimError, match=re.escape(message)) as info:
            data_refresh.update(cut_file.parent, today=TODAY)
    assert "\n" not in str(info.value) and "nothing written" in str(info.value)
    unchanged(cut_file, before)


@respx.mock
def test_bad_rows_leave_the_file_unchanged(cut_file, shipped_lines):
    before = cut_file.read_bytes()
    rows = [api_row(line) for line in shipped_lines[-CUT:]]
    cases = [
        ([rows[0], rows[2], rows[3]], "1 day(s) missing after 2025-09-22"),
        ([rows[1], rows[2]], "the answer starts on 2025-09-23, the file ends on 2025-09-21"),
        ([rows[0], rows[1], rows[1]], "2025-09-23 appears twice"),
        ([rows[0], {**rows[1], "PriceUSD": "abc"}], "PriceUSD of 2025-09-23 is 'abc', not a number"),
        ([{**rows[0], "BlkCnt": None}, rows[1]], "2025-09-22 has no BlkCnt but later days do"),
    ]
    for data, message in cases:
        respx.get(COINMETRICS_URL).mock(return_value=httpx.Response(200, json={"data": data}))
        with pytest.raises(PivotsimError, match=re.escape(message)):
            data_refresh.update(cut_file.parent, today=TODAY)
        unchanged(cut_file, before)


@respx.mock
def test_missing_file_is_created_from_the_first_day(tmp_path, shipped_lines):
    route = respx.get(COINMETRICS_URL).mock(return_value=httpx.Response(
        200, json={"data": [api_row(line) for line in shipped_lines[1:4]]}))
    report = data_refresh.update(tmp_path, today=dt.date(2010, 7, 21))
    assert route.calls[0].request.url.params["start_time"] == "2010-07-18"
    assert (tmp_path / DATA_FILE_NAME).read_text() == "\n".join(shipped_lines[:4]) + "\n"
    assert report.created and len(report.added_days) == 3


def test_no_network_fails_in_one_line_within_15_s(cut_file, monkeypatch):
    # a non-routable address: the connection attempt hangs until the connect timeout
    monkeypatch.setattr(data_refresh, "COINMETRICS_URL", "http://10.255.255.1/v4/timeseries/asset-metrics")
    before = cut_file.read_bytes()
    started = time.monotonic()
    with pytest.raises(PivotsimError) as info:
        data_refresh.update(cut_file.parent, today=TODAY)
    assert time.monotonic() - started < 15
    assert "\n" not in str(info.value) and "10.255.255.1" in str(info.value)
    unchanged(cut_file, before)


@pytest.mark.parametrize("content,message", [
    (b"\x89PNG\r\n\x1a\n\x00\x00binary", "not a CSV text file"),
    (b"a,b,c\n1,2,3\n", "not a data file in the Coin Metrics layout"),
])
def test_a_file_that_is_not_a_data_file(tmp_path, content, message):
    path = tmp_path / DATA_FILE_NAME
    path.write_bytes(content)
    with pytest.raises(PivotsimError, match=re.escape(message)):
        data_refresh.status(path)
    with pytest.raises(PivotsimError, match=re.escape(message)):
        data_refresh.update(tmp_path, today=TODAY)
    assert path.read_bytes() == content


@pytest.mark.parametrize("edit,message", [
    (lambda lines: lines[:100] + lines[101:], "1 day(s) missing after 2010-10-24"),
    (lambda lines: lines[:101] + lines[100:], "day 2010-10-25 appears twice"),
])
def test_gaps_and_duplicates_are_refused_by_reader_and_updater(tmp_path, shipped_lines, edit, message):
    path = tmp_path / DATA_FILE_NAME
    path.write_text("\n".join(edit(shipped_lines)) + "\n")
    for check in (data_refresh.status, btc_data.read_daily):
        with pytest.raises(PivotsimError, match=re.escape(message)) as info:
            check(path)
        assert "\n" not in str(info.value)


def test_reader_refuses_a_binary_file(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe binary")
    with pytest.raises(PivotsimError) as info:
        btc_data.read_daily(path)
    assert "\n" not in str(info.value)


def test_status_of_a_missing_file_and_of_the_shipped_file(tmp_path):
    missing = data_refresh.status(tmp_path / DATA_FILE_NAME)
    assert not missing.exists and "pivotsim data update" in missing.source
    shipped = data_refresh.status(BTC_DAILY)
    assert shipped.first_day == dt.date(2010, 7, 18) and shipped.last_day == dt.date(2025, 9, 26)
    assert shipped.rows == 5550 and "Coin Metrics" in shipped.source
