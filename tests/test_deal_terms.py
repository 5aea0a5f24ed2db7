"""Deal terms as they are signed (issue 14): closed forms on small hand-built contracts.

A gpu_cloud contract of one or two tranches, a 12-month term and $1M a
month per tranche at full capacity; no power, opex or facility cost unless a
test sets them, so every expected number below is worked out by hand from
the terms (the origin of each is in the comment next to it).
"""

import numpy as np
import pytest

from pivotsim.models import finance
from pivotsim.models.hosting import hosting_cash_flows
from pivotsim.models.market import zero_shocks
from pivotsim.scenario import iter_quantities, parse_scenario, read_yaml
from pivotsim.inputs import to_inputs
from pivotsim.simulate import evaluate, timeline_of

from .conftest import SCENARIOS, without_deal_terms

MONTHLY = 1e6  # invoice of the whole deal per month [USD]


def small_contract(phases=((2, 1.0),), term=12, horizon=30, gpu_capex=0.0, residual=0.2, facility_per_mw=0.0,
                   construction=3, prepayment=0.0, **terms):
    """Inputs of a small gpu_cloud deal (240 MW grid / PUE 1.2 = 200 MW IT) with the given deal terms."""
    data, _, _ = read_yaml(SCENARIOS / "iren.yaml")
    data = {k: v for k, v in data.items() if k != "correlations"}
    scenario = parse_scenario(data, file=str(SCENARIOS / "iren.yaml"))
    scenario = scenario.with_overrides([f"{p}={q.value!r}" for p, q in iter_quantities(scenario)
                                        if q.dist is not None])
    data = without_deal_terms(scenario.model_dump(mode="python", exclude_none=True))
    data["scenario"] = {**data["scenario"], "horizon_months": horizon}
    data["ai"] = {k: v for k, v in data["ai"].items() if k != "debt"}  # unlevered: these are contract terms
    data["ai"] = {**data["ai"], "contract_value_usd": MONTHLY * term, "term_months": term,
                  "prepayment_share": prepayment, "gpu_capex_usd": gpu_capex, "gpu_residual_share": residual,
                  "datacenter_capex_usd_per_mw": facility_per_mw, "construction_months": construction,
                  "opex_usd_per_mw_year": 0.0, "power_pass_through": True,
                  "phases": [{"online_month": m, "share": s} for m, s in phases]}
    inputs = to_inputs(parse_scenario(data))
    risks = {k: terms.pop(k) for k in list(terms) if k in (
        "construction_delay_months", "delay_spending", "delay_cost_share_per_month", "termination_probability",
        "termination_event", "release_months", "release_price_share", "gpu_value_decline_per_year")}
    for name, value in risks.items():
        setattr(inputs.ai.risks, name, value)
    for name in ("terminal_value", "terminal_hall_value_usd_per_mw", "tax_rate"):
        if name in terms:
            setattr(inputs.finance, name, terms.pop(name))
    for name, value in terms.items():
        setattr(inputs.ai, name, value)
    return inputs


def flows(inputs):
    timeline = timeline_of(inputs)
    out, _ = evaluate(inputs, timeline, zero_shocks(timeline.horizon_months))
    return out["ai"]


def items(inputs):
    f = flows(inputs)
    return {k: np.asarray(v)[0] for k, v in f.items.items()}, f


def test_committed_spending_does_not_move_with_a_delay():
    # GPUs shipped 2 months before the contracted delivery (month 6), paid 1 month after shipping:
    # month 5, whatever the delay; the hall is built in months 4-6 (3 months ending at delivery)
    common = dict(phases=((6, 1.0),), gpu_capex=3e8, facility_per_mw=1e6, delay_spending="committed",
                  gpu_shipment_months_before_delivery=2, gpu_payment_months_after_shipment=1)
    on_time, _ = items(small_contract(**common))
    late, _ = items(small_contract(construction_delay_months=4, **common))
    expected = np.zeros(31)
    expected[4:7] = 200 * 1e6 / 3
    expected[5] += 3e8
    assert np.allclose(-on_time["capex_usd"], expected)
    assert np.array_equal(late["capex_usd"], on_time["capex_usd"])
    # revenue moves: invoiced months 7-18 on time, 11-22 four months late
    assert np.flatnonzero(on_time["revenue_usd"]).tolist() == list(range(7, 19))
    assert np.flatnonzero(late["revenue_usd"]).tolist() == list(range(11, 23))
    # 'moves' (the model before issue 14): every payment shifts with go-live, GPUs paid at go-live
    moved, _ = items(small_contract(construction_delay_months=4, **{**common, "delay_spending": "moves"}))
    assert -moved["capex_usd"][10] == pytest.approx(3e8 + 200 * 1e6 / 3)


def test_stretched_build_and_delay_cost():
    # the build spreads over 3 + 4 months ending at the late go-live (month 10), 10% more per month late
    inputs = small_contract(phases=((6, 1.0),), facility_per_mw=1e6, construction_delay_months=4,
                            delay_spending="stretched", delay_cost_share_per_month=0.1)
    capex = -items(inputs)[0]["capex_usd"]
    total = 200 * 1e6 * (1 + 0.1 * 4)
    expected = np.zeros(31)
    expected[4:11] = total / 7
    assert np.allclose(capex, expected)


@pytest.mark.parametrize("share, cap, expected", [
    (0.1, 1.0, [0.3]),            # 3 months late x 10% of the $1M invoice = $300k off the first invoice
    (0.1, 0.01, [0.12]),          # capped at 1% of the $12M contract value
    (0.5, 1.0, [1.0, 0.5]),       # 3 x 50% = 1.5 invoices: the first in full, half the second
])
def test_delay_credit_closed_form(share, cap, expected):
    inputs = small_contract(construction_delay_months=3, delay_credit_share_per_month=share,
                            delay_credit_cap_share=cap)
    got, f = items(inputs)
    credit = -got["delay_credit_usd"]
    first = 2 + 3 + 1  # contracted month 2, live at 5, first invoice month 6
    assert np.allclose(credit[first:first + len(expected)], np.array(expected) * MONTHLY)
    assert credit.sum() == pytest.approx(sum(expected) * MONTHLY)
    # the credit lowers EBITDA and the net by the same amount
    no_credit, f0 = items(small_contract(construction_delay_months=3))
    assert np.allclose(f.quantities["ebitda_usd"][0] - f0.quantities["ebitda_usd"][0], got["delay_credit_usd"])
    # on time: no credit
    assert not np.any(items(small_contract(delay_credit_share_per_month=share))[0]["delay_credit_usd"])


def test_per_tranche_prepayment_paid_before_delivery_and_credited_from_month_25():
    # two tranches (months 4 and 10, half each), 60-month term, 20% of each tranche's value
    # ($30M x 20% = $6M) paid 2 months before it goes live, credited evenly over service months 25..60
    inputs = small_contract(phases=((4, 0.5), (10, 0.5)), term=60, horizon=84, prepayment=0.2,
                            prepayment_paid="before_delivery", prepayment_months_before_delivery=2,
                            prepayment_credit_start_month=25)
    got, f = items(inputs)
    value = 0.5 * MONTHLY * 60
    expected_paid = np.zeros(85)
    expected_paid[[2, 8]] = 0.2 * value
    assert np.allclose(got["prepayment_usd"], expected_paid)
    credit = -got["prepayment_credit_usd"]
    # tranche 1 serves months 5..64, its 25th service month is 29; tranche 2: 11..70, from 35
    per_month = 0.2 * value / 36
    expected_credit = np.zeros(85)
    expected_credit[29:65] += per_month
    expected_credit[35:71] += per_month
    assert np.allclose(credit, expected_credit)
    # each tranche's credits sum to its prepayment; nothing left unearned
    assert credit[29:35].sum() + credit[35:65].sum() / 2 == pytest.approx(0.2 * value)
    assert credit.sum() == pytest.approx(got["prepayment_usd"].sum())
    assert np.allclose(got["prepayment_unearned_usd"], 0.0, atol=1e-6)  # 36 equal parts: rounding only


def test_termination_past_long_stop_refunds_and_re_leases():
    # contracted month 2, long-stop 2 months later (month 4); 5 months late: cancelled at month 4.
    # The prepayment (25% x $12M, at signing) is refunded then; the capacity, ready at month 7, is
    # re-leased after 2 vacant months from month 10 (invoices 10..19, up to the would-be term end at
    # 7 + 12) at 60% of the contract rate x 0.7^(2/12) (GPU age at re-lease 2 months, 30%/yr decline)
    inputs = small_contract(prepayment=0.25, construction_delay_months=5, long_stop_months=2,
                            release_months=2, release_price_share=0.6, gpu_value_decline_per_year=0.3)
    got, _ = items(inputs)
    assert got["prepayment_usd"][0] == pytest.approx(0.25 * 12 * MONTHLY)
    assert got["prepayment_refund_usd"][4] == pytest.approx(-0.25 * 12 * MONTHLY)
    assert not np.any(got["prepayment_credit_usd"])
    assert not np.any(got["prepayment_unearned_usd"])
    rate = 0.6 * MONTHLY * 0.7 ** (2 / 12)
    expected = np.zeros(31)
    expected[10:20] = rate
    assert np.allclose(got["revenue_usd"], expected)
    # with probability 0 (the customer keeps waiting) the contract runs late, with no refund
    kept, _ = items(small_contract(prepayment=0.25, construction_delay_months=5, long_stop_months=2,
                                   termination_probability=0.0))
    assert not np.any(kept["prepayment_refund_usd"])
    assert np.flatnonzero(kept["revenue_usd"]).tolist() == list(range(8, 20))
    # within the long-stop: no termination
    within, _ = items(small_contract(construction_delay_months=2, long_stop_months=2))
    assert np.flatnonzero(within["revenue_usd"]).tolist() == list(range(5, 17))


def test_termination_sells_the_gpus_at_resale_less_haircut():
    # GPUs ($300M) paid at the contracted delivery (month 2, committed); cancelled at month 4; sold
    # then at the resale curve 0.2^(age / term) with age 2 months, less a 25% haircut; never in service
    inputs = small_contract(gpu_capex=3e8, residual=0.2, construction_delay_months=5, long_stop_months=2,
                            on_termination="sell_gpus", gpu_resale_haircut_share=0.25, delay_spending="committed")
    got, f = items(inputs)
    proceeds = 3e8 * 0.2 ** (2 / 12) * 0.75
    assert got["gpu_residual_usd"][4] == pytest.approx(proceeds)
    assert got["gpu_residual_usd"].sum() == pytest.approx(proceeds)
    assert not np.any(got["revenue_usd"])
    assert not np.any(f.quantities["depreciation_usd"][0])


def test_prepayment_tax_on_receipt_moves_tax_only_in_time():
    # 20% at signing of $12M; tax 21%.  On receipt: taxed at t = 0 (income 2.4M, no losses), and
    # each credit (20% of a $1M invoice) lowers the taxable income of its month.
    common = dict(prepayment=0.2, tax_rate=0.21)
    as_earned, _ = items(small_contract(**common))
    on_receipt, _ = items(small_contract(prepayment_tax="on_receipt", **common))
    assert -on_receipt["tax_usd"][0] == pytest.approx(0.21 * 0.2 * 12 * MONTHLY)
    assert -as_earned["tax_usd"][0] == pytest.approx(0.0)
    assert -on_receipt["tax_usd"][3] == pytest.approx(0.21 * 0.8 * MONTHLY)
    assert -as_earned["tax_usd"][3] == pytest.approx(0.21 * MONTHLY)
    assert on_receipt["tax_usd"].sum() == pytest.approx(as_earned["tax_usd"].sum())


def test_economic_terminal_value_does_not_depend_on_tax_lives():
    # halls at $2M per MW (200 MW IT); GPUs still owned at the horizon at the resale curve
    def terminal(gpu_years, facility_years, mode):
        inputs = small_contract(phases=((2, 1.0),), term=24, horizon=30, gpu_capex=3e8, residual=0.1,
                                facility_per_mw=5e6, construction_delay_months=8, terminal_value=mode,
                                terminal_hall_value_usd_per_mw=2e6)
        inputs.finance.depreciation.gpu_years = gpu_years
        inputs.finance.depreciation.facility_years = facility_years
        return items(inputs)[0]["terminal_value_usd"][-1]

    economic = terminal(3, 20, "economic")
    # GPUs live at month 10 (8 months late), aged 20 months at the horizon (month 30), term ending at
    # 34: 0.1^(20/24) of cost
    assert economic == pytest.approx(2e6 * 200 + 3e8 * 0.1 ** (20 / 24))
    assert terminal(6, 40, "economic") == economic
    assert terminal(3, 20, "book_value") != terminal(6, 40, "book_value")
    assert terminal(3, 20, "none") == 0


def test_value_bridge_of_a_prepaid_contract():
    # prepayment financing = the prepayment, its credits and the horizon liability, discounted;
    # terminal value = its discounted value; the rest is operations; they sum to the NPV
    inputs = small_contract(phases=((4, 0.5), (10, 0.5)), term=60, horizon=84, prepayment=0.2, gpu_capex=4e7,
                            facility_per_mw=1e5, construction_delay_months=20, prepayment_paid="before_delivery",
                            prepayment_months_before_delivery=2, prepayment_credit_start_month=25,
                            prepayment_tax="on_receipt", terminal_value="economic",
                            terminal_hall_value_usd_per_mw=1e5)
    f = flows(inputs)
    rate = finance.monthly_rate(0.12)
    bridge = finance.value_bridge(f.net, f.bridge_usd, rate)
    npv = finance.npv(rate, f.net)
    assert float(sum(bridge.values())[0]) == pytest.approx(float(npv[0]), abs=0.01)
    got = {k: np.asarray(v)[0] for k, v in f.items.items()}
    assert got["prepayment_unearned_usd"][-1] < 0  # a 20-month delay pushes credits past month 84
    cash = got["prepayment_usd"] + got["prepayment_credit_usd"] + got["prepayment_unearned_usd"]
    assert np.isclose(cash.sum(), 0.0, atol=1e-3)  # received = credited + owed
    assert float(bridge["terminal_value_usd"][0]) == pytest.approx(got["terminal_value_usd"][-1] / (1 + rate) ** 84)
    # net_only gives the same net and the same bridge when asked
    timeline = timeline_of(inputs)
    from pivotsim.simulate import market_paths
    market = market_paths(inputs, timeline, zero_shocks(timeline.horizon_months))
    lean = hosting_cash_flows(inputs, market, timeline, net_only=True, with_bridge=True)
    assert np.array_equal(lean.net, f.net)
    for name in f.bridge_usd:
        assert np.array_equal(np.broadcast_to(lean.bridge_usd[name], f.net.shape),
                              np.broadcast_to(f.bridge_usd[name], f.net.shape))


def test_rent_commencement_after_delivery():
    # the hall is delivered at month 6 (built in months 4-6), rent starts at month 8: invoiced 9..20;
    # 3 months late, rent starts at 11 (invoices 12..23) and the build keeps its schedule
    inputs = small_contract(phases=((6, 1.0),), facility_per_mw=1e6, delay_spending="committed")
    inputs.ai.phases[0].rent_commencement_month = 8
    got, _ = items(inputs)
    assert np.flatnonzero(got["revenue_usd"]).tolist() == list(range(9, 21))
    assert np.flatnonzero(got["capex_usd"]).tolist() == [4, 5, 6]
    inputs.ai.risks.construction_delay_months = 3
    late, _ = items(inputs)
    assert np.flatnonzero(late["revenue_usd"]).tolist() == list(range(12, 24))
    assert np.array_equal(late["capex_usd"], got["capex_usd"])


def test_financing_keeps_capex_and_taxable_income_with_net_only():
    inputs = small_contract(gpu_capex=3e8, facility_per_mw=1e6, prepayment=0.2, prepayment_tax="on_receipt",
                            tax_rate=0.21)
    timeline = timeline_of(inputs)
    from pivotsim.simulate import market_paths
    market = market_paths(inputs, timeline, zero_shocks(timeline.horizon_months))
    full = hosting_cash_flows(inputs, market, timeline)
    lean = hosting_cash_flows(inputs, market, timeline, net_only=True, financing=True)
    assert np.array_equal(lean.net, full.net)
    assert np.array_equal(lean.items["capex_usd"], full.items["capex_usd"])
    # the income taxed: the tax is 21% of its increase over the running maximum (no losses here)
    taxed = lean.quantities["taxable_income_usd"][0]
    assert np.allclose(-full.items["tax_usd"][0], finance.tax_with_loss_carryforward(taxed, 0.21))


def test_mining_economic_terminal_value_is_asics_at_resale():
    # IREN's fleet: 240 MW / PUE 1.05 of ASICs bought at t = 0 for $15 per TH/s at 15 J/TH ($1 per W),
    # refreshed at month 48 at the same price per watt as the 13.5 J/TH ASICs of t = 0 ($15/13.5 per W).
    # Economic value at month 84: each purchase x (1 - 21.7%)^(age in years), ages 7 and 3 years.
    data, _, _ = read_yaml(SCENARIOS / "iren.yaml")
    data = {k: v for k, v in data.items() if k != "correlations"}
    inputs = to_inputs(parse_scenario(data, file=str(SCENARIOS / "iren.yaml")))
    timeline = timeline_of(inputs)
    watts = 240e6 / 1.05
    expected = watts * 0.783 ** 7 + watts * 15 / 13.5 * 0.783 ** 3

    def terminal(mode, asic_years=4):
        inputs.finance.terminal_value = mode
        inputs.finance.depreciation.asic_years = asic_years
        out, _ = evaluate(inputs, timeline, zero_shocks(timeline.horizon_months))
        return float(np.asarray(out["bitcoin"].items["terminal_value_usd"])[0, -1])

    assert terminal("economic") == pytest.approx(expected, rel=1e-12)
    assert terminal("economic", asic_years=6) == terminal("economic")
    assert terminal("book_value", asic_years=6) != terminal("book_value")
    from pivotsim.models.mining import mining_terminal_value_usd
    inputs.finance.terminal_value = "economic"
    assert float(mining_terminal_value_usd(inputs, timeline)[0, -1]) == pytest.approx(expected, rel=1e-12)
