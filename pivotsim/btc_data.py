"""Daily bitcoin network data (Coin Metrics layout) turned into monthly series.

Reads a CSV with the columns of ``../shared/data/btc/btc_network_daily_coinmetrics.csv``
(``date, price_usd, difficulty_mean, hashrate_ths, block_count, issuance_usd,
fees_usd``) in place, never copying it, and derives month-end series on the
same footing as the market model's columns:

* ``price_usd``: daily close of the month's last day (the price at 00:00 UTC
  of the next month's first day, i.e. the model's column date);
* ``hashrate_eh_s``: mean of the daily hashrate estimates over the month's
  last :data:`HASHRATE_WINDOW_DAYS` days (one day's estimate rests on ~144
  blocks and has ~8% Poisson noise; two weeks bring it to ~2%);
* ``hashprice_usd_per_ph_day``: miners' revenue (subsidy + fees) over the
  same window divided by the summed hashrate [USD per PH/s per day];
* ``hashprice_point_usd_per_ph_day``: the same BTC revenue per hash valued
  at the day's close instead of each day's price (a point value, like the
  market model's columns: what a back-test compares a forecast with);
* ``fees_btc_per_block`` and ``subsidy_btc_per_block``: the month's totals in
  BTC divided by its blocks;
* ``block_height``: blocks mined by the end of the month, counted from the
  last halving seen in the data (the subsidy changes on that day; blocks of
  the old subsidy that day are told apart by the day's issuance).

References
----------
Coin Metrics community data (CC BY-NC 4.0), see ../shared/data/btc/README.md.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

import numpy as np
import pandas as pd
import platformdirs

from .errors import PivotsimError
from .models.timeline import HALVING_INTERVAL_BLOCKS, subsidy_btc

HASHRATE_WINDOW_DAYS = 14
#: name of the daily file, as shipped and as ``pivotsim data update`` writes it
DATA_FILE_NAME = "btc_network_daily_coinmetrics.csv"
REQUIRED_COLUMNS = ("date", "price_usd", "difficulty_mean", "hashrate_ths", "block_count", "issuance_usd",
                    "fees_usd")


def user_data_dir() -> Path:
    """pivotsim's folder in the user's data directory (platformdirs), e.g. ``~/.local/share/pivotsim``."""
    return platformdirs.user_data_path("pivotsim", appauthor=False)


def data_file(folder: str | Path | None = None) -> Path:
    """The daily data file in ``folder`` (default: :func:`user_data_dir`)."""
    return Path(folder if folder is not None else user_data_dir()) / DATA_FILE_NAME


@functools.lru_cache(maxsize=4)
def _read(path: str, mtime: float) -> pd.DataFrame:
    try:
        df = pd.read_csv(path)
    except FileNotFoundError:
        raise PivotsimError(f"{path}: file not found") from None
    except ValueError as exc:
        raise PivotsimError(f"{path}: cannot read as CSV with a 'date' column ({exc})") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise PivotsimError(f"{path}: missing column(s) {', '.join(missing)}; expected the Coin Metrics "
                            f"layout ({', '.join(REQUIRED_COLUMNS)})")
    df["date"] = pd.to_datetime(df["date"], format="%Y-%m-%d", errors="coerce")
    if df["date"].isna().any():
        row = int(df["date"].isna().to_numpy().argmax()) + 2
        raise PivotsimError(f"{path}:{row}: date is not a YYYY-MM-DD day")
    check_days(list(df["date"].dt.date), path)
    for column in REQUIRED_COLUMNS[1:]:
        values = pd.to_numeric(df[column], errors="coerce")
        if values.isna().any():
            row = int(values.isna().to_numpy().argmax()) + 2
            raise PivotsimError(f"{path}:{row}: {column} is {df[column].iloc[row - 2]!r}; must be a number")
        df[column] = values
    df = df.set_index("date")
    df["subsidy_btc_per_block"] = df["issuance_usd"] / df["price_usd"] / df["block_count"]
    df["fees_btc"] = df["fees_usd"] / df["price_usd"]
    df["issued_btc"] = df["issuance_usd"] / df["price_usd"]
    df["block_height"] = _block_heights(df)
    return df


def check_days(days, where: str) -> None:
    """Days must follow each other one by one: no duplicate, no gap, no going back."""
    for previous, day in zip(days, days[1:]):
        step = (day - previous).days
        if step == 0:
            raise PivotsimError(f"{where}: day {day} appears twice; each day must appear once")
        if step < 0:
            raise PivotsimError(f"{where}: day {day} comes after {previous}; days must be in order")
        if step > 1:
            raise PivotsimError(f"{where}: {step - 1} day(s) missing after {previous}; the series must have "
                                "every day")


def read_daily(path: str | Path) -> pd.DataFrame:
    """The daily file, indexed by date, with derived BTC columns and block heights.

    Parameters
    ----------
    path : str or Path
        CSV in the Coin Metrics layout.

    Returns
    -------
    pandas.DataFrame
        Source columns plus ``subsidy_btc_per_block``, ``fees_btc``,
        ``issued_btc`` and ``block_height`` (blocks mined by the end of the day).
    """
    p = Path(path)
    if not p.is_file():
        raise PivotsimError(f"{path}: file not found")
    return _read(str(p.resolve()), p.stat().st_mtime)


def _block_heights(df: pd.DataFrame) -> pd.Series:
    """Blocks mined by the end of each day, anchored on the last halving in the data.

    Each day's era is the one whose subsidy is nearest (in log) to the day's
    issuance per block.  Around the last change of era, the blocks of the new
    era on the day before and on the day of the change are read from the
    issuance, ``n_new = (N s_old - issued) / (s_old - s_new)``; a day within 2%
    of a pure era counts as pure (the source's 2024-04-19 row is 1.3% off for
    no halving reason; the halving block came at 00:09 UTC on 2024-04-20).
    Accurate to a few blocks.
    """
    subsidy = df["subsidy_btc_per_block"].to_numpy()
    era_subsidies = np.array([subsidy_btc(e * HALVING_INTERVAL_BLOCKS) for e in range(12)])
    era = np.argmin(np.abs(np.log(subsidy[:, None] / era_subsidies[None, :])), axis=1)
    changes = np.flatnonzero(np.diff(era) > 0) + 1
    if not changes.size:
        raise PivotsimError("no halving in the data: cannot anchor block heights")
    day = changes[-1]
    new_era = int(era[day])
    old, new = era_subsidies[new_era - 1], era_subsidies[new_era]
    blocks = df["block_count"].to_numpy(dtype=float)
    issued = df["issued_btc"].to_numpy()

    def new_blocks(i: int) -> float:
        if subsidy[i] >= 0.98 * old:
            return 0.0
        if subsidy[i] <= 1.02 * new:
            return blocks[i]
        return float(np.clip(np.round((blocks[i] * old - issued[i]) / (old - new)), 0.0, blocks[i]))

    anchor = new_era * HALVING_INTERVAL_BLOCKS + new_blocks(day - 1) + new_blocks(day)
    cumulative = np.cumsum(blocks)
    heights = anchor + cumulative - cumulative[day]
    return pd.Series(heights, index=df.index)


def _as_date(x) -> pd.Timestamp:
    return pd.Timestamp(x) if x is not None else None


def monthly_network(path: str | Path, start=None, end=None) -> pd.DataFrame:
    """Month-end network series (see module docstring) for the months ending in [start, end].

    Parameters
    ----------
    path : str or Path
        Daily CSV.
    start, end : date-like, optional
        Window; a month is kept when its last day (or the last day of data)
        lies in it.  The row before ``start`` (the month-end just before the
        window) is included as the starting state, labelled by its date.

    Returns
    -------
    pandas.DataFrame indexed by the month's last available day
        ``price_usd, hashrate_eh_s, hashprice_usd_per_ph_day, hashprice_point_usd_per_ph_day, difficulty,
        block_height, fees_btc_per_block, subsidy_btc_per_block, days``.
    """
    daily = read_daily(path)
    window = daily.rolling(HASHRATE_WINDOW_DAYS, min_periods=HASHRATE_WINDOW_DAYS)
    rolled_hash = window["hashrate_ths"].sum()
    rolled_revenue = (daily["issuance_usd"] + daily["fees_usd"]).rolling(HASHRATE_WINDOW_DAYS).sum()
    rolled_btc = (daily["issued_btc"] + daily["fees_btc"]).rolling(HASHRATE_WINDOW_DAYS).sum()
    point = pd.DataFrame({
        "price_usd": daily["price_usd"],
        "hashrate_eh_s": rolled_hash / HASHRATE_WINDOW_DAYS / 1e6,
        "hashprice_usd_per_ph_day": rolled_revenue / rolled_hash * 1e3,
        "hashprice_point_usd_per_ph_day": rolled_btc * daily["price_usd"] / rolled_hash * 1e3,
        "difficulty": daily["difficulty_mean"],
        "block_height": daily["block_height"],
    })
    month = daily.index.to_period("M")
    last_day = daily.index.to_series().groupby(month).max()
    sums = daily[["fees_btc", "issued_btc", "block_count"]].groupby(month).sum()
    out = point.loc[last_day.to_numpy()].copy()
    out["fees_btc_per_block"] = (sums["fees_btc"] / sums["block_count"]).to_numpy()
    out["subsidy_btc_per_block"] = (sums["issued_btc"] / sums["block_count"]).to_numpy()
    out["days"] = daily.index.to_series().groupby(month).count().to_numpy()
    start, end = _as_date(start), _as_date(end)
    if end is not None:
        out = out[out.index <= end]
    if start is not None:
        before = out[out.index < start]
        out = pd.concat([before.iloc[-1:], out[out.index >= start]]) if len(before) else out[out.index >= start]
    return out


def state_at(path: str | Path, day) -> dict:
    """Network state at the end of ``day`` (the model's t = 0 on the next day).

    Returns
    -------
    dict
        ``btc_price_usd``, ``difficulty``, ``network_hashrate_eh_s`` (two-week
        mean), ``block_height``, ``fees_btc_per_block`` (mean of the last 30
        days), ``hashprice_usd_per_ph_day`` (two weeks), ``date``.
    """
    daily = read_daily(path)
    day = pd.Timestamp(day)
    upto = daily.loc[:day]
    if upto.empty:
        raise PivotsimError(f"{day.date()}: before the first day of data ({daily.index[0].date()})")
    last = upto.iloc[-1]
    two_weeks = upto.iloc[-HASHRATE_WINDOW_DAYS:]
    month = upto.iloc[-30:]
    return {
        "date": upto.index[-1].date(),
        "btc_price_usd": float(last["price_usd"]),
        "difficulty": float(last["difficulty_mean"]),
        "network_hashrate_eh_s": float(two_weeks["hashrate_ths"].mean() / 1e6),
        "block_height": int(round(last["block_height"])),
        "fees_btc_per_block": float(month["fees_btc"].sum() / month["block_count"].sum()),
        "hashprice_usd_per_ph_day": float((two_weeks["issuance_usd"] + two_weeks["fees_usd"]).sum()
                                          / two_weeks["hashrate_ths"].sum() * 1e3),
    }


@functools.lru_cache(maxsize=16)
def _monthly_log_returns(path: str, start: dt.date, end: dt.date) -> np.ndarray:
    prices = monthly_network(path, start, end)["price_usd"].to_numpy()
    returns = np.diff(np.log(prices))
    returns.flags.writeable = False
    return returns


def monthly_log_returns(path: str | Path, start, end) -> np.ndarray:
    """Month-end to month-end log returns of the BTC price over a window (read-only array).

    The first return runs from the month-end just before ``start``.
    """
    returns = _monthly_log_returns(str(path), pd.Timestamp(start).date(), pd.Timestamp(end).date())
    if returns.size < 2:
        raise PivotsimError(f"{path}: fewer than two monthly returns between {start} and {end}")
    return returns
