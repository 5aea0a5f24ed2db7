"""Spot mining figures from the latest network data, or from given values (``pivotsim hashprice``).

The state is the last day of the daily data file (:mod:`pivotsim.data_refresh`:
the user data folder's, or a given file): its close, mean difficulty, block
height and the fees per block of its last 30 days; any value given replaces
the file's.  With every value given no file is read.  The figures are those
of :func:`pivotsim.models.spot.spot_figures`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from .. import btc_data, data_refresh
from ..errors import PivotsimError
from ..models.spot import (DEFAULT_POOL_FEE_SHARE, REFERENCE_EFFICIENCIES_J_PER_TH, SpotFigures,
                           spot_figures)

#: the state values a user can give instead of the file's
STATE_VALUES = ("btc_price_usd", "difficulty", "fees_btc_per_block", "block_height")


def latest_state(data_file: str | Path | None = None) -> dict:
    """The network state on the last day of a data file (default: the user data folder's).

    Returns
    -------
    dict
        ``date``, ``btc_price_usd``, ``difficulty``, ``fees_btc_per_block``
        (30-day mean), ``block_height``, ``source`` (the file).
    """
    path = Path(data_file) if data_file is not None else data_refresh.data_file()
    if not path.exists():
        raise PivotsimError(f"{path}: no data file; run `pivotsim data update` or give --btc-price, --difficulty, "
                            "--fees-btc-per-block and --block-height")
    last = data_refresh.read_file_state(path).last_day
    state = btc_data.state_at(path, last)
    return {"date": state["date"], "btc_price_usd": state["btc_price_usd"], "difficulty": state["difficulty"],
            "fees_btc_per_block": state["fees_btc_per_block"], "block_height": state["block_height"],
            "source": str(path)}


def hashprice(*, data_file: str | Path | None = None, btc_price_usd: float | None = None,
              difficulty: float | None = None, fees_btc_per_block: float | None = None,
              block_height: int | None = None, on: dt.date | None = None, after_halving: bool = False,
              efficiencies_j_per_th=(), pool_fee_share: float = DEFAULT_POOL_FEE_SHARE,
              power_price_usd_per_kwh: float | None = None) -> SpotFigures:
    """Spot figures of the latest data, with any given value in place of the file's.

    Parameters
    ----------
    data_file : str or Path, optional
        Daily CSV (default: the user data folder's); not read when all four
        state values are given.
    btc_price_usd, difficulty, fees_btc_per_block, block_height : optional
        [USD/BTC], [-], [BTC/block], [blocks].
    on : datetime.date, optional
        Day of the state when all values are given (default: today, UTC).
    after_halving : bool
        The figures at the next era's subsidy.
    efficiencies_j_per_th : sequence of float
        ASIC classes [J/TH] added to the reference ones.
    pool_fee_share : float
        [-]
    power_price_usd_per_kwh : float, optional
        [USD/kWh]: adds the break-even BTC price of each class.

    Returns
    -------
    SpotFigures
    """
    given = {"btc_price_usd": btc_price_usd, "difficulty": difficulty, "fees_btc_per_block": fees_btc_per_block,
             "block_height": block_height}
    _check_given(given)
    if all(v is not None for v in given.values()):
        state = dict(given, date=on or dt.datetime.now(dt.timezone.utc).date(), source="given")
    else:
        state = latest_state(data_file)
        state.update({k: v for k, v in given.items() if v is not None})
        if any(v is not None for v in given.values()):
            state["source"] += " (with given " + ", ".join(k for k, v in given.items() if v is not None) + ")"
    classes = tuple(REFERENCE_EFFICIENCIES_J_PER_TH) + tuple(
        e for e in efficiencies_j_per_th if float(e) not in REFERENCE_EFFICIENCIES_J_PER_TH)
    return spot_figures(state["btc_price_usd"], state["difficulty"], state["fees_btc_per_block"],
                        int(state["block_height"]), state["date"], efficiencies_j_per_th=classes,
                        pool_fee_share=pool_fee_share, power_price_usd_per_kwh=power_price_usd_per_kwh,
                        after_halving=after_halving, source=state["source"])


def _check_given(given: dict) -> None:
    """Given values checked before any file is read (one line naming the value)."""
    for name in ("btc_price_usd", "difficulty"):
        value = given[name]
        if value is not None and not float(value) > 0:
            raise PivotsimError(f"{name}: {value:g} is not allowed; must be > 0")
    if given["fees_btc_per_block"] is not None and not float(given["fees_btc_per_block"]) >= 0:
        raise PivotsimError(f"fees_btc_per_block: {given['fees_btc_per_block']:g} is not allowed; must be >= 0")
    if given["block_height"] is not None and not int(given["block_height"]) >= 0:
        raise PivotsimError(f"block_height: {given['block_height']} is not allowed; must be >= 0")
