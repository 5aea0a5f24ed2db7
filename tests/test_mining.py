"""Mining cash flows: the compiled month loop against the numpy formulas it replaced."""

import copy

import numpy as np
import pytest

from pivotsim import compiled
from pivotsim.models import finance
from pivotsim.models.market import MarketPaths
from pivotsim.models.mining import KW_PER_MW, TH_PER_EH, asic_power_w, fleet_schedule, mining_cash_flows
from pivotsim.models.timeline import Timeline
from pivotsim.inputs import to_inputs

N_PATHS, N_MONTHS = 64, 60


def reference_mining_cash_flows(inputs, market, timeline):
    """The numpy mining_cash_flows of commit 8ef0411, frozen here as the reference.

    Its items and quantities (a dict of arrays broadcast to one shape) and its net.
    """
    btc, site, fin = inputs.bitcoin, inputs.site, inputs.finance
    efficiency, purchased_th_s, price_usd_per_th = fleet_schedule(btc, site.grid_power_mw, timeline)
    fleet_th_s = asic_power_w(btc, site.grid_power_mw) / efficiency
    hours = timeline.hours[None, :]
    hashrate = market.network_hashrate_eh_s
    shape = np.broadcast_shapes(hashrate.shape, market.btc_price_usd.shape, market.fees_btc_per_block.shape,
                                market.blocks.shape, market.power_price_usd_per_kwh.shape)
    fleet_th_s = np.broadcast_to(fleet_th_s, (fleet_th_s.shape[0], timeline.n_periods))
    shape = np.broadcast_shapes(shape, fleet_th_s.shape)
    btc_if_on = np.zeros(shape)
    network = np.sqrt(hashrate[:, 1:] * hashrate[:, :-1])
    month = btc_if_on[:, 1:]
    np.add(market.subsidy_btc_per_block[:, 1:], market.fees_btc_per_block[:, 1:], out=month)
    month *= market.blocks[:, 1:]
    month /= network
    month *= fleet_th_s[:, 1:] * ((1.0 - btc.pool_fee_share) * btc.uptime / TH_PER_EH)
    price = market.btc_price_usd
    revenue_if_on = np.zeros(shape)
    np.add(price[:, 1:], price[:, :-1], out=revenue_if_on[:, 1:])
    revenue_if_on *= 0.5
    revenue_if_on *= btc_if_on
    power_price = market.month_mean("power_price_usd_per_kwh")
    kwh_if_on = site.grid_power_mw * KW_PER_MW * hours * btc.uptime
    if btc.curtail_when_unprofitable:
        on = revenue_if_on >= kwh_if_on * power_price
        btc_mined = np.where(on, btc_if_on, 0.0)
        revenue = np.where(on, revenue_if_on, 0.0)
        grid_kwh = np.where(on, kwh_if_on, 0.0)
    else:
        btc_mined, revenue, grid_kwh = btc_if_on, revenue_if_on, kwh_if_on
    power = grid_kwh * power_price
    opex = (hours > 0) * (btc.opex_usd_per_mw_year * site.grid_power_mw / 12.0)
    asic_capex = purchased_th_s * price_usd_per_th
    at_start = (np.arange(timeline.n_periods) == 0)[None, :]
    infra_capex = at_start * (btc.infrastructure_capex_usd_per_mw * site.grid_power_mw)
    dep_asic = finance.straight_line_depreciation(asic_capex, round(fin.depreciation.asic_years * 12))
    dep_infra = finance.straight_line_depreciation(infra_capex, round(fin.depreciation.facility_years * 12))
    depreciation = dep_asic + dep_infra
    ebitda = revenue - (power + opex)
    tax = finance.tax_with_loss_carryforward(ebitda - depreciation, fin.tax_rate)
    terminal = np.zeros((1, timeline.n_periods))
    if fin.terminal_value == "book_value":
        at_end = (np.arange(timeline.n_periods) == timeline.n_periods - 1)[None, :]
        terminal = at_end * (finance.book_value(asic_capex, dep_asic)[:, -1:]
                             + finance.book_value(infra_capex, dep_infra)[:, -1:])
    capex = asic_capex + infra_capex
    net = (ebitda - tax) + (terminal - capex)
    shape = np.broadcast_shapes(revenue.shape, np.shape(opex), asic_capex.shape, np.shape(tax), terminal.shape)
    out = {
        "revenue_usd": revenue, "power_usd": -np.broadcast_to(power, shape),
        "opex_usd": -np.asarray(opex), "capex_usd": -capex, "tax_usd": -tax, "terminal_value_usd": terminal,
        "btc_mined": btc_mined, "grid_kwh": grid_kwh, "ebitda_usd": ebitda, "depreciation_usd": depreciation,
        "fleet_hashrate_th_s": fleet_th_s, "hashprice_usd_per_ph_day": market.hashprice_usd_per_ph_day,
    }
    return {k: np.broadcast_to(v, shape) for k, v in out.items()}, np.broadcast_to(net, shape)


@pytest.fixture(scope="module")
def base(iren):
    inputs = to_inputs(iren)
    inputs.finance.terminal_value = "book_value"  # the frozen reference knows book value and none
    timeline = Timeline(inputs.scenario.valuation_date, N_MONTHS)
    return inputs, timeline


def random_market(rng, n, n_periods, shared=()):
    """Market paths around today's levels; the series named in ``shared`` are one row for all paths."""
    def series(name, level, vol):
        rows = 1 if name in shared else n
        return level * np.exp(np.cumsum(rng.normal(0.0, vol, (rows, n_periods)), axis=1))

    blocks = np.full((1 if "blocks" in shared else n, n_periods), 4380.0)
    blocks *= rng.uniform(0.9, 1.1, blocks.shape)
    blocks[:, 0] = 0.0
    subsidy = np.where(np.arange(n_periods) < 30, 3.125, 1.5625) + np.zeros((1 if "subsidy" in shared else n, 1))
    subsidy[:, 0] = 0.0
    return MarketPaths(
        btc_price_usd=series("btc_price_usd", 110_000.0, 0.15),
        network_hashrate_eh_s=series("network_hashrate_eh_s", 1000.0, 0.05),
        fees_btc_per_block=series("fees_btc_per_block", 0.03, 0.3),
        power_price_usd_per_kwh=series("power_price_usd_per_kwh", 0.05, 0.1),
        blocks=blocks, block_height=np.cumsum(blocks, axis=1), subsidy_btc_per_block=subsidy,
        spot_subsidy_btc=3.125)


def per_path_bitcoin(inputs, rng, n):
    """The inputs with every number of ``bitcoin`` and ``site.grid_power_mw`` drawn per path (n, 1)."""
    out = copy.deepcopy(inputs)
    b = out.bitcoin
    draws = {"pue": (1.02, 1.3), "fleet_efficiency_j_per_th": (12.0, 30.0), "uptime": (0.8, 1.0),
             "pool_fee_share": (0.0, 0.03), "opex_usd_per_mw_year": (3e4, 9e4), "asic_price_usd_per_th": (5.0, 25.0),
             "new_asic_efficiency_j_per_th": (10.0, 15.0), "efficiency_improvement_per_year": (0.05, 0.3),
             "infrastructure_capex_usd_per_mw": (1e5, 6e5)}
    for name, (lo, hi) in draws.items():
        setattr(b, name, rng.uniform(lo, hi, (n, 1)))
    out.site.grid_power_mw = rng.uniform(50.0, 300.0, (n, 1))
    out.finance.tax_rate = rng.uniform(0.0, 0.35, (n, 1))
    return out


CASES = [
    # (curtail, terminal value, refresh months, buy at start, per-path inputs, market series shared by all paths)
    (False, "book_value", 48, True, False, ()),
    (True, "book_value", 48, True, False, ()),
    (True, "none", None, False, True, ("blocks", "subsidy")),
    (False, "book_value", 12, True, True, ("btc_price_usd", "power_price_usd_per_kwh")),
    (True, "book_value", 24, True, True, ("network_hashrate_eh_s", "fees_btc_per_block", "blocks", "subsidy")),
]


@pytest.mark.parametrize("curtail, terminal, refresh, buy, per_path, shared", CASES)
def test_compiled_months_match_the_numpy_reference(base, monkeypatch, curtail, terminal, refresh, buy, per_path,
                                                   shared):
    # The expected arrays come from the numpy formulas above (the code the kernel replaced);
    # the kernel does the same operations in the same order, so the tolerance is only ulp-level.
    # Passes of 7 paths: 64 paths take 10 passes, the last one shorter.
    monkeypatch.setattr(compiled, "ROWS_PER_PASS", 7)
    rng = np.random.default_rng(len(shared) + 10 * curtail + (refresh or 0))
    inputs, timeline = base
    inputs = per_path_bitcoin(inputs, rng, N_PATHS) if per_path else copy.deepcopy(inputs)
    inputs.bitcoin.curtail_when_unprofitable = curtail
    inputs.bitcoin.refresh_months = refresh
    inputs.bitcoin.fleet = "new" if buy else "existing"
    inputs.finance.terminal_value = terminal
    if not per_path:
        inputs.bitcoin.infrastructure_capex_usd_per_mw = 2e5
    market = random_market(rng, N_PATHS, timeline.n_periods, shared)
    if curtail:  # make curtailment bite: power dear enough that some months are switched off
        market.power_price_usd_per_kwh *= 1.5
    expected, expected_net = reference_mining_cash_flows(inputs, market, timeline)
    flows = mining_cash_flows(inputs, market, timeline)
    got = flows.items | flows.quantities
    assert sorted(got) == sorted(expected)
    for name, want in expected.items():
        assert got[name].shape == want.shape == (N_PATHS, timeline.n_periods), name
        np.testing.assert_allclose(got[name], want, rtol=1e-12, atol=0, err_msg=name)
    np.testing.assert_allclose(flows.net, expected_net, rtol=1e-12, atol=1e-6)
    if curtail:
        off = got["grid_kwh"][:, 1:] == 0.0
        assert 0 < off.mean() < 1  # the comparison covered both states
    # the items add up to the net (CashFlows contract), up to the rounding of a different order of sums
    np.testing.assert_allclose(sum(flows.items.values()), flows.net, rtol=1e-12, atol=1e-3)


def test_one_path_market_gives_the_base_case_shape(base):
    # The base case is the same engine with one path: every array is (1, n_periods).
    inputs, timeline = base
    market = random_market(np.random.default_rng(3), 1, timeline.n_periods)
    flows = mining_cash_flows(inputs, market, timeline)
    expected, net = reference_mining_cash_flows(inputs, market, timeline)
    for name, array in (flows.items | flows.quantities).items():
        assert array.shape == (1, timeline.n_periods), name
        np.testing.assert_allclose(array, expected[name], rtol=1e-12, atol=0, err_msg=name)
    np.testing.assert_allclose(flows.net, net, rtol=1e-12, atol=1e-6)


def test_a_path_does_not_depend_on_the_others(base):
    # Chunk invariance to the last bit: path 5 alone and among 40 others.
    inputs, timeline = base
    market = random_market(np.random.default_rng(9), 40, timeline.n_periods)
    alone = MarketPaths(**{k: (v[5:6] if isinstance(v, np.ndarray) else v) for k, v in vars(market).items()})
    together = mining_cash_flows(inputs, market, timeline)
    single = mining_cash_flows(inputs, alone, timeline)
    assert np.array_equal(together.net[5:6], single.net)
    for name in together.items:
        assert np.array_equal(together.items[name][5:6], single.items[name]), name


@pytest.mark.parametrize("curtail", [False, True])
def test_net_only_gives_the_same_net(base, monkeypatch, curtail):
    # net_only skips writing the lines out; the net is computed by the same operations, so equal to the bit.
    monkeypatch.setattr(compiled, "ROWS_PER_PASS", 7)
    rng = np.random.default_rng(21)
    inputs = per_path_bitcoin(base[0], rng, N_PATHS)
    inputs.bitcoin.curtail_when_unprofitable = curtail
    market = random_market(rng, N_PATHS, base[1].n_periods)
    full = mining_cash_flows(inputs, market, base[1])
    net_only = mining_cash_flows(inputs, market, base[1], net_only=True)
    assert np.array_equal(net_only.net, full.net)
    assert net_only.items == {} and net_only.quantities == {}
