"""The deal library: every shipped scenario, its provenance, and its terms against the sources.

Expected deal terms come from the source texts in ../shared/sources (ids
000-004) or from the secondary sources each scenario cites (URLs in the
scenario's `sources` section).
"""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import pivotsim
from pivotsim.scenario.provenance import provenance_table, unit_of, unused_sources
from pivotsim.cli import app
from pivotsim.models.hosting import contract_terms, critical_it_mw
from pivotsim.inputs import to_inputs

from .conftest import SCENARIOS

runner = CliRunner()
SHIPPED = sorted(SCENARIOS.glob("*.yaml"))
DEALS = ["cipher_aws", "cipher_fluidstack", "core_scientific_coreweave", "galaxy_coreweave", "iren",
         "iren_mining", "iren_timing", "terawulf_fluidstack"]


def load(stem):
    return pivotsim.load_scenario(SCENARIOS / f"{stem}.yaml")


def test_library_is_complete():
    assert {p.stem for p in SHIPPED} == set(DEALS) | {"template"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_scenario_validates_runs_and_is_traced(path, tmp_path):
    res = runner.invoke(app, ["validate", str(path)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["run", str(path), "--paths", "20", "--json", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["ai"]["base"]["total_revenue_usd"] > 0
    assert summary["bitcoin"]["base"]["btc_mined"] > 0
    res = runner.invoke(app, ["sources", "--check", str(path)])
    assert res.exit_code == 0, res.output
    table = provenance_table(pivotsim.load_scenario(path))
    # every number written in the file is traced; none is left to a silent default
    assert set(table["kind"]) <= {"source", "assumption"}, table[~table["kind"].isin(["source", "assumption"])]
    assert (table["unit"] != "").all(), table[table["unit"] == ""]["path"].tolist()


def test_sources_check_over_the_whole_library():
    res = runner.invoke(app, ["sources", "--check", *map(str, SHIPPED)])
    assert res.exit_code == 0, res.output
    assert res.output.count("ok: ") == len(SHIPPED)


def test_sources_check_lists_bare_numbers_and_exits_2(tmp_path):
    text = (SCENARIOS / "cipher_aws.yaml").read_text(encoding="utf-8")
    old = ('  grid_power_mw:\n    value: 300\n    source: CIFR_Q3\n    note: "the 300 MW is gross capacity (CIFR_Q3): '
           'critical IT = 300 / PUE 1.3 = 231 MW; mining is valued on the same 300 MW of grid power"\n')
    assert old in text
    text = text.replace(old, "  grid_power_mw: 300\n")
    text = text.replace('  pool_fee_share:\n    value: 0.01\n    assumption: "typical FPPS pool fee for large miners"\n',
                        '  pool_fee_share: {value: 0.01, note: "no reason given"}\n')
    bad = tmp_path / "bare.yaml"
    bad.write_text(text, encoding="utf-8")
    res = runner.invoke(app, ["sources", "--check", str(bad), str(SCENARIOS / "iren.yaml")])
    assert res.exit_code == 2
    errors = res.stderr.strip().splitlines()
    assert len(errors) == 2, errors
    line = next(i for i, l in enumerate(text.splitlines(), 1) if l == "  grid_power_mw: 300")
    assert f"{bad}:{line}: site.grid_power_mw: 300 has no source or assumption" in errors[0]
    assert "bitcoin.pool_fee_share: 0.01" in errors[1]
    assert "ok: " in res.stdout  # the good file is still reported


def test_sources_table_shows_sources_units_and_defaults():
    res = runner.invoke(app, ["sources", str(SCENARIOS / "terawulf_fluidstack.yaml")], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "ai.contract_value_usd" in res.output and "$3.70B" in res.output
    assert "WULF_BS" in res.output and "blockspace.media" in res.output
    # a field left out of the file is listed as a schema default, not as traced
    scenario = load("iren")
    table = provenance_table(scenario)
    assert "ai.tenant_funded_capex_usd" not in set(table["path"])  # gpu_cloud has no such field
    data = json.loads(runner.invoke(app, ["sources", "--json", str(SCENARIOS / "iren.yaml")]).stdout)
    row = next(r for r in data[str(SCENARIOS / "iren.yaml")]["numbers"] if r["path"] == "ai.contract_value_usd")
    assert row["source_id"] == "S000" and row["value"] == 9.7e9 and row["unit"] == "USD"


def test_default_fields_are_reported_as_defaults(tmp_path):
    text = (SCENARIOS / "template.yaml").read_text(encoding="utf-8")
    start = text.index("  backstop_usd:")
    end = text.index("  power_pass_through:")
    path = tmp_path / "t.yaml"
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    table = provenance_table(pivotsim.load_scenario(path))
    row = table[table["path"] == "ai.backstop_usd"].iloc[0]
    assert row["kind"] == "default" and row["value"] == 0.0
    assert runner.invoke(app, ["sources", "--check", str(path)]).exit_code == 0


def test_units_and_distribution_text():
    assert unit_of("ai.rent_usd_per_kw_month") == "USD/kW-month"
    assert unit_of("site.power_price_usd_per_kwh") == "USD/kWh"
    assert unit_of("bitcoin.opex_usd_per_mw_year") == "USD/MW/yr"
    assert unit_of("ai.phases.1.online_month") == "month index"
    assert unit_of("ai.prepayment_share") == "fraction"
    assert unit_of("market.btc_volatility_per_year") == "per year"
    # a number written as a distribution shows it in the provenance table (the Distribution's own text)
    iren = pivotsim.load_scenario(SCENARIOS / "iren.yaml")
    table = provenance_table(iren)
    row = table[table["path"] == "ai.gpu_residual_share"].iloc[0]
    assert row["distribution"] == "pert(low=0.03, mode=0.15, high=0.35), base 0.15"
    assert (table[table["path"] == "site.grid_power_mw"]["distribution"] == "").all()


def test_provenance_table_shows_distributions():
    scenario = load("cipher_aws").with_overrides(
        ["market.btc_volatility_per_year={dist: uniform, low: 0.4, high: 0.7}"])
    table = provenance_table(scenario)
    vol = table[table["path"] == "market.btc_volatility_per_year"].iloc[0]
    assert vol["distribution"] == "uniform(low=0.4, high=0.7), base 0.55"  # median of U(0.4, 0.7)
    assert vol["value"] == pytest.approx(0.55)
    assert (table[table["path"] != "market.btc_volatility_per_year"]["distribution"] == "").all()


def test_every_defined_source_is_cited():
    for stem in DEALS:
        assert unused_sources(load(stem)) == [], stem


def _first_revenue_date(stem):
    result = pivotsim.run(load(stem), paths=1, seed=0)
    ai = result.cashflows().query("business == 'ai'")
    first = ai[ai.revenue_usd > 0].iloc[0]
    return first.date, result


# ---------------------------------------------------------------- deal terms against their sources

def test_cipher_aws_terms():
    inputs = to_inputs(load("cipher_aws"))
    terms = contract_terms(inputs)
    # 001: 15-year lease worth $5.5B, 300 MW; CIFR_Q3: the 300 MW is gross, delivered from July 2026,
    # rent from August 2026
    assert terms["contract_value_usd"] == pytest.approx(5.5e9)
    assert inputs.ai.term_months == 180
    assert inputs.site.grid_power_mw == 300
    it_mw = 300 / 1.3
    assert critical_it_mw(inputs) == pytest.approx(it_mw)
    # $5.5B / 15 yr / 230,769 kW / 12 = $132.4 per kW-month of critical IT ($101.85 per kW of the 300 MW gross)
    assert terms["annual_revenue_usd"] / (it_mw * 1e3 * 12) == pytest.approx(132.4, abs=0.05)
    assert inputs.ai.phases[0].online_month == 8 and inputs.ai.phases[0].rent_commencement_month == 9
    date, result = _first_revenue_date("cipher_aws")
    # column dates are month ends after 2025-11-01: the month of August 2026 ends in column 2026-09-01
    assert str(date) == "2026-09-01"
    base = result.summary()["ai"]["base"]
    assert base["revenue_usd_per_kwh_critical_it"] == pytest.approx(5.5e9 / (it_mw * 1e3 * 15 * 8766), rel=2e-3)


def test_cipher_fluidstack_terms():
    inputs = to_inputs(load("cipher_fluidstack"))
    terms = contract_terms(inputs)
    # 002: ten years; CIFR_FS: 168 MW critical IT, 244 MW gross; 004: $3B, $1.4B backstop
    assert terms["contract_value_usd"] == pytest.approx(3.0e9)
    assert inputs.ai.term_months == 120
    assert inputs.site.grid_power_mw == 244
    assert critical_it_mw(inputs) == pytest.approx(168.0, abs=0.01)
    assert inputs.ai.backstop_usd == 1.4e9


def test_terawulf_terms():
    inputs = to_inputs(load("terawulf_fluidstack"))
    # 004: $3.7B with a $1.8B backstop; WULF_BS: two 10-year leases, 200+ MW critical IT,
    # 40 MW first; WULF_CD: ~250 MW gross
    assert contract_terms(inputs)["contract_value_usd"] == pytest.approx(3.7e9)
    assert inputs.ai.backstop_usd == 1.8e9
    assert inputs.ai.term_months == 120
    assert inputs.site.grid_power_mw == 250 and critical_it_mw(inputs) == pytest.approx(200.0)
    assert [p.share for p in inputs.ai.phases] == [0.2, 0.8]


def test_core_scientific_terms():
    inputs = to_inputs(load("core_scientific_coreweave"))
    # 004: $8.7B over 12 years, CoreWeave funds $180M; CORZ_SEC: ~500 MW critical IT
    assert contract_terms(inputs)["contract_value_usd"] == pytest.approx(8.7e9)
    assert inputs.ai.term_months == 144
    assert inputs.ai.tenant_funded_capex_usd == 180e6
    assert critical_it_mw(inputs) == pytest.approx(500.0)
    result = pivotsim.run(load("core_scientific_coreweave"), paths=1, seed=0)
    ai = result.cashflows().query("business == 'ai'")
    # facility capex = $10M/MW x 500 MW less the tenant's $180M
    assert -ai.capex_usd.sum() == pytest.approx(10e6 * 500 - 180e6)
    assert ai.power_usd.sum() == 0.0  # power passed through


def test_galaxy_terms():
    inputs = to_inputs(load("galaxy_coreweave"))
    # 004: 15-year lease, > $1B annual revenue; GLXY_REL: ~526 MW critical IT (133 + 260 + 133) of the
    # 800 MW of approved power
    assert inputs.ai.term_months == 180
    assert contract_terms(inputs)["annual_revenue_usd"] == pytest.approx(1.0e9)
    assert critical_it_mw(inputs) == pytest.approx(526.0)
    assert [p.share * 526 for p in inputs.ai.phases] == pytest.approx([133, 260, 133], abs=0.01)
    # $1B a year on 526,000 kW: $158.4 per kW-month (it would be $104.2 on 800 MW)
    assert contract_terms(inputs)["annual_revenue_usd"] / (526e3 * 12) == pytest.approx(158.4, abs=0.05)
    # flat rent: the contract is 15 x $1B
    assert contract_terms(inputs)["contract_value_usd"] == pytest.approx(15e9)


def test_iren_mining_fleet_is_the_published_one():
    inputs = to_inputs(load("iren_mining"))
    # IREN_TS2: 50 EH/s at ~15 J/TH on 810 MW; ASIC power = 810 MW / 1.08 = 750 MW
    fleet_eh_s = inputs.site.grid_power_mw / inputs.bitcoin.pue * 1e6 / inputs.bitcoin.fleet_efficiency_j_per_th / 1e6
    assert fleet_eh_s == pytest.approx(50.0)
    assert inputs.bitcoin.fleet == "existing"
    # the nominal AI side is the Cipher-AWS rent per kW of critical IT: $5.5B / (180 months x 300,000 / 1.3 kW)
    assert inputs.ai.rent_usd_per_kw_month == pytest.approx(5.5e9 / (180 * 300e3 / 1.3), abs=0.01)


def test_mining_refresh_costs_the_same_per_watt():
    # iren.yaml: 240 MW / PUE 1.05 of ASICs, bought at t = 0 at 15 J/TH and $15/TH ($1.00/W),
    # refreshed every 48 months at the t = 0 price per watt of 13.5 J/TH ASICs ($15/13.5 per W)
    scenario = load("iren").with_overrides(["scenario.horizon_months=120"])
    cf = pivotsim.run(scenario, paths=1, seed=0).cashflows().query("business == 'bitcoin'")
    asic_w = 240e6 / 1.05
    capex = -cf.capex_usd.to_numpy()
    assert capex[0] == pytest.approx(asic_w / 15 * 15)
    assert capex[48] == pytest.approx(asic_w * 15 / 13.5)
    assert capex[96] == pytest.approx(asic_w * 15 / 13.5)
    assert np.count_nonzero(capex) == 3
