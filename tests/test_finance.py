"""Finance against numpy-financial, spreadsheet vectors and closed forms."""

import math

import numpy as np
import numpy_financial as npf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pivotsim.models import finance


def test_irr_spreadsheet_vector():
    # Excel IRR help page example: IRR(-70000,12000,15000,18000,21000,26000) = 8.66%
    # (numpy-financial gives 0.0866309480).
    assert finance.irr([-70000, 12000, 15000, 18000, 21000, 26000]) == pytest.approx(0.0866309480, abs=1e-10)


def test_npv_numpy_financial_doc_vector():
    # numpy-financial docs: npv(0.05, [-15000, 1500, 2500, 3500, 4500, 6000]) = 122.89
    assert finance.npv(0.05, [-15000, 1500, 2500, 3500, 4500, 6000]) == pytest.approx(122.8948549, abs=1e-6)


@pytest.mark.parametrize("values", [
    [-100, 39, 59, 55, 20],   # numpy-financial docstring: 0.28095
    [-100, 0, 0, 74],         # -0.0955
    [-100, 100, 0, -7],       # -0.0833 (two sign changes)
    [-100, 100, 0, 7],        # 0.06206
    [-5, 10.5, 1, -8, 1],     # 0.0886 (several roots: closest to zero)
])
def test_irr_matches_numpy_financial(values):
    assert finance.irr(values) == pytest.approx(npf.irr(values), abs=1e-9)


def test_irr_is_nan_without_root():
    assert math.isnan(finance.irr([100, 50, 20]))
    assert math.isnan(finance.irr([-100, -50, -20]))


def test_irr_vectorised_rows_equal_single_calls():
    rng = np.random.default_rng(7)
    flows = np.column_stack([-rng.uniform(500, 1000, 50), rng.uniform(0, 300, (50, 10))])
    many = finance.irr(flows)
    for row, r in zip(flows, many):
        assert r == pytest.approx(npf.irr(row), abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(st.floats(100, 1e6), st.lists(st.floats(0, 1e5), min_size=2, max_size=40))
def test_npv_at_irr_is_zero(investment, inflows):
    values = [-investment] + inflows
    r = finance.irr(values)
    if sum(inflows) <= 0 or math.isnan(r):
        return
    assert abs(finance.npv(r, values)) <= 1e-6 * max(investment, sum(inflows))


@settings(max_examples=100, deadline=None)
@given(st.floats(-0.5, 1.0), st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=30))
def test_npv_matches_numpy_financial(rate, values):
    assert finance.npv(rate, values) == pytest.approx(npf.npv(rate, values), rel=1e-9, abs=1e-6)


def test_monthly_rate_compounds_to_annual():
    # (1 + r_m)^12 = 1 + r_a by definition
    assert (1 + finance.monthly_rate(0.12)) ** 12 == pytest.approx(1.12, abs=1e-14)
    assert finance.annual_rate(finance.monthly_rate(0.3)) == pytest.approx(0.3, abs=1e-14)


def test_payback_spreadsheet_convention():
    # -100, then 30, 40, 50: cumulative -70, -30, +20 -> 2 + 30/50 = 2.6 periods
    assert finance.payback_months([-100, 30, 40, 50, 60]) == pytest.approx(2.6)
    # never recovered
    assert math.isnan(finance.payback_months([-100, 10, 10]))
    # never negative: pays back at once
    assert finance.payback_months([50, -10, 20]) == 0.0
    # recovered, lost again, recovered: counts from the last crossing (-100, 150, -100, 100)
    assert finance.payback_months([-100, 150, -100, 100]) == pytest.approx(2.5)


def test_discounted_payback():
    # at 10%: -100, 60/1.1=54.545, 60/1.21=49.587 -> cumulative -45.45, +4.13
    # -> 1 + 45.4545/49.5868 = 1.9167
    assert finance.discounted_payback_months(0.10, [-100, 60, 60]) == pytest.approx(1 + 45.454545 / 49.586777, rel=1e-6)


def test_peak_funding():
    assert finance.peak_funding_usd([-100, -50, 80, 100]) == 150
    assert finance.peak_funding_usd([10, 20]) == 0


def test_straight_line_depreciation_closed_form():
    capex = np.zeros(10)
    capex[0] = 120.0
    capex[3] = 60.0
    dep = finance.straight_line_depreciation(capex, 4)
    # 120 over periods 1..4 (30 each), 60 over 4..7 (15 each)
    assert np.allclose(dep, [0, 30, 30, 30, 45, 15, 15, 15, 0, 0])
    assert dep.sum() == pytest.approx(180)


def test_tax_with_loss_carryforward():
    # profits 100 (taxed), loss 150 (carried), profit 80 (absorbed), profit 100:
    # 70 of the loss left -> 30 taxable. At 25%: 25, 0, 0, 7.5
    tax = finance.tax_with_loss_carryforward(np.array([100.0, -150, 80, 100]), 0.25)
    assert np.allclose(tax, [25, 0, 0, 7.5])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-1e4, 1e4), min_size=1, max_size=40))
def test_tax_matches_loop(income):
    loss, expected = 0.0, []
    for x in income:
        taxable = max(0.0, x - loss)
        loss = max(0.0, loss - x)
        expected.append(0.2 * taxable)
    assert np.allclose(finance.tax_with_loss_carryforward(np.array(income), 0.2), expected, atol=1e-6)
