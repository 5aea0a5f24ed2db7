"""How numbers read in reports: $1.94B, 18.2%, 27 months, $0.077/kWh.

The rules are the terminal's (``pivotsim run``), so a figure in the PDF is
character for character the one a user saw in the terminal or can compute
from summary.json.  None (no IRR, never pays back) reads "n/a" or "never".
"""

from __future__ import annotations

import math


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and not math.isfinite(x))


def money(x) -> str:
    """Amount in USD: ``$1.94B``, ``-$134.68M``, ``$48.98`` (two decimals)."""
    if _missing(x):
        return "n/a"
    sign = "-" if x < 0 else ""
    a = abs(x)
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= scale:
            return f"{sign}${a / scale:,.2f}{suffix}"
    return f"{sign}${a:,.2f}"


def pct(x, digits: int = 1) -> str:
    """A fraction as a percentage: 0.182 -> ``18.2%``."""
    return "n/a" if _missing(x) else f"{x * 100:.{digits}f}%"


def months(x) -> str:
    """Months, rounded: ``27 months``; None -> ``never``."""
    return "never" if _missing(x) else f"{x:.0f} months"


def number(x, digits: int = 0) -> str:
    """A plain number with thousands separators."""
    return "n/a" if _missing(x) else f"{x:,.{digits}f}"


def per_kwh(x) -> str:
    """A price per kWh: ``$0.077/kWh``."""
    return "n/a" if _missing(x) else f"${x:.3f}/kWh"


def usd_price(x) -> str:
    """A unit price in whole dollars: ``$109,669``."""
    return "n/a" if _missing(x) else f"${x:,.0f}"


# Base-case metrics shown side by side, in the terminal (short label) and in
# the PDF (long label): summary key, short label, long label, formatter.
BASE_METRIC_ROWS = [
    ("npv_usd", "NPV", "NPV", money),
    ("irr", "IRR (annual)", "IRR (annual)", pct),
    ("payback_months", "Payback", "Payback", months),
    ("discounted_payback_months", "Discounted payback", "Discounted payback", months),
    ("peak_funding_usd", "Peak funding need", "Peak funding need", money),
    ("total_revenue_usd", "Total revenue", "Total revenue (nominal)", money),
    ("ebitda_margin", "EBITDA margin", "EBITDA margin", pct),
    ("revenue_usd_per_kwh", "Revenue per kWh (grid)", "Revenue per kWh of grid power", per_kwh),
    ("revenue_usd_per_kwh_critical_it", "Revenue per kWh (critical IT)", "Revenue per kWh of critical IT",
     per_kwh),
    ("hashprice_usd_per_ph_day", "Hashprice at t=0 (USD/PH/day)", "Hashprice at t = 0 (USD per PH/s per day)",
     lambda x: number(x, 2)),
    ("btc_mined", "BTC mined", "BTC mined", lambda x: number(x, 0)),
    ("cash_cost_usd_per_btc", "Cash cost per BTC", "Cash cost per BTC", money),
    ("all_in_cost_usd_per_btc", "All-in cost per BTC", "All-in cost per BTC", money),
    ("contract_value_usd", "Contract value", "Contract value", money),
    ("annual_revenue_usd", "Annual revenue (ARR)", "Annual revenue (ARR)", money),
    ("prepayment_usd", "Prepayment", "Prepayment", money),
]
