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
