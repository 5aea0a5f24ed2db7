"""Spot mining figures an analyst quotes: hashprice, revenue per kWh, break-even prices, next halving.

Everything here is at one instant (a day's network state), at the protocol's
target block interval of 600 s, so one PH/s earns its share
``1e15 / H`` of 144 blocks a day, ``H = D 2^32 / 600`` [H/s]:

* hashprice [USD per PH/s per day] ``= 144 (s + f) S 1e15 / H``, with s the
  subsidy and f the fees per block [BTC], S the price [USD/BTC];
* a machine of ``e`` J/TH draws ``e x 0.024`` kWh per TH/s per day (1 W for
  24 h is 0.024 kWh), so its revenue per kWh [USD/kWh] is
  ``hashprice / 1000 / (e 0.024)`` before the pool fee;
* the break-even power price [USD/kWh] is the power price at which the
  machine's revenue after the pool fee pays its power:
  ``hashprice / 1000 (1 - pool fee) / (e 0.024)``;
* the break-even BTC price [USD/BTC] at a power price c solves the same
  equality for S: ``c e 0.024 1e12 H_TH / (144 (s + f) (1 - pool fee))`` with
  ``H_TH = H / 1e12`` (fees held in BTC);
* the next halving's expected date: the blocks to the next multiple of
  210,000 at 144 a day.

References
----------
Bitcoin protocol: H = D 2^32 / 600 s, subsidy schedule (Bitcoin Core
``GetBlockSubsidy``).  DESIGN.md, "Economics" (hashprice, revenue per kWh,
break-even power and BTC prices).  ASIC efficiencies:
``../shared/sources/reference_figures.md`` (REF).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import PivotsimError
from .market import KWH_PER_TH_DAY_PER_J_PER_TH, hashprice_usd_per_ph_day, hashrate_from_difficulty_eh_s
from .timeline import BLOCKS_PER_DAY, HALVING_INTERVAL_BLOCKS, subsidy_btc

#: ASIC classes of the reference figures [J/TH]: S19 XP, S21, S21+, S21+ Hydro, S21 XP (REF)
REFERENCE_EFFICIENCIES_J_PER_TH = (21.5, 17.5, 16.5, 15.0, 13.5)
#: pool fee when none is given: the library scenarios' FPPS assumption [-]
DEFAULT_POOL_FEE_SHARE = 0.01
TH_PER_PH = 1e3


def _positive(name: str, value) -> float:
    value = float(value)
    if not value > 0 or not np.isfinite(value):
        raise PivotsimError(f"{name}: {value:g} is not allowed; must be > 0")
    return value


def _share(name: str, value) -> float:
    value = float(value)
    if not 0 <= value < 1:
        raise PivotsimError(f"{name}: {value:g} is not allowed; must be in [0, 1)")
    return value


def revenue_usd_per_kwh(hashprice, efficiency_j_per_th):
    """Revenue per kWh of a machine at a hashprice, before the pool fee [USD/kWh].

    Parameters
    ----------
    hashprice : float or ndarray
        [USD per PH/s per day]
    efficiency_j_per_th : float or ndarray
        [J/TH]
    """
    return np.asarray(hashprice, dtype=float) / TH_PER_PH / (
        np.asarray(efficiency_j_per_th, dtype=float) * KWH_PER_TH_DAY_PER_J_PER_TH)


def breakeven_power_usd_per_kwh(hashprice, efficiency_j_per_th, pool_fee_share=DEFAULT_POOL_FEE_SHARE):
    """Power price at which a machine's revenue after the pool fee pays its power [USD/kWh].

    ``hashprice / 1000 (1 - pool fee) / (e 0.024)``: hashprice per TH/s per
    day after the pool fee over the kWh one TH/s draws in a day.
    """
    return revenue_usd_per_kwh(hashprice, efficiency_j_per_th) * (1.0 - pool_fee_share)


def breakeven_btc_price_usd(power_usd_per_kwh, efficiency_j_per_th, network_hashrate_eh_s, reward_btc_per_block,
                            pool_fee_share=DEFAULT_POOL_FEE_SHARE):
    """BTC price at which a machine's revenue after the pool fee pays its power [USD/BTC].

    Parameters
    ----------
    power_usd_per_kwh : float
        [USD/kWh]
    efficiency_j_per_th : float or ndarray
        [J/TH]
    network_hashrate_eh_s : float
        [EH/s]
    reward_btc_per_block : float
        Subsidy plus fees [BTC/block].
    pool_fee_share : float
        [-]
    """
    # hashprice is linear in S: hashprice(S) = S hashprice(1)
    per_usd = hashprice_usd_per_ph_day(1.0, network_hashrate_eh_s, reward_btc_per_block)
    per_usd_kwh = breakeven_power_usd_per_kwh(per_usd, efficiency_j_per_th, pool_fee_share)
    return np.asarray(power_usd_per_kwh, dtype=float) / per_usd_kwh


def next_halving_date(block_height: int, on: dt.date, blocks_per_day: float = BLOCKS_PER_DAY) -> dt.date:
    """Expected date of the next halving: the blocks left at ``blocks_per_day`` [blocks/day] from ``on``."""
    height = int(block_height)
    left = (height // HALVING_INTERVAL_BLOCKS + 1) * HALVING_INTERVAL_BLOCKS - height
    return on + dt.timedelta(days=round(left / blocks_per_day))


def _key(efficiency: float) -> str:
    """A J/TH figure as a dict key: ``"17.5"``, ``"15"``."""
    return f"{efficiency:g}"


@dataclass
class SpotFigures:
    """Mining figures at one network state (see the module docstring).

    Attributes
    ----------
    date : datetime.date
        Day of the state.
    btc_price_usd, difficulty, fees_btc_per_block : float
    block_height : int
    subsidy_btc_per_block : float
        The era's subsidy (the next era's with ``after_halving``) [BTC/block].
    network_hashrate_eh_s : float
        ``D 2^32 / 600`` [EH/s].
    hashprice_usd_per_ph_day : float
    pool_fee_share : float
    revenue_usd_per_kwh, breakeven_power_usd_per_kwh : dict of str -> float
        Per ASIC class, keyed by its J/TH as a string.
    power_price_usd_per_kwh : float or None
        The power price of ``breakeven_btc_price_usd``.
    breakeven_btc_price_usd : dict of str -> float
        Per ASIC class at that power price (empty without one).
    next_halving_height : int
    next_halving_date : datetime.date
    source : str
        Where the state came from (a data file, or "given").
    """

    date: dt.date
    btc_price_usd: float
    difficulty: float
    fees_btc_per_block: float
    block_height: int
    subsidy_btc_per_block: float
    network_hashrate_eh_s: float
    hashprice_usd_per_ph_day: float
    pool_fee_share: float
    revenue_usd_per_kwh: dict = field(default_factory=dict)
    breakeven_power_usd_per_kwh: dict = field(default_factory=dict)
    power_price_usd_per_kwh: float | None = None
    breakeven_btc_price_usd: dict = field(default_factory=dict)
    next_halving_height: int = 0
    next_halving_date: dt.date | None = None
    after_halving: bool = False
    source: str = "given"

    def to_dict(self) -> dict:
        """Plain values (dates as ISO strings) for JSON."""
        out = dict(self.__dict__)
        out["date"] = self.date.isoformat()
        out["next_halving_date"] = self.next_halving_date.isoformat()
        return out


def spot_figures(btc_price_usd: float, difficulty: float, fees_btc_per_block: float, block_height: int,
                 on: dt.date, *, efficiencies_j_per_th=REFERENCE_EFFICIENCIES_J_PER_TH,
                 pool_fee_share: float = DEFAULT_POOL_FEE_SHARE, power_price_usd_per_kwh: float | None = None,
                 after_halving: bool = False, source: str = "given") -> SpotFigures:
    """Hashprice, revenue per kWh and break-even prices of each ASIC class at one network state.

    Parameters
    ----------
    btc_price_usd : float
        [USD/BTC], > 0.
    difficulty : float
        Network difficulty, > 0.
    fees_btc_per_block : float
        [BTC/block], >= 0.
    block_height : int
        [blocks], >= 0.
    on : datetime.date
        Day of the state.
    efficiencies_j_per_th : sequence of float
        ASIC classes [J/TH], each > 0.
    pool_fee_share : float
        [-], in [0, 1).
    power_price_usd_per_kwh : float, optional
        [USD/kWh]: adds the break-even BTC price of each class.
    after_halving : bool
        Use the next era's subsidy (the figures just after the next halving).
    source : str
        Where the state comes from.

    Returns
    -------
    SpotFigures
    """
    price = _positive("btc_price_usd", btc_price_usd)
    difficulty = _positive("difficulty", difficulty)
    fees = float(fees_btc_per_block)
    if not fees >= 0:
        raise PivotsimError(f"fees_btc_per_block: {fees:g} is not allowed; must be >= 0")
    if not int(block_height) >= 0:
        raise PivotsimError(f"block_height: {block_height} is not allowed; must be >= 0")
    pool = _share("pool_fee_share", pool_fee_share)
    classes = [_positive("efficiency_j_per_th", e) for e in efficiencies_j_per_th]
    power = None if power_price_usd_per_kwh is None else _positive("power_price_usd_per_kwh",
                                                                    power_price_usd_per_kwh)
    height = int(block_height)
    next_height = (height // HALVING_INTERVAL_BLOCKS + 1) * HALVING_INTERVAL_BLOCKS
    subsidy = subsidy_btc(next_height if after_halving else height)
    hashrate = float(hashrate_from_difficulty_eh_s(difficulty))
    hashprice = float(hashprice_usd_per_ph_day(price, hashrate, subsidy + fees))
    figures = SpotFigures(
        date=on, btc_price_usd=price, difficulty=difficulty, fees_btc_per_block=fees, block_height=height,
        subsidy_btc_per_block=subsidy, network_hashrate_eh_s=hashrate, hashprice_usd_per_ph_day=hashprice,
        pool_fee_share=pool, power_price_usd_per_kwh=power, next_halving_height=next_height,
        next_halving_date=next_halving_date(height, on), after_halving=bool(after_halving), source=source)
    for e in classes:
        figures.revenue_usd_per_kwh[_key(e)] = float(revenue_usd_per_kwh(hashprice, e))
        figures.breakeven_power_usd_per_kwh[_key(e)] = float(breakeven_power_usd_per_kwh(hashprice, e, pool))
        if power is not None:
            figures.breakeven_btc_price_usd[_key(e)] = float(
                breakeven_btc_price_usd(power, e, hashrate, subsidy + fees, pool))
    return figures


# --------------------------------------------------------------------------- a fleet's cash flows

def _ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def mining_cost_kpis(flows) -> dict:
    """Mining's spot and horizon-average figures of one path (the base case), from its cash flows.

    Parameters
    ----------
    flows : CashFlows
        Mining's line items (one path, :func:`pivotsim.models.mining.mining_cash_flows`
        with quantities).

    *Spot* is month 1 (the first month after the valuation date), *average*
    the whole horizon.  Cash cost is power plus direct opex per BTC mined;
    all-in adds G&A (not a line of the model: 0) and depreciation, not the
    gross capex.

    Returns
    -------
    dict
        ``hashprice_usd_per_ph_day`` (t = 0), ``btc_mined``,
        ``revenue_per_kwh_spot_usd``, ``revenue_per_kwh_avg_usd`` [USD per kWh
        of grid power], ``cash_cost_per_btc_spot_usd``,
        ``cash_cost_per_btc_avg_usd``, ``all_in_cost_per_btc_usd`` and
        ``all_in_cost_components_usd_per_btc`` (``cash``, ``g_and_a``,
        ``depreciation``) [USD/BTC].
    """
    def row(x):
        return np.asarray(x, dtype=float)[0]

    btc = row(flows.quantities["btc_mined"])
    kwh = row(flows.quantities["grid_kwh"])
    revenue = row(flows.items["revenue_usd"])
    cash = -(row(flows.items["power_usd"]) + row(flows.items["opex_usd"]))
    depreciation = row(flows.quantities["depreciation_usd"])
    btc_total = float(btc.sum())
    cash_avg = _ratio(float(cash.sum()), btc_total)
    depreciation_avg = _ratio(float(depreciation.sum()), btc_total)
    g_and_a = 0.0
    return {
        "hashprice_usd_per_ph_day": float(flows.quantities["hashprice_usd_per_ph_day"][0, 0]),
        "btc_mined": btc_total,
        "revenue_per_kwh_spot_usd": _ratio(float(revenue[1]), float(kwh[1])),
        "revenue_per_kwh_avg_usd": _ratio(float(revenue.sum()), float(kwh.sum())),
        "cash_cost_per_btc_spot_usd": _ratio(float(cash[1]), float(btc[1])),
        "cash_cost_per_btc_avg_usd": cash_avg,
        "all_in_cost_per_btc_usd": cash_avg + g_and_a + depreciation_avg,
        "all_in_cost_components_usd_per_btc": {"cash": cash_avg, "g_and_a": g_and_a,
                                               "depreciation": depreciation_avg},
    }
