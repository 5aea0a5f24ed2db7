"""The ``option:`` section of a scenario: the switching option of a mining site (issue 17).

Every number is a fixed Quantity (value plus provenance): the option's
structure is the same on every path; its uncertainty comes from the
simulated markets (the mining market and the lease market's rent index).
See :mod:`pivotsim.models.conversion` and :mod:`pivotsim.analysis.timing`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from .quantity import default_quantity, number_field
from .schema import StrictModel

#: highest degree of the regression basis (as pivotsim.analysis.options.MAX_BASIS_ORDER; a test checks)
MAX_BASIS_ORDER = 6

FixedShare = number_field(ge=0, le=1, fixed=True, description="fraction in [0, 1] (fixed number)")
FixedNonNegative = number_field(ge=0, fixed=True, description="number >= 0 (fixed number)")
FixedMonthIndex = number_field(ge=0, integer=True, fixed=True, description="whole months >= 0 (fixed number)")
FixedMonths = number_field(gt=0, integer=True, fixed=True, description="whole months > 0 (fixed number)")


class OptionBlock(StrictModel):
    """A block of the site's grid MW that converts as one."""

    share: number_field(gt=0, le=1, fixed=True) = Field(description="share of the site's grid MW [-]")


class RentIndex(StrictModel):
    """The colocation rent index of the AI lease market (:mod:`pivotsim.models.lease_market`)."""

    start_usd_per_kw_month: number_field(gt=0, fixed=True) = Field(description="rent index at t = 0 [USD/kW-month]")
    drift_per_year: number_field(ge=-1, le=1, fixed=True) = Field(
        default_factory=lambda: default_quantity(0.0, "no trend"),
        description="mu: E[index_t] = start exp(mu t) without mean reversion [per year]")
    volatility_per_year: number_field(ge=0, le=3, fixed=True) = Field(
        default_factory=lambda: default_quantity(0.0, "a known rent"), description="[per sqrt(year)]")
    mean_reversion_per_year: number_field(ge=0, le=24, fixed=True) = Field(
        default_factory=lambda: default_quantity(0.0, "no reversion (GBM)"), description="[1/year]")
    long_run_usd_per_kw_month: number_field(gt=0, fixed=True) | None = Field(
        None, description="level the index reverts to (default: start) [USD/kW-month]")
    btc_rank_correlation: number_field(ge=-1, le=1, fixed=True) = Field(
        default_factory=lambda: default_quantity(0.0, "independent of BTC"),
        description="Spearman correlation of monthly shocks with BTC's [-]")


class SwitchingOption(StrictModel):
    """Convert blocks of mining MW to a colocation lease, when the markets say so."""

    blocks: list[OptionBlock] = Field(min_length=1, description="decided one at a time, in order")
    decision_every_months: FixedMonths = Field(
        default_factory=lambda: default_quantity(1.0, "monthly decisions"), description="[months]")
    deadline_month: FixedMonthIndex | None = Field(
        None, description="last month a conversion may be decided (default: horizon - build - 1)")
    conversion_capex_usd_per_mw: FixedNonNegative = Field(description="per MW of critical IT [USD/MW]")
    build_months: number_field(ge=0, integer=True, fixed=True) = Field(
        description="from the decision to the lease start [months]")
    term_months: FixedMonths = Field(description="lease term [months]")
    rent_escalator_per_year: number_field(ge=-0.5, le=1, fixed=True) = Field(
        default_factory=lambda: default_quantity(0.0, "flat rent"), description="[-]")
    ai_pue: number_field(ge=1, le=5, fixed=True) = Field(description="grid MW per MW of critical IT [ratio]")
    opex_usd_per_mw_year: FixedNonNegative = Field(description="host's opex per MW of critical IT [USD/MW/yr]")
    prepayment_share: FixedShare = Field(
        default_factory=lambda: default_quantity(0.0, "no prepayment"),
        description="share of the lease's total rent paid at signing, credited evenly over the term [-]")
    tenant_funded_capex_share: FixedShare = Field(
        default_factory=lambda: default_quantity(0.0, "the host funds the conversion"), description="[-]")
    asic_resale_usd_per_mw: FixedNonNegative = Field(
        description="resale value of one grid MW of ASICs at t = 0 [USD/MW]")
    asic_resale_decline_per_year: number_field(ge=0, le=0.99, fixed=True) = Field(
        default_factory=lambda: default_quantity(0.0, "constant resale value"), description="[-]")
    discount_rate: number_field(gt=-1, le=10, fixed=True) | None = Field(
        None, description="annual rate (default: finance.discount_rate)")
    rent_index: RentIndex
    basis: Literal["polynomial", "laguerre"] = Field("polynomial", description="regression basis")
    basis_order: int = Field(3, description=f"degree of the regression basis, 1..{MAX_BASIS_ORDER}")

    @field_validator("basis_order")
    @classmethod
    def _order(cls, order):
        if not 1 <= order <= MAX_BASIS_ORDER:
            raise ValueError(f"{order} is not allowed; must be a whole number from 1 to {MAX_BASIS_ORDER}")
        return order

    @field_validator("blocks")
    @classmethod
    def _at_most_the_site(cls, blocks):
        total = sum(b.share.value for b in blocks)
        if total > 1 + 1e-9:
            raise ValueError(f"block shares add up to {total:g}; they must add up to at most 1 (the site)")
        return blocks
