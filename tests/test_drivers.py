"""Contribution to variance from the Monte Carlo's own paths (pivotsim.drivers).

Every expected share has a closed form: for y = sum_i b_i x_i + e with
independent inputs, input i's share of Var(y) is b_i^2 Var(x_i) / Var(y)
(Saltelli et al. 2008, §1.2.5); for correlated inputs the Shapley (LMG)
shares are checked against their definition and their symmetry
(Grömping 2007); the two-input case is worked out by hand from its correlation matrix.
"""

import math

import numpy as np
import pytest

from pivotsim.drivers import MAX_PLAYERS, OTHER_INPUTS, shapley_r_squared, variance_drivers
from pivotsim.errors import PivotsimError


def _by_name(result):
    return {d.name: d for d in result.drivers}


def test_independent_linear_model_shares_are_squared_coefficients():
    rng = np.random.default_rng(1)
    n = 200_000
    a, b, c, e = rng.standard_normal((4, n))
    y = 3 * a + 2 * b + c + e          # Var(y) = 9 + 4 + 1 + 1 = 15
    res = variance_drivers({"a": a, "b": b, "c": c}, y)
    d = _by_name(res)
    # sampling error of a share ~ 1/sqrt(n) ~ 0.002
    assert d["a"].contribution == pytest.approx(9 / 15, abs=0.01)
    assert d["b"].contribution == pytest.approx(4 / 15, abs=0.01)
    assert d["c"].contribution == pytest.approx(1 / 15, abs=0.01)
    assert res.r_squared == pytest.approx(14 / 15, abs=0.005)
    assert res.unexplained == pytest.approx(1 / 15, abs=0.005)
    assert sum(x.contribution for x in res.drivers) == pytest.approx(res.r_squared, rel=1e-9)
    assert [x.name for x in res.drivers] == ["a", "b", "c"]
    # standardised coefficient = b_i sd(x_i) / sd(y)
    assert d["a"].coefficient == pytest.approx(3 / math.sqrt(15), abs=0.01)


def test_sign_of_coefficient_gives_direction():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((2, 50_000))
    res = variance_drivers({"up": a, "down": b}, a - 2 * b)
    d = _by_name(res)
    assert d["up"].coefficient > 0 > d["down"].coefficient
    assert d["down"].contribution == pytest.approx(4 / 5, abs=0.01)


def test_group_counts_as_one_player():
    rng = np.random.default_rng(3)
    m1, m2, z = rng.standard_normal((3, 100_000))
    y = m1 + m2 + 2 * z                 # Var = 1 + 1 + 4
    res = variance_drivers({"m1": m1, "m2": m2, "z": z}, y, groups={"market": ["m1", "m2"]},
                           labels={"market": "Market paths"})
    d = _by_name(res)
    assert set(d) == {"market", "z"}
    assert d["market"].contribution == pytest.approx(2 / 6, abs=0.01)
    assert d["market"].members == ("m1", "m2") and d["market"].is_group
    assert d["market"].label == "Market paths"
    assert math.isnan(d["market"].coefficient)
    assert d["z"].contribution == pytest.approx(4 / 6, abs=0.01)


def test_correlated_twins_share_equally_and_sum_to_r_squared():
    rng = np.random.default_rng(4)
    n = 100_000
    common = rng.standard_normal(n)
    x1 = common + 0.5 * rng.standard_normal(n)
    x2 = common + 0.5 * rng.standard_normal(n)
    y = x1 + x2
    res = variance_drivers({"x1": x1, "x2": x2}, y)
    d = _by_name(res)
    assert res.r_squared == pytest.approx(1.0, abs=1e-9)
    assert d["x1"].contribution == pytest.approx(0.5, abs=0.01)
    assert d["x2"].contribution == pytest.approx(0.5, abs=0.01)


def test_shapley_from_exact_correlation_matrix():
    # two inputs with correlation rho, y = x1 (exactly): R^2({1}) = 1, R^2({2}) = rho^2, R^2({1,2}) = 1,
    # so phi_1 = (1 + (1 - rho^2)) / 2, phi_2 = (rho^2 + 0) / 2
    rho = 0.6
    corr = np.array([[1, rho, 1], [rho, 1, rho], [1, rho, 1.0]])
    phi = shapley_r_squared(corr, [[0], [1]])
    assert phi[0] == pytest.approx((1 + 1 - rho ** 2) / 2)
    assert phi[1] == pytest.approx(rho ** 2 / 2)
    assert phi.sum() == pytest.approx(1.0)


def test_rank_method_sees_a_monotone_curve():
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((2, 50_000))
    y = np.exp(3 * a)                    # depends on a alone, strongly curved
    lin = variance_drivers({"a": a, "b": b}, y, method="regression")
    rank = variance_drivers({"a": a, "b": b}, y, method="rank")
    assert rank.r_squared == pytest.approx(1.0, abs=1e-6)
    assert _by_name(rank)["a"].contribution == pytest.approx(1.0, abs=1e-6)
    assert lin.r_squared < 0.5           # a linear fit misses most of exp(3a)


def test_fixed_and_non_finite_are_left_out():
    rng = np.random.default_rng(6)
    a = rng.standard_normal(1000)
    y = a.copy()
    y[:10] = np.nan
    res = variance_drivers({"a": a, "fixed": np.full(1000, 7.0)}, y)
    assert res.paths == 990
    assert [d.name for d in res.drivers] == ["a"]


def test_many_players_are_pooled():
    rng = np.random.default_rng(7)
    k = MAX_PLAYERS + 4
    cols = {f"x{i:02d}": rng.standard_normal(5_000) for i in range(k)}
    y = sum((k - i) * cols[f"x{i:02d}"] for i in range(k))
    res = variance_drivers(cols, y)
    assert len(res.drivers) == MAX_PLAYERS
    pooled = _by_name(res)[OTHER_INPUTS]
    assert len(pooled.members) == k - MAX_PLAYERS + 1
    assert sum(d.contribution for d in res.drivers) == pytest.approx(res.r_squared)


def test_bad_input_is_a_clear_error():
    with pytest.raises(PivotsimError, match="--method: 'sobol'"):
        variance_drivers({"a": np.ones(30)}, np.ones(30), method="sobol")
    with pytest.raises(PivotsimError, match="column a has 3 values"):
        variance_drivers({"a": np.ones(3)}, np.ones(30))
    with pytest.raises(PivotsimError, match="not a column"):
        variance_drivers({"a": np.ones(30)}, np.ones(30), groups={"g": ["b"]})
    with pytest.raises(PivotsimError, match="at least 20"):
        variance_drivers({"a": np.arange(5.0)}, np.arange(5.0))


def test_run_drivers_read_the_runs_own_draws_and_market():
    from pivotsim.runs import run

    result = run("scenarios/iren.yaml", paths=2000, seed=3)
    drivers = result.drivers()
    by = _by_name(drivers)
    assert {"market", "ai.gpu_residual_share", "ai.risks.capex_overrun_multiplier"} <= set(by)
    assert by["market"].members[0].startswith("market.") and by["market"].is_group
    # economics: a higher GPU resale value raises AI's NPV, a capex overrun lowers it
    assert by["ai.gpu_residual_share"].coefficient > 0 > by["ai.risks.capex_overrun_multiplier"].coefficient
    # every uncertain input is a player, and the market one group
    assert set(by) <= {"market", *(k[len("input."):] for k in result.metrics if k.startswith("input."))}
    assert sum(d.contribution for d in drivers.drivers) == pytest.approx(drivers.r_squared)
    summary = result.summary()["comparison"]["drivers"]
    assert "Market paths (BTC price, hashrate, fees, power)" in [d["label"] for d in summary["drivers"][:3]]
    assert summary["r_squared"] == pytest.approx(drivers.r_squared)
    assert result.drivers("rank").method == "rank"


def test_a_deal_with_no_uncertain_input_is_driven_by_the_market_alone():
    from pivotsim.runs import run

    # cipher_aws.yaml draws no input: every path differs by its market only
    drivers = run("cipher_aws.yaml", paths=2000, seed=3).drivers()
    assert [d.name for d in drivers.drivers] == ["market"]
    assert drivers.drivers[0].contribution == pytest.approx(drivers.r_squared)
    assert drivers.r_squared > 0.5
