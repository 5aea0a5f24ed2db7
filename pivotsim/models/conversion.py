"""Converting mining megawatts to an AI colocation lease: the cash of each choice, per MW.

A site mines on grid power it already has (the fleet is sunk).  At a
decision month d it may convert a block of its MW, irreversibly:

* mining stops from month d + 1 (months 1..d were mined); the ASICs are
  sold at ``asic_resale_usd_per_mw x (1 - decline)^(d / 12)`` per grid MW at d;
* the conversion capex ``conversion_capex_usd_per_mw`` per MW of critical IT
  (grid MW / ``ai_pue``), less the tenant-funded share, is spent evenly over
  the ``build_months`` months d + 1 .. d + B (at d when B = 0);
* a lease of ``term_months`` months is signed at d at the rent index of that
  month R_d [USD per kW-month]; it earns from month s = d + B + 1, the rent
  escalating by ``rent_escalator_per_year`` every 12 lease months, with
  ``opex_usd_per_mw_year`` per MW of critical IT while it runs; power is
  passed through to the tenant (colocation); a ``prepayment_share`` of the
  total rent is paid at signing and credited evenly against the invoices;
* everything is valued to the horizon H (the last simulated month): lease
  months after H are not counted, and the conversion capex is worth its
  straight-line book value (over ``facility_years`` from the lease start)
  at H (prepayment credits still owed at H are a liability there).  A block
  that never converts sells its ASICs at H.

Values are present values at t = 0 [USD per grid MW] at the monthly rate
``(1 + r)^(1/12) - 1``, pre-tax (taxes and financing are left out of the
timing choice).  The value of converting at d is linear in the index::

    exercise_d = R_d * rent_factor_d + fixed_d

so the per-path work is a multiply-add per decision date.

References
----------
DESIGN.md, "The decision, not only the comparison"; reference figures (REF):
conversion builds $8-11M per MW of critical IT (2025 deals), colocation
leases with escalators, tenant-funded fit-outs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KW_PER_MW = 1e3


@dataclass(frozen=True)
class ConversionTerms:
    """What converting one grid MW costs and earns (see the module docstring).

    Attributes
    ----------
    conversion_capex_usd_per_mw : float
        Capex per MW of critical IT [USD/MW], >= 0.
    build_months : int
        Months from the decision to the lease start, >= 0.
    term_months : int
        Lease term [months], >= 1.
    rent_escalator_per_year : float
        Rent step every 12 lease months [fraction].
    ai_pue : float
        Grid MW per MW of critical IT, >= 1.
    opex_usd_per_mw_year : float
        Host's opex per MW of critical IT while leased [USD/MW-year].
    tenant_funded_capex_share : float
        Share of the capex the tenant pays, in [0, 1].
    asic_resale_usd_per_mw : float
        Resale value of the ASICs of one grid MW at t = 0 [USD/MW].
    asic_resale_decline_per_year : float
        Yearly fall of that resale value [fraction], in [0, 1).
    facility_years : float
        Straight-line life of the conversion capex for its book value at the horizon [years], > 0.
    prepayment_share : float
        Share of the lease's total rent the tenant pays at signing, credited
        evenly against its invoices over the term, in [0, 1].
    """

    conversion_capex_usd_per_mw: float
    build_months: int
    term_months: int
    rent_escalator_per_year: float = 0.0
    ai_pue: float = 1.2
    opex_usd_per_mw_year: float = 0.0
    tenant_funded_capex_share: float = 0.0
    asic_resale_usd_per_mw: float = 0.0
    asic_resale_decline_per_year: float = 0.0
    facility_years: float = 20.0
    prepayment_share: float = 0.0

    def __post_init__(self):
        checks = (
            ("conversion_capex_usd_per_mw", self.conversion_capex_usd_per_mw >= 0, ">= 0"),
            ("build_months", int(self.build_months) == self.build_months and self.build_months >= 0,
             "a whole number of months >= 0"),
            ("term_months", int(self.term_months) == self.term_months and self.term_months >= 1,
             "a whole number of months >= 1"),
            ("ai_pue", self.ai_pue >= 1, ">= 1"),
            ("opex_usd_per_mw_year", self.opex_usd_per_mw_year >= 0, ">= 0"),
            ("tenant_funded_capex_share", 0 <= self.tenant_funded_capex_share <= 1, "in [0, 1]"),
            ("asic_resale_usd_per_mw", self.asic_resale_usd_per_mw >= 0, ">= 0"),
            ("asic_resale_decline_per_year", 0 <= self.asic_resale_decline_per_year < 1, "in [0, 1)"),
            ("facility_years", self.facility_years > 0, "> 0"),
            ("prepayment_share", 0 <= self.prepayment_share <= 1, "in [0, 1]"),
        )
        for name, ok, allowed in checks:
            if not ok:
                raise ValueError(f"{name}: {getattr(self, name)!r} is not allowed; must be {allowed}")

    @property
    def net_capex_usd_per_grid_mw(self) -> float:
        """Host-funded conversion capex per grid MW [USD/MW]."""
        return self.conversion_capex_usd_per_mw / self.ai_pue * (1.0 - self.tenant_funded_capex_share)


def discount_factors(monthly_rate: float, horizon_months: int) -> np.ndarray:
    """``(1 + r)^-t`` for t = 0..H ``(H + 1,)``."""
    return (1.0 + monthly_rate) ** -np.arange(horizon_months + 1, dtype=float)


def asic_resale_usd_per_mw(terms: ConversionTerms, months) -> np.ndarray:
    """Resale value of one grid MW of ASICs at ``months`` [USD/MW]."""
    return terms.asic_resale_usd_per_mw * (1.0 - terms.asic_resale_decline_per_year) ** (np.asarray(months) / 12.0)


def exercise_coefficients(terms: ConversionTerms, decision_months: np.ndarray, horizon_months: int,
                          monthly_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """``(rent_factor, fixed)`` per decision date: PV at t = 0 of converting one grid MW at d.

    Parameters
    ----------
    terms : ConversionTerms
    decision_months : ndarray (D,) of int
        Months at which a conversion can be decided, each <= H - build_months - 1.
    horizon_months : int
        H.
    monthly_rate : float
        Discount rate per month.

    Returns
    -------
    rent_factor : ndarray (D,)
        PV of the lease rent per unit of the rent index at d [USD/MW per (USD/kW-month)].
    fixed : ndarray (D,)
        PV of the ASIC sale, less the capex and the lease opex, plus the
        facility's book value at H [USD/MW].
    """
    v = discount_factors(monthly_rate, horizon_months)
    kw_it = KW_PER_MW / terms.ai_pue
    capex = terms.net_capex_usd_per_grid_mw
    build, term = int(terms.build_months), int(terms.term_months)
    life_months = 12.0 * terms.facility_years
    opex_per_month = terms.opex_usd_per_mw_year / 12.0 / terms.ai_pue
    rent_factor = np.empty(len(decision_months))
    fixed = np.empty(len(decision_months))
    for j, d in enumerate(np.asarray(decision_months, dtype=int)):  # a loop over dates, not paths
        start, stop = d + build + 1, min(d + build + term, horizon_months)
        lease = np.arange(start, stop + 1)
        escalation = (1.0 + terms.rent_escalator_per_year) ** ((lease - start) // 12)
        months = np.arange(start, d + build + term + 1)  # the whole term, past the horizon too
        rent_all = (1.0 + terms.rent_escalator_per_year) ** ((months - start) // 12)
        p = terms.prepayment_share
        # invoices less the prepayment credited evenly; the prepayment at signing; credits still
        # owed at the horizon (months past it) a liability there
        rent_factor[j] = kw_it * ((1.0 - p) * float(np.sum(v[lease] * escalation))
                                  + p * float(rent_all.sum()) * v[d]
                                  - p * float(rent_all[months > horizon_months].sum()) * v[horizon_months])
        capex_pv = capex * (v[d] if build == 0 else float(np.mean(v[d + 1:d + build + 1])))
        book = capex * max(0.0, 1.0 - (horizon_months - (d + build)) / life_months) * v[horizon_months]
        resale = float(asic_resale_usd_per_mw(terms, d)) * v[d]
        fixed[j] = resale - capex_pv + book - opex_per_month * float(np.sum(v[lease]))
    return rent_factor, fixed


def mining_between_dates(mining_usd_per_mw: np.ndarray, decision_months: np.ndarray, monthly_rate: float
                         ) -> np.ndarray:
    """PV at t = 0 of the mining cash earned after each decision date and up to the next ``(n, D)``.

    The last entry runs to the horizon.  ``mining_usd_per_mw (n, H + 1)``:
    net mining cash of each month per grid MW [USD/MW], column 0 ignored
    (t = 0: the fleet is sunk).
    """
    mining = np.asarray(mining_usd_per_mw, dtype=float)
    v = discount_factors(monthly_rate, mining.shape[1] - 1)
    pv = mining[:, 1:] * v[1:]
    starts = np.asarray(decision_months, dtype=int)  # months d+1.. sit at columns d of pv
    out = np.add.reduceat(pv, starts, axis=1) if pv.shape[1] else np.zeros((len(mining), len(starts)))
    if starts[-1] >= pv.shape[1]:
        out[:, -1] = 0.0
    return out
