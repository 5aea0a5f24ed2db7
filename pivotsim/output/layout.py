"""Page layout of the PDF note: fonts, paragraph styles, page furniture, charts and tables as flowables.

reportlab platypus; charts embedded as PNG at :data:`~pivotsim.output.style.DPI`
dots per inch, drawn at the width they are printed at.  Text uses DejaVu Sans
(shipped with matplotlib), so any user text (``&``, ``<``, ``é``, ``€``)
renders, and every piece of user text is escaped (:func:`text`) before it
reaches reportlab's markup.

Every page carries a header with the scenario name and a footer with the page
number ``n / N``, the seed and the SHA-256 prefix of the input file.  The
document's creation date is the note's generation time
(:func:`pivotsim.output.safe_text.stamp_pdf_time`); reportlab's invariant mode
keeps everything else free of random ids, so the same runs and time give the
same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import matplotlib

matplotlib.use("Agg")  # the report never opens windows
import matplotlib.pyplot as plt  # noqa: E402
from reportlab.lib import colors  # noqa: E402
from reportlab.lib.enums import TA_LEFT  # noqa: E402
from reportlab.lib.pagesizes import A4, LETTER  # noqa: E402
from reportlab.lib.styles import ParagraphStyle  # noqa: E402
from reportlab.lib.units import mm  # noqa: E402
from reportlab.pdfbase import pdfmetrics  # noqa: E402
from reportlab.pdfbase.ttfonts import TTFont  # noqa: E402
from reportlab.pdfgen.canvas import Canvas  # noqa: E402
from reportlab.platypus import (BaseDocTemplate, Flowable, Frame, Image, KeepTogether,  # noqa: E402
                                PageTemplate, Paragraph, Table, TableStyle)

from .._version import __version__  # noqa: E402
from .safe_text import stamp_pdf_time  # noqa: E402
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
def register_fonts() -> None:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    for name, file in ((FONT, "DejaVuSans.ttf"), (FONT_BOLD, "DejaVuSans-Bold.ttf"),
                       (FONT_ITALIC, "DejaVuSans-Oblique.ttf"),
                       ("DejaVuSans-BoldOblique", "DejaVuSans-BoldOblique.ttf")):
        pdfmetrics.registerFont(TTFont(name, str(folder / file)))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT_ITALIC,
                                  boldItalic="DejaVuSans-BoldOblique")


def paragraph_styles() -> dict[str, ParagraphStyle]:
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
        "H3": ParagraphStyle("H3", parent=base, fontName=FONT_BOLD, fontSize=9.5, leading=12.5,
                             spaceBefore=7, spaceAfter=3, textColor=colors.HexColor("#1B3A5C")),
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

    def __init__(self, *args, generated: dt.datetime | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._saved_pages: list[dict] = []
        if generated is not None:
            stamp_pdf_time(self, generated)

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
        canvas.drawString(MARGIN_X, height - 12 * mm, fit(context.header, room, 7.5))
        canvas.drawRightString(width - MARGIN_X, height - 12 * mm, right)
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)
        canvas.line(MARGIN_X, height - 13.5 * mm, width - MARGIN_X, height - 13.5 * mm)
        canvas.line(MARGIN_X, 13 * mm, width - MARGIN_X, 13 * mm)
        canvas.drawString(MARGIN_X, 10 * mm, fit(context.footer, width - 2 * MARGIN_X - 50, 7.5))
        canvas.restoreState()

    def afterFlowable(self, flowable):
        if isinstance(flowable, Paragraph) and flowable.style.name in ("H1", "H2"):
            level = 0 if flowable.style.name == "H1" else 1
            key = f"h{self._bookmarks}"
            self._bookmarks += 1
            self.canv.bookmarkPage(key)
            self.canv.addOutlineEntry(flowable.getPlainText(), key, level=level, closed=level > 0)


def fit(value: str, width_pt: float, size: float) -> str:
    """Cut ``value`` with an ellipsis so it fits ``width_pt`` points."""
    if pdfmetrics.stringWidth(value, FONT, size) <= width_pt:
        return value
    while value and pdfmetrics.stringWidth(value + "…", FONT, size) > width_pt:
        value = value[:-1]
    return value + "…"


def paths_text(n: int) -> str:
    return f"{n:,} path{'' if n == 1 else 's'}"


def sha_prefix(result) -> str:
    sha = result.scenario.sha256
    return sha[:SHA_PREFIX] if sha else "none (scenario built in Python)"


def deal_context(result) -> PageContext:
    overrides = len(result.scenario.overrides)
    extra = f" + {overrides} --set override{'s' if overrides > 1 else ''}" if overrides else ""
    footer = (f"seed {result.seed} · {paths_text(result.paths)} · input SHA-256 {sha_prefix(result)}{extra} · "
              f"pivotsim {__version__}")
    return PageContext(header=result.scenario.name, footer=footer)


def book_context(results) -> PageContext:
    seeds = ", ".join(sorted({str(r.seed) for r in results}))
    if len(results) <= 3:
        shas = "input SHA-256 " + ", ".join(sha_prefix(r)[:8] for r in results)
    else:
        shas = f"{len(results)} input files, SHA-256 in the comparison table"
    return PageContext(header=f"Deal comparison: {len(results)} scenarios",
                       footer=f"seed {seeds} · {shas} · pivotsim {__version__}")


# --------------------------------------------------------------------------- building blocks
def figure_image(fig, width_pt: float) -> Image:
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


def chart(draw, width_pt: float, height_in: float, styles, caption: str, *, nrows: int = 1,
           sharex: bool = False, heading: str | None = None) -> KeepTogether:
    """A chart and its caption (and the section heading above it) kept on one page."""
    with chart_style():
        fig, axes = plt.subplots(nrows, 1, figsize=(PRINT_WIDTH_IN, height_in), sharex=sharex,
                                 constrained_layout=True)
        draw(axes)
        image = figure_image(fig, width_pt)
    parts = [Paragraph(text(heading), styles["H2"])] if heading else []
    return KeepTogether(parts + [image, Paragraph(text(caption), styles["caption"])])


def table(rows, col_widths, styles, *, header_rows: int = 1, right_cols=(), zebra=True,
          small: bool = False, bold_cell: tuple[int, int] | None = None) -> Table:
    """A table of strings (escaped here) with a shaded header; ``bold_cell`` (row, column) set in bold."""
    body_style = styles["cell_small"] if small else styles["cell"]
    cells = []
    for r, row in enumerate(rows):
        line = []
        for c, value in enumerate(row):
            if isinstance(value, Flowable):
                line.append(value)
                continue
            if r < header_rows:
                style = styles["cell_head_right"] if c in right_cols else styles["cell_head"]
            else:
                style = styles["cell_right"] if c in right_cols else body_style
            cell = f"<b>{text(value)}</b>" if (r, c) == bold_cell else text(value)
            line.append(Paragraph(cell, style))
        cells.append(line)
    out = Table(cells, colWidths=col_widths, repeatRows=header_rows, hAlign="LEFT")
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
    out.setStyle(TableStyle(commands))
    return out




