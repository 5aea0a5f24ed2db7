"""Project debt (pivotsim.models.debt): schedules, sizing, waterfall, equity returns.

Origins of the expected numbers: numpy-financial (pmt/ipmt/ppmt/pv/irr/npv/mirr),
closed forms (sculpted debt = PV of CFADS / target at the debt rate; an
annual-to-monthly timing factor), NREL PySAM's Singleowner on the same annual
CFADS, and the Modigliani-Miller identity (debt priced at the discount rate
leaves the NPV unchanged).
"""

from __future__ import annotations

import numpy as np
import numpy_financial as npf
import pytest

from pivotsim.models import debt, finance
from pivotsim.models import equity as levered_equity

N = 121  # month 0 .. 120


def _run(tranches, cfads, capex=None, taxable=None, tax_rate=0.0, base_rate=0.0, lines=True):
    cfads = np.asarray(cfads, dtype=float)
    base = cfads if cfads.ndim == 1 else cfads[0]
    capex = np.zeros(base.size) if capex is None else np.asarray(capex, dtype=float)
    taxable = np.zeros(base.size) if taxable is None else np.asarray(taxable, dtype=float)
    base_capex = capex if capex.ndim == 1 else capex[0]
    base_taxable = taxable if taxable.ndim == 1 else taxable[0]
    terms = debt.size_debt(tranches, base, base_capex, base_taxable, tax_rate,
                           np.asarray(base_rate).reshape(-1)[0])
    return terms, debt.debt_cash_flows(terms, cfads, capex, taxable, tax_rate, base_rate_per_year=base_rate,
                                       lines=lines)


def _flat(level=3e6):
    cf = np.full(N, level)
    cf[0] = 0.0
    return cf


@pytest.mark.parametrize("grace", [0, 12])
def test_annuity_schedule_equals_numpy_financial(grace):
    """Interest, principal and payment of an annuity after an interest-only grace = npf.ipmt/ppmt/pmt."""
    amount, tenor, annual = 1.0e8, 72, 0.08
    tranche = debt.Tranche(sizing="amount", amount_usd=amount, draw_month=3, tenor_months=tenor,
                           grace_months=grace, rate_per_year=annual)
    _, res = _run([tranche], _flat())
    rate = finance.monthly_rate(annual)
    lines = res.lines
    n = tenor - grace
    first = 3 + grace + 1
    periods = np.arange(1, n + 1)
    repay = slice(first, first + n)
    np.testing.assert_allclose(lines["debt_interest_usd"][0, repay], -npf.ipmt(rate, periods, n, amount),
                               rtol=0, atol=1e-9 * amount)
    np.testing.assert_allclose(lines["debt_principal_usd"][0, repay], -npf.ppmt(rate, periods, n, amount),
                               rtol=0, atol=1e-9 * amount)
    service = lines["debt_interest_usd"][0, repay] + lines["debt_principal_usd"][0, repay]
    np.testing.assert_allclose(service, -npf.pmt(rate, n, amount), rtol=0, atol=1e-9 * amount)
    # grace: interest only on the full amount; nothing before the draw or after maturity
    np.testing.assert_allclose(lines["debt_interest_usd"][0, 4:first], amount * rate, rtol=1e-12)
    assert np.all(lines["debt_principal_usd"][0, :first] == 0.0)
    assert np.all(lines["debt_interest_usd"][0, first + n:] == 0.0)
    assert lines["debt_balance_usd"][0, first + n - 1] == pytest.approx(0.0, abs=1e-6)
    assert res.metrics["cost_of_debt"][0] == pytest.approx(annual, abs=1e-10)


def test_straight_schedule_equals_closed_form_and_npf_irr():
    """Straight: principal amount/n each month, interest on the balance; the borrower's IRR is the rate (npf.irr)."""
    amount, tenor, annual = 5.0e7, 48, 0.065
    tranche = debt.Tranche(sizing="amount", amount_usd=amount, draw_month=0, tenor_months=tenor,
                           amortisation="straight", rate_per_year=annual)
    _, res = _run([tranche], _flat())
    rate = finance.monthly_rate(annual)
    principal = res.lines["debt_principal_usd"][0, 1:tenor + 1]
    np.testing.assert_allclose(principal, amount / tenor, rtol=1e-12)
    balance_before = amount * (1.0 - np.arange(tenor) / tenor)
    np.testing.assert_allclose(res.lines["debt_interest_usd"][0, 1:tenor + 1], rate * balance_before, rtol=1e-12)
    borrower = (res.lines["debt_draw_usd"][0] - res.lines["debt_interest_usd"][0]
                - res.lines["debt_principal_usd"][0])[:tenor + 1]
    assert npf.irr(borrower) == pytest.approx(rate, abs=1e-10)
    assert npf.npv(rate, borrower) == pytest.approx(0.0, abs=1e-6)


def _rising_cfads(seed=7):
    rng = np.random.default_rng(seed)
    cf = 2.0e6 * 1.004 ** np.arange(N) * (1.0 + 0.2 * rng.random(N))
    cf[0] = 0.0
    return cf


@pytest.mark.parametrize("tax_rate", [0.0, 0.21])
def test_sculpted_dscr_sizing_is_the_closed_form(tax_rate):
    """Sculpted, sized by DSCR: debt = sum CFADS_t / target / (1 + r)^t, and DSCR = target in every month.

    With tax, CFADS includes the interest's tax saving, which the sizing
    iterates to; the identity then holds on that CFADS (from the lines).
    """
    cfads, target, annual, tenor = _rising_cfads(), 1.3, 0.07, 96
    taxable = 0.6 * cfads
    tranche = debt.Tranche(sizing="dscr", target_dscr=target, draw_month=0, tenor_months=tenor,
                           amortisation="sculpted", rate_per_year=annual)
    terms, res = _run([tranche], cfads, taxable=taxable, tax_rate=tax_rate)
    rate = finance.monthly_rate(annual)
    with_shield = res.lines["cfads_usd"][0]
    months = np.arange(1, tenor + 1)
    closed_form = np.sum(with_shield[months] / target / (1.0 + rate) ** months)
    assert res.metrics["debt_usd"][0] == pytest.approx(closed_form, rel=1e-9)
    np.testing.assert_allclose(res.lines["dscr"][0, months], target, rtol=1e-9)
    assert res.metrics["min_dscr"][0] == pytest.approx(target, rel=1e-9)
    assert np.all(np.isnan(res.lines["dscr"][0, tenor + 1:]))
    if tax_rate:
        assert np.all(res.lines["tax_shield_usd"][0, months] > 0.0)
        # the shield is the rate times the interest while the business is profitable before interest
        np.testing.assert_allclose(res.lines["tax_shield_usd"][0, months],
                                   tax_rate * res.lines["debt_interest_usd"][0, months], rtol=1e-9)


def test_sculpted_amount_scales_the_cfads_shape():
    """Sculpted to a given amount: service proportional to CFADS with PV at the debt rate = amount."""
    cfads, annual, tenor, amount = _rising_cfads(3), 0.06, 60, 4.0e7
    tranche = debt.Tranche(sizing="amount", amount_usd=amount, target_dscr=1.2, draw_month=0, tenor_months=tenor,
                           amortisation="sculpted", rate_per_year=annual)
    _, res = _run([tranche], cfads)
    months = np.arange(1, tenor + 1)
    service = res.lines["debt_interest_usd"][0, months] + res.lines["debt_principal_usd"][0, months]
    rate = finance.monthly_rate(annual)
    assert np.sum(service / (1 + rate) ** months) == pytest.approx(amount, rel=1e-10)
    ratio = cfads[months] / service
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-9)


def test_dscr_sizing_of_an_annuity_is_npf_pv():
    """Flat CFADS, annuity sized by DSCR: debt = npf.pv(r, n, -CFADS / target) and its min DSCR = target."""
    level, target, annual, tenor = 3.0e6, 1.25, 0.08, 84
    tranche = debt.Tranche(sizing="dscr", target_dscr=target, draw_month=0, tenor_months=tenor,
                           rate_per_year=annual)
    _, res = _run([tranche], _flat(level))
    rate = finance.monthly_rate(annual)
    assert res.metrics["debt_usd"][0] == pytest.approx(npf.pv(rate, tenor, -level / target), rel=1e-10)
    assert res.metrics["min_dscr"][0] == pytest.approx(target, rel=1e-10)
    assert res.metrics["avg_dscr"][0] == pytest.approx(target, rel=1e-10)


def _pysam_sculpted(rate_percent, tenor_years, target, years, escalation_percent):
    """NREL PySAM Singleowner in DSCR mode on a flat generation profile with an escalating price, no tax."""
    singleowner = pytest.importorskip("PySAM.Singleowner")
    model = singleowner.default("CustomGenerationProfileSingleOwner")
    fp = model.FinancialParameters
    fp.analysis_period = years
    fp.debt_option = 1  # size debt by DSCR (SAM sculpts the service to CFADS / DSCR)
    fp.dscr, fp.term_tenor, fp.term_int_rate = target, tenor_years, rate_percent
    fp.federal_tax_rate, fp.state_tax_rate = (0.0,), (0.0,)
    for name in ("insurance_rate", "property_tax_rate", "dscr_reserve_months", "cost_debt_closing", "cost_debt_fee",
                 "cost_other_financing", "months_working_reserve", "months_receivables_reserve",
                 "construction_financing_cost", "dscr_limit_debt_fraction", "salvage_percentage", "inflation_rate",
                 "loan_moratorium", "equip1_reserve_cost", "equip2_reserve_cost", "equip3_reserve_cost"):
        setattr(fp, name, 0.0)
    model.SystemOutput.gen = (1000.0,) * 8760
    model.SystemOutput.degradation = (0.0,)
    model.Revenue.ppa_soln_mode = 1
    model.Revenue.ppa_price_input = (0.10,)
    model.Revenue.ppa_escalation = escalation_percent
    for name in dir(model.SystemCosts):
        if name.startswith("om_") and not name.endswith("escal"):
            try:
                setattr(model.SystemCosts, name, (0.0,))
            except Exception:  # not a per-year O&M cost input
                pass
    model.SystemCosts.total_installed_cost = 20.0e6
    model.execute()
    out = model.Outputs
    return np.array(out.cf_cash_for_ds), out.size_of_debt, out.min_dscr


@pytest.mark.parametrize("rate_percent, tenor_years, target, years, escalation", [
    (7.0, 8, 1.3, 10, 3.0), (5.0, 12, 1.2, 15, 1.5)])
def test_dscr_sizing_agrees_with_pysam_singleowner(rate_percent, tenor_years, target, years, escalation):
    """Same annual CFADS, rate, tenor and target DSCR as SAM's Singleowner.

    On annual periods (the per-period rate is SAM's annual rate) the debt
    equals SAM's to 1e-9 and the minimum DSCR is the target.  On months (each
    year's CFADS spread evenly over its 12 month-ends, the monthly rate
    equivalent) every monthly flow arrives earlier than SAM's year-end, so
    the debt is SAM's times ``(1/12) sum_k (1+r)^((12-k)/12)`` (about +3.2%
    at 7%): that factor is the whole of the difference, again to 1e-9.
    """
    cash_for_ds, sam_size, sam_min_dscr = _pysam_sculpted(rate_percent, tenor_years, target, years, escalation)
    annual = rate_percent / 100.0
    assert sam_min_dscr == pytest.approx(target, rel=1e-9)
    # annual periods: give the kernel the rate whose "monthly" equivalent is SAM's annual rate
    per_year = debt.Tranche(sizing="dscr", target_dscr=target, draw_month=0, tenor_months=tenor_years,
                            amortisation="sculpted", rate_per_year=(1.0 + annual) ** 12 - 1.0)
    _, res = _run([per_year], cash_for_ds)
    assert res.metrics["debt_usd"][0] == pytest.approx(sam_size, rel=1e-9)
    assert res.metrics["min_dscr"][0] == pytest.approx(sam_min_dscr, rel=1e-9)
    # monthly: the same yearly CFADS in twelve month-end parts
    monthly_cfads = np.zeros(12 * years + 1)
    monthly_cfads[1:] = np.repeat(cash_for_ds[1:years + 1] / 12.0, 12)
    per_month = debt.Tranche(sizing="dscr", target_dscr=target, draw_month=0, tenor_months=12 * tenor_years,
                             amortisation="sculpted", rate_per_year=annual)
    _, res = _run([per_month], monthly_cfads)
    timing = np.mean((1.0 + annual) ** ((12 - np.arange(1, 13)) / 12.0))
    assert res.metrics["debt_usd"][0] == pytest.approx(sam_size * timing, rel=1e-9)
    assert res.metrics["min_dscr"][0] == pytest.approx(target, rel=1e-9)


@pytest.mark.parametrize("amortisation, sweep", [("annuity", 0.0), ("sculpted", 0.0), ("bullet", 0.0),
                                                  ("straight", 0.5)])
def test_modigliani_miller_debt_at_the_cost_of_equity_leaves_npv_unchanged(amortisation, sweep):
    """No fees, no tax, debt at the cost of equity: equity NPV = unlevered NPV, path by path."""
    coe = 0.11
    rng = np.random.default_rng(11)
    cfads = _rising_cfads()[None, :] * (0.6 + 0.8 * rng.random((5, 1)))
    capex = np.zeros(N)
    capex[:6] = 2.0e7
    net = cfads - capex
    tranche = debt.Tranche(sizing="ltc", ltc_share=0.7, tenor_months=90, grace_months=8,
                           amortisation=amortisation, target_dscr=1.3, rate_per_year=coe, sweep_share=sweep)
    _, res = _run([tranche], cfads, capex=np.broadcast_to(capex, cfads.shape).copy(), lines=False)
    levered = levered_equity.equity_metrics(res.equity_usd, coe)["npv_usd"]
    unlevered = finance.npv(finance.monthly_rate(coe), net)
    np.testing.assert_allclose(levered, unlevered, rtol=1e-9, atol=1e-3)
    assert res.metrics["debt_usd"] == pytest.approx(0.7 * 6 * 2.0e7)


def test_financing_part_is_zero_for_debt_at_the_discount_rate():
    """Modigliani-Miller on the value bridge: no fees, no tax, debt at the discount rate -> its financing part
    (the equity's flows less the unlevered ones, at that rate) is 0 on every path, and the equity NPV at
    that rate is the unlevered NPV plus it."""
    rate = 0.11
    rng = np.random.default_rng(5)
    cfads = _rising_cfads()[None, :] * (0.6 + 0.8 * rng.random((4, 1)))
    capex = np.zeros(N)
    capex[:6] = 2.0e7
    tranche = debt.Tranche(sizing="ltc", ltc_share=0.7, tenor_months=90, grace_months=8, rate_per_year=rate)
    _, res = _run([tranche], cfads, capex=np.broadcast_to(capex, cfads.shape).copy(), lines=False)
    terms = res.terms
    at_discount = debt.debt_cash_flows(terms, cfads, np.broadcast_to(capex, cfads.shape), 0.0, 0.0,
                                       cost_of_equity_per_year=0.2, discount_rate_per_year=rate)
    np.testing.assert_allclose(at_discount.metrics["financing_usd"], 0.0, atol=1e-6 * terms.amount_usd[0])
    monthly = finance.monthly_rate(rate)
    np.testing.assert_allclose(at_discount.metrics["financing_usd"] + finance.npv(monthly, cfads - capex),
                               finance.npv(monthly, at_discount.equity_usd), rtol=0, atol=1e-3)


@pytest.mark.parametrize("draw_month", [0, 5])
def test_financing_part_of_a_bullet_at_the_discount_rate_is_the_tax_shield(draw_month):
    """Closed form: a bullet loan D over T months at the discount rate r, taxable income always positive
    (no loss carried forward), tax rate tau: the financing part is the present value of the interest tax
    saving, tau * D * v^m * (1 - v^T), v = 1 / (1 + r) per month, m the draw month."""
    amount, tenor, annual, tau = 2.0e8, 60, 0.09, 0.21
    tranche = debt.Tranche(sizing="amount", amount_usd=amount, draw_month=draw_month, tenor_months=tenor,
                           amortisation="bullet", rate_per_year=annual)
    cfads = _flat(5e7)
    taxable = np.full(N, 4e7)
    terms = debt.size_debt([tranche], cfads, np.zeros(N), taxable, tau)
    res = debt.debt_cash_flows(terms, cfads, np.zeros(N), taxable, tau, cost_of_equity_per_year=annual,
                               discount_rate_per_year=annual)
    v = 1.0 / (1.0 + finance.monthly_rate(annual))
    expected = tau * amount * v ** draw_month * (1.0 - v ** tenor)
    assert res.metrics["financing_usd"][0] == pytest.approx(expected, rel=1e-9)


def test_financing_part_of_an_annuity_is_its_spread_to_the_discount_rate():
    """Closed form (numpy-financial): no tax, an annuity at 6% valued at 10%: the financing part is
    v^m * (D + npf.pv(r, T, pmt)), the loan's proceeds less its service at the discount rate."""
    amount, tenor, draw_month = 1.5e8, 72, 3
    debt_rate, discount = finance.monthly_rate(0.06), finance.monthly_rate(0.10)
    tranche = debt.Tranche(sizing="amount", amount_usd=amount, draw_month=draw_month, tenor_months=tenor,
                           rate_per_year=0.06)
    _, res = _run([tranche], _flat(), lines=False)
    at_discount = debt.debt_cash_flows(res.terms, _flat(), np.zeros(N), 0.0, 0.0, discount_rate_per_year=0.10)
    payment = -npf.pmt(debt_rate, tenor, amount)
    expected = (amount + npf.pv(discount, tenor, payment)) / (1.0 + discount) ** draw_month
    assert at_discount.metrics["financing_usd"][0] == pytest.approx(expected, rel=1e-9)
    assert expected > 0.0  # borrowing below the discount rate adds value


def test_equity_mirr_and_irr_equal_numpy_financial():
    """The equity's MIRR = npf.mirr(flows, coe, coe) and IRR = npf.irr, both per month then annualised."""
    coe = 0.12
    capex = np.zeros(N)
    capex[:4] = 3.0e7
    cfads = _rising_cfads()
    tranche = debt.Tranche(sizing="ltc", ltc_share=0.6, tenor_months=80, grace_months=3, rate_per_year=0.07,
                           upfront_fee_share=0.01)
    _, res = _run([tranche], cfads, capex=capex)
    equity = res.equity_usd[0]
    monthly = finance.monthly_rate(coe)
    metrics = levered_equity.equity_metrics(res.equity_usd, coe)
    assert metrics["mirr"][0] == pytest.approx(finance.annual_rate(npf.mirr(equity, monthly, monthly)), rel=1e-10)
    assert metrics["irr"][0] == pytest.approx(finance.annual_rate(npf.irr(equity)), rel=1e-9)
    assert metrics["npv_usd"][0] == pytest.approx(npf.npv(monthly, equity), rel=1e-10)
    # the fee makes the all-in cost exceed the coupon: the borrower's IRR (npf.irr) of draws - fees - service
    lines = res.lines
    borrower = lines["debt_draw_usd"][0] - lines["debt_fee_usd"][0] - lines["debt_interest_usd"][0] \
        - lines["debt_principal_usd"][0]
    assert res.metrics["cost_of_debt"][0] == pytest.approx(finance.annual_rate(npf.irr(borrower)), rel=1e-9)
    assert res.metrics["cost_of_debt"][0] > 0.07


def test_shortfall_uses_the_reserve_then_defaults_and_equity_cures():
    """A gap in CFADS: the reserve pays first; what is left is a payment default that the equity cures."""
    amount, annual = 6.0e7, 0.08
    cfads = _flat(2.0e6)
    bad = cfads.copy()
    bad[30:34] = 0.0  # four months without cash
    tranche = debt.Tranche(sizing="amount", amount_usd=amount, draw_month=0, tenor_months=60, rate_per_year=annual,
                           covenant_dscr=1.05, reserve_months=2.0)
    _, res = _run([tranche], np.vstack([cfads, bad]))
    payment = -npf.pmt(finance.monthly_rate(annual), 60, amount)
    m = res.metrics
    assert m["payment_default"].tolist() == [0.0, 1.0]
    assert m["covenant_breach"].tolist() == [0.0, 1.0]
    assert m["first_breach_month"][1] == 30 and np.isnan(m["first_breach_month"][0])
    assert m["first_default_month"][1] == 32  # months 30 and 31 are paid from the two months' reserve
    assert m["equity_cure_usd"][1] == pytest.approx(2 * payment, rel=1e-9)
    assert m["min_dscr"][1] == 0.0
    reserve = res.lines["debt_reserve_usd"]
    assert reserve[1, 0] == pytest.approx(2 * payment, rel=1e-12)  # funded by the equity at the draw
    assert reserve[1, 33] == 0.0
    # refilled from the surplus before any distribution: one month's surplus at a time, up to its target
    assert reserve[1, 34] == pytest.approx(2.0e6 - payment, rel=1e-9)
    assert res.equity_usd[1, 34] == pytest.approx(0.0, abs=1e-6)
    assert reserve[1, 37] == pytest.approx(2 * payment, rel=1e-12)
    assert np.all(res.lines["debt_balance_usd"] >= 0.0)
    # the equity pays the cure, so both paths still repay the same debt
    np.testing.assert_array_equal(res.lines["debt_principal_usd"][0], res.lines["debt_principal_usd"][1])
    assert res.equity_usd[1, 32] == pytest.approx(-payment, rel=1e-9)


def test_lockup_holds_the_surplus_until_the_dscr_recovers():
    """Below the lock-up DSCR the month's surplus stays in the project; released once DSCR is back above it."""
    amount, annual = 6.0e7, 0.08
    cfads = _flat(2.0e6)
    cfads[20:23] = 1.3e6  # DSCR ~1.07 against a lock-up at 1.2
    tranche = debt.Tranche(sizing="amount", amount_usd=amount, draw_month=0, tenor_months=60, rate_per_year=annual,
                           lockup_dscr=1.2, covenant_dscr=1.05)
    _, res = _run([tranche], cfads)
    payment = -npf.pmt(finance.monthly_rate(annual), 60, amount)
    lock = res.lines["lockup_cash_usd"][0]
    assert lock[22] == pytest.approx(3 * (1.3e6 - payment), rel=1e-9)
    assert res.equity_usd[0, 21] == 0.0
    assert res.equity_usd[0, 23] == pytest.approx(2.0e6 - payment + lock[22], rel=1e-9)
    assert res.metrics["covenant_breach"][0] == 0.0


def test_floating_rate_follows_the_path_base_rate():
    """Floating: a higher base rate costs more interest (per path) and lowers the equity's NPV."""
    tranche = debt.Tranche(sizing="amount", amount_usd=5.0e7, draw_month=0, tenor_months=60, margin_per_year=0.0225)
    base = np.array([0.04, 0.04, 0.06])
    cfads = np.broadcast_to(_flat(), (3, N)).copy()
    _, res = _run([tranche], cfads, base_rate=base)
    assert res.metrics["cost_of_debt"] == pytest.approx(base + 0.0225, abs=1e-10)
    npv = levered_equity.equity_metrics(res.equity_usd, 0.1)["npv_usd"]
    assert npv[0] == npv[1] > npv[2]


def test_senior_and_junior_tranches_size_on_the_remaining_headroom():
    """A DSCR-sized tranche after a fixed senior one: together their min DSCR is the target."""
    senior = debt.Tranche(sizing="amount", amount_usd=4.0e7, draw_month=0, tenor_months=60, rate_per_year=0.06)
    junior = debt.Tranche(sizing="dscr", target_dscr=1.25, draw_month=0, tenor_months=96, rate_per_year=0.10,
                          amortisation="sculpted")
    terms, res = _run([senior, junior], _rising_cfads())
    assert res.metrics["min_dscr"][0] == pytest.approx(1.25, rel=1e-9)
    assert terms.amount_usd[1] > 0.0
    alone = _run([junior], _rising_cfads())[0].amount_usd[0]
    assert terms.amount_usd[1] < alone


def test_same_numbers_whatever_the_chunking():
    """Paths evaluated together or in chunks give identical bits."""
    rng = np.random.default_rng(5)
    cfads = _rising_cfads()[None, :] * (0.3 + 1.2 * rng.random((37, 1)))
    capex = np.zeros((37, N))
    capex[:, :5] = 1.0e7 * (1 + rng.random((37, 1)))
    tranche = debt.Tranche(sizing="ltc", ltc_share=0.8, tenor_months=100, grace_months=6, rate_per_year=0.07,
                           amortisation="sculpted", target_dscr=1.3, covenant_dscr=1.1, lockup_dscr=1.2,
                           reserve_months=3, sweep_share=0.25)
    terms = debt.size_debt([tranche], cfads[0], capex[0], np.zeros(N), 0.0)
    base = rng.random(37) * 0.05
    whole = debt.debt_cash_flows(terms, cfads, capex, 0.5 * cfads, 0.2, base_rate_per_year=base)
    parts = [debt.debt_cash_flows(terms, cfads[s], capex[s], 0.5 * cfads[s], 0.2, base_rate_per_year=base[s])
             for s in (slice(0, 10), slice(10, 11), slice(11, 37))]
    np.testing.assert_array_equal(whole.equity_usd, np.vstack([p.equity_usd for p in parts]))
    for name in debt.METRIC_NAMES:
        np.testing.assert_array_equal(whole.metrics[name], np.concatenate([p.metrics[name] for p in parts]))
    assert 0.0 < whole.metrics["covenant_breach"].mean() < 1.0  # the case exercises both outcomes


def test_delay_and_higher_rate_lower_the_equity_npv():
    """Economics: a later CFADS or a dearer loan makes the equity worth less."""
    capex = np.zeros(N)
    capex[:6] = 2.0e7
    tranche = debt.Tranche(sizing="ltc", ltc_share=0.7, tenor_months=90, grace_months=8, rate_per_year=0.07)
    dear = debt.Tranche(sizing="ltc", ltc_share=0.7, tenor_months=90, grace_months=8, rate_per_year=0.09)
    cfads = _rising_cfads()
    late = np.concatenate((np.zeros(6), cfads[:-6]))
    npv = [levered_equity.equity_metrics(_run([t], c, capex=capex)[1].equity_usd, 0.12)["npv_usd"][0]
           for t, c in ((tranche, cfads), (tranche, late), (dear, cfads))]
    assert npv[0] > npv[1] and npv[0] > npv[2]


@pytest.mark.parametrize("changes, field", [
    (dict(tenor_months=130), "debt.tenor_months"),
    (dict(sizing="dscr", target_dscr=0.9), "debt.target_dscr"),
    (dict(sizing="dscr", target_dscr=None), "debt.target_dscr"),
    (dict(sizing="ltc", ltc_share=1.2), "debt.ltc"),
    (dict(grace_months=60), "debt.grace_months"),
    (dict(sizing="cheap"), "debt.sizing"),
])
def test_bad_terms_name_the_field(changes, field):
    terms = dict(sizing="amount", amount_usd=1e7, draw_month=0, tenor_months=60, rate_per_year=0.07)
    terms.update(changes)
    with pytest.raises(ValueError, match=f"^{field}: "):
        debt.size_debt([debt.Tranche(**terms)], _flat(), np.zeros(N), np.zeros(N), 0.0)


def test_ltc_on_a_business_without_capex_is_refused():
    tranche = debt.Tranche(sizing="ltc", ltc_share=0.8, tenor_months=60, rate_per_year=0.07)
    with pytest.raises(ValueError, match=r"^debt\.ltc: 0.8 is not allowed on a business without capex"):
        debt.size_debt([tranche], _flat(), np.zeros(N), np.zeros(N), 0.0)
    capex_later = np.zeros(N)
    capex_later[20] = 1e7
    at_month = debt.Tranche(sizing="ltc", ltc_share=0.8, draw_month=0, tenor_months=60, rate_per_year=0.07)
    with pytest.raises(ValueError, match=r"^debt\.ltc: 0.8 is not allowed; the business has no capex in months 0..0"):
        debt.size_debt([at_month], _flat(), capex_later, np.zeros(N), 0.0)
    by_amount = debt.Tranche(sizing="amount", amount_usd=1e7, tenor_months=60, rate_per_year=0.07)
    with pytest.raises(ValueError, match=r"^debt\.draw: 'capex' is not allowed on a business without capex"):
        debt.size_debt([by_amount], _flat(), np.zeros(N), np.zeros(N), 0.0)


def test_trailing_twelve_month_covenant_ignores_a_one_month_dip():
    """Covenant on the trailing 12 months: a month at DSCR 0.5 among months at 2.0 averages
    (11 x 2.0 + 0.5) / 12 = 1.875 > 1.05: no breach; tested monthly, it breaches that month."""
    amount, annual = 6.0e7, 0.08
    payment = -npf.pmt(finance.monthly_rate(annual), 60, amount)
    cfads = np.full(N, 2.0 * payment)
    cfads[0] = 0.0
    cfads[30] = 0.5 * payment
    terms = dict(sizing="amount", amount_usd=amount, draw_month=0, tenor_months=60, rate_per_year=annual,
                 covenant_dscr=1.05, reserve_months=1.0)
    _, monthly = _run([debt.Tranche(**terms)], cfads)
    _, trailing = _run([debt.Tranche(**terms, covenant_test_months=12)], cfads)
    assert monthly.metrics["first_breach_month"][0] == 30
    assert trailing.metrics["covenant_breach"][0] == 0.0
    assert trailing.metrics["min_dscr"][0] == pytest.approx(0.5, rel=1e-9)  # the monthly DSCR is still reported
    # a run of bad months does breach the trailing covenant, once the window's average falls below it
    cfads[30:42] = 0.5 * payment
    _, long_dip = _run([debt.Tranche(**terms, covenant_test_months=12)], cfads)
    # months 30..k at 0.5 and the rest at 2.0: (2.0 (41 - k) + 0.5 (k - 29)) / 12 < 1.05 first at k = 37
    assert long_dip.metrics["first_breach_month"][0] == 37


def test_equity_metrics_of_the_kernel_equal_finance_valuation():
    """The kernel's per-path equity NPV, payback and MIRR are finance.valuation_metrics' to the bit;
    its IRR (one sign change: a bracketed Newton) equals the grid search's to 1e-12, and rows
    with several sign changes fall back to that search."""
    rng = np.random.default_rng(21)
    n_paths = 60
    cfads = _rising_cfads()[None, :] * (0.2 + 1.5 * rng.random((n_paths, 1)))
    cfads[::7, 40:46] = -4.0e6  # a few paths with a bad stretch: defaults, cures, more sign changes
    capex = np.zeros((n_paths, N))
    capex[:, :5] = 1.5e7 * (1 + rng.random((n_paths, 1)))
    tranche = debt.Tranche(sizing="ltc", ltc_share=0.7, tenor_months=90, grace_months=6, rate_per_year=0.08,
                           amortisation="annuity", upfront_fee_share=0.01, reserve_months=2)
    terms = debt.size_debt([tranche], cfads[0], capex[0], np.zeros(N), 0.0)
    coe = 0.03 + 0.15 * rng.random(n_paths)
    res = debt.debt_cash_flows(terms, cfads, capex, 0.5 * cfads, 0.21, cost_of_equity_per_year=coe)
    reference = finance.valuation_metrics(res.equity_usd, finance.monthly_rate(coe)[:, None],
                                          ("npv_usd", "irr", "mirr", "payback_months"))
    np.testing.assert_array_equal(res.metrics["equity_npv_usd"], reference["npv_usd"])
    np.testing.assert_array_equal(res.metrics["equity_payback_months"], reference["payback_months"])
    np.testing.assert_array_equal(res.metrics["equity_mirr"], reference["mirr"])
    np.testing.assert_allclose(res.metrics["equity_irr"], reference["irr"], rtol=1e-12, atol=1e-14)
    changes = np.array([np.sum(np.diff(np.sign(r[r != 0])) != 0) for r in res.equity_usd])
    assert (changes == 1).any() and (changes > 1).any()  # both branches exercised
