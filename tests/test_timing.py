"""The switching option of a mining site (LSM): a deterministic optimum, the corners, bounds, determinism."""


import numpy as np
import pytest

import pivotsim
from pivotsim.analysis.timing import TimingOption, decision_months, value_timing
from pivotsim.models.conversion import ConversionTerms
from pivotsim.models.lease_market import LeaseIndex
from pivotsim.models.market import zero_shocks
from pivotsim.models.mining import mining_cash_flows
from pivotsim.inputs import to_inputs
from pivotsim.simulate import base_inputs, market_paths, timeline_of

HORIZON = 120
RATE = 0.12  # iren_mining.yaml's finance.discount_rate
TERMS = dict(conversion_capex_usd_per_mw=9e6, build_months=12, term_months=180, ai_pue=1.2,
             opex_usd_per_mw_year=215_000, asic_resale_usd_per_mw=300_000, asic_resale_decline_per_year=0.3,
             facility_years=20)


@pytest.fixture(scope="module")
def mining_inputs():
    inputs = to_inputs(pivotsim.load_scenario("scenarios/iren_mining.yaml"))
    inputs.scenario.horizon_months = HORIZON
    return inputs


def option(rent=130.0, volatility=0.0, drift=0.0, blocks=(1.0,), **terms):
    return TimingOption(terms=ConversionTerms(**{**TERMS, **terms}),
                        rent_index=LeaseIndex(start=rent, drift_per_year=drift, volatility_per_year=volatility),
                        blocks=blocks)


def brute_force_values(mining_usd_per_mw, rent, H=HORIZON, capex=9e6, B=12, T=180, pue=1.2, opex=215_000,
                       resale=300_000, decline=0.3, life=20, prepayment=0.0):
    """Value per grid MW of converting at each month d, month by month (independent of the model code)."""
    v = lambda t: (1 + RATE) ** (-t / 12)  # noqa: E731  ((1+r)^(1/12))^-t
    values = []
    for d in range(0, H - B):
        total = sum(mining_usd_per_mw[t] * v(t) for t in range(1, d + 1))
        total += resale * (1 - decline) ** (d / 12) * v(d)
        total -= sum(capex / pue / B * v(t) for t in range(d + 1, d + B + 1))
        start = d + B + 1
        total += sum(((1 - prepayment) * rent * 1000 / pue - opex / 12 / pue) * v(m)
                     for m in range(start, min(d + B + T, H) + 1))
        # prepayment: a share of the whole term's rent at signing, credited evenly; credits owed past H
        total += prepayment * rent * 1000 / pue * (T * v(d) - sum(v(H) for m in range(start, d + B + T + 1) if m > H))
        total += capex / pue * max(0.0, 1 - (H - (d + B)) / (12 * life)) * v(H)
        values.append(total)
    never = sum(mining_usd_per_mw[t] * v(t) for t in range(1, H + 1)) + resale * (1 - decline) ** (H / 12) * v(H)
    return np.array(values), never


def test_deterministic_case_finds_the_known_optimal_month(mining_inputs):
    # No volatility anywhere (the base case's market: hashprice falls on a known path through the
    # halving and the hashrate response) and a constant rent: the optimal month is the argmax of the
    # brute-force values, here an interior month; LSM must find exactly that month on every path.
    base = base_inputs(mining_inputs)
    timeline = timeline_of(base)
    market = market_paths(base, timeline, zero_shocks(HORIZON))
    items = mining_cash_flows(base, market, timeline).items
    mining = (items["revenue_usd"] + items["power_usd"] + items["opex_usd"] + items["capex_usd"])[0] / 810
    values, never = brute_force_values(mining, 130.0)
    best = int(np.argmax(values))
    assert 0 < best < len(values) - 1 and values[best] > never  # a real timing decision
    # the first month where converting beats waiting one more month
    assert best == next(d for d in range(len(values) - 1) if values[d] > values[d + 1])
    result = value_timing(base, option(130.0), paths=2000, seed=3)
    assert (result.per_path["conversion_month"][:, 0] == best).all()
    summary = result.summary()
    assert summary["value_optimal_usd"] == pytest.approx(810 * values[best], rel=1e-9)
    assert summary["value_mine_forever_usd"] == pytest.approx(810 * never, rel=1e-9)
    assert summary["value_convert_now_usd"] == pytest.approx(810 * values[0], rel=1e-9)


def test_prepayment_is_valued_month_by_month(mining_inputs):
    # 20% of the term's rent at signing, credited evenly (as ai.prepayment_share); the lease runs past the
    # 120-month horizon, so the credits still owed there are a liability (brute force above)
    base = base_inputs(mining_inputs)
    timeline = timeline_of(base)
    market = market_paths(base, timeline, zero_shocks(HORIZON))
    items = mining_cash_flows(base, market, timeline).items
    mining = (items["revenue_usd"] + items["power_usd"] + items["opex_usd"] + items["capex_usd"])[0] / 810
    values, _ = brute_force_values(mining, 130.0, prepayment=0.2)
    plain, _ = brute_force_values(mining, 130.0)
    assert values[0] > plain[0]  # an interest-free loan from the tenant is worth something at 12%
    s = value_timing(base, option(130.0, prepayment_share=0.2), paths=2000, seed=3).summary()
    assert s["value_convert_now_usd"] == pytest.approx(810 * values[0], rel=1e-9)


def test_corner_convert_now(mining_inputs):
    # A high rent falling much faster than mining margins, no build time: every path converts at t = 0
    # and the optimal value is the convert-now value to the last bit (no option value of waiting).
    result = value_timing(mining_inputs, option(rent=400.0, drift=-0.6, volatility=0.05, build_months=0),
                          paths=4000, seed=5)
    s = result.summary()
    assert (result.per_path["conversion_month"][:, 0] == 0).all()
    assert s["value_optimal_usd"] == s["value_convert_now_usd"] > s["value_mine_forever_usd"]
    assert s["option_value_of_waiting_usd"] == 0.0
    assert s["prob_convert_within_years"] == {"1": 1.0, "2": 1.0, "5": 1.0}


def test_corner_never_convert(mining_inputs):
    # Conversion capex far above any lease value: no path converts; the optimal value is mining
    # forever exactly, and waiting is worth mine-forever minus convert-now exactly.
    result = value_timing(mining_inputs, option(rent=130.0, volatility=0.3, conversion_capex_usd_per_mw=1e9),
                          paths=4000, seed=5)
    s = result.summary()
    assert np.isnan(result.per_path["conversion_month"]).all()
    assert s["value_optimal_usd"] == s["value_mine_forever_usd"]
    assert s["value_of_waiting_vs_convert_now_usd"] == s["value_mine_forever_usd"] - s["value_convert_now_usd"]
    assert s["option_value_of_waiting_usd"] == 0.0
    assert s["prob_convert_within_years"] == {"1": 0.0, "2": 0.0, "5": 0.0}


@pytest.fixture(scope="module")
def stochastic(mining_inputs):
    return value_timing(mining_inputs, option(rent=130.0, volatility=0.2, blocks=(0.5, 0.5)), paths=4000, seed=9,
                        chunk_paths=4000)


def test_optimal_is_never_below_either_static_policy(stochastic):
    s = stochastic.summary()
    se = s["value_optimal_se_usd"]
    assert s["value_optimal_usd"] >= s["value_mine_forever_usd"] - 3 * se
    assert s["value_optimal_usd"] >= s["value_convert_now_usd"] - 3 * se
    # the option is worth something here, and the in-sample value is not far from the pricing set's
    assert s["option_value_of_waiting_usd"] > 3 * s["option_value_of_waiting_se_usd"]
    assert abs(s["value_optimal_in_sample_usd"] - s["value_optimal_usd"]) < 6 * se


def test_blocks_are_decided_one_after_the_other(stochastic):
    months = stochastic.per_path["conversion_month"]
    both = np.isfinite(months[:, 1])
    assert both.any()
    assert (months[both, 1] > months[both, 0]).all()        # block 2 after block 1
    assert not (np.isnan(months[:, 0]) & both).any()         # never without block 1
    frame = stochastic.to_frame()
    assert list(frame.columns) == ["block_1", "block_2"]
    assert frame["block_1"].sum() == pytest.approx(np.isfinite(months[:, 0]).mean())


def test_same_seed_same_numbers_for_any_chunking_or_threads(mining_inputs, stochastic):
    other = value_timing(mining_inputs, option(rent=130.0, volatility=0.2, blocks=(0.5, 0.5)), paths=4000, seed=9,
                         chunk_paths=2000, threads=2)
    for name in stochastic.per_path:
        assert np.array_equal(stochastic.per_path[name], other.per_path[name], equal_nan=True), name
    assert stochastic.summary() == other.summary()
    assert stochastic.boundary.equals(other.boundary)


def test_value_of_converting_now_falls_with_a_longer_build(mining_inputs):
    # economics: the same lease starting later (capex spread later too) is worth less here
    now = [value_timing(mining_inputs, option(rent=130.0, build_months=b, conversion_capex_usd_per_mw=9e6),
                        paths=2000, seed=1).summary()["value_convert_now_usd"] for b in (0, 6, 18)]
    assert now[0] > now[1] > now[2]


def test_boundary_rises_with_hashprice(stochastic):
    # a richer mining state needs a higher rent to convert (checked on the first year with a spread)
    b = stochastic.boundary.dropna()
    year = b[b["year"] == 1]
    assert len(year) > 5
    assert year["rent_threshold_usd_per_kw_month"].iloc[-1] > year["rent_threshold_usd_per_kw_month"].iloc[0]


def test_bad_option_inputs_name_the_field(mining_inputs):
    with pytest.raises(ValueError, match="blocks: shares sum to 1.2"):
        option(blocks=(0.6, 0.6))
    with pytest.raises(ValueError, match="conversion_capex_usd_per_mw: -1.0 is not allowed"):
        option(conversion_capex_usd_per_mw=-1.0)
    with pytest.raises(ValueError, match="basis_order: 7 is not allowed"):
        TimingOption(terms=ConversionTerms(**TERMS), rent_index=LeaseIndex(start=100.0), basis_order=7)
    with pytest.raises(ValueError, match="build_months: 130 is not allowed"):
        decision_months(option(build_months=130), HORIZON)
