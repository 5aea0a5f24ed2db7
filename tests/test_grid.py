"""Sensitivity grids (pivotsim.analysis.grid): a two-input sweep laid out as a table."""

import numpy as np
import pytest

from pivotsim.analysis.grid import ai_price_path, default_grid_specs, scaled, sensitivity_grid, stepped
from pivotsim.analysis.sweep import sweep

from pivotsim.runs import base_case_metrics
from pivotsim.scenario import load_scenario


def test_scaled_keeps_the_base_value_exactly():
    assert scaled(109_669, (0.5, 1.0, 1.5), whole=True) == (54_834.0, 109_669, 164_504.0)
    assert scaled(0.035, (0.7, 1.0, 1.3)) == (0.0245, 0.035, 0.0455)
    assert stepped(0.035, (-0.01, -0.005, 0, 0.005, 0.01)) == (0.025, 0.03, 0.035, 0.04, 0.045)
    assert stepped(0.008, (-0.01, 0, 0.01)) == (0.008, 0.018)


def test_default_grids_of_a_gpu_cloud_and_a_colocation_deal():
    iren = default_grid_specs(load_scenario("scenarios/iren.yaml"))
    assert [s.rows[0] for s in iren] == ["market.btc_price_usd", "ai.contract_value_usd"]
    assert [s.cols[0] for s in iren] == ["site.power_price_usd_per_kwh", "ai.datacenter_capex_usd_per_mw"]
    cipher = load_scenario("scenarios/cipher_aws.yaml")
    assert ai_price_path(cipher) in ("ai.rent_usd_per_kw_month", "ai.contract_value_usd", "ai.annual_revenue_usd")
    assert getattr(cipher.ai, ai_price_path(cipher).split(".")[1]) is not None


def test_grid_cells_equal_base_case_runs_by_hand():
    scenario = load_scenario("scenarios/iren.yaml")
    spec = default_grid_specs(scenario)[0]
    grid = sensitivity_grid(scenario, spec, sweep=sweep)
    assert grid.values.shape == (5, 5)
    assert grid.base == (2, 2)
    # origin: the base case at the same overrides (pivotsim run --set ... base case)
    for i, j in ((0, 4), (2, 2), (4, 1)):
        btc, power = spec.rows[1][i], spec.cols[1][j]
        m = base_case_metrics(scenario, overrides=[f"market.btc_price_usd={btc}",
                                                   f"site.power_price_usd_per_kwh={power}"])
        assert grid.values[i, j] == pytest.approx(m["ai"]["npv_usd"] - m["bitcoin"]["npv_usd"], rel=1e-12)
    # the centre is the scenario itself
    m = base_case_metrics(scenario)
    assert grid.values[2, 2] == pytest.approx(m["ai"]["npv_usd"] - m["bitcoin"]["npv_usd"], rel=1e-12)
    # economics: a higher BTC price helps mining only, so the AI advantage falls down every column
    assert np.all(np.diff(grid.values, axis=0) < 0)


def test_ai_grid_rises_with_price_and_falls_with_capex():
    scenario = load_scenario("scenarios/iren.yaml")
    grid = sensitivity_grid(scenario, default_grid_specs(scenario)[1], sweep=sweep)
    assert np.all(np.diff(grid.values, axis=0) > 0)
    assert np.all(np.diff(grid.values, axis=1) < 0)
    frame = grid.to_frame()
    assert frame.index.name == "ai.contract_value_usd" and frame.shape == (5, 5)
