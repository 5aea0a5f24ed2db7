"""How numbers read, everywhere: $1.94B, 18.2%, 27 months, $0.077/kWh.

One set of formatters for the terminal, the PDF, chart labels and error
messages, so a figure in the PDF is character for character the one a user
saw in the terminal or can compute from summary.json.  None or NaN (no IRR,
never pays back) reads "n/a" or "never".
"""

from __future__ import annotations

import math


def missing(x) -> bool:
    """True for None, pandas' NA and non-finite numbers (no IRR, never pays back)."""
    if x is None:
        return True
    try:
        return not math.isfinite(x)
    except TypeError:  # pandas.NA and other missing markers are not numbers
        return str(x) in ("<NA>", "NaT", "nan", "None")


def money(x) -> str:
    """Amount in USD: ``$1.94B``, ``-$134.68M``, ``$48.98`` (two decimals)."""
    if missing(x):
        return "n/a"
    sign = "-" if x < 0 else ""
    a = abs(x)
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= scale:
            return f"{sign}${a / scale:,.2f}{suffix}"
    return f"{sign}${a:,.2f}"


def pct(x, digits: int = 1) -> str:
    """A fraction as a percentage: 0.182 -> ``18.2%``."""
    return "n/a" if missing(x) else f"{x * 100:.{digits}f}%"


def months(x) -> str:
    """Months, rounded: ``27 months``; None -> ``never``."""
    return "never" if missing(x) else f"{x:.0f} months"


def ratio(x) -> str:
    """A coverage ratio: 1.318 -> ``1.32x``."""
    return "n/a" if missing(x) else f"{x:.2f}x"


def number(x, digits: int = 0) -> str:
    """A plain number with thousands separators."""
    return "n/a" if missing(x) else f"{x:,.{digits}f}"


def per_kwh(x) -> str:
    """A price per kWh: ``$0.077/kWh``."""
    return "n/a" if missing(x) else f"${x:.3f}/kWh"


def per_kwh_text(x) -> str:
    """A price per kWh without the unit, for table cells under a $/kWh header: ``$0.077``."""
    return "n/a" if missing(x) else f"${x:.3f}"


def money_per_mw(x) -> str:
    """An amount per MW: ``$12.35M/MW``."""
    return "n/a" if missing(x) else f"{money(x)}/MW"


def usd_price(x) -> str:
    """A unit price in whole dollars: ``$109,669``."""
    return "n/a" if missing(x) else f"${x:,.0f}"


def compact_money(x: float, _pos=None, *, tenths: bool = False) -> str:
    """Short amount in USD for axes and narrow tables: $1.5B, $250M, $40k, $12 ('' when not finite).

    Usable as a matplotlib tick formatter (``_pos`` is ignored).  ``tenths``:
    a tenth also from 10 up where there is one ($10.5B; else $10B).
    """
    if missing(x):
        return ""
    if x == 0:
        return "$0"
    sign = "-" if x < 0 else ""
    a = abs(x)
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= scale:
            value = a / scale
            text = f"{value:.1f}".rstrip("0").rstrip(".") if value < 10 or tenths else f"{value:.0f}"
            return f"{sign}${text}{suffix}"
    return f"{sign}${a:.2f}".rstrip("0").rstrip(".") if a < 10 else f"{sign}${a:.0f}"


def compact_number(x: float, _pos=None) -> str:
    """Short plain number for axes: 1.5B, 250.0M, 40,000, 0.125."""
    a = abs(x)
    if a >= 1e12:
        return f"{x:.3g}"
    if a >= 1e9:
        return f"{x / 1e9:,.1f}B"
    if a >= 1e6:
        return f"{x / 1e6:,.1f}M"
    if a >= 1e4:
        return f"{x:,.0f}"
    return f"{x:,.4g}"


def significant(x: float) -> str:
    """Six significant digits, whole numbers from a million up: 0.125, 1,234.57, 12,345,678."""
    return f"{x:,.6g}" if abs(x) < 1e6 else f"{x:,.0f}"


def is_rate(path: str) -> bool:
    """Whether a metric or parameter path holds a rate or a probability (printed in %)."""
    name = path.rsplit(".", 1)[-1]
    # a statistic of a rate (ai.monte_carlo.equity.mirr.p50) is a rate too
    rate = name.endswith(("irr", "margin", "share", "_rate", "per_year")) or ".irr." in path or ".mirr." in path
    return rate or "prob" in path or "cost_of_" in path


_LABEL_WORDS = {"npv": "NPV", "irr": "IRR", "mirr": "MIRR", "dscr": "DSCR", "usd": "", "ai": "AI", "bitcoin": "BTC",
                "base": "", "monte_carlo": "MC", "comparison": ""}


def metric_words(path: str) -> str:
    """A metric path in words, for headers and axes: ``ai.base.debt.min_dscr`` -> ``AI debt min DSCR``."""
    words = [_LABEL_WORDS.get(w, w) for part in path.split(".") for w in ([part] if part in _LABEL_WORDS
                                                                           else part.split("_"))]
    return " ".join(w for w in words if w) or path


def axis_money(x: float, _pos=None) -> str:
    """:func:`compact_money` for axis ticks: a tenth from 10 up where needed ($10.5B, not a second $10B)."""
    return compact_money(x, tenths=True)


def is_coverage(path: str) -> bool:
    """Whether a metric path holds a coverage ratio (``ai.base.debt.min_dscr``, ``...min_dscr.p5``): 1.43x."""
    return "_dscr" in path


def reference_level(path: str) -> tuple[float, str]:
    """The level a metric is read against (a sweep's crossing, a chart's line): 1.00x for a DSCR, else zero."""
    return (1.0, ratio(1.0)) if is_coverage(path) else (0.0, "0")


def metric_text(path: str, x) -> str:
    """A metric or parameter by its dotted path: money for ``_usd``, % for probabilities and rates."""
    if missing(x):
        return "n/a"
    if is_rate(path):
        return pct(x)
    if is_coverage(path):
        return ratio(x)
    if "_usd" in path and "per_" not in path:
        return money(x)
    return significant(x)


def quantity_text(value, unit: str, *, plain_unit: bool = True) -> str:
    """A scenario number with its unit, as an analyst reads it: $9.70B, 20%, 8.5%/yr, $0.045/kWh, 17.5 J/TH.

    ``plain_unit=False`` leaves out units written after the number (MW, J/TH, months), for a table
    with a unit column; money and percentages keep their signs.
    """
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, (int, float)):
        return str(value)
    if missing(value):
        return "n/a"
    if unit == "USD":
        return money(value) if abs(value) >= 1e6 else f"${value:,.0f}"
    if unit.startswith("USD/kWh"):
        return f"${value:.3f}/kWh"
    if unit == "USD/kW-month":
        return f"${value:,.2f}/kW-mo"
    if unit == "USD/BTC":
        return f"${value:,.0f}"
    if unit.startswith("USD"):
        text = f"${value:,.4g}" if abs(value) < 1e4 else money(value)
        rest = unit[3:].strip()
        return f"{text}{rest if rest.startswith('/') else ' ' + rest if rest else ''}"
    if unit in ("fraction", "share"):
        return f"{value * 100:.4g}%"
    if unit == "per year":
        return f"{value * 100:.4g}%/yr"
    if unit.startswith("per "):
        return f"{value * 100:.4g}% {unit}"
    if unit == "x":
        return f"{value:.1f}x"
    if unit in ("", "-", "ratio"):
        return significant(value)
    return f"{significant(value)} {unit}" if plain_unit else significant(value)


# Base-case metrics shown side by side, in the terminal (short label) and in
# the PDF (long label): summary key, short label, long label, formatter.
# A null IRR shows its ``irr_note`` (:func:`irr_text`).
def irr_text(base: dict) -> str:
    """The base-case IRR, or why there is none: ``n/a (multiple)``, ``n/a (borrowing)``, ``n/a (none)``."""
    if missing(base.get("irr")) and base.get("irr_note"):
        return f"n/a ({base['irr_note']})"
    return pct(base.get("irr"))


#: names of the value-bridge parts, as printed
BRIDGE_LABELS = {"operations_usd": "Operations", "prepayment_financing_usd": "Prepayment financing",
                 "terminal_value_usd": "Terminal value", "financing_usd": "Debt financing"}
#: the totals of a value bridge: the parts before ``financing_usd`` add up to the (unlevered) NPV, all of
#: them to the NPV with the debt's financing (``npv_with_financing_usd`` of a levered business)
BRIDGE_TOTAL_LABELS = {"npv_usd": "NPV", "npv_with_financing_usd": "NPV with debt"}


BASE_METRIC_ROWS = [
    ("npv_usd", "NPV", "NPV", money),
    ("irr", "IRR (annual)", "IRR (annual)", pct),
    ("mirr", "MIRR (annual)", "MIRR (annual, finance and reinvestment at the discount rate)", pct),
    ("payback_months", "Payback", "Payback", months),
    ("discounted_payback_months", "Discounted payback", "Discounted payback", months),
    ("peak_funding_usd", "Peak funding need", "Peak funding need", money),
    ("total_revenue_usd", "Total revenue", "Total revenue (nominal)", money),
    ("ebitda_margin", "EBITDA margin", "EBITDA margin", pct),
    ("revenue_per_kwh_spot_usd", "Revenue per kWh (grid, spot, month 1)",
     "Revenue per kWh of grid power (spot, month 1)", per_kwh),
    ("revenue_usd_per_kwh", "Revenue per kWh (grid, average, {months} months)",
     "Revenue per kWh of grid power (average, {months} months)", per_kwh),
    ("revenue_usd_per_kwh_critical_it", "Revenue per kWh (critical IT)", "Revenue per kWh of critical IT",
     per_kwh),
    ("hashprice_usd_per_ph_day", "Hashprice at t=0 (USD/PH/day)", "Hashprice at t = 0 (USD per PH/s per day)",
     lambda x: number(x, 2)),
    ("btc_mined", "BTC mined", "BTC mined", lambda x: number(x, 0)),
    ("cash_cost_per_btc_spot_usd", "Cash cost per BTC (spot, month 1)",
     "Cash cost per BTC: power + direct opex (spot, month 1)", money),
    ("cash_cost_per_btc_avg_usd", "Cash cost per BTC (average, {months} months)",
     "Cash cost per BTC: power + direct opex (average, {months} months)", money),
    ("all_in_cost_per_btc_usd", "All-in cost per BTC (average, {months} months)",
     "All-in cost per BTC: cash + G&A + depreciation (average, {months} months)", money),
    ("contract_value_usd", "Contract value", "Contract value", money),
    ("annual_revenue_usd", "Annual revenue (ARR)", "Annual revenue (ARR)", money),
    ("prepayment_usd", "Prepayment", "Prepayment", money),
]
