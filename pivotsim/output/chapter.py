"""One deal's research note: the decision first, then the evidence, then the inputs and the method.

Order of a note (a chapter of a book has the same pages, its market shown once
in the book's appendix):

1. the answer in one line, a box of the key assumptions, the headline table;
2. the cases (bear, base, bull), the sensitivity grids, the drivers of the spread;
3. what the run's other analyses add, when it has them (value bridge,
   financing, timing option, market at the valuation date);
4. the NPV distributions, cash flows, market paths;
5. the inputs with their sources, the sources, what is and is not modelled,
   (the command that writes the note again is under its title).

Sections flow one after another (no forced page breaks inside a note), so no
page is left half empty except the last of a chapter.
"""

from __future__ import annotations

import datetime as dt
import shlex
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, KeepTogether, Paragraph, Spacer, Table, TableStyle

from .._version import __version__
from ..formatting import pct, per_kwh, usd_price
from ..scenario.labels import in_sentence, input_label
from ..simulate import BLOCK_PATHS, discount_rate
from . import charts
from .layout import RULE, SetPageContext, chart, deal_context, paths_text, table, text
from .extra_sections import EXTRA_SECTIONS, market_now_section
from .limitations import model_statements
from .note import (answer_sentence, cases_rows, drivers_caption, grid_rows, headline_rows, key_assumptions)
from .note_figures import plot_drivers
from .scenario_table import assumption_rows, source_rows

BOX_BG = colors.HexColor("#F1F4F8")


def title_block(result, styles, generated: dt.datetime, *, chapter: int | None = None) -> list:
    """Kicker, title, description and one line of run facts."""
    scenario = result.scenario
    kicker = f"Chapter {chapter}" if chapter else "pivotsim research note"
    out = [Paragraph(text(kicker), styles["kicker"]), Paragraph(text(scenario.name), styles["H1"])]
    if scenario.scenario.description:
        out.append(Paragraph(text(scenario.scenario.description), styles["body"]))
    facts = (f"Valuation {scenario.scenario.valuation_date.isoformat()}, horizon "
             f"{int(scenario.scenario.horizon_months.value)} months · {paths_text(result.paths)}, seed {result.seed} · "
             f"{scenario.file or 'built in Python'}"
             + (f" · {len(scenario.overrides)} --set override(s)" if scenario.overrides else "")
             + f" · generated {generated:%Y-%m-%d %H:%M} UTC by pivotsim {__version__}")
    out.append(Paragraph(text(facts), styles["meta"]))
    out.append(Paragraph(text(f"Reproduce: {reproduce_command(result)}"
                              + (f" (input SHA-256 {scenario.sha256})" if scenario.sha256 else "")), styles["mono"]))
    return out


def _box(rows, styles, width) -> Table:
    cells = [[Paragraph(text(k), styles["cell_head"]), Paragraph(text(v), styles["cell"])] for k, v in rows]
    box = Table(cells, colWidths=[28 * mm, width - 28 * mm], hAlign="LEFT")
    box.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, -1), BOX_BG), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                             ("TOPPADDING", (0, 0), (-1, -1), 1.6), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.6),
                             ("LEFTPADDING", (0, 0), (-1, -1), 4), ("BOX", (0, 0), (-1, -1), 0.6, RULE)]))
    return box


def _bullets(data) -> list[str]:
    """Two or three sentences under the headline table: what the table does not say."""
    s, result = data.summary, data.result
    a, b = s["ai"]["base"], s["bitcoin"]["base"]
    out = []
    prob = s["comparison"].get("prob_ai_beats_bitcoin")
    diff = a["npv_usd"] - b["npv_usd"]
    if result.paths > 1 and prob is not None and prob != 0.5 and (diff > 0) != (prob > 0.5):
        leader = "AI hosting" if prob > 0.5 else "bitcoin mining"
        out.append(f"The base case, on the expected market path, and the Monte Carlo disagree: {leader} comes "
                   f"out ahead on most paths ({pct(max(prob, 1 - prob))}).")
    if a.get("revenue_usd_per_kwh") and b.get("revenue_usd_per_kwh"):
        ratio = a["revenue_usd_per_kwh"] / b["revenue_usd_per_kwh"]
        spot = b.get("revenue_per_kwh_spot_usd")
        out.append(f"Per kWh of grid power, averaged over the {s['horizon_months']} months, AI hosting earns "
                   f"{per_kwh(a['revenue_usd_per_kwh'])} of revenue against {per_kwh(b['revenue_usd_per_kwh'])} for "
                   f"mining ({ratio:.1f} times as much"
                   + (f"; mining's spot figure, month 1, is {per_kwh(spot)}" if spot else "")
                   + f"); power costs {per_kwh(result.inputs.site.power_price_usd_per_kwh)}.")
    breakeven = s["comparison"].get("breakeven_btc_price_usd")
    spot = float(result.inputs.market.btc_price_usd)
    if breakeven is not None:
        change = breakeven / spot - 1.0
        out.append(f"Mining matches the AI deal's base-case NPV when bitcoin starts at {usd_price(breakeven)}, "
                   f"{pct(abs(change))} {'above' if change > 0 else 'below'} the {usd_price(spot)} used here "
                   "(same drift and halvings).")
    else:
        out.append("The two base-case NPVs do not cross for a starting bitcoin price between 0.01 and 100 times "
                   f"{usd_price(spot)}: no break-even price in that range.")
    return out


def page_one(data, styles, width) -> list:
    """The answer, the key assumptions and the headline table."""
    result, summary = data.result, data.summary
    rows = headline_rows(summary, data.extras)
    first = width * 0.28
    rest = (width - first) / 3
    out = [Paragraph(text(answer_sentence(summary, result.inputs.site.grid_power_mw, data.drivers)),
                     styles["headline"]),
           Paragraph("Key assumptions", styles["H3"]), _box(key_assumptions(result), styles, width),
           Paragraph("Headline", styles["H3"]),
           table(rows, [first, rest, rest, rest], styles, right_cols=(1, 2, 3)), Spacer(1, 4)]
    out += [Paragraph(text(p), styles["bullet"], bulletText="•") for p in _bullets(data)]
    return out


def decision_section(data, styles, width) -> list:
    """Cases, sensitivity grids and drivers: what moves the answer."""
    out = []
    if data.cases:
        rows = cases_rows(data.cases)
        n = len(rows[0])
        widths = [width * 0.08, width * 0.34] + [width * 0.58 / (n - 2)] * (n - 2)
        out.append(KeepTogether([
            Paragraph("Cases: bear, base, bull", styles["H2"]),
            table(rows, widths, styles, right_cols=tuple(range(2, n)), small=True),
            Paragraph(text(f"Each case is the scenario with the overrides its file names (the assumption line says "
                           f"why), run with the same {paths_text(data.result.paths)} and seed; NPVs are base case, "
                           "the mean and P(AI beats) are the Monte Carlo's."), styles["caption"])]))
    for grid in data.grids:
        rows = grid_rows(grid)
        n = len(rows[0])
        widths = [width * 0.24] + [width * 0.76 / (n - 1)] * (n - 1)
        what = "AI minus mining NPV" if "difference" in grid.spec.metric else "AI hosting NPV"
        out.append(KeepTogether([
            Paragraph(text(f"Sensitivity: {what} by {in_sentence(input_label(grid.spec.rows[0]))} and "
                           f"{in_sentence(input_label(grid.spec.cols[0]))}"), styles["H3"]),
            table(rows, widths, styles, right_cols=tuple(range(1, n)), small=True, bold_cell=_bold(grid)),
            Paragraph(text("Base case (expected market path), every other input at its base value; the "
                           "middle cell is the scenario as written."), styles["caption"])]))
    if data.drivers is not None and data.drivers.drivers:
        height = 0.27 * min(len(data.drivers.drivers) + 1, 11) + 1.1
        out.append(chart(lambda ax: plot_drivers(data.drivers, ax), width, height, styles,
                         heading="What drives the spread", caption=drivers_caption(data.drivers)))
    return out


def _bold(grid):
    return None if grid.base is None else (grid.base[0] + 1, grid.base[1] + 1)


def evidence_section(result, styles, width, *, market: bool = True) -> list:
    """NPV distributions, cash flows and (in a note; a book shows them once) the market paths."""
    out = []
    sample = charts.market_sample(result) if result.paths > 1 else None
    if result.paths > 1:
        out.append(chart(lambda axes: [charts.plot_npv_distributions(result, axes[0]),
                                       charts.plot_npv_difference(result, axes[1])],
                         width, 4.3, styles, nrows=2, heading="Risk: NPV distributions",
                         caption=f"Top: share of the {result.paths:,} Monte Carlo paths with an NPV at or below each "
                                 "value (dashed: base case). Bottom: AI NPV minus mining NPV on the same path; the "
                                 "share right of zero is P(AI beats mining)."))
    out.append(chart(lambda ax: charts.plot_cumulative_cash(result, ax, sample), width, 2.6, styles,
                     caption="Cumulative net cash, nominal USD: the low point is the peak funding need, dots mark "
                             "payback; bands p5–p95 of the run's first paths."))
    out.append(chart(lambda axes: [charts.plot_cash_flow_items(result, "bitcoin", axes[0]),
                                   charts.plot_cash_flow_items(result, "ai", axes[1])],
                     width, 5.6, styles, nrows=2, heading="Cash flows",
                     caption="Base-case line items by contract year (year 1 includes the payments at signing), "
                             "nominal USD, inflows above zero; diamonds: net cash flow of the year."))
    out.append(chart(lambda ax: charts.plot_revenue_per_kwh(result, ax, sample), width, 2.5, styles,
                     caption="Revenue per kWh of grid power drawn, month by month (bands p5–p95), against the "
                             "power price, log scale."))
    if market and sample is not None:
        out.append(chart(lambda axes: [charts.plot_btc_price_fan(result, axes[0], sample),
                                       charts.plot_hashprice_fan(result, axes[1], sample)],
                         width, 5.0, styles, nrows=2, heading="Market",
                         caption=f"The run's first {sample.n_paths} paths: median, p25–p75 and p5–p95; dashed: "
                                 "base case; dotted lines mark halvings."))
    return out


def assumption_table_rows(scenario, *, exclude: frozenset = frozenset()) -> list[list]:
    """The assumptions table's rows: input (label over its --set path), value, unit, provenance."""
    rows = [["Input (--set path)", "Value", "Unit", "Provenance"]]
    for row in assumption_rows(scenario):
        if row.path.startswith("cases.") or row.path in exclude:
            continue
        label = input_label(row.path.split(":")[0], scenario) if not row.path.startswith("correlations") \
            else "Rank correlation"
        rows.append([(label, row.path), row.value, row.unit, row.provenance])
    return rows


def input_cell(label: str, path: str, styles) -> Paragraph:
    return Paragraph(f"{text(label)}<br/><font size=6 color='#666666'>{text(path)}</font>", styles["cell_small"])


def assumptions_section(result, styles, width, *, exclude: frozenset = frozenset(), note: str | None = None) -> list:
    """Every input with its provenance (less ``exclude``, shown once in a book), then the sources."""
    rows = assumption_table_rows(result.scenario, exclude=exclude)
    out = [CondPageBreak(60 * mm), Paragraph("Assumptions", styles["H2"]),
           Paragraph(text("Every input after --set overrides and defaults: its label and the path to set it, the "
                          "value, and the source (id → publisher, date, title) or the stated rationale; "
                          "'default' marks values the file leaves at pivotsim's default."
                          + (f" {note}" if note else "")), styles["body"]),
           table([rows[0]] + [[input_cell(*r[0], styles)] + r[1:] for r in rows[1:]],
                 [width * 0.27, width * 0.17, width * 0.11, width * 0.45], styles, small=True)]
    sources = source_rows(result.scenario)
    if sources:
        out += [Spacer(1, 6), Paragraph("Sources", styles["H2"]),
                table([["Id", "Source"]] + [[sid, desc] for sid, desc in sources], [width * 0.1, width * 0.9],
                      styles, small=True)]
    return out


def _uncertain_inputs_text(result) -> str:
    spec = getattr(result.inputs, "uncertainty", None)
    paths = list(getattr(spec, "paths", None) or [])
    if not paths:
        return " No scenario input is uncertain: only the market varies between paths."
    labels = [in_sentence(input_label(p, result.scenario)) for p in paths]
    return (f" Uncertain inputs, drawn per path ({result.scenario.sampling}) from a stream independent of the market "
            f"shocks: {', '.join(labels)} (their distributions are in the assumptions table).")


def methods_section(result, styles) -> list:
    """How the numbers are made and what this run models and leaves out."""
    rb, ra = discount_rate(result.inputs, "bitcoin"), discount_rate(result.inputs, "ai")
    rate = pct(rb) if rb == ra else f"{pct(ra)} (AI) and {pct(rb)} (mining)"
    paragraphs = [
        ("The comparison", "Both businesses are valued on the same grid power and monthly timeline: the AI halls "
         "get the grid power over their PUE as critical IT, the fleet gets it over the mining PUE. Cash flows are "
         "nominal USD at month end; month 0 is the valuation date."),
        ("Valuation", f"NPV at {rate} a year, as a monthly rate (1 + r)^(1/12) - 1, with numpy-financial's "
         "conventions; IRR as an effective annual rate; payback is the month from which cumulative cash stays "
         "non-negative; peak funding is the deepest cumulative shortfall. Straight-line depreciation by asset "
         "class, tax with loss carry-forward."),
        ("Monte Carlo", f"{paths_text(result.paths)}, seed {result.seed}, in fixed blocks of {BLOCK_PATHS:,}, block k "
         f"drawing from SeedSequence({result.seed}) spawned by k: the same numbers on any machine, chunking or "
         "number of workers. Both businesses see the same paths, so their difference path by path is not noise; "
         "the base case is the same engine on the expected market path." + _uncertain_inputs_text(result)),
    ]
    statements = model_statements(result.inputs)
    out = [CondPageBreak(50 * mm), Paragraph("Method and limitations", styles["H2"])]
    out += [Paragraph(f"<b>{text(head)}.</b> {text(body)}", styles["body"]) for head, body in paragraphs]
    out.append(Paragraph("<b>Modelled in this run.</b>", styles["body"]))
    out += [Paragraph(text(s), styles["bullet"], bulletText="•") for s in statements.modelled]
    out.append(Paragraph("<b>Not modelled in this run.</b>", styles["body"]))
    out += [Paragraph(text(s), styles["bullet"], bulletText="•") for s in statements.not_modelled]
    return out


def reproduce_command(result) -> str:
    """The command line that writes this note (or this chapter's numbers) again."""
    scenario = result.scenario
    file = scenario.file or "SCENARIO.yaml"
    if getattr(scenario, "bundled", False):  # a library deal: its name finds it on any install
        file = Path(file).name
    command = ["pivotsim", "report", file, "--paths", str(result.paths),
               "--seed", str(result.seed)]
    for o in result.scenario.overrides:
        command += ["--set", o]
    return " ".join(shlex.quote(c) for c in command + ["-o", "report.pdf"])


def chapter_story(data, styles, width, generated: dt.datetime, *, chapter: int | None = None,
                  shared: frozenset = frozenset(), extra_sections=EXTRA_SECTIONS) -> list:
    """Flowables of one deal's note; a book chapter shows the market once, in the appendix (``shared`` rows)."""
    result = data.result
    story: list = [SetPageContext(deal_context(result))]
    story += title_block(result, styles, generated, chapter=chapter)
    story += page_one(data, styles, width)
    story += decision_section(data, styles, width)
    for section in extra_sections:
        if chapter is not None and section is market_now_section:
            continue  # a book shows the common market once, in its appendix
        story += section(data, styles, width)
    story += evidence_section(result, styles, width, market=chapter is None)
    note = ("The market inputs every deal of this book shares are listed once, in the appendix 'Common market'."
            if shared else None)
    story += assumptions_section(result, styles, width, exclude=shared, note=note)
    story += methods_section(result, styles)
    return story
