"""Keep the daily network data fresh: fetch the days since the file's last one from Coin Metrics.

The file has the layout of ``../shared/data/btc/btc_network_daily_coinmetrics.csv``
(see its README): the Coin Metrics community API's daily ``PriceUSD``,
``DiffMean``, ``HashRate``, ``BlkCnt``, ``IssTotUSD`` and ``FeeTotUSD`` for
``btc``, renamed, with two exact derived columns (``hashrate_ehs_derived`` =
``hashrate_ths / 1e6`` and ``miner_revenue_usd_derived`` = ``issuance_usd +
fees_usd``, decimal arithmetic on the source strings).  Values are written
as the API sends them (strings), so appended rows look like the shipped ones.

:func:`update` asks for the days after the file's last day, follows the
API's ``next_page_url`` pages, checks every row (consecutive days, no
missing or non-numeric value), drops a partial last day (today, or a day
whose network metrics are not computed yet), and only then writes the new
file atomically (a temporary file in the same folder, then a rename), so on
any error the existing file is unchanged.  Timeouts are short (5 s to
connect, 10 s to read): without a network the update fails in seconds.

This is the only code in pivotsim that uses the network, and only when the
user asks (``pivotsim data update``).

References
----------
Coin Metrics API v4, ``/timeseries/asset-metrics`` (community tier, no key,
CC BY-NC 4.0; paging by ``next_page_url``).  ../shared/data/btc/README.md.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from .btc_data import DATA_FILE_NAME, check_days, data_file, user_data_dir  # noqa: F401
from .errors import PivotsimError

COINMETRICS_URL = "https://community-api.coinmetrics.io/v4/timeseries/asset-metrics"
SOURCE = "Coin Metrics community API (CC BY-NC 4.0)"
#: Coin Metrics metric -> column of the data file, in the file's order
METRICS = {"PriceUSD": "price_usd", "DiffMean": "difficulty_mean", "HashRate": "hashrate_ths",
           "BlkCnt": "block_count", "IssTotUSD": "issuance_usd", "FeeTotUSD": "fees_usd"}
COLUMNS = ("date",) + tuple(METRICS.values()) + ("hashrate_ehs_derived", "miner_revenue_usd_derived")
#: first day with a USD price in Coin Metrics (the shipped file starts there)
FIRST_DAY = dt.date(2010, 7, 18)
PAGE_SIZE = 10_000
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 10.0
#: the whole update gives up after this long [s]
DEADLINE_S = 14.0
MAX_PAGES = 20
_DECIMAL = decimal.Context(prec=200)


def _source_record(path: Path) -> Path:
    return path.with_name(path.name + ".source.json")


# --------------------------------------------------------------------------- reading the file

@dataclass
class FileState:
    """What a data file holds: its header, last day and row count."""

    path: Path
    header: list[str]
    first_day: dt.date | None
    last_day: dt.date | None
    rows: int
    text: str


def read_file_state(path: str | Path) -> FileState:
    """Header, first and last day of a data file, checked line by line.

    Raises
    ------
    PivotsimError
        Not a CSV with the expected header, a date that does not parse, a
        duplicate or a missing day (one line, naming the file and the day).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PivotsimError(f"{path}: file not found") from None
    except (UnicodeDecodeError, IsADirectoryError, PermissionError) as exc:
        raise PivotsimError(f"{path}: not a CSV text file ({type(exc).__name__})") from None
    lines = text.splitlines()
    header = lines[0].split(",") if lines else []
    if tuple(header[:len(COLUMNS)]) != COLUMNS:
        raise PivotsimError(f"{path}: not a data file in the Coin Metrics layout; its first line must be "
                            f"{','.join(COLUMNS)}")
    days = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cell = line.split(",", 1)[0]
        try:
            days.append(dt.date.fromisoformat(cell))
        except ValueError:
            raise PivotsimError(f"{path}:{number}: date {cell!r} is not a YYYY-MM-DD day") from None
    check_days(days, str(path))
    return FileState(path=path, header=header, first_day=days[0] if days else None,
                     last_day=days[-1] if days else None, rows=len(days), text=text)


# --------------------------------------------------------------------------- fetching

def _get(client: httpx.Client, url: str, params: dict | None, started: float) -> dict:
    """One page of the API as a dict, or a one-line PivotsimError."""
    host = httpx.URL(url).host
    if time.monotonic() - started > DEADLINE_S:
        raise PivotsimError(f"data update: {host} took longer than {DEADLINE_S:.0f} s in all; nothing written, "
                            "try again later")
    try:
        response = client.get(url, params=params)
    except httpx.TimeoutException:
        raise PivotsimError(f"data update: no answer from {host} within the timeout ({CONNECT_TIMEOUT_S:.0f} s "
                            f"to connect, {READ_TIMEOUT_S:.0f} s to read); nothing written, check the network "
                            "and try again") from None
    except httpx.HTTPError as exc:
        raise PivotsimError(f"data update: cannot reach {host} ({type(exc).__name__}: "
                            f"{str(exc).splitlines()[0] if str(exc) else 'no detail'}); nothing written, "
                            "check the network and try again") from None
    if response.status_code == 429:
        raise PivotsimError(f"data update: {host} answered HTTP 429 (rate limit of the community API); nothing "
                            "written, wait a minute and try again")
    if response.status_code >= 400:
        raise PivotsimError(f"data update: {host} answered HTTP {response.status_code}; nothing written, "
                            "try again later")
    try:
        body = response.json()
    except ValueError:
        raise PivotsimError(f"data update: {host} sent a malformed answer (not JSON); nothing written") from None
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise PivotsimError(f"data update: {host} sent a malformed answer (no 'data' list); nothing written")
    return body


def fetch_rows(client: httpx.Client, start: dt.date, end: dt.date) -> tuple[list[dict], int]:
    """Every API row of ``start..end`` (inclusive), following ``next_page_url``; and the page count."""
    params = {"assets": "btc", "metrics": ",".join(METRICS), "frequency": "1d",
              "start_time": start.isoformat(), "end_time": end.isoformat(), "page_size": PAGE_SIZE,
              "paging_from": "start"}
    started = time.monotonic()
    body = _get(client, COINMETRICS_URL, params, started)
    rows, pages = list(body["data"]), 1
    while body.get("next_page_url"):
        if pages >= MAX_PAGES:
            raise PivotsimError(f"data update: more than {MAX_PAGES} pages; nothing written")
        body = _get(client, str(body["next_page_url"]), None, started)
        rows += body["data"]
        pages += 1
    return rows, pages


# --------------------------------------------------------------------------- rows

def _number(text, metric: str, day) -> decimal.Decimal:
    try:
        value = decimal.Decimal(str(text))
    except decimal.InvalidOperation:
        raise PivotsimError(f"data update: {metric} of {day} is {text!r}, not a number; nothing written") from None
    if not value.is_finite() or value < 0:
        raise PivotsimError(f"data update: {metric} of {day} is {text}; must be a finite number >= 0; "
                            "nothing written")
    return value


def _plain(value: decimal.Decimal) -> str:
    """A decimal in plain notation (no exponent), as the shipped file writes them."""
    text = format(value, "f")
    return text


def csv_line(day: dt.date, values: dict[str, str]) -> str:
    """One line of the data file from the API's strings of a day (with the two derived columns)."""
    nums = {m: _number(values[m], m, day) for m in METRICS}
    ehs = nums["HashRate"].scaleb(-6, _DECIMAL)
    revenue = _DECIMAL.add(nums["IssTotUSD"], nums["FeeTotUSD"])
    cells = [day.isoformat()] + [str(values[m]) for m in METRICS] + [_plain(ehs), _plain(revenue)]
    return ",".join(cells)


def _day_of(row: dict) -> dt.date:
    stamp = row.get("time")
    try:
        return dt.date.fromisoformat(str(stamp)[:10])
    except ValueError:
        raise PivotsimError(f"data update: a row has time {stamp!r}, not a day; nothing written") from None


def new_lines(rows: list[dict], last_day: dt.date | None, today: dt.date) -> tuple[list[str], list[dt.date]]:
    """Checked file lines of the days after ``last_day``, and the partial days left out.

    A day is partial when it is today or later, or when a metric is missing
    from it and from every later day (Coin Metrics computes a day's network
    metrics after it ends); a missing metric followed by a complete day is
    an error.
    """
    parsed = []
    for row in rows:
        if not isinstance(row, dict):
            raise PivotsimError("data update: a row of the answer is not an object; nothing written")
        day = _day_of(row)
        if last_day is not None and day <= last_day:
            continue  # already in the file (the API's window is inclusive)
        missing = [m for m in METRICS if row.get(m) in (None, "")]
        parsed.append((day, row, missing))
    partial = []
    while parsed and (parsed[-1][0] >= today or parsed[-1][2]):
        partial.insert(0, parsed.pop()[0])
    for day, _, missing in parsed:
        if missing:
            raise PivotsimError(f"data update: {day} has no {', '.join(missing)} but later days do; nothing written")
    days = [day for day, _, _ in parsed]
    if days and last_day is not None and days[0] != last_day + dt.timedelta(days=1):
        raise PivotsimError(f"data update: the answer starts on {days[0]}, the file ends on {last_day}: "
                            f"{(days[0] - last_day).days - 1} day(s) missing; nothing written")
    check_days(days, "data update")
    return [csv_line(day, row) for day, row, _ in parsed], partial


# --------------------------------------------------------------------------- update

@dataclass
class UpdateReport:
    """What an update did.

    Attributes
    ----------
    file : Path
    added_days : list of datetime.date
    partial_days : list of datetime.date
        Days the API sent incomplete, not written (they come with a later update).
    last_day : datetime.date or None
        The file's last day after the update.
    pages : int
        API pages read.
    created : bool
        The file did not exist before.
    """

    file: Path
    added_days: list = field(default_factory=list)
    partial_days: list = field(default_factory=list)
    last_day: dt.date | None = None
    pages: int = 0
    created: bool = False

    def summary(self) -> str:
        """One line for the terminal."""
        if not self.added_days:
            text = f"{self.file}: up to date (last day {self.last_day}), nothing added"
        else:
            text = (f"{self.file}: added {len(self.added_days)} day(s), {self.added_days[0]} to "
                    f"{self.added_days[-1]}; last day now {self.last_day}")
        if self.partial_days:
            text += f"; left out partial day(s) {', '.join(str(d) for d in self.partial_days)}"
        return text


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def update(folder: str | Path | None = None, *, today: dt.date | None = None,
           client: httpx.Client | None = None) -> UpdateReport:
    """Append the days since the file's last day, fetched from the Coin Metrics community API.

    Parameters
    ----------
    folder : str or Path, optional
        Folder of the data file (default: :func:`user_data_dir`); the file is
        created, with the whole history from 2010-07-18, when it is missing.
    today : datetime.date, optional
        The current UTC day (default: now); it and later days are partial.
    client : httpx.Client, optional
        The HTTP client (default: one with short timeouts).

    Returns
    -------
    UpdateReport

    Raises
    ------
    PivotsimError
        The network, the server or the answer failed (one line); the file is
        then unchanged.
    """
    path = data_file(folder)
    today = today or dt.datetime.now(dt.timezone.utc).date()
    created = not path.exists()
    state = None if created else read_file_state(path)
    last = state.last_day if state else None
    start = last + dt.timedelta(days=1) if last else FIRST_DAY
    end = today - dt.timedelta(days=1)
    report = UpdateReport(file=path, last_day=last, created=created)
    if start > end:
        return report
    own_client = client is None
    if own_client:
        client = httpx.Client(timeout=httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
                              follow_redirects=True, headers={"User-Agent": "pivotsim data update"})
    try:
        rows, report.pages = fetch_rows(client, start, end)
    finally:
        if own_client:
            client.close()
    lines, report.partial_days = new_lines(rows, last, today)
    if not lines:
        return report
    if state is None:
        text = ",".join(COLUMNS) + "\n"
    else:
        text = state.text if state.text.endswith("\n") else state.text + "\n"
    _write_atomic(path, text + "\n".join(lines) + "\n")
    report.added_days = [dt.date.fromisoformat(line[:10]) for line in lines]
    report.last_day = report.added_days[-1]
    record = {"source": SOURCE, "url": COINMETRICS_URL, "metrics": list(METRICS),
              "updated_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "added": [report.added_days[0].isoformat(), report.added_days[-1].isoformat()]}
    _write_atomic(_source_record(path), json.dumps(record, indent=1) + "\n")
    return report


# --------------------------------------------------------------------------- status

@dataclass
class DataStatus:
    """A data file, its span and where it came from."""

    file: Path
    exists: bool
    first_day: dt.date | None = None
    last_day: dt.date | None = None
    rows: int = 0
    source: str = ""
    updated_utc: str | None = None

    def to_dict(self) -> dict:
        return {"file": str(self.file), "exists": self.exists,
                "first_day": self.first_day.isoformat() if self.first_day else None,
                "last_day": self.last_day.isoformat() if self.last_day else None,
                "rows": self.rows, "source": self.source, "updated_utc": self.updated_utc}


def status(path: str | Path | None = None) -> DataStatus:
    """The data file (default: the user data folder's), its first and last day and its source."""
    path = Path(path) if path is not None else data_file()
    if path.is_dir():
        path = data_file(path)
    if not path.exists():
        return DataStatus(file=path, exists=False, source="none: run `pivotsim data update`")
    state = read_file_state(path)
    record = _source_record(path)
    source, updated = f"{SOURCE}, by its layout (no update record next to the file)", None
    if record.is_file():
        try:
            info = json.loads(record.read_text(encoding="utf-8"))
            source, updated = f"{info.get('source', SOURCE)}, {info.get('url', COINMETRICS_URL)}", \
                info.get("updated_utc")
        except (ValueError, OSError):
            pass
    return DataStatus(file=path, exists=True, first_day=state.first_day, last_day=state.last_day,
                      rows=state.rows, source=source, updated_utc=updated)


def days_behind(status_: DataStatus, today: dt.date | None = None) -> float:
    """Days between the file's last day and yesterday (UTC) [days]; inf without a file."""
    if not status_.exists or status_.last_day is None:
        return math.inf
    today = today or dt.datetime.now(dt.timezone.utc).date()
    return float((today - dt.timedelta(days=1) - status_.last_day).days)
