"""The scenario PDF: a research note on one deal, or a book of several.

Layout with reportlab platypus; charts from :mod:`pivotsim.output.charts`
embedded as PNG at :data:`~pivotsim.output.style.DPI` dots per inch, drawn at
the width they are printed at.  Text uses DejaVu Sans (shipped with
matplotlib), so any user text (``&``, ``<``, ``é``, ``€``) renders, and every
piece of user text is escaped before it reaches reportlab's markup.

Every page carries a header with the scenario name and a footer with the
page number ``n / N``, the seed and the SHA-256 prefix of the input file.
The file is written to a temporary name next to the target and renamed when
complete, so a failure never leaves a partial PDF.  For the same scenario,
seed and generation time the bytes are identical (reportlab's invariant
mode; no random ids).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import shlex
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import matplotlib

matplotlib.use("Agg")  # the report never opens windows
import matplotlib.pyplot as plt  # noqa: E402
from reportlab import rl_config  # noqa: E402
from reportlab.lib import colors  # noqa: E402
from reportlab.lib.enums import TA_LEFT  # noqa: E402
from reportlab.lib.pagesizes import A4, LETTER  # noqa: E402
from reportlab.lib.styles import ParagraphStyle  # noqa: E402
from reportlab.lib.units import mm  # noqa: E402
from reportlab.pdfbase import pdfmetrics  # noqa: E402
from reportlab.pdfbase.ttfonts import TTFont  # noqa: E402
from reportlab.pdfgen.canvas import Canvas  # noqa: E402
from reportlab.platypus import (BaseDocTemplate, CondPageBreak, Flowable, Frame, Image,  # noqa: E402
                                KeepTogether, PageBreak, PageTemplate, Paragraph, Spacer, Table,
                                TableStyle)

from .._version import __version__  # noqa: E402
from ..errors import PivotsimError  # noqa: E402
from ..simulate import BLOCK_PATHS, discount_rate  # noqa: E402
from . import charts  # noqa: E402
from ..framing import framing_text  # noqa: E402
from ..formatting import BASE_METRIC_ROWS, money, months, pct, per_kwh  # noqa: E402
from .narrative import Summary, comparison_summary, executive_summary  # noqa: E402
from .tornado_table import tornado_for  # noqa: E402
from .scenario_table import assumption_rows, source_rows  # noqa: E402
from .style import DPI, PRINT_WIDTH_IN, chart_style  # noqa: E402

PAPERS = {"a4": A4, "letter": LETTER}
SHA_PREFIX = 12
FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"
FONT_ITALIC = "DejaVuSans-Oblique"
MARGIN_X = 20 * mm
MARGIN_TOP = 20 * mm
MARGIN_BOTTOM = 18 * mm
RULE = colors.HexColor("#BBBBBB")
MUTED = colors.HexColor("#666666")
ZEBRA = colors.HexColor("#F3F5F8")
HEAD_BG = colors.HexColor("#E4E9F0")


# --------------------------------------------------------------------------- fonts, styles
def _register_fonts() -> None:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    for name, file in ((FONT, "DejaVuSans.ttf"), (FONT_BOLD, "DejaVuSans-Bold.ttf"),
                       (FONT_ITALIC, "DejaVuSans-Oblique.ttf"),
                       ("DejaVuSans-BoldOblique", "DejaVuSans-BoldOblique.ttf")):
        pdfmetrics.registerFont(TTFont(name, str(folder / file)))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT_ITALIC,
                                  boldItalic="DejaVuSans-BoldOblique")


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12.5, alignment=TA_LEFT,
                          spaceAfter=5)
    return {
        "body": base,
        "kicker": ParagraphStyle("kicker", parent=base, fontSize=8, textColor=MUTED, spaceAfter=2),
        "title": ParagraphStyle("title", parent=base, fontName=FONT_BOLD, fontSize=18, leading=22,
                                spaceAfter=6),
        "H1": ParagraphStyle("H1", parent=base, fontName=FONT_BOLD, fontSize=15, leading=19,
                             spaceBefore=4, spaceAfter=8),
        "H2": ParagraphStyle("H2", parent=base, fontName=FONT_BOLD, fontSize=11.5, leading=15,
                             spaceBefore=10, spaceAfter=5, textColor=colors.HexColor("#1B3A5C")),
        "headline": ParagraphStyle("headline", parent=base, fontName=FONT_BOLD, fontSize=10,
                                   leading=14, spaceAfter=6),
        "bullet": ParagraphStyle("bullet", parent=base, leftIndent=10, bulletIndent=0, spaceAfter=3),
        "caption": ParagraphStyle("caption", parent=base, fontName=FONT_ITALIC, fontSize=7.5, leading=10,
                                  textColor=MUTED, spaceBefore=2, spaceAfter=10),
        "cell": ParagraphStyle("cell", parent=base, fontSize=7.5, leading=9.5, spaceAfter=0),
        "cell_small": ParagraphStyle("cell_small", parent=base, fontSize=6.8, leading=8.6, spaceAfter=0),
        "cell_right": ParagraphStyle("cell_right", parent=base, fontSize=7.5, leading=9.5, spaceAfter=0,
                                     alignment=2),
        "cell_head": ParagraphStyle("cell_head", parent=base, fontName=FONT_BOLD, fontSize=7.5,
                                    leading=9.5, spaceAfter=0),
        "cell_head_right": ParagraphStyle("cell_head_right", parent=base, fontName=FONT_BOLD, fontSize=7.5,
                                          leading=9.5, spaceAfter=0, alignment=2),
        "meta": ParagraphStyle("meta", parent=base, fontSize=8, leading=11, textColor=colors.HexColor("#333333")),
        "mono": ParagraphStyle("mono", parent=base, fontSize=7.5, leading=10, textColor=colors.HexColor("#333333")),
    }


def text(value) -> str:
    """User text made safe for reportlab's paragraph markup."""
    return escape(str(value))


# --------------------------------------------------------------------------- page furniture
@dataclass(frozen=True)
class PageContext:
    """What the header and footer of a page show."""

    header: str
    footer: str


class SetPageContext(Flowable):
    """An invisible flowable: pages from here on show this header and footer."""

    def __init__(self, context: PageContext):
        super().__init__()
        self.context = context

    def wrap(self, avail_width, avail_height):
        return 0, 0

    def draw(self):
        self.canv._pivotsim_context = self.context


class NumberedCanvas(Canvas):
    """A canvas that writes ``n / N`` on every page once N is known."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._saved_pages: list[dict] = []

    def showPage(self):
        self._saved_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._saved_pages)
        for state in self._saved_pages:
            self.__dict__.update(state)
            width, _ = self._pagesize
            self.setFont(FONT, 7.5)
            self.setFillColor(MUTED)
            self.drawRightString(width - MARGIN_X, 10 * mm, f"{self._pageNumber} / {total}")
            super().showPage()
        super().save()


class ReportDocument(BaseDocTemplate):
    """Page template with header and footer; headings become PDF bookmarks."""

    def __init__(self, filename, pagesize, context: PageContext, **kwargs):
        super().__init__(filename, pagesize=pagesize, leftMargin=MARGIN_X, rightMargin=MARGIN_X,
                         topMargin=MARGIN_TOP, bottomMargin=MARGIN_BOTTOM, invariant=1, **kwargs)
        self._first_context = context
        frame = Frame(self.leftMargin, self.bottomMargin, self.width, self.height, id="body",
                      leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
        self.addPageTemplates([PageTemplate(id="page", frames=[frame], onPageEnd=self._furniture)])
        self._bookmarks = 0

    def _furniture(self, canvas: Canvas, doc):
        context = getattr(canvas, "_pivotsim_context", None) or self._first_context
        width, height = doc.pagesize
        canvas.saveState()
        canvas.setFont(FONT, 7.5)
        canvas.setFillColor(MUTED)
        right = "pivotsim research note"
        room = width - 2 * MARGIN_X - pdfmetrics.stringWidth(right, FONT, 7.5) - 12
        canvas.drawString(MARGIN_X, height - 12 * mm, _fit(context.header, room, 7.5))
        canvas.drawRightString(width - MARGIN_X, height - 12 * mm, right)
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)
        canvas.line(MARGIN_X, height - 13.5 * mm, width - MARGIN_X, height - 13.5 * mm)
        canvas.line(MARGIN_X, 13 * mm, width - MARGIN_X, 13 * mm)
        canvas.drawString(MARGIN_X, 10 * mm, _fit(context.footer, width - 2 * MARGIN_X - 50, 7.5))
        canvas.restoreState()

    def afterFlowable(self, flowable):
        if isinstance(flowable, Paragraph) and flowable.style.name in ("H1", "H2"):
            level = 0 if flowable.style.name == "H1" else 1
            key = f"h{self._bookmarks}"
            self._bookmarks += 1
            self.canv.bookmarkPage(key)
            self.canv.addOutlineEntry(flowable.getPlainText(), key, level=level, closed=level > 0)


def _fit(value: str, width_pt: float, size: float) -> str:
    """Cut ``value`` with an ellipsis so it fits ``width_pt`` points."""
    if pdfmetrics.stringWidth(value, FONT, size) <= width_pt:
        return value
    while value and pdfmetrics.stringWidth(value + "…", FONT, size) > width_pt:
        value = value[:-1]
    return value + "…"


def _paths(n: int) -> str:
    return f"{n:,} path{'' if n == 1 else 's'}"


def _sha_prefix(result) -> str:
    sha = result.scenario.sha256
    return sha[:SHA_PREFIX] if sha else "none (scenario built in Python)"


def _context(result) -> PageContext:
    overrides = len(result.scenario.overrides)
    extra = f" + {overrides} --set override{'s' if overrides > 1 else ''}" if overrides else ""
    footer = (f"seed {result.seed} · {_paths(result.paths)} · input SHA-256 {_sha_prefix(result)}{extra} · "
              f"pivotsim {__version__}")
    return PageContext(header=result.scenario.name, footer=footer)


def _book_context(results) -> PageContext:
    seeds = ", ".join(sorted({str(r.seed) for r in results}))
    if len(results) <= 3:
        shas = "input SHA-256 " + ", ".join(_sha_prefix(r)[:8] for r in results)
    else:
        shas = f"{len(results)} input files, SHA-256 in the comparison table"
    return PageContext(header=f"Deal comparison: {len(results)} scenarios",
                       footer=f"seed {seeds} · {shas} · pivotsim {__version__}")


# --------------------------------------------------------------------------- building blocks
def _figure(fig, width_pt: float) -> Image:
    """A matplotlib figure as a print-resolution PNG flowable ``width_pt`` wide."""
    buf = io.BytesIO()
    # constrained layout already fits the figure: no "tight" bbox (it would draw twice)
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    w_in, h_in = fig.get_size_inches()
    plt.close(fig)
    buf.seek(0)
    from PIL import Image as PILImage

    with PILImage.open(buf) as im:
        px_w, px_h = im.size
    buf.seek(0)
    height = width_pt * px_h / px_w
    return Image(buf, width=width_pt, height=height)


def _chart(draw, width_pt: float, height_in: float, styles, caption: str, *, nrows: int = 1,
           sharex: bool = False, heading: str | None = None) -> KeepTogether:
    """A chart and its caption (and the section heading above it) kept on one page."""
    with chart_style():
        fig, axes = plt.subplots(nrows, 1, figsize=(PRINT_WIDTH_IN, height_in), sharex=sharex,
                                 constrained_layout=True)
        draw(axes)
        image = _figure(fig, width_pt)
    parts = [Paragraph(text(heading), styles["H2"])] if heading else []
    return KeepTogether(parts + [image, Paragraph(text(caption), styles["caption"])])


def _table(rows, col_widths, styles, *, header_rows: int = 1, right_cols=(), zebra=True,
           small: bool = False) -> Table:
    """A table of strings (escaped here) with a shaded header."""
    body_style = styles["cell_small"] if small else styles["cell"]
    cells = []
    for r, row in enumerate(rows):
        out = []
        for c, value in enumerate(row):
            if isinstance(value, Flowable):
                out.append(value)
                continue
            if r < header_rows:
                style = styles["cell_head_right"] if c in right_cols else styles["cell_head"]
            else:
                style = styles["cell_right"] if c in right_cols else body_style
            out.append(Paragraph(text(value), style))
        cells.append(out)
    table = Table(cells, colWidths=col_widths, repeatRows=header_rows, hAlign="LEFT")
    commands = [
        ("BACKGROUND", (0, 0), (-1, header_rows - 1), HEAD_BG),
        ("LINEBELOW", (0, header_rows - 1), (-1, header_rows - 1), 0.6, RULE),
        ("LINEBELOW", (0, -1), (-1, -1), 0.6, RULE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.2),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    if zebra:
        for r in range(header_rows, len(rows)):
            if (r - header_rows) % 2 == 1:
                commands.append(("BACKGROUND", (0, r), (-1, r), ZEBRA))
    table.setStyle(TableStyle(commands))
    return table




def metrics_tables(result, styles, width) -> list:
    """Base case side by side, then the Monte Carlo statistics (as summary.json)."""
    s = result.summary()
    b, a = s["bitcoin"]["base"], s["ai"]["base"]
    rows = [["Base case", "Bitcoin mining", "AI hosting"]]
    for key, _, label, fmt in BASE_METRIC_ROWS:
        if key not in b and key not in a:
            continue
        rows.append([label.format(months=s["horizon_months"]), fmt(b[key]) if key in b else "",
                     fmt(a[key]) if key in a else ""])
    base_table = _table(rows, [width * 0.5, width * 0.25, width * 0.25], styles, right_cols=(1, 2))

    out = [base_table, Spacer(1, 8)]
    if result.paths > 1:
        head = ["Monte Carlo", "p5", "p25", "p50", "p75", "p95", "mean", "P(NPV<0)"]
        mc_rows = [head]

        def stats_row(label, stats, fmt, prob=None):
            return [label, *(fmt(stats[k]) for k in ("p5", "p25", "p50", "p75", "p95", "mean")),
                    pct(prob) if prob is not None else ""]

        for business, label in (("bitcoin", "Bitcoin mining"), ("ai", "AI hosting")):
            mc = s[business]["monte_carlo"]
            mc_rows.append(stats_row(f"{label}: NPV", mc["npv_usd"], money, mc["prob_npv_negative"]))
        mc_rows.append(stats_row("AI minus mining: NPV", s["comparison"]["npv_difference_usd"], money))
        for business, label in (("bitcoin", "Bitcoin mining"), ("ai", "AI hosting")):
            mc = s[business]["monte_carlo"]
            mc_rows.append(stats_row(f"{label}: IRR", mc["irr"], pct))
        for business, label in (("bitcoin", "Bitcoin mining"), ("ai", "AI hosting")):
            mc = s[business]["monte_carlo"]
            mc_rows.append(stats_row(f"{label}: payback", mc["payback_months"],
                                     lambda x: "n/a" if x is None else f"{x:.0f} mo"))
        first = width * 0.25
        rest = (width - first) / 7
        out.append(KeepTogether([
            _table(mc_rows, [first] + [rest] * 7, styles, right_cols=tuple(range(1, 8)), small=True),
            Paragraph(
            text(f"{result.paths:,} paths, seed {result.seed}. P(AI NPV > mining NPV) = "
                 f"{pct(s['comparison']['prob_ai_beats_bitcoin'])}. Percentiles and means ignore paths "
                 "where a metric is undefined (no IRR root; payback counts only paths that pay back "
                 "within the horizon)."), styles["caption"])]))
    return out


def _summary_flowables(summary: Summary, styles) -> list:
    out = [Paragraph(text(summary.headline), styles["headline"])]
    out += [Paragraph(text(p), styles["bullet"], bulletText="•") for p in summary.points]
    return out


def _title_block(result, styles, generated: dt.datetime, *, chapter: int | None = None) -> list:
    scenario = result.scenario
    kicker = f"Chapter {chapter}" if chapter else "pivotsim research note"
    out = [Paragraph(text(kicker), styles["kicker"]), Paragraph(text(scenario.name), styles["H1"])]
    if scenario.scenario.description:
        out.append(Paragraph(text(scenario.scenario.description), styles["body"]))
    ai = result.inputs.ai
    info = [
        ("Valuation date", f"{scenario.scenario.valuation_date.isoformat()}, horizon "
                           f"{int(scenario.scenario.horizon_months.value)} months"),
        ("Site", f"{result.inputs.site.grid_power_mw:,.0f} MW of grid power at "
                 f"{per_kwh(result.inputs.site.power_price_usd_per_kwh)}; AI deal kind: {ai.kind}"),
        ("Monte Carlo", f"{_paths(result.paths)}, seed {result.seed}"),
        ("Input file", f"{scenario.file or 'none (built in Python)'}"
                       + (f", SHA-256 {scenario.sha256}" if scenario.sha256 else "")),
    ]
    if scenario.overrides:
        info.append(("Overrides", "; ".join(f"--set {o}" for o in scenario.overrides)))
    info.append(("Generated", f"{generated:%Y-%m-%d %H:%M} UTC by pivotsim {__version__}"))
    rows = [[Paragraph(text(k), styles["cell_head"]), Paragraph(text(v), styles["cell"])] for k, v in info]
    table = Table(rows, colWidths=[28 * mm, None], hAlign="LEFT")
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("TOPPADDING", (0, 0), (-1, -1), 1.2), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.2),
                               ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("LINEABOVE", (0, 0), (-1, 0), 0.6, RULE),
                               ("LINEBELOW", (0, -1), (-1, -1), 0.6, RULE)]))
    out += [Spacer(1, 4), table, Spacer(1, 6)]
    return out


def _assumption_flowables(result, styles, width) -> list:
    rows = [["Input (--set path)", "Value", "Unit", "Provenance"]]
    for row in assumption_rows(result.scenario):
        rows.append([row.path, row.value, row.unit, row.provenance])
    table = _table(rows, [width * 0.27, width * 0.17, width * 0.11, width * 0.45], styles, small=True)
    out = [Paragraph("Assumptions", styles["H2"]),
           Paragraph(text("Every input of the scenario after --set overrides and defaults. Provenance is the "
                          "source (id → publisher, date, title) or the assumption's stated rationale; "
                          "'default' marks values the file leaves at pivotsim's default."), styles["body"]),
           table]
    sources = source_rows(result.scenario)
    if sources:
        srows = [["Id", "Source"]] + [[sid, desc] for sid, desc in sources]
        out += [Spacer(1, 8), Paragraph("Sources", styles["H2"]),
                _table(srows, [width * 0.1, width * 0.9], styles, small=True)]
    return out


def _uncertain_inputs_text(result) -> str:
    """" Uncertain inputs (lhs): a, b." from the run's inputs, or "" when there are none."""
    spec = getattr(result.inputs, "uncertainty", None)
    paths = list(getattr(spec, "paths", None) or [])
    if not paths:
        return " No scenario input is uncertain: only the market varies between paths."
    sampling = getattr(result.scenario, "sampling", None)
    how = f", sampled by {sampling}" if sampling else ""
    return (f" Uncertain inputs, drawn per path from a stream independent of the market shocks{how}: "
            f"{', '.join(paths)} (see the assumptions table for their distributions).")


def _methods_flowables(result, styles, notes: list[str]) -> list:
    rb, ra = discount_rate(result.inputs, "bitcoin"), discount_rate(result.inputs, "ai")
    rate = pct(rb) if rb == ra else f"{pct(ra)} (AI) and {pct(rb)} (mining)"
    paragraphs = [
        ("The comparison", "Both businesses are valued on the same grid power and the same monthly timeline. "
         "The AI halls get the grid power divided by their PUE as critical IT; the mining fleet gets it divided "
         "by the mining PUE as ASIC power. Each business carries its own capex, so mining is valued at "
         "replacement cost. Cash flows are nominal USD at month end; column 0 is the valuation date."),
        ("Mining", "Fleet hashrate is ASIC power divided by efficiency (J/TH). The fleet's share of blocks is "
         "its hashrate over the network's (difficulty × 2^32 / 600 s). Bitcoin mined is that share times the "
         "month's blocks times subsidy plus fees, less the pool fee, times uptime; revenue is bitcoin mined "
         "times the month's average price. The subsidy follows the protocol: 50 BTC halving every 210,000 "
         "blocks. Costs are grid energy times the power price, fixed opex per MW, and ASIC purchases and "
         "refreshes at falling J/TH."),
        ("AI hosting", "Revenue is the contract's annual value while each tranche is live; a prepayment "
         "arrives at signing and is credited against invoices pro rata; facility capex is spread over "
         "construction, GPU capex is paid on delivery and GPUs are resold at a residual share at term end "
         "(GPU cloud), or rent per kW-month with escalators and power passed through (colocation). "
         "Deal risks, where the scenario sets them: construction delay, capex overrun, tenant default "
         "(recovery, backstop, re-lease), renewal at term end."),
        ("Valuation", f"NPV at {rate} a year, converted to a monthly rate as (1 + r)^(1/12) - 1, with "
         "numpy-financial's conventions; IRR as an effective annual rate; payback is the month from which "
         "cumulative cash stays non-negative; peak funding is the deepest cumulative shortfall. Straight-line "
         "depreciation by asset class, tax with loss carry-forward, assets left at the horizon at book value "
         "when the scenario says so."),
        ("Monte Carlo and seeding", f"{_paths(result.paths)} with seed {result.seed}. Paths are drawn in "
         f"fixed blocks of {BLOCK_PATHS:,}; block k uses its own generator spawned from "
         f"SeedSequence({result.seed}) by k, so the same scenario and seed give the same numbers whatever "
         "the machine, memory chunking or number of workers. Both businesses see the same paths (common "
         "random numbers), so their difference path by path is not noise. The base case is the same "
         "engine with one path on the expected market path and every input at its base value. The fan "
         f"charts show the run's own first {min(result.paths, charts.FAN_PATHS, BLOCK_PATHS):,} paths."
         + _uncertain_inputs_text(result)),
        ("Not modelled", f"In pivotsim {__version__}: a network hashrate that responds to miners' margins, "
         "fee and power-price dynamics over time, and debt. Paths pushed past the horizon by a delay are "
         "cut there (book value of what is still owned). Re-lease and renewal tenants carry no default "
         "risk; recoveries and backstops are nominal. The figures model the deal from public information "
         "and stated assumptions; they are not investment advice."),
    ]
    out = [Paragraph("Methods and limitations", styles["H2"])]
    for head, body in paragraphs:
        out.append(Paragraph(f"<b>{text(head)}.</b> {text(body)}", styles["body"]))
    for note in notes:
        out.append(Paragraph(f"<b>Note.</b> {text(note)}", styles["body"]))
    command = ["pivotsim", "report", result.scenario.file or "SCENARIO.yaml", "--paths", str(result.paths),
               "--seed", str(result.seed)]
    for o in result.scenario.overrides:
        command += ["--set", o]
    command += ["-o", "report.pdf"]
    reproduce = [Paragraph("Reproduce", styles["H2"]),
                 Paragraph(text(" ".join(shlex.quote(c) for c in command)), styles["mono"])]
    if result.scenario.sha256:
        reproduce.append(Paragraph(text(f"Input file SHA-256: {result.scenario.sha256}"), styles["mono"]))
    out.append(KeepTogether(reproduce))
    return out


# --------------------------------------------------------------------------- chapters
def scenario_story(result, styles, width, generated: dt.datetime, *, chapter: int | None = None,
                   sensitivity: bool = True) -> list:
    """Flowables of one scenario's note (a chapter of a book when ``chapter`` is set)."""
    notes = []
    tornado = breakeven = None
    if sensitivity:
        tornado, reason = tornado_for(result)
        if reason:
            notes.append(f"No tornado chart: {reason}.")
        breakeven = result.breakeven_btc_price_usd
        if breakeven is None:
            notes.append("No break-even BTC price: the two NPVs do not cross between 0.01 and 100 times "
                         "the base BTC price path.")
    else:
        notes.append("Sensitivity and break-even were not requested for this report.")

    story: list = [SetPageContext(_context(result))]
    story += _title_block(result, styles, generated, chapter=chapter)
    story.append(Paragraph("Executive summary", styles["H2"]))
    story += _summary_flowables(executive_summary(result, tornado, breakeven), styles)
    if result.framing:  # which fleet each side assumes, and what the other framing would change
        story.append(Paragraph(text(framing_text(result.framing)), styles["body"]))
    tables = metrics_tables(result, styles, width)
    story.append(KeepTogether([Paragraph("Key metrics", styles["H2"]), tables[0]]))
    story += tables[1:]

    sample = charts.market_sample(result) if result.paths > 1 else None
    story.append(_chart(lambda axes: [charts.plot_cash_flow_items(result, "bitcoin", axes[0]),
                                      charts.plot_cash_flow_items(result, "ai", axes[1])],
                        width, 5.8, styles, nrows=2, heading="Cash flows",
                        caption="Figure 1. Base-case line items by contract year (year 1 includes the payments at "
                                "signing), nominal USD, inflows above zero; each panel has its own scale. "
                                "Diamonds: net cash flow of the year."))
    story.append(_chart(lambda ax: charts.plot_cumulative_cash(result, ax, sample), width, 2.7, styles,
                        caption="Figure 2. Cumulative net cash, nominal USD. The low point of each curve is the "
                                "peak funding need; dots mark payback. Bands: p5–p95 of the run's first "
                                "paths (none where a business has no uncertain input)."))
    if result.paths > 1:
        story.append(_chart(lambda axes: [charts.plot_npv_distributions(result, axes[0]),
                                          charts.plot_npv_difference(result, axes[1])],
                            width, 4.8, styles, nrows=2, heading="Risk: NPV distributions",
                            caption=f"Figure 3. Top: share of the {result.paths:,} Monte Carlo paths with an NPV "
                                    "at or below each value, per business (dashed: base case); a vertical step "
                                    "is a business whose NPV does not vary. Bottom: AI NPV minus mining NPV on the same "
                                    "path; the share of paths right of zero is P(AI beats mining)."))
    if sample is not None:
        story.append(_chart(lambda axes: [charts.plot_btc_price_fan(result, axes[0], sample),
                                          charts.plot_hashprice_fan(result, axes[1], sample)],
                            width, 5.3, styles, nrows=2, heading="Market",
                            caption=f"Figure 4. Fan charts of the run's first {sample.n_paths} paths: "
                                    "median, p25–p75 and p5–p95; dashed: base case. Hashprice is what 1 PH/s "
                                    "earns in a day at the simulated price, hashrate and block reward; dotted "
                                    "lines mark halvings."))
    story.append(_chart(lambda ax: charts.plot_revenue_per_kwh(result, ax, sample), width, 2.6, styles,
                        heading=None if sample is not None else "Market",
                        caption="Figure 5. Revenue per kWh of grid power drawn, month by month (bands: "
                                "p5–p95), against the power price, USD/kWh on a log scale."))
    if tornado is not None:
        shown = tornado.head(12)
        story.append(_chart(lambda ax: charts.plot_tornado(
            shown, ax, metric_label="Base-case NPV of AI minus NPV of mining (USD)"),
            width, 0.32 * len(shown) + 1.0, styles, heading="Sensitivity",
            caption="Figure 6. One input at a time moved to its low and high value; bars show the "
                    "base-case NPV difference, widest on top."))
    story.append(PageBreak())
    story += _assumption_flowables(result, styles, width)
    story.append(CondPageBreak(80 * mm))
    story += _methods_flowables(result, styles, notes)
    return story


def comparison_story(results, styles, width, generated: dt.datetime) -> list:
    """The comparison section that opens a book of several deals."""
    story: list = [SetPageContext(_book_context(results)),
                   Paragraph("pivotsim research note", styles["kicker"]),
                   Paragraph(text(f"Deal comparison: {len(results)} scenarios"), styles["H1"]),
                   Paragraph(text(f"Generated {generated:%Y-%m-%d %H:%M} UTC by pivotsim {__version__}. "
                                  "One chapter per deal follows this comparison."), styles["meta"]),
                   Paragraph("Comparison", styles["H2"])]
    story += _summary_flowables(comparison_summary(results), styles)
    rows = [["Deal", "Grid MW", "NPV mining", "NPV AI", "AI − mining (base)", "Median AI − mining",
             "P(AI beats mining)", "AI IRR", "AI payback"]]
    for r in results:
        s = r.summary()
        a, b = s["ai"]["base"], s["bitcoin"]["base"]
        rows.append([r.scenario.name, f"{r.inputs.site.grid_power_mw:,.0f}", money(b["npv_usd"]),
                     money(a["npv_usd"]), money(a["npv_usd"] - b["npv_usd"]),
                     money(s["comparison"]["npv_difference_usd"]["p50"]),
                     pct(s["comparison"]["prob_ai_beats_bitcoin"]) if r.paths > 1 else "n/a",
                     pct(a["irr"]), months(a["payback_months"])])
    first = width * 0.22
    rest = (width - first) / 8
    story.append(_table(rows, [first] + [rest] * 8, styles, right_cols=tuple(range(1, 9)), small=True))
    story.append(Spacer(1, 8))
    story.append(_chart(lambda ax: charts.plot_deal_comparison(results, ax), width,
                        0.42 * len(results) + 1.4, styles,
                        caption="Figure. NPV of AI hosting minus NPV of mining for each deal: thin line p5–p95, "
                                "thick p25–p75, circle median of the Monte Carlo, cross the base case."))
    files = [["Deal", "Input file", "SHA-256 (prefix)", "Paths", "Seed"]]
    for r in results:
        files.append([r.scenario.name, r.scenario.file or "(Python)", _sha_prefix(r), f"{r.paths:,}", str(r.seed)])
    story.append(_table(files, [width * 0.3, width * 0.35, width * 0.17, width * 0.1, width * 0.08], styles,
                        small=True, right_cols=(3, 4)))
    return story


# --------------------------------------------------------------------------- entry point
@contextmanager
def _binary_streams():
    """Binary (not ASCII85) PDF streams while building: smaller files, and reportlab's
    pure-Python ASCII85 encoder was a third of the build time."""
    old = rl_config.useA85
    rl_config.useA85 = 0
    try:
        yield
    finally:
        rl_config.useA85 = old


def check_output_path(path) -> Path:
    """The target as a Path; a PivotsimError unless it is a .pdf file in an existing folder."""
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise PivotsimError(f"output: {path!r} is not allowed; give a file name ending in .pdf")
    target = Path(path)
    if target.is_dir():
        raise PivotsimError(f"output: {str(target)!r} is a folder; give a file name ending in .pdf")
    if target.suffix.lower() != ".pdf":
        raise PivotsimError(f"output: {str(target)!r} is not allowed; the file name must end in .pdf")
    if not target.parent.is_dir():
        raise PivotsimError(f"output: folder {str(target.parent)!r} does not exist; create it first")
    return target


def write_report(result_or_results, path, *, paper: str = "a4", generated: dt.datetime | None = None,
                 sensitivity: bool = True) -> Path:
    """Write the PDF report of one run, or a book of several.

    Parameters
    ----------
    result_or_results : RunResult or sequence of RunResult
        One run gives a research note; several give a book with a comparison
        section first, then one chapter per deal.
    path : str or Path
        Target file, ending in ``.pdf``; its folder must exist.  Written to a
        temporary file and renamed, so a failure leaves no partial PDF.
    paper : {"a4", "letter"}
    generated : datetime, optional
        Generation time printed on the title page (default: now, UTC).  The
        bytes depend on nothing else but the runs.
    sensitivity : bool
        Include the tornado and break-even BTC price when pivotsim provides them.

    Returns
    -------
    Path
        The written file.
    """
    from ..runs import RunResult

    results = [result_or_results] if isinstance(result_or_results, RunResult) else list(result_or_results)
    if not results or not all(isinstance(r, RunResult) for r in results):
        raise PivotsimError("report: expected a RunResult or a non-empty list of RunResults "
                            "(from pivotsim.run)")
    if not isinstance(paper, str) or paper.lower() not in PAPERS:
        raise PivotsimError(f"paper: {paper!r} is not allowed; must be one of {', '.join(PAPERS)}")
    target = check_output_path(path)
    generated = generated or dt.datetime.now(dt.timezone.utc)
    _register_fonts()
    styles = _styles()

    first = _book_context(results) if len(results) > 1 else _context(results[0])
    tmp = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        doc = ReportDocument(str(tmp), PAPERS[paper.lower()], first,
                             title=results[0].scenario.name if len(results) == 1
                             else f"Deal comparison: {len(results)} scenarios",
                             author=f"pivotsim {__version__}",
                             subject="Bitcoin mining or AI hosting on the same megawatts",
                             creator=f"pivotsim {__version__}")
        if len(results) == 1:
            story = scenario_story(results[0], styles, doc.width, generated, sensitivity=sensitivity)
        else:
            story = comparison_story(results, styles, doc.width, generated)
            for i, result in enumerate(results, start=1):
                story.append(PageBreak())
                story += scenario_story(result, styles, doc.width, generated, chapter=i,
                                        sensitivity=sensitivity)
        with _binary_streams():
            doc.build(story, canvasmaker=NumberedCanvas)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target
