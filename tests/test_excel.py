"""The model workbook (pivotsim.output.excel), recalculated by a spreadsheet engine.

Origins of the expected numbers:
* pivotsim's own base-case figures (``RunResult.summary()``), which
  tests/test_finance.py checks against numpy-financial: the workbook's
  formulas, recalculated from scratch by the ``formulas`` package (an Excel
  formula engine), must give the same NPV, IRR, paybacks and peak funding to
  1e-6 relative;
* numpy-financial's ``npv`` and ``mirr`` on the base-case net flows (MIRR at
  the business's monthly discount rate, annualised), and ``npv`` at a
  discount rate edited in the workbook (the formulas are live);
* the provenance table and ``RunResult.cashflows()`` for the Assumptions and
  Cashflows sheets, cell by cell.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import shutil
import subprocess

import numpy as np
import numpy_financial as npf
import pytest

import pivotsim
import pivotsim.models.finance
from pivotsim.scenario.provenance import provenance_table
from pivotsim.errors import PivotsimError
from pivotsim.output.excel import (BUSINESSES, DEFINED_NAMES, check_workbook_path, write_workbook)

from .conftest import SCENARIOS

formulas = pytest.importorskip("formulas")
openpyxl = pytest.importorskip("openpyxl")

GENERATED = dt.datetime(2026, 1, 1, 12, 0)
RTOL = 1e-6
CASES = {
    "iren": ("iren.yaml", ()),
    # colocation; mining has no IRR (pivotsim reports none)
    "cipher_aws": ("cipher_aws.yaml", ()),
    # each business its own rate; mining pays back and has a positive IRR
    "iren_own_rates": ("iren.yaml", ("finance.discount_rate_ai=0.09", "finance.discount_rate_bitcoin=0.15",
                                     "market.btc_price_usd=250000")),
}


class Recalculated:
    """A workbook recalculated from its formulas by the ``formulas`` package."""

    def __init__(self, path, inputs=None):
        self.name = os.path.basename(path)
        model = formulas.ExcelModel().loads(str(path)).finish()
        self.solution = model.calculate(inputs=inputs or {})
        self.book = openpyxl.load_workbook(path)  # formulas as written, and the defined names

    def key(self, sheet: str, cell: str) -> str:
        return f"'[{self.name}]{sheet.upper()}'!{cell.replace('$', '')}"

    def value(self, sheet: str, cell: str):
        raw = self.solution[self.key(sheet, cell)].value
        value = np.asarray(raw).ravel()[0]
        return value if isinstance(value, str) else float(value)

    def named(self, name: str):
        sheet, cell = next(iter(self.book.defined_names[name].destinations))
        return self.value(sheet, cell)

    def formula(self, name: str) -> str:
        sheet, cell = next(iter(self.book.defined_names[name].destinations))
        return self.book[sheet][cell.replace("$", "")].value


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request, tmp_path_factory):
    file, overrides = CASES[request.param]
    result = pivotsim.run(SCENARIOS / file, paths=2000, seed=2025, overrides=list(overrides))
    path = write_workbook(result, tmp_path_factory.mktemp(request.param) / "model.xlsx", generated=GENERATED)
    return result, path, Recalculated(path)


def _close(actual, expected):
    if expected is None:
        return actual in ("never", "none")
    return not isinstance(actual, str) and math.isclose(actual, expected, rel_tol=RTOL, abs_tol=1e-6)


def _net(result, business):
    return np.asarray(result.base[business].net, dtype=float).ravel()


def _rate(result, business):
    return pivotsim.simulate.discount_rate(result.inputs, business)


def test_formulas_match_pivotsim(case):
    result, _, book = case
    summary = result.summary()
    for business in BUSINESSES:
        base = summary[business]["base"]
        for name, key in (("npv", "npv_usd"), ("irr", "irr"), ("payback", "payback_months"),
                          ("discounted_payback", "discounted_payback_months"), ("peak_funding", "peak_funding_usd")):
            actual = book.named(f"{name}_{business}")
            assert _close(actual, base[key]), (business, name, actual, base[key])
        assert _close(book.named(f"discount_rate_{business}"), _rate(result, business))


def test_summary_cells_are_formulas_over_cashflows(case):
    _, _, book = case
    for business in BUSINESSES:
        for name in ("npv", "mirr", "payback", "peak_funding"):
            formula = book.formula(f"{name}_{business}")
            assert isinstance(formula, str) and formula.startswith("="), (name, formula)
        npv = book.formula(f"npv_{business}")
        # t = 0 undiscounted: the first month's cell plus Excel's NPV over months 1..n
        assert npv.startswith("=Cashflows!$C$") and "+NPV(" in npv and "Cashflows!$D$" in npv


def test_mirr_matches_numpy_financial(case):
    result, _, book = case
    for business in BUSINESSES:
        rate = (1 + _rate(result, business)) ** (1 / 12) - 1
        expected = (1 + npf.mirr(_net(result, business), rate, rate)) ** 12 - 1
        assert _close(book.named(f"mirr_{business}"), expected)
        own = result.summary()[business]["base"].get("mirr")  # when pivotsim reports MIRR (issue 14)
        if own is not None:
            assert _close(book.named(f"mirr_{business}"), own)


def test_editing_a_discount_rate_revalues_the_business(case):
    """The rate cells link to the Assumptions rows; NPV follows numpy-financial at the new rate."""
    result, path, book = case
    edits = {}
    for business in BUSINESSES:
        reference = book.formula(f"discount_rate_{business}")
        assert reference.startswith("=Assumptions!"), reference
        edits[book.key("Assumptions", reference[1:].split("!")[1])] = 0.20
    edited = Recalculated(path, inputs=edits)  # one recalculation with every rate at 20%
    monthly = 1.2 ** (1 / 12) - 1
    for business in BUSINESSES:
        expected = npf.npv(monthly, _net(result, business))
        assert _close(edited.named(f"npv_{business}"), expected)
        assert not _close(edited.named(f"npv_{business}"), result.summary()[business]["base"]["npv_usd"])


def test_discount_rate_linked_to_the_row_the_valuation_reads(case):
    result, _, book = case
    rows = {row[0].value: row[0].row for row in book.book["Assumptions"].iter_rows(min_row=2)}
    for business in BUSINESSES:
        own = f"finance.discount_rate_{business}"
        path = own if own in rows and getattr(result.inputs.finance, f"discount_rate_{business}") is not None \
            else "finance.discount_rate"
        assert book.formula(f"discount_rate_{business}") == f"=Assumptions!$B${rows[path]}"


def test_assumptions_sheet_is_the_provenance_table(case):
    result, _, book = case
    table = provenance_table(result.scenario)
    sheet = book.book["Assumptions"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(table)
    for written, expected in zip(rows, table.itertuples(index=False)):
        assert written[0] == expected.path
        assert written[1] == pytest.approx(expected.value, rel=0, abs=0)
        assert (written[2] or "") == expected.unit
        assert (written[5] or "") == expected.provenance


def test_cashflows_sheet_holds_every_line_item(case):
    result, _, book = case
    frame = result.cashflows()
    sheet = book.book["Cashflows"]
    labels = {}
    for row in sheet.iter_rows(min_row=1, max_col=1):
        if row[0].value:
            labels.setdefault(row[0].value, []).append(row[0].row)
    for i, business in enumerate(BUSINESSES):
        part = frame[frame["business"] == business]
        for item in result.base[business].items:
            row = labels[item][0] if len(labels[item]) == 1 else sorted(labels[item])[i]
            values = [c.value for c in sheet[row][2:2 + len(part)]]
            # XlsxWriter writes 16 significant digits (Excel keeps 15): equal to the last bit or two
            np.testing.assert_allclose(values, part[item].to_numpy(), rtol=1e-15, atol=0)
        # the net row is a formula; recalculated it is the sum of the items
        net_row = sorted(labels["net_usd"])[i]
        recalculated = [book.value("Cashflows", f"{openpyxl.utils.get_column_letter(3 + m)}{net_row}")
                        for m in range(len(part))]
        np.testing.assert_allclose(recalculated, part["net_usd"].to_numpy(), rtol=1e-9, atol=1e-3)


def test_monte_carlo_statistics_are_the_run_values(case):
    result, _, book = case
    summary = result.summary()
    sheet = book.book["Summary"]
    cells = {row[0].value: row for row in sheet.iter_rows() if row[0].value}
    mean = cells["mean"]
    same = dict(rel=1e-15, abs=0)  # 16 significant digits written
    assert mean[1].value == pytest.approx(summary["bitcoin"]["monte_carlo"]["npv_usd"]["mean"], **same)
    assert mean[2].value == pytest.approx(summary["ai"]["monte_carlo"]["npv_usd"]["mean"], **same)
    assert mean[3].value == pytest.approx(summary["comparison"]["npv_difference_usd"]["mean"], **same)
    assert cells["P(AI NPV > bitcoin NPV)"][1].value == pytest.approx(
        summary["comparison"]["prob_ai_beats_bitcoin"], **same)


def test_defined_names_point_at_the_summary(case):
    _, _, book = case
    names = set(book.book.defined_names)
    assert {"npv_ai", "npv_bitcoin", "irr_ai", "irr_bitcoin", "mirr_ai", "mirr_bitcoin"} <= names
    assert {f"{name}_{business}" for name in DEFINED_NAMES for business in BUSINESSES} == names
    for name in names:
        sheet, _ = next(iter(book.book.defined_names[name].destinations))
        assert sheet == "Summary"


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    result = pivotsim.run(SCENARIOS / "iren.yaml", paths=2000, seed=7)

    def broken_close(self):
        raise OSError("disk full")

    monkeypatch.setattr("xlsxwriter.Workbook.close", broken_close)
    with pytest.raises(OSError, match="disk full"):
        write_workbook(result, tmp_path / "model.xlsx")
    assert list(tmp_path.iterdir()) == []


def test_same_run_same_bytes(tmp_path):
    result = pivotsim.run(SCENARIOS / "iren.yaml", paths=2000, seed=7)
    first = write_workbook(result, tmp_path / "a.xlsx", generated=GENERATED).read_bytes()
    second = write_workbook(result, tmp_path / "b.xlsx", generated=GENERATED).read_bytes()
    assert first == second
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no partial file left


@pytest.mark.parametrize("target, message", [
    ("{tmp}", "is a folder"),
    ("{tmp}/model.csv", "must end in .xlsx"),
    ("{tmp}/missing/model.xlsx", "does not exist"),
    ("", "give a file name"),
])
def test_bad_output_paths(tmp_path, target, message):
    with pytest.raises(PivotsimError, match=message):
        check_workbook_path(target.format(tmp=tmp_path))


def test_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.geteuid() == 0:
            folder = "/sys"  # root ignores permission bits; sysfs refuses new files even to root
        with pytest.raises(PivotsimError, match="not writable"):
            check_workbook_path(os.path.join(folder, "model.xlsx"))
    finally:
        (tmp_path / "ro").chmod(0o700)


@pytest.mark.skipif(shutil.which("libreoffice") is None and shutil.which("soffice") is None,
                    reason="LibreOffice is not installed")
def test_libreoffice_recalculates(case, tmp_path):
    """LibreOffice recalculates a copy whose discount rates were edited (openpyxl saves no
    cached results, so every figure read back is LibreOffice's own)."""
    result, path, _ = case
    edited_rate = 0.20
    book = openpyxl.load_workbook(path)
    for business in BUSINESSES:
        sheet, cell = book.defined_names[f"discount_rate_{business}"].attr_text.split("!")
        reference = book[sheet][cell.replace("$", "")].value
        target_sheet, target_cell = reference[1:].split("!")
        book[target_sheet][target_cell.replace("$", "")].value = edited_rate
    (tmp_path / "in").mkdir()
    book.save(tmp_path / "in" / "model.xlsx")
    office = shutil.which("libreoffice") or shutil.which("soffice")
    subprocess.run([office, "--headless", "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir",
                    str(tmp_path), str(tmp_path / "in" / "model.xlsx")], check=True, capture_output=True,
                   timeout=180, env={**os.environ, "HOME": str(tmp_path)})
    saved = openpyxl.load_workbook(tmp_path / "model.xlsx", data_only=True)

    def named(name):
        sheet, cell = next(iter(saved.defined_names[name].destinations))
        return saved[sheet][cell.replace("$", "")].value

    monthly = (1 + edited_rate) ** (1 / 12) - 1
    for business in BUSINESSES:
        base = result.summary()[business]["base"]
        net = _net(result, business)
        assert _close(named(f"npv_{business}"), npf.npv(monthly, net))
        assert _close(named(f"discounted_payback_{business}"),
                      _finite_or_none(pivotsim.models.finance.discounted_payback_months(monthly, net)))
        for name, key in (("irr", "irr"), ("payback", "payback_months"), ("peak_funding", "peak_funding_usd")):
            assert _close(named(f"{name}_{business}"), base[key]), (business, name)  # the rate does not move them


def _finite_or_none(x):
    return float(x) if math.isfinite(x) else None


# ---------------------------------------------------------------- command line
@pytest.fixture(scope="module")
def cli():
    from typer.testing import CliRunner

    from pivotsim.cli import app

    runner = CliRunner()
    return lambda *args: runner.invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("target, message", [
    ("{tmp}", "--output: {tmp} is a folder"),
    ("{tmp}/model.csv", "must end in .xlsx"),
    ("{tmp}/missing/model.xlsx", "does not exist"),
])
def test_export_bad_output_one_line_exit_2_before_the_simulation(cli, tmp_path, monkeypatch, target, message):
    def no_simulation(*args, **kwargs):
        raise AssertionError("simulated before checking --output")

    monkeypatch.setattr("pivotsim.runs.run", no_simulation)
    out = cli("export", SCENARIOS / "iren.yaml", "-o", target.format(tmp=tmp_path))
    assert out.exit_code == 2
    text = out.output.strip()
    assert text.count("\n") == 0 and "Traceback" not in text
    assert message.format(tmp=tmp_path) in text


def test_export_writes_the_run_workbook(cli, tmp_path):
    out = cli("export", SCENARIOS / "iren.yaml", "-o", tmp_path / "iren.xlsx", "--paths", 2000, "--seed", 11)
    assert out.exit_code == 0, out.output
    expected = pivotsim.run(SCENARIOS / "iren.yaml", paths=2000, seed=11).summary()
    book = openpyxl.load_workbook(tmp_path / "iren.xlsx", data_only=True)  # cached results: what the run wrote
    for business in BUSINESSES:
        sheet, cell = next(iter(book.defined_names[f"npv_{business}"].destinations))
        assert _close(book[sheet][cell.replace("$", "")].value, expected[business]["base"]["npv_usd"])
    cells = {row[0].value: row for row in book["Summary"].iter_rows() if row[0].value}
    assert cells["mean"][3].value == pytest.approx(expected["comparison"]["npv_difference_usd"]["mean"],
                                                   rel=1e-15)


def test_run_xlsx_puts_the_workbook_in_the_run_folder(cli, tmp_path):
    out = cli("run", SCENARIOS / "iren.yaml", "--paths", 2000, "--no-figures", "--xlsx", "--out", tmp_path)
    assert out.exit_code == 0, out.output
    (folder,) = tmp_path.iterdir()
    book = openpyxl.load_workbook(folder / "model.xlsx")
    assert book.sheetnames == ["Summary", "Cashflows", "Assumptions"]
    assert {"npv_ai", "npv_bitcoin", "irr_ai", "irr_bitcoin"} <= set(book.defined_names)
