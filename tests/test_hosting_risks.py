"""AI deal risks (ai.risks) with hand-computed answers, and uncertain inputs in the engine."""

import math

import numpy as np
import pytest

import pivotsim
from pivotsim.models.hosting import default_month, hosting_cash_flows
from pivotsim.scenario import iter_quantities, parse_scenario, read_yaml
from pivotsim.inputs import to_inputs
from pivotsim.simulate import BLOCK_PATHS, base_case, evaluate, simulate_block, simulate_paths, timeline_of
from pivotsim.models.market import zero_shocks
from pivotsim.inputs import block_inputs, blocks_inputs, sample_inputs
from pivotsim.uncertainty import uncertain_inputs

from .conftest import SCENARIOS, without_deal_terms


def iren_data():
    data, _, _ = read_yaml(SCENARIOS / "iren.yaml")
    return data


def scenario_from(data, **ai_risks):
    data = {**data, "ai": {**data["ai"], "risks": {**data["ai"].get("risks", {}), **ai_risks}}}
    return parse_scenario(data, file=str(SCENARIOS / "iren.yaml"))


def without_distributions(data):
    """The scenario of a mapping with every distribution fixed at its base value."""
    data = {k: v for k, v in data.items() if k != "correlations"}
    scenario = parse_scenario(data, file=str(SCENARIOS / "iren.yaml"))
    return scenario.with_overrides([f"{p}={q.value!r}" for p, q in iter_quantities(scenario)
                                    if q.dist is not None])


def fixed_iren(plain_contract=False, **ai_risks):
    """IREN with every distribution replaced by its base value, plus the given risks.

    ``plain_contract``: without the deal terms of issue 14 (:func:`without_deal_terms`).
    """
    plain = without_distributions(iren_data()).model_dump(mode="python", exclude_none=True)
    if plain_contract:
        plain = without_deal_terms(plain)
    return scenario_from(plain, **ai_risks)


def flows_at(scenario, u):
    """Hosting cash flows at unit-hypercube points u (one market path, no noise)."""
    inputs = sample_inputs(scenario, u)
    timeline = timeline_of(inputs)
    flows, _ = evaluate(inputs, timeline, zero_shocks(timeline.horizon_months))
    return flows["ai"]


def colocation_scenario(**ai):
    """A small colocation deal: 1 tranche live at t = 0, 12-month term, $100k a month."""
    data = without_deal_terms(without_distributions(iren_data()).model_dump(mode="python", exclude_none=True))
    data["scenario"] = {**data["scenario"], "horizon_months": 24}
    data["ai"] = {
        "kind": "colocation", "annual_revenue_usd": 1.2e6, "term_months": 12, "prepayment_share": 0.25,
        "pue": 1.2, "phases": [{"online_month": 0, "share": 1}], "datacenter_capex_usd_per_mw": 0,
        "construction_months": 1, "opex_usd_per_mw_year": 0, "backstop_usd": 300_000, **ai}
    return parse_scenario(data)


def test_default_month_distribution_closed_form():
    # P(tau <= t) = 1 - (1 - h)^t, through the hosting model: with no re-lease
    # inside the term, revenue is zero from the default month on
    h = 0.01
    scenario = fixed_iren(default_hazard_per_month=h, release_months=100)
    assert list(uncertain_inputs(scenario)) == ["ai.risks.default_event"]
    n = 20_000
    u = np.random.default_rng(11).random((n, 1))
    revenue = np.asarray(flows_at(scenario, u).items["revenue_usd"])
    for t in (14, 30, 50, 64):  # all four tranches live (last from month 14), first ends at 64
        share = np.mean(revenue[:, t] == 0)
        p = 1 - (1 - h) ** t
        assert abs(share - p) < 3 * math.sqrt(p * (1 - p) / n), (t, share, p)


def test_default_month_edges():
    assert default_month(0.0, 0.3) == np.inf
    assert default_month(1.0, 0.3) == 1.0
    # u = 1 - 0.9^4.5: log(1-u)/log(0.9) = 4.5 -> month 5
    assert default_month(0.1, 1 - 0.9 ** 4.5) == 5.0


def test_backstop_recovery_release_hand_computed():
    scenario = colocation_scenario(risks={
        "default_hazard_per_month": 0.1, "default_recovery_share": 0.5, "default_recovery_months": 3,
        "release_months": 2, "release_price_share": 0.8})
    u = np.array([[1 - 0.9 ** 4.5]])  # default in month 5
    f = flows_at(scenario, u)
    items = {k: np.asarray(v)[0] for k, v in f.items.items()}
    # invoices $100k in months 1-4, vacant 5-6, re-leased at 80% in 7-12
    expected_revenue = np.zeros(25)
    expected_revenue[1:5] = 100_000
    expected_revenue[7:13] = 80_000
    assert np.allclose(items["revenue_usd"], expected_revenue)
    # prepayment 25% of $1.2M at t = 0, credited at 25% of each original invoice
    assert items["prepayment_usd"][0] == pytest.approx(300_000)
    assert np.allclose(-items["prepayment_credit_usd"][1:5], 25_000)
    assert np.allclose(items["prepayment_credit_usd"][5:], 0)
    # claim: 8 unpaid months x $100k x (1 - 25%) = $600k; backstop min(300k, 600k) in month 5;
    # recovery 50% of the remaining $300k = $150k three months later (month 8)
    assert items["default_backstop_usd"][5] == pytest.approx(300_000)
    assert items["default_backstop_usd"].sum() == pytest.approx(300_000)
    assert items["default_recovery_usd"][8] == pytest.approx(150_000)
    assert items["default_recovery_usd"].sum() == pytest.approx(150_000)
    # no default: the plain contract
    f0 = flows_at(scenario, np.array([[0.999999]]))  # tau = ceil(log(1e-6)/log(0.9)) = 132 > horizon
    assert np.asarray(f0.items["revenue_usd"])[0].sum() == pytest.approx(1.2e6)
    assert np.asarray(f0.items["default_backstop_usd"]).sum() == 0


def test_backstop_caps_and_escalator_claim():
    # escalator 10%: lease months 0-11 at 100k, 12-23 at 110k.  Default in month 5 on a 24-month
    # term: unpaid = 8 x 100k + 12 x 110k = 2.12M; claim 75% = 1.59M; backstop 300k caps it.
    scenario = colocation_scenario(term_months=24, rent_escalator_per_year=0.1, risks={
        "default_hazard_per_month": 0.1, "default_recovery_share": 0.0})
    scenario = scenario.with_overrides(["scenario.horizon_months=30"])
    f = flows_at(scenario, np.array([[1 - 0.9 ** 4.5]]))
    assert np.asarray(f.items["default_backstop_usd"]).sum() == pytest.approx(300_000)
    scenario = scenario.with_overrides(["ai.backstop_usd=5e6"])
    f = flows_at(scenario, np.array([[1 - 0.9 ** 4.5]]))
    assert np.asarray(f.items["default_backstop_usd"]).sum() == pytest.approx(0.75 * (8 * 100e3 + 12 * 110e3))


def test_construction_delay_shifts_first_revenue_month_exactly():
    base = fixed_iren()
    revenue0 = np.asarray(flows_at(base, np.empty((1, 0))).items["revenue_usd"])[0]
    first0 = int(np.argmax(revenue0 > 0))
    assert first0 == 5  # Horizon 1 goes live at the end of month 4 and invoices month 5
    for d in (1, 3, 5):  # within iren.yaml's 6-month long-stop: no cancellation
        f = flows_at(fixed_iren(construction_delay_months=d), np.empty((1, 0)))
        revenue = np.asarray(f.items["revenue_usd"])[0]
        assert int(np.argmax(revenue > 0)) == first0 + d
        # the whole ramp moves: the revenue series is the base one shifted by d
        assert np.allclose(revenue[d:d + 60], revenue0[:60])
        capex = np.asarray(f.items["capex_usd"])[0]
        capex0 = np.asarray(flows_at(base, np.empty((1, 0))).items["capex_usd"])[0]
        # committed spending (iren.yaml): the build and the Dell order keep their schedule
        assert np.array_equal(capex, capex0)
        moved = flows_at(fixed_iren(construction_delay_months=d, delay_spending="moves"), np.empty((1, 0)))
        capex_moved = np.asarray(moved.items["capex_usd"])[0]
        assert capex_moved.sum() == pytest.approx(capex0.sum())  # same spend, later
        # the last payment (Horizon 4's GPUs and build, month 13 on time) moves by the delay
        assert np.flatnonzero(capex_moved)[-1] == np.flatnonzero(capex0)[-1] + d
    # per path: a distribution of delays, each path shifted by its own draw
    scenario = fixed_iren(construction_delay_months={"dist": "discrete", "values": [0, 2, 5],
                                                     "probs": [0.2, 0.5, 0.3]})
    u = np.random.default_rng(2).random((300, 1))
    inputs = sample_inputs(scenario, u)
    delays = inputs.ai.risks.construction_delay_months[:, 0]
    revenue = np.asarray(flows_at(scenario, u).items["revenue_usd"])
    assert set(np.unique(delays)) == {0.0, 2.0, 5.0}
    assert np.array_equal(np.argmax(revenue > 0, axis=1), first0 + delays)


def test_delay_past_horizon_counts_book_value():
    # a 20-month delay pushes the last tranche's term past the 84-month horizon: those months
    # are not counted and the GPUs still owned at the horizon are valued at book value
    f = flows_at(fixed_iren(plain_contract=True, construction_delay_months=20), np.empty((1, 0)))
    items = {k: np.asarray(v)[0] for k, v in f.items.items()}
    months_live = (items["revenue_usd"] > 0).sum()
    assert months_live < 13 + 60
    gpu = 0.25 * 5.8e9
    # tranches live at 24, 27, 30, 33; only the first term (to 84) ends inside the horizon and is
    # resold.  The others are depreciated from g + 1 over 60 months: book at 84 = (g - 24)/60 of cost
    assert items["gpu_residual_usd"].sum() == pytest.approx(gpu * 0.15)
    gpu_book = gpu * (3 + 6 + 9) / 60
    facility_book = items["terminal_value_usd"][-1] - gpu_book
    # facility: 0.5 B$ per hall spent evenly in months g-8..g, each month's spend depreciated from
    # the next month over 20 years (240 months): book at 84 = sum of spend x (1 - (84 - s)/240)
    per_month = 0.25 * 2e9 / 9
    expected = sum(per_month * (1 - (84 - s) / 240) for g in (24, 27, 30, 33) for s in range(g - 8, g + 1))
    assert facility_book == pytest.approx(expected, rel=1e-9)


def test_capex_overrun_scales_facility_capex():
    base = np.asarray(flows_at(fixed_iren(), np.empty((1, 0))).items["capex_usd"]).sum()
    over = np.asarray(flows_at(fixed_iren(capex_overrun_multiplier=1.25), np.empty((1, 0))).items["capex_usd"]).sum()
    # facility 10 M$/MW x 200 MW = 2 B$; 25% overrun adds 0.5 B$ (GPU order unchanged)
    assert base - over == pytest.approx(0.25 * 2e9)


def test_renewal_and_gpu_age():
    # renewal for sure, 60 more months at 50% of the price, GPUs 20%/yr cheaper with age:
    # renewal invoices = 0.5 x 0.8^5 x ARR/12 per month of a tranche
    s = fixed_iren(renewal_probability=1.0, renewal_price_share=0.5, gpu_value_decline_per_year=0.2)
    s = s.with_overrides(["scenario.horizon_months=140"])
    f = flows_at(s, np.empty((1, 0)))
    revenue = np.asarray(f.items["revenue_usd"])[0]
    arr = 9.7e9 / 5
    assert revenue[66] == pytest.approx(0.5 * 0.8 ** 5 * arr / 12 * 0.25 + 3 * 0.25 * arr / 12)
    # GPUs of tranche 1 sold at the end of the renewal (month 4 + 120 = 124): 15% x 0.8^5 of cost
    assert np.asarray(f.items["gpu_residual_usd"])[0][124] == pytest.approx(0.25 * 5.8e9 * 0.15 * 0.8 ** 5)
    # with probability 0.3 the renewal happens on ~30% of paths (event draw below 0.3)
    s = fixed_iren(renewal_probability=0.3)
    u = np.random.default_rng(3).random((4000, 1))
    renewed = np.asarray(flows_at(s, u).items["revenue_usd"])[:, 75] > 0  # all original terms over by 73
    assert np.array_equal(renewed, u[:, 0] < 0.3)


def test_base_case_uses_base_values():
    scenario = pivotsim.load_scenario(SCENARIOS / "iren.yaml")
    assert uncertain_inputs(scenario), "iren.yaml carries distributions"
    flows, _ = base_case(to_inputs(scenario))
    fixed = without_distributions(iren_data())
    assert uncertain_inputs(fixed) == {}
    flows_fixed, _ = base_case(to_inputs(fixed))
    for business in ("bitcoin", "ai"):
        assert np.array_equal(flows[business].net, flows_fixed[business].net)


def test_chunk_invariance_with_uncertain_inputs():
    scenario = pivotsim.load_scenario(SCENARIOS / "iren.yaml").with_overrides(["sampling=lhs"])
    inputs = to_inputs(scenario)
    n = 2 * BLOCK_PATHS + 500
    together = simulate_paths(inputs, n, seed=9)
    # blocks computed one at a time, in reverse order, as separate workers would
    parts = {k: simulate_block(inputs, 9, k) for k in (2, 1, 0)}
    for name, values in together.items():
        joined = np.concatenate([parts[k][name] for k in (0, 1, 2)])[:n]
        assert np.array_equal(values, joined, equal_nan=True), name
    # a memory chunk of several blocks gets the concatenation of each block's own draws
    chunk, draws = blocks_inputs(inputs, 9, [1, 2], BLOCK_PATHS)
    for path, values in draws.items():
        assert np.array_equal(values, np.concatenate([block_inputs(inputs, 9, k, BLOCK_PATHS)[1][path]
                                                      for k in (1, 2)]))
    # prefix stability: the first paths do not depend on the total
    fewer = simulate_paths(inputs, BLOCK_PATHS + 10, seed=9)
    assert all(np.array_equal(v, together[k][:BLOCK_PATHS + 10], equal_nan=True) for k, v in fewer.items())


def test_uncertain_ai_input_leaves_market_paths_unchanged():
    # common random numbers: the bitcoin NPV of every path is unchanged when an AI input
    # becomes uncertain (its draws come from a stream independent of the market shocks)
    scenario = fixed_iren()
    with_dist = scenario.with_overrides(
        ["ai.gpu_residual_share={dist: uniform, low: 0.05, high: 0.3}"])
    a = simulate_block(to_inputs(scenario), 4, 0)
    b = simulate_block(to_inputs(with_dist), 4, 0)
    assert np.array_equal(a["bitcoin_npv_usd"], b["bitcoin_npv_usd"])
    assert not np.array_equal(a["ai_npv_usd"], b["ai_npv_usd"])


def test_correlations_applied_in_blocks():
    from scipy.stats import spearmanr

    scenario = pivotsim.load_scenario(SCENARIOS / "iren.yaml")
    inputs = to_inputs(scenario)
    spec = inputs.uncertainty
    assert spec.correlated, "iren.yaml sets a correlation"
    _, draws = block_inputs(inputs, 1, 0, BLOCK_PATHS)
    (a, b), rho = spec.correlated, spec.rank_correlation[0, 1]
    achieved = spearmanr(draws[a], draws[b]).statistic
    # one block of 2000 paths: the reordered ranks carry the target up to sampling noise
    assert abs(achieved - rho) < 0.05


def every_distributable(scenario):
    """Overrides turning each number that accepts a distribution into a two-point one."""
    out = []
    for path, q in iter_quantities(scenario):
        v = q.value
        values = [v, v + 1] if q.whole or path.endswith("_months") else [v, 0.99 * v]
        trial = f"{path}={{dist: discrete, values: [{values[0]!r}, {values[1]!r}], probs: [0.5, 0.5]}}"
        try:
            scenario.with_overrides([trial])
        except pivotsim.ScenarioError as exc:
            # refused: a fixed number, whole months, or a field this scenario's framing does not use
            assert any(f in str(exc) for f in ("not allowed here", "whole", "gpu_cloud only", "existing only")), \
                str(exc)
            continue
        out.append(trial)
    return out


def iren_without_debt():
    """IREN's deal at base values without its project debt (whose draw schedule is no number to draw)."""
    plain = without_distributions(iren_data()).model_dump(mode="python", exclude_none=True)
    plain["ai"].pop("debt", None)
    return scenario_from(plain)


@pytest.mark.parametrize("make", [iren_without_debt, lambda: colocation_scenario(rent_escalator_per_year=0.03)])
def test_every_uncertain_field_broadcasts_through_the_engine(make):
    scenario = make()
    overrides = every_distributable(scenario)
    assert len(overrides) > 20
    uncertain = scenario.with_overrides(overrides)
    out = simulate_block(to_inputs(uncertain), 1, 0)
    for name in ("bitcoin_npv_usd", "ai_npv_usd"):
        assert out[name].shape == (BLOCK_PATHS,) and np.all(np.isfinite(out[name]))
        assert np.unique(out[name]).size > 16  # inputs vary per path (2-point draws of many inputs)


def test_prepayment_not_yet_credited_at_horizon_is_a_liability(iren_path):
    """A delay that pushes contract months past the horizon cannot keep their prepaid cash.

    Closed form: the liability at the horizon equals prepayment (20% x $9.7B) minus the
    credits booked inside the horizon; with no delay every credit is inside (liability 0).
    """
    import pivotsim

    scenario = pivotsim.load_scenario(iren_path)
    on_time = pivotsim.run(scenario, paths=1).cashflows()
    on_time = on_time[on_time.business == "ai"]
    assert on_time.prepayment_unearned_usd.sum() == 0.0
    late = pivotsim.run(scenario, paths=1, overrides=["ai.risks.construction_delay_months=24",
                                                      "ai.risks.termination_probability=0"]).cashflows()
    late = late[late.business == "ai"]
    credited = -late.prepayment_credit_usd.sum()
    assert credited < 0.2 * 9.7e9  # some tranches now end after month 84
    assert late.prepayment_unearned_usd.iloc[-1] == pytest.approx(-(0.2 * 9.7e9 - credited))
    assert late.prepayment_unearned_usd.iloc[:-1].eq(0).all()
