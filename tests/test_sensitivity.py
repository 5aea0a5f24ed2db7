"""Sweeps, tornado/spider, Sobol'/Morris and break-even (pivotsim.analysis: metrics, parameters,
crn, sweep, tornado, global_indices, breakeven; folders in pivotsim.output).

Expected numbers come from: the plain run at the same point (`pivotsim run
--set`, same seed), closed forms (a linear model's Morris effects, the
present value of a contract's revenue with numpy-financial), the published
Ishigami indices (Ishigami & Homma 1990; SALib's own reference values), and
the definition of common random numbers (a metric that does not read a
parameter cannot move when it is swept).
"""

import json
import os
import math

import numpy as np
import numpy_financial as npf
import pandas as pd
import pytest
from typer.testing import CliRunner

import pivotsim
from pivotsim.analysis.breakeven import breakeven
from pivotsim.analysis.crn import CrnEngine
from pivotsim.analysis.global_indices import global_indices, sensitivity
from pivotsim.analysis.metrics import METRICS, parse_metric
from pivotsim.analysis.parameters import parse_axis
from pivotsim.analysis.sweep import sweep
from pivotsim.analysis.tornado import Factor, UniformFactor
from pivotsim.cli import app
from pivotsim.errors import PivotsimError
from pivotsim.inputs import to_inputs
from pivotsim.output.sensitivity_folders import write_result
from pivotsim.simulate import VALUATION_METRICS, simulate_paths
from .conftest import forked_children

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


# ---------------------------------------------------------------- metrics and parameters

def test_metric_paths_are_validated():
    assert parse_metric("comparison.npv_difference_usd").kind == "distribution"
    assert parse_metric("ai.monte_carlo.npv_usd.p50").stat == "p50"
    assert parse_metric("bitcoin.base.npv_usd").kind == "base"
    assert parse_metric("comparison.prob_ai_beats_bitcoin").kind == "probability"
    assert "comparison.base.npv_difference_usd" in METRICS
    with pytest.raises(PivotsimError, match="did you mean 'bitcoin.base.npv_usd'"):
        parse_metric("bitcoin.base.npv_us")
    with pytest.raises(PivotsimError, match="not allowed"):
        parse_metric("bitcoin.base.npv_usd.p50")  # a base value has no percentiles


def test_axis_specs():
    path, values = parse_axis("market.btc_price_usd=40000:200000:5")
    assert path == "market.btc_price_usd" and list(values) == [40000, 80000, 120000, 160000, 200000]
    assert list(parse_axis("ai.prepayment_share=10%,20%,30%")[1]) == pytest.approx([0.1, 0.2, 0.3])


# ---------------------------------------------------------------- common random numbers, exactness

def test_engine_matches_the_monte_carlo_engine(iren):
    """Every per-path metric of the sweep engine equals simulate_paths', block cut included."""
    paths, seed = 2_100, 11  # two blocks, the second cut
    engine = CrnEngine(iren, ["ai.gpu_capex_usd"], paths=paths, seed=seed,
                       path_metrics={b: VALUATION_METRICS for b in ("bitcoin", "ai")}, base=False)
    point = engine.evaluate({"ai.gpu_capex_usd": 5.8e9})
    reference = simulate_paths(to_inputs(iren), paths, seed)
    # the Monte Carlo also keeps each path's market summary (market.*, for the drivers of the NPV
    # difference) and the equity and debt metrics; the sweep engine keeps the valuation metrics asked
    valuation = {f"{b}_{m}": reference[f"{b}_{m}"] for b in ("bitcoin", "ai") for m in VALUATION_METRICS}
    assert set(valuation) <= set(point.paths) <= set(reference)
    for name, values in valuation.items():
        np.testing.assert_array_equal(point.paths[name], values, err_msg=name)


def test_sweep_point_equals_run_set_to_the_last_digit(iren_path, tmp_path):
    # Two parameters, one read by the market and one only by the AI model:
    # the grid reuses market paths and mining valuations, and must still
    # give exactly what a plain `run --set` gives at each point.
    prices, capex = [70_000.0, 130_000.0], [5.0e9, 6.5e9]
    result = pivotsim.sweep(iren_path, {"ai.gpu_capex_usd": capex, "market.btc_price_usd": prices},
                            ["comparison.npv_difference_usd", "bitcoin.monte_carlo.npv_usd.p50",
                             "ai.base.npv_usd", "comparison.base.npv_difference_usd"], paths=300, seed=3)
    assert result.computed["market"] == 2 and result.computed["bitcoin"] == 2  # reused across capex
    frame = result.to_frame()
    for i, c in enumerate(capex):
        for j, p in enumerate(prices):
            res = invoke("run", iren_path, "--paths", 300, "--seed", 3, "--json", "--out", tmp_path,
                         "--set", f"ai.gpu_capex_usd={c!r}", "--set", f"market.btc_price_usd={p!r}")
            assert res.exit_code == 0, res.output
            summary = json.loads(res.stdout)
            row = frame.iloc[i * len(prices) + j]
            assert (row["ai.gpu_capex_usd"], row["market.btc_price_usd"]) == (c, p)
            for stat in ("mean", "p5", "p50", "p95"):
                assert row[f"comparison.npv_difference_usd.{stat}"] == summary["comparison"]["npv_difference_usd"][stat]
            assert row["comparison.prob_ai_beats_bitcoin"] == summary["comparison"]["prob_ai_beats_bitcoin"]
            assert row["bitcoin.monte_carlo.npv_usd.p50"] == summary["bitcoin"]["monte_carlo"]["npv_usd"]["p50"]
            assert row["ai.base.npv_usd"] == summary["ai"]["base"]["npv_usd"]
            assert row["comparison.base.npv_difference_usd"] == (summary["ai"]["base"]["npv_usd"]
                                                                 - summary["bitcoin"]["base"]["npv_usd"])


def test_price_by_power_sweep_reuses_each_market_driver_and_equals_run_set(iren_path, tmp_path):
    # Both parameters are read by the market (the BTC price by the price and
    # hashrate drivers, the power price by the power driver): each driver is
    # built once per value of what it reads, the AI deal (which never reads
    # the BTC price) valued once per power price, and every cell is still
    # exactly the plain `run --set` at that point.
    prices, power = [60_000.0, 140_000.0], [0.03, 0.06]
    result = pivotsim.sweep(iren_path, {"market.btc_price_usd": prices, "site.power_price_usd_per_kwh": power},
                            paths=300, seed=4, threads=1)
    c = result.computed
    assert (c["market.btc_price"], c["market.network_hashrate"], c["market.power_price"], c["market.fees"]) == (2, 2, 2, 1)
    assert (c["bitcoin"], c["ai"], c["points"]) == (4, 2, 4)
    frame = result.to_frame()
    for i, p in enumerate(prices):
        for j, w in enumerate(power):
            res = invoke("run", iren_path, "--paths", 300, "--seed", 4, "--json", "--out", tmp_path,
                         "--set", f"market.btc_price_usd={p!r}", "--set", f"site.power_price_usd_per_kwh={w!r}")
            assert res.exit_code == 0, res.output
            summary = json.loads(res.stdout)
            row = frame.iloc[i * len(power) + j]
            for stat in ("mean", "p5", "p50", "p95"):
                assert row[f"comparison.npv_difference_usd.{stat}"] == summary["comparison"]["npv_difference_usd"][stat]
            assert row["comparison.prob_ai_beats_bitcoin"] == summary["comparison"]["prob_ai_beats_bitcoin"]


@pytest.mark.parametrize("params", [
    {"bitcoin.fleet_efficiency_j_per_th": [13.0, 17.0], "ai.gpu_capex_usd": [5e9, 6e9]},
    {"finance.discount_rate": [0.10, 0.14], "market.btc_price_usd": [90e3, 130e3]},
    {"ai.prepayment_share": [0.1, 0.3], "site.power_price_usd_per_kwh": [0.03, 0.05]},
])
def test_reuse_between_points_changes_nothing(iren, params):
    # Reference without any reuse: a fresh engine for every point.
    result = sweep(iren, params, ["bitcoin.monte_carlo.npv_usd", "ai.monte_carlo.npv_usd"], paths=150, seed=9)
    (p1, v1), (p2, v2) = params.items()
    for k, (a, b) in enumerate((a, b) for a in v1 for b in v2):
        engine = CrnEngine(iren, [p1, p2], paths=150, seed=9,
                           path_metrics={"bitcoin": ["npv_usd"], "ai": ["npv_usd"]}, base=False)
        fresh = engine.evaluate({p1: a, p2: b}).paths
        row = result.frame.iloc[k]
        for business in ("bitcoin", "ai"):
            assert row[f"{business}.monte_carlo.npv_usd.mean"] == float(np.mean(fresh[f"{business}_npv_usd"]))
            assert row[f"{business}.monte_carlo.npv_usd.p5"] == float(np.percentile(fresh[f"{business}_npv_usd"], 5))


def test_sweep_of_a_parameter_the_metric_ignores_is_exactly_flat(iren):
    # Mining never reads the AI deal's GPU capex; with common random numbers
    # its NPV distribution is then identical at every point, not just close.
    result = sweep(iren, {"ai.gpu_capex_usd": np.linspace(4e9, 8e9, 5)},
                   ["bitcoin.monte_carlo.npv_usd", "ai.monte_carlo.npv_usd"], paths=500, seed=5)
    frame = result.to_frame()
    for stat in ("mean", "p5", "p50", "p95"):
        assert frame[f"bitcoin.monte_carlo.npv_usd.{stat}"].nunique() == 1
    assert result.computed == {"draws": 1, "market": 1, "market.roll_forward": 1, "market.btc_price": 1,
                               "market.fees": 1,
                               "market.power_price": 1, "market.network_hashrate": 1,
                               "bitcoin": 1, "ai": 5, "points": 5}
    # ... while the AI NPV falls by exactly the present value of the capex step (not flat)
    assert frame["ai.monte_carlo.npv_usd.mean"].is_monotonic_decreasing
    assert frame["ai.monte_carlo.npv_usd.mean"].nunique() == 5


def test_sweeping_a_correlated_distribution_fixes_it_and_keeps_the_other_draws(iren, iren_path, tmp_path):
    # The capex overrun is a PERT distribution correlated with the delay: a
    # sweep sets it to each value (as --set does, dropping its correlation);
    # every point then draws the other uncertain inputs identically.
    path = "ai.risks.capex_overrun_multiplier"
    engine = CrnEngine(iren, [path], paths=300, seed=6, path_metrics={"ai": ["npv_usd"]}, base=False)
    low, high = engine.evaluate({path: 1.0}).paths, engine.evaluate({path: 1.4}).paths
    assert engine.computed["draws"] == 1
    assert f"input.{path}" not in low
    for name in ("input.ai.gpu_residual_share", "input.ai.risks.construction_delay_months"):
        np.testing.assert_array_equal(low[name], high[name])
    assert np.all(high["ai_npv_usd"] < low["ai_npv_usd"])  # dearer halls, path by path
    res = invoke("run", iren_path, "--paths", 300, "--seed", 6, "--json", "--out", tmp_path,
                 "--set", f"{path}=1.4")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert float(np.mean(high["ai_npv_usd"])) == summary["ai"]["monte_carlo"]["npv_usd"]["mean"]


def test_sweep_of_a_market_parameter_moves_only_mining(iren):
    result = sweep(iren, {"market.btc_price_usd": [80_000, 120_000]},
                   ["bitcoin.monte_carlo.npv_usd.mean", "ai.monte_carlo.npv_usd.mean"], paths=200, seed=1)
    frame = result.to_frame()
    assert frame["bitcoin.monte_carlo.npv_usd.mean"].iloc[1] > frame["bitcoin.monte_carlo.npv_usd.mean"].iloc[0]
    assert frame["ai.monte_carlo.npv_usd.mean"].nunique() == 1


# ---------------------------------------------------------------- CLI: sweep

def test_sweep_cli_one_parameter(iren_path, tmp_path):
    res = invoke("sweep", iren_path, "--param", "market.btc_price_usd=60000:140000:3", "--paths", 200,
                 "--seed", 2, "--out", tmp_path)
    assert res.exit_code == 0, res.output
    assert "P(AI > BTC)" in res.stdout and "$100.00k" in res.stdout
    folder = next(tmp_path.iterdir())
    frame = pd.read_csv(folder / "sweep.csv")
    assert list(frame["market.btc_price_usd"]) == [60_000, 100_000, 140_000]
    assert {"comparison.npv_difference_usd.mean", "comparison.npv_difference_usd.p5",
            "comparison.npv_difference_usd.p95", "comparison.prob_ai_beats_bitcoin"} <= set(frame.columns)
    assert (folder / "sweep.png").stat().st_size > 10_000
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["seed"] == 2 and manifest["paths"] == 200 and manifest["kind"] == "sweep"


def test_sweep_cli_two_parameters_heatmap(iren_path, tmp_path):
    res = invoke("sweep", iren_path, "--param", "market.btc_price_usd=100000,150000,200000",
                 "--param", "ai.gpu_capex_usd=5e9:7e9:3", "--paths", 100, "--out", tmp_path)
    assert res.exit_code == 0, res.output
    folder = next(tmp_path.iterdir())
    assert len(pd.read_csv(folder / "sweep.csv")) == 9
    assert (folder / "sweep.png").exists()


def test_heatmap_title_names_the_zero_line_only_where_it_is_drawn(iren):
    """A grid that never crosses zero draws no contour, and its title says on which side it lies."""
    import matplotlib
    matplotlib.use("Agg")
    from pivotsim.analysis.sweep import sweep
    from pivotsim.output.sensitivity_figures import plot_sweep

    grid = sweep(iren, ["market.btc_price_usd=100000,150000", "site.power_price_usd_per_kwh=0.03,0.05"],
                 metrics=["ai.base.npv_usd"], paths=100)
    values = grid.grid(grid.metrics[0])
    ax = plot_sweep(grid)
    side = "above" if values.min() >= 0 else "below"
    assert (values.min() > 0 or values.max() < 0) and ax.get_title().endswith(f"{side} zero everywhere")
    assert not ax.collections[1:]  # the colour mesh only: no contour
    shifted = sweep(iren, ["ai.contract_value_usd=3e9,20e9", "site.power_price_usd_per_kwh=0.03,0.05"],
                    metrics=["ai.base.npv_usd"], paths=100)
    assert plot_sweep(shifted).get_title().endswith("black line: zero")


@pytest.mark.parametrize("args,fragment", [
    (["--param", "market.btc_prise_usd=1:2:3"], "did you mean 'market.btc_price_usd'"),
    (["--param", "market.btc_price_usd=40000:200000:1"], "count 1 is not allowed"),
    (["--param", "market.btc_price_usd=40000:200000:x"], "count 'x' is not allowed"),
    (["--param", "market.btc_price_usd=5e4:5e4:3"], "give two different ends"),
    (["--param", "market.btc_price_usd=abc:2:3"], "'abc' is not a number"),
    (["--param", "market.btc_price_usd=-1000:1000:3"], "must be > 0"),
    (["--param", "market.btc_price_usd"], "expected path=start:stop:count"),
    (["--param", "market.btc_price_usd=1,1"], "values repeat"),
    (["--param", "bitcoin.fleet=0:1:2"], "not a number"),
    (["--param", "ai.construction_months=6:12:5"], "whole number"),
    (["--param", "market.btc_price_usd=1:2:2", "--param", "ai.pue=1:2:2", "--param", "bitcoin.pue=1:2:2"],
     "a sweep takes 1 or 2"),
    (["--param", "market.btc_price_usd=1:2:2", "--metric", "comparison.npv_diference_usd"], "did you mean"),
    (["--param", "market.btc_price_usd=1:2:2", "--paths", "0"], "paths"),
])
def test_sweep_bad_input_exits_2_with_one_line(iren_path, tmp_path, args, fragment):
    res = invoke("sweep", iren_path, *args, "--out", tmp_path / "runs")
    assert res.exit_code == 2, res.output
    assert fragment in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.output
    assert not (tmp_path / "runs").exists()


# ---------------------------------------------------------------- break-even

def test_breakeven_btc_price_where_mining_matches_the_deal(iren):
    result = breakeven(iren, "market.btc_price_usd", "comparison.npv_difference_usd=0", "20000:2000000")
    assert result.metric.path == "comparison.base.npv_difference_usd" and result.verified
    # re-verified independently: a fresh run at the value, and the sign on either side
    summary = pivotsim.run(iren, paths=1, overrides=[f"market.btc_price_usd={result.value!r}"]).summary()
    assert abs(summary["ai"]["base"]["npv_usd"] - summary["bitcoin"]["base"]["npv_usd"]) <= result.tolerance
    for factor, sign in ((0.99, 1), (1.01, -1)):
        s = pivotsim.run(iren, paths=1, overrides=[f"market.btc_price_usd={result.value * factor!r}"]).summary()
        assert np.sign(s["ai"]["base"]["npv_usd"] - s["bitcoin"]["base"]["npv_usd"]) == sign


def test_breakeven_default_range(iren):
    # no --range: value/10 .. 10 x value (here $10,967..$1,096,690), the same root as the explicit range
    # (an $8.5B contract puts the root inside the default range; iren.yaml's lies above 10x)
    smaller = iren.with_overrides(["ai.contract_value_usd=8.5e9"])
    ranged = breakeven(smaller, "market.btc_price_usd", "comparison.npv_difference_usd=0", "20000:2000000")
    default = breakeven(smaller, "market.btc_price_usd", "comparison.npv_difference_usd=0")
    assert (default.low, default.high) == pytest.approx((10_966.9, 1_096_690))
    assert default.value == pytest.approx(ranged.value, rel=1e-9)


def test_breakeven_btc_price_agrees_with_the_run_summary(iren):
    # One break-even BTC price: summary.json's comes from
    # simulate.breakeven_btc_price_multiplier (Brent on the multiplier k,
    # xtol 1e-6); the general solver on market.btc_price_usd solves the same
    # equation, so the two agree within that tolerance times the base price.
    solved = breakeven(iren, "market.btc_price_usd", "comparison.npv_difference_usd=0", "20000:2000000")
    comparison = pivotsim.run(iren, paths=1).summary()["comparison"]
    assert abs(solved.value - comparison["breakeven_btc_price_usd"]) <= 1e-6 * solved.base_value
    assert comparison["breakeven_btc_price_multiplier"] == pytest.approx(solved.value / solved.base_value, abs=1e-6)


def test_breakeven_stochastic_uses_the_monte_carlo_mean(iren):
    result = breakeven(iren, "market.btc_price_usd", "comparison.npv_difference_usd=0", (20_000, 500_000),
                       stochastic=True, paths=300, seed=4)
    assert result.metric.path == "comparison.npv_difference_usd.mean"
    run = pivotsim.run(iren, paths=300, seed=4, overrides=[f"market.btc_price_usd={result.value!r}"])
    assert abs(run.summary()["comparison"]["npv_difference_usd"]["mean"]) <= result.tolerance


def test_breakeven_cli_power_price_for_zero_mining_npv(iren_path):
    # The power price reverts to its long-run level within about a year, so
    # the level that decides mining's NPV is the long-run one.
    res = invoke("breakeven", iren_path, "--param", "market.power_price_long_run_usd_per_kwh",
                 "--target", "bitcoin.base.npv_usd=0", "--range", "0.001:0.2", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["verified"] and 0 < out["value"] < 0.035  # mining loses money at the scenario's $0.035/kWh
    assert abs(out["recomputed"]) <= out["tolerance"]


@pytest.mark.parametrize("args,fragment", [
    (["--param", "market.btc_price_usd", "--target", "bitcoin.base.npv_usd=0", "--range", "20000:50000"],
     "no bitcoin.base.npv_usd = $0.00 in market.btc_price_usd $20.00k..$50.00k"),
    (["--param", "market.btc_price", "--target", "bitcoin.base.npv_usd=0"], "unknown scenario path"),
    (["--param", "market.btc_price_usd", "--target", "bitcoin.base.npv_usd"], "expected metric=value"),
    (["--param", "market.btc_price_usd", "--target", "bitcoin.base.npv_usd=0", "--range", "5:5"],
     "two different numbers"),
    (["--param", "market.btc_price_usd", "--target", "bitcoin.base.npv_usd=0", "--range", "-5:5"], "must be > 0"),
    (["--param", "market.btc_price_usd", "--target", "comparison.prob_ai_beats_bitcoin=0.5"],
     "use --stochastic"),
    (["--param", "ai.construction_months", "--target", "ai.base.npv_usd=0"], "takes whole numbers only"),
])
def test_breakeven_bad_input_exits_2(iren_path, args, fragment):
    res = invoke("breakeven", iren_path, *args)
    assert res.exit_code == 2, res.output
    assert fragment in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_breakeven_no_sign_change_names_both_ends(iren_path):
    from pivotsim.analysis.breakeven import _value_text

    res = invoke("breakeven", iren_path, "--param", "market.btc_price_usd", "--target", "bitcoin.base.npv_usd=0",
                 "--range", "20000:50000")
    assert res.exit_code == 2
    for price in (20_000.0, 50_000.0):  # the metric at each end, from a fresh base case there
        npv = pivotsim.run(iren_path, paths=1, overrides=[f"market.btc_price_usd={price!r}"]).summary()
        expected = _value_text("bitcoin.base.npv_usd", npv["bitcoin"]["base"]["npv_usd"])
        assert f"{expected} at market.btc_price_usd={_value_text('market.btc_price_usd', price)}" in res.stderr


# ---------------------------------------------------------------- tornado and spider

@pytest.fixture(scope="module")
def toy(iren):
    # No tax, no prepayment, no power or opex on the AI side: the AI NPV is
    # then linear in the contract value, and the GPU capex is small, so the
    # contract value dominates by construction.
    return iren.with_overrides(["finance.tax_rate=0", "ai.prepayment_share=0", "ai.opex_usd_per_mw_year=0",
                                "ai.power_pass_through=true", "ai.gpu_capex_usd=1e8"])


def test_tornado_ranks_the_known_dominant_input_first(toy):
    result = sensitivity(toy, "tornado", metric="ai.base.npv_usd",
                         factors=["ai.gpu_capex_usd", "market.btc_price_usd", "ai.contract_value_usd",
                                  "ai.datacenter_capex_usd_per_mw"])
    table = result.to_frame()
    assert list(table.input[:2]) == ["ai.contract_value_usd", "ai.datacenter_capex_usd_per_mw"]
    assert table.set_index("input").loc["market.btc_price_usd", "swing"] == 0.0  # AI ignores the BTC price
    # closed form: swing = (1.2 - 0.8) x PV of the base revenue (revenue is linear in the contract value)
    run = pivotsim.run(toy, paths=1)
    cf = run.cashflows()
    revenue = cf[cf.business == "ai"].revenue_usd.to_numpy()
    pv = npf.npv((1.09) ** (1 / 12) - 1, revenue)  # iren.yaml's discount_rate_ai
    assert table.set_index("input").loc["ai.contract_value_usd", "swing"] == pytest.approx(0.4 * pv, rel=1e-9)
    assert result.base["ai.base.npv_usd"] == run.summary()["ai"]["base"]["npv_usd"]


def test_tornado_in_forked_workers_equals_one_process(iren, monkeypatch):
    """Every input's moves in worker processes (the default on Linux) or all here: the same tables, in order."""
    from pivotsim.analysis import forked
    from pivotsim.analysis.tornado import tornado

    if not forked.can_fork():
        pytest.skip("no fork here")
    before = forked_children()
    monkeypatch.setattr("pivotsim.analysis.tornado.default_threads", lambda: 2)
    ticks = []
    in_workers = tornado(iren, spider_points=3, progress=lambda done, total: ticks.append((done, total)))
    monkeypatch.setenv("PIVOTSIM_FORK", "0")
    here = tornado(iren, spider_points=3)
    assert in_workers.table.equals(here.table) and in_workers.all_metrics.equals(here.all_metrics)
    assert in_workers.spider.equals(here.spider) and in_workers.skipped == here.skipped
    total = ticks[0][1]
    assert total > 16 and sorted(ticks) == [(k, total) for k in range(1, total + 1)]
    assert forked_children() <= before  # no worker left


def test_a_named_input_that_cannot_move_stops_a_forked_tornado(iren, monkeypatch):
    """A --factor the workers cannot move (here the last, in the second worker) is its one-line error."""
    from pivotsim.analysis import forked
    from pivotsim.analysis.tornado import tornado
    from pivotsim.errors import PivotsimError

    if not forked.can_fork():
        pytest.skip("no fork here")
    before = forked_children()
    monkeypatch.setattr("pivotsim.analysis.tornado.default_threads", lambda: 2)
    # every other input to each worker: the 16th goes to the second (forked) one
    factors = (["market.btc_price_usd", "bitcoin.uptime", "ai.contract_value_usd", "ai.gpu_capex_usd"] * 4)[:15]
    with pytest.raises(PivotsimError, match="ai.term_months"):
        tornado(iren, factors + ["ai.term_months=1:2"], spider_points=0)
    assert forked_children() <= before


def test_tornado_clips_shares_and_rounds_months(iren):
    result = sensitivity(iren, "tornado", factors=["bitcoin.uptime", "ai.construction_months"])
    table = result.to_frame().set_index("input")
    assert table.loc["bitcoin.uptime", "high_value"] == 1.0  # 0.95 x 1.2 clipped to the share's bound
    assert table.loc["bitcoin.uptime", "how"] == "-20%/+20%, clipped to the field's bounds"
    assert table.loc["ai.construction_months", "how"] == "-20%/+20%"
    assert (table.loc["ai.construction_months", "low_value"],
            table.loc["ai.construction_months", "high_value"]) == (7.0, 11.0)  # 9 x 0.8 = 7.2, 9 x 1.2 = 10.8


def test_tornado_cli_writes_charts_and_tables(iren_path, tmp_path):
    res = invoke("sensitivity", iren_path, "--factor", "market.btc_price_usd", "--factor", "ai.gpu_capex_usd",
                 "--factor", "site.power_price_usd_per_kwh=0.02:0.06", "--out", tmp_path)
    assert res.exit_code == 0, res.output
    assert "Swing" in res.stdout and "ai.gpu_cape" in res.stdout  # folded at 80 columns
    folder = next(tmp_path.iterdir())
    for name in ("tornado.png", "spider.png", "tornado.csv", "spider.csv", "manifest.json"):
        assert (folder / name).exists(), name
    long = pd.read_csv(folder / "tornado.csv")
    assert set(long.metric) == {"bitcoin.base.npv_usd", "ai.base.npv_usd", "comparison.base.npv_difference_usd"}
    assert long[long.input == "site.power_price_usd_per_kwh"].low_value.iloc[0] == 0.02


def test_plot_helpers_draw_on_given_axes(iren):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    result = sensitivity(iren, "tornado", factors=["market.btc_price_usd", "ai.gpu_capex_usd"])
    fig, axes = plt.subplots(1, 2)
    assert pivotsim.plot_tornado(result, ax=axes[0]) is axes[0]
    assert pivotsim.plot_spider(result, ax=axes[1]) is axes[1]
    assert len(axes[0].patches) == 2 * 2  # a low and a high bar per input
    plt.close(fig)


# ---------------------------------------------------------------- Sobol' and Morris

def test_sobol_wrapper_on_ishigami():
    """Ishigami, a = 7, b = 0.1, x_i ~ U(-pi, pi): S1 = 0.3139, 0.4424, 0 (Ishigami & Homma 1990)."""
    factors = [Factor(f"x{i}", UniformFactor(-math.pi, math.pi)) for i in (1, 2, 3)]

    def ishigami(x):
        return np.sin(x["x1"]) + 7 * np.sin(x["x2"]) ** 2 + 0.1 * x["x3"] ** 4 * np.sin(x["x1"])

    result = global_indices(factors, ishigami, method="sobol", samples=4096, seed=1)
    s1 = result.table.set_index("factor").S1
    assert s1["x1"] == pytest.approx(0.3139, abs=0.03)
    assert s1["x2"] == pytest.approx(0.4424, abs=0.03)
    assert s1["x3"] == pytest.approx(0.0, abs=0.03)
    st = result.table.set_index("factor").ST  # ST = 0.5576, 0.4424, 0.2437 (same reference)
    assert st["x1"] == pytest.approx(0.5576, abs=0.04) and st["x3"] == pytest.approx(0.2437, abs=0.04)
    assert (result.table.S1_conf > 0).all()


def test_morris_wrapper_on_a_linear_model():
    # y = 3 x1 on x1 ~ U(10, 20): every elementary effect per unit quantile is 3 x 10 = 30, sigma 0;
    # x2 does nothing.
    factors = [Factor("x1", UniformFactor(10, 20)), Factor("x2", UniformFactor(0, 1))]
    result = global_indices(factors, lambda x: 3 * x["x1"], method="morris", samples=20, seed=2)
    table = result.table.set_index("factor")
    assert table.loc["x1", "mu_star"] == pytest.approx(30.0)
    assert table.loc["x1", "sigma"] == pytest.approx(0.0, abs=1e-9)
    assert table.loc["x2", "mu_star"] == 0.0


def test_sobol_on_the_scenario_through_the_same_wrapper(iren, tmp_path):
    # The AI NPV does not read the BTC price: its indices are exactly zero.
    result = sensitivity(iren, "sobol", metric="ai.base.npv_usd", samples=32, seed=3,
                         factors=["market.btc_price_usd=60000:160000", "ai.gpu_capex_usd"])
    table = result.to_frame().set_index("factor")
    assert table.loc["market.btc_price_usd", "ST"] == 0.0 and table.loc["market.btc_price_usd", "S1"] == 0.0
    assert table.loc["ai.gpu_capex_usd", "ST"] == pytest.approx(1.0, abs=0.05)
    assert result.evaluations == 32 * (2 + 2)
    folder = write_result(result, tmp_path)
    assert (folder / "sobol.png").exists() and len(pd.read_csv(folder / "sobol.csv")) == 2


@pytest.mark.parametrize("args,fragment", [
    (["--method", "sobol", "--set", "site.power_price_usd_per_kwh=0.035", "--set", "ai.gpu_residual_share=0.15",
      "--set", "ai.risks.construction_delay_months=0", "--set", "ai.risks.capex_overrun_multiplier=1",
      "--set", "ai.debt.0.base_rate_per_year=0.037"],
     "has no distributions; give factors"),
    (["--method", "sobol", "--factor", "ai.gpu_capex_usd", "--samples", "100"], "power of 2"),
    (["--method", "anova"], "must be tornado, sobol, morris, regression or rank"),
    (["--factor", "ai.gpu_capex=1:2"], "did you mean 'ai.gpu_capex_usd'"),
    (["--method", "morris", "--factor", "ai.gpu_capex_usd", "--metric", "ai.monte_carlo.npv_usd"],
     "use e.g. ai.base.npv_usd"),
])
def test_sensitivity_bad_input_exits_2(iren_path, tmp_path, args, fragment):
    res = invoke("sensitivity", iren_path, *args, "--out", tmp_path / "runs")
    assert res.exit_code == 2, res.output
    assert fragment in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_scenario_distributions_drive_tornado_and_sobol(iren):
    # iren.yaml: ai.gpu_residual_share ~ PERT(0.03, 0.15, 0.35), i.e. 0.03 + 0.32 x Beta(2.5, 3.5)
    # (alpha = 1 + 4 (0.15 - 0.03) / 0.32, beta = 1 + 4 (0.35 - 0.15) / 0.32).
    from scipy import stats

    tornado = sensitivity(iren, "tornado", factors=["ai.gpu_residual_share", "ai.gpu_capex_usd"])
    table = tornado.to_frame().set_index("input")
    row = table.loc["ai.gpu_residual_share"]
    assert row.how == "p10/p90"
    assert (row.low_value, row.high_value) == pytest.approx(0.03 + 0.32 * stats.beta.ppf([0.1, 0.9], 2.5, 3.5),
                                                            rel=1e-9)
    assert table.loc["ai.gpu_capex_usd", "how"] == "-20%/+20%"
    # Sobol' over the scenario's own distributions (the default factors): mining reads only the power price
    # (true ST = 1; 64 Saltelli samples keep the estimate above 0.9 with five inputs, 16 do not)
    sobol = sensitivity(iren, "sobol", metric="bitcoin.base.npv_usd", samples=64, seed=1)
    frame = sobol.to_frame().set_index("factor")
    assert set(frame.index) == set(pivotsim.uncertainty.uncertain_inputs(iren))
    assert all(f.source == "distribution" for f in sobol.factors)
    assert frame.loc["site.power_price_usd_per_kwh", "ST"] > 0.9
    for other in frame.index.drop("site.power_price_usd_per_kwh"):
        assert frame.loc[other, "ST"] == 0.0 and frame.loc[other, "S1"] == 0.0


def test_vectorised_model_equals_one_run_per_sample(iren):
    # The Sobol'/Morris model evaluates all samples as one base case of n rows;
    # each row must be the base case of `run --set` at that sample.
    from pivotsim.analysis.global_indices import scenario_model
    from pivotsim.analysis.tornado import scenario_distributions

    dists = scenario_distributions(iren)
    factors = [Factor(p, d, "distribution") for p, d in dists.items()]
    model = scenario_model(iren, factors, parse_metric("comparison.base.npv_difference_usd"))
    u = np.random.default_rng(3).uniform(0.05, 0.95, (3, len(factors)))  # one column per distribution
    columns = {f.path: np.asarray(f.dist.ppf(u[:, j])) for j, f in enumerate(factors)}
    values = model(columns)
    for i in range(len(u)):
        sets = [f"{p}={float(np.rint(v[i]) if p.endswith('_months') else v[i])!r}" for p, v in columns.items()]
        summary = pivotsim.run(iren, paths=1, overrides=sets).summary()
        expected = summary["ai"]["base"]["npv_usd"] - summary["bitcoin"]["base"]["npv_usd"]
        assert values[i] == pytest.approx(expected, rel=1e-12, abs=1e-3)
