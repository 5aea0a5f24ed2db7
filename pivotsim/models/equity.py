"""The equity's view of a business: its project debt, levered cash flows and returns.

A business without ``debt`` in the scenario is valued unlevered, as before.
With debt, the tranches are sized once on the base case
(:func:`debt_terms`), then every path's cash flows are levered by the same
terms (:func:`levered_metrics`): CFADS = net cash flow + capex (the
operating cash flow after tax, before financing), capex and taxable income
from the business's own lines (``financing=True`` of the cash-flow models),
the equity's flows valued at the cost of equity.
"""

from __future__ import annotations

import numpy as np

from ..compiled import per_path
from . import debt as project_debt
from . import finance
from .cashflows import CashFlows

#: per-path metrics of a levered business, ``<business>_<name>``; the last is the financing part of
#: the value bridge (:data:`pivotsim.models.finance.BRIDGE_PARTS`), which the unlevered valuation leaves at 0
LEVERED_METRIC_NAMES = ("debt_usd", "cost_of_debt", "min_dscr", "avg_dscr", "covenant_breach", "first_breach_month",
                        "payment_default", "first_default_month", "equity_cure_usd", "equity_npv_usd", "equity_irr",
                        "equity_mirr", "equity_payback_months", "value_bridge_financing_usd")
_KERNEL_NAMES = dict(zip(LEVERED_METRIC_NAMES, project_debt.METRIC_NAMES))


def tranches_of(inputs, business: str) -> tuple:
    """The business's tranches (``inputs.<business>.debt``, a list) as :class:`~pivotsim.models.debt.Tranche`.

    Floating tranches keep their base rate (a number, or draws per path) in
    ``base_rate_per_year`` of the inputs; see :func:`base_rates`.
    """
    section = getattr(inputs, business)
    entries = getattr(section, "debt", None) or []
    out = []
    for entry in entries:
        fixed = getattr(entry, "rate_per_year", None)
        out.append(project_debt.Tranche(
            sizing=entry.sizing, tenor_months=int(entry.tenor_months),
            amount_usd=float(entry.amount_usd or 0.0), ltc_share=float(entry.ltc or 0.0),
            target_dscr=None if entry.target_dscr is None else float(entry.target_dscr),
            draw_month=None if entry.draw == "capex" else int(entry.draw),
            draw_from_month=int(getattr(entry, "draw_from_month", None) or 0),
            grace_months=int(entry.grace_months), amortisation=entry.amortisation,
            rate_per_year=None if fixed is None else float(fixed),
            margin_per_year=float(entry.margin_per_year or 0.0),
            upfront_fee_share=float(entry.upfront_fee_share),
            covenant_dscr=None if entry.covenant_dscr is None else float(entry.covenant_dscr),
            lockup_dscr=None if entry.lockup_dscr is None else float(entry.lockup_dscr),
            reserve_months=float(entry.reserve_months), sweep_share=float(entry.sweep_share),
            covenant_test_months=int(entry.covenant_test_months)))
    return tuple(out)


def base_rates(inputs, business: str) -> list:
    """Base rate of each tranche [fraction per year]: a number, or ``(n_paths, 1)`` draws; 0 for fixed ones."""
    entries = getattr(getattr(inputs, business), "debt", None) or []
    return [0.0 if getattr(e, "base_rate_per_year", None) is None else e.base_rate_per_year for e in entries]


def has_debt(inputs, business: str) -> bool:
    return bool(getattr(getattr(inputs, business), "debt", None))


def cost_of_equity(inputs, business: str, discount_rate):
    """The business's cost of equity [per year]: its own, else the scenario's, else its discount rate."""
    fin = inputs.finance
    own = getattr(fin, f"cost_of_equity_per_year_{business}", None)
    if own is not None:
        return own
    shared = getattr(fin, "cost_of_equity_per_year", None)
    return discount_rate if shared is None else shared


def _one_row_if_shared(values) -> np.ndarray:
    """``values``, or its first row (1, n_periods) when every path's row is that one (a broadcast)."""
    arr = np.asarray(values, dtype=float)
    return arr[:1] if arr.ndim == 2 and arr.strides[0] == 0 else arr


def _lines(flows: CashFlows):
    """Unlevered net cash flow, capex as spending, taxable income (each broadcastable to (n_paths, n_periods)).

    CFADS before the interest's tax saving is ``net + capex``.
    """
    try:
        capex = -_one_row_if_shared(flows.items["capex_usd"])
        if "mining_capex_usd" in flows.items:  # a split site's AI side: mining on the rest of the MW
            capex = capex - _one_row_if_shared(flows.items["mining_capex_usd"])
        taxable = _one_row_if_shared(flows.quantities["taxable_income_usd"])
    except KeyError as missing:
        raise ValueError(f"cash flows without {missing}: build them with financing=True") from None
    return np.asarray(flows.net, dtype=float), capex, taxable


def debt_terms(base_flows: CashFlows, base_inputs, business: str):
    """The business's debt sized on the base case (None without debt).

    Raises ``ValueError`` naming ``<business>.debt...`` for terms the base
    case cannot honour (tenor past the horizon, LTC without capex, ...).
    """
    tranches = tranches_of(base_inputs, business)
    if not tranches:
        return None
    net, capex, taxable = _lines(base_flows)
    cfads = net + capex
    base = [float(np.asarray(r, dtype=float).reshape(-1)[0]) for r in base_rates(base_inputs, business)]
    tax_rate = float(np.asarray(base_inputs.finance.tax_rate, dtype=float).reshape(-1)[0])
    try:
        return project_debt.size_debt(tranches, cfads[0], capex[0], taxable[0], tax_rate, base)
    except ValueError as error:
        raise ValueError(f"{business}.{error}") from None


def all_debt_terms(base_flows: dict, base_inputs) -> dict:
    """:func:`debt_terms` of every business with debt, from the base case's flows by business."""
    return {business: debt_terms(flows, base_inputs, business)
            for business, flows in base_flows.items() if has_debt(base_inputs, business)}


def levered(flows: CashFlows, terms, inputs, business: str, discount_rate=0.0, *, lines: bool = False,
            rows: int | None = None, equity_flows: bool = True):
    """The debt of ``terms`` on each path of ``flows`` (its first ``rows`` only, if given).

    ``discount_rate`` [per year]: the business's, the default cost of
    equity.  ``equity_flows``: keep the equity's monthly flows.  Returns the
    :class:`~pivotsim.models.debt.DebtResult`.
    """
    net, capex, taxable = _lines(flows)
    n_paths = net.shape[0] if rows is None else min(rows, net.shape[0])

    def first(values):
        values = np.asarray(values, dtype=float).reshape(-1)
        return values[:n_paths] if values.size > 1 else values

    def first_rows(values):
        values = np.asarray(values, dtype=float)
        return values[:n_paths] if values.shape[0] > 1 else values

    rates = [first(r) for r in base_rates(inputs, business)]
    return project_debt.debt_cash_flows(terms, None, first_rows(capex), first_rows(taxable),
                                        first(inputs.finance.tax_rate), base_rate_per_year=rates,
                                        cost_of_equity_per_year=first(cost_of_equity(inputs, business,
                                                                                     discount_rate)),
                                        discount_rate_per_year=first(discount_rate),
                                        lines=lines, net_usd=first_rows(net), equity_flows=equity_flows)


def levered_metrics(flows: CashFlows, terms, inputs, business: str, discount_rate, n_paths: int
                    ) -> dict[str, np.ndarray]:
    """Per-path debt and equity metrics of a levered business, ``<business>_<name>`` (see :data:`LEVERED_METRIC_NAMES`).

    ``discount_rate`` [per year]: the business's (the default cost of equity).
    """
    result = levered(flows, terms, inputs, business, discount_rate, equity_flows=False)
    return {f"{business}_{name}": np.broadcast_to(result.metrics[_KERNEL_NAMES[name]], (n_paths,)).copy()
            for name in LEVERED_METRIC_NAMES}


EQUITY_METRIC_NAMES = ("npv_usd", "irr", "mirr", "payback_months")


def equity_metrics(equity_usd, cost_of_equity_per_year, names=EQUITY_METRIC_NAMES) -> dict[str, np.ndarray]:
    """NPV at the cost of equity, IRR, MIRR and payback of the equity's cash flows, per path.

    One compiled valuation pass (:func:`~pivotsim.models.finance.valuation_metrics`).

    Parameters
    ----------
    equity_usd : ndarray (n_paths, n_periods)
        [USD], column 0 at t = 0.
    cost_of_equity_per_year : float or ndarray (n_paths,)
        [fraction per year]; also the finance and reinvestment rate of the MIRR.
    names : tuple of str
        The metrics wanted (of :data:`EQUITY_METRIC_NAMES`).

    Returns
    -------
    dict of str -> ndarray (n_paths,)
        ``npv_usd`` [USD], ``irr``, ``mirr`` [effective annual], ``payback_months``.
    """
    equity = np.asarray(equity_usd, dtype=float)
    equity = equity[None, :] if equity.ndim == 1 else equity
    rate = per_path(finance.monthly_rate(cost_of_equity_per_year), equity.shape[0])[:, None]
    return finance.valuation_metrics(equity, rate, names) if names else {}
