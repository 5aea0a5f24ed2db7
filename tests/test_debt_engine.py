"""Project debt in the engine: the lines the debt reads, a business levered on a real scenario."""

from __future__ import annotations

import numpy as np
import pytest

import pivotsim
from pivotsim import simulate as engine
from pivotsim.models import finance
from pivotsim.models.hosting import hosting_cash_flows
from pivotsim.models.mining import mining_cash_flows
from pivotsim.inputs import to_inputs


@pytest.mark.parametrize("scenario", ["iren.yaml", "galaxy_coreweave.yaml"])
@pytest.mark.parametrize("model", [mining_cash_flows, hosting_cash_flows])
def test_financing_lines_are_the_full_models_lines(scenario, model):
    """financing=True with net_only: the same capex as the full model, and a taxable income whose
    loss-carry-forward tax (finance.tax_with_loss_carryforward) is the model's tax line."""
    inputs = to_inputs(pivotsim.load_scenario(f"scenarios/{scenario}"))
    timeline = engine.timeline_of(inputs)
    draws = engine.block_draws(inputs, 3, [0])
    path_inputs = engine.with_draws(inputs, draws)
    market = engine.market_paths(path_inputs, timeline, draws.shocks)
    full = model(path_inputs, market, timeline)
    lean = model(path_inputs, market, timeline, net_only=True, financing=True)
    np.testing.assert_array_equal(lean.net, full.net)
    np.testing.assert_array_equal(lean.items["capex_usd"],
                                  np.broadcast_to(full.items["capex_usd"], lean.items["capex_usd"].shape))
    tax = finance.tax_with_loss_carryforward(lean.quantities["taxable_income_usd"],
                                             np.asarray(path_inputs.finance.tax_rate, dtype=float))
    np.testing.assert_array_equal(-tax, np.broadcast_to(full.items["tax_usd"], tax.shape))


def _base(scenario, overrides=()):
    from pivotsim.runs import run

    return run(f"scenarios/{scenario}", paths=2000, seed=7, overrides=list(overrides), sample_paths=50)


def test_dscr_sizing_by_set_on_iren_hits_the_target():
    """--set ai.debt.sizing=dscr --set ai.debt.target_dscr=1.3 on iren.yaml (both tranches): base min DSCR = 1.3.

    Origin: the definition of DSCR sizing (the largest debt whose minimum DSCR is the target)."""
    result = _base("iren.yaml", ["ai.debt.sizing=dscr", "ai.debt.target_dscr=1.3"])
    base = result.summary()["ai"]["base"]["debt"]
    assert base["min_dscr"] == pytest.approx(1.3, rel=1e-9)
    # the senior tranche takes all the room at 1.3: the junior one is left with nothing
    assert result.debt["ai"].terms.amount_usd[1] == 0.0
    assert base["amount_usd"] == pytest.approx(result.debt["ai"].terms.amount_usd[0], rel=1e-12)


def test_modigliani_miller_on_a_real_deal():
    """TeraWulf with debt priced at the cost of equity = discount rate, no fee, reserve or tax:
    the equity's NPV equals the unlevered NPV (Modigliani-Miller); with the 21% tax the interest
    tax saving makes the equity worth more."""
    no_frictions = ["ai.debt.rate_per_year=0.12", "ai.debt.upfront_fee_share=0", "ai.debt.reserve_months=0",
                    "finance.cost_of_equity_per_year_ai=0.12", "finance.discount_rate_ai=0.12"]
    flat = _base("terawulf_fluidstack.yaml", no_frictions + ["finance.tax_rate=0"]).summary()["ai"]["base"]
    assert flat["equity"]["npv_usd"] == pytest.approx(flat["npv_usd"], rel=1e-9, abs=1.0)
    assert flat["debt"]["financing_usd"] == pytest.approx(0.0, abs=1e-6 * flat["debt"]["amount_usd"])
    # the project's value bridge carries the same part (0 here), base case and per path
    assert flat["value_bridge"]["financing_usd"] == flat["debt"]["financing_usd"]
    assert flat["npv_with_financing_usd"] == pytest.approx(flat["npv_usd"], rel=1e-9, abs=1.0)
    mc = _base("terawulf_fluidstack.yaml", no_frictions + ["finance.tax_rate=0"]).summary()["ai"]["monte_carlo"]
    assert mc["value_bridge_mean"]["financing_usd"] == pytest.approx(0.0, abs=1e-6 * flat["debt"]["amount_usd"])
    taxed = _base("terawulf_fluidstack.yaml", no_frictions).summary()["ai"]["base"]
    assert taxed["equity"]["npv_usd"] > taxed["npv_usd"]
    assert taxed["debt"]["financing_usd"] > 0.0


def test_levered_run_is_the_same_whatever_the_chunks_and_threads():
    """The per-path debt and equity metrics do not depend on how paths are chunked or threaded."""
    from pivotsim.runs import run
    from pivotsim.simulate import simulate

    inputs = to_inputs(pivotsim.load_scenario("scenarios/iren.yaml"))
    small = simulate(inputs, 4000, 11, chunk_paths=2000).metrics
    large = simulate(inputs, 4000, 11, chunk_paths=4000, threads=2).metrics
    assert "ai_equity_npv_usd" in small and "ai_min_dscr" in small
    for name in small:
        np.testing.assert_array_equal(small[name], large[name], err_msg=name)
    columns = run("scenarios/iren.yaml", paths=2000, seed=3).path_metric_columns()
    for name in ("ai_debt_usd", "ai_min_dscr", "ai_covenant_breach", "ai_equity_npv_usd", "ai_equity_irr",
                 "ai_equity_mirr", "ai_payment_default"):
        assert name in columns


def test_summary_blocks_and_debt_schedule():
    """summary.json blocks and the base case's schedule: principal drawn = principal repaid, DSCR where tested."""
    result = _base("galaxy_coreweave.yaml")
    summary = result.summary()["ai"]
    assert set(summary["base"]["debt"]) >= {"amount_usd", "min_dscr", "avg_dscr"}
    assert set(summary["base"]["equity"]) >= {"npv_usd", "irr", "mirr"}
    assert set(summary["monte_carlo"]["debt"]) >= {"min_dscr", "prob_covenant_breach", "prob_payment_default"}
    frame = result.cashflows()
    ai = frame[frame.business == "ai"]
    assert ai["debt_draw_usd"].sum() == pytest.approx(ai["debt_principal_usd"].sum(), rel=1e-12)
    # 80% of the first phase's build: 133 MW of the ~526 MW critical IT (GLXY_REL) at $10M/MW
    assert ai["debt_draw_usd"].sum() == pytest.approx(0.8 * 0.252852 * 526.0 * 10e6, rel=1e-9)
    assert frame[frame.business == "bitcoin"]["dscr"].isna().all()


@pytest.mark.parametrize("overrides, field", [
    (["ai.debt.tenor_months=90"], "ai.debt.0.tenor_months"),     # from month 7 past the 84-month horizon
    (["ai.debt.0.sizing=dscr", "ai.debt.0.target_dscr=0.9"], "ai.debt.0.target_dscr"),
    (["ai.debt.0.sizing=dscr"], "ai.debt.0"),
    (["ai.debt.0.sizing=ltc", "ai.debt.0.ltc=1.2"], "ai.debt.0.ltc"),
    (["ai.debt.0.draw=7"], "ai.debt.0: draw_from_month"),    # a single draw has no availability to start
])
def test_bad_debt_input_is_one_line_and_exit_2(overrides, field):
    from typer.testing import CliRunner

    from pivotsim.cli import app

    args = ["run", "scenarios/iren.yaml", "--paths", "2000", "--no-figures", "--out", "/tmp/pivotsim-debt-bad"]
    for item in overrides:
        args += ["--set", item]
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 2, out.output
    lines = [line for line in out.output.splitlines() if line.strip()]
    assert len(lines) == 1 and field in lines[0], out.output
    assert "Traceback" not in out.output


def test_ltc_on_a_business_without_capex_exits_2():
    """Galaxy's loan is 80% LTC; with the build paid by the tenant there is no capex to fund."""
    from typer.testing import CliRunner

    from pivotsim.cli import app

    out = CliRunner().invoke(app, ["run", "scenarios/galaxy_coreweave.yaml", "--paths", "2000", "--no-figures",
                                   "--out", "/tmp/pivotsim-debt-bad", "--set", "ai.tenant_funded_capex_usd=1e13"])
    assert out.exit_code == 2, out.output
    assert "ai.debt.ltc: 0.8 is not allowed on a business without capex" in out.output


def test_iren_delayed_draw_term_loan_draws_with_the_gpus_from_closing():
    """IREN's DDTL (draw capex from closing, month 7, to the end of its grace, month 13): its $1.5B is drawn in
    proportion to the base case's capex of those months (origin: the capex line itself); the notes at closing."""
    result = _base("iren.yaml")
    capex = -np.asarray(result.base["ai"].items["capex_usd"], dtype=float)[0]
    draws = result.debt["ai"].lines["debt_draw_usd"][0]
    window = slice(7, 14)
    expected = 1.5e9 * capex[window] / capex[window].sum()
    expected[0] += 2.1e9  # the 5.96% notes, issued at closing
    np.testing.assert_allclose(draws[window], expected, rtol=1e-12)
    assert draws[:7].sum() == 0.0 and draws[14:].sum() == 0.0
