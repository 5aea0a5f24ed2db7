"""AI-hosting cash flows: ``gpu_cloud`` and ``colocation`` contracts as signed, with deal risks.

Capacity comes in tranches (``phases``): tranche p with share s_p is
contracted for delivery at the end of month o_p (``online_month``), goes
live at g_p = o_p + d (the construction delay d) and earns for
``term_months`` T months (g_p+1 .. g_p+T).  Lease month j = m - g_p - 1
counts the months since go-live.  The comparison basis is the site's grid
power: critical IT = grid_power_mw / pue.

gpu_cloud (the operator owns GPUs and sells compute, e.g. IREN–Microsoft)::

    ARR                  = contract_value / (T / 12)
    invoice c_p(j)       = s_p * ARR / 12
    GPU capex            = s_p * gpu_capex
    GPU resale at age a  = s_p * gpu_capex * r^(a / T)            (a <= T, r = gpu_residual_share)
                         = s_p * gpu_capex * r * (1 - gpu_value_decline)^((a - T) / 12)   (a > T)

colocation (the tenant brings GPUs; the operator rents powered space)::

    invoice c_p(j)       = s_p * r0 * (1 + escalator)^(j // 12) * critical IT kW
    r0                   = rent_usd_per_kw_month, or derived from
                           annual_revenue_usd or contract_value_usd
    facility capex       = max(0, capex_per_mw * MW - tenant_funded_capex)
    power                passed through to the tenant by default

Both: facility capex per MW of critical IT (times ``capex_overrun_multiplier``)
spread evenly over the ``construction_months`` ending at delivery
(spending that would fall before t = 0 is counted at t = 0); power = live IT
MW * load factor * PUE * hours * price unless passed through; opex per MW of
capacity in service (original term and renewal); straight-line depreciation,
tax with loss carry-forward.  The contract value of tranche p is the sum of
its invoices over the term, V_p.

Contract terms (:func:`deal_terms`; a term the scenario leaves out takes
the value that switches it off):

* committed spending (``ai.risks.delay_spending``): ``committed`` keeps the
  build on its construction schedule ending at o_p and pays the GPUs on the
  shipment schedule (shipped ``gpu_shipment_months_before_delivery`` before
  o_p, paid ``gpu_payment_months_after_shipment`` later): a delay moves
  go-live and revenue only.  ``stretched`` spreads the build over the delay
  (ending at g_p); ``moves`` shifts every payment with go-live.  Each month
  of delay may add ``delay_cost_share_per_month`` of the facility capex.
* delay credits: per month late (d), ``delay_credit_share_per_month`` of
  the tranche's first invoice, at most ``delay_credit_cap_share`` * V_p,
  set off against its first invoices.
* termination: past the long-stop o_p + ``long_stop_months`` the customer
  cancels (when the path's ``termination_event`` draw is below
  ``termination_probability``) at the long-stop; it gets back what it
  prepaid.  The operator re-leases the capacity after ``release_months``
  vacant months, at ``release_price_share`` times the contract rate times
  the GPU age factor at re-lease (the rental curve of ageing GPUs), until
  the end of the term the tranche would have had; or (``on_termination:
  sell_gpus``) sells the GPUs at the cancellation at the resale curve less
  ``gpu_resale_haircut_share`` and leaves the hall idle.
* prepayment: without per-tranche terms, ``prepayment_share`` of the
  contract value at t = 0, credited at that share of every original
  invoice.  Per tranche (``prepayment_paid: before_delivery`` or a
  ``prepayment_credit_start_month`` k): ``prepayment_share`` * V_p paid
  ``prepayment_months_before_delivery`` before go-live (or at t = 0),
  credited in equal parts in service months k .. T.  Tax
  (``prepayment_tax``): ``as_earned`` (the invoices are the income) or
  ``on_receipt`` (the prepayment is income when received, each credit,
  refund or amount owed at the horizon a deduction).

Risks (``ai.risks``; the defaults mean "no risk" and give the plain contract):

* construction delay d [months], as above.
* counterparty default: the customer defaults in month tau with
  P(tau <= t) = 1 - (1 - h)^t (h = ``default_hazard_per_month``; tau =
  ceil(log(1 - u) / log(1 - h)) for the path's event draw u).  From month
  tau on it pays nothing.  Its remaining obligation is the original invoices
  of lease months not yet invoiced, of every tranche (also those beyond the
  horizon); the claim is that amount net of the prepayment still to be
  credited (the operator keeps the prepayment).  The backstop (colocation
  ``backstop_usd``) pays min(backstop, claim) in month tau; the customer's
  estate pays ``default_recovery_share`` of the rest
  ``default_recovery_months`` later.  The capacity stays vacant
  ``release_months`` months, during which a share ``uncontracted_utilisation``
  of it is sold at the spot rate (original rate times the GPU age factor),
  then it is re-leased until the original term end at
  ``release_price_share`` times the original rate times the GPU age factor
  at re-lease.  A default after the original term changes nothing (the
  renewal customer carries no default risk).
* renewal at term end, with probability ``renewal_probability`` (one draw
  for all tranches: one customer), for ``renewal_term_months`` at
  ``renewal_price_share`` times the original rate times the age factor at
  term end; gpu_cloud GPUs are then sold at the end of the renewal.
* GPU age factor (gpu_cloud): (1 - ``gpu_value_decline_per_year``)^(age in
  years); it lowers re-lease, spot and renewal rates and the resale value
  after the original term.

The horizon is the same on every path.  Anything that falls after it
(contract months pushed out by a delay, the tail of a renewal, a late
recovery) is not counted.  What is still owned at the horizon counts as
``finance.terminal_value`` says: ``book_value`` (facilities and GPUs at net
book value), ``economic`` (halls at ``terminal_hall_value_usd_per_mw`` per
MW built, GPUs at the resale curve: independent of tax lives) or ``none``.
Prepayment not yet credited at the horizon (service the customer paid for
but has not received) is a liability (``prepayment_unearned_usd``), so a
delay cannot turn prepaid cash into profit.  The scenario checks the horizon
covers every tranche's term at base values.

References
----------
Deal terms: sources 000, 001 (IREN–Microsoft), 001, 002, 004 (colocation
deals); contract and financing terms of reference_figures.md (IREN 10-Q
note 20, 8-K of Nov 2025).  DESIGN.md, "Economics" and "Risks".
"""

from __future__ import annotations

import numpy as np

from ..compiled import ROWS_PER_PASS, pass_rows, per_path, scratch_rows
from . import _hosting_kernels as K
from . import finance
from .cashflows import CashFlows
from .timeline import Timeline

KW_PER_MW = 1e3


def critical_it_mw(inputs):
    """Critical IT capacity on the site's grid power [MW]: grid MW / PUE."""
    return inputs.site.grid_power_mw / inputs.ai.pue


def first_year_rent_usd_per_kw_month(ai, it_mw):
    """Rent at lease start [USD/kW-month], from whichever price the scenario gives."""
    if ai.rent_usd_per_kw_month is not None:
        return ai.rent_usd_per_kw_month
    if ai.annual_revenue_usd is not None:
        return ai.annual_revenue_usd / (12.0 * it_mw * KW_PER_MW)
    # contract value = r0 * kW * sum over the term of (1 + e)^year
    return ai.contract_value_usd / (it_mw * KW_PER_MW * escalation_sum(ai.rent_escalator_per_year,
                                                                       int(ai.term_months)))


def escalation_sum(escalator, term_months: int):
    """sum over lease months j < term of (1 + escalator)^(j // 12) [months].

    A float for a float escalator, an array ``(n_paths, 1)`` for an array.
    """
    if np.ndim(escalator) == 0:
        return float(((1.0 + escalator) ** (np.arange(term_months) // 12)).sum())
    return _lease_units_invoiced(escalator, term_months, term_months)


def contract_terms(inputs):
    """Contract value, ARR and prepayment [USD] as the deal states them.

    Returns
    -------
    dict
        ``contract_value_usd`` (total over the full term, all tranches),
        ``annual_revenue_usd`` (first-year run rate at full capacity),
        ``prepayment_usd``.
    """
    ai = inputs.ai
    years = ai.term_months / 12.0
    if ai.kind == "gpu_cloud":
        value = ai.contract_value_usd
        arr = value / years
    else:
        it_kw = critical_it_mw(inputs) * KW_PER_MW
        r0 = first_year_rent_usd_per_kw_month(ai, critical_it_mw(inputs))
        value = r0 * it_kw * escalation_sum(ai.rent_escalator_per_year, int(ai.term_months))
        arr = r0 * it_kw * 12.0
    return {"contract_value_usd": value, "annual_revenue_usd": arr,
            "prepayment_usd": ai.prepayment_share * value}


def default_month(hazard_per_month, event_draw):
    """Month of the counterparty's default from its event draw.

    Parameters
    ----------
    hazard_per_month : float or ndarray (n_paths, 1)
        Monthly default probability h [-].
    event_draw : float or ndarray (n_paths, 1)
        U(0, 1) draw u (0.5 in the base case).

    Returns
    -------
    ndarray
        tau = ceil(log(1 - u) / log(1 - h)) >= 1 [months after t = 0], so
        that P(tau <= t) = 1 - (1 - h)^t; ``inf`` where h = 0 (never).
    """
    h = np.asarray(hazard_per_month, dtype=float)
    u = np.asarray(event_draw, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = np.ceil(np.log1p(-u) / np.log1p(-np.minimum(h, 1.0)))
    return np.where(h <= 0, np.inf, np.where(h >= 1, 1.0, np.maximum(tau, 1.0)))


def _lease_units_invoiced(escalator, term: int, months):
    """sum over lease months j < months of (1 + escalator)^(j // 12) -> (rows, 1).

    ``months`` holds whole numbers in [0, term].
    """
    esc = np.asarray(escalator, dtype=float).reshape(-1, 1)
    factors = (1.0 + esc) ** (np.arange(term) // 12)[None, :]
    table = np.concatenate([np.zeros((factors.shape[0], 1)), np.cumsum(factors, axis=1)], axis=1)
    k = np.asarray(months, dtype=int).reshape(-1, 1)
    rows = max(table.shape[0], k.shape[0])
    return np.take_along_axis(np.broadcast_to(table, (rows, term + 1)),
                              np.broadcast_to(k, (rows, 1)), axis=1)


#: how a construction delay touches spending (``ai.risks.delay_spending``):
#: ``committed`` (the build and the GPU order keep their schedule; only
#: go-live and revenue move), ``stretched`` (the build spreads over the
#: delay, same start and total), ``moves`` (every payment shifts with go-live)
DELAY_SPENDING = ("committed", "stretched", "moves")


def _term(namespace, name, default):
    """A deal term of the inputs tree, or its "as before" default when the tree has no such field."""
    value = getattr(namespace, name, None)
    return default if value is None else value


def deal_terms(inputs) -> dict:
    """The contract terms the hosting model reads beyond price, term and capacity.

    Returns a dict with, for any field the inputs tree lacks, the value that
    reproduces the model without that term: spending moves with the delay,
    one prepayment at t = 0 credited pro rata, no delay credits, no long-stop.
    """
    ai, risks, fin = inputs.ai, inputs.ai.risks, inputs.finance
    credit_start = getattr(ai, "prepayment_credit_start_month", None)
    paid = _term(ai, "prepayment_paid", "at_signing")
    return {
        "delay_spending": _term(risks, "delay_spending", "moves"),
        "delay_cost_share_per_month": _term(risks, "delay_cost_share_per_month", 0.0),
        "gpu_shipment_months_before_delivery": _term(ai, "gpu_shipment_months_before_delivery", 0.0),
        "gpu_payment_months_after_shipment": _term(ai, "gpu_payment_months_after_shipment", 0.0),
        "per_tranche_prepayment": credit_start is not None or paid != "at_signing",
        "prepayment_paid": paid,
        "prepayment_months_before_delivery": _term(ai, "prepayment_months_before_delivery", 0.0),
        "prepayment_credit_start_month": 1.0 if credit_start is None else credit_start,
        "prepayment_tax": _term(ai, "prepayment_tax", "as_earned"),
        "delay_credit_share_per_month": _term(ai, "delay_credit_share_per_month", 0.0),
        "delay_credit_cap_share": _term(ai, "delay_credit_cap_share", 1.0),
        "long_stop_months": getattr(ai, "long_stop_months", None),
        "termination_probability": _term(risks, "termination_probability", 1.0),
        "termination_event": _term(risks, "termination_event", 0.5),
        "on_termination": _term(ai, "on_termination", "release"),
        "gpu_resale_haircut_share": _term(ai, "gpu_resale_haircut_share", 0.0),
        "terminal_value": fin.terminal_value,
        "terminal_hall_value_usd_per_mw": _term(fin, "terminal_hall_value_usd_per_mw", 0.0),
    }


def _settings(inputs, terms: dict) -> np.ndarray:
    """The packed switches and whole-month terms of the kernels (``S_*``)."""
    ai, fin, risks = inputs.ai, inputs.finance, inputs.ai.risks
    term = int(ai.term_months)
    renewal_term = int(risks.renewal_term_months if risks.renewal_term_months is not None else term)
    values = {
        K.S_TERM: term, K.S_RENEWAL_TERM: renewal_term, K.S_CONSTRUCTION: int(ai.construction_months),
        K.S_GPU_LIFE: round(fin.depreciation.gpu_years * 12), K.S_GPU_CLOUD: ai.kind == "gpu_cloud",
        K.S_PASS_THROUGH: bool(ai.power_pass_through),
        K.S_TERMINAL: {"none": K.TERMINAL_NONE, "book_value": K.TERMINAL_BOOK,
                       "economic": K.TERMINAL_ECONOMIC}[terms["terminal_value"]],
        K.S_COMMITTED: terms["delay_spending"] != "moves", K.S_STRETCH: terms["delay_spending"] == "stretched",
        K.S_SHIP_LEAD: terms["gpu_shipment_months_before_delivery"],
        K.S_PAY_LAG: terms["gpu_payment_months_after_shipment"],
        K.S_PER_TRANCHE: terms["per_tranche_prepayment"],
        K.S_PREPAY_LEAD: (-1.0 if terms["prepayment_paid"] == "at_signing"
                          else terms["prepayment_months_before_delivery"]),
        K.S_CREDIT_START: terms["prepayment_credit_start_month"],
        K.S_GRACE: -1.0 if terms["long_stop_months"] is None else terms["long_stop_months"],
        K.S_SELL_ON_TERMINATION: terms["on_termination"] == "sell_gpus",
    }
    settings = np.zeros(K.N_SETTINGS)
    for index, value in values.items():
        settings[index] = float(value)
    return settings


def _per_path_values(inputs, terms: dict) -> dict:
    """Per-path parameters of the kernels by column (``K_*``): numbers or arrays ``(n_paths, 1)``."""
    ai, fin, risks = inputs.ai, inputs.finance, inputs.ai.risks
    it_mw = critical_it_mw(inputs)
    contract = contract_terms(inputs)
    term = int(ai.term_months)
    if ai.kind == "gpu_cloud":
        full_rate = contract["annual_revenue_usd"] / 12.0  # invoice of the whole deal in lease month 0
        escalator, value_units = 0.0, float(term)
        age_decay = 1.0 - np.asarray(risks.gpu_value_decline_per_year, dtype=float)
        backstop_usd = 0.0
        gpu_cost, gpu_residual_share = ai.gpu_capex_usd, ai.gpu_residual_share
    else:
        full_rate = first_year_rent_usd_per_kw_month(ai, it_mw) * it_mw * KW_PER_MW
        escalator = ai.rent_escalator_per_year
        value_units = escalation_sum(escalator, term)
        age_decay = 1.0
        backstop_usd = ai.backstop_usd
        gpu_cost = gpu_residual_share = 0.0
    facility_total = ai.datacenter_capex_usd_per_mw * it_mw
    if ai.kind != "gpu_cloud":
        facility_total = np.maximum(0.0, facility_total - ai.tenant_funded_capex_usd)
    facility_total = facility_total * risks.capex_overrun_multiplier
    terminates = np.asarray(terms["termination_event"]) < np.asarray(terms["termination_probability"])
    return {
        K.K_DELAY: risks.construction_delay_months,
        K.K_TAU: default_month(risks.default_hazard_per_month, risks.default_event),
        K.K_VACANCY: risks.release_months,
        K.K_RENEWED: np.asarray(risks.renewal_event) < np.asarray(risks.renewal_probability),
        K.K_UTILISATION: risks.uncontracted_utilisation, K.K_RELEASE_PRICE: risks.release_price_share,
        K.K_RENEWAL_PRICE: risks.renewal_price_share * age_decay ** (term / 12.0),
        K.K_AGE_DECAY: age_decay, K.K_ESCALATOR: escalator, K.K_FULL_RATE: full_rate,
        K.K_FACILITY_TOTAL: facility_total, K.K_GPU_COST: gpu_cost, K.K_GPU_RESIDUAL: gpu_residual_share,
        K.K_IT_MW: it_mw, K.K_LOAD_FACTOR: ai.it_load_factor, K.K_PUE: ai.pue,
        K.K_OPEX_RATE: ai.opex_usd_per_mw_year * it_mw, K.K_PREPAY_SHARE: ai.prepayment_share,
        K.K_PREPAY_T0: 0.0 if terms["per_tranche_prepayment"] else contract["prepayment_usd"],
        K.K_BACKSTOP: backstop_usd, K.K_RECOVERY_SHARE: risks.default_recovery_share,
        K.K_RECOVERY_MONTHS: risks.default_recovery_months,
        K.K_TERMINATES: terminates, K.K_MARKET_RATE: risks.release_price_share,
        K.K_HAIRCUT: terms["gpu_resale_haircut_share"], K.K_DELAY_COST: terms["delay_cost_share_per_month"],
        K.K_CREDIT_SHARE: terms["delay_credit_share_per_month"], K.K_CREDIT_CAP: terms["delay_credit_cap_share"],
        K.K_VALUE_UNITS: value_units, K.K_HALL_VALUE: terms["terminal_hall_value_usd_per_mw"] * it_mw,
        K.K_TERMINATION_VACANCY: risks.release_months,
    }


def hosting_cash_flows(inputs, market, timeline: Timeline, *, net_only: bool = False,
                       with_bridge: bool | None = None, financing: bool = False) -> CashFlows:
    """Monthly cash flows of the AI-hosting deal on the site's grid power.

    Any input may be an array ``(n_paths, 1)``
    (:func:`pivotsim.uncertainty.sample_inputs`); the month loops run in
    compiled kernels, path by path, so a path's flows depend on its own
    inputs only.

    Parameters
    ----------
    inputs : namespace
        The scenario's values (:func:`pivotsim.scenario.to_inputs`), with
        ``ai.risks.default_event`` and ``ai.risks.renewal_event`` draws.
    market : MarketPaths
        Only the power price is used.
    timeline : Timeline
    net_only : bool
        Only the net cash flow (what a valuation reads; the same numbers):
        ``items`` and ``quantities`` are left empty and the lines are never
        written out to memory.
    with_bridge : bool, optional
        Fill ``bridge_usd`` (default: unless ``net_only``).
    financing : bool
        Also keep what project debt reads (:mod:`pivotsim.models.debt`),
        even with ``net_only``: the item ``capex_usd`` and the quantity
        ``taxable_income_usd`` (the income taxed, before interest).

    Returns
    -------
    CashFlows
        Items ``revenue_usd, prepayment_usd, prepayment_credit_usd,
        prepayment_refund_usd, prepayment_unearned_usd, delay_credit_usd,
        default_backstop_usd, default_recovery_usd, power_usd, opex_usd,
        capex_usd, tax_usd, gpu_residual_usd, terminal_value_usd``;
        quantities ``grid_kwh, critical_it_kwh, live_it_mw, ebitda_usd,
        depreciation_usd``; ``bridge_usd``: the cash flows of the
        prepayment as financing (prepayment, credits, refunds, the unearned
        liability and, when taxed on receipt, the tax it moves) and of the
        terminal value (:func:`pivotsim.models.finance.value_bridge`).

    Notes
    -----
    Compiled kernels, about a thousand paths at a time: facility capex
    (:func:`~._hosting_kernels._facility_capex_kernel`), its depreciation
    (:func:`~pivotsim.models.accounting.straight_line_depreciation`), every
    tranche's flows and the lines built on them
    (:func:`~._hosting_kernels._contract_kernel`), the tax
    (:func:`~pivotsim.models.accounting.tax_with_loss_carryforward`), then
    the net (:func:`~._hosting_kernels._close_kernel`).
    """
    fin = inputs.finance
    n = timeline.n_periods
    terms = deal_terms(inputs)
    settings = _settings(inputs, terms)
    gpu_cloud = inputs.ai.kind == "gpu_cloud"
    pass_through = bool(inputs.ai.power_pass_through)
    power_price = (np.zeros((1, 1)) if pass_through else
                   np.ascontiguousarray(market.month_mean("power_price_usd_per_kwh"), dtype=float))
    values = _per_path_values(inputs, terms)
    # one row per path, or a single row when nothing varies by path (the base case)
    rows = max(power_price.shape[0], *(np.size(v) for v in (*values.values(), fin.tax_rate)))
    params = np.empty((rows, K.N_PARAMS))
    for column, value in values.items():
        params[:, column] = per_path(value, rows)
    settings[K.S_HAS_DEFAULT] = bool(np.any(np.isfinite(params[:, K.K_TAU])))
    settings[K.S_HAS_DELAY_CREDIT] = bool(np.any(params[:, K.K_CREDIT_SHARE] > 0))
    tranches = np.array([[float(phase.share), float(phase.online_month),
                          float(_term(phase, "rent_commencement_month", phase.online_month))]
                         for phase in inputs.ai.phases])
    on_receipt = terms["prepayment_tax"] == "on_receipt" and bool(np.any(params[:, K.K_PREPAY_SHARE] > 0))
    bridge = (not net_only) if with_bridge is None else with_bridge

    lines = np.empty((K.N_LINES, rows if not net_only else scratch_rows(rows), n))
    net = np.empty((rows, n))
    # Items that are zero but in a few months per path are built month-major,
    # (n_periods, rows), on lazily zeroed memory: only the months written touch memory.
    sparse = np.zeros((K.N_SPARSE, n, rows))
    sales = np.zeros((2, rows, len(tranches)))
    prepayment_financing = np.zeros((rows, n)) if bridge else None
    kept_for_debt = {"capex_usd": np.empty((rows, n)), "taxable_income_usd": np.empty((rows, n))} if financing else None
    hours = np.ascontiguousarray(timeline.hours, dtype=float)
    tax_rate = np.asarray(fin.tax_rate, dtype=float)
    horizon = n - 1
    facility_life = round(fin.depreciation.facility_years * 12)
    # About a thousand paths at a time: the lines the depreciation, tax and net
    # read back are still in cache.
    for start in range(0, rows, ROWS_PER_PASS):
        stop = min(start + ROWS_PER_PASS, rows)
        pass_ = slice(start, stop)
        r0 = 0 if net_only else start
        line = {index: lines[index, r0:r0 + stop - start] for index in range(K.N_LINES)}
        path = params[start:stop]
        K._facility_capex_kernel(settings, tranches, path, line[K.L_FACILITY])
        facility_depreciation = np.ascontiguousarray(finance.straight_line_depreciation(
            line[K.L_FACILITY], facility_life), dtype=float)
        K._contract_kernel(settings, tranches, hours, pass_rows(power_price, pass_), facility_depreciation, path,
                          lines, r0, net, start, sparse, start, sales)
        taxed = _close_pass(settings, lines, line, r0, path, pass_, net, sparse, sales, horizon,
                            pass_rows(tax_rate, pass_), on_receipt, prepayment_financing)
        if financing:
            kept_for_debt["capex_usd"][pass_] = line[K.L_CAPEX]
            kept_for_debt["taxable_income_usd"][pass_] = taxed
    flows = _result(timeline, net, lines, sparse, params, rows, net_only, gpu_cloud, pass_through,
                    prepayment_financing, settings)
    if financing:
        flows.items["capex_usd"] = kept_for_debt["capex_usd"]
        flows.quantities["taxable_income_usd"] = kept_for_debt["taxable_income_usd"]
    return flows


def _close_pass(settings, lines, line, r0, path, pass_, net, sparse, sales, horizon, tax_rate, on_receipt,
                prepayment_financing):
    """Unearned prepayment, tax and the rest of the net of one pass of paths; its prepayment-financing flows.

    Returns the income taxed ``(pass rows, n_periods)`` [USD].
    """
    start = pass_.start
    prepayment_cash = _prepayment_cash(sparse, pass_, path, settings,
                                       on_receipt or prepayment_financing is not None)
    # Service prepaid but not yet delivered at the horizon (contract months a
    # delay pushed past it) is owed to the customer: the unearned prepayment
    # is a liability at the horizon.  A customer that defaulted by then had its
    # claim reduced by the prepayment already, so nothing is owed there.
    unearned_usd = prepayment_cash["received"] + np.sum(line[K.L_CREDIT], axis=-1)
    if settings[K.S_GRACE] >= 0 or settings[K.S_PER_TRANCHE]:  # (else nothing is refunded)
        unearned_usd = unearned_usd + prepayment_cash["refunded"]
    # (credits in equal parts add up to the prepayment only to rounding: a residual is no liability)
    rounding = np.abs(unearned_usd) <= 1e-9 * np.abs(prepayment_cash["received"])
    unearned_usd = np.where((path[:, K.K_TAU] <= horizon) | rounding, 0.0, unearned_usd)
    liability = -np.maximum(unearned_usd, 0.0)
    tax = np.ascontiguousarray(finance.tax_with_loss_carryforward(line[K.L_TAXABLE], tax_rate), dtype=float)
    tax_moved = None
    taxed = line[K.L_TAXABLE]
    if on_receipt:  # taxed when received, deducted when credited, refunded or owed at the horizon
        moved = prepayment_cash["by_month"] + line[K.L_CREDIT]
        moved[:, -1] += liability
        operations_tax = tax
        taxed = line[K.L_TAXABLE] + moved
        tax = np.ascontiguousarray(finance.tax_with_loss_carryforward(taxed, tax_rate))
        tax_moved = tax - operations_tax
    K._close_kernel(settings, liability, sales, sparse, start, lines, r0, tax, net, start)
    if prepayment_financing is not None:
        flows = prepayment_cash["by_month"] + line[K.L_CREDIT]
        flows[:, -1] += liability
        if tax_moved is not None:
            flows -= tax_moved
        prepayment_financing[pass_] = flows
    return taxed


def _prepayment_cash(sparse, pass_, path, settings, by_month: bool) -> dict:
    """Prepayment received and refunded per path [USD] ``(rows,)``; with ``by_month`` both by month ``(rows, n_periods)``."""
    t0 = path[:, K.K_PREPAY_T0]
    per_tranche = settings[K.S_PER_TRANCHE] != 0
    refunds = settings[K.S_GRACE] >= 0
    out = {"received": t0 + np.sum(sparse[K.SP_PREPAYMENT, :, pass_], axis=0) if per_tranche else t0,
           "refunded": np.sum(sparse[K.SP_REFUND, :, pass_], axis=0) if refunds or per_tranche else 0.0}
    if by_month:
        flows = sparse[K.SP_PREPAYMENT, :, pass_].T + sparse[K.SP_REFUND, :, pass_].T
        flows[:, 0] += t0
        out["by_month"] = flows
    return out


def _result(timeline, net, lines, sparse, params, rows, net_only, gpu_cloud, pass_through,
            prepayment_financing, settings) -> CashFlows:
    """The :class:`CashFlows` of :func:`hosting_cash_flows` from the kernels' arrays."""
    n = timeline.n_periods
    bridge = {}
    if prepayment_financing is not None:
        bridge = {"prepayment_financing_usd": prepayment_financing,
                  "terminal_value_usd": sparse[K.SP_TERMINAL].T}
    if net_only:
        return CashFlows(timeline=timeline, items={}, quantities={}, net_usd=net, bridge_usd=bridge)
    shape = (rows, n)
    zero = np.broadcast_to(0.0, shape)
    prepayment = sparse[K.SP_PREPAYMENT].T.copy()
    prepayment[:, 0] += params[:, K.K_PREPAY_T0]
    has_default = settings[K.S_HAS_DEFAULT] != 0
    items = {
        "revenue_usd": lines[K.L_REVENUE],
        "prepayment_usd": prepayment,
        "prepayment_credit_usd": lines[K.L_CREDIT],
        "prepayment_refund_usd": sparse[K.SP_REFUND].T,
        "prepayment_unearned_usd": sparse[K.SP_UNEARNED].T,
        "delay_credit_usd": sparse[K.SP_DELAY_CREDIT].T,
        "default_backstop_usd": sparse[K.SP_BACKSTOP].T if has_default else zero,
        "default_recovery_usd": sparse[K.SP_RECOVERY].T if has_default else zero,
        "power_usd": zero if pass_through else lines[K.L_POWER],
        "opex_usd": lines[K.L_OPEX],
        "capex_usd": lines[K.L_CAPEX],
        "tax_usd": lines[K.L_TAX],
        "gpu_residual_usd": sparse[K.SP_RESIDUAL].T if gpu_cloud else zero,
        "terminal_value_usd": sparse[K.SP_TERMINAL].T,
    }
    quantities = {"grid_kwh": lines[K.L_GRID_KWH], "critical_it_kwh": lines[K.L_CRITICAL_IT_KWH],
                  "live_it_mw": lines[K.L_LIVE_IT_MW], "ebitda_usd": lines[K.L_EBITDA],
                  "depreciation_usd": lines[K.L_DEPRECIATION]}
    return CashFlows(timeline=timeline, items=items, quantities=quantities, net_usd=net, bridge_usd=bridge)
