"""Deal terms through the engine and the library (issue 14).

Origins: the economics of a delay under committed spending (the spending
keeps its schedule while revenue moves later, so value must fall); the value
bridge's definition (its parts add up to the NPV); iren_mining's mining cash
flows, which change sign several times (the issue found a spurious 26.1% IRR
beside a negative NPV); the schema's bounds for bad input.
"""

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

import pivotsim
from pivotsim.cli import app
from pivotsim.models.finance import BRIDGE_PARTS
from pivotsim.runs import base_case_metrics

from .conftest import SCENARIOS

runner = CliRunner()
LIBRARY = sorted(p for p in SCENARIOS.glob("*.yaml") if p.stem != "template")


def test_a_construction_delay_lowers_the_ai_npv():
    # IREN: the Dell order and the halls keep their schedule, revenue moves later, delay credits
    # accrue, and past the 6-month long-stop the customer cancels: the NPV falls at every step
    npv = [base_case_metrics(SCENARIOS / "iren.yaml",
                             overrides=[f"ai.risks.construction_delay_months={d}"])["ai"]["npv_usd"]
           for d in (0, 3, 6, 9, 12)]
    assert all(later < earlier for earlier, later in zip(npv, npv[1:])), npv


def test_the_delay_risk_lowers_the_monte_carlo_mean():
    scenario = pivotsim.load_scenario(SCENARIOS / "iren.yaml")
    with_delay = pivotsim.run(scenario, paths=4000).summary()
    without = pivotsim.run(scenario, paths=4000, overrides=["ai.risks.construction_delay_months=0"]).summary()
    # same seed, same market draws (common random numbers): the difference is the delay risk
    mean_with = with_delay["ai"]["monte_carlo"]["npv_usd"]["mean"]
    mean_without = without["ai"]["monte_carlo"]["npv_usd"]["mean"]
    sem = math.hypot(with_delay["ai"]["monte_carlo"]["npv_usd"]["sem"], without["ai"]["monte_carlo"]["npv_usd"]["sem"])
    assert mean_with < mean_without - 3 * sem
    assert with_delay["comparison"]["prob_ai_beats_bitcoin"] < without["comparison"]["prob_ai_beats_bitcoin"]


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_value_bridge_adds_up_to_the_npv(path):
    summary = pivotsim.run(pivotsim.load_scenario(path), paths=2000).summary()
    for business in ("bitcoin", "ai"):
        base = summary[business]["base"]
        mc = summary[business]["monte_carlo"]
        assert list(base["value_bridge"]) == list(BRIDGE_PARTS)
        financing = base["value_bridge"]["financing_usd"]
        if "debt" not in base:
            assert financing == 0.0 and mc["value_bridge_mean"]["financing_usd"] == 0.0
        # the parts before financing add up to the project's NPV; with the debt's part, to the NPV with debt
        assert sum(base["value_bridge"].values()) - financing == pytest.approx(base["npv_usd"], abs=0.01)
        assert sum(base["value_bridge"].values()) == pytest.approx(base.get("npv_with_financing_usd",
                                                                            base["npv_usd"]), abs=0.01)
        mean_financing = mc["value_bridge_mean"]["financing_usd"]
        assert sum(mc["value_bridge_mean"].values()) - mean_financing == pytest.approx(mc["npv_usd"]["mean"],
                                                                                       abs=0.01)
    assert summary["bitcoin"]["base"]["value_bridge"]["prepayment_financing_usd"] == 0.0


def test_iren_mining_has_no_spurious_irr():
    base = base_case_metrics(SCENARIOS / "iren_mining.yaml")["bitcoin"]
    # its cash flows change sign several times: several roots, so no IRR, and a MIRR that agrees
    # with the NPV's sign at the 15% discount rate
    assert base["irr"] is None or math.isnan(base["irr"])
    assert base["irr_note"] == "multiple"
    assert (base["npv_usd"] > 0) == (base["mirr"] > 0.15)


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_a_reported_irr_agrees_with_the_npv(path):
    rates = {"bitcoin": 0.15}
    metrics = base_case_metrics(path)
    scenario = pivotsim.load_scenario(path)
    rates["ai"] = scenario.finance.discount_rate_ai.value
    for business, m in metrics.items():
        if m["irr"] is not None and not math.isnan(m["irr"]):
            assert (m["npv_usd"] > 0) == (m["irr"] > rates[business]), (business, m["npv_usd"], m["irr"])
        assert (m["npv_usd"] > 0) == (m["mirr"] > rates[business])


def test_terminal_summary_and_run_folder_show_the_bridge(tmp_path):
    res = runner.invoke(app, ["run", str(SCENARIOS / "iren.yaml"), "--paths", "200", "--out", str(tmp_path)],
                        env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "Value bridge" in res.output and "Prepayment financing" in res.output
    folder = next(tmp_path.iterdir())
    assert (folder / "value_bridge.png").stat().st_size > 10_000
    summary = json.loads((folder / "summary.json").read_text())
    assert set(summary["ai"]["base"]["value_bridge"]) == set(BRIDGE_PARTS)
    assert set(summary["ai"]["monte_carlo"]["value_bridge_mean"]) == set(BRIDGE_PARTS)


@pytest.mark.parametrize("override, field", [
    ("ai.prepayment_credit_start_month=61", "ai.prepayment_credit_start_month"),  # after the 60-month term
    ("ai.long_stop_months=-1", "ai.long_stop_months"),                            # a long-stop before delivery
    ("ai.delay_credit_cap_share=1.5", "ai.delay_credit_cap_share"),               # a cap above 1
    ("ai.gpu_resale_haircut_share=-0.1", "ai.gpu_resale_haircut_share"),          # a negative haircut
    ("ai.phases.0.rent_commencement_month=2", "ai.phases.0.rent_commencement_month"),  # gpu_cloud has none
    ("finance.terminal_value=economic", None),                                    # fine: iren.yaml gives the hall value
])
def test_bad_deal_terms_are_one_line_errors(override, field, tmp_path):
    res = runner.invoke(app, ["run", str(SCENARIOS / "iren.yaml"), "--set", override, "--paths", "20", "--json",
                              "--no-figures", "--out", str(tmp_path)])
    if field is None:
        assert res.exit_code == 0, res.output
        return
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0], lines
    assert "Traceback" not in res.output


def test_economic_terminal_value_needs_the_hall_value(tmp_path):
    text = (SCENARIOS / "cipher_aws.yaml").read_text(encoding="utf-8")
    start = text.index("  terminal_hall_value_usd_per_mw:")
    end = text.index("\n", text.index("assumption:", start)) + 1
    bad = tmp_path / "no_hall_value.yaml"
    bad.write_text(text[:start] + text[end:], encoding="utf-8")
    res = runner.invoke(app, ["validate", str(bad)])
    assert res.exit_code == 2
    assert "finance.terminal_hall_value_usd_per_mw" in res.stderr and len(res.stderr.strip().splitlines()) == 1
