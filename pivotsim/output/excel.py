"""The model workbook of a run: ``pivotsim export`` and ``pivotsim run --xlsx``.

Three sheets, written with XlsxWriter:

* ``Summary``: for each business its discount rate (a link to the row of
  the Assumptions sheet the valuation reads), NPV, IRR, MIRR, simple and
  discounted payback, peak funding need, total revenue and EBITDA margin as
  live Excel formulas over the Cashflows sheet, each beside pivotsim's own
  figure; then the Monte Carlo statistics of the run as values.
* ``Cashflows``: the base case, one column per month (column C is the
  valuation date, t = 0), every cash line item of both businesses [USD,
  nominal, inflows positive] as values, and below them the net flow,
  cumulative cash, discount factors, discounted flows and the helper rows of
  the paybacks as formulas; the non-cash quantities (BTC mined, kWh,
  EBITDA, ...) as values.
* ``Assumptions``: every input of the scenario with its value, unit and
  provenance (:func:`pivotsim.scenario.provenance.provenance_table`).

The formulas follow :mod:`pivotsim.models.finance`: the first flow is at
t = 0 and undiscounted, so the NPV is ``first + NPV(r, rest)`` (Excel's
``NPV`` discounts its first value by one period); the monthly rate is
``(1 + annual) ^ (1/12) - 1``; IRR and MIRR are monthly rates reported as
effective annual rates ``(1 + r) ^ 12 - 1``; MIRR finances and reinvests at
the business's discount rate; payback is the month from which cumulative
cash stays non-negative, interpolated inside the month it turns.  Editing a
discount rate on the Assumptions sheet revalues both businesses; the cash
flows themselves are pivotsim's base case at these inputs.

Defined names ``npv_<business>``, ``irr_<business>``, ``mirr_<business>``,
``payback_<business>``, ``discounted_payback_<business>``,
``peak_funding_<business>`` and ``discount_rate_<business>`` (business:
``bitcoin``, ``ai``) point at the Summary cells.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xlsxwriter
from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell

from .._version import __version__
from ..scenario.provenance import provenance_table, unit_of
from ..errors import PivotsimError
from ..models.finance import mirr as monthly_mirr_of, monthly_rate
from ..simulate import BUSINESSES, discount_rate

SUFFIX = ".xlsx"
BUSINESS_LABELS = {"bitcoin": "Bitcoin mining", "ai": "AI hosting"}
FIRST_MONTH_COLUMN = 2          # column C holds t = 0
MONTH_ROW, DATE_ROW = 2, 3      # Cashflows rows of the month index and the date
#: Excel's IRR iterates from a guess (default 10% a period) and can fail to converge on monthly
#: flows: the workbook starts it from pivotsim's monthly IRR rounded to this many decimals
IRR_GUESS_DECIMALS = 3
DEFAULT_IRR_GUESS_PER_MONTH = 0.01
MONTE_CARLO_STATISTICS = ("mean", "std", "sem", "p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99",
                          "cvar5", "count")

# Summary: rows of the base-case block (0-based), each a metric, its unit and number format
_SUMMARY_HEADER_ROW = 8
_SUMMARY_ROWS = ("discount_rate", "monthly_rate", "npv", "irr_guess", "irr", "mirr", "last_negative", "payback",
                 "last_negative_discounted", "discounted_payback", "peak_funding", "total_revenue",
                 "ebitda_margin")
_SUMMARY_LABELS = {
    "discount_rate": ("Discount rate (annual)", "per year", "pct"),
    "monthly_rate": ("Discount rate (monthly) = (1 + annual)^(1/12) - 1", "per month", "rate"),
    "npv": ("NPV = t0 flow + NPV(monthly rate, months 1..n)", "USD", "money"),
    "irr_guess": ("IRR search start (monthly; Excel's IRR iterates from it)", "per month", "rate"),
    "irr": ("IRR (annual) = (1 + IRR(net, start))^12 - 1", "per year", "pct"),
    "mirr": ("MIRR (annual), finance and reinvest at the discount rate", "per year", "pct"),
    "last_negative": ("Last month with cumulative cash < 0 (-1: none)", "month", "int"),
    "payback": ("Payback", "months", "months"),
    "last_negative_discounted": ("Last month with discounted cumulative cash < 0", "month", "int"),
    "discounted_payback": ("Discounted payback", "months", "months"),
    "peak_funding": ("Peak funding need = max(0, -min(cumulative cash))", "USD", "money"),
    "total_revenue": ("Total revenue", "USD", "money"),
    "ebitda_margin": ("EBITDA margin = sum(EBITDA) / sum(revenue)", "fraction", "pct"),
}
#: metric -> key of pivotsim's base-case dict (``RunResult.summary()[business]["base"]``)
_PIVOTSIM_KEYS = {"npv": "npv_usd", "irr": "irr", "mirr": "mirr", "payback": "payback_months",
                  "discounted_payback": "discounted_payback_months", "peak_funding": "peak_funding_usd",
                  "total_revenue": "total_revenue_usd", "ebitda_margin": "ebitda_margin"}
DEFINED_NAMES = ("npv", "irr", "mirr", "payback", "discounted_payback", "peak_funding", "discount_rate")

# Cashflows: the formula rows under each business's line items, in order
_DERIVED_ROWS = ("net_usd", "cumulative_usd", "discount_factor", "discounted_net_usd",
                 "discounted_cumulative_usd", "month_if_cumulative_negative",
                 "month_if_discounted_cumulative_negative")
_DERIVED_UNITS = {"net_usd": "USD", "cumulative_usd": "USD", "discount_factor": "-",
                  "discounted_net_usd": "USD", "discounted_cumulative_usd": "USD",
                  "month_if_cumulative_negative": "month", "month_if_discounted_cumulative_negative": "month"}


def check_workbook_path(path, *, option: str = "output") -> Path:
    """The target as a Path; a one-line PivotsimError unless it can be written.

    It must end in ``.xlsx``, not be a folder, and be in an existing folder
    this process may write to (an existing file is replaced only if it is
    writable).  Called before any simulation, so bad input costs nothing.
    ``option`` names the field in the message (``--output`` for the CLI).
    """
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise PivotsimError(f"{option}: {path!r} is not allowed; give a file name ending in {SUFFIX}")
    target = Path(path)
    shown = str(path)
    if target.is_dir():
        raise PivotsimError(f"{option}: {shown} is a folder; give a file name ending in {SUFFIX}")
    if target.suffix.lower() != SUFFIX:
        raise PivotsimError(f"{option}: {shown} is not allowed; the file name must end in {SUFFIX}")
    folder = target.parent
    if not folder.is_dir():
        raise PivotsimError(f"{option}: folder {folder} does not exist; create it first")
    try:  # a probe file: permission bits, read-only mounts and root alike
        tempfile.NamedTemporaryFile(dir=folder, prefix=".pivotsim-probe-").close()
    except OSError:
        raise PivotsimError(f"{option}: folder {folder} is not writable; choose another folder") from None
    if target.exists() and not os.access(target, os.W_OK):
        raise PivotsimError(f"{option}: {shown} exists and is read-only; choose another file name")
    return target


# ---------------------------------------------------------------- layout
@dataclass
class _Block:
    """Where one business lives on the Cashflows sheet (0-based rows)."""

    business: str
    header_row: int
    items: list[str]
    item_rows: dict[str, int]
    derived_rows: dict[str, int]
    quantities: list[str]
    quantity_rows: dict[str, int]
    end_row: int


@dataclass
class _Layout:
    n_periods: int
    blocks: dict[str, _Block] = field(default_factory=dict)

    @property
    def last_column(self) -> int:
        return FIRST_MONTH_COLUMN + self.n_periods - 1

    def row_range(self, row: int, first: int = 0) -> str:
        """Absolute reference ``Cashflows!$C$r:$X$r`` of a row, from month ``first``."""
        start = xl_rowcol_to_cell(row, FIRST_MONTH_COLUMN + first, row_abs=True, col_abs=True)
        stop = xl_rowcol_to_cell(row, self.last_column, row_abs=True, col_abs=True)
        return f"Cashflows!{start}:{stop}"

    def cell(self, row: int, month: int) -> str:
        return "Cashflows!" + xl_rowcol_to_cell(row, FIRST_MONTH_COLUMN + month, row_abs=True, col_abs=True)


def _layout(result) -> _Layout:
    layout = _Layout(n_periods=result.timeline.n_periods)
    row = DATE_ROW + 2
    for business in BUSINESSES:
        flows = result.base[business]
        items = list(flows.items)
        quantities = list(flows.quantities)
        header = row
        item_rows = {name: header + 1 + i for i, name in enumerate(items)}
        first_derived = header + 1 + len(items)
        derived_rows = {name: first_derived + i for i, name in enumerate(_DERIVED_ROWS)}
        quantity_header = first_derived + len(_DERIVED_ROWS) + 1
        quantity_rows = {name: quantity_header + 1 + i for i, name in enumerate(quantities)}
        end = quantity_header + 1 + len(quantities)
        layout.blocks[business] = _Block(business, header, items, item_rows, derived_rows, quantities,
                                         quantity_rows, end)
        row = end + 1
    return layout


def _summary_cell(metric: str, business: str, *, absolute: bool = True, sheet: bool = True) -> str:
    row = _SUMMARY_HEADER_ROW + 1 + _SUMMARY_ROWS.index(metric)
    col = 1 + BUSINESSES.index(business)
    ref = xl_rowcol_to_cell(row, col, row_abs=absolute, col_abs=absolute)
    return f"Summary!{ref}" if sheet else ref


# ---------------------------------------------------------------- numbers
def _row(values, n_periods: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(values, dtype=float).reshape(-1)[-n_periods:], (n_periods,)).copy()


def _finite(x) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


@dataclass
class _Figures:
    """Cached values of one business's formula cells (pivotsim's arithmetic), so a viewer
    that does not recalculate still shows the right numbers."""

    rows: dict[str, np.ndarray]
    summary: dict[str, object]


def _figures(result, business: str, annual_rate: float, base: dict) -> _Figures:
    flows = result.base[business]
    n = result.timeline.n_periods
    months = np.arange(n, dtype=float)
    items = [_row(v, n) for v in flows.items.values()]
    net = np.sum(items, axis=0) if items else np.zeros(n)
    rate = float(monthly_rate(annual_rate))
    factor = (1.0 + rate) ** -months
    cum = np.cumsum(net)
    disc_cum = np.cumsum(net * factor)
    rows = {"net_usd": net, "cumulative_usd": cum, "discount_factor": factor, "discounted_net_usd": net * factor,
            "discounted_cumulative_usd": disc_cum,
            "month_if_cumulative_negative": np.where(cum < 0, months, -1.0),
            "month_if_discounted_cumulative_negative": np.where(disc_cum < 0, months, -1.0)}
    revenue = float(_row(flows.items["revenue_usd"], n).sum()) if "revenue_usd" in flows.items else 0.0
    mirr = _finite(base.get("mirr"))
    if mirr is None and "mirr" not in base:
        mirr = _finite((1.0 + monthly_mirr_of(net, rate, rate)) ** 12 - 1.0)
    irr = _finite(base.get("irr"))
    guess = DEFAULT_IRR_GUESS_PER_MONTH if irr is None else round((1.0 + irr) ** (1 / 12) - 1.0, IRR_GUESS_DECIMALS)
    summary = {"discount_rate": annual_rate, "monthly_rate": rate, "irr_guess": guess,
               "last_negative": float(rows["month_if_cumulative_negative"].max()),
               "last_negative_discounted": float(rows["month_if_discounted_cumulative_negative"].max()),
               "total_revenue": revenue, "mirr": mirr}
    for metric, key in _PIVOTSIM_KEYS.items():
        if metric not in summary:
            summary[metric] = _finite(base.get(key))
    return _Figures(rows, summary)


# ---------------------------------------------------------------- formats
def _formats(book) -> dict:
    return {
        "title": book.add_format({"bold": True, "font_size": 14}),
        "bold": book.add_format({"bold": True}),
        "header": book.add_format({"bold": True, "bottom": 1, "bg_color": "#DDEBF7", "text_wrap": True,
                                   "valign": "top"}),
        "money": book.add_format({"num_format": "#,##0;-#,##0"}),
        "pct": book.add_format({"num_format": "0.00%"}),
        "rate": book.add_format({"num_format": "0.000000%"}),
        "months": book.add_format({"num_format": "0.00"}),
        "int": book.add_format({"num_format": "0"}),
        "factor": book.add_format({"num_format": "0.000000"}),
        "number": book.add_format({"num_format": "#,##0.00"}),
        "general": book.add_format({}),
        "date": book.add_format({"num_format": "yyyy-mm-dd"}),
        "wrap": book.add_format({"text_wrap": True, "valign": "top"}),
        "note": book.add_format({"italic": True, "font_color": "#595959"}),
        "input": book.add_format({"bg_color": "#FFF2CC"}),
        "input_pct": book.add_format({"bg_color": "#FFF2CC", "num_format": "0.00%"}),
        "input_rate": book.add_format({"bg_color": "#FFF2CC", "num_format": "0.000%"}),
    }


def _quantity_format(name: str) -> str:
    if name.endswith("_usd"):
        return "money"
    return "number"


# ---------------------------------------------------------------- Assumptions
def _write_assumptions(sheet, table, fmt) -> dict[str, int]:
    """The provenance table; returns the 0-based row of each dotted path."""
    headers = ["path", "value", "unit", "kind", "source id", "provenance", "note", "distribution", "YAML line"]
    sheet.write_row(0, 0, headers, fmt["header"])
    rows = {}
    for i, rec in enumerate(table.itertuples(index=False), start=1):
        rows[rec.path] = i
        sheet.write_string(i, 0, rec.path)
        value = float(rec.value)
        if math.isfinite(value):
            sheet.write_number(i, 1, value, fmt["input"])
        else:
            sheet.write_string(i, 1, str(value), fmt["input"])
        for col, text in enumerate((rec.unit, rec.kind, rec.source_id, rec.provenance, rec.note,
                                    rec.distribution), start=2):
            sheet.write_string(i, col, "" if text is None else str(text))
        if rec.line is not None and not (isinstance(rec.line, float) and math.isnan(rec.line)) \
                and str(rec.line) != "<NA>":
            sheet.write_number(i, 8, int(rec.line))
    sheet.freeze_panes(1, 1)
    sheet.autofilter(0, 0, max(len(table), 1), len(headers) - 1)
    for col, width in enumerate((42, 16, 14, 11, 12, 70, 40, 30, 9)):
        sheet.set_column(col, col, width)
    return rows


def _rate_reference(table, rows: dict[str, int], inputs, business: str) -> tuple[str | None, float]:
    """The Assumptions cell holding the discount rate the valuation uses, and that rate.

    The rate is :func:`pivotsim.simulate.discount_rate` (what the valuation
    reads); the cell is the first of ``finance.discount_rate_<business>``,
    ``finance.discount_rate`` whose value is that rate (None when neither is:
    the Summary then holds the number itself).
    """
    rate = float(np.asarray(discount_rate(inputs, business)).reshape(-1)[0])
    values = dict(zip(table["path"], table["value"]))
    for path in (f"finance.discount_rate_{business}", "finance.discount_rate"):
        if path in rows and float(values[path]) == rate:
            return "Assumptions!" + xl_rowcol_to_cell(rows[path], 1, row_abs=True, col_abs=True), rate
    return None, rate


# ---------------------------------------------------------------- Cashflows
def _write_cashflows(sheet, result, layout: _Layout, figures: dict[str, _Figures], fmt) -> None:
    timeline = result.timeline
    n = layout.n_periods
    sheet.write_string(0, 0, "Base-case monthly cash flows [USD, nominal, inflows positive]: column C is the "
                             "valuation date (t = 0, undiscounted), each next column the end of a month",
                       fmt["bold"])
    sheet.write_string(MONTH_ROW, 0, "month", fmt["bold"])
    sheet.write_string(DATE_ROW, 0, "date", fmt["bold"])
    for m, date in enumerate(timeline.dates):
        col = FIRST_MONTH_COLUMN + m
        sheet.write_number(MONTH_ROW, col, m, fmt["bold"])
        sheet.write_datetime(DATE_ROW, col, date.to_pydatetime(), fmt["date"])
    for business, block in layout.blocks.items():
        flows = result.base[business]
        sheet.write_string(block.header_row, 0, f"{BUSINESS_LABELS[business]} ({business})", fmt["bold"])
        for name, row in block.item_rows.items():
            sheet.write_string(row, 0, name)
            sheet.write_string(row, 1, "USD")
            sheet.write_row(row, FIRST_MONTH_COLUMN, _row(flows.items[name], n).tolist(), fmt["money"])
        _write_derived_rows(sheet, business, block, layout, figures[business], fmt)
        quantity_header = block.derived_rows[_DERIVED_ROWS[-1]] + 2
        sheet.write_string(quantity_header, 0, "quantities (not cash)", fmt["note"])
        for name, row in block.quantity_rows.items():
            sheet.write_string(row, 0, name)
            sheet.write_string(row, 1, unit_of(name) or _quantity_unit(name))
            sheet.write_row(row, FIRST_MONTH_COLUMN, np.nan_to_num(_row(flows.quantities[name], n)).tolist(),
                            fmt[_quantity_format(name)])
    sheet.freeze_panes(DATE_ROW + 1, FIRST_MONTH_COLUMN)
    sheet.set_column(0, 0, 40)
    sheet.set_column(1, 1, 12)
    sheet.set_column(FIRST_MONTH_COLUMN, layout.last_column, 14)


def _quantity_unit(name: str) -> str:
    for suffix, unit in (("_btc", "BTC"), ("btc_mined", "BTC"), ("_kwh", "kWh"), ("_th_s", "TH/s"),
                         ("_usd_per_ph_day", "USD/PH/day")):
        if name.endswith(suffix):
            return unit
    return ""


def _write_derived_rows(sheet, business: str, block: _Block, layout: _Layout, figures: _Figures, fmt) -> None:
    """Net, cumulative, discounted and payback-helper rows: one formula per month."""
    rows = block.derived_rows
    first_item = min(block.item_rows.values())
    last_item = max(block.item_rows.values())
    rate = _summary_cell("monthly_rate", business)
    formats = {"discount_factor": "factor", "month_if_cumulative_negative": "int",
               "month_if_discounted_cumulative_negative": "int"}
    for name in _DERIVED_ROWS:
        sheet.write_string(rows[name], 0, name)
        sheet.write_string(rows[name], 1, _DERIVED_UNITS[name])
    for m in range(layout.n_periods):
        col = FIRST_MONTH_COLUMN + m
        letter = xl_col_to_name(col)
        prev = xl_col_to_name(col - 1)
        month = f"{letter}${MONTH_ROW + 1}"

        def at(name, column=letter):
            return f"{column}{rows[name] + 1}"

        formulas = {
            "net_usd": f"=SUM({letter}{first_item + 1}:{letter}{last_item + 1})",
            "cumulative_usd": f"={at('net_usd')}" if m == 0 else f"={at('cumulative_usd', prev)}+{at('net_usd')}",
            "discount_factor": f"=1/(1+{rate})^{month}",
            "discounted_net_usd": f"={at('net_usd')}*{at('discount_factor')}",
            "discounted_cumulative_usd": (f"={at('discounted_net_usd')}" if m == 0 else
                                          f"={at('discounted_cumulative_usd', prev)}+{at('discounted_net_usd')}"),
            "month_if_cumulative_negative": f"=IF({at('cumulative_usd')}<0,{month},-1)",
            "month_if_discounted_cumulative_negative": f"=IF({at('discounted_cumulative_usd')}<0,{month},-1)",
        }
        for name, formula in formulas.items():
            sheet.write_formula(rows[name], col, formula, fmt[formats.get(name, "money")],
                                float(figures.rows[name][m]))


# ---------------------------------------------------------------- Summary
def _metric_formulas(business: str, block: _Block, layout: _Layout, rate_ref: str | None) -> dict[str, str]:
    """The live formula of each Summary metric of one business."""
    n = layout.n_periods
    net = block.derived_rows["net_usd"]
    net_range = layout.row_range(net)
    cum_range = layout.row_range(block.derived_rows["cumulative_usd"])
    disc_range = layout.row_range(block.derived_rows["discounted_cumulative_usd"])
    disc_net_range = layout.row_range(block.derived_rows["discounted_net_usd"])
    cell = {metric: _summary_cell(metric, business, sheet=False) for metric in _SUMMARY_ROWS}
    rate = cell["monthly_rate"]
    rest = f"+NPV({rate},{layout.row_range(net, 1)})" if n > 1 else ""

    def payback(last_negative, cumulative, flow):
        return (f'=IF({last_negative}<0,0,IF({last_negative}>={n - 1},"never",'
                f"{last_negative}-INDEX({cumulative},1,{last_negative}+1)/INDEX({flow},1,{last_negative}+2)))")

    revenue_row = block.item_rows.get("revenue_usd")
    ebitda_row = block.quantity_rows.get("ebitda_usd")
    formulas = {
        "monthly_rate": f"=(1+{cell['discount_rate']})^(1/12)-1",
        "npv": f"={layout.cell(net, 0)}{rest}",
        "irr": f'=IFERROR((1+IRR({net_range},{cell["irr_guess"]}))^12-1,"none")',
        "mirr": f'=IFERROR((1+MIRR({net_range},{rate},{rate}))^12-1,"none")',
        "last_negative": f"=MAX({layout.row_range(block.derived_rows['month_if_cumulative_negative'])})",
        "payback": payback(cell["last_negative"], cum_range, net_range),
        "last_negative_discounted":
            f"=MAX({layout.row_range(block.derived_rows['month_if_discounted_cumulative_negative'])})",
        "discounted_payback": payback(cell["last_negative_discounted"], disc_range, disc_net_range),
        "peak_funding": f"=MAX(0,-MIN({cum_range}))",
        "total_revenue": f"=SUM({layout.row_range(revenue_row)})" if revenue_row is not None else "=0",
    }
    if rate_ref is not None:
        formulas["discount_rate"] = f"={rate_ref}"
    if revenue_row is not None and ebitda_row is not None:
        formulas["ebitda_margin"] = (f'=IFERROR(SUM({layout.row_range(ebitda_row)})/'
                                     f'SUM({layout.row_range(revenue_row)}),"none")')
    return formulas


def _write_summary_head(sheet, result, generated: dt.datetime, fmt) -> None:
    scenario = result.scenario
    sheet.write_string(0, 0, f"pivotsim model workbook: {scenario.name}", fmt["title"])
    facts = [
        ("Valuation date", result.timeline.valuation_date.isoformat()),
        ("Horizon", f"{result.timeline.horizon_months} months (t = 0 plus one column per month)"),
        ("Input file", f"{scenario.file or '(in memory)'}  SHA-256 {scenario.sha256 or '-'}"),
        ("Monte Carlo", f"{result.paths:,} paths, seed {result.seed}"),
        ("Written by", f"pivotsim {__version__}, {generated.strftime('%Y-%m-%d %H:%M UTC')}"),
    ]
    for i, (label, text) in enumerate(facts, start=1):
        sheet.write_string(i, 0, label, fmt["bold"])
        sheet.write_string(i, 1, text)
    sheet.write_string(7, 0, "Base case: the cells of columns B and C are formulas over the Cashflows sheet; "
                             "columns E and F are pivotsim's own figures. A discount rate edited on the "
                             "Assumptions sheet revalues the business.", fmt["note"])


def _write_summary(sheet, result, layout: _Layout, figures: dict[str, _Figures], rate_refs: dict, fmt,
                   generated: dt.datetime) -> int:
    """The base-case block (formulas) of the Summary; returns the next free row."""
    _write_summary_head(sheet, result, generated, fmt)
    header = ["Base case"] + [BUSINESS_LABELS[b] for b in BUSINESSES] + ["unit"] + \
             [f"pivotsim: {BUSINESS_LABELS[b]}" for b in BUSINESSES]
    sheet.write_row(_SUMMARY_HEADER_ROW, 0, header, fmt["header"])
    own_column = 2 + len(BUSINESSES)
    for i, metric in enumerate(_SUMMARY_ROWS):
        row = _SUMMARY_HEADER_ROW + 1 + i
        label, unit, number_format = _SUMMARY_LABELS[metric]
        sheet.write_string(row, 0, label)
        sheet.write_string(row, 1 + len(BUSINESSES), unit)
    for j, business in enumerate(BUSINESSES):
        formulas = _metric_formulas(business, layout.blocks[business], layout, rate_refs[business])
        values = figures[business].summary
        for i, metric in enumerate(_SUMMARY_ROWS):
            row = _SUMMARY_HEADER_ROW + 1 + i
            number_format = fmt[_SUMMARY_LABELS[metric][2]]
            cached = values.get(metric)
            cached = ("never" if metric.endswith("payback") else "none") if cached is None else cached
            if metric == "irr" and values.get("irr") is None:
                sheet.write_string(row, 1 + j, "none", number_format)  # pivotsim reports no IRR here
            elif metric in formulas:
                sheet.write_formula(row, 1 + j, formulas[metric], number_format, cached)
            elif metric in ("discount_rate", "irr_guess"):
                sheet.write_number(row, 1 + j, float(cached), fmt["input_pct" if metric == "discount_rate" else "input_rate"])
            else:
                sheet.write_string(row, 1 + j, "n/a")
            own = values.get(metric)
            if metric in _PIVOTSIM_KEYS or metric in ("discount_rate", "monthly_rate"):
                if own is None:
                    sheet.write_string(row, own_column + j, "never" if metric.endswith("payback") else "none")
                else:
                    sheet.write_number(row, own_column + j, float(own), number_format)
    sheet.set_column(0, 0, 58)
    sheet.set_column(1, 7, 19)
    return _SUMMARY_HEADER_ROW + len(_SUMMARY_ROWS) + 2


def _write_monte_carlo(sheet, summary: dict, first_row: int, fmt) -> None:
    """The Monte Carlo statistics of the run, as values."""
    row = first_row
    sheet.write_string(row, 0, f"Monte Carlo: {summary['paths']:,} paths, seed {summary['seed']} "
                               "(values from the run, not formulas)", fmt["bold"])
    row += 1
    columns = [("Bitcoin NPV", "bitcoin", "npv_usd", "money"), ("AI NPV", "ai", "npv_usd", "money"),
               ("AI minus bitcoin NPV", "comparison", "npv_difference_usd", "money"),
               ("Bitcoin IRR (annual)", "bitcoin", "irr", "pct"), ("AI IRR (annual)", "ai", "irr", "pct"),
               ("Bitcoin payback", "bitcoin", "payback_months", "months"),
               ("AI payback", "ai", "payback_months", "months")]
    sheet.write_row(row, 0, ["statistic"] + [c[0] for c in columns], fmt["header"])
    for stat in MONTE_CARLO_STATISTICS:
        row += 1
        sheet.write_string(row, 0, stat)
        for j, (_, owner, key, number_format) in enumerate(columns, start=1):
            block = summary[owner] if owner == "comparison" else summary[owner]["monte_carlo"]
            value = (block.get(key) or {}).get(stat)
            if value is None:
                sheet.write_string(row, j, "n/a")
            else:
                sheet.write_number(row, j, float(value), fmt["int" if stat == "count" else number_format])
    row += 2
    comparison = summary["comparison"]
    ci = comparison.get("prob_ai_beats_bitcoin_ci95") or [None, None]
    scalars = [(f"P(NPV < 0), {BUSINESS_LABELS[b]}", summary[b]["monte_carlo"].get("prob_npv_negative"), "pct")
               for b in BUSINESSES]
    scalars += [(f"P(no IRR), {BUSINESS_LABELS[b]}", summary[b]["monte_carlo"].get("prob_no_irr"), "pct")
                for b in BUSINESSES]
    scalars += [(f"P(never pays back), {BUSINESS_LABELS[b]}",
                 summary[b]["monte_carlo"].get("prob_never_pays_back"), "pct") for b in BUSINESSES]
    scalars += [("P(AI NPV > bitcoin NPV)", comparison.get("prob_ai_beats_bitcoin"), "pct"),
                ("  95% Wilson interval, low", ci[0], "pct"), ("  95% Wilson interval, high", ci[1], "pct"),
                ("Break-even BTC price multiplier (base path)", comparison.get("breakeven_btc_price_multiplier"),
                 "number"),
                ("Break-even BTC price at t = 0 [USD]", comparison.get("breakeven_btc_price_usd"), "money")]
    for label, value, number_format in scalars:
        sheet.write_string(row, 0, label)
        if value is None:
            sheet.write_string(row, 1, "n/a")
        else:
            sheet.write_number(row, 1, float(value), fmt[number_format])
        row += 1


# ---------------------------------------------------------------- the workbook
def write_workbook(result, path, *, generated: dt.datetime | None = None) -> Path:
    """Write the model workbook of a run (``.xlsx``).

    Parameters
    ----------
    result : RunResult
        A run (:func:`pivotsim.run`).
    path : str or Path
        Target file ending in ``.xlsx``, in an existing, writable folder
        (:func:`check_workbook_path`).  Written to a temporary file and
        renamed, so a failure leaves no partial workbook.
    generated : datetime, optional
        Time stamped in the workbook (default: now, UTC); for the same run
        and time the file is byte-identical.

    Returns
    -------
    Path
        The written file.
    """
    target = check_workbook_path(path)
    generated = generated or dt.datetime.now(dt.timezone.utc)
    summary = result.summary()
    layout = _layout(result)
    table = provenance_table(result.scenario)
    tmp = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        book = xlsxwriter.Workbook(str(tmp), {"strings_to_numbers": False, "strings_to_formulas": False,
                                              "strings_to_urls": False})
        book.set_properties({"title": f"pivotsim model workbook: {result.scenario.name}",
                             "author": f"pivotsim {__version__}",
                             "created": generated.replace(tzinfo=None)})
        fmt = _formats(book)
        summary_sheet = book.add_worksheet("Summary")
        cash_sheet = book.add_worksheet("Cashflows")
        assumptions = book.add_worksheet("Assumptions")
        rows = _write_assumptions(assumptions, table, fmt)
        rate_refs, figures = {}, {}
        for business in BUSINESSES:
            rate_refs[business], rate = _rate_reference(table, rows, result.inputs, business)
            figures[business] = _figures(result, business, rate, summary[business]["base"])
        _write_cashflows(cash_sheet, result, layout, figures, fmt)
        next_row = _write_summary(summary_sheet, result, layout, figures, rate_refs, fmt, generated)
        _write_monte_carlo(summary_sheet, summary, next_row, fmt)
        for business in BUSINESSES:
            for name in DEFINED_NAMES:
                book.define_name(f"{name}_{business}", "=" + _summary_cell(name, business))
        for sheet in (summary_sheet, cash_sheet, assumptions):
            sheet.set_landscape()
            sheet.set_paper(9)  # A4
        summary_sheet.fit_to_pages(1, 0)
        assumptions.fit_to_pages(1, 0)
        assumptions.repeat_rows(0)
        cash_sheet.repeat_columns(0, 1)
        cash_sheet.repeat_rows(MONTH_ROW, DATE_ROW)
        summary_sheet.activate()
        book.close()
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target
