"""The IREN–Microsoft scenario against its sources (000, 001) and closed forms."""

import numpy as np
import pytest

import pivotsim
from pivotsim.models.hosting import contract_terms, critical_it_mw
from pivotsim.scenario import iter_quantities
from pivotsim.inputs import to_inputs


@pytest.fixture(scope="module")
def result(iren):
    return pivotsim.run(iren, paths=500, seed=1)


def test_deal_terms_from_sources(iren):
    inputs = to_inputs(iren)
    terms = contract_terms(inputs)
    # Source 000/001: $9.7B over five years, 20% prepayment; CEO: ~$1.94B annual revenue
    assert terms["contract_value_usd"] == 9.7e9
    assert terms["annual_revenue_usd"] == pytest.approx(1.94e9)
    assert terms["prepayment_usd"] == pytest.approx(1.94e9)
    # 200 MW critical IT (000, 001) on the comparison basis grid MW / PUE
    assert critical_it_mw(inputs) == pytest.approx(200.0)


def test_every_number_has_provenance(iren):
    missing = [path for path, q in iter_quantities(iren) if q.provenance is None]
    assert missing == []


def test_revenue_per_kwh_of_critical_it(result):
    # 1.94e9 USD / (200 MW x 1000 kW/MW x 8760 h) = $1.107/kWh (the rough check: about $1.1)
    base = result.summary()["ai"]["base"]
    assert base["revenue_usd_per_kwh_critical_it"] == pytest.approx(1.94e9 / (200e3 * 8760), rel=0.01)
    assert base["total_revenue_usd"] == pytest.approx(9.7e9)


def test_prepayment_is_credited_in_full(result):
    cf = result.cashflows()
    ai = cf[cf.business == "ai"]
    # IREN_10Q / IREN_8K: 20% of each tranche's value ($485M for a quarter of $9.7B) paid a month
    # before it goes live (months 3, 6, 9, 12), credited from its 25th month of service: credits sum
    # to the prepayment
    paid = ai.prepayment_usd.to_numpy()
    assert np.flatnonzero(paid).tolist() == [3, 6, 9, 12]
    assert paid[[3, 6, 9, 12]] == pytest.approx([0.25 * 1.94e9] * 4)
    assert -ai.prepayment_credit_usd.sum() == pytest.approx(1.94e9)
    # tranche 1 live at month 4 serves from month 5; its 25th month of service is month 29
    assert np.flatnonzero(ai.prepayment_credit_usd.to_numpy())[0] == 29
    # cash from the customer over the term = contract value
    assert (ai.revenue_usd + ai.prepayment_usd + ai.prepayment_credit_usd).sum() == pytest.approx(9.7e9)


def test_gpu_capex_and_residual(result, iren):
    cf = result.cashflows()
    ai = cf[cf.business == "ai"]
    facility = 10e6 * 200  # datacenter_capex_usd_per_mw x critical IT MW
    assert -ai.capex_usd.sum() == pytest.approx(5.8e9 + facility)
    assert ai.gpu_residual_usd.sum() == pytest.approx(5.8e9 * 0.15)


def test_mining_base_identities(result, iren):
    cf = result.cashflows()
    btc = cf[cf.business == "bitcoin"]
    inputs = to_inputs(iren)
    # power = grid kWh x price; grid kWh = 240 MW x 1000 x hours x uptime
    assert -btc.power_usd.sum() == pytest.approx(btc.grid_kwh.sum() * 0.035)
    hours = result.timeline.hours
    assert btc.grid_kwh.sum() == pytest.approx(240e3 * hours.sum() * inputs.bitcoin.uptime)
    s = result.summary()["bitcoin"]["base"]
    assert s["cash_cost_per_btc_avg_usd"] == pytest.approx(
        -(btc.power_usd.sum() + btc.opex_usd.sum()) / btc.btc_mined.sum())
    # spot: month 1 alone; all-in: cash + G&A (none in the model) + depreciation, over the horizon
    month1 = btc[btc.month == 1].iloc[0]
    assert s["cash_cost_per_btc_spot_usd"] == pytest.approx(-(month1.power_usd + month1.opex_usd) / month1.btc_mined)
    assert s["revenue_per_kwh_spot_usd"] == pytest.approx(month1.revenue_usd / month1.grid_kwh)
    assert s["revenue_per_kwh_avg_usd"] == pytest.approx(btc.revenue_usd.sum() / btc.grid_kwh.sum())
    assert s["all_in_cost_per_btc_usd"] == pytest.approx(
        s["cash_cost_per_btc_avg_usd"] + btc.depreciation_usd.sum() / btc.btc_mined.sum())
    # the halving halves the BTC per hash: the spot cost is far below the 84-month average
    assert s["cash_cost_per_btc_spot_usd"] < 0.6 * s["cash_cost_per_btc_avg_usd"]


def test_net_is_sum_of_items(result):
    cf = result.cashflows()
    from pivotsim.models.debt import LINE_NAMES

    # not items: the net, quantities, and the levered AI business's debt schedule (iren.yaml has debt)
    items = [c for c in cf.columns if c.endswith("_usd") and c not in
             ("net_usd", "ebitda_usd", "depreciation_usd", "taxable_income_usd", *LINE_NAMES)]
    assert np.allclose(cf[items].sum(axis=1), cf.net_usd)
    ai = cf[cf.business == "ai"]
    # the debt schedule: the equity's flow is the net plus the financing flows
    financing = (ai.debt_draw_usd - ai.debt_fee_usd - ai.debt_interest_usd - ai.debt_principal_usd
                 + ai.tax_shield_usd - ai.debt_reserve_usd.diff().fillna(ai.debt_reserve_usd)
                 - ai.lockup_cash_usd.diff().fillna(ai.lockup_cash_usd))
    assert np.allclose(ai.net_usd + financing, ai.equity_usd, rtol=1e-9, atol=1e-3)


def test_base_npv_agrees_with_numpy_financial(result):
    import numpy_financial as npf

    cf = result.cashflows()
    # discount rates per business: 15% for merchant mining, 9% for the contracted AI revenue
    for business, annual in (("bitcoin", 0.15), ("ai", 0.09)):
        rate = (1 + annual) ** (1 / 12) - 1
        net = cf[cf.business == business].net_usd.to_numpy()
        assert result.summary()[business]["base"]["npv_usd"] == pytest.approx(npf.npv(rate, net), rel=1e-10)
        irr = result.summary()[business]["base"]["irr"]
        if irr is not None:
            assert irr == pytest.approx((1 + npf.irr(net)) ** 12 - 1, abs=1e-8)


def test_same_seed_same_numbers_and_prefix_stability(iren):
    a = pivotsim.run(iren, paths=2500, seed=7).path_metrics()
    b = pivotsim.run(iren, paths=2500, seed=7).path_metrics()
    assert a.equals(b)
    # paths are made in fixed blocks: the first 1000 paths do not depend on the total
    c = pivotsim.run(iren, paths=1000, seed=7).path_metrics()
    assert c.equals(a.iloc[:1000])
    d = pivotsim.run(iren, paths=1000, seed=8).path_metrics()
    assert not d.bitcoin_npv_usd.equals(c.bitcoin_npv_usd)


def test_monte_carlo_mean_near_base_for_linear_revenue(iren):
    # Mining revenue is linear in price; the base case uses the expected price
    # path, so the Monte Carlo mean of total mining revenue is close to the base
    # (GBM: E[S_t] = S0 exp(mu t)).  Tested on NPV of revenue only via a
    # zero-cost variant would need a custom scenario, so check the price path.
    from pivotsim.models.market import draw_shocks, simulate_market
    from pivotsim.models.timeline import Timeline

    inputs = to_inputs(iren)
    t = Timeline(iren.scenario.valuation_date, 84)
    rng = np.random.default_rng(3)
    m = simulate_market(inputs.market, inputs.site, t, draw_shocks(rng, 200_000, 84))
    years = t.years[-1]
    expected = 109669 * np.exp(0.10 * years)
    se = m.btc_price_usd[:, -1].std() / np.sqrt(200_000)
    assert abs(m.btc_price_usd[:, -1].mean() - expected) < 3 * se
