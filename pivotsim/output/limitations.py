"""What a note says the model does and does not do, written from the scenario's own switches.

A fixed "not modelled" paragraph goes stale the day a feature lands (a note
once said the hashrate did not respond to margins while its own assumptions
table showed ``hashrate_model: response``).  Here every sentence is chosen
from the inputs tree the run used: the price and hashrate models, the fee
and power processes, curtailment, the fleet framing, the deal's risks, the
terminal value, financing and the timing option.  A switch that is on gives
a sentence of what is modelled; one that is off gives a sentence of what is
not, in the note's words.

Plain sentences (no markup, no dotted paths): the PDF escapes and styles them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._version import __version__
from ..formatting import money


@dataclass
class ModelStatements:
    """Sentences on the model as this run used it.

    Attributes
    ----------
    modelled : list of str
        What the run includes, with its setting ("BTC price: jump diffusion, 14.9 jumps a year ...").
    not_modelled : list of str
        What it leaves out, given its switches.
    """

    modelled: list[str] = field(default_factory=list)
    not_modelled: list[str] = field(default_factory=list)


def _value(x) -> float:
    return float(np.asarray(x, dtype=float).ravel()[0])


def _uncertain(inputs, path: str) -> bool:
    spec = getattr(inputs, "uncertainty", None)
    return spec is not None and path in getattr(spec, "distributions", {})


def _price_sentence(market) -> str:
    vol = _value(market.btc_volatility_per_year)
    drift = _value(market.btc_drift_per_year)
    if market.price_model == "merton":
        return (f"BTC price: jump diffusion (Merton), drift {drift:.0%} and diffusion volatility {vol:.0%} a year, "
                f"{_value(market.btc_jump_intensity_per_year):.1f} jumps a year on average.")
    if market.price_model == "bootstrap":
        return (f"BTC price: block bootstrap of historical monthly returns, blocks of "
                f"{_value(market.bootstrap_block_months):.0f} months, recentred to a {drift:.0%} drift.")
    return f"BTC price: lognormal (GBM), drift {drift:.0%} and volatility {vol:.0%} a year, no jumps."


def _hashrate_sentence(market) -> tuple[str, str | None]:
    if market.hashrate_model == "response":
        return (f"Network hashrate responds to miners' margins with a "
                f"{_value(market.hashrate_response_lag_months):.0f}-month lag: it falls after a halving or a "
                "price fall as the marginal miner switches off, and the efficiency frontier improves by "
                f"{_value(market.efficiency_frontier_decline_per_year):.0%} a year.", None)
    growth = _value(market.hashrate_growth_per_year)
    return (f"Network hashrate grows {growth:.0%} a year on average with noise.",
            "A network hashrate that responds to miners' margins (the scenario uses exogenous growth).")


def _fees_sentence(market) -> tuple[str | None, str | None]:
    vol = _value(market.fee_volatility_per_year)
    spikes = _value(market.fee_spike_probability_per_month)
    if vol == 0 and spikes == 0:
        return None, "Fee dynamics: fees per block stay at their level at the valuation date."
    parts = [f"Fees per block revert to their long-run level with volatility {vol:.0%} a year"]
    if spikes > 0:
        parts.append(f"spikes in {spikes:.1%} of months")
    return ", ".join(parts) + ".", None


def _power_sentence(market) -> tuple[str | None, str | None]:
    vol = _value(market.power_price_volatility_per_year)
    if vol == 0:
        return None, "Power-price dynamics: the site pays its contracted power price in every month."
    rho = _value(market.power_price_btc_correlation)
    link = f", correlated {rho:+.2f} with BTC price shocks" if rho else ", independent of the BTC price"
    return (f"Power price reverts to its long-run level with volatility {vol:.0%} a year{link}.", None)


def _mining_sentences(bitcoin) -> tuple[list[str], list[str]]:
    modelled, not_modelled = [], []
    if bitcoin.curtail_when_unprofitable:
        modelled.append("Mining switches off in months whose revenue per kWh is below the power price.")
    else:
        not_modelled.append("Economic curtailment: the fleet mines in every month, profitable or not.")
    if bitcoin.fleet == "new":
        modelled.append("Mining is valued as a new fleet bought at replacement cost at the valuation date.")
    else:
        modelled.append("Mining is valued on the existing fleet (its ASICs are sunk; only refreshes are bought; "
                        "the AI side collects their resale value when it converts the site).")
    refresh = getattr(bitcoin, "refresh_months", None)
    if refresh:
        modelled.append(f"The fleet is replaced every {_value(refresh):.0f} months at the efficiency frontier.")
    return modelled, not_modelled


def _deal_term_sentences(ai) -> list[str]:
    """The contract's own terms, as signed, where the scenario sets them."""
    out = []
    share = _value(getattr(ai, "prepayment_share", 0.0) or 0.0)
    if share > 0:
        start = getattr(ai, "prepayment_credit_start_month", None)
        credit = (f", credited against invoices from service month {_value(start):.0f}" if start is not None
                  else ", credited against invoices over the term")
        out.append(f"Customer prepayment of {share:.0%} of the contract value{credit}.")
    credit = _value(getattr(ai, "delay_credit_share_per_month", 0.0) or 0.0)
    if credit > 0:
        cap = getattr(ai, "delay_credit_cap_share", None)
        cap_text = (f", at most {_value(cap):.0%} of the tranche's contract value" if cap is not None
                    and _value(cap) < 1 else "")
        out.append(f"Delay credits: {credit:.0%} of a late tranche's monthly invoice per month late{cap_text}.")
    long_stop = getattr(ai, "long_stop_months", None)
    if long_stop is not None:
        after = {"release": "the capacity is re-leased at the market rate",
                 "sell_gpus": "the GPUs are sold"}.get(getattr(ai, "on_termination", None), "the contract ends")
        out.append(f"The customer may terminate a tranche more than {_value(long_stop):.0f} months late; then "
                   f"{after}.")
    return out


def _risk_sentences(inputs) -> tuple[list[str], list[str]]:
    risks = inputs.ai.risks
    modelled, not_modelled = [], []
    delay = _uncertain(inputs, "ai.risks.construction_delay_months") or _value(risks.construction_delay_months) > 0
    overrun = (_uncertain(inputs, "ai.risks.capex_overrun_multiplier")
               or _value(risks.capex_overrun_multiplier) != 1)
    if delay or overrun:
        what = " and ".join(w for w, on in (("construction delay", delay), ("capex overrun", overrun)) if on)
        modelled.append(f"AI deal risks: {what}.")
        if delay:
            modelled.append("Cash flows pushed past the horizon by a delay are cut there; what is still owned "
                            "is counted as the terminal value says.")
    else:
        not_modelled.append("Construction delay and capex overrun: the AI halls are built on time and budget.")
    default = _uncertain(inputs, "ai.risks.default_hazard_per_month") or _value(risks.default_hazard_per_month) > 0
    if default:
        modelled.append("Tenant default with recovery, backstop and re-lease; re-lease tenants carry no default "
                        "risk of their own, and recoveries and backstops are nominal amounts.")
    else:
        not_modelled.append("Tenant default: the customer pays to the end of the term.")
    renewal = _uncertain(inputs, "ai.risks.renewal_probability") or _value(risks.renewal_probability) > 0
    if renewal:
        modelled.append("Renewal at term end, once, at a share of the original price; the renewing tenant "
                        "carries no default risk.")
    else:
        not_modelled.append("Renewal: the contract ends at its term.")
    return modelled, not_modelled


def model_statements(inputs, *, has_financing: bool | None = None, has_timing: bool | None = None
                     ) -> ModelStatements:
    """What the run models and leaves out, from its inputs tree.

    Parameters
    ----------
    inputs : namespace
        The run's inputs tree (:func:`pivotsim.scenario.to_inputs`).
    has_financing, has_timing : bool, optional
        Whether the run carries project debt / the option to convert later;
        by default read from the tree (``financing`` / ``timing`` sections).

    Returns
    -------
    ModelStatements
    """
    market = inputs.market
    out = ModelStatements()
    out.modelled.append(_price_sentence(market))
    hashrate, missing = _hashrate_sentence(market)
    out.modelled.append(hashrate)
    if missing:
        out.not_modelled.append(missing)
    for sentence, missing in (_fees_sentence(market), _power_sentence(market)):
        if sentence:
            out.modelled.append(sentence)
        if missing:
            out.not_modelled.append(missing)
    modelled, not_modelled = _mining_sentences(inputs.bitcoin)
    out.modelled += modelled
    out.not_modelled += not_modelled
    out.modelled += _deal_term_sentences(inputs.ai)
    modelled, not_modelled = _risk_sentences(inputs)
    out.modelled += modelled
    out.not_modelled += not_modelled
    terminal = getattr(inputs.finance, "terminal_value", None)
    if terminal == "book_value":
        out.modelled.append("Assets still owned at the horizon are counted at book value.")
    elif terminal == "economic":
        hall = getattr(inputs.finance, "terminal_hall_value_usd_per_mw", None)
        halls = f"halls at {money(_value(hall))} per MW of critical IT" if hall is not None else "halls at a value per MW"
        out.modelled.append(f"Assets still owned at the horizon are counted at their economic value: {halls}, GPUs "
                            "and ASICs on their resale curves, whatever their tax lives.")
    else:
        out.not_modelled.append("Terminal value: nothing is counted after the horizon.")
    if has_financing is None:
        has_financing = bool(getattr(inputs.ai, "debt", None) or getattr(inputs.bitcoin, "debt", None))
    if has_financing:
        out.modelled.append("Project debt of the AI side with its draws, repayment schedule and DSCR covenant; the "
                            "equity return is read after debt service.")
    else:
        out.not_modelled.append("Debt: both businesses are valued as all-equity projects.")
    if has_timing is None:
        has_timing = getattr(inputs, "option", None) is not None
    if has_timing:
        out.modelled.append("The option to convert later, block by block, valued by least-squares Monte Carlo.")
    else:
        out.not_modelled.append("The option to wait: the site converts to AI now or never.")
    out.not_modelled.append(f"The figures (pivotsim {__version__}) model the deal from public information and "
                            "stated assumptions; they are not investment advice.")
    return out
