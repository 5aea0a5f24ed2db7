"""A book of several deals: the comparison first, one chapter per deal, the common market once at the end.

The rule that ties a chapter to the single note of its deal: **each deal is
run on its own scenario, its own horizon and the book's seed and paths,
exactly as ``pivotsim report <deal>.yaml`` runs it**, so every number of a
chapter is the number of that deal's single note, and the chapter's
Reproduce line writes it again.  Deals with the same horizon see the same
market paths month by month (common random numbers); deals with different
horizons share the seed and the market process, not the paths, and the
comparison page says which is the case.

The market inputs that every deal shares (same value, same provenance) are
listed once, in the appendix, with the market paths of the longest deal;
each chapter lists only its own inputs.
"""

from __future__ import annotations

import datetime as dt

from reportlab.platypus import PageBreak, Paragraph, Spacer

from .._version import __version__
from ..formatting import money, pct
from . import charts
from .chapter import input_cell, assumption_table_rows
from .extra_sections import market_now_section
from .layout import PageContext, SetPageContext, book_context, chart, sha_prefix, table, text


def shared_market_paths(results) -> frozenset:
    """Market inputs identical (value, unit, provenance) in every deal of the book."""
    if len(results) < 2:
        return frozenset()
    tables = []
    for r in results:
        tables.append({row[0][1]: tuple(row[1:]) for row in assumption_table_rows(r.scenario)[1:]
                       if row[0][1].startswith("market.")})
    common = set(tables[0])
    for t in tables[1:]:
        common &= {p for p in t if p in tables[0] and t[p] == tables[0][p]}
    return frozenset(common)


def market_rule(results) -> str:
    """The sentence that says which deals share market paths month by month."""
    horizons = sorted({r.timeline.horizon_months for r in results})
    seeds = sorted({r.seed for r in results})
    paths = sorted({r.paths for r in results})
    head = (f"Each chapter is its deal's own note: the scenario file run alone with {', '.join(f'{p:,}' for p in paths)} "
            f"paths and seed {', '.join(map(str, seeds))}, so its numbers are those of pivotsim report on that file "
            "and its Reproduce line writes them again.")
    if len(horizons) == 1 and len(seeds) == 1:
        return head + (f" All deals have a {horizons[0]}-month horizon, so they see the same market paths month by "
                       "month (common random numbers): differences between them come from their inputs, not noise.")
    return head + (f" The horizons differ ({', '.join(f'{h}' for h in horizons)} months): deals share the seed and "
                   "the market process, and deals of equal horizon share the paths month by month.")


def comparison_story(datas, styles, width, generated: dt.datetime) -> list:
    """The comparison that opens a book."""
    results = [d.result for d in datas]
    story: list = [SetPageContext(book_context(results)),
                   Paragraph("pivotsim research note", styles["kicker"]),
                   Paragraph(text(f"Deal comparison: {len(results)} scenarios"), styles["H1"]),
                   Paragraph(text(f"Generated {generated:%Y-%m-%d %H:%M} UTC by pivotsim {__version__}. "
                                  "A chapter per deal follows; the market they share is in the appendix."),
                             styles["meta"])]
    ranked = sorted(datas, key=lambda d: -(d.summary["ai"]["base"]["npv_usd"] - d.summary["bitcoin"]["base"]["npv_usd"]))
    ai_wins = sum(1 for d in datas if d.summary["ai"]["base"]["npv_usd"] > d.summary["bitcoin"]["base"]["npv_usd"])
    best, worst = ranked[0], ranked[-1]

    def gap(d):
        return d.summary["ai"]["base"]["npv_usd"] - d.summary["bitcoin"]["base"]["npv_usd"]

    story.append(Paragraph(text(
        f"AI hosting has the higher base-case NPV in {ai_wins} of {len(datas)} deals; the AI advantage runs from "
        f"{money(gap(worst))} ({worst.result.scenario.name}) to {money(gap(best))} ({best.result.scenario.name})."),
        styles["headline"]))
    story.append(Paragraph(text(market_rule(results)), styles["body"]))
    rows = [["Deal", "NPV mining", "NPV AI", "AI − mining (base)", "Mean AI − mining", "P(AI beats mining)",
             "AI IRR", "Key driver (share of variance)"]]
    for d in datas:
        s, r = d.summary, d.result
        a, b = s["ai"]["base"], s["bitcoin"]["base"]
        key = d.drivers.key_driver if d.drivers is not None else None
        rows.append([r.scenario.name, money(b["npv_usd"]), money(a["npv_usd"]), money(a["npv_usd"] - b["npv_usd"]),
                     money(s["comparison"]["npv_difference_usd"]["mean"]) if r.paths > 1 else "n/a",
                     pct(s["comparison"]["prob_ai_beats_bitcoin"]) if r.paths > 1 else "n/a", pct(a["irr"]),
                     f"{key.label.split(' (')[0]} {pct(key.contribution, 0)}" if key else "n/a"])
    first, last = width * 0.24, width * 0.16
    rest = (width - first - last) / 6
    story.append(table(rows, [first] + [rest] * 6 + [last], styles, right_cols=tuple(range(1, 7)), small=True))
    story.append(Spacer(1, 6))
    story.append(chart(lambda ax: charts.plot_deal_comparison(results, ax), width, 0.45 * len(results) + 1.5, styles,
                       caption="NPV of AI hosting minus NPV of mining for each deal: thin line p5–p95, thick "
                               "p25–p75, circle median of the Monte Carlo, cross the base case."))
    files = [["Deal", "Input file", "SHA-256 (prefix)", "Horizon", "Paths", "Seed"]]
    for r in results:
        files.append([r.scenario.name, r.scenario.file or "(Python)", sha_prefix(r),
                      f"{r.timeline.horizon_months} months", f"{r.paths:,}", str(r.seed)])
    story.append(table(files, [width * 0.28, width * 0.3, width * 0.14, width * 0.11, width * 0.09, width * 0.08],
                       styles, small=True, right_cols=(3, 4, 5)))
    return story


def appendix_story(datas, shared: frozenset, styles, width) -> list:
    """The market every chapter shares: its inputs once, and the market paths of the longest deal."""
    if not shared:
        return []
    longest = max(datas, key=lambda d: d.result.timeline.horizon_months)
    result = longest.result
    rows = assumption_table_rows(result.scenario)
    kept = [rows[0]] + [[input_cell(*r[0], styles)] + r[1:] for r in rows[1:] if r[0][1] in shared]
    story = [PageBreak(), SetPageContext(PageContext(header="Appendix: common market",
                                                     footer=book_context([d.result for d in datas]).footer)),
             Paragraph("Appendix: common market", styles["H1"]),
             Paragraph(text(f"The {len(shared)} market inputs below have the same value and provenance in every deal "
                            "of this book; each chapter lists only its own inputs."), styles["body"]),
             table(kept, [width * 0.27, width * 0.17, width * 0.11, width * 0.45], styles, small=True)]
    story += market_now_section(longest, styles, width)
    if result.paths > 1:
        sample = charts.market_sample(result)
        story.append(chart(lambda axes: [charts.plot_btc_price_fan(result, axes[0], sample),
                                         charts.plot_hashprice_fan(result, axes[1], sample)],
                           width, 5.0, styles, nrows=2, heading="Market paths",
                           caption=f"The first {sample.n_paths} paths of {result.scenario.name} "
                                   f"({result.timeline.horizon_months} months): median, p25–p75 and p5–p95; "
                                   "dashed: base case; dotted lines mark halvings."))
    return story
