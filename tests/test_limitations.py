"""Limitations written from the scenario's switches (pivotsim.output.limitations), never a fixed sentence."""

from pivotsim.output.limitations import model_statements
from pivotsim.inputs import to_inputs
from pivotsim.scenario import load_scenario

STALE = "a network hashrate that responds to miners' margins, fee and power-price dynamics over time"


def _statements(name="iren", overrides=()):
    return model_statements(to_inputs(load_scenario(f"scenarios/{name}.yaml", overrides)))


def test_iren_note_says_what_its_switches_turn_on():
    s = _statements()
    text = " ".join(s.modelled + s.not_modelled)
    assert STALE not in text.lower()
    # iren.yaml: hashrate_model response, price_model merton, fee and power volatility > 0
    assert any("responds to miners' margins" in m for m in s.modelled)
    assert any(m.startswith("BTC price: jump diffusion") for m in s.modelled)
    assert any(m.startswith("Fees per block revert") for m in s.modelled)
    assert any(m.startswith("Power price reverts") for m in s.modelled)
    assert not any("hashrate" in m for m in s.not_modelled)
    # delay and overrun are distributions in iren.yaml; no default hazard; no debt
    assert any("construction delay and capex overrun" in m for m in s.modelled)
    assert any(m.startswith("Tenant default:") for m in s.not_modelled)
    # iren.yaml carries the project debt of the GPU financing
    assert any(m.startswith("Project debt of the AI side") for m in s.modelled)
    assert not any(m.startswith("Debt:") for m in s.not_modelled)


def test_switching_a_process_off_moves_its_sentence():
    s = _statements(overrides=["market.hashrate_model=exogenous", "market.hashrate_growth_per_year=0.3",
                               "market.fee_volatility_per_year=0", "market.fee_spike_probability_per_month=0",
                               "market.power_price_volatility_per_year=0", "market.price_model=gbm",
                               "bitcoin.curtail_when_unprofitable=true"])
    assert any("responds to miners' margins" in m for m in s.not_modelled)
    assert any(m.startswith("Network hashrate grows 30%") for m in s.modelled)
    assert any(m.startswith("Fee dynamics") for m in s.not_modelled)
    assert any(m.startswith("Power-price dynamics") for m in s.not_modelled)
    assert any(m.startswith("BTC price: lognormal (GBM)") for m in s.modelled)
    assert any(m.startswith("Mining switches off") for m in s.modelled)
    assert not any(m.startswith("Economic curtailment") for m in s.not_modelled)


def test_default_risk_sentence_follows_the_hazard():
    s = _statements(overrides=["ai.risks.default_hazard_per_month=0.002"])
    assert any(m.startswith("Tenant default with recovery") for m in s.modelled)
    assert not any(m.startswith("Tenant default:") for m in s.not_modelled)


def test_framing_existing_or_new_fleet():
    assert any("new fleet bought at replacement cost" in m for m in _statements().modelled)
    s = _statements(overrides=["bitcoin.fleet=existing"])
    assert any("existing fleet" in m for m in s.modelled)


def test_debt_and_option_sentences_follow_the_scenario():
    s = _statements("cipher_aws")
    assert any(m.startswith("Debt:") for m in s.not_modelled)
    assert any(m.startswith("The option to wait") for m in s.not_modelled)
    s = _statements("iren_timing")
    assert any(m.startswith("The option to convert later") for m in s.modelled)


def test_terminal_value_sentence_follows_the_setting():
    book = _statements(overrides=["finance.terminal_value=book_value"])
    assert any(m.startswith("Assets still owned at the horizon are counted at book value") for m in book.modelled)
    none = _statements(overrides=["finance.terminal_value=none"])
    assert any(m.startswith("Terminal value: nothing") for m in none.not_modelled)
    economic = _statements(overrides=["finance.terminal_value=economic", "finance.terminal_hall_value_usd_per_mw=2e6"])
    assert any("economic value" in m and "$2.00M per MW" in m for m in economic.modelled)
    assert not any(m.startswith("Terminal value") for m in economic.not_modelled)


def test_deal_terms_as_signed():
    s = _statements()
    # iren.yaml: 20% prepayment credited from service month 25, delay credits 10%/month capped at 2%, 6-month long-stop
    assert "Customer prepayment of 20% of the contract value, credited against invoices from service month 25." \
        in s.modelled
    assert any(m.startswith("Delay credits: 10% of a late tranche's monthly invoice") and "at most 2%" in m
               for m in s.modelled)
    assert any(m.startswith("The customer may terminate a tranche more than 6 months late") for m in s.modelled)
    assert not any("Delay credits" in m for m in _statements("cipher_aws").modelled)
