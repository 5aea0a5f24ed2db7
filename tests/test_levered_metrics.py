"""Levered metrics (debt and equity) in sweeps, tornado, Sobol'/Morris and break-even (issue 16).

Expected numbers come from the run summary of the same scenario and seed
(``pivotsim run --set path=value``, the summary's own debt and equity
blocks: pivotsim.levered), from the solver's own target plugged back into a
fresh run, from the definition of common random numbers (a metric that
does not read a parameter cannot move when it is swept), and from a cubic
with known roots (the crossing check of the break-even).
"""

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

import pivotsim
from pivotsim.analysis import breakeven as breakeven_module
from pivotsim.analysis import sweep as sweep_module
from pivotsim.analysis import tornado as tornado_module
from pivotsim.analysis.breakeven import _check_one_crossing, breakeven
from pivotsim.analysis.crn import CrnEngine, metric_needs
from pivotsim.analysis.global_indices import scenario_model, sensitivity
from pivotsim.analysis.metrics import METRICS, TORNADO_METRICS, PointResult, metric_value, parse_metric
from pivotsim.analysis.sweep import sweep
from pivotsim.analysis.tornado import Factor, UniformFactor
from pivotsim.cli import app
from pivotsim.errors import PivotsimError
from pivotsim.formatting import metric_text

from .conftest import SCENARIOS

runner = CliRunner()
NO_DEBT = SCENARIOS / "cipher_aws.yaml"  # a colocation deal without ai.debt
LEVERED = [p for p in METRICS if p.startswith("ai.") and parse_metric(p).levered]
POWER = "market.power_price_long_run_usd_per_kwh"  # what the AI deal's power cost follows after a year


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def summary_value(summary: dict, path: str, stat: str | None = None) -> float:
    """A metric read straight out of summary.json by its dotted path (the user's copy-paste)."""
    node = summary
    for part in path.split("."):
        node = node[part]
    if isinstance(node, dict):
        node = node[stat]
    return math.nan if node is None else float(node)


def levered_metrics():
    """Every levered AI metric, distributions at each of their statistics."""
    out = []
    for path in LEVERED:
        metric = parse_metric(path)
        out += [metric] if metric.is_scalar else [metric.with_stat(s) for s in ("mean", "std", "p5", "p50", "p95")]
    return out


@pytest.fixture(scope="module")
def iren_run(iren):
    return pivotsim.run(iren, paths=1_000, seed=7)


# ---------------------------------------------------------------- paths mirror the summary

def test_levered_paths_are_the_summary_paths(iren_run):
    summary = iren_run.summary()
    expected = {"base.equity.npv_usd", "base.equity.irr", "base.equity.mirr", "base.equity.payback_months",
                "base.debt.amount_usd", "base.debt.min_dscr", "base.debt.avg_dscr", "base.debt.cost_of_debt",
                "base.debt.financing_usd", "base.npv_with_financing_usd",
                "monte_carlo.equity.npv_usd", "monte_carlo.equity.irr", "monte_carlo.equity.mirr",
                "monte_carlo.equity.payback_months", "monte_carlo.debt.amount_usd", "monte_carlo.debt.min_dscr",
                "monte_carlo.debt.avg_dscr", "monte_carlo.debt.cost_of_debt",
                "monte_carlo.debt.prob_covenant_breach", "monte_carlo.debt.prob_payment_default",
                "monte_carlo.equity.prob_npv_negative"}
    assert {p[len("ai."):] for p in LEVERED} == expected
    assert {p.replace("ai.", "bitcoin.", 1) for p in LEVERED} <= set(METRICS)
    for metric in levered_metrics():  # each resolves to a number of summary.json as written
        assert math.isfinite(summary_value(summary, metric.root, metric.stat)), metric.path


def test_parse_levered_metrics_and_typos():
    m = parse_metric("ai.monte_carlo.debt.min_dscr.p5")
    assert (m.kind, m.business, m.key, m.stat, m.path_metric) == ("distribution", "ai", "debt.min_dscr", "p5",
                                                                  "ai_min_dscr")
    assert parse_metric("ai.monte_carlo.debt.prob_covenant_breach").path_metric == "ai_covenant_breach"
    assert parse_metric("ai.monte_carlo.equity.prob_npv_negative").path_metric == "ai_equity_npv_usd"
    assert parse_metric("ai.monte_carlo.debt.amount_usd").path_metric == "ai_debt_usd"
    assert parse_metric("ai.monte_carlo.equity.irr").base_counterpart().path == "ai.base.equity.irr"
    assert not parse_metric("ai.base.npv_usd").levered and parse_metric("ai.base.npv_with_financing_usd").levered
    with pytest.raises(PivotsimError, match="did you mean 'ai.base.equity.irr'"):
        parse_metric("ai.base.equity.irrr")
    with pytest.raises(PivotsimError, match="did you mean 'ai.monte_carlo.debt.prob_covenant_breach'"):
        parse_metric("ai.monte_carlo.debt.prob_covenant_breech")
    with pytest.raises(PivotsimError, match="not allowed"):
        parse_metric("ai.base.debt.min_dscr.p5")  # a base value has no percentiles


def test_metric_value_equals_the_summary_from_the_runs_paths_and_the_engine(iren, iren_run):
    summary = iren_run.summary()
    metrics = levered_metrics()
    # the run's own per-path arrays: the probabilities are counted as the summary counts them
    from_run = PointResult(base=None, paths=iren_run.metrics)
    for m in metrics:
        if m.kind != "base":
            assert metric_value(from_run, m) == summary_value(summary, m.root, m.stat), m.path
    # the sweep engine at the scenario's own value: base case and paths, debt sized there
    need, base = metric_needs(metrics)
    engine = CrnEngine(iren, [POWER], paths=1_000, seed=7, path_metrics=need, base=base, base_metrics=metrics)
    point = engine.evaluate({POWER: iren_run.inputs.market.power_price_long_run_usd_per_kwh})
    for m in metrics:
        assert metric_value(point, m) == summary_value(summary, m.root, m.stat), m.path


# ---------------------------------------------------------------- sweep

def test_sweep_cell_equals_run_set(iren_path, tmp_path):
    # the contract value re-sizes the sculpted debt, the power price moves the market's power driver
    values = {"ai.contract_value_usd": [8.0e9, 11.0e9], POWER: [0.035, 0.09]}
    metrics = ["ai.base.equity.irr", "ai.base.debt.min_dscr", "ai.base.npv_with_financing_usd",
               "ai.monte_carlo.debt.prob_covenant_breach", "ai.monte_carlo.equity.npv_usd.p50",
               "ai.monte_carlo.debt.min_dscr.p5", "ai.monte_carlo.equity.irr"]
    frame = sweep(iren_path, values, metrics, paths=300, seed=3).to_frame()
    for k, row in frame.iterrows():
        res = invoke("run", iren_path, "--paths", 300, "--seed", 3, "--json", "--out", tmp_path,
                     *(a for p in values for a in ("--set", f"{p}={float(row[p])!r}")))
        assert res.exit_code == 0, res.output
        summary = json.loads(res.stdout)
        for path in metrics[:-1]:
            metric = parse_metric(path)
            assert row[path] == summary_value(summary, metric.root, metric.stat), (k, path)
        for stat in ("mean", "p5", "p50", "p95"):
            assert row[f"ai.monte_carlo.equity.irr.{stat}"] == summary_value(summary, "ai.monte_carlo.equity.irr", stat)


def test_levered_metric_that_ignores_the_parameter_is_flat_and_valued_once(iren):
    # the AI deal reads neither the BTC price nor its debt terms (sized on the AI base case): equal
    # terms at every point, so the AI side is valued once and the line is exactly flat
    result = sweep(iren, {"market.btc_price_usd": [60_000.0, 100_000.0, 140_000.0]},
                   ["ai.monte_carlo.debt.min_dscr.p50", "ai.base.equity.npv_usd"], paths=200, seed=5, threads=1)
    frame = result.to_frame()
    assert result.computed["ai"] == 1
    assert frame["ai.monte_carlo.debt.min_dscr.p50"].nunique() == 1 and frame["ai.base.equity.npv_usd"].nunique() == 1


def test_sweep_cli_levered_metric(iren_path, tmp_path):
    res = invoke("sweep", iren_path, "--param", f"{POWER}=0.03:0.09:3", "--metric", "ai.base.equity.irr",
                 "--metric", "ai.monte_carlo.debt.prob_covenant_breach", "--paths", 200, "--out", tmp_path)
    assert res.exit_code == 0, res.output
    assert "ai.base.equity.irr" in res.stdout and "ai.monte_carlo.debt.prob_covenant_breach" in res.stdout


# ---------------------------------------------------------------- no debt: one line, before any computation

@pytest.mark.parametrize("args", [
    ["sweep", NO_DEBT, "--param", "ai.rent_usd_per_kw_month=100:200:3", "--metric", "ai.base.equity.irr"],
    ["sweep", NO_DEBT, "--param", "ai.rent_usd_per_kw_month=100:200:3", "--metric",
     "ai.monte_carlo.debt.prob_covenant_breach"],
    ["sensitivity", NO_DEBT, "--metric", "ai.base.equity.npv_usd"],
    ["sensitivity", NO_DEBT, "--method", "morris", "--metric", "ai.base.debt.min_dscr"],
    ["breakeven", NO_DEBT, "--param", "site.power_price_usd_per_kwh", "--target", "ai.base.debt.min_dscr=1.05"],
])
def test_levered_metric_without_debt_exits_2_with_one_line(args, tmp_path):
    res = invoke(*args, *(["--out", tmp_path / "runs"] if args[0] != "breakeven" else []))
    assert res.exit_code == 2, res.output
    line = res.stderr.strip()
    metric = args[args.index("--metric") + 1] if "--metric" in args else "ai.base.debt.min_dscr"
    assert len(line.splitlines()) == 1 and "Traceback" not in res.output
    assert f"metric {metric}: the ai business has no debt" in line
    assert "add ai.debt to the scenario" in line and "or use an unlevered metric such as ai." in line
    assert not (tmp_path / "runs").exists()


def test_bitcoin_levered_metric_on_a_deal_whose_debt_is_the_ais(iren):
    with pytest.raises(PivotsimError, match="the bitcoin business has no debt.*bitcoin.base.irr"):
        sweep(iren, {POWER: [0.03, 0.04]}, ["bitcoin.base.equity.irr"], paths=1)


def test_no_debt_error_comes_before_any_computation(monkeypatch):
    def no_computation(*args, **kwargs):
        raise AssertionError("computed before the metric was checked")

    monkeypatch.setattr(sweep_module, "CrnEngine", no_computation)
    monkeypatch.setattr(breakeven_module, "CrnEngine", no_computation)
    monkeypatch.setattr(tornado_module, "_base_point", no_computation)
    with pytest.raises(PivotsimError, match="no debt"):
        sweep(NO_DEBT, {"ai.rent_usd_per_kw_month": [100.0, 200.0]}, ["ai.monte_carlo.equity.npv_usd.p50"])
    with pytest.raises(PivotsimError, match="no debt"):
        breakeven(NO_DEBT, "ai.rent_usd_per_kw_month", "ai.base.equity.npv_usd=0")
    with pytest.raises(PivotsimError, match="no debt"):
        sensitivity(NO_DEBT, "tornado", metric="ai.base.npv_with_financing_usd")


# ---------------------------------------------------------------- break-even

def test_breakeven_power_price_at_the_dscr_covenant(iren):
    covenant = iren.ai.debt[0].covenant_dscr.value  # 1.05, IREN's reported covenant
    result = breakeven(iren, POWER, f"ai.base.debt.min_dscr={covenant!r}", (0.01, 1.0))
    assert result.verified and result.metric.path == "ai.base.debt.min_dscr"

    def min_dscr(value):
        return pivotsim.run(iren, paths=1, overrides=[f"{POWER}={value!r}"]).summary()["ai"]["base"]["debt"]["min_dscr"]

    assert abs(min_dscr(result.value) - covenant) <= result.tolerance  # plugged back with --set
    assert min_dscr(result.value * 0.99) > covenant > min_dscr(result.value * 1.01)
    assert result.value > result.base_value  # the covenant holds at the scenario's own power price


def test_breakeven_contract_value_at_zero_equity_npv(iren):
    result = breakeven(iren, "ai.contract_value_usd", "ai.base.equity.npv_usd=0")
    summary = pivotsim.run(iren, paths=1, overrides=[f"ai.contract_value_usd={result.value!r}"]).summary()
    assert abs(summary["ai"]["base"]["equity"]["npv_usd"]) <= result.tolerance
    # NPV 0 at the cost of equity is an equity IRR equal to it (both effective annual, monthly flows)
    equity = summary["ai"]["base"]["equity"]
    assert equity["irr"] == pytest.approx(equity["cost_of_equity"], abs=1e-6)


def test_breakeven_stochastic_equity_npv_median(iren):
    result = breakeven(iren, "ai.contract_value_usd", "ai.monte_carlo.equity.npv_usd.p50=0", (5e9, 20e9),
                       stochastic=True, paths=300, seed=4)
    run = pivotsim.run(iren, paths=300, seed=4, overrides=[f"ai.contract_value_usd={result.value!r}"])
    assert abs(run.summary()["ai"]["monte_carlo"]["equity"]["npv_usd"]["p50"]) <= result.tolerance


def test_breakeven_on_a_share_of_paths_reports_the_jump(iren_path):
    # P(covenant breach) over 300 paths moves in steps of 1/300: 0.305 falls between two steps, so
    # brentq closes in on a jump and the fresh run at the solution refuses it
    res = invoke("breakeven", iren_path, "--param", "ai.contract_value_usd", "--target",
                 "ai.monte_carlo.debt.prob_covenant_breach=0.305", "--range", "5e9:30e9", "--stochastic",
                 "--paths", 300, "--seed", 4)
    assert res.exit_code == 2, res.output
    assert "ai.monte_carlo.debt.prob_covenant_breach jumps at ai.contract_value_usd=" in res.stderr
    assert "not continuous, so no exact break-even" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_breakeven_refuses_a_metric_that_crosses_its_target_more_than_once():
    # (x-1)(x-2)(x-3) crosses 0 at 1, 2 and 3: each lies between two of the 7 inner points of 0..4
    def gap(x):
        return (x - 1) * (x - 2) * (x - 3)

    metric = parse_metric("ai.base.debt.min_dscr")
    with pytest.raises(PivotsimError, match=r"crosses 0 3 times in p 0..4 \(in 0.5..1.5, 1.5..2.5, 2.5..3.5\)"):
        _check_one_crossing(gap, metric, "p", 0.0, (0.0, gap(0.0)), (4.0, gap(4.0)))
    _check_one_crossing(gap, metric, "p", 0.0, (2.5, gap(2.5)), (4.0, gap(4.0)))  # one crossing: accepted


# ---------------------------------------------------------------- tornado and global indices

def test_tornado_ranked_by_equity_npv_equals_run_set(iren, iren_path):
    result = sensitivity(iren, "tornado", metric="ai.base.equity.npv_usd",
                         factors=["ai.contract_value_usd", "market.btc_price_usd", "ai.debt.1.rate_per_year"])
    assert [m.path for m in result.metrics] == [*TORNADO_METRICS, "ai.base.equity.npv_usd"]  # defaults kept
    table = result.to_frame().set_index("input")
    assert table.index[0] == "ai.contract_value_usd" and table.loc["market.btc_price_usd", "swing"] == 0.0
    for path in ("ai.contract_value_usd", "ai.debt.1.rate_per_year"):
        for end in ("low", "high"):
            value = float(table.loc[path, f"{end}_value"])
            summary = pivotsim.run(iren_path, paths=1, overrides=[f"{path}={value!r}"]).summary()
            assert table.loc[path, f"metric_{end}"] == summary["ai"]["base"]["equity"]["npv_usd"], (path, end)
    assert result.base["ai.base.equity.npv_usd"] == pivotsim.run(iren, paths=1).summary()["ai"]["base"]["equity"]["npv_usd"]


def test_tornado_cli_levered_metric(iren_path, tmp_path):
    res = invoke("sensitivity", iren_path, "--factor", "ai.contract_value_usd", "--factor", "ai.gpu_capex_usd",
                 "--metric", "ai.base.debt.min_dscr", "--out", tmp_path)
    assert res.exit_code == 0, res.output
    assert "ranked by ai.base.debt.min_dscr" in res.stdout


def test_global_model_of_a_levered_metric_equals_run_set(iren):
    factors = [Factor("ai.contract_value_usd", UniformFactor(8e9, 11e9)), Factor(POWER, UniformFactor(0.03, 0.06))]
    model = scenario_model(iren, factors, parse_metric("ai.base.debt.min_dscr"))
    columns = {"ai.contract_value_usd": np.array([8.5e9, 10.5e9]), POWER: np.array([0.05, 0.03])}
    out = model(columns)
    for i in range(2):
        summary = pivotsim.run(iren, paths=1, overrides=[f"{p}={float(v[i])!r}" for p, v in columns.items()]).summary()
        assert out[i] == summary["ai"]["base"]["debt"]["min_dscr"]


def test_levered_rates_print_as_percentages_and_coverage_as_ratios():
    assert metric_text("ai.monte_carlo.debt.cost_of_debt.p50", 0.0596) == "6.0%"
    assert metric_text("ai.monte_carlo.equity.mirr.p50", 0.145) == metric_text("ai.base.equity.mirr", 0.145)
    # DSCRs as the run's own tables print them (formatting.ratio)
    assert metric_text("ai.base.debt.min_dscr", 1.05) == "1.05x"
    assert metric_text("ai.monte_carlo.debt.min_dscr.p5", 0.3918) == "0.39x"


def test_a_levered_metric_column_has_a_readable_header():
    # the tornado's extra column at 80 columns showed "ai.base…"; a header of words wraps instead
    from pivotsim.formatting import metric_words as metric_label

    assert metric_label("ai.base.debt.min_dscr") == "AI debt min DSCR"
    assert metric_label("ai.base.equity.npv_usd") == "AI equity NPV"
    assert metric_label("ai.monte_carlo.equity.npv_usd.p50") == "AI MC equity NPV p50"
    assert metric_label("bitcoin.base.irr") == "BTC IRR"


def test_charts_and_sweep_tables_read_a_dscr_against_one():
    # A sweep of min DSCR: the crossing column and the chart's line are where CFADS just covers the service (1.00x),
    # not zero; money ticks keep a decimal from $10B up (two ticks read "$10B" for $10B and $10.5B).
    from pivotsim.formatting import axis_money, reference_level

    assert reference_level("ai.base.debt.min_dscr") == (1.0, "1.00x")
    assert reference_level("ai.monte_carlo.debt.min_dscr.p5") == (1.0, "1.00x")
    assert reference_level("ai.base.equity.npv_usd") == (0.0, "0")
    assert [axis_money(x) for x in (1.05e10, 1e10, 8.5e9, -2.25e8, 5e3)] == ["$10.5B", "$10B", "$8.5B", "-$225M",
                                                                            "$5k"]


def test_a_two_parameter_dscr_sweep_gives_the_contract_value_at_one_times(iren):
    from pivotsim.analysis.sweep import sweep
    from pivotsim.cli.sensitivity_commands import sweep_table  # the terminal's table
    from pivotsim.formatting import metric_text

    result = sweep(iren, ["market.power_price_long_run_usd_per_kwh=0.31,0.455",
                          "ai.contract_value_usd=7e9,11e9"], "ai.base.debt.min_dscr")
    grid = result.grid("ai.base.debt.min_dscr")
    assert (grid[:, 0] < 1.0).all() and (grid[:, 1] > 1.0).all()
    table = sweep_table(result)
    cells = [list(column.cells) for column in table.columns]
    # the linear interpolation between the two columns, where the DSCR is 1.00x
    expected = [7e9 + 4e9 * (1.0 - a) / (b - a) for a, b in grid]
    assert cells[-1] == [metric_text("ai.contract_value_usd", x) for x in expected]
    assert table.columns[-1].header.endswith("where it is 1.00x")


def test_debt_at_close_is_what_the_monte_carlo_paths_of_that_delay_see(iren):
    # --debt-at-close keeps the loan sized on the scenario's own base case while the delay moves. Its base-case
    # minimum DSCR at a delay of d months is what the Monte Carlo's paths that drew that delay get (they too
    # service the close's debt): the median of those paths, whose market noise moves it by a few thousandths.
    from pivotsim.analysis.sweep import sweep

    delays = (1, 3, 4)
    at_close = sweep(iren, [f"ai.risks.construction_delay_months={','.join(map(str, delays))}"],
                     ["ai.base.debt.min_dscr"], debt_at_close=True)
    paths = pivotsim.run(iren, paths=2000, seed=5).path_metrics()
    drawn = paths["input.ai.risks.construction_delay_months"].to_numpy()
    min_dscr = paths["ai_min_dscr"].to_numpy()
    for delay, value in zip(delays, at_close.frame["ai.base.debt.min_dscr"]):
        same = min_dscr[drawn == delay]
        assert same.size > 100
        assert np.percentile(same, 5) <= value <= np.percentile(same, 95), delay
        assert abs(np.median(same) - value) < 0.005, delay
    # and a delay after close breaches the 1.05 covenant; the loan re-sized on the delayed case does not
    resized = sweep(iren, ["ai.risks.construction_delay_months=3,4"], ["ai.base.debt.min_dscr"])
    assert at_close.frame["ai.base.debt.min_dscr"][1] < 1.05 < resized.frame["ai.base.debt.min_dscr"][0]


def test_debt_at_close_at_the_scenarios_own_values_is_the_run(iren):
    from pivotsim.analysis.sweep import sweep

    # (the swept delay is fixed at each point, as --set fixes it; the scenario's base case has none)
    summary = pivotsim.run(iren, paths=300, seed=2, overrides=["ai.risks.construction_delay_months=0"]).summary()["ai"]
    assert summary["base"]["equity"]["npv_usd"] == pivotsim.run(iren, paths=1).summary()["ai"]["base"]["equity"]["npv_usd"]
    point = sweep(iren, ["ai.risks.construction_delay_months=0,1"], ["ai.base.debt.min_dscr", "ai.base.equity.npv_usd",
                                                                    "ai.monte_carlo.equity.npv_usd.p50"],
                  paths=300, seed=2, debt_at_close=True).frame.iloc[0]
    assert point["ai.base.debt.min_dscr"] == summary["base"]["debt"]["min_dscr"]
    assert point["ai.base.equity.npv_usd"] == summary["base"]["equity"]["npv_usd"]
    assert point["ai.monte_carlo.equity.npv_usd.p50"] == summary["monte_carlo"]["equity"]["npv_usd"]["p50"]


def test_debt_at_close_refuses_what_it_cannot_keep(tmp_path):
    from typer.testing import CliRunner

    from pivotsim.cli import app

    for args in (["sweep", "iren", "--param", "ai.debt.0.amount_usd=1e9:2e9:3", "--metric", "ai.base.debt.min_dscr"],
                 ["sensitivity", "iren", "--method", "morris"], ["sensitivity", "iren", "--method", "rank"],
                 ["breakeven", "iren", "--param", "ai.debt.1.rate_per_year", "--target", "ai.base.debt.min_dscr=1.05"]):
        result = CliRunner().invoke(app, [*args, "--debt-at-close", "--out", str(tmp_path)]
                                    if args[0] != "breakeven" else [*args, "--debt-at-close"])
        assert result.exit_code == 2, (args, result.output)
        assert "--debt-at-close" in result.output and "Traceback" not in result.output, args


def test_a_tornado_at_close_leaves_the_debt_terms_out_and_feels_the_delay(iren):
    from pivotsim.analysis.tornado import tornado

    result = tornado(iren, metric="ai.base.debt.min_dscr", spider_points=0, debt_at_close=True)
    inputs = list(result.table.input)
    assert not any(p.startswith("ai.debt") for p in inputs)
    rows = result.all_metrics
    delay = rows[(rows.input == "ai.risks.construction_delay_months") & (rows.metric == "ai.base.debt.min_dscr")].iloc[0]
    # the close's loan breaches the 1.05 covenant at either end (p10, p90 of the delay: 1 and 6 months), where the
    # loan re-sized on each delayed case stayed above its base 1.69x
    assert delay.metric_low < 1.05 and delay.metric_high < 1.05
    assert result.base["ai.base.debt.min_dscr"] > 1.6
