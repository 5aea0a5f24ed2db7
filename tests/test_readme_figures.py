"""The README's figures are the current output of the commands it quotes.

Origin of the expected numbers: pivotsim itself, run as the README says
(benchmarks/readme_figures.py: `pivotsim run scenarios/iren.yaml`, the
break-even commands of the Sensitivity section, the delay sweep, `pivotsim
claims`).  A figure in README.md is marked ``<!--fig:NAME-->...<!--/fig-->``
(or sits in a ``<!--figblock:NAME-->`` terminal excerpt); when this test
fails, refresh the README with

    python benchmarks/readme_figures.py --write

Timings are not checked here (they depend on the machine): their paragraphs
name the benchmark script that measures them, and this test only checks that
the script exists.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "readme_figures.py"
FIX = "python benchmarks/readme_figures.py --write"


@pytest.fixture(scope="module")
def figures():
    spec = importlib.util.spec_from_file_location("readme_figures", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["readme_figures"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_readme_figures_are_current(figures):
    text = figures.README.read_text(encoding="utf-8")
    updated, differences, problems = figures.compare(text)
    report = [f"{d.name}: README {d.written!r}, now {d.now!r}" for d in differences] + problems
    assert not report, f"README.md is stale; run `{FIX}`:\n" + "\n".join(report)
    assert updated == text


def test_every_figure_is_marked_and_every_marker_known(figures):
    text = figures.README.read_text(encoding="utf-8")
    names = {name for name, _ in figures.marked_figures(text)}
    assert names == set(figures.FIGURES)
    assert {name for name, _ in figures.marked_blocks(text)} == set(figures.BLOCKS)


def test_timings_name_existing_scripts(figures):
    marked = figures.elsewhere((ROOT / "README.md").read_text(encoding="utf-8"))
    assert {kind for kind, _ in marked} >= {"timings"}
    for _, script in marked:
        assert (ROOT / script).is_file(), script


# ---------------------------------------------------------------- the rewriting itself
class FakeModel:
    """Stands in for the runs: fixed answers, so the machinery is tested without a model."""

    run_output = "\n".join([
        "Title line that changed",
        "┃ Metric ┃ Bitcoin ┃ AI ┃",
        "│ NPV    │   -$1M  │ $2M │   ",
        "┃        ┃  p5 ┃ p50 ┃",
        "│ AI     │ $3M │ $4M │",
        "│ AI     │ 10% │ 12% │",
        "P(AI NPV > bitcoin NPV) = 90.0% (95% CI 89%-91%)",
        "Run folder: runs/x-now",
    ])


def test_inline_figure_rewritten_and_idempotent(figures, monkeypatch):
    monkeypatch.setattr(figures, "FIGURES", {"answer": figures.Figure("cmd", lambda m: "$42k")})
    monkeypatch.setattr(figures, "BLOCKS", {})
    text = "The answer is <!--fig:answer-->$41k<!--/fig--> today, <!--fig:answer-->$42k<!--/fig--> tomorrow.\n"
    updated, differences, problems = figures.compare(text, FakeModel())
    assert updated == "The answer is <!--fig:answer-->$42k<!--/fig--> today, <!--fig:answer-->$42k<!--/fig--> tomorrow.\n"
    assert [(d.written, d.now) for d in differences] == [("$41k", "$42k")]
    assert problems == []
    again, differences, problems = figures.compare(updated, FakeModel())
    assert again == updated and differences == [] and problems == []


def test_unknown_and_missing_markers_are_problems(figures, monkeypatch):
    monkeypatch.setattr(figures, "FIGURES", {"answer": figures.Figure("cmd", lambda m: "1")})
    monkeypatch.setattr(figures, "BLOCKS", {})
    _, _, problems = figures.compare("<!--fig:typo-->1<!--/fig-->\n", FakeModel())
    assert any("unknown figure 'typo'" in p for p in problems)
    assert any("no longer marks figure 'answer'" in p for p in problems)


def test_block_rows_refreshed_by_label_in_order(figures, monkeypatch):
    monkeypatch.setattr(figures, "FIGURES", {})
    monkeypatch.setattr(figures, "BLOCKS", {"run": ("pivotsim run", lambda m: m.run_output)})
    text = "\n".join([
        "<!--figblock:run-->",
        "```text",
        "$ pivotsim run x.yaml",
        "Title line as written",
        "┃ Metric ┃ Bitcoin ┃ AI ┃",
        "│ NPV    │   -$9M  │ $9M │",
        "│ ...    │         │     │",
        "┃        ┃  p5 ┃ p50 ┃",
        "│ AI     │ $8M │ $8M │",
        "│ AI     │ 80% │ 80% │",
        "P(AI NPV > bitcoin NPV) = 10.0% (95% CI 9%-11%)",
        "Run folder: runs/x-then",
        "```",
        "<!--/figblock-->",
        "",
    ])
    updated, differences, problems = figures.compare(text, FakeModel())
    lines = updated.splitlines()
    assert "│ NPV    │   -$1M  │ $2M │" in lines            # refreshed, trailing spaces dropped
    assert lines.index("│ AI     │ $3M │ $4M │") < lines.index("│ AI     │ 10% │ 12% │")  # in order
    assert "P(AI NPV > bitcoin NPV) = 90.0% (95% CI 89%-91%)" in lines
    assert "Title line as written" in lines and "Run folder: runs/x-then" in lines  # kept as written
    assert "│ ...    │         │     │" in lines
    assert len(differences) == 4 and problems == []


def test_block_line_no_longer_printed_is_a_problem(figures, monkeypatch):
    monkeypatch.setattr(figures, "FIGURES", {})
    monkeypatch.setattr(figures, "BLOCKS", {"run": ("pivotsim run", lambda m: m.run_output)})
    text = "<!--figblock:run-->\n```text\n│ Gone   │ 1 │ 2 │\n```\n<!--/figblock-->\n"
    _, _, problems = figures.compare(text, FakeModel())
    assert len(problems) == 1 and "Gone" in problems[0]
