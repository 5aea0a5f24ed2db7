"""The sources' claims, derived from the model: ``pivotsim claims``.

The articles behind the deal library make claims a model can test (ARR =
contract value / term, "mining earns $0.17-0.20 per kWh and AI $3-5",
"~2-year revenue payback on GPUs", "~$36k cash cost per BTC").  Each claim
here is recomputed from the scenarios through the same engine as ``run``
and reported as claim vs model vs verdict.  Nothing is tuned to make a claim
pass: a disagreement is a finding, and the ``explanation`` column says why.

Mining per kWh is taken at the valuation date's BTC price and difficulty:
the scenario's base case with the expected drift of the BTC price and of the
network hashrate set to zero (:func:`spot_mining`), first month.

References
----------
Sources 000-004 in ../shared/sources (README.md there indexes them);
reference_figures.md for the GPU prices used by the 23,000-GPU payback check.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from ..framing import framing_summary
from ..runs import base_case_metrics
from ..models.hosting import KW_PER_MW, contract_terms, critical_it_mw
from ..scenario import Scenario, load_scenario
from ..inputs import to_inputs
from ..models.spot import mining_cost_kpis
from ..simulate import base_case

HOURS_PER_YEAR = 8760.0
CLAIM_COLUMNS = ("claim_id", "claim", "source", "deal", "claimed", "claimed_low", "claimed_high",
                 "model", "unit", "verdict", "explanation")
PER_KWH_COLUMNS = ("scenario", "deal", "kind", "ai_revenue_usd_per_kwh_critical_it",
                   "ai_revenue_usd_per_kwh_grid", "bitcoin_revenue_usd_per_kwh_grid",
                   "bitcoin_revenue_usd_per_kwh_asic", "bitcoin_revenue_usd_per_kwh_grid_avg", "horizon_months",
                   "ai_to_bitcoin_ratio_grid",
                   "ai_to_bitcoin_ratio_best_case", "ai_verdict", "bitcoin_verdict",
                   "bitcoin_fleet", "bitcoin_npv_existing_minus_new_usd")

# Claims and the figures they come with, as the sources state them.
MINING_USD_PER_KWH_CLAIM = (0.17, 0.20)          # 004
AI_USD_PER_KWH_CLAIM = (3.0, 5.0)                # 004
AI_TO_MINING_RATIO_CLAIM = (17.0, 25.0)          # 004
IREN_ARR_CLAIM_USD = 1.94e9                      # 001, IREN's CEO
IREN_PREPAYMENT_SHARE = 0.20                     # 000, 001
GPU_PAYBACK_CLAIM_YEARS = 2.0                    # 002, "about two years"
IREN_GPUS_Q1_2026 = 23_000                       # 002
IREN_ARR_Q1_2026_USD = 500e6                     # 002, "more than $500M"
GPU_PRICE_RANGE_USD = (42e3, 49e3)               # reference_figures.md: GB200/GB300 NVL72 per GPU
IREN_CASH_COST_CLAIM_USD_PER_BTC = 36e3          # 004
IREN_REVENUE_CLAIM_USD = 1.1e9                   # 004
IREN_EBITDA_CLAIM_USD = 650e6                    # 004
CIPHER_LEASES_CLAIM_USD = 8.5e9                  # 001, AWS + Fluidstack/Google
CORZ_SUBDEAL_USD, CORZ_SUBDEAL_MW = 3.5e9, 120.0  # 004: "$3.5B ... for 120 MW"
WULF_S002_MW = 360.0                             # 002

# How close "about" has to be: the claims are rounded figures.
ABOUT = 0.05


def verdict(model: float, low: float, high: float, tolerance: float = ABOUT) -> str:
    """``agrees`` when ``model`` is in ``[low, high]`` widened by ``tolerance``, else by how much not.

    Parameters
    ----------
    model : float
        The model's figure.
    low, high : float
        The claim (equal for a point claim).
    tolerance : float
        Relative slack on each side for rounded claims [-].
    """
    if model is None or not math.isfinite(model):
        return "not computable"
    if low * (1 - tolerance) <= model <= high * (1 + tolerance):
        return "agrees"
    if model < low:
        return f"disagrees: model {1 - model / low:.0%} below"
    return f"disagrees: model {model / high - 1:.0%} above"


def load_library(paths: Iterable[str | Path], *, exclude: Iterable[str] = ("template",)
                 ) -> dict[str, Scenario]:
    """Load scenario files keyed by file stem (``scenarios/iren.yaml`` -> ``"iren"``).

    Parameters
    ----------
    paths : iterable of path
        Scenario files; a directory stands for its ``*.yaml`` files.
    exclude : iterable of str
        Stems to skip (the template is not a deal).
    """
    files: list[Path] = []
    for p in paths:
        p = Path(p)
        files.extend(sorted(p.glob("*.yaml")) if p.is_dir() else [p])
    skip = set(exclude)
    return {f.stem: load_scenario(f) for f in files if f.stem not in skip}


def spot_mining(scenario: Scenario) -> dict[str, float]:
    """Mining at the valuation date's BTC price and difficulty, annualised.

    The base case of the scenario with the market frozen (no drift, flat
    exogenous hashrate, fees held at today's level), read in its first month
    (the engine's own numbers, not a second formula).

    Returns
    -------
    dict
        ``revenue_usd_per_kwh_grid`` [USD per kWh of grid power drawn],
        ``revenue_usd_per_kwh_asic`` [USD per kWh of ASIC power],
        ``cash_cost_per_btc_spot_usd`` [(power + opex) / BTC mined, month 1],
        ``revenue_per_kwh_spot_usd`` (= ``revenue_usd_per_kwh_grid``), and of
        the scenario's own base case over its horizon: ``cash_cost_per_btc_avg_usd``,
        ``all_in_cost_per_btc_usd`` (cash + G&A + depreciation),
        ``revenue_per_kwh_avg_usd``, ``horizon_months``,
        ``power_cost_usd_per_btc`` [power / BTC mined],
        ``revenue_usd_per_year``, ``ebitda_usd_per_year``, ``btc_per_year``,
        ``fleet_hashrate_eh_s``, ``hashprice_usd_per_ph_day``, ``btc_price_usd``,
        ``fleet_efficiency_j_per_th``.
    """
    market_now = scenario.market
    frozen = scenario.with_overrides([
        "market.btc_drift_per_year=0", "market.hashrate_growth_per_year=0",
        # no dynamics at all: exogenous (flat) hashrate, fees held at today's level
        "market.hashrate_model=exogenous", "market.price_model=gbm",
        f"market.fee_long_run_btc_per_block={market_now.fees_btc_per_block.value!r}",
    ])
    inputs = to_inputs(frozen)
    flows, market = base_case(inputs)
    mining = flows["bitcoin"]
    month = 1
    hours = float(np.asarray(mining.timeline.hours)[month])

    def at(series):
        return float(np.asarray(series)[0, month])

    revenue = at(mining.items["revenue_usd"])
    grid_kwh = at(mining.quantities["grid_kwh"])
    btc = at(mining.quantities["btc_mined"])
    power = -at(mining.items["power_usd"])
    cash_cost = power - at(mining.items["opex_usd"])
    per_year = HOURS_PER_YEAR / hours
    return {
        "revenue_usd_per_kwh_grid": revenue / grid_kwh,
        "revenue_usd_per_kwh_asic": revenue / (grid_kwh / inputs.bitcoin.pue),
        "cash_cost_per_btc_spot_usd": cash_cost / btc,
        "revenue_per_kwh_spot_usd": revenue / grid_kwh,
        **_horizon_costs(scenario),
        "power_cost_usd_per_btc": power / btc,
        "revenue_usd_per_year": revenue * per_year,
        "ebitda_usd_per_year": at(mining.quantities["ebitda_usd"]) * per_year,
        "btc_per_year": btc * per_year,
        "fleet_hashrate_eh_s": at(mining.quantities["fleet_hashrate_th_s"]) / 1e6,
        "hashprice_usd_per_ph_day": float(np.asarray(mining.quantities["hashprice_usd_per_ph_day"])[0, 0]),
        "btc_price_usd": float(np.asarray(market.btc_price_usd)[0, 0]),
        "fleet_efficiency_j_per_th": float(inputs.bitcoin.fleet_efficiency_j_per_th),
    }


def _horizon_costs(scenario: Scenario) -> dict[str, float]:
    """Mining's cost per BTC and revenue per kWh over the scenario's own base case (the whole horizon)."""
    flows, _ = base_case(to_inputs(scenario))
    kpis = mining_cost_kpis(flows["bitcoin"])
    return {"cash_cost_per_btc_avg_usd": kpis["cash_cost_per_btc_avg_usd"],
            "all_in_cost_per_btc_usd": kpis["all_in_cost_per_btc_usd"],
            "revenue_per_kwh_avg_usd": kpis["revenue_per_kwh_avg_usd"],
            "horizon_months": int(scenario.scenario.horizon_months.value)}


def revenue_per_kwh(library: Mapping[str, Scenario]) -> pd.DataFrame:
    """Revenue per kWh of each deal's AI side and of mining on the same power.

    AI: the base case over the contract (total revenue / kWh while live),
    per kWh of critical IT capacity and per kWh of grid power drawn.
    Mining: :func:`spot_mining` (spot, month 1), per kWh of grid power and
    of ASIC power, and the average per grid kWh over the scenario's horizon.
    Verdicts against source 004 use each side's most favourable basis
    (critical IT for AI, ASIC power for mining).

    Returns
    -------
    pandas.DataFrame
        One row per scenario, columns :data:`PER_KWH_COLUMNS`.
    """
    rows = []
    for stem, scenario in library.items():
        ai = base_case_metrics(scenario)["ai"]
        spot = spot_mining(scenario)
        framing = framing_summary(to_inputs(scenario))
        ai_it = ai["revenue_usd_per_kwh_critical_it"]
        ai_grid = ai["revenue_usd_per_kwh"]
        rows.append({
            "scenario": stem, "deal": scenario.name, "kind": scenario.ai.kind,
            "ai_revenue_usd_per_kwh_critical_it": ai_it,
            "ai_revenue_usd_per_kwh_grid": ai_grid,
            "bitcoin_revenue_usd_per_kwh_grid": spot["revenue_usd_per_kwh_grid"],
            "bitcoin_revenue_usd_per_kwh_asic": spot["revenue_usd_per_kwh_asic"],
            "bitcoin_revenue_usd_per_kwh_grid_avg": spot["revenue_per_kwh_avg_usd"],
            "horizon_months": spot["horizon_months"],
            "ai_to_bitcoin_ratio_grid": ai_grid / spot["revenue_usd_per_kwh_grid"],
            "ai_to_bitcoin_ratio_best_case": ai_it / spot["revenue_usd_per_kwh_grid"],
            "ai_verdict": verdict(ai_it, *AI_USD_PER_KWH_CLAIM),
            "bitcoin_verdict": verdict(spot["revenue_usd_per_kwh_asic"], *MINING_USD_PER_KWH_CLAIM),
            "bitcoin_fleet": framing["bitcoin_fleet"],
            "bitcoin_npv_existing_minus_new_usd": framing["existing_minus_new_usd"],
        })
    return pd.DataFrame(rows, columns=list(PER_KWH_COLUMNS))


def _row(claim_id, claim, source, deal, claimed, low, high, model, unit, explanation,
         tolerance=ABOUT):
    return {"claim_id": claim_id, "claim": claim, "source": source, "deal": deal, "claimed": claimed,
            "claimed_low": low, "claimed_high": high, "model": model, "unit": unit,
            "verdict": verdict(model, low, high, tolerance), "explanation": explanation}


def _missing(claim_id, claim, source, needs):
    return {"claim_id": claim_id, "claim": claim, "source": source, "deal": "", "claimed": "",
            "claimed_low": math.nan, "claimed_high": math.nan, "model": math.nan, "unit": "",
            "verdict": f"not checked: needs {needs}", "explanation": ""}


def _iren_claims(iren: Scenario) -> list[dict]:
    inputs = to_inputs(iren)
    terms = contract_terms(inputs)
    arr, prepay, value = terms["annual_revenue_usd"], terms["prepayment_usd"], terms["contract_value_usd"]
    years = inputs.ai.term_months / 12
    base = base_case_metrics(iren)["ai"]
    gpu_capex = inputs.ai.gpu_capex_usd
    facility = inputs.ai.datacenter_capex_usd_per_mw * critical_it_mw(inputs)
    payback = base["payback_months"]
    rows = [
        _row("iren_arr", "IREN-Microsoft ARR ~ $1.94B once deployed", "001", iren.name, "$1.94B",
             IREN_ARR_CLAIM_USD, IREN_ARR_CLAIM_USD, arr, "USD/yr",
             f"contract value ${value / 1e9:.2f}B / {years:g} years of term = ${arr / 1e9:.3f}B a year"),
        _row("iren_prepayment", "IREN-Microsoft prepayment 20% of $9.7B = $1.94B", "000, 001", iren.name,
             "20% x $9.7B", IREN_PREPAYMENT_SHARE * 9.7e9, IREN_PREPAYMENT_SHARE * 9.7e9, prepay, "USD",
             f"prepayment_share {inputs.ai.prepayment_share:.0%} x contract value ${value / 1e9:.2f}B = "
             f"${prepay / 1e9:.3f}B, i.e. {prepay / arr:.2f} years of ARR, credited against invoices"),
        _row("iren_gpu_payback", "~2-year revenue payback on GPU contracts", "002", iren.name, "~2 years",
             1.5, 2.5, gpu_capex / arr, "years",
             f"Microsoft deal: GPU capex ${gpu_capex / 1e9:.1f}B / ARR ${arr / 1e9:.2f}B = "
             f"{gpu_capex / arr:.2f} years of revenue; with ${facility / 1e9:.1f}B of halls "
             f"{(gpu_capex + facility) / arr:.2f} years; the model's cash payback after power, opex and tax is "
             + (f"{payback / 12:.1f} years from signing" if payback is not None and math.isfinite(payback)
                else "never within the horizon")
             + ". 002's claim is about IREN's other GPU contracts (next row)", tolerance=0.0),
    ]
    low = IREN_GPUS_Q1_2026 * GPU_PRICE_RANGE_USD[0] / IREN_ARR_Q1_2026_USD
    high = IREN_GPUS_Q1_2026 * GPU_PRICE_RANGE_USD[1] / IREN_ARR_Q1_2026_USD
    rows.append(_row(
        "iren_gpu_payback_milestones", "~2-year revenue payback: 23,000 GPUs for >$500M ARR", "002, REF",
        "IREN GPU cloud (002 milestones)", "~2 years", 1.5, 2.5, (low + high) / 2, "years",
        f"23,000 GPUs x ${GPU_PRICE_RANGE_USD[0] / 1e3:.0f}-{GPU_PRICE_RANGE_USD[1] / 1e3:.0f}k per GPU "
        f"(REF, GB200/GB300 racks) / $500M ARR = {low:.2f}-{high:.2f} years (mid-point shown); "
        f"ARR per GPU ${IREN_ARR_Q1_2026_USD / IREN_GPUS_Q1_2026 / HOURS_PER_YEAR:.2f} per GPU-hour, "
        "inside REF's H100 $2-3.5", tolerance=0.0))
    return rows


def _per_kwh_claims(library: Mapping[str, Scenario], per_kwh: pd.DataFrame) -> list[dict]:
    rows = []
    baseline_stem = "iren_mining" if "iren_mining" in library else next(iter(library))
    baseline = library[baseline_stem]
    spot = spot_mining(baseline)
    asic = spot["revenue_usd_per_kwh_asic"]
    target = MINING_USD_PER_KWH_CLAIM[0]
    needed_eff = spot["fleet_efficiency_j_per_th"] * asic / target
    needed_hashprice = spot["hashprice_usd_per_ph_day"] * target / asic
    rows.append(_row(
        "mining_usd_per_kwh", "bitcoin mining earns ~$0.17-0.20 per kWh", "004", baseline.name,
        "$0.17-0.20/kWh", *MINING_USD_PER_KWH_CLAIM, asic, "USD/kWh",
        f"at BTC ${spot['btc_price_usd']:,.0f} and hashprice ${spot['hashprice_usd_per_ph_day']:.2f}/PH/day "
        f"(valuation date), a {spot['fleet_efficiency_j_per_th']:g} J/TH fleet earns ${asic:.3f} per kWh of "
        f"ASIC power (${spot['revenue_usd_per_kwh_grid']:.3f} per kWh of grid power); $0.17 needs a fleet at "
        f"{needed_eff:.1f} J/TH or a hashprice of ${needed_hashprice:.0f}/PH/day", tolerance=0.0))
    for _, r in per_kwh.iterrows():
        if r["kind"] != "gpu_cloud":
            continue
        it, grid = r["ai_revenue_usd_per_kwh_critical_it"], r["ai_revenue_usd_per_kwh_grid"]
        scenario = library[r["scenario"]]
        it_mw = critical_it_mw(to_inputs(scenario))
        rows.append(_row(
            f"ai_usd_per_kwh_{r['scenario']}", "AI/HPC earns ~$3-5 per kWh", "004", r["deal"], "$3-5/kWh",
            *AI_USD_PER_KWH_CLAIM, it, "USD/kWh",
            f"contract revenue per kWh of critical IT capacity (${grid:.2f} per grid kWh drawn); $3/kWh on "
            f"{it_mw:.0f} MW would need ${3.0 * it_mw * KW_PER_MW * HOURS_PER_YEAR / 1e9:.1f}B a year. "
            "004's range matches retail GPU-hour prices, not a multi-year hyperscaler contract", tolerance=0.0))
        rows.append(_row(
            f"ai_to_mining_{r['scenario']}", "AI/HPC earns 17-25x mining per kWh", "004", r["deal"], "17-25x",
            *AI_TO_MINING_RATIO_CLAIM, r["ai_to_bitcoin_ratio_best_case"], "x",
            f"AI per kWh of critical IT / mining per grid kWh on the same site "
            f"(${it:.3f} / ${r['bitcoin_revenue_usd_per_kwh_grid']:.3f})", tolerance=0.0))
    coloc = per_kwh[per_kwh["kind"] == "colocation"]
    if len(coloc):
        lo, hi = coloc["ai_revenue_usd_per_kwh_critical_it"].min(), coloc["ai_revenue_usd_per_kwh_critical_it"].max()
        rows.append(_row(
            "ai_usd_per_kwh_colocation", "AI/HPC earns ~$3-5 per kWh (colocation hosts)", "004",
            f"{len(coloc)} colocation scenarios", "$3-5/kWh", *AI_USD_PER_KWH_CLAIM, hi, "USD/kWh",
            f"rent per kWh of critical IT ranges ${lo:.3f}-{hi:.3f} (highest shown): the host earns rent "
            "for powered space, the same order as mining revenue per kWh, while the tenant earns the "
            "GPU revenue; the gain is contracted revenue with power passed through, not 17-25x", tolerance=0.0))
    return rows


def _iren_mining_claims(mining: Scenario) -> list[dict]:
    spot = spot_mining(mining)
    revenue, ebitda, cost = spot["revenue_usd_per_year"], spot["ebitda_usd_per_year"], spot["cash_cost_per_btc_spot_usd"]
    fleet = spot["fleet_hashrate_eh_s"]
    # 004's three figures together: cash costs = revenue - EBITDA, BTC = cash costs / cost per BTC.
    implied_btc = (IREN_REVENUE_CLAIM_USD - IREN_EBITDA_CLAIM_USD) / IREN_CASH_COST_CLAIM_USD_PER_BTC
    implied_price = IREN_REVENUE_CLAIM_USD / implied_btc
    return [
        _row("iren_cash_cost", "IREN mines at ~$36k cash cost per BTC", "004", mining.name, "~$36,000",
             IREN_CASH_COST_CLAIM_USD_PER_BTC, IREN_CASH_COST_CLAIM_USD_PER_BTC, cost, "USD/BTC",
             f"spot, month 1: (power + site opex) / BTC mined at the valuation date, of which power "
             f"${spot['power_cost_usd_per_btc']:,.0f}: {fleet:.0f} EH/s at "
             f"{spot['fleet_efficiency_j_per_th']:g} J/TH, {spot['btc_per_year']:,.0f} BTC a year; "
             f"the cost per BTC rises with the network hashrate and halves its BTC at the halving: average, "
             f"{spot['horizon_months']} months ${spot['cash_cost_per_btc_avg_usd']:,.0f}, all-in (cash + G&A "
             f"+ depreciation) ${spot['all_in_cost_per_btc_usd']:,.0f}", tolerance=0.10),
        _row("iren_mining_revenue", "IREN mining: $1.1B annual revenue", "004", mining.name, "$1.1B",
             IREN_REVENUE_CLAIM_USD, IREN_REVENUE_CLAIM_USD, revenue, "USD/yr",
             f"{fleet:.0f} EH/s at the valuation date's hashprice; $1.1B would need "
             f"{fleet * IREN_REVENUE_CLAIM_USD / revenue:.0f} EH/s, or a hashprice of "
             f"${spot['hashprice_usd_per_ph_day'] * IREN_REVENUE_CLAIM_USD / revenue:.0f}/PH/day"),
        _row("iren_mining_ebitda", "IREN mining: $650M adjusted EBITDA", "004", mining.name, "$650M",
             IREN_EBITDA_CLAIM_USD, IREN_EBITDA_CLAIM_USD, ebitda, "USD/yr",
             f"revenue - power - site opex at the valuation date (no corporate costs). 004's three figures "
             f"imply {implied_btc:,.0f} BTC a year at ${implied_price:,.0f} per BTC, not the "
             f"${spot['btc_price_usd']:,.0f} of the valuation date"),
    ]


def _cipher_total(aws: Scenario, fluidstack: Scenario) -> dict:
    a = contract_terms(to_inputs(aws))["contract_value_usd"]
    f = contract_terms(to_inputs(fluidstack))["contract_value_usd"]
    return _row("cipher_total", "Cipher's AI leases ~ $8.5B (AWS + Fluidstack/Google)", "001", "Cipher",
                "~$8.5B", CIPHER_LEASES_CLAIM_USD, CIPHER_LEASES_CLAIM_USD, a + f, "USD",
                f"AWS ${a / 1e9:.2f}B (001) + Fluidstack ${f / 1e9:.2f}B (004)")


def _rent_usd_per_kw_month(scenario: Scenario) -> float:
    inputs = to_inputs(scenario)
    return contract_terms(inputs)["annual_revenue_usd"] / (critical_it_mw(inputs) * KW_PER_MW * 12)


def _corz_subdeal(corz: Scenario) -> dict:
    inputs = to_inputs(corz)
    months = inputs.ai.term_months
    claimed = CORZ_SUBDEAL_USD / (months * CORZ_SUBDEAL_MW * KW_PER_MW)
    model = _rent_usd_per_kw_month(corz)
    return _row("corz_120mw_rent", "Core Scientific: a $3.5B deal for 120 MW", "004", corz.name,
                f"${claimed:.0f}/kW-month", claimed, claimed, model, "USD/kW-month",
                f"$3.5B over {months / 12:g} years on 120 MW is ${claimed:.0f}/kW-month, above the deal "
                f"average of ${model:.0f} ($8.7B on ~500 MW) and above CBRE's ~$196 primary-market asking rent "
                "(REF); the company's release puts ~$2.0B on the 120 MW (CORZ_SEC in the scenario)")


def _wulf_mw(wulf: Scenario) -> dict:
    inputs = to_inputs(wulf)
    months = inputs.ai.term_months
    value = contract_terms(inputs)["contract_value_usd"]
    claimed = value / (months * WULF_S002_MW * KW_PER_MW)
    model = _rent_usd_per_kw_month(wulf)
    return _row("wulf_360mw_rent", "TeraWulf: $3.7B (004) on 360 MW (002)", "002, 004", wulf.name,
                f"${claimed:.0f}/kW-month", claimed, claimed, model, "USD/kW-month",
                f"reading 004's ${value / 1e9:.1f}B on 002's 360 MW gives ${claimed:.0f}/kW-month; TeraWulf's "
                f"announcements tie it to {critical_it_mw(inputs):.0f} MW (${model:.0f}); 360 MW includes the "
                "later 160 MW expansion")


#: deals whose headline MW is not the critical IT the leases cover (reference_figures.md,
#: "Contract and financing terms"): scenario -> (claim, source, headline MW, what the headline is)
MW_BASIS_CLAIMS = {
    "galaxy_coreweave": ("Galaxy–CoreWeave: 800 MW for CoreWeave", "GLXY_EX", 800.0,
                         "Helios's approved power (GLXY_ST); the leases cover ~526 MW of critical IT (GLXY_REL)"),
    "cipher_aws": ("Cipher–AWS: 300 MW", "001", 300.0, "gross capacity (CIFR_Q3)"),
    "cipher_fluidstack": ("Cipher–Fluidstack: 244 MW", "CIFR_FS", 244.0,
                          "gross capacity; the lease is 168 MW of critical IT (CIFR_FS)"),
}


def _mw_basis_claims(library: Mapping[str, Scenario]) -> list[dict]:
    """Headline MW against the critical IT modelled, and the rent per kW-month on each basis."""
    rows = []
    for name, (claim, source, headline_mw, what) in MW_BASIS_CLAIMS.items():
        if name not in library:
            continue
        scenario = library[name]
        inputs = to_inputs(scenario)
        it_mw = critical_it_mw(inputs)
        rent_it = _rent_usd_per_kw_month(scenario)
        rent_headline = rent_it * it_mw / headline_mw
        rows.append(_row(f"mw_basis_{name}", claim, source, scenario.name, f"{headline_mw:.0f} MW", headline_mw,
                         headline_mw, it_mw, "MW critical IT",
                         f"the headline MW is {what}: critical IT modelled {it_mw:.0f} MW; the rent is "
                         f"${rent_it:.0f}/kW-month of critical IT, ${rent_headline:.0f} per kW of the headline "
                         f"{headline_mw:.0f} MW", tolerance=0.0))
    return rows


def check_claims(library: Mapping[str, Scenario]) -> pd.DataFrame:
    """Every source claim the library can test: claim vs model vs verdict.

    Parameters
    ----------
    library : mapping of str -> Scenario
        Scenarios keyed by file stem (:func:`load_library`).  Claims about a
        specific deal need its scenario (``iren``, ``iren_mining``,
        ``cipher_aws`` and ``cipher_fluidstack``, ``core_scientific_coreweave``,
        ``terawulf_fluidstack``); a claim whose scenario is missing is listed
        as not checked.

    Returns
    -------
    pandas.DataFrame
        One row per claim, columns :data:`CLAIM_COLUMNS`.  ``model`` is the
        model's figure in ``unit``; ``verdict`` is ``agrees`` or says by how
        much the model is below or above the claim.
    """
    if not library:
        return pd.DataFrame(columns=list(CLAIM_COLUMNS))
    rows: list[dict] = []
    if "iren" in library:
        rows += _iren_claims(library["iren"])
    else:
        rows.append(_missing("iren_arr", "IREN-Microsoft ARR and prepayment, GPU payback", "000-002", "iren.yaml"))
    rows += _per_kwh_claims(library, revenue_per_kwh(library))
    if "iren_mining" in library:
        rows += _iren_mining_claims(library["iren_mining"])
    else:
        rows.append(_missing("iren_cash_cost", "IREN ~$36k cash cost per BTC", "004", "iren_mining.yaml"))
    if "cipher_aws" in library and "cipher_fluidstack" in library:
        rows.append(_cipher_total(library["cipher_aws"], library["cipher_fluidstack"]))
    else:
        rows.append(_missing("cipher_total", "Cipher's AI leases ~ $8.5B", "001",
                             "cipher_aws.yaml and cipher_fluidstack.yaml"))
    if "core_scientific_coreweave" in library:
        rows.append(_corz_subdeal(library["core_scientific_coreweave"]))
    if "terawulf_fluidstack" in library:
        rows.append(_wulf_mw(library["terawulf_fluidstack"]))
    rows += _mw_basis_claims(library)
    frame = pd.DataFrame(rows, columns=list(CLAIM_COLUMNS))
    return frame
