"""IRR only where it means something, MIRR, and the value bridge (issue 14).

Origins: Excel's MIRR help page vector; the roots of [-100, 230, -132]
(-100 + 230 x - 132 x^2 = 0 with x = 1 / (1 + r): x = 10/11 and 10/12, so
r = 10% and 20%); numpy-financial's ``mirr`` and ``npv``; Descartes' rule of
signs for series with one sign change (hypothesis).
"""

import math

import numpy as np
import numpy_financial as npf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pivotsim.models import finance


def test_mirr_excel_vector():
    # Excel MIRR help: MIRR(-120000, 39000, 30000, 21000, 37000, 46000; 10%; 12%) = 12.61%
    flows = [-120000, 39000, 30000, 21000, 37000, 46000]
    assert finance.mirr(flows, 0.10, 0.12) == pytest.approx(0.1261, abs=5e-5)
    assert finance.mirr(flows, 0.10, 0.12) == pytest.approx(npf.mirr(flows, 0.10, 0.12), rel=1e-12)


def test_mirr_in_the_valuation_kernel_equals_the_function_at_one_rate():
    rng = np.random.default_rng(3)
    flows = rng.normal(0, 1, (40, 30))
    flows[:, 0] -= 5
    rate = 0.01
    got = finance.valuation_metrics(flows, rate, names=["mirr"])["mirr"]
    expected = finance.annual_rate(np.array([npf.mirr(row, rate, rate) for row in flows]))
    assert np.allclose(got, expected, rtol=1e-11, equal_nan=True)


def test_multiple_roots_are_not_reported():
    # [-100, 230, -132]: NPV = 0 at 10% and at 20% (closed form above)
    assert npf.npv(0.10, [-100, 230, -132]) == pytest.approx(0, abs=1e-9)
    assert npf.npv(0.20, [-100, 230, -132]) == pytest.approx(0, abs=1e-9)
    value, note = finance.irr_with_note([-100, 230, -132])
    assert math.isnan(value) and note == "multiple"
    # the plain IRR still finds the root closest to zero (numpy-financial's choice)
    assert finance.irr([-100, 230, -132]) == pytest.approx(0.10, abs=1e-12)


def test_borrowing_series_has_no_reported_irr():
    # receive 100, repay 110 a period later: one root at 10%, but NPV > 0 below it
    value, note = finance.irr_with_note([100, -110])
    assert math.isnan(value) and note == "borrowing"
    assert finance.irr([100, -110]) == pytest.approx(0.10, abs=1e-12)
    assert finance.irr_with_note([100, 50]) == (pytest.approx(math.nan, nan_ok=True), "none")


def test_notes_through_valuation_metrics():
    flows = np.array([[-100, 230, -132, 0], [-100, 50, 60, 0], [100, -110, 0, 0], [1, 2, 3, 4]], dtype=float)
    out = finance.valuation_metrics(flows, 0.05, names=["irr", "irr_note"], unique_irr=True)
    assert [finance.IRR_NOTES[c] for c in out["irr_note"]] == ["multiple", None, "borrowing", "none"]
    assert np.isnan(out["irr"][[0, 2, 3]]).all() and np.isfinite(out["irr"][1])
    # without unique_irr the IRR of every row with a root is reported, as before
    assert np.isfinite(finance.valuation_metrics(flows, 0.05, names=["irr"])["irr"][[0, 1, 2]]).all()


@settings(max_examples=200, deadline=None)
@given(st.floats(100, 1e6), st.lists(st.floats(1.0, 1e5), min_size=2, max_size=40), st.integers(0, 5))
def test_conventional_flows_report_their_irr(investment, inflows, leading_zeros):
    # one sign change (Descartes): exactly one root, and the series invests first
    values = [0.0] * leading_zeros + [-investment] + inflows
    r, note = finance.irr_with_note(values)
    total = sum(inflows)
    # the NPV falls with the rate; its root lies inside the search grid (-50% .. +300% per period)
    # when the NPV is positive near the lowest rate and negative near the highest
    if not (npf.npv(-0.49, values) > 0 and npf.npv(2.9, values) < 0):
        return
    assert note is None
    assert abs(npf.npv(r, values)) <= 1e-6 * max(investment, total)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=30), st.floats(0.0, 0.2))
def test_a_reported_irr_agrees_with_the_sign_of_the_npv(values, rate):
    # NPV > 0 exactly when IRR > rate, for every IRR that is reported
    flows = np.array([values])
    out = finance.valuation_metrics(flows, rate, names=["npv_usd", "irr"], unique_irr=True)
    irr_per_period = float(finance.monthly_rate(out["irr"][0]))
    npv = float(out["npv_usd"][0])
    if math.isnan(irr_per_period) or abs(irr_per_period - rate) < 1e-9 or abs(npv) < 1e-6 * max(map(abs, values)):
        return
    assert (npv > 0) == (irr_per_period > rate)


def test_value_bridge_adds_up_to_the_npv():
    rng = np.random.default_rng(11)
    net = rng.normal(0, 1e8, (20, 85))
    prepayment = np.zeros((20, 85))
    prepayment[:, 3] = 1e9
    prepayment[:, 30:66] = -1e9 / 36
    terminal = np.zeros((1, 85))
    terminal[0, -1] = 6e8
    rate = finance.monthly_rate(0.12)
    bridge = finance.value_bridge(net, {"prepayment_financing_usd": prepayment, "terminal_value_usd": terminal},
                                  rate)
    assert list(bridge) == list(finance.BRIDGE_PARTS)
    assert np.all(bridge["financing_usd"] == 0)
    npv = finance.npv(rate, net)
    assert np.allclose(sum(bridge.values()), npv, rtol=0, atol=0.005)
    # each part is the numpy-financial NPV of its flows
    assert bridge["terminal_value_usd"][0] == pytest.approx(6e8 / (1 + rate) ** 84, rel=1e-12)
    assert bridge["prepayment_financing_usd"][0] == pytest.approx(npf.npv(rate, prepayment[0]), rel=1e-10)
    with pytest.raises(ValueError, match="parts_usd"):
        finance.value_bridge(net, {"debt": net}, rate)
