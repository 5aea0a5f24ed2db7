"""Monthly grid and the bitcoin block-subsidy schedule.

Column 0 of every array is the valuation date (an instant: signing payments
and initial capex land there, undiscounted); column m (1 <= m <= horizon) is
the end of month m, and flows in that column are the month's totals.

References
----------
Bitcoin Core, ``GetBlockSubsidy`` (src/validation.cpp): the subsidy is
``50 * COIN >> (height // 210000)`` satoshis, zero from the 64th halving.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..compiled import inner_kernel, kernel

HALVING_INTERVAL_BLOCKS = 210_000
INITIAL_SUBSIDY_SATOSHI = 50 * 100_000_000
SATOSHI_PER_BTC = 100_000_000
TARGET_BLOCK_INTERVAL_S = 600
BLOCKS_PER_DAY = 86_400 / TARGET_BLOCK_INTERVAL_S
HOURS_PER_DAY = 24


@dataclass(frozen=True)
class Timeline:
    """Month-end dates from a valuation date over a horizon.

    Attributes
    ----------
    valuation_date : datetime.date
        t = 0.
    horizon_months : int
        Number of months after t = 0.
    """

    valuation_date: dt.date
    horizon_months: int

    @property
    def n_periods(self) -> int:
        """Columns of every array: t = 0 plus one per month."""
        return self.horizon_months + 1

    @cached_property
    def month_dates(self) -> tuple[dt.date, ...]:
        """Date of each column: the valuation date, then each month's end (as ``pd.DateOffset(months=m)``)."""
        return _month_dates(self.valuation_date, self.horizon_months)

    @cached_property
    def dates(self) -> "pd.DatetimeIndex":  # noqa: F821 - pandas only for those who ask for an index
        """:attr:`month_dates` as a pandas index."""
        import pandas as pd

        return pd.DatetimeIndex(self.month_dates)

    @cached_property
    def days(self) -> np.ndarray:
        """Days in each column's month [days]; 0 for t = 0 (read-only)."""
        # Shared across instances: the calendar arithmetic of ``dates`` costs
        # more than the model arithmetic of a one-path base case.
        return _month_days(self.valuation_date, self.horizon_months)

    @cached_property
    def hours(self) -> np.ndarray:
        """Hours in each column's month [h]; 0 for t = 0 (read-only)."""
        hours = self.days * HOURS_PER_DAY
        hours.flags.writeable = False
        return hours

    @cached_property
    def years(self) -> np.ndarray:
        """Time of each column from t = 0 [years], months counted as 1/12 (read-only)."""
        years = np.arange(self.n_periods) / 12.0
        years.flags.writeable = False
        return years


def add_months(date: dt.date, months: int) -> dt.date:
    """``date`` plus whole months, the day clipped to the month's last (``pd.DateOffset(months=...)``)."""
    index = date.year * 12 + date.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(date.day, last))


@functools.lru_cache(maxsize=64)
def _month_dates(valuation_date: dt.date, horizon_months: int) -> tuple[dt.date, ...]:
    start = valuation_date.date() if isinstance(valuation_date, dt.datetime) else valuation_date
    return tuple(add_months(start, m) for m in range(horizon_months + 1))


@functools.lru_cache(maxsize=64)
def _month_days(valuation_date: dt.date, horizon_months: int) -> np.ndarray:
    # Cached: every model asks, and the calendar arithmetic costs more than a one-path base case.
    dates = _month_dates(valuation_date, horizon_months)
    days = np.zeros(horizon_months + 1)
    days[1:] = [(b - a).days for a, b in zip(dates[:-1], dates[1:])]
    days.flags.writeable = False
    return days


def subsidy_btc(height):
    """Block subsidy at a block height, exactly as the protocol computes it.

    Parameters
    ----------
    height : int or ndarray of int
        Block height [blocks].

    Returns
    -------
    float or ndarray
        Subsidy [BTC per block]: 50 halving every 210,000 blocks, in whole
        satoshis (50e8 >> era), zero from era 64.

    Examples
    --------
    >>> subsidy_btc(840_000), subsidy_btc(1_050_000)
    (3.125, 1.5625)
    """
    era = np.asarray(height, dtype=np.int64) // HALVING_INTERVAL_BLOCKS
    sat = np.where(era < 64, np.right_shift(INITIAL_SUBSIDY_SATOSHI, np.minimum(era, 63)), 0)
    result = sat / SATOSHI_PER_BTC
    return float(result) if np.ndim(result) == 0 else result


def _era_tables():
    """Subsidy [BTC/block] of each era and BTC issued before each era starts."""
    subsidy = np.array([(INITIAL_SUBSIDY_SATOSHI >> era) / SATOSHI_PER_BTC if era < 64 else 0.0
                        for era in range(MAX_ERA + 1)])
    issued_before = np.concatenate([[0.0], np.cumsum(subsidy[:-1] * HALVING_INTERVAL_BLOCKS)])
    return subsidy, issued_before


MAX_ERA = 64
ERA_SUBSIDY_BTC, ERA_ISSUED_BEFORE_BTC = _era_tables()


@inner_kernel
def era_of_height(height):
    """Subsidy era of a (real-valued) block height, capped at :data:`MAX_ERA`."""
    return min(int(math.floor(height / HALVING_INTERVAL_BLOCKS)), MAX_ERA)


@inner_kernel
def cumulative_subsidy_at(height):
    """:func:`cumulative_subsidy_btc` of one height [BTC] (compiled; also called by the market kernels)."""
    era = era_of_height(height)
    return (ERA_ISSUED_BEFORE_BTC[era]
            + min(height - era * HALVING_INTERVAL_BLOCKS, HALVING_INTERVAL_BLOCKS) * ERA_SUBSIDY_BTC[era])


@inner_kernel
def month_subsidy_at(height_start, height_end):
    """:func:`month_subsidy_btc_per_block` of one month [BTC/block] (compiled; also called by the market kernels)."""
    era_end = era_of_height(height_end)
    if era_of_height(height_start) == era_end:
        return ERA_SUBSIDY_BTC[era_end]
    return (cumulative_subsidy_at(height_end) - cumulative_subsidy_at(height_start)) / (height_end - height_start)


@kernel
def _cumulative_subsidy_each(heights, out):
    for i in range(heights.size):
        out[i] = cumulative_subsidy_at(heights[i])


@kernel
def _month_subsidy_each(starts, ends, out):
    for i in range(starts.size):
        out[i] = month_subsidy_at(starts[i], ends[i])


def cumulative_subsidy_btc(height):
    """BTC issued by blocks 0 .. height-1 (real-valued heights interpolate).

    Parameters
    ----------
    height : float or ndarray
        Number of blocks mined so far [blocks], >= 0; fractional heights
        count the fraction of the next block, so monthly differences are
        exact on average when a month does not hold a whole number of blocks.

    Returns
    -------
    float or ndarray
        Cumulative subsidy [BTC]: issued before the height's era plus the
        blocks of that era times its subsidy.
    """
    h = np.ascontiguousarray(height, dtype=float)
    out = np.empty(h.shape)
    _cumulative_subsidy_each(h.reshape(-1), out.reshape(-1))
    return out if out.ndim else float(out)


def month_subsidy_btc_per_block(height_start, height_end):
    """Average subsidy of the blocks between two heights [BTC/block].

    Exactly the era's subsidy when both heights lie in the same era (no
    rounding from differencing cumulative sums); the block-weighted average
    when a halving falls in between.

    Parameters
    ----------
    height_start, height_end : float or ndarray
        Heights at the start and end of the month [blocks], end > start
        (broadcast together).
    """
    start, end = np.broadcast_arrays(np.asarray(height_start, dtype=float), np.asarray(height_end, dtype=float))
    start, end = np.ascontiguousarray(start), np.ascontiguousarray(end)
    out = np.empty(start.shape)
    _month_subsidy_each(start.reshape(-1), end.reshape(-1), out.reshape(-1))
    return out if out.ndim else float(out)


def next_halving_height(height):
    """Height of the next halving after ``height`` [blocks]."""
    return (int(height) // HALVING_INTERVAL_BLOCKS + 1) * HALVING_INTERVAL_BLOCKS
