"""One look for every pivotsim chart: fonts, colours, money axes.

Figures are drawn at the width they are printed at (the text column of an A4
or Letter page, :data:`PRINT_WIDTH_IN`), so the font sizes below are the
sizes a reader sees on paper.  The same DejaVu Sans font is embedded in the
PDF text, so charts and prose match.
"""

from __future__ import annotations


from contextlib import contextmanager

import matplotlib
from matplotlib.ticker import FuncFormatter

from ..formatting import compact_money

PRINT_WIDTH_IN = 6.7
"""Width of a full-column figure [inches] (170 mm, fits A4 and Letter margins)."""

DPI = 200
"""Raster resolution of charts embedded in the PDF [dots per inch]."""

BITCOIN_COLOR = "#D9730D"
AI_COLOR = "#1F5FA8"
DIFFERENCE_COLOR = "#5B4B8A"
POWER_PRICE_COLOR = "#7A7A7A"
INK = "#222222"
GRID = "#DDDDDD"

BUSINESS_COLORS = {"bitcoin": BITCOIN_COLOR, "ai": AI_COLOR}
BUSINESS_LABELS = {"bitcoin": "Bitcoin mining", "ai": "AI hosting"}

# One colour per cash line item, the same in every chart and both businesses.
LINE_ITEM_COLORS = {
    "revenue_usd": "#3C8D5A",
    "prepayment_usd": "#9BD3A8",
    "prepayment_credit_usd": "#C9A227",
    "gpu_residual_usd": "#6FB7B7",
    "terminal_value_usd": "#A7C7E7",
    "power_usd": "#C0504D",
    "opex_usd": "#E39B7B",
    "capex_usd": "#5A5A5A",
    "tax_usd": "#9E7BB5",
}
LINE_ITEM_LABELS = {
    "revenue_usd": "Revenue",
    "prepayment_usd": "Customer prepayment",
    "prepayment_credit_usd": "Prepayment credited",
    "gpu_residual_usd": "GPU resale",
    "terminal_value_usd": "Terminal (book) value",
    "power_usd": "Power",
    "opex_usd": "Opex",
    "capex_usd": "Capex",
    "tax_usd": "Tax",
}

RC_PARAMS = {
    "font.family": "DejaVu Sans",
    "font.size": 8.0,
    "axes.titlesize": 9.0,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 8.0,
    "axes.edgecolor": "#888888",
    "axes.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": GRID,
    "grid.linewidth": 0.5,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "xtick.color": INK,
    "ytick.color": INK,
    "legend.fontsize": 7.5,
    "legend.frameon": False,
    "figure.dpi": 100,
    "savefig.dpi": DPI,
    "text.color": INK,
    "axes.labelcolor": INK,
    "svg.hashsalt": "pivotsim",
    "pdf.fonttype": 42,
}


@contextmanager
def chart_style():
    """Context in which matplotlib uses the pivotsim style (rcParams restored after)."""
    with matplotlib.rc_context(RC_PARAMS):
        yield


MONEY_FORMATTER = FuncFormatter(compact_money)
PERCENT_FORMATTER = FuncFormatter(lambda x, _pos=None: f"{x * 100:.0f}%")
