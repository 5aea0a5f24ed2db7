"""The research note as a reader gets it: text read back with pypdf, pages rendered with PDFium.

Expected numbers come from the runs themselves (RunResult.summary(), the
cases run by hand with their overrides), formatted by pivotsim.formatting, the
terminal's rules.
"""

from __future__ import annotations

import datetime as dt
import re

import matplotlib
import pytest

matplotlib.use("Agg")
pypdf = pytest.importorskip("pypdf")
pytest.importorskip("pypdfium2")

import pivotsim  # noqa: E402
from pivotsim.formatting import money, pct  # noqa: E402
from pivotsim.output import layout  # noqa: E402
from pivotsim.runs import run  # noqa: E402
from pivotsim.scenario.labels import in_sentence  # noqa: E402
from pivotsim.scenario import load_scenario  # noqa: E402

from .pdf_pages import page_fills  # noqa: E402

PATHS = 2_000
SEED = 2025
FIXED_TIME = dt.datetime(2026, 12, 3, 10, 53, tzinfo=dt.timezone.utc)
BOOK = ["scenarios/iren.yaml", "scenarios/cipher_aws.yaml", "scenarios/terawulf_fluidstack.yaml"]
STALE = "a network hashrate that responds to miners' margins, fee and power-price dynamics over time"
DOTTED = re.compile(r"\b(?:site|bitcoin|market|ai|finance|scenario)\.[a-z_]+(?:\.[a-z0-9_]+)*")
FIGURE_TEXTS: list[tuple[str, bool]] = []


def _pages(path) -> list[str]:
    return [re.sub(r"\s+", " ", page.extract_text() or "") for page in pypdf.PdfReader(str(path)).pages]


@pytest.fixture(scope="module")
def iren_note(tmp_path_factory):
    """The IREN note; every matplotlib text of its figures recorded with whether mathtext would parse it."""
    original = layout.figure_image

    def recording(fig, width_pt):
        for t in fig.findobj(matplotlib.text.Text):
            if t.get_text():
                FIGURE_TEXTS.append((t.get_text(), t._preprocess_math(t.get_text())[1]))
        return original(fig, width_pt)

    layout.figure_image = recording
    try:
        result = run("scenarios/iren.yaml", paths=PATHS, seed=SEED)
        path = pivotsim.report(result, tmp_path_factory.mktemp("note") / "iren.pdf", generated=FIXED_TIME)
    finally:
        layout.figure_image = original
    return result, path


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    results = [run(f, paths=PATHS, seed=SEED) for f in BOOK]
    path = pivotsim.report(results, tmp_path_factory.mktemp("book") / "book.pdf", generated=FIXED_TIME)
    return results, path


def _outside_assumptions(pages: list[str]) -> str:
    text = " ".join(pages)
    out, rest = [], text
    while "Assumptions Every input" in rest:
        before, _, after = rest.partition("Assumptions Every input")
        out.append(before)
        rest = after.partition("Method and limitations")[2]
    out.append(rest)
    text = " ".join(out)
    for appendix in ("Appendix: common market",):
        text = text.split(appendix)[0]
    return text


def test_limitations_follow_the_switches(iren_note):
    _, path = iren_note
    text = " ".join(_pages(path))
    assert STALE not in text.lower()
    limits = text.partition("Not modelled in this run.")[2].partition("Reproduce")[0]
    # iren.yaml: hashrate_model response, fee and power processes on
    assert "hashrate" not in limits and "Fee dynamics" not in limits and "Power-price dynamics" not in limits
    assert "Network hashrate responds to miners' margins" in text


def test_no_exponent_no_mathtext_no_dotted_paths(iren_note):
    _, path = iren_note
    pages = _pages(path)
    text = " ".join(pages)
    assert "e+0" not in text and "e-0" not in text
    assert FIGURE_TEXTS, "no figure text was recorded"
    assert not [t for t, math in FIGURE_TEXTS if math], "matplotlib would read these labels as math"
    assert not any("*B*" in t or "e+0" in t for t, _ in FIGURE_TEXTS)
    outside = _outside_assumptions(pages)
    assert not DOTTED.findall(outside), DOTTED.findall(outside)[:5]
    assert "breakeven:" not in text and "comparison.base" not in text


def test_bull_base_bear_table(iren_note):
    result, path = iren_note
    text = " ".join(_pages(path))
    assert "Cases: bear, base, bull" in text
    scenario = load_scenario("scenarios/iren.yaml")
    for name in ("bear", "bull"):
        # origin: the case run by hand, as `pivotsim run --set ...` with the same paths and seed
        by_hand = run(scenario, paths=PATHS, seed=SEED, overrides=scenario.cases[name].overrides).summary()
        row = text.partition(f"{name.capitalize()} {scenario.cases[name].assumption[:20]}")[2][:600]
        assert money(by_hand["bitcoin"]["base"]["npv_usd"]) in row
        assert money(by_hand["ai"]["base"]["npv_usd"]) in row
        assert pct(by_hand["comparison"]["prob_ai_beats_bitcoin"]) in row
    base = result.summary()
    assert money(base["ai"]["base"]["npv_usd"] - base["bitcoin"]["base"]["npv_usd"]) in text


def test_page_one_answers_the_question(iren_note):
    result, path = iren_note
    first = _pages(path)[0]
    s = result.summary()
    diff = s["ai"]["base"]["npv_usd"] - s["bitcoin"]["base"]["npv_usd"]
    assert f"AI hosting is worth {money(diff)} more than bitcoin mining" in first
    assert pct(s["comparison"]["prob_ai_beats_bitcoin"]) in first
    key = result.drivers().key_driver  # the note names the run's own largest driver, in words
    assert f"largest driver of the spread is {in_sentence(key.label)} ({pct(key.contribution, 0)}" in first
    for label in ("Key assumptions", "BTC price", "Power", "AI deal", "Discount rates", "Framing", "Headline"):
        assert label in first


def test_pdf_dates_are_the_generation_time(iren_note):
    _, path = iren_note
    meta = pypdf.PdfReader(str(path)).metadata
    assert meta["/CreationDate"].startswith("D:20261203105300")


def _chapter_numbers(text: str) -> list[str]:
    """Money, percentages and multiples in reading order, up to the evidence sections."""
    body = text.split("Risk: NPV distributions")[0]
    # the market at the valuation date is common to a book's deals: its appendix shows it once
    body = re.sub(r"The market at the valuation date .*?not from a stale spot value\.", "", body)
    body = body.split(" generated ", 1)[-1]  # from the end of the title block (chapter and note differ above it)
    return re.findall(r"-?\$[\d,]+(?:\.\d+)?[kMB]?(?:/kWh)?|\d+\.\d%", body)


def test_single_note_equals_its_book_chapter(book, iren_note):
    results, book_path = book
    _, note_path = iren_note
    pages = _pages(book_path)
    start = next(i for i, p in enumerate(pages) if "Chapter 1" in p)
    stop = next(i for i, p in enumerate(pages) if "Chapter 2" in p)
    chapter = " ".join(pages[start:stop])
    single = " ".join(_pages(note_path))
    numbers = _chapter_numbers(chapter)
    assert len(numbers) > 40
    assert numbers == _chapter_numbers(single)
    command = f"pivotsim report iren.yaml --paths {PATHS} --seed {SEED} -o report.pdf"  # a library deal: by name
    assert command in chapter and command in single
    assert "Each chapter is its deal's own note" in pages[0]


def _chapter_last_pages(pages: list[str]) -> set[int]:
    starts = [i for i, p in enumerate(pages) if re.search(r"Chapter \d+ ", p[:400])]
    starts += [i for i, p in enumerate(pages) if "Appendix: common market" in p[:200]]
    return {s - 1 for s in starts} | {len(pages) - 1}


def test_no_page_is_half_empty(iren_note, book):
    _, note_path = iren_note
    fills = page_fills(note_path)
    assert all(f >= 0.5 for f in fills[:-1]), [round(f, 2) for f in fills]
    _, book_path = book
    fills = page_fills(book_path)
    last = _chapter_last_pages(_pages(book_path))
    low = {i + 1: round(f, 2) for i, f in enumerate(fills) if f < 0.5 and i not in last}
    assert not low, f"pages (1-based) less than half full: {low}"


def test_book_lists_the_common_market_once(book):
    results, path = book
    pages = _pages(path)
    text = " ".join(pages)
    assert text.count("Appendix: common market") >= 1
    # the market's BTC volatility row appears once (in the appendix), not once per chapter
    assert text.count("market.btc_volatility_per_year") == 1
    assert "e+0" not in text
    assert STALE not in text.lower()
    outside = _outside_assumptions(pages)
    assert not DOTTED.findall(outside), DOTTED.findall(outside)[:5]


def test_financing_and_value_bridge_sections_when_the_run_has_debt(iren_note):
    result, path = iren_note
    text = " ".join(_pages(path))
    equity = result.summary()["ai"]["base"]["equity"]
    debt = result.summary()["ai"]["base"]["debt"]
    assert "Financing: project debt of the AI side" in text
    assert money(debt["amount_usd"]) in text and f"{debt['min_dscr']:.2f}x" in text
    assert pct(equity["irr"]) in text
    assert "Value bridge" in text


def test_timing_section_only_with_an_option(tmp_path, iren_note):
    from pivotsim.analysis.timing import timing

    _, iren_path = iren_note
    assert "The option to convert later" not in " ".join(_pages(iren_path))  # iren.yaml has no option
    result = run("iren_timing.yaml", paths=PATHS, seed=SEED)
    path = pivotsim.report(result, tmp_path / "timing.pdf", generated=FIXED_TIME)
    text = " ".join(_pages(path))
    # origin: pivotsim.timing on the same scenario, paths and seed
    expected = timing(result.scenario, paths=PATHS, seed=SEED).summary()
    assert "The option to convert later" in text
    assert money(expected["option_value_of_waiting_usd"]) in text
    assert f"Option value of waiting {money(expected['option_value_of_waiting_usd'])}" in text
    assert "Financing: project debt" not in text  # no debt in iren_timing.yaml
