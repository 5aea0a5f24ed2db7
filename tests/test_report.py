"""The PDF report: `pivotsim report`, `run --pdf`, `pivotsim.report`.

Expected figures come from the run's own summary.json / RunResult.summary(),
formatted by the terminal's rules (pivotsim.formatting.money), so the PDF must
print exactly what a user sees elsewhere.  PDFs are read back with pypdf.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

pypdf = pytest.importorskip("pypdf")

import pivotsim  # noqa: E402
from pivotsim.cli import app  # noqa: E402
from pivotsim.errors import PivotsimError  # noqa: E402
from pivotsim.output import charts  # noqa: E402
from pivotsim.formatting import money, pct  # noqa: E402
from pivotsim.output.scenario_table import assumption_rows  # noqa: E402
from pivotsim.scenario.provenance import unit_of  # noqa: E402
from pivotsim.scenario import iter_quantities  # noqa: E402

runner = CliRunner()
PATHS = 240
SEED = 11
FIXED_TIME = dt.datetime(2025, 11, 25, 12, 0, tzinfo=dt.timezone.utc)
ODD_NAME = "Rival & <Partners> > Café € deal"


def pdf_pages(path) -> list[str]:
    return [page.extract_text() or "" for page in pypdf.PdfReader(str(path)).pages]


def flat(text: str) -> str:
    """Text with line breaks and runs of spaces collapsed (pypdf wraps lines as laid out)."""
    return re.sub(r"\s+", " ", text)


@pytest.fixture(scope="module")
def iren_result(iren):
    return pivotsim.run(iren, paths=PATHS, seed=SEED)


@pytest.fixture(scope="module")
def iren_pdf(iren_result, tmp_path_factory):
    path = tmp_path_factory.mktemp("pdf") / "iren.pdf"
    pivotsim.report(iren_result, path, generated=FIXED_TIME)
    return path


@pytest.fixture(scope="module")
def odd_yaml(iren_path, tmp_path_factory) -> Path:
    """IREN with a name full of markup and non-ASCII characters and a smaller prepayment."""
    text = Path(iren_path).read_text(encoding="utf-8")
    text = re.sub(r'(?m)^  name: .*$', f'  name: "{ODD_NAME}"', text, count=1)
    text = text.replace('value: "20%"', 'value: "5%"', 1)
    path = tmp_path_factory.mktemp("odd") / "odd_deal.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- one scenario
def test_iren_pdf_pages_name_and_npv(iren_pdf, iren_result):
    pages = pdf_pages(iren_pdf)
    assert len(pages) >= 5
    text = flat(" ".join(pages))
    summary = iren_result.summary()
    assert summary["scenario"] in text
    # every NPV figure of the summary, as the terminal prints it
    for business in ("bitcoin", "ai"):
        assert money(summary[business]["base"]["npv_usd"]) in text
        for q in ("p5", "p50", "p95", "mean"):
            assert money(summary[business]["monte_carlo"]["npv_usd"][q]) in text
    for q in ("p5", "p50", "p95", "mean"):
        assert money(summary["comparison"]["npv_difference_usd"][q]) in text
    assert pct(summary["comparison"]["prob_ai_beats_bitcoin"]) in text
    # sections
    for heading in ("Key assumptions", "Headline", "Cases: bear, base, bull", "What drives the spread",
                    "Assumptions", "Method and limitations", "Reproduce"):
        assert heading in text


def test_formatting_matches_the_terminal():
    # the report's rules are the CLI's: one set of formatters, the same functions in both
    from pivotsim.cli import compare_commands, run_commands
    from pivotsim.output import book, note

    for module in (run_commands, compare_commands, note, book):
        assert module.money is money and module.pct is pct
    assert money(1.94e9) == "$1.94B" and pct(0.182) == "18.2%"
    assert money(-134.68e6) == "-$134.68M" and money(999.994) == "$999.99" and money(1e3) == "$1.00k"


def test_headline_is_written_from_the_numbers(iren_pdf, iren_result):
    s = iren_result.summary()
    diff = s["ai"]["base"]["npv_usd"] - s["bitcoin"]["base"]["npv_usd"]
    text = flat(pdf_pages(iren_pdf)[0])
    winner = "AI hosting" if diff > 0 else "Bitcoin mining"
    assert f"{winner} is worth {money(abs(diff))} more" in text
    prob = s["comparison"]["prob_ai_beats_bitcoin"]
    assert f"comes out ahead on {pct(prob if diff > 0 else 1 - prob)} of {PATHS:,} Monte Carlo paths" in text


def test_every_page_has_header_and_footer(iren_pdf, iren_result, iren_path):
    pages = pdf_pages(iren_pdf)
    sha = hashlib.sha256(Path(iren_path).read_bytes()).hexdigest()[:12]
    n = len(pages)
    for i, page in enumerate(pages, start=1):
        assert iren_result.scenario.name in page
        assert f"{i} / {n}" in page
        assert f"seed {SEED}" in page
        assert sha in page


def test_assumptions_table_lists_every_input(iren):
    rows = {row.path: row for row in assumption_rows(iren)}
    for path, q in iter_quantities(iren):
        if path.startswith("scenario.") and path != "scenario.horizon_months":
            continue
        assert path in rows
        if q.source:
            # source id -> publisher, date: title
            src = iren.sources[q.source]
            assert rows[path].provenance.startswith(f"{q.source} → {src.publisher}")
            assert src.title in rows[path].provenance
        elif q.assumption:
            assert q.assumption in rows[path].provenance
    assert rows["ai.contract_value_usd"].value == "$9.70B"
    assert rows["ai.prepayment_share"].value == "20%"
    assert rows["site.grid_power_mw"].unit == "MW"
    assert rows["bitcoin.fleet"].value == "new"


def test_units_from_descriptions_and_names():
    assert unit_of("fleet_efficiency_j_per_th", "fleet efficiency at t = 0 [J/TH]") == "J/TH"
    assert unit_of("opex_usd_per_mw_year", None) == "USD/MW/yr"
    assert unit_of("tax_rate", None) == "fraction"
    assert unit_of("uptime", "share of hours the fleet hashes [-]") == "fraction"


def test_distributions_are_shown_as_such(iren):
    # an uncertain input reads as its distribution with the base value the base case uses
    rows = {row.path: row for row in assumption_rows(iren)}
    assert rows["ai.gpu_residual_share"].value == "pert(low=0.03, mode=0.15, high=0.35); base 15%"
    assert rows["site.grid_power_mw"].value == f"{iren.site.grid_power_mw.value:,.0f}"


def test_pdf_is_deterministic(iren_result, iren_pdf, tmp_path):
    # same run and generation time -> the same bytes (no random ids, fixed PDF dates)
    again = pivotsim.report(iren_result, tmp_path / "again.pdf", generated=FIXED_TIME)
    assert again.read_bytes() == iren_pdf.read_bytes()


def test_report_name_stays_the_function():
    import pivotsim.output.pdf  # noqa: F401  (importing the submodule must not replace the function)

    assert callable(pivotsim.report)


# --------------------------------------------------------------------------- charts and data
def test_market_sample_is_the_runs_first_paths(iren_result):
    # Same engine, seed and block generator: the re-simulated paths must value
    # exactly like the run's paths 0..n-1.
    from pivotsim.simulate import discount_rate, valuation

    sample = charts.market_sample(iren_result, n_paths=50)
    assert sample.n_paths == 50
    assert sample.market.btc_price_usd.shape == (50, iren_result.timeline.n_periods)
    for business in ("bitcoin", "ai"):
        npv = valuation(sample.flows[business], discount_rate(sample.inputs, business))["npv_usd"]
        np.testing.assert_allclose(np.broadcast_to(npv, (50,)),
                                   iren_result.metrics[f"{business}_npv_usd"][:50], rtol=1e-12)


def test_market_sample_follows_a_longer_market_horizon(iren):
    # a run whose shocks span 120 months (as in a book or pivotsim.compare) is re-simulated alike
    from pivotsim.simulate import discount_rate, valuation

    result = pivotsim.run(iren, paths=20, seed=4, market_horizon_months=120)
    sample = charts.market_sample(result, n_paths=20)
    npv = valuation(sample.flows["bitcoin"], discount_rate(sample.inputs, "bitcoin"))["npv_usd"]
    np.testing.assert_allclose(npv, result.metrics["bitcoin_npv_usd"], rtol=1e-12)


def test_annual_line_items_add_up(iren_result):
    # conservation: yearly sums of each item equal the monthly totals
    for business in ("bitcoin", "ai"):
        table = charts.annual_line_items(iren_result, business)
        flows = iren_result.base[business]
        assert list(table.index) == list(range(1, 8))  # 84 months + signing column -> 7 years
        for name, values in flows.items.items():
            assert table[name].sum() == pytest.approx(float(np.sum(values)), rel=1e-12, abs=1e-3)
        assert table["net_usd"].sum() == pytest.approx(float(np.sum(flows.net)), rel=1e-12)


def test_halving_dates_follow_block_height(iren_result):
    # next halving at height 1,050,000 from 916,529 on the state date (2025-09-26, rolled forward to the
    # valuation date) at 144 blocks/day: (1,050,000-916,529)/144 = 926.9 days after 2025-09-26
    dates = charts.halving_dates(iren_result)
    expected = pd.Timestamp("2025-09-26") + pd.Timedelta(days=(1_050_000 - 916_529) / 144)
    assert abs((dates[0] - expected).days) <= 31
    assert len(dates) == 2  # the 2032 halving is also inside 84 months


def captions_only(monkeypatch):
    """Skip drawing charts (their captions stay): these tests are about the text."""
    from reportlab.platypus import Paragraph

    from pivotsim.output import chapter, layout

    monkeypatch.setattr(chapter, "chart", lambda draw, width, height, styles, caption, **kw:
                        Paragraph(layout.text(caption), styles["caption"]))


def test_plot_tornado_orders_bars():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = pd.DataFrame({"input": ["small", "big"], "metric_low": [0.9e8, -4e8], "metric_high": [1.1e8, 6e8],
                          "base": [1e8, 1e8]})
    fig, ax = plt.subplots()
    charts.plot_tornado(table, ax)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["small", "big"]  # widest bar drawn last, i.e. on top
    widths = sorted(round(p.get_width()) for p in ax.patches)
    assert widths == [round(-5e8), round(-1e7), round(1e7), round(5e8)]  # bars from the base value
    plt.close(fig)


def test_breakeven_sentence_is_the_runs_own(iren_result, tmp_path, monkeypatch):
    # the note's break-even BTC price is the run's own (the one of summary.json)
    monkeypatch.setattr(iren_result, "breakeven_btc_price_multiplier", 150_000.0 / 109_669.0)  # iren.yaml: $109,669
    captions_only(monkeypatch)
    path = pivotsim.report(iren_result, tmp_path / "s.pdf", generated=FIXED_TIME, sensitivity=False)
    text = flat(" ".join(pdf_pages(path)))
    assert "$150,000" in text and "36.8% above the $109,669" in text  # 150000/109669 - 1 = 0.3678


def test_no_breakeven_is_said_in_words(iren_result, tmp_path, monkeypatch):
    monkeypatch.setattr(iren_result, "breakeven_btc_price_multiplier", None)
    captions_only(monkeypatch)
    path = pivotsim.report(iren_result, tmp_path / "f.pdf", generated=FIXED_TIME, sensitivity=False)
    text = flat(" ".join(pdf_pages(path)))
    assert "no break-even price in that range" in text
    assert "breakeven:" not in text and "comparison.base" not in text  # no machine text


# --------------------------------------------------------------------------- CLI
def test_run_pdf_matches_summary_json(iren_path, tmp_path):
    res = runner.invoke(app, ["run", str(iren_path), "--paths", "200", "--seed", "3", "--pdf",
                              "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    folder = next(tmp_path.iterdir())
    summary = json.loads((folder / "summary.json").read_text())
    text = flat(" ".join(pdf_pages(folder / "report.pdf")))
    for business in ("bitcoin", "ai"):
        assert money(summary[business]["base"]["npv_usd"]) in text
        assert money(summary[business]["monte_carlo"]["npv_usd"]["p50"]) in text
    assert money(summary["comparison"]["npv_difference_usd"]["p50"]) in text


@pytest.fixture(scope="module")
def book_pdf(iren_path, odd_yaml, tmp_path_factory):
    """A two-deal book on US Letter: IREN and the oddly named variant."""
    out = tmp_path_factory.mktemp("book") / "book.pdf"
    res = runner.invoke(app, ["report", str(iren_path), str(odd_yaml), "-o", str(out), "--paths", "100",
                              "--seed", "5", "--paper", "letter"])
    assert res.exit_code == 0, res.output
    return out


def test_odd_name_is_escaped(book_pdf):
    pages = pdf_pages(book_pdf)
    start = next(i for i, page in enumerate(pages) if "Chapter 2" in page)
    assert f"Chapter 2 {ODD_NAME}" in flat(pages[start])  # the chapter title, unharmed
    end = next((i for i, page in enumerate(pages) if i > start and "Appendix: common market" in page), len(pages))
    assert all(ODD_NAME in page for page in pages[start:end])  # and every page header of the chapter
    text = " ".join(pages)
    assert "&amp;" not in text and "&lt;" not in text and "&gt;" not in text


def test_book_has_comparison_then_chapters(book_pdf):
    pages = pdf_pages(book_pdf)
    first = flat(pages[0])
    assert "Deal comparison: 2 scenarios" in first
    assert "AI hosting has the higher base-case NPV in" in first
    assert "Each chapter is its deal's own note" in first  # the rule tying a chapter to its single note
    assert "see the same market paths month by month" in first  # equal horizons: common random numbers
    assert ODD_NAME in first and "IREN–Microsoft" in first
    text = flat(" ".join(pages))
    assert text.index("Chapter 1") < text.index("Chapter 2")
    n = len(pages)
    assert all(f"{i} / {n}" in page for i, page in enumerate(pages, start=1))


def test_letter_paper(book_pdf):
    for page in pypdf.PdfReader(str(book_pdf)).pages:
        # US Letter: 8.5 x 11 in = 612 x 792 pt
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (612, 792)


def test_a4_is_the_default(iren_pdf):
    page = pypdf.PdfReader(str(iren_pdf)).pages[0]
    # A4: 210 x 297 mm = 595.3 x 841.9 pt
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)


@pytest.mark.parametrize("args, message", [
    (["--paper", "a5"], "--paper: 'a5' is not allowed"),
    (["--set", "site.grid_power_mw=-5"], "site.grid_power_mw: -5 is not allowed"),
    (["--paths", "0"], "paths: 0 is not allowed"),
])
def test_bad_input_exits_2_and_writes_nothing(iren_path, tmp_path, args, message):
    out = tmp_path / "out.pdf"
    res = runner.invoke(app, ["report", str(iren_path), "-o", str(out), *args])
    assert res.exit_code == 2
    assert message in res.output and "Traceback" not in res.output
    assert list(tmp_path.iterdir()) == []


def test_bad_output_paths_exit_2(iren_path, tmp_path):
    folder = tmp_path / "notes.pdf"  # a folder, even with a .pdf name
    folder.mkdir()
    for target, message in ((tmp_path / "missing" / "x.pdf", "does not exist"),
                            (tmp_path / "x.txt", "must end in .pdf"),
                            (folder, "is a folder")):
        res = runner.invoke(app, ["report", str(iren_path), "-o", str(target)])
        assert res.exit_code == 2 and message in res.output
    res = runner.invoke(app, ["report", str(tmp_path / "nope.yaml"), "-o", str(tmp_path / "x.pdf")])
    assert res.exit_code == 2 and "file not found" in res.output
    assert [p.name for p in tmp_path.iterdir()] == ["notes.pdf"] and not list(folder.iterdir())


def test_failure_while_building_leaves_no_partial_pdf(iren_result, tmp_path, monkeypatch):
    from pivotsim.output import pdf

    target = tmp_path / "keep.pdf"
    target.write_bytes(b"%PDF previous version")

    def boom(self, *args, **kwargs):
        Path(self.filename).write_bytes(b"%PDF half")  # something was already written
        raise RuntimeError("disk full")

    monkeypatch.setattr(pdf.ReportDocument, "build", boom)
    monkeypatch.setattr(pdf, "chapter_story", lambda *a, **k: [])  # no charts needed here
    with pytest.raises(RuntimeError):
        pivotsim.report(iren_result, target)
    assert target.read_bytes() == b"%PDF previous version"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.pdf"]


def test_api_rejects_bad_arguments(iren_result, tmp_path):
    with pytest.raises(PivotsimError, match="paper: 'A3' is not allowed"):
        pivotsim.report(iren_result, tmp_path / "x.pdf", paper="A3")
    with pytest.raises(PivotsimError, match="expected a RunResult"):
        pivotsim.report([], tmp_path / "x.pdf")
