"""Named cases (pivotsim.analysis.cases): a case is exactly `pivotsim run --set ...` with the same seed."""

from pathlib import Path

import pytest

from pivotsim.analysis.cases import BASE_CASE, Case, evaluate_cases, ordered, parse_cases
from pivotsim.errors import ScenarioError

from pivotsim.runs import run

from pivotsim.scenario import load_scenario

IREN = "scenarios/iren.yaml"
CASES = {
    "bull": {"overrides": ["market.btc_price_usd=150000"], "assumption": "BTC back at its high"},
    "bear": {"overrides": ["market.btc_price_usd=70000", "ai.risks.capex_overrun_multiplier=1.3"],
             "assumption": "BTC at its 2024 range, AI halls 30% over budget"},
}


def test_parse_cases_reads_overrides_and_assumption():
    cases = parse_cases(CASES)
    assert cases["bull"] == Case(overrides=["market.btc_price_usd=150000"], assumption="BTC back at its high")
    assert ordered(["bull", "other", "base", "bear"]) == ["bear", "base", "bull", "other"]


@pytest.mark.parametrize("data, where", [
    ({"base": {"overrides": ["a=1"], "assumption": "x"}}, "cases.base"),
    ({"Bull": {"overrides": ["a=1"], "assumption": "x"}}, "cases"),
    ({"bull": {"overrides": [], "assumption": "x"}}, "cases.bull.overrides"),
    ({"bull": {"overrides": ["a=1"]}}, "cases.bull.assumption"),
    ({"bull": {"overrides": ["a=1"], "assumption": "x", "why": "typo"}}, "cases.bull.why"),
])
def test_bad_cases_name_the_field(data, where):
    with pytest.raises(ScenarioError) as info:
        parse_cases(data)
    assert info.value.path == where


def test_override_the_scenario_rejects_is_named_before_any_run():
    calls = []
    scenario = load_scenario(IREN)
    bad = {"bear": {"overrides": ["market.btc_price_usd=-5"], "assumption": "x"}}
    with pytest.raises(ScenarioError) as info:
        evaluate_cases(scenario, bad, run=lambda *a, **k: calls.append(1), paths=2000, seed=1)
    assert info.value.path == "cases.bear.overrides.0"
    assert calls == []


def test_case_equals_run_with_the_same_overrides():
    scenario = load_scenario(IREN)
    results = {r.name: r for r in evaluate_cases(scenario, CASES, run=run, paths=2000, seed=7)}
    assert list(results) == ["bear", BASE_CASE, "bull"]
    # origin: the same run done by hand, as `pivotsim run --set ... --paths 2000 --seed 7`
    by_hand = run(scenario, paths=2000, seed=7, overrides=CASES["bear"]["overrides"]).summary()
    bear = results["bear"]
    assert bear.ai_npv_usd == by_hand["ai"]["base"]["npv_usd"]
    assert bear.bitcoin_npv_usd == by_hand["bitcoin"]["base"]["npv_usd"]
    assert bear.prob_ai_beats_bitcoin == by_hand["comparison"]["prob_ai_beats_bitcoin"]
    assert bear.mean_npv_difference_usd == by_hand["comparison"]["npv_difference_usd"]["mean"]
    base = run(scenario, paths=2000, seed=7).summary()
    assert results[BASE_CASE].npv_difference_usd == base["ai"]["base"]["npv_usd"] - base["bitcoin"]["base"]["npv_usd"]
    # economics: a higher BTC price raises mining's NPV; AI's is untouched by it (gpu_cloud, fixed power)
    assert results["bull"].bitcoin_npv_usd > results[BASE_CASE].bitcoin_npv_usd > results["bear"].bitcoin_npv_usd
    assert results["bull"].ai_npv_usd == results[BASE_CASE].ai_npv_usd
    # a capex overrun lowers the AI NPV
    assert results["bear"].ai_npv_usd < results[BASE_CASE].ai_npv_usd
    assert results["bull"].prob_ai_beats_bitcoin < results[BASE_CASE].prob_ai_beats_bitcoin


def test_base_summary_is_reused_not_rerun():
    scenario = load_scenario(IREN)
    base = run(scenario, paths=2000, seed=7).summary()
    calls = []

    def counting_run(s, **kw):
        calls.append(s)
        return run(s, **kw)

    evaluate_cases(scenario, {"bull": CASES["bull"]}, run=counting_run, paths=2000, seed=7, base_summary=base)
    assert len(calls) == 1


def _scenario_with_cases(tmp_path, cases_yaml: str):
    text = Path(load_scenario(IREN).file).read_text(encoding="utf-8").split("\ncases:")[0]  # the file's own cases out
    text = text.rsplit("\n# Named cases", 1)[0] + "\n" + cases_yaml
    path = tmp_path / "iren_cases.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_cases_in_the_scenario_file(tmp_path):
    path = _scenario_with_cases(tmp_path, """cases:
  bull:
    overrides: ["market.btc_price_usd=123443"]
    assumption: "BTC at its 2025 high"
    source: CM
""")
    scenario = load_scenario(path)
    assert scenario.cases["bull"].overrides == ["market.btc_price_usd=123443"]
    results = evaluate_cases(scenario, run=run, paths=2000, seed=1)
    assert [r.name for r in results] == [BASE_CASE, "bull"]
    assert results[1].assumption == "BTC at its 2025 high"


@pytest.mark.parametrize("cases_yaml, where, message", [
    ("cases:\n  bear:\n    overrides: ['market.btc_price_usd=-1']\n    assumption: x\n",
     "cases.bear.overrides.0", "'market.btc_price_usd=-1'"),
    ("cases:\n  bear:\n    overrides: ['market.btc_drift_per_year=0', 'market.btc_price_usd=-1',"
     " 'market.btc_price_usd=-2']\n    assumption: x\n",
     "cases.bear.overrides.1", "'market.btc_price_usd=-1'"),  # validated together, the first refused alone named
    ("cases:\n  base:\n    overrides: ['market.btc_price_usd=1']\n    assumption: x\n", "cases.base", "'base' is"),
    ("cases:\n  bull:\n    overrides: ['market.btc_price_usd=1']\n    assumption: x\n    source: NOPE\n",
     "cases.bull.source", "'NOPE'"),
])
def test_a_bad_case_in_the_file_is_named_at_load(tmp_path, cases_yaml, where, message):
    with pytest.raises(ScenarioError) as info:
        load_scenario(_scenario_with_cases(tmp_path, cases_yaml))
    assert where in str(info.value) and message in str(info.value)
