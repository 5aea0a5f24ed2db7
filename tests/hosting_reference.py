"""Frozen reference: ``hosting_cash_flows`` as it was before the compiled kernel (commit 8ef0411).

The numpy implementation the kernel in :mod:`pivotsim.models.hosting` replaced,
kept verbatim (only its imports changed) so that
``tests/test_hosting_kernel.py`` can check the kernel against it on random
per-path inputs.  Not part of the package; do not edit.
"""

from __future__ import annotations

import numpy as np

from pivotsim.models import finance
from pivotsim.models.cashflows import CashFlows
from pivotsim.models.hosting import (KW_PER_MW, contract_terms, critical_it_mw, default_month,
                                     first_year_rent_usd_per_kw_month)
from pivotsim.models.timeline import Timeline


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


def _rows(*values) -> int:
    """Rows of the broadcast of scalars and ``(n_paths, 1)`` columns."""
    return max([1] + [np.shape(v)[0] for v in values if np.ndim(v) == 2])


def _add_at(total, value, column, n_periods: int):
    """``total + value * 1[month == column]`` for each path, written into ``total`` when it can be.

    A scatter: only one cell per path is touched (``column`` holds whole
    months; a column outside the grid, fractional or infinite adds nothing),
    so it gives the same numbers as adding a one-hot row times ``value``
    for finite values, without a pass over the months.

    Parameters
    ----------
    total : None or ndarray (rows, n_periods)
        Running sum (None: zeros).
    value, column : float or ndarray (n_paths, 1)
        Amount [USD] and its column [months].
    """
    rows = _rows(value, column, total if total is not None else 0.0)
    if total is None:
        total = np.zeros((rows, n_periods))
    elif total.shape[0] < rows:
        total = np.broadcast_to(total, (rows, n_periods)).copy()
    col = np.broadcast_to(np.asarray(column, dtype=float).reshape(-1, 1), (rows, 1)).ravel()
    val = np.broadcast_to(np.asarray(value, dtype=float).reshape(-1, 1), (rows, 1)).ravel()
    with np.errstate(invalid="ignore"):
        hit = np.flatnonzero((col >= 0) & (col < n_periods) & (col == np.floor(col)))
    total[hit, col[hit].astype(np.intp)] += val[hit]
    return total


def _accumulate(total, term):
    """``total + term``, in place when ``total`` is already a float array of the result's shape.

    ``total`` None starts the sum: ``term`` itself is returned (so it must be
    a fresh array the caller owns), which is ``0 + term`` exactly.
    """
    if total is None:
        return np.asarray(term, dtype=float)
    if (isinstance(total, np.ndarray) and total.dtype == np.float64
            and total.shape == np.broadcast_shapes(total.shape, np.shape(term))):
        total += term
        return total
    return np.add(total, term, dtype=float)


def _scaled(mask, factor):
    """``factor * mask`` as floats (``mask`` boolean or float, ``factor`` scalar or column)."""
    return np.multiply(mask, factor, dtype=float)

def reference_hosting_cash_flows(inputs, market, timeline: Timeline) -> CashFlows:
    """Monthly cash flows of the AI-hosting deal on the site's grid power.

    Vectorised over paths: any input may be an array ``(n_paths, 1)``
    (:func:`pivotsim.uncertainty.sample_inputs`); loops run over tranches
    only.

    Parameters
    ----------
    inputs : namespace
        The scenario's values (:func:`pivotsim.scenario.to_inputs`), with
        ``ai.risks.default_event`` and ``ai.risks.renewal_event`` draws.
    market : MarketPaths
        Only the power price is used.
    timeline : Timeline

    Returns
    -------
    CashFlows
        Items ``revenue_usd, prepayment_usd, prepayment_credit_usd,
        default_backstop_usd, default_recovery_usd, power_usd, opex_usd,
        capex_usd, tax_usd, gpu_residual_usd, terminal_value_usd``;
        quantities ``grid_kwh, critical_it_kwh, live_it_mw, ebitda_usd,
        depreciation_usd``.
    """
    ai, fin, risks = inputs.ai, inputs.finance, inputs.ai.risks
    n = timeline.n_periods
    horizon = n - 1
    m = np.arange(n, dtype=float)[None, :]
    it_mw = critical_it_mw(inputs)
    terms = contract_terms(inputs)
    term = int(ai.term_months)
    renewal_term = int(risks.renewal_term_months if risks.renewal_term_months is not None else term)
    gpu_cloud = ai.kind == "gpu_cloud"
    if gpu_cloud:
        full_rate = terms["annual_revenue_usd"] / 12.0  # invoice of the whole deal in lease month 0
        escalator = 0.0
        age_decay = 1.0 - np.asarray(risks.gpu_value_decline_per_year, dtype=float)
        backstop_usd = 0.0
    else:
        full_rate = first_year_rent_usd_per_kw_month(ai, it_mw) * it_mw * KW_PER_MW
        escalator = ai.rent_escalator_per_year
        age_decay = 1.0
        backstop_usd = ai.backstop_usd

    delay = np.asarray(risks.construction_delay_months, dtype=float)
    tau = default_month(risks.default_hazard_per_month, risks.default_event)
    vacancy_months = np.asarray(risks.release_months, dtype=float)
    renewed = np.asarray(risks.renewal_event) < np.asarray(risks.renewal_probability)
    utilisation = risks.uncontracted_utilisation
    release_price = risks.release_price_share
    renewal_price = risks.renewal_price_share * age_decay ** (term / 12.0)

    facility_total = ai.datacenter_capex_usd_per_mw * it_mw
    if not gpu_cloud:
        facility_total = np.maximum(0.0, facility_total - ai.tenant_funded_capex_usd)
    facility_total = facility_total * risks.capex_overrun_multiplier
    gpu_life = round(fin.depreciation.gpu_years * 12)
    construction = int(ai.construction_months)

    # cheap paths for the common case: no default possible, no renewal, no escalator
    can_default = bool(np.any(np.isfinite(tau)))
    can_renew = bool(np.any(renewed))
    escalates = bool(np.any(np.asarray(escalator) != 0))
    ages = bool(np.any(age_decay != 1.0))

    # Running sums start as None and are written in place once they are arrays
    # (each line is the same arithmetic as ``total + term``, in the same order).
    revenue = original_revenue = load = in_service = None
    facility_capex = gpu_capex = dep_gpu = gpu_residual = disposal_gain = None
    gpu_book_end = 0.0
    remaining_invoices = 0.0
    # Without default risk the original-contract revenue is the revenue unless
    # a renewal adds to it, and the capacity in service is the live load.
    same_original = not can_default and not can_renew
    whole_months = bool(np.all(delay == np.floor(delay)))
    for phase in ai.phases:  # loop over tranches; every line is vectorised over paths and months
        share = phase.share
        golive = phase.online_month + delay
        rate = share * full_rate
        if escalates or can_default or can_renew or not whole_months:
            lease_month = m - golive - 1
            in_term = (lease_month >= 0) & (lease_month < term)
        else:  # lease month m - g - 1 in [0, term): exact comparisons on whole months
            in_term = (m >= golive + 1) & (m < golive + 1 + term)
        if escalates:
            rate = rate * (1.0 + escalator) ** (np.maximum(lease_month, 0) // 12)
        if can_default:
            original = in_term & (m < tau)
            vacant = in_term & (m >= tau) & (m < tau + vacancy_months)
            released = in_term & (m >= tau + vacancy_months)
            # re-lease price fixed at the GPUs' age when the new tenant starts (inf: no default)
            release_factor = release_price * age_decay ** (
                np.maximum(tau + vacancy_months - golive - 1, 0.0) / 12.0)
            spot_factor = utilisation * (age_decay ** (np.maximum(lease_month, 0) / 12.0) if ages else 1.0)
            earning = original + vacant * spot_factor + released * release_factor
            load_p = original + released + utilisation * vacant
            invoiced = np.clip(np.where(np.isfinite(tau), tau - golive - 1, term), 0, term)
            unbilled = (_lease_units_invoiced(escalator, term, np.full(np.shape(invoiced), term))
                        - _lease_units_invoiced(escalator, term, invoiced))
            remaining_invoices = remaining_invoices + share * full_rate * unbilled
        else:
            original = earning = load_p = in_term
        service = in_term
        if can_renew:
            renewal = renewed & (lease_month >= term) & (lease_month < term + renewal_term)
            earning = earning + renewal * renewal_price
            load_p = load_p + renewal
            service = in_term | renewal
        revenue = _accumulate(revenue, _scaled(earning, rate))
        if not same_original:
            original_revenue = _accumulate(original_revenue, _scaled(original, rate))
        load = _accumulate(load, _scaled(load_p, share))
        if can_default:
            in_service = _accumulate(in_service, _scaled(service, share))

        # facility: spent evenly over the construction months ending at go-live
        per_month = share * facility_total / construction
        window = (m >= golive - construction + 1) & (m <= golive) & (m >= 1)
        before_start = np.clip(construction - golive, 0, construction)
        facility_capex = _accumulate(facility_capex, _add_at(_scaled(window, per_month),
                                                             per_month * before_start, 0.0, n))

        if gpu_cloud:
            # bought at go-live, depreciated straight line from the next month until sold
            cost = share * ai.gpu_capex_usd
            delivered = golive <= horizon
            sale = golive + term + (np.where(renewed, renewal_term, 0) if can_renew else 0)
            last_dep = np.minimum(golive + gpu_life, sale)
            dep_gpu = _accumulate(dep_gpu, _scaled((m > golive) & (m <= last_dep), cost / gpu_life))
            book = np.where(delivered, cost - (cost / gpu_life) * np.clip(
                np.minimum(last_dep, horizon) - golive, 0, gpu_life), 0.0)
            sold = sale <= horizon
            proceeds = cost * ai.gpu_residual_share
            if ages and can_renew:
                proceeds = proceeds * age_decay ** ((sale - golive - term) / 12.0)
            gpu_residual = _add_at(gpu_residual, proceeds, sale, n)
            disposal_gain = _add_at(disposal_gain, proceeds - book, sale, n)
            gpu_book_end = gpu_book_end + np.where(sold, 0.0, book)
            gpu_capex = _add_at(gpu_capex, cost, golive, n)
    if revenue is None:  # no tranche
        revenue = load = facility_capex = np.zeros((1, n))
    if same_original:
        original_revenue = revenue
    if not can_default:
        in_service = load
    gpu_capex = 0.0 if gpu_capex is None else gpu_capex
    dep_gpu = 0.0 if dep_gpu is None else dep_gpu
    gpu_residual = 0.0 if gpu_residual is None else gpu_residual
    disposal_gain = 0.0 if disposal_gain is None else disposal_gain

    # counterparty default: backstop at once, recovery later (claim net of prepayment)
    backstop_cash = recovery_cash = 0.0
    if can_default:
        claim = (1.0 - ai.prepayment_share) * remaining_invoices
        backstop = np.minimum(backstop_usd, claim)
        recovery = risks.default_recovery_share * (claim - backstop)
        backstop_cash = _add_at(None, backstop, tau, n)
        recovery_cash = _add_at(None, recovery, tau + risks.default_recovery_months, n)

    prepayment = np.zeros((1, n))
    prepayment[:, 0] = 1.0
    prepayment = prepayment * terms["prepayment_usd"]
    credit_out = _scaled(original_revenue, -ai.prepayment_share)  # -(share x revenue), exactly

    live_it_mw = _scaled(load, it_mw)
    hours = timeline.hours[None, :]
    critical_it_kwh = _scaled(live_it_mw, KW_PER_MW)
    critical_it_kwh *= hours
    grid_kwh = _scaled(critical_it_kwh, ai.it_load_factor)
    grid_kwh *= ai.pue
    if ai.power_pass_through:
        power = 0.0
    else:
        power = np.multiply(grid_kwh, market.month_mean("power_price_usd_per_kwh"))
    opex = _scaled(in_service, ai.opex_usd_per_mw_year * it_mw)
    opex /= 12.0

    dep_facility = finance.straight_line_depreciation(
        np.asarray(facility_capex, dtype=float), round(fin.depreciation.facility_years * 12))
    depreciation = np.add(dep_facility, dep_gpu)
    # ebitda = revenue + backstop + recovery - power - opex (zero terms skipped: x + 0 = x)
    ebitda = np.array(revenue, dtype=float, copy=True)
    if can_default:
        ebitda = ebitda + backstop_cash
        ebitda += recovery_cash
    ebitda = ebitda - power
    ebitda -= opex
    taxable = ebitda - depreciation
    taxable = _accumulate(taxable, disposal_gain)
    tax = finance.tax_with_loss_carryforward(taxable, fin.tax_rate)
    del taxable
    terminal = 0.0
    if fin.terminal_value == "book_value":
        facility_book = finance.book_value(facility_capex, dep_facility)[..., -1:]
        terminal = _add_at(None, facility_book + gpu_book_end, horizon, n)

    # Service prepaid but not yet delivered at the horizon (contract months a
    # delay pushed past it) is owed to the customer: the unearned prepayment
    # is a liability at the horizon.  A customer that defaulted by then had its
    # claim reduced by the prepayment share already, so nothing is owed there.
    # (credit_out is the negated credit, so -sum(credit_out) is sum(credit) exactly.)
    unearned = (np.sum(prepayment, axis=-1, keepdims=True)
                + np.sum(np.broadcast_to(credit_out, np.broadcast_shapes(np.shape(credit_out), (1, n))),
                         axis=-1, keepdims=True))
    if can_default:
        unearned = np.where(tau <= horizon, 0.0, unearned)
    unearned_liability = _add_at(None, -np.maximum(unearned, 0.0), horizon, n)

    capex = np.add(facility_capex, gpu_capex)
    # outflows as negative items, negated in place (the same numbers as ``-x``)
    power_out = 0.0 if np.ndim(power) == 0 else np.negative(power, out=power)
    opex_out = np.negative(opex, out=opex)
    capex_out = np.negative(capex, out=capex)
    tax_out = np.negative(tax, out=tax)
    items = {
        "revenue_usd": revenue,
        "prepayment_usd": prepayment,
        "prepayment_credit_usd": credit_out,
        "prepayment_unearned_usd": unearned_liability,
        "default_backstop_usd": backstop_cash,
        "default_recovery_usd": recovery_cash,
        "power_usd": power_out,
        "opex_usd": opex_out,
        "capex_usd": capex_out,
        "tax_usd": tax_out,
        "gpu_residual_usd": gpu_residual,
        "terminal_value_usd": terminal,
    }
    quantities = {
        "grid_kwh": grid_kwh,
        "critical_it_kwh": critical_it_kwh,
        "live_it_mw": live_it_mw,
        "ebitda_usd": ebitda,
        "depreciation_usd": depreciation,
    }
    shape = np.broadcast_shapes((1, n), *(np.shape(v) for v in (*items.values(), *quantities.values())))
    # net: the sum of the items in their order, skipping zero items (x + 0 = x)
    net = np.array(np.broadcast_to(np.asarray(revenue, dtype=float), shape), copy=True)
    net[:, :1] += prepayment[:, :1]  # the prepayment is zero after column 0
    for name in ("prepayment_credit_usd", "prepayment_unearned_usd", "default_backstop_usd",
                 "default_recovery_usd", "power_usd", "opex_usd", "capex_usd", "tax_usd", "gpu_residual_usd"):
        if name == "prepayment_unearned_usd":
            net[:, -1:] += items[name][:, -1:]  # zero before the horizon
        elif np.ndim(items[name]) != 0:
            net += items[name]
    if np.ndim(terminal) != 0:
        net[:, -1:] += terminal[:, -1:]  # zero before the horizon
    items = {k: np.broadcast_to(np.asarray(v, dtype=float), shape) for k, v in items.items()}
    quantities = {k: np.broadcast_to(np.asarray(v, dtype=float), shape) for k, v in quantities.items()}
    return CashFlows(timeline=timeline, items=items, quantities=quantities, net_usd=net)
