"""Every model figure the README quotes, recomputed; ``--write`` puts the current ones back.

Run from the repository root, in the environment pivotsim is installed in::

    python benchmarks/readme_figures.py            # each figure: README and now, and whether they agree
    python benchmarks/readme_figures.py --write    # rewrite the stale figures in README.md
    python benchmarks/readme_figures.py --check    # exit 1 if any figure is stale (the test does this)

How the README marks its figures:

* a figure in prose or in a table is wrapped in comments that render as
  nothing: ``<!--fig:NAME-->$330.78k<!--/fig-->``; ``NAME`` is a key of
  :data:`FIGURES`, which says which command gives it;
* an excerpt of terminal output sits between ``<!--figblock:NAME-->`` and
  ``<!--/figblock-->`` lines; each table row and result line of the excerpt
  is refreshed from the same command's current output (found by its label,
  in order), other lines (``$ pivotsim ...``, ``...``, the run folder) are
  kept as written;
* figures that are timings or come from a long script are not recomputed
  here: their paragraph starts with ``<!--timings: benchmarks/SCRIPT.py-->``
  (or ``<!--printed-by: ...-->``), the script that measures them; re-run it
  and edit the numbers by hand.

A figure whose paragraph was reworded keeps its markers, so a fresh
``--write`` still finds it.  ``tests/test_readme_figures.py`` fails when a
marked figure differs from what this script computes now.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's pivotsim, also when run as a script

from pivotsim.scenario.library import LIBRARY_DIR  # noqa: E402  (the bundled deal library)
README = ROOT / "README.md"
IREN = "iren.yaml"  # the bundled deal, as the README writes it
SEED = 2025

FIGURE = re.compile(r"<!--fig:(?P<name>[\w.-]+)-->(?P<text>.*?)<!--/fig-->", re.S)
BLOCK = re.compile(r"(?P<open><!--figblock:(?P<name>[\w.-]+)-->\n)(?P<body>.*?)(?P<close>^<!--/figblock-->)",
                   re.S | re.M)
ELSEWHERE = re.compile(r"<!--(?P<kind>timings|printed-by): *(?P<script>[^ >]+)[^>]*-->")
#: lines of a terminal excerpt refreshed from the command's output (the rest is kept as written)
RESULT_LINE = re.compile(r"^(?P<label>P\(AI NPV > bitcoin NPV\)|break-even BTC price|Monte Carlo [A-Za-z ]+:"
                         r"|Market at [0-9-]+:|next halving expected)")


@dataclass(frozen=True)
class Figure:
    """One README figure: the command it comes from and how to compute its text now."""

    command: str
    compute: Callable[["Model"], str]


class Model:
    """The runs behind the figures, each made once (``ROOT`` is the working directory)."""

    @cached_property
    def iren(self):
        import pivotsim

        return pivotsim.load_scenario(IREN)

    def breakeven(self, param: str, target: str, range_: tuple[float, float], **options) -> float:
        from pivotsim.analysis.breakeven import breakeven

        return float(breakeven(self.iren, param, target, range_, **options).value)

    @cached_property
    def btc_breakeven_base(self) -> float:
        return self.breakeven("market.btc_price_usd", "comparison.npv_difference_usd=0", (20_000, 2_000_000))

    @cached_property
    def btc_breakeven_monte_carlo(self) -> float:
        return self.breakeven("market.btc_price_usd", "comparison.npv_difference_usd=0", (20_000, 2_000_000),
                              stochastic=True, paths=2000, seed=SEED)

    @cached_property
    def power_breakeven(self) -> float:
        return self.breakeven("market.power_price_long_run_usd_per_kwh", "bitcoin.base.npv_usd=0", (0.001, 0.2))

    @cached_property
    def overrun_breakeven(self) -> float:
        return self.breakeven("ai.risks.capex_overrun_multiplier", "ai.base.npv_usd=0", (0.5, 5))

    @cached_property
    def covenant_power_breakeven(self) -> float:
        return self.breakeven("market.power_price_long_run_usd_per_kwh", "ai.base.debt.min_dscr=1.05", (0.01, 1))

    @cached_property
    def equity_contract_breakeven(self) -> float:
        return self.breakeven("ai.contract_value_usd", "ai.base.equity.npv_usd=0", (3e9, 20e9))

    @cached_property
    def ai_base_min_dscr(self) -> float:
        import pivotsim

        return pivotsim.run(self.iren, paths=1).summary()["ai"]["base"]["debt"]["min_dscr"]

    @cached_property
    def levered_by_delay(self) -> dict[int, tuple[float, float]]:
        """Base-case (min DSCR, equity NPV) of the AI side at a construction delay of 0 and 6 months."""
        import pivotsim

        out = {}
        for months in (0, 6):
            base = pivotsim.run(self.iren, paths=1, overrides=[f"ai.risks.construction_delay_months={months}"]
                                ).summary()["ai"]["base"]
            out[months] = (base["debt"]["min_dscr"], base["equity"]["npv_usd"])
        return out

    @cached_property
    def min_dscr_close_delay_3(self) -> float:
        """Base-case min DSCR with a 3-month delay, the debt kept as sized at close (sweep --debt-at-close)."""
        from pivotsim.analysis.sweep import sweep

        frame = sweep(self.iren, ["ai.risks.construction_delay_months=0,3"], ["ai.base.debt.min_dscr"],
                      debt_at_close=True).frame
        return float(frame["ai.base.debt.min_dscr"].iloc[1])

    @cached_property
    def ai_npv_by_delay(self) -> list[float]:
        """Base-case AI NPV at a construction delay of 0..24 months (the README's sweep)."""
        from pivotsim.runs import base_case_metrics

        return [base_case_metrics(self.iren, overrides=[f"ai.risks.construction_delay_months={m}"])
                ["ai"]["npv_usd"] for m in range(25)]

    @cached_property
    def claims(self):
        from pivotsim.analysis.claims import check_claims, load_library

        return check_claims(load_library([LIBRARY_DIR])).set_index("claim_id")

    @cached_property
    def revenue_per_kwh(self):
        from pivotsim.analysis.claims import load_library, revenue_per_kwh

        return revenue_per_kwh(load_library([LIBRARY_DIR]))

    def scenario_value(self, path: str) -> float:
        value = self.iren
        for part in path.split("."):
            value = getattr(value, part)
        return float(value.value)

    @cached_property
    def run_output(self) -> str:
        """``pivotsim run iren.yaml`` as a pipe at 100 columns sees it (figures off: same numbers)."""
        with tempfile.TemporaryDirectory() as out:
            done = subprocess.run([sys.executable, "-m", "pivotsim", "run", IREN, "--no-figures", "--out", out],
                                  cwd=ROOT, capture_output=True, text=True, timeout=600,
                                  env={**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"})
        if done.returncode != 0:
            raise RuntimeError(f"pivotsim run failed: {done.stderr.strip().splitlines()[-1:]}")
        return done.stdout


def _money(x: float) -> str:
    from pivotsim.formatting import money

    return money(x)


def _compact(x: float) -> str:
    from pivotsim.formatting import compact_money

    return compact_money(x)


def _delay_root(model: Model) -> str:
    npv = model.ai_npv_by_delay
    for m in range(1, len(npv)):
        if (npv[m - 1] > 0) != (npv[m] > 0):
            return f"between {m - 1} and {m} months"
    return "none"


def _colocation_range(model: Model) -> str:
    table = model.revenue_per_kwh
    rents = table.loc[table["kind"] == "colocation", "ai_revenue_usd_per_kwh_critical_it"]
    return f"${rents.min():.2f}-{rents.max():.2f}"


def _framing_gap(model: Model) -> str:
    from pivotsim.framing import framing_summary
    from pivotsim.inputs import to_inputs

    return _money(framing_summary(to_inputs(model.iren))["existing_minus_new_usd"])


SWEEP = "pivotsim breakeven iren.yaml"
FIGURES: dict[str, Figure] = {
    "btc_breakeven_base": Figure(f"{SWEEP} --param market.btc_price_usd --target "
                                 "comparison.npv_difference_usd=0 --range 20000:2000000",
                                 lambda m: _money(m.btc_breakeven_base)),
    "btc_breakeven_monte_carlo": Figure(f"{SWEEP} --param market.btc_price_usd --target "
                                        "comparison.npv_difference_usd=0 --range 20000:2000000 --stochastic",
                                        lambda m: _money(m.btc_breakeven_monte_carlo)),
    "btc_price_scenario": Figure("market.btc_price_usd of iren.yaml",
                                 lambda m: _money(m.scenario_value("market.btc_price_usd"))),
    "power_breakeven_long_run": Figure(f"{SWEEP} --param market.power_price_long_run_usd_per_kwh "
                                       "--target bitcoin.base.npv_usd=0 --range 0.001:0.2",
                                       lambda m: f"${m.power_breakeven:.4f}/kWh"),
    "power_price_long_run_scenario": Figure(
        "market.power_price_long_run_usd_per_kwh of iren.yaml",
        lambda m: f"${m.scenario_value('market.power_price_long_run_usd_per_kwh'):.3f}"),
    "overrun_breakeven": Figure(f"{SWEEP} --param ai.risks.capex_overrun_multiplier --target ai.base.npv_usd=0 "
                                "--range 0.5:5", lambda m: f"{m.overrun_breakeven:.3f}"),
    "overrun_breakeven_share": Figure("the same, as an overrun", lambda m: f"{m.overrun_breakeven - 1:.1%}"),
    "covenant_power_breakeven": Figure(f"{SWEEP} --param market.power_price_long_run_usd_per_kwh "
                                       "--target ai.base.debt.min_dscr=1.05 --range 0.01:1",
                                       lambda m: f"${m.covenant_power_breakeven:.3f}/kWh"),
    "ai_min_dscr_base": Figure("pivotsim run iren.yaml: ai.base.debt.min_dscr", lambda m: f"{m.ai_base_min_dscr:.2f}"),
    "min_dscr_delay_0": Figure("run --set ai.risks.construction_delay_months=0: ai.base.debt.min_dscr",
                               lambda m: f"{m.levered_by_delay[0][0]:.2f}x"),
    "min_dscr_delay_6": Figure("the same at 6 months", lambda m: f"{m.levered_by_delay[6][0]:.2f}x"),
    "equity_npv_delay_0": Figure("run --set ai.risks.construction_delay_months=0: ai.base.equity.npv_usd",
                                 lambda m: _compact(m.levered_by_delay[0][1])),
    "equity_npv_delay_6": Figure("the same at 6 months", lambda m: _compact(m.levered_by_delay[6][1])),
    "min_dscr_close_delay_3": Figure("pivotsim sweep iren.yaml --param ai.risks.construction_delay_months=0,3 "
                                     "--metric ai.base.debt.min_dscr --debt-at-close",
                                     lambda m: f"{m.min_dscr_close_delay_3:.2f}x"),
    "equity_contract_breakeven": Figure(f"{SWEEP} --param ai.contract_value_usd --target ai.base.equity.npv_usd=0 "
                                        "--range 3e9:20e9", lambda m: _money(m.equity_contract_breakeven)),
    "contract_value_scenario": Figure("ai.contract_value_usd of iren.yaml",
                                      lambda m: _money(m.scenario_value("ai.contract_value_usd"))),
    "delay_breakeven": Figure("pivotsim sweep iren.yaml --param ai.risks.construction_delay_months=0:24:25 "
                              "--metric ai.base.npv_usd (a sign change of the AI NPV)", _delay_root),
    "ai_npv_delay_0": Figure("the same sweep at 0 months", lambda m: _compact(m.ai_npv_by_delay[0])),
    "ai_npv_delay_9": Figure("the same sweep at 9 months", lambda m: _compact(m.ai_npv_by_delay[9])),
    "claim_mining_usd_per_kwh": Figure("pivotsim claims: mining_usd_per_kwh",
                                       lambda m: f"${m.claims.loc['mining_usd_per_kwh', 'model']:.2f}/kWh"),
    "claim_iren_usd_per_kwh": Figure("pivotsim claims: ai_usd_per_kwh_iren",
                                     lambda m: f"${m.claims.loc['ai_usd_per_kwh_iren', 'model']:.2f}/kWh"),
    "claim_colocation_usd_per_kwh": Figure("pivotsim claims: revenue per kWh of critical IT, colocation deals",
                                           _colocation_range),
    "claim_iren_gpu_payback": Figure("pivotsim claims: iren_gpu_payback",
                                     lambda m: f"{m.claims.loc['iren_gpu_payback', 'model']:.1f} years"),
    "framing_iren_existing_minus_new": Figure("pivotsim run iren.yaml: the Framing line", _framing_gap),
}
BLOCKS: dict[str, tuple[str, Callable[[Model], str]]] = {
    "run_iren": ("pivotsim run iren.yaml", lambda m: m.run_output),
}


# ---------------------------------------------------------------- README markers
def marked_figures(text: str) -> list[tuple[str, str]]:
    """``(name, text)`` of every inline figure marker, in order."""
    return [(m["name"], m["text"]) for m in FIGURE.finditer(text)]


def marked_blocks(text: str) -> list[tuple[str, str]]:
    """``(name, body)`` of every terminal-output block marker, in order."""
    return [(m["name"], m["body"]) for m in BLOCK.finditer(text)]


def elsewhere(text: str) -> list[tuple[str, str]]:
    """``(kind, script)`` of every paragraph whose figures another script prints (timings, back-test)."""
    return [(m["kind"], m["script"]) for m in ELSEWHERE.finditer(text)]


def _row_label(line: str) -> str | None:
    """First cell of a table row (``│ Label │`` or ``┃ Label ┃``), None for other lines."""
    stripped = line.strip()
    if not stripped or stripped[0] not in "│┃":
        return None
    return stripped[1:].split(stripped[0], 1)[0].strip()


def _line_key(line: str):
    label = _row_label(line)
    if label == "...":  # an elided part of a table, written by hand
        return None
    if label is not None:
        return ("row", label)
    match = RESULT_LINE.match(line.strip())
    return ("result", match["label"]) if match else None


def refresh_block(body: str, output: str) -> tuple[str, list[str]]:
    """The excerpt ``body`` with each table row and result line replaced by its current version.

    Lines are matched to the output's by their label, in order (a label may
    recur in later tables).  Returns the new body and the README lines that
    the output no longer has.
    """
    fresh = [line.rstrip() for line in output.splitlines()]
    keys = [_line_key(line) for line in fresh]
    out, missing, position = [], [], 0
    for line in body.splitlines():
        key = _line_key(line)
        if key is None:
            out.append(line)
            continue
        found = next((i for i in range(position, len(fresh)) if keys[i] == key), None)
        if found is None:
            missing.append(line)
            out.append(line)
        else:
            out.append(fresh[found])
            position = found + 1
    return "\n".join(out) + ("\n" if body.endswith("\n") else ""), missing


@dataclass
class Difference:
    name: str
    written: str
    now: str


def compare(text: str, model: Model | None = None) -> tuple[str, list[Difference], list[str]]:
    """README text with every marked figure recomputed, the stale ones, and problems.

    Problems: a marker naming no known figure, a known figure the README no
    longer marks, a block line the command no longer prints.
    """
    model = model or Model()
    problems: list[str] = []
    differences: list[Difference] = []
    names = {name for name, _ in marked_figures(text)}
    problems += [f"README marks an unknown figure {name!r} (known: {', '.join(FIGURES)})"
                 for name in sorted(names - set(FIGURES))]
    problems += [f"README no longer marks figure {name!r} ({FIGURES[name].command})"
                 for name in FIGURES if name not in names]
    blocks = {name for name, _ in marked_blocks(text)}
    problems += [f"README marks an unknown block {name!r}" for name in sorted(blocks - set(BLOCKS))]
    problems += [f"README no longer marks block {name!r}" for name in BLOCKS if name not in blocks]

    def figure(match):
        name = match["name"]
        if name not in FIGURES:
            return match[0]
        now = FIGURES[name].compute(model)
        if now != match["text"]:
            differences.append(Difference(name, match["text"], now))
        return f"<!--fig:{name}-->{now}<!--/fig-->"

    def block(match):
        name = match["name"]
        if name not in BLOCKS:
            return match[0]
        body, missing = refresh_block(match["body"], BLOCKS[name][1](model))
        problems.extend(f"block {name!r}: `{BLOCKS[name][0]}` no longer prints a line like {line.strip()!r}"
                        for line in missing)
        for old, new in zip(match["body"].splitlines(), body.splitlines()):
            if old != new:
                differences.append(Difference(f"{name} (terminal excerpt)", old, new))
        return match["open"] + body + match["close"]

    updated = BLOCK.sub(block, FIGURE.sub(figure, text))
    return updated, differences, problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite the stale figures in README.md")
    parser.add_argument("--check", action="store_true", help="exit 1 if any figure is stale")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    text = README.read_text(encoding="utf-8")
    model = Model()
    updated, differences, problems = compare(text, model)
    stale = {d.name for d in differences}
    for name, written in marked_figures(text):
        if name in FIGURES:
            now = FIGURES[name].compute(model)
            flag = "ok   " if now == written else "STALE"
            print(f"{flag} {name:32s} README {written!r:24s} now {now!r:24s} <- {FIGURES[name].command}")
    for d in differences:
        if d.name not in FIGURES:
            print(f"STALE {d.name}:\n  README {d.written}\n  now    {d.now}")
    for kind, script in elsewhere(text):
        print(f"not recomputed here ({kind}): re-run {script}")
    for problem in problems:
        print(f"PROBLEM {problem}")
    if args.write and updated != text:
        README.write_text(updated, encoding="utf-8")
        print(f"README.md: {len(stale)} figure(s) rewritten")
    if args.check and (differences or problems):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
