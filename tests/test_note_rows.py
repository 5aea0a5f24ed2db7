"""The decision rows of the note (pivotsim.output.note): every figure is the summary's, formatted as in the terminal."""

import copy

from pivotsim.analysis.cases import CaseResult
from pivotsim.output.note import answer_sentence, axis_value, cases_rows, headline_rows

SUMMARY = {
    "paths": 10_000,
    "bitcoin": {"base": {"npv_usd": -127.06e6, "irr": -0.165, "payback_months": None, "peak_funding_usd": 323.17e6},
                "monte_carlo": {"npv_usd": {"mean": -152.64e6, "p5": -407.14e6, "p50": -174.61e6, "p95": 179.68e6},
                                "prob_npv_negative": 0.818}},
    "ai": {"base": {"npv_usd": 141.10e6, "irr": 0.131, "payback_months": 63.1, "peak_funding_usd": 5.37e9},
           "monte_carlo": {"npv_usd": {"mean": 127.20e6, "p5": -145.76e6, "p50": 123.65e6, "p95": 408.95e6},
                           "prob_npv_negative": 0.235}},
    "comparison": {"npv_difference_usd": {"mean": 279.84e6, "p5": -139.48e6, "p50": 291.68e6, "p95": 656.59e6},
                   "prob_ai_beats_bitcoin": 0.877, "breakeven_btc_price_usd": 330_780.49},
}


def test_answer_names_the_winner_the_amount_and_the_probability():
    text = answer_sentence(SUMMARY, 240)
    assert text.startswith("AI hosting is worth $268.16M more than bitcoin mining on these 240 MW")
    assert "87.7% of 10,000 Monte Carlo paths" in text and "mean difference $279.84M" in text


def test_answer_when_mining_wins_uses_mining_probability():
    s = copy.deepcopy(SUMMARY)
    s["ai"]["base"]["npv_usd"] = -200e6
    s["comparison"]["prob_ai_beats_bitcoin"] = 0.2
    text = answer_sentence(s, 240)
    assert text.startswith("Bitcoin mining is worth $72.94M more than AI hosting")
    assert "(neither earns its cost of capital)" in text
    assert "mining comes out ahead on 80.0%" in text


def test_headline_rows_add_financing_and_timing_only_when_present():
    rows = headline_rows(SUMMARY)
    labels = [r[0] for r in rows]
    assert rows[1] == ["NPV, base case", "-$127.06M", "$141.10M", "$268.16M"]
    assert "Equity IRR, base case" not in labels and "Option value of waiting" not in labels
    assert rows[-1] == ["Break-even BTC price (mining = AI)", "$330,780", "", ""]
    s = copy.deepcopy(SUMMARY)
    s["ai"]["base"]["equity"] = {"irr": 0.182}
    s["ai"]["base"]["debt"] = {"min_dscr": 1.31}
    rows = headline_rows(s, {"timing": {"option_value_usd": 42e6}})
    by_label = {r[0]: r for r in rows}
    assert by_label["Equity IRR, base case"][2] == "18.2%"
    assert by_label["Minimum DSCR, base case"][2] == "1.31x"
    assert by_label["Option value of waiting"][3] == "$42.00M"


def test_cases_rows():
    cases = [CaseResult("bear", "BTC at $70k", ("market.btc_price_usd=70000",), -300e6, 100e6, 400e6, 410e6, 0.95),
             CaseResult("base", "scenario as written", (), -127.06e6, 141.10e6, 268.16e6, 279.84e6, 0.877)]
    rows = cases_rows(cases)
    assert rows[0][:3] == ["Case", "Assumption", "Mining NPV"]
    assert rows[1] == ["Bear", "BTC at $70k", "-$300.00M", "$100.00M", "$400.00M", "$410.00M", "95.0%"]


def test_axis_values_have_no_exponent():
    assert axis_value("ai.datacenter_capex_usd_per_mw", 8e6) == "$8.00M/MW"
    assert axis_value("ai.contract_value_usd", 1.164e10) == "$11.64B"
    assert axis_value("site.power_price_usd_per_kwh", 0.04) == "$0.040/kWh"
    assert axis_value("ai.rent_usd_per_kw_month", 145.5) == "$145.50/kW-month"
    assert "e+" not in axis_value("market.difficulty", 1.4e14)
