"""Human labels of scenario inputs: "BTC price at the valuation date", not ``market.btc_price_usd``.

A note names inputs in prose, tables and chart axes; dotted paths belong in
the assumptions table only (where a reader copies them into ``--set``).
The label of a path is, in order:

1. a short label written here for the inputs a reader meets most (prices,
   deal terms, risks), phrased as an analyst would;
2. else the schema's own description of the field (its ``Field(description=)``),
   without the unit in brackets, a model prefix such as ``merton:`` or a
   formula after a colon;
3. else the field name in words (``tenant_funded_capex_usd`` -> "Tenant
   funded capex").

Tranche fields read "Tranche 2: go-live month" (list indices count from 1
for a reader), and the Monte Carlo's event draws have labels of their own.
"""

from __future__ import annotations

import re

from pydantic import BaseModel

#: short labels by path pattern (``*`` stands for a list index)
LABELS = {
    "scenario.valuation_date": "Valuation date",
    "scenario.horizon_months": "Horizon",
    "sampling": "Sampling of uncertain inputs",
    "bitcoin.fleet": "Mining fleet (existing or new)",
    "bitcoin.asic_resale_usd_per_th": "ASIC resale value",
    "site.ai_share": "Share of the site converted to AI",
    "bitcoin.curtail_when_unprofitable": "Curtail in unprofitable months",
    "market.price_model": "BTC price model",
    "market.state_date": "Date of the market data",
    "market.hashrate_model": "Hashrate model",
    "market.hashrate_growth_per_year": "Hashrate growth",
    "market.network_hashrate_eh_s": "Network hashrate",
    "market.bootstrap_file": "Bootstrap history file",
    "market.bootstrap_start": "Bootstrap history start",
    "market.bootstrap_end": "Bootstrap history end",
    "market.bootstrap_block_months": "Bootstrap block length",
    "ai.kind": "Deal kind",
    "ai.power_pass_through": "Power passed through to the customer",
    "finance.terminal_value": "Terminal value",
    "site.grid_power_mw": "Grid power",
    "site.power_price_usd_per_kwh": "Power price",
    "bitcoin.pue": "Mining PUE",
    "bitcoin.fleet_efficiency_j_per_th": "Fleet efficiency",
    "bitcoin.uptime": "Mining uptime",
    "bitcoin.pool_fee_share": "Pool fee",
    "bitcoin.opex_usd_per_mw_year": "Mining opex per MW",
    "bitcoin.asic_price_usd_per_th": "ASIC price",
    "bitcoin.refresh_months": "Fleet refresh cycle",
    "bitcoin.new_asic_efficiency_j_per_th": "Efficiency of new ASICs",
    "bitcoin.efficiency_improvement_per_year": "Yearly ASIC efficiency gain",
    "bitcoin.infrastructure_capex_usd_per_mw": "Mining site capex per MW",
    "market.btc_price_usd": "BTC price at the valuation date",
    "market.btc_drift_per_year": "BTC price drift",
    "market.btc_volatility_per_year": "BTC volatility",
    "market.btc_jump_intensity_per_year": "BTC price jumps per year",
    "market.btc_jump_mean_log": "Mean BTC jump size",
    "market.btc_jump_volatility_log": "BTC jump size spread",
    "market.difficulty": "Network difficulty",
    "market.block_height": "Block height",
    "market.fees_btc_per_block": "Fees per block",
    "market.hashrate_volatility_per_year": "Hashrate volatility",
    "market.hashrate_response_intercept_per_month": "Hashrate growth at zero margin",
    "market.hashrate_response_slope_per_month": "Hashrate response to margins",
    "market.hashrate_response_lag_months": "Hashrate response lag",
    "market.marginal_miner_efficiency_j_per_th": "Marginal miner efficiency",
    "market.efficiency_frontier_decline_per_year": "Efficiency frontier decline",
    "market.marginal_miner_power_usd_per_kwh": "Marginal miner power price",
    "market.difficulty_lag_days": "Difficulty lag",
    "market.fee_long_run_btc_per_block": "Long-run fees per block",
    "market.fee_mean_reversion_per_year": "Fee mean reversion",
    "market.fee_volatility_per_year": "Fee volatility",
    "market.fee_spike_probability_per_month": "Fee spike probability",
    "market.fee_spike_mean_log": "Fee spike size",
    "market.power_price_long_run_usd_per_kwh": "Long-run power price",
    "market.power_price_mean_reversion_per_year": "Power price mean reversion",
    "market.power_price_volatility_per_year": "Power price volatility",
    "market.power_price_btc_correlation": "Power price / BTC correlation",
    "ai.term_months": "Contract term",
    "ai.prepayment_share": "Prepayment",
    "ai.pue": "AI hall PUE",
    "ai.phases.*.online_month": "go-live month",
    "ai.phases.*.share": "share of capacity",
    "ai.datacenter_capex_usd_per_mw": "Facility capex per MW",
    "ai.construction_months": "Construction time",
    "ai.opex_usd_per_mw_year": "AI opex per MW",
    "ai.it_load_factor": "IT load factor",
    "ai.contract_value_usd": "Contract value",
    "ai.annual_revenue_usd": "Annual rent",
    "ai.rent_usd_per_kw_month": "Rent per kW-month",
    "ai.rent_escalator_per_year": "Rent escalator",
    "ai.tenant_funded_capex_usd": "Tenant-funded capex",
    "ai.backstop_usd": "Backstop guarantee",
    "ai.gpu_capex_usd": "GPU capex",
    "ai.gpu_residual_share": "GPU residual value",
    "ai.risks.construction_delay_months": "Construction delay",
    "ai.risks.delay_cost_share_per_month": "Extra build cost per month of delay",
    "ai.risks.termination_probability": "Cancellation past the long-stop",
    "ai.risks.termination_event": "Cancellation (random event)",
    "ai.prepayment_paid": "When the prepayment is paid",
    "ai.prepayment_tax": "Tax on the prepayment",
    "ai.on_termination": "After a cancellation",
    "ai.risks.delay_spending": "Spending under a delay",
    "ai.prepayment_months_before_delivery": "Prepayment lead before delivery",
    "ai.prepayment_credit_start_month": "First service month credited",
    "ai.delay_credit_share_per_month": "Delay credit per month late",
    "ai.delay_credit_cap_share": "Cap on delay credits",
    "ai.long_stop_months": "Long-stop after delivery",
    "ai.gpu_shipment_months_before_delivery": "GPU shipment lead",
    "ai.gpu_payment_months_after_shipment": "GPU payment after shipment",
    "ai.gpu_resale_haircut_share": "Forced-sale haircut on GPUs",
    "ai.phases.*.rent_commencement_month": "rent commencement month",
    "finance.terminal_hall_value_usd_per_mw": "Hall value per MW at the horizon",

    "ai.risks.capex_overrun_multiplier": "Capex overrun",
    "ai.risks.default_hazard_per_month": "Tenant default hazard",
    "ai.risks.default_recovery_share": "Recovery after default",
    "ai.risks.default_recovery_months": "Time to recovery",
    "ai.risks.release_months": "Time to re-lease",
    "ai.risks.release_price_share": "Re-lease price",
    "ai.risks.uncontracted_utilisation": "Spot sales while vacant",
    "ai.risks.renewal_probability": "Renewal probability",
    "ai.risks.renewal_price_share": "Renewal price",
    "ai.risks.gpu_value_decline_per_year": "GPU value decline",
    "ai.risks.default_event": "Default timing (random event)",
    "ai.risks.renewal_event": "Renewal (random event)",
    "finance.discount_rate": "Discount rate",
    "finance.discount_rate_bitcoin": "Discount rate, mining",
    "finance.discount_rate_ai": "Discount rate, AI",
    "finance.tax_rate": "Tax rate",
    "finance.cost_of_equity_per_year": "Cost of equity",
    "finance.cost_of_equity_per_year_ai": "Cost of equity, AI",
    "ai.debt.*.name": "name",
    "ai.debt.*.sizing": "sizing rule",
    "ai.debt.*.amount_usd": "principal",
    "ai.debt.*.ltc": "loan to cost",
    "ai.debt.*.target_dscr": "target DSCR",
    "ai.debt.*.draw": "drawn against",
    "ai.debt.*.draw_from_month": "drawn from month (closing)",
    "ai.debt.*.rate_per_year": "fixed rate",
    "ai.debt.*.base_rate_per_year": "base rate (floating)",
    "ai.debt.*.margin_per_year": "margin over the base rate",
    "ai.debt.*.tenor_months": "tenor",
    "ai.debt.*.grace_months": "interest-only months",
    "ai.debt.*.amortisation": "amortisation",
    "ai.debt.*.upfront_fee_share": "upfront fee",
    "ai.debt.*.covenant_dscr": "covenant DSCR",
    "ai.debt.*.covenant_test_months": "covenant test period",
    "ai.debt.*.reserve_months": "debt service reserve",
    "ai.debt.*.sweep_share": "cash sweep",
    "option.ai_pue": "Option: AI PUE",
    "option.asic_resale_decline_per_year": "Option: ASIC resale decline",
    "option.asic_resale_usd_per_mw": "Option: ASIC resale per MW",
    "option.basis": "Option: regression basis",
    "option.basis_order": "Option: regression basis degree",
    "option.blocks.*.share": "share of the site",
    "option.build_months": "Option: build time",
    "option.conversion_capex_usd_per_mw": "Option: conversion capex per MW",
    "option.deadline_month": "Option: last decision month",
    "option.decision_every_months": "Option: months between decisions",
    "option.opex_usd_per_mw_year": "Option: host opex per MW",
    "option.rent_escalator_per_year": "Option: rent escalator",
    "option.rent_index.btc_rank_correlation": "Option: rent index / BTC correlation",
    "option.rent_index.drift_per_year": "Option: rent index drift",
    "option.rent_index.mean_reversion_per_year": "Option: rent index mean reversion",
    "option.rent_index.start_usd_per_kw_month": "Option: rent index at the valuation date",
    "option.rent_index.volatility_per_year": "Option: rent index volatility",
    "option.tenant_funded_capex_share": "Option: tenant-funded capex share",
    "option.term_months": "Option: lease term",
    "option.prepayment_share": "Option: prepayment",
    "finance.depreciation.gpu_years": "GPU depreciation life",
    "finance.depreciation.asic_years": "ASIC depreciation life",
    "finance.depreciation.facility_years": "Facility depreciation life",
}
_UNIT_SUFFIXES = ("usd_per_kwh", "usd_per_mwh", "usd_per_mw_year", "usd_per_mw", "usd_per_th", "usd_per_kw_month",
                  "usd", "mw", "eh_s", "j_per_th", "months", "month", "years", "per_year", "per_month", "share",
                  "days", "log", "multiplier")
_SHORT_WORDS = {"btc": "BTC", "ai": "AI", "gpu": "GPU", "asic": "ASIC", "pue": "PUE", "it": "IT", "mw": "MW"}


def _pattern(path: str) -> str:
    return re.sub(r"\.\d+(?=\.|$)", ".*", path)


def _index(path: str) -> int | None:
    m = re.search(r"\.(\d+)\.", path)
    return int(m.group(1)) if m else None


def _description(root: BaseModel, path: str) -> str | None:
    """The schema's description of the field at ``path`` (walking the model instance, so unions resolve)."""
    node, description = root, None
    for part in path.split("."):
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                return None
            node = node[int(part)]
            continue
        if not isinstance(node, BaseModel):
            return None
        info = type(node).model_fields.get(part)
        if info is None:
            return None
        description = info.description
        node = getattr(node, part, None)
    return description


def _from_description(description: str) -> str | None:
    text = re.sub(r"\s*\[[^\]]*\]\s*$", "", description).strip()           # unit in brackets
    text = re.sub(r"^(merton|bootstrap|response|gpu_cloud|colocation):\s*", "", text)  # model prefix
    text = re.split(r"[;:]| \(", text)[0].strip()                            # formula or aside
    if not text or len(text) > 48 or "=" in text:
        return None
    return text[0].upper() + text[1:]


def _from_name(path: str) -> str:
    name = path.rsplit(".", 1)[-1]
    for suffix in _UNIT_SUFFIXES:
        if name.endswith("_" + suffix) and name != suffix:
            name = name[: -len(suffix) - 1]
            break
    words = [_SHORT_WORDS.get(w, w) for w in name.split("_")]
    text = " ".join(words)
    return text[0].upper() + text[1:]


def input_label(path: str, scenario: BaseModel | None = None) -> str:
    """Human label of a scenario input.

    Parameters
    ----------
    path : str
        Dotted path, as in ``--set`` (``ai.phases.1.online_month``).
    scenario : Scenario, optional
        Lets the label come from the schema's description of the field when
        no short label is written here.

    Returns
    -------
    str
        No dots, no underscores: ``"Tranche 2: go-live month"``,
        ``"Construction delay"``.
    """
    pattern = _pattern(path)
    label = LABELS.get(pattern)
    if label is None and scenario is not None:
        description = _description(scenario, path)
        label = _from_description(description) if description else None
    if label is None:
        label = _from_name(path)
    index = _index(path)
    if index is not None and pattern.startswith("ai.phases."):
        return f"Tranche {index + 1}: {label}"
    if index is not None and pattern.startswith("ai.debt."):
        return f"Debt tranche {index + 1}: {label}"
    if index is not None and pattern.startswith("option.blocks."):
        return f"Option block {index + 1}: {label}"
    return label


def in_sentence(label: str) -> str:
    """A label inside a sentence: first letter lower-cased unless the first word is an acronym (BTC, GPU)."""
    first = label.split(" ", 1)[0]
    if sum(ch.isupper() for ch in first) >= 2:
        return label
    return label[:1].lower() + label[1:]


def input_labels(paths, scenario: BaseModel | None = None) -> dict[str, str]:
    """:func:`input_label` of each path."""
    return {path: input_label(path, scenario) for path in paths}
