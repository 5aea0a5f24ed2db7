"""The compiled hosting model against the numpy code it replaced, on random per-path inputs.

Expected values: ``tests/hosting_reference.py``, a frozen copy of
``hosting_cash_flows`` as it was before the kernel (numpy masks per tranche),
evaluated on the same inputs.  Every path gets its own draws of the risk and
deal inputs, chosen so that each branch of the model is taken by some paths
(checked in ``assert_branches_taken``): no default possible / default inside
the term, during and after the vacancy / default after the term or the
horizon, renewal or not, GPU age decline, rent escalator, fractional and
whole delays, tranches pushed past the horizon, power passed through or
not, terminal value or none, prepayment fixed or per path.
"""

import numpy as np
import pytest

from pivotsim import compiled
from pivotsim.models.hosting import default_month, hosting_cash_flows
from pivotsim.models.market import MarketPaths
from pivotsim.scenario import iter_quantities, parse_scenario, read_yaml
from pivotsim.inputs import to_inputs
from pivotsim.simulate import timeline_of
from pivotsim.inputs import substitute

from .conftest import SCENARIOS, without_deal_terms
from .hosting_reference import reference_hosting_cash_flows

N_PATHS = 600


def fixed(data):
    """The scenario of a mapping with every distribution fixed at its base value."""
    data = {k: v for k, v in data.items() if k != "correlations"}
    scenario = parse_scenario(data, file=str(SCENARIOS / "iren.yaml"))
    return scenario.with_overrides([f"{p}={q.value!r}" for p, q in iter_quantities(scenario)
                                    if q.dist is not None])


def gpu_cloud_inputs(horizon=100, terminal="book_value", gpu_years=5):
    """IREN (4 tranches, 60-month term) with a 24-month renewal term, base values, as the reference knew it."""
    data, _, _ = read_yaml(SCENARIOS / "iren.yaml")
    data = without_deal_terms(fixed(data).model_dump(mode="python", exclude_none=True))
    data["scenario"] = {**data["scenario"], "horizon_months": horizon}
    data["ai"]["risks"] = {**data["ai"].get("risks", {}), "renewal_term_months": 24}
    data["finance"] = {**data["finance"], "terminal_value": terminal,
                       "depreciation": {**data["finance"]["depreciation"], "gpu_years": gpu_years}}
    return to_inputs(parse_scenario(data))


def colocation_inputs(pass_through, terminal="book_value"):
    """A 3-tranche, 24-month colocation lease with a 12-month renewal term, 48-month horizon."""
    data, _, _ = read_yaml(SCENARIOS / "iren.yaml")
    data = without_deal_terms(fixed(data).model_dump(mode="python", exclude_none=True))
    data["scenario"] = {**data["scenario"], "horizon_months": 48}
    data["ai"] = {
        "kind": "colocation", "annual_revenue_usd": 1.2e8, "term_months": 24, "prepayment_share": 0.1,
        "pue": 1.25, "phases": [{"online_month": 0, "share": 0.5}, {"online_month": 3, "share": 0.3},
                                {"online_month": 20, "share": 0.2}],
        "datacenter_capex_usd_per_mw": 9e6, "construction_months": 6, "opex_usd_per_mw_year": 2e5,
        "tenant_funded_capex_usd": 2e8, "backstop_usd": 3e6, "power_pass_through": pass_through,
        "risks": {"renewal_term_months": 12, "delay_spending": "moves"}}
    data["finance"] = {**data["finance"], "terminal_value": terminal}
    return to_inputs(parse_scenario(data))


def risk_draws(rng, n, *, gpu_cloud):
    """Per-path values of every risk and deal input (dotted path -> (n,))."""
    whole = rng.random(n) < 0.5
    delay = rng.uniform(0, 100 if gpu_cloud else 40, n)  # up to past the horizon
    hazard = np.where(np.arange(n) < n // 3, 0.0, rng.uniform(0.005, 0.2, n))  # first third: no default
    draws = {
        "ai.risks.construction_delay_months": np.where(whole, np.round(delay), delay),
        "ai.risks.default_hazard_per_month": hazard,
        "ai.risks.default_event": rng.random(n),
        "ai.risks.release_months": np.where(whole, rng.integers(0, 9, n), rng.uniform(0, 8, n)),
        "ai.risks.uncontracted_utilisation": rng.random(n),
        "ai.risks.release_price_share": rng.uniform(0.3, 1.2, n),
        "ai.risks.default_recovery_share": rng.random(n),
        "ai.risks.default_recovery_months": rng.integers(0, 25, n).astype(float),
        "ai.risks.renewal_probability": np.full(n, 0.5),
        "ai.risks.renewal_event": rng.random(n),
        "ai.risks.renewal_price_share": rng.uniform(0.3, 1.0, n),
        "ai.risks.capex_overrun_multiplier": rng.uniform(0.9, 1.5, n),
        "ai.prepayment_share": rng.uniform(0.0, 0.3, n),
        "ai.pue": rng.uniform(1.1, 1.4, n),
        "ai.it_load_factor": rng.uniform(0.6, 1.0, n),
        "ai.opex_usd_per_mw_year": rng.uniform(1e5, 6e5, n),
        "finance.tax_rate": rng.uniform(0.1, 0.3, n),
        "site.grid_power_mw": rng.uniform(100, 300, n),
    }
    if gpu_cloud:
        draws.update({"ai.risks.gpu_value_decline_per_year": np.where(rng.random(n) < 0.2, 0.0,
                                                                      rng.uniform(0, 0.4, n)),
                      "ai.gpu_residual_share": rng.uniform(0.03, 0.35, n),
                      "ai.contract_value_usd": rng.uniform(5e9, 1.2e10, n)})
    else:
        draws.update({"ai.rent_escalator_per_year": np.where(rng.random(n) < 0.2, 0.0,
                                                             rng.uniform(-0.05, 0.1, n)),
                      "ai.backstop_usd": rng.uniform(0, 2e7, n)})
    return draws


def random_market(timeline, rows, rng):
    """Market paths where only the power price matters: lognormal prices [USD/kWh], ``rows`` paths."""
    shape = (rows, timeline.n_periods)
    zeros = np.zeros(shape)
    return MarketPaths(btc_price_usd=zeros, network_hashrate_eh_s=zeros, fees_btc_per_block=zeros,
                       power_price_usd_per_kwh=0.035 * np.exp(rng.normal(0, 0.2, shape)), blocks=zeros,
                       block_height=zeros, subsidy_btc_per_block=zeros)


def assert_same_flows(new, old):
    """Every item, quantity and the net of ``new`` equal those of ``old`` to 1e-12.

    Relative to each array's largest value: the kernel's powers (escalator,
    GPU age) may differ from numpy's in the last bit, and ebitda, taxable
    income and net are differences of numbers up to ~1e10, so cells that
    cancel to ~0 can only be compared on that scale.
    """
    # items the reference does not know (deal terms added later) are zero without those terms
    assert [k for k in new.items if k in old.items] == list(old.items)
    for k in set(new.items) - set(old.items):
        assert not np.any(new.items[k]), k
    assert list(new.quantities) == list(old.quantities)
    pairs = [*((f"items.{k}", new.items[k], old.items[k]) for k in old.items),
             *((f"quantities.{k}", new.quantities[k], old.quantities[k]) for k in old.quantities),
             ("net", new.net, old.net)]
    for name, x, y in pairs:
        x, y = np.asarray(x), np.asarray(y)
        assert x.shape == y.shape, name
        scale = max(float(np.max(np.abs(y))), 1.0)
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12 * scale, err_msg=name)


def assert_branches_taken(flows, inputs, horizon):
    """The random inputs reach every branch the comparison is meant to cover."""
    tau = default_month(inputs.ai.risks.default_hazard_per_month, inputs.ai.risks.default_event)
    assert np.any(inputs.ai.risks.default_hazard_per_month == 0)
    if inputs.ai.kind == "colocation":  # only a colocation lease has a backstop and an escalator
        assert np.any(np.asarray(flows.items["default_backstop_usd"]) > 0)
        assert np.any(inputs.ai.rent_escalator_per_year > 0) and np.any(inputs.ai.rent_escalator_per_year < 0)
    else:
        assert np.any(inputs.ai.risks.gpu_value_decline_per_year > 0)
    assert np.any(np.asarray(flows.items["default_recovery_usd"]) > 0)
    assert np.any(tau > horizon) and np.any(tau < 10)
    renewed = inputs.ai.risks.renewal_event < inputs.ai.risks.renewal_probability
    assert np.any(renewed) and np.any(~renewed)
    delay = inputs.ai.risks.construction_delay_months
    assert np.any(delay != np.round(delay)) and np.any(delay == np.round(delay))
    assert np.any(np.asarray(flows.items["prepayment_unearned_usd"])[:, -1] < 0)  # tranches past the horizon
    golive = np.array([p.online_month for p in inputs.ai.phases]) + delay
    assert np.any(golive == horizon) and np.any(golive > horizon)


def compare_random_paths(base, seed):
    """New against reference flows of ``base`` with every risk input drawn per path; the new flows."""
    rng = np.random.default_rng(seed)
    inputs = substitute(base, risk_draws(rng, N_PATHS, gpu_cloud=base.ai.kind == "gpu_cloud"))
    timeline = timeline_of(inputs)
    market = random_market(timeline, N_PATHS, rng)
    new = hosting_cash_flows(inputs, market, timeline)
    assert_same_flows(new, reference_hosting_cash_flows(inputs, market, timeline))
    assert_branches_taken(new, inputs, timeline.n_periods - 1)
    return new


@pytest.mark.parametrize("terminal, gpu_years", [("book_value", 5), ("book_value", 4), ("book_value", 7),
                                                 ("none", 5)])
def test_gpu_cloud_matches_numpy_reference(terminal, gpu_years):
    # GPU accounting life equal to, shorter or longer than the 60-month term
    new = compare_random_paths(gpu_cloud_inputs(terminal=terminal, gpu_years=gpu_years), seed=41)
    assert np.any(np.asarray(new.items["gpu_residual_usd"]) > 0)


@pytest.mark.parametrize("pass_through", [True, False])
@pytest.mark.parametrize("terminal", ["book_value", "none"])
def test_colocation_matches_numpy_reference(pass_through, terminal):
    base = colocation_inputs(pass_through, terminal)
    assert base.ai.term_months > 12  # the escalator applies from lease month 12
    compare_random_paths(base, seed=43)


@pytest.mark.parametrize("make", [gpu_cloud_inputs, lambda: colocation_inputs(False)],
                         ids=["gpu_cloud", "colocation"])
def test_base_case_and_plain_contract_match_numpy_reference(make):
    # one path with base values (all inputs scalar), then many paths that
    # differ only in the market and delay: no default, no renewal
    base = make()
    timeline = timeline_of(base)
    rng = np.random.default_rng(47)
    for inputs, rows in ((base, 1),
                         (substitute(base, {"ai.risks.construction_delay_months": rng.integers(0, 9, 50)}), 50)):
        market = random_market(timeline, rows, rng)
        new = hosting_cash_flows(inputs, market, timeline)
        assert_same_flows(new, reference_hosting_cash_flows(inputs, market, timeline))


def test_each_path_depends_on_its_own_inputs_only(monkeypatch):
    # the same paths evaluated together, in two chunks, with the default
    # paths alone (no path of the chunk can default vs some can), and in
    # passes of 64 paths: identical bits
    rng = np.random.default_rng(53)
    draws = risk_draws(rng, 300, gpu_cloud=True)
    base = gpu_cloud_inputs()
    timeline = timeline_of(base)
    market = random_market(timeline, 300, rng)

    def flows(rows):
        sub = substitute(base, {k: v[rows] for k, v in draws.items()})
        part = MarketPaths(**{f: getattr(market, f)[rows] for f in
                              ("btc_price_usd", "network_hashrate_eh_s", "fees_btc_per_block",
                               "power_price_usd_per_kwh", "blocks", "block_height", "subsidy_btc_per_block")})
        return hosting_cash_flows(sub, part, timeline)

    together = flows(np.arange(300))
    no_default = np.arange(100)  # hazard 0 on the first third
    for rows in (no_default, np.arange(100, 300), np.arange(250, 300)):
        part = flows(rows)
        for name in together.items:
            assert np.array_equal(np.asarray(part.items[name]), np.asarray(together.items[name])[rows]), name
        for name in together.quantities:
            assert np.array_equal(part.quantities[name], together.quantities[name][rows]), name
        assert np.array_equal(part.net, together.net[rows])
    monkeypatch.setattr(compiled, "ROWS_PER_PASS", 64)
    passes = flows(np.arange(300))
    for kind in ("items", "quantities"):
        for name, values in getattr(together, kind).items():
            assert np.array_equal(np.asarray(getattr(passes, kind)[name]), np.asarray(values)), name
    assert np.array_equal(passes.net, together.net)


@pytest.mark.parametrize("make", [gpu_cloud_inputs, lambda: colocation_inputs(False)],
                         ids=["gpu_cloud", "colocation"])
def test_net_only_gives_the_same_net(make):
    rng = np.random.default_rng(59)
    base = make()
    inputs = substitute(base, risk_draws(rng, 200, gpu_cloud=base.ai.kind == "gpu_cloud"))
    timeline = timeline_of(inputs)
    market = random_market(timeline, 200, rng)
    full = hosting_cash_flows(inputs, market, timeline)
    net_only = hosting_cash_flows(inputs, market, timeline, net_only=True)
    assert net_only.items == {} and net_only.quantities == {}
    assert np.array_equal(net_only.net, full.net)
    # and the net is the sum of the items (a different order of additions: to rounding)
    total = sum(np.asarray(v) for v in full.items.values())
    np.testing.assert_allclose(full.net, total, rtol=0, atol=1e-12 * float(np.max(np.abs(total))))
