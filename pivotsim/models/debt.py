"""Project debt: tranches sized on the base case, serviced path by path, and the equity's cash flows.

A business's *unlevered* cash flows (what :mod:`pivotsim.models.mining` and
:mod:`pivotsim.models.hosting` produce) become the *equity's* once debt is
drawn and serviced.  Each tranche is

* sized by an ``amount`` [USD], by ``ltc`` (a share of the capex it funds) or
  by ``dscr`` (on the base case, the largest debt whose minimum DSCR over the
  tenor is ``target_dscr``);
* drawn with the capex it funds (during its availability period, months
  ``start .. start + grace``, where ``start`` is the first month of base-case
  capex) or all at once in a given month;
* interest only during ``grace_months``, then repaid by ``annuity``,
  ``straight`` (equal principal), ``sculpted`` (debt service = CFADS / target
  DSCR on the base case) or ``bullet`` (one balloon at maturity), the whole
  tenor counted from the first draw;
* at a fixed rate, or floating (a base rate that may be drawn per path, plus
  a margin).  Annual rates convert to monthly as ``(1 + r) ** (1/12) - 1``
  (the project's convention for every rate).

CFADS (cash flow available for debt service) is the operating cash flow after
tax and before financing: the unlevered net cash flow plus capex, plus the tax
saved by deducting interest.  The tax is recomputed with interest deducted,
by the same loss carry-forward rule as
:func:`~pivotsim.models.accounting.tax_with_loss_carryforward`, so the interest
line reaches the tax step.

Each month of repayment is a test month: ``DSCR = CFADS / (interest + scheduled
principal)`` of the tranches in repayment (a bullet's balloon is not tested:
it is refinanced by the sponsor, i.e. paid in the equity flow).  Below a
tranche's ``covenant_dscr`` the covenant is breached (the first month is
recorded); below ``lockup_dscr`` the month's surplus is held in a lock-up
account until a later month's DSCR clears it.  When CFADS cannot pay the debt
service, the lock-up cash, then the debt-service reserve (``reserve_months``
of service, funded by the equity when the tranche's draws end) pay it; what
is still missing is a *payment default*: it is recorded and the equity cures
it (the equity flow is negative that month).  Debt is never negative.  A
``sweep_share`` of the surplus left after the reserve is refilled prepays the
tranche.  The equity's flow is everything the project does not keep:
``CFADS - capex + draws - fees - interest - principal - reserve and lock-up
changes`` (negative: the sponsor pays in).

The debt terms (amounts, draws, principal profiles) are fixed on the base
case; on each Monte Carlo path the same debt meets that path's cash flows,
capex (under ``ltc``) and base rate.

References
----------
NREL System Advisor Model, *Single Owner* financial model (debt sized by a
target DSCR, sculpted to it); E. R. Yescombe, *Principles of Project Finance*
(2nd ed., 2014), ch. 12-14 (CFADS, DSCR, sculpting, reserve accounts, cash
sweeps and lock-ups); numpy-financial ``pmt``/``ipmt``/``ppmt``/``mirr``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..compiled import inner_kernel, kernel, per_path, rows_of
from . import accounting, finance
from .equity_returns import equity_row_metrics
from .roots import rate_of_flows

SIZINGS = ("amount", "ltc", "dscr")
AMORTISATIONS = ("annuity", "straight", "sculpted", "bullet")


@dataclass(frozen=True)
class Tranche:
    """One tranche of project debt (see the module docstring).

    Parameters
    ----------
    sizing : {"amount", "ltc", "dscr"}
    tenor_months : int
        Months from the first draw to maturity [months].
    amount_usd : float
        Principal under ``sizing="amount"`` [USD].
    ltc_share : float
        Share of the capex of the availability period it funds under
        ``sizing="ltc"`` [fraction, 0..1].
    target_dscr : float
        Minimum DSCR the sizing (``"dscr"``) aims at [ratio, >= 1]; a
        sculpted tranche sized otherwise only needs it under a senior one
        (its service is ``CFADS / target`` less the senior service, scaled).
    draw_month : int or None
        Month of a single draw; None: draws follow the capex, from ``draw_from_month`` on
        (closing: a delayed-draw loan funds what is bought after it) [month].
    grace_months : int
        Interest-only (availability) months after the first draw [months].
    amortisation : {"annuity", "straight", "sculpted", "bullet"}
    rate_per_year : float or None
        Fixed rate [fraction per year]; None: floating at base rate plus ``margin_per_year``.
    margin_per_year : float
        Margin over the base rate of a floating tranche [fraction per year].
    upfront_fee_share : float
        Fee paid on each draw [fraction of the draw].
    covenant_dscr, lockup_dscr : float or None
        DSCR below which the covenant is breached / distributions stop [ratio].
    reserve_months : float
        Debt-service reserve: months of the first repayment month's service,
        funded by the equity when the draws end, released at maturity [months].
    sweep_share : float
        Share of each test month's surplus that prepays the tranche [fraction].
    covenant_test_months : int
        Months over which the covenant and lock-up DSCR is measured: 1, each
        month's own; 12, the trailing twelve months' CFADS over their debt
        service (months of repayment only) [months].
    """

    sizing: str
    tenor_months: int
    amount_usd: float = 0.0
    ltc_share: float = 0.0
    target_dscr: float | None = None
    draw_month: int | None = None
    draw_from_month: int = 0
    grace_months: int = 0
    amortisation: str = "annuity"
    rate_per_year: float | None = None
    margin_per_year: float = 0.0
    upfront_fee_share: float = 0.0
    covenant_dscr: float | None = None
    lockup_dscr: float | None = None
    reserve_months: float = 0.0
    sweep_share: float = 0.0
    covenant_test_months: int = 1

    @property
    def floating(self) -> bool:
        return self.rate_per_year is None

    def annual_rate(self, base_rate_per_year=0.0):
        """All-in annual rate [fraction per year] (per path when the base rate is)."""
        if self.floating:
            return np.asarray(base_rate_per_year, dtype=float) + self.margin_per_year
        return np.asarray(self.rate_per_year, dtype=float)


def check_tranche(tranche: Tranche, n_periods: int, field: str = "debt") -> None:
    """Raise ``ValueError`` (``field.name: value ... allowed``) for terms the model cannot honour.

    ``n_periods``: columns of the cash flows (month 0 .. horizon).
    """
    t = tranche
    horizon = n_periods - 1
    if t.sizing not in SIZINGS:
        raise ValueError(f"{field}.sizing: {t.sizing!r} is not allowed; must be one of {', '.join(SIZINGS)}")
    if t.amortisation not in AMORTISATIONS:
        raise ValueError(f"{field}.amortisation: {t.amortisation!r} is not allowed; "
                         f"must be one of {', '.join(AMORTISATIONS)}")
    if not 1 <= t.tenor_months:
        raise ValueError(f"{field}.tenor_months: {t.tenor_months} is not allowed; must be at least 1")
    if not 0 <= t.grace_months < t.tenor_months:
        raise ValueError(f"{field}.grace_months: {t.grace_months} is not allowed; "
                         f"must be at least 0 and below tenor_months ({t.tenor_months})")
    start = 0 if t.draw_month is None else t.draw_month
    if t.draw_month is not None and not 0 <= t.draw_month <= horizon:
        raise ValueError(f"{field}.draw: month {t.draw_month} is not allowed; must be within 0..{horizon}")
    if start + t.tenor_months > horizon:
        raise ValueError(f"{field}.tenor_months: {t.tenor_months} from month {start} is not allowed; "
                         f"must end within the horizon ({horizon} months)")
    if t.target_dscr is not None and not t.target_dscr >= 1.0:
        raise ValueError(f"{field}.target_dscr: {t.target_dscr} is not allowed; must be at least 1")
    if t.target_dscr is None and t.sizing == "dscr":
        raise ValueError(f"{field}.target_dscr: missing; sizing dscr needs a target DSCR (at least 1)")
    if t.sizing == "ltc" and not 0.0 < t.ltc_share <= 1.0:
        raise ValueError(f"{field}.ltc: {t.ltc_share} is not allowed; must be above 0 and at most 1")
    if t.sizing == "amount" and not t.amount_usd > 0.0:
        raise ValueError(f"{field}.amount_usd: {t.amount_usd} is not allowed; must be positive")
    for name in ("upfront_fee_share", "sweep_share"):
        value = getattr(t, name)
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{field}.{name}: {value} is not allowed; must be at least 0 and below 1")
    if not 1 <= t.covenant_test_months <= 24:
        raise ValueError(f"{field}.covenant_test_months: {t.covenant_test_months} is not allowed; "
                         "must be from 1 to 24")
    if not t.reserve_months >= 0.0:
        raise ValueError(f"{field}.reserve_months: {t.reserve_months} is not allowed; must be at least 0")
    for name in ("covenant_dscr", "lockup_dscr"):
        value = getattr(t, name)
        if value is not None and not value > 0.0:
            raise ValueError(f"{field}.{name}: {value} is not allowed; must be positive")
    if t.floating and not t.margin_per_year > -1.0:
        raise ValueError(f"{field}.margin_per_year: {t.margin_per_year} is not allowed; must be above -1")
    if not t.floating and not t.rate_per_year > -1.0:
        raise ValueError(f"{field}.rate_per_year: {t.rate_per_year} is not allowed; must be above -1")


# columns of DebtTerms.terms (one row per tranche)
_START, _LAST_DRAW, _LAST, _LTC, _FEE, _COVENANT, _LOCKUP, _RESERVE, _SWEEP, _BULLET, _TEST_MONTHS = range(11)
_N_TERMS = 11

#: per-path outputs of :func:`debt_cash_flows` (columns of the kernel's metrics)
METRIC_NAMES = ("debt_usd", "cost_of_debt", "min_dscr", "avg_dscr", "covenant_breach", "first_breach_month",
                "payment_default", "first_default_month", "equity_cure_usd", "equity_npv_usd", "equity_irr",
                "equity_mirr", "equity_payback_months", "financing_usd")
_N_METRICS = len(METRIC_NAMES)

#: monthly lines of :func:`debt_cash_flows` with ``lines=True`` (the base case's debt schedule)
LINE_NAMES = ("debt_draw_usd", "debt_fee_usd", "debt_interest_usd", "debt_principal_usd", "debt_balance_usd",
              "tax_shield_usd", "cfads_usd", "dscr", "debt_reserve_usd", "lockup_cash_usd", "equity_usd")
_N_LINES = len(LINE_NAMES)


class DebtTerms(NamedTuple):
    """Debt sized on the base case, laid out for the kernel.

    ``terms`` (n_tranches, 10): month columns and shares (see ``_START`` ...);
    ``draw_usd`` (n_tranches, n_periods): fixed draws [USD] (``amount`` and
    ``dscr`` sizing; zero under ``ltc``, whose draws are the capex share);
    ``principal_share`` (n_tranches, n_periods): scheduled principal of each
    month as a share of the amount drawn; ``amount_usd`` (n_tranches,): the
    base case's amounts [USD].
    """

    tranches: tuple
    terms: np.ndarray
    draw_usd: np.ndarray
    principal_share: np.ndarray
    amount_usd: np.ndarray


def monthly_debt_rates(tranches, base_rate_per_year, n_paths: int) -> np.ndarray:
    """Monthly all-in rates (n_paths, n_tranches) of each tranche on each path [fraction per month].

    ``base_rate_per_year``: one base rate for every floating tranche, or a
    list with one per tranche; each a number or per-path values (n_paths,).
    """
    per_tranche = base_rate_per_year if isinstance(base_rate_per_year, (list, tuple)) else \
        [base_rate_per_year] * len(tranches)
    rates = np.empty((n_paths, len(tranches)))
    for j, (tranche, base) in enumerate(zip(tranches, per_tranche)):
        annual = tranche.annual_rate(np.asarray(base, dtype=float).reshape(-1))
        rates[:, j] = per_path(finance.monthly_rate(annual), n_paths)
    return rates


def _window(tranche: Tranche, capex: np.ndarray) -> tuple[int, int, int]:
    """(first draw month, last month of the availability/grace period, maturity month) on the base case's capex.

    The first draw is ``draw_month``, or the first month of capex from ``draw_from_month``; -1 when there is none.
    """
    if tranche.draw_month is not None:
        start = tranche.draw_month
    else:
        spent = np.flatnonzero(capex[tranche.draw_from_month:] > 0.0)
        start = int(spent[0]) + tranche.draw_from_month if spent.size else -1
    return start, start + tranche.grace_months, start + tranche.tenor_months


def _unit_profile(tranche: Tranche, window, rate: float, n_periods: int, service=None) -> np.ndarray:
    """Scheduled principal per month as a share of the amount drawn (sums to 1 over the repayment).

    ``service`` (sculpted only): debt service per month [USD per USD of debt].
    """
    _, last_draw, last = window
    share = np.zeros(n_periods)
    months = np.arange(last_draw + 1, last + 1)
    n = months.size
    if tranche.amortisation == "straight":
        share[months] = 1.0 / n
    elif tranche.amortisation == "bullet":
        share[last] = 1.0
    elif tranche.amortisation == "annuity":
        payment = 1.0 / n if rate == 0.0 else rate / (1.0 - (1.0 + rate) ** -n)
        balance = 1.0
        for t in months:
            share[t] = payment - balance * rate
            balance -= share[t]
    else:
        balance = 1.0
        for t in months:
            share[t] = service[t] - balance * rate
            balance -= share[t]
    share[last] += 1.0 - share[months].sum()  # rounding: the last month repays what is left
    return share


def _unit_service(share: np.ndarray, drawn: np.ndarray, window, rate: float):
    """Interest, and tested service (interest + principal, without a bullet's balloon), per USD of debt.

    ``drawn``: share of the amount drawn in each month; interest is due from
    the month after a draw, on the base rate.
    """
    _, last_draw, last = window
    balance = np.cumsum(drawn) - np.cumsum(share)
    balance[last:] = 0.0
    interest = np.zeros(share.size)
    interest[1:] = balance[:-1] * rate
    service = interest + share
    service[:last_draw + 1] = 0.0
    service[last + 1:] = 0.0
    return interest, service


def size_debt(tranches, cfads_usd, capex_usd, taxable_income_usd, tax_rate, base_rate_per_year=0.0,
              *, max_iter: int = 100, tol: float = 1e-12) -> DebtTerms:
    """Size each tranche on the base case and fix its draws and principal profile.

    Tranches are sized in order (the first is the most senior): a ``dscr``
    tranche takes the largest amount whose debt service, added to that of the
    tranches before it, keeps ``CFADS / service >= target_dscr`` in every
    test month; a sculpted tranche's service is ``max(CFADS, 0) / target``
    less the service before it (``dscr``) or that shape scaled to its amount.
    CFADS includes the tax saved by deducting interest, which depends on the
    debt: the sizing repeats until the amounts move by less than ``tol``
    (relative).

    Parameters
    ----------
    tranches : sequence of Tranche
    cfads_usd : ndarray (n_periods,)
        Base case's operating cash flow after (unlevered) tax, before capex
        and financing [USD].
    capex_usd : ndarray (n_periods,)
        Base case's capex, as positive spending [USD].
    taxable_income_usd : ndarray (n_periods,)
        Taxable income before interest [USD].
    tax_rate : float
        [fraction].
    base_rate_per_year : float
        Base rate of floating tranches in the base case [fraction per year].

    Returns
    -------
    DebtTerms
    """
    cfads = np.asarray(cfads_usd, dtype=float).reshape(-1)
    capex = np.clip(np.asarray(capex_usd, dtype=float).reshape(-1), 0.0, None)
    taxable = np.asarray(taxable_income_usd, dtype=float).reshape(-1)
    n = cfads.size
    rates = monthly_debt_rates(tranches, base_rate_per_year, 1)[0]
    windows = [_window(t, capex) for t in tranches]
    for j, (tranche, (start, last_draw, _)) in enumerate(zip(tranches, windows)):
        field = f"debt.{j}" if len(tranches) > 1 else "debt"
        check_tranche(tranche, n, field)
        if tranche.sizing == "ltc" and not capex.sum() > 0.0:
            raise ValueError(f"{field}.ltc: {tranche.ltc_share} is not allowed on a business without capex "
                             "(nothing to fund); use sizing amount or dscr")
        if tranche.draw_month is None and start < 0:
            raise ValueError(f"{field}.draw: 'capex' is not allowed on a business without capex; give a draw month")
        if tranche.sizing == "ltc" and not capex[start:last_draw + 1].sum() > 0.0:
            raise ValueError(f"{field}.ltc: {tranche.ltc_share} is not allowed; the business has no capex "
                             f"in months {start}..{last_draw} to fund (use sizing amount or dscr)")
        if start + tranche.tenor_months > n - 1:
            raise ValueError(f"{field}.tenor_months: {tranche.tenor_months} from month {start} is not allowed; "
                             f"must end within the horizon ({n - 1} months)")
    drawn = [_draw_profile(t, w, capex) for t, w in zip(tranches, windows)]
    unlevered_tax = accounting.tax_with_loss_carryforward(taxable, tax_rate)
    shield = np.zeros(n)
    amounts = np.zeros(len(tranches))
    for _ in range(max_iter):
        previous = amounts.copy()
        shares, interests = _size_once(tranches, windows, drawn, rates, cfads + shield, capex, amounts)
        interest = sum(a * unit for a, unit in zip(amounts, interests))
        shield = unlevered_tax - accounting.tax_with_loss_carryforward(taxable - interest, tax_rate)
        if np.all(np.abs(amounts - previous) <= tol * np.maximum(np.abs(amounts), 1.0)):
            break
    terms = np.zeros((len(tranches), _N_TERMS))
    draws = np.zeros((len(tranches), n))
    for j, (tranche, window) in enumerate(zip(tranches, windows)):
        terms[j, [_START, _LAST_DRAW, _LAST]] = window
        follows_capex = tranche.sizing == "ltc" and tranche.draw_month is None
        terms[j, _LTC] = tranche.ltc_share if follows_capex else 0.0
        terms[j, _FEE] = tranche.upfront_fee_share
        terms[j, _COVENANT] = tranche.covenant_dscr or 0.0
        terms[j, _LOCKUP] = tranche.lockup_dscr or 0.0
        terms[j, _RESERVE] = tranche.reserve_months
        terms[j, _SWEEP] = tranche.sweep_share
        terms[j, _BULLET] = float(tranche.amortisation == "bullet")
        terms[j, _TEST_MONTHS] = tranche.covenant_test_months
        if not follows_capex:
            draws[j] = amounts[j] * drawn[j]
    return DebtTerms(tuple(tranches), terms, draws, np.array(shares), amounts.copy())


def _draw_profile(tranche: Tranche, window, capex: np.ndarray) -> np.ndarray:
    """Share of the amount drawn in each month: with the base case's capex of the availability period, or at once."""
    start, last_draw, _ = window
    profile = np.zeros(capex.size)
    if tranche.draw_month is not None:
        profile[start] = 1.0
    else:
        spent = capex[start:last_draw + 1]
        profile[start:last_draw + 1] = spent / spent.sum()
    return profile


def _size_once(tranches, windows, drawn, rates, cfads, capex, amounts):
    """One sizing pass on given CFADS: writes ``amounts``; returns principal shares and interest per USD."""
    shares, interests = [], []
    senior = np.zeros(cfads.size)  # tested service of the tranches sized so far [USD]
    months = np.arange(cfads.size)
    for j, (tranche, window) in enumerate(zip(tranches, windows)):
        start, last_draw, last = window
        test = (months > last_draw) & (months <= last)
        if tranche.sizing == "ltc":
            amounts[j] = tranche.ltc_share * capex[start:last_draw + 1].sum()
        elif tranche.sizing == "amount":
            amounts[j] = tranche.amount_usd
        if tranche.amortisation == "sculpted":
            target = tranche.target_dscr or 1.0  # sized otherwise, the service only takes CFADS's shape
            headroom = np.where(test, np.maximum(np.maximum(cfads, 0.0) / target - senior, 0.0), 0.0)
            discount = (1.0 + rates[j]) ** -(months - last_draw).astype(float)
            capacity = float(np.sum(headroom * discount))  # PV at the debt rate, at the end of the draws
            if capacity <= 1e-9 * float(np.max(np.abs(cfads))):  # rounding dust left by senior tranches
                capacity = 0.0
            if tranche.sizing == "dscr":
                amounts[j] = capacity
            unit = headroom / capacity if capacity > 0.0 else np.where(test, 1.0, 0.0) / max(test.sum(), 1)
            share = _unit_profile(tranche, window, rates[j], cfads.size, service=unit)
        else:
            share = _unit_profile(tranche, window, rates[j], cfads.size)
        interest, service = _unit_service(share, drawn[j], window, rates[j])
        tested = service - share if tranche.amortisation == "bullet" else service
        if tranche.sizing == "dscr" and tranche.amortisation != "sculpted":
            room = cfads / tranche.target_dscr - senior
            positive = test & (tested > 0.0)
            amounts[j] = max(float(np.min(room[positive] / tested[positive])), 0.0) if positive.any() else 0.0
        shares.append(share)
        interests.append(interest)
        senior = senior + amounts[j] * tested
    return shares, interests


@inner_kernel
def _tax_step(taxable, cumulative, taxed, t, rate):
    """One month of :func:`~pivotsim.models.accounting.tax_with_loss_carryforward`: (tax, cumulative, taxed)."""
    cumulative = taxable if t == 0 else cumulative + taxable
    level = accounting.not_below(cumulative, 0.0)
    now_taxed = level if t == 0 else accounting.not_below(taxed, level)
    tax = (now_taxed if t == 0 else now_taxed - taxed) * rate
    return tax, cumulative, now_taxed


@inner_kernel
def _sweep(active, excess, balance, terms):
    """A test month's sweep: prepays the tranches in repayment, in order; returns (swept, surplus left)."""
    swept = 0.0
    for j in range(terms.shape[0]):
        if active[j] and terms[j, _SWEEP] > 0.0 and excess > 0.0:
            amount = min(balance[j], terms[j, _SWEEP] * excess)
            balance[j] -= amount
            excess -= amount
            swept += amount
    return swept, excess


@inner_kernel
def _shortfall(gap, lockup, reserve):
    """CFADS below the service: the lock-up cash, then the reserve pay ``gap``; returns (unpaid, lockup, reserve)."""
    used = min(gap, lockup)
    lockup -= used
    gap -= used
    used = min(gap, reserve)
    return gap - used, lockup, reserve - used


@inner_kernel
def _debt_path(i, operating, add_capex, capex, taxable, tax_rate, debt_rate, terms, bounds, draw_usd,
               principal_share, equity, flows, balance, amount, active, tested, lines_out):
    """One path of :func:`_debt_kernel` (its rows: ``operating``, ``capex``, ``taxable``, ``debt_rate``).

    The unlevered CFADS is ``operating + capex`` when ``add_capex`` (the
    operating row is then the net cash flow), else ``operating``.  Writes
    ``equity`` and ``flows``; returns the path's metrics.
    """
    n, n_tr = equity.shape[0], terms.shape[0]
    final = bounds[:, 2].max()
    balance[:] = 0.0
    amount[:] = 0.0
    reserve = lockup = reserve_target = 0.0
    cum_u = taxed_u = cum_l = taxed_l = 0.0
    min_dscr, sum_dscr, n_test = np.inf, 0.0, 0
    window, any_reserve = 1, False
    for j in range(n_tr):
        window = max(window, int(terms[j, _TEST_MONTHS]))
        any_reserve |= terms[j, _RESERVE] > 0.0
    trailing = window > 1  # (a covenant tested month by month needs no trailing sums)
    tested[:, :] = 0.0  # CFADS and service of the test months, for the covenant's trailing window
    window_cfads = window_service = 0.0
    first_breach = first_default = np.nan
    cure = 0.0
    first = bounds[:, 0].min()
    drawn_total = 0.0
    for t in range(n):
        cfads_unlevered = operating[t] + capex[t] if add_capex else operating[t]
        if t < first or t > final:  # no debt yet, or all repaid: only the tax saving of past interest
            tax_u, cum_u, taxed_u = _tax_step(taxable[t], cum_u, taxed_u, t, tax_rate)
            shield = 0.0
            if t < first:  # (no interest so far: the same tax)
                cum_l, taxed_l = cum_u, taxed_u
            else:
                tax_l, cum_l, taxed_l = _tax_step(taxable[t], cum_l, taxed_l, t, tax_rate)
                shield = tax_u - tax_l
            equity[t] = cfads_unlevered + shield - capex[t]
            flows[t] = 0.0
            if lines_out.shape[1] > 0:
                lines_out[:, i, t] = 0.0
                lines_out[5, i, t], lines_out[6, i, t] = shield, cfads_unlevered + shield
                lines_out[7, i, t], lines_out[10, i, t] = np.nan, equity[t]
            continue
        interest = tested_interest = tested_principal = repaid = draws = fees = covenant = lockup_level = 0.0
        for j in range(n_tr):
            start, last_draw, last = bounds[j, 0], bounds[j, 1], bounds[j, 2]
            interest_j = balance[j] * debt_rate[j]
            interest += interest_j
            active[j] = last_draw < t <= last
            if start <= t <= last_draw:
                draw = draw_usd[j, t] + terms[j, _LTC] * capex[t]
                balance[j] += draw
                amount[j] += draw
                drawn_total += draw
                draws += draw
                fees += terms[j, _FEE] * draw
            elif active[j]:
                due = balance[j] if t == last else min(balance[j], principal_share[j, t] * amount[j])
                balance[j] -= due
                repaid += due
                tested_interest += interest_j
                if not (t == last and terms[j, _BULLET] > 0.0):
                    tested_principal += due
                covenant = max(covenant, terms[j, _COVENANT])
                lockup_level = max(lockup_level, terms[j, _LOCKUP])
        tax_u, cum_u, taxed_u = _tax_step(taxable[t], cum_u, taxed_u, t, tax_rate)
        tax_l, cum_l, taxed_l = _tax_step(taxable[t] - interest, cum_l, taxed_l, t, tax_rate)
        shield = tax_u - tax_l
        cfads = cfads_unlevered + shield
        reserve_before, lockup_before = reserve, lockup
        service = tested_interest + tested_principal
        dscr = np.nan
        swept = 0.0
        test_month = service > 1e-9 * drawn_total  # (not a month that only repays rounding dust)
        if trailing:
            if test_month:
                tested[0, t], tested[1, t] = cfads, service
            window_cfads += tested[0, t] - (tested[0, t - window] if t >= window else 0.0)
            window_service += tested[1, t] - (tested[1, t - window] if t >= window else 0.0)
        if test_month:
            dscr = cfads / service
            n_test += 1
            sum_dscr += dscr
            min_dscr = min(min_dscr, dscr)
            covenant_dscr = window_cfads / window_service if trailing else dscr
            if covenant_dscr < covenant and first_breach != first_breach:
                first_breach = float(t)
            if cfads < service:
                unpaid, lockup, reserve = _shortfall(service - cfads, lockup, reserve)
                if unpaid > 1e-9 * service:
                    cure += unpaid
                    if first_default != first_default:
                        first_default = float(t)
            else:
                excess = cfads - service
                refill = min(excess, max(reserve_target - reserve, 0.0))
                reserve += refill
                swept, excess = _sweep(active, excess - refill, balance, terms)
                lockup = lockup + excess if covenant_dscr < lockup_level else 0.0
        for j in range(n_tr if any_reserve else 0):
            if t == bounds[j, 1] and terms[j, _RESERVE] > 0.0:
                # the first repayment month's service on this path's rate, times the reserve's months
                part = terms[j, _RESERVE] * amount[j] * (debt_rate[j] + principal_share[j, min(t + 1, n - 1)])
                reserve_target += part
                reserve += part
            if t == bounds[j, 2] and terms[j, _RESERVE] > 0.0:
                reserve_target -= terms[j, _RESERVE] * amount[j] * (debt_rate[j]
                                                                     + principal_share[j, bounds[j, 1] + 1])
                reserve = min(reserve, max(reserve_target, 0.0))
        if t == final:
            reserve = lockup = reserve_target = 0.0
        paid = draws - fees - interest - repaid - swept
        equity[t] = cfads - capex[t] + paid - (reserve - reserve_before) - (lockup - lockup_before)
        flows[t] = paid
        if lines_out.shape[1] > 0:
            lines_out[0, i, t], lines_out[1, i, t], lines_out[2, i, t] = draws, fees, interest
            lines_out[3, i, t], lines_out[4, i, t], lines_out[5, i, t] = repaid + swept, balance.sum(), shield
            lines_out[6, i, t], lines_out[7, i, t], lines_out[8, i, t] = cfads, dscr, reserve
            lines_out[9, i, t], lines_out[10, i, t] = lockup, equity[t]
    return min_dscr, sum_dscr, n_test, first_breach, first_default, cure


@kernel
def _debt_kernel(operating, add_capex, capex, taxable, tax_rate, debt_rate, valuation_rates, terms, draw_usd,
                 principal_share, equity_out, metrics_out, lines_out, search_grid, search_order, search_position,
                 search_nodes_needed, search_discounts):
    """Debt service, waterfall, equity flow and its metrics on each path (see the module docstring).

    ``operating`` (n_paths, n_periods): the unlevered CFADS, or (``add_capex``
    true) the unlevered net cash flow, to which ``capex`` is added.
    ``capex``, ``taxable``: (n_paths, n_periods), or one row (1, n_periods)
    for every path.  ``equity_out`` (n_paths, n_periods), or one row reused
    by every path when the equity's flows are not wanted.  ``lines_out``
    (11, n_paths, n_periods) or (11, 0, n_periods): the lines of
    :data:`LINE_NAMES` when it has rows.  ``valuation_rates`` (n_paths, 2):
    the cost of equity and the business's discount rate, per month.  ``search_*``: finance's IRR grid (``_irr_search``).
    """
    n_paths, n = operating.shape
    n_tr = terms.shape[0]
    bounds = np.empty((n_tr, 3), dtype=np.int64)
    same_flows_at_same_rates = True  # no draw follows a path's capex, no sweep: debt flows depend on rates only
    for j in range(n_tr):
        bounds[j, 0], bounds[j, 1], bounds[j, 2] = int(terms[j, _START]), int(terms[j, _LAST_DRAW]), \
            int(terms[j, _LAST])
        same_flows_at_same_rates &= terms[j, _LTC] == 0.0 and terms[j, _SWEEP] == 0.0
    balance = np.zeros(n_tr)
    amount = np.zeros(n_tr)
    active = np.zeros(n_tr, dtype=np.bool_)
    flows = np.zeros(n)
    previous_flows = np.zeros(n)
    tested = np.zeros((2, n))
    factors = np.ones(n)
    factors_rate = np.nan
    value_factors = np.ones(n)
    value_factors_rate = np.nan
    cost = np.nan
    values = np.empty(search_discounts.shape[0] * finance._NODE_BLOCK)
    for i in range(n_paths):
        equity = equity_out[i if equity_out.shape[0] > 1 else 0]
        capex_row = capex[i if capex.shape[0] > 1 else 0]
        min_dscr, sum_dscr, n_test, first_breach, first_default, cure = _debt_path(
            i, operating[i], add_capex, capex_row,
            taxable[i if taxable.shape[0] > 1 else 0], tax_rate[i], debt_rate[i], terms, bounds, draw_usd,
            principal_share, equity, flows, balance, amount, active, tested, lines_out)
        metrics = metrics_out[i]
        drawn = amount.sum()
        metrics[0] = drawn
        same_flows = i > 0 and same_flows_at_same_rates
        for j in range(n_tr):
            same_flows &= debt_rate[i, j] == debt_rate[i - 1, j]
        if i > 0 and not same_flows:  # the same debt flows as the path before (e.g. a fixed capex): the same cost
            same_flows = True
            for t in range(n):
                if flows[t] != previous_flows[t]:
                    same_flows = False
                    break
        if not same_flows:
            cost = math.expm1(12.0 * math.log1p(rate_of_flows(flows, debt_rate[i, 0]))) if drawn > 0 else np.nan
        for t in range(n):  # a loop, not previous_flows[:] = flows: the slice copy compiles numba's string machinery
            previous_flows[t] = flows[t]
        metrics[1] = cost
        metrics[2] = min_dscr if n_test else np.nan
        metrics[3] = sum_dscr / n_test if n_test else np.nan
        metrics[4] = 1.0 if first_breach == first_breach else 0.0
        metrics[5] = first_breach
        metrics[6] = 1.0 if first_default == first_default else 0.0
        metrics[7] = first_default
        metrics[8] = cure
        equity_rate, value_rate = valuation_rates[i, 0], valuation_rates[i, 1]
        if not equity_rate == factors_rate:
            finance._discount_factors_into(equity_rate, factors)
            factors_rate = equity_rate
        if not value_rate == value_factors_rate:
            finance._discount_factors_into(value_rate, value_factors)
            value_factors_rate = value_rate
        # the financing part of the value bridge: the equity's flows less the unlevered ones, at the discount rate
        net_at = operating[i, 0] if add_capex else operating[i, 0] - capex_row[0]
        financing = (equity[0] - net_at) * value_factors[0]
        for t in range(1, n):
            net_at = operating[i, t] if add_capex else operating[i, t] - capex_row[t]
            financing += (equity[t] - net_at) * value_factors[t]
        metrics[13] = financing
        equity_row_metrics(equity, equity_rate, factors, search_grid, search_order, search_position,
                               search_nodes_needed, search_discounts, values, metrics[9:13])  # per month


class DebtResult(NamedTuple):
    """Output of :func:`debt_cash_flows`.

    ``equity_usd`` (n_paths, n_periods): the equity's cash flow [USD];
    ``metrics``: per-path arrays named as :data:`METRIC_NAMES` (``debt_usd``
    [USD], ``cost_of_debt`` [effective annual, all-in: fees included],
    ``min_dscr``/``avg_dscr`` [ratio, NaN without a test month],
    ``covenant_breach``/``payment_default`` [0 or 1], ``first_breach_month``/
    ``first_default_month`` [month, NaN if none], ``equity_cure_usd`` [USD the
    equity paid in for shortfalls], ``equity_npv_usd`` [USD, at the cost of
    equity], ``equity_irr``, ``equity_mirr`` [effective annual],
    ``equity_payback_months``: as :func:`pivotsim.models.equity.equity_metrics` gives them;
    ``financing_usd`` [USD]: the equity's flows less the unlevered net cash flow, at the discount rate);
    ``lines``: the monthly lines of :data:`LINE_NAMES` (or None);
    ``terms``: the :class:`DebtTerms` serviced.
    """

    equity_usd: np.ndarray
    metrics: dict
    lines: dict | None
    terms: DebtTerms | None = None


def _rows_or_one(values, n_paths: int, n_periods: int) -> np.ndarray:
    """``values`` as the kernel reads them: (n_paths, n_periods), or one row (1, n_periods) shared by every path.

    One row when ``values`` is a single series or a broadcast of one (a
    capex that does not vary by path): no copy to ``n_paths`` rows.
    """
    arr = np.asarray(values, dtype=float)
    if arr.ndim < 2 or arr.shape[0] == 1 or (arr.strides[0] == 0 and arr.shape[0] == n_paths):
        return rows_of(arr.reshape(-1, arr.shape[-1])[:1] if arr.ndim else arr, 1, n_periods)
    return rows_of(arr, n_paths, n_periods)


def debt_cash_flows(debt: DebtTerms, cfads_usd, capex_usd, taxable_income_usd, tax_rate, *, base_rate_per_year=0.0,
                    cost_of_equity_per_year=0.0, discount_rate_per_year=None, lines: bool = False, net_usd=None,
                    equity_flows: bool = True) -> DebtResult:
    """The debt of ``debt`` on every path: service, waterfall, covenants and the equity's cash flow.

    Parameters
    ----------
    debt : DebtTerms
        From :func:`size_debt` on the base case.
    cfads_usd : ndarray (n_paths, n_periods), or None with ``net_usd``
        Operating cash flow after unlevered tax, before capex and financing [USD].
    capex_usd : ndarray broadcastable to (n_paths, n_periods)
        Capex as positive spending [USD] (``cfads_usd - capex_usd`` is the
        unlevered net cash flow).
    taxable_income_usd : ndarray broadcastable to (n_paths, n_periods)
        Taxable income before interest [USD].
    tax_rate : float or ndarray (n_paths,)
        [fraction].
    base_rate_per_year : float, ndarray (n_paths,), or a list of them (one per tranche)
        Base rate of the floating tranches [fraction per year].
    cost_of_equity_per_year : float or ndarray (n_paths,)
        Rate of the equity metrics (NPV, MIRR) [fraction per year].
    discount_rate_per_year : float or ndarray (n_paths,), optional
        The business's discount rate, at which ``financing_usd`` (the value
        the debt adds: the equity's flows less the unlevered ones) is
        valued [fraction per year]; default: the cost of equity.
    lines : bool
        Also return the monthly lines (the base case's debt schedule).
    net_usd : ndarray (n_paths, n_periods), optional
        The unlevered net cash flow, given instead of ``cfads_usd``: CFADS is
        ``net_usd + capex_usd``, path by path in the kernel [USD].
    equity_flows : bool
        Keep the equity's monthly flows (``equity_usd``; else None: only
        the metrics are wanted).

    Returns
    -------
    DebtResult
    """
    operating = np.asarray(cfads_usd if net_usd is None else net_usd, dtype=float)
    operating = operating[None, :] if operating.ndim == 1 else operating
    n_paths, n = operating.shape
    operating = rows_of(operating, n_paths, n)
    capex = _rows_or_one(capex_usd, n_paths, n)
    taxable = _rows_or_one(taxable_income_usd, n_paths, n)
    rates = monthly_debt_rates(debt.tranches, base_rate_per_year, n_paths)
    equity = np.empty((n_paths if equity_flows or lines else 1, n))
    metrics = np.empty((n_paths, _N_METRICS))
    line_rows = np.empty((_N_LINES, n_paths if lines else 0, n))
    value_rate = cost_of_equity_per_year if discount_rate_per_year is None else discount_rate_per_year
    valuation_rates = np.stack([per_path(finance.monthly_rate(cost_of_equity_per_year), n_paths),
                                per_path(finance.monthly_rate(value_rate), n_paths)], axis=1)
    search = finance._irr_search(n, 64)
    _debt_kernel(operating, net_usd is not None, capex, taxable, per_path(tax_rate, n_paths), rates, valuation_rates,
                 rows_of(debt.terms, *debt.terms.shape), rows_of(debt.draw_usd, *debt.draw_usd.shape),
                 rows_of(debt.principal_share, *debt.principal_share.shape), equity, metrics, line_rows,
                 search.grid, search.order, search.position, search.nodes_needed, search.discounts)
    named = {name: np.ascontiguousarray(metrics[:, k]) for k, name in enumerate(METRIC_NAMES)}
    named["equity_irr"] = finance.annual_rate(named["equity_irr"])
    named["equity_mirr"] = finance.annual_rate(named["equity_mirr"])
    named_lines = {name: line_rows[k] for k, name in enumerate(LINE_NAMES)} if lines else None
    return DebtResult(equity if equity_flows or lines else None, named, named_lines, debt)
