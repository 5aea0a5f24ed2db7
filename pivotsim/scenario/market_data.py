"""``market.from_data: latest``: the market state taken from the last day of the daily data file.

Before validation, a scenario whose ``market`` says ``from_data: latest``
gets ``btc_price_usd`` (that day's close), ``difficulty`` (its mean
difficulty; ``network_hashrate_eh_s`` is dropped), ``block_height`` (blocks
by the end of that day), ``fees_btc_per_block`` (fees / blocks of its last 30
days) and ``state_date`` (that day) from the file, each with the source
``CM-latest`` (added to ``sources``, naming the file).  The file is
``market.data_file`` (relative to the scenario file) or the user data
folder's (``pivotsim data update`` keeps it fresh).  Nothing is downloaded.
"""

from __future__ import annotations

import copy
from pathlib import Path

from ..errors import PivotsimError, ScenarioError

SOURCE_ID = "CM-latest"
#: market fields the data file sets
FROM_DATA_FIELDS = ("btc_price_usd", "difficulty", "block_height", "fees_btc_per_block", "state_date")


def data_path(market: dict, file: str | None) -> Path:
    """The data file of ``from_data``: ``market.data_file`` (relative to the scenario) or the user's."""
    from .. import btc_data  # pandas and the compiled timeline: only for a scenario that reads data

    name = market.get("data_file")
    if name is None:
        return btc_data.data_file()
    path = Path(str(name)).expanduser()
    if not path.is_absolute() and file is not None and not file.startswith("--set"):
        path = Path(file).resolve().parent / path
    return path


def market_from_data(data: dict, file: str | None, lines: dict[tuple, int]) -> dict:
    """The scenario mapping with the market state of the data file's last day (a copy), or as it is."""
    market = data.get("market") if isinstance(data, dict) else None
    if not isinstance(market, dict) or market.get("from_data") is None:
        return data
    if market["from_data"] != "latest":
        return data  # the schema names the allowed values
    from .. import btc_data  # pandas and the compiled timeline: only for a scenario that reads data

    path = data_path(market, file)
    line = lines.get(("market", "from_data"))
    if not path.is_file():
        raise ScenarioError(f"latest: no data file at {path}; run `pivotsim data update` (or set market.data_file)",
                            file=file, path="market.from_data", line=line)
    try:
        daily = btc_data.read_daily(path)
        last = daily.index[-1]
        state = btc_data.state_at(path, last)
    except PivotsimError as exc:
        raise ScenarioError(str(exc), file=file, path="market.from_data", line=line) from None
    day = state["date"]
    out = copy.deepcopy(data)
    note = f"{{}} on {day}, the last day of {path.name}"
    out.setdefault("sources", {})[SOURCE_ID] = {
        "title": "Coin Metrics community data, daily BTC network metrics (the data file's last day)",
        "publisher": "Coin Metrics", "date": day, "file": str(path),
        "note": "read by market.from_data: latest; CC BY-NC 4.0"}
    m = out["market"]
    m["btc_price_usd"] = {"value": state["btc_price_usd"], "source": SOURCE_ID, "note": note.format("close")}
    m["difficulty"] = {"value": state["difficulty"], "source": SOURCE_ID, "note": note.format("mean difficulty")}
    m.pop("network_hashrate_eh_s", None)
    m["block_height"] = {"value": state["block_height"], "source": SOURCE_ID,
                         "note": note.format("blocks counted from the last halving in the data")}
    m["fees_btc_per_block"] = {"value": state["fees_btc_per_block"], "source": SOURCE_ID,
                               "note": note.format("fees / blocks over the 30 days")}
    m["state_date"] = day
    m["data_file"] = str(path)
    return out
