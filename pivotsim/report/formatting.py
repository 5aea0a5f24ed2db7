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
