"""The ``debt`` section of a business: project-debt tranches (see :mod:`pivotsim.models.debt`).

``bitcoin.debt`` / ``ai.debt`` is one tranche (a mapping) or several (a
list, the most senior first); absent, the business is valued unlevered.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, model_validator

from .quantity import AnnualRate, MonthIndex, Months, Positive, Quantity, default_quantity, number_field

DscrTarget = number_field(ge=1, le=100, fixed=True, description="debt service coverage ratio >= 1 (fixed number)")
DscrLevel = number_field(gt=0, le=100, fixed=True, description="debt service coverage ratio > 0 (fixed number)")
LoanToCost = number_field(gt=0, le=1, fixed=True, description="share of the capex funded, above 0 and at most 1")
Margin = number_field(ge=-0.5, le=1, fixed=True, description="margin over the base rate, fraction per year")
FeeShare = number_field(ge=0, le=0.5, fixed=True, description="fraction of each draw, 0 to 0.5")
SweepShare = number_field(ge=0, le=0.99, fixed=True, description="fraction of the surplus, 0 to 0.99")
GraceMonths = number_field(ge=0, integer=True, fixed=True, description="whole months >= 0 (fixed number)")
ReserveMonths = number_field(ge=0, le=24, fixed=True, description="months of debt service, 0 to 24")


_MONTH = TypeAdapter(MonthIndex)


def _draw(value):
    """``draw``: the word ``capex``, else a month index (a fixed whole number >= 0, with its provenance)."""
    if value == "capex" or (isinstance(value, dict) and value.get("value") == "capex"):
        return "capex"  # (a --set on {value: 7, source: ...} replaces the value only)
    try:
        return _MONTH.validate_python(value)
    except Exception as error:  # pydantic's ValidationError: keep only its message
        errors = getattr(error, "errors", lambda: [{"msg": str(error)}])()
        raise ValueError(f"must be 'capex' or a month index; {errors[0]['msg'].removeprefix('Value error, ')}") \
            from None


class DebtTranche(BaseModel):
    """One tranche of project debt: how it is sized, drawn, repaid, priced and tested."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    name: str | None = Field(None, description="label of the tranche")
    sizing: Literal["amount", "ltc", "dscr"] = Field(
        description="amount: amount_usd; ltc: a share of the capex it funds; dscr: the largest debt whose "
                    "minimum DSCR over the tenor, on the base case, is target_dscr")
    amount_usd: Positive | None = Field(None, description="principal under sizing amount [USD]")
    ltc: LoanToCost | None = Field(None, description="loan to cost under sizing ltc: share of the capex "
                                                     "spent in the draw period [-]")
    target_dscr: DscrTarget | None = Field(None, description="sizing dscr and amortisation sculpted: the "
                                                             "DSCR aimed at [-]")
    draw: Annotated[Union[Literal["capex"], Quantity], BeforeValidator(_draw)] = Field(
        "capex",
        description="'capex': drawn with the capex it funds, from the first month of capex to the end of the "
                    "grace period; or a month: drawn all at once then")
    draw_from_month: MonthIndex | None = Field(
        None, description="with draw 'capex': the first month it can be drawn (its closing), e.g. a delayed-draw "
                          "term loan funding the equipment bought after it; default the first month of capex")
    tenor_months: Months = Field(description="first draw to maturity; must end within the horizon [months]")
    grace_months: GraceMonths = Field(default_factory=lambda: default_quantity(0, "no interest-only period"),
                                      description="interest-only months after the first draw [months]")
    amortisation: Literal["annuity", "straight", "sculpted", "bullet"] = Field(
        "annuity", description="after the grace period: level payments, equal principal, service = CFADS / "
                               "target_dscr on the base case, or all at maturity (the balloon is refinanced "
                               "by the sponsor: paid in the equity's flow and not DSCR-tested)")
    rate_per_year: AnnualRate | None = Field(None, description="fixed rate [per year]; omit for floating")
    base_rate_per_year: AnnualRate | None = Field(
        None, description="floating: base rate such as SOFR [per year]; may be a distribution, drawn per path")
    margin_per_year: Margin | None = Field(None, description="floating: margin over the base rate [per year]")
    upfront_fee_share: FeeShare = Field(default_factory=lambda: default_quantity(0.0, "no upfront fee"),
                                        description="fee paid on each draw [-]")
    covenant_dscr: DscrLevel | None = Field(None, description="DSCR below which the covenant is breached [-]")
    covenant_test_months: number_field(ge=1, le=24, integer=True, fixed=True) = Field(
        default_factory=lambda: default_quantity(1, "each month's own DSCR is tested"),
        description="months over which the covenant and lock-up DSCR is measured: 1, each month; 12, the "
                    "trailing twelve months' CFADS over their debt service [months]")
    lockup_dscr: DscrLevel | None = Field(None, description="DSCR below which the month's surplus is held "
                                                            "back from the equity [-]")
    reserve_months: ReserveMonths = Field(
        default_factory=lambda: default_quantity(0.0, "no debt-service reserve"),
        description="debt-service reserve funded by the equity when the draws end: months of the first "
                    "repayment month's service, used before any default, released at maturity [months]")
    sweep_share: SweepShare = Field(default_factory=lambda: default_quantity(0.0, "no cash sweep"),
                                    description="share of each test month's surplus that prepays the tranche [-]")

    @model_validator(mode="after")
    def _terms_complete(self):
        if self.sizing == "amount" and self.amount_usd is None:
            raise ValueError("amount_usd: missing; sizing amount needs amount_usd [USD]")
        if self.sizing == "ltc" and self.ltc is None:
            raise ValueError("ltc: missing; sizing ltc needs ltc (a share of capex, above 0 and at most 1)")
        if self.sizing == "dscr" and self.target_dscr is None:
            raise ValueError("target_dscr: missing; sizing dscr needs target_dscr (at least 1)")
        floating = self.base_rate_per_year is not None or self.margin_per_year is not None
        if self.rate_per_year is not None and floating:
            raise ValueError("rate_per_year: give either rate_per_year (fixed) or base_rate_per_year and "
                             "margin_per_year (floating), not both")
        if self.rate_per_year is None and (self.base_rate_per_year is None or self.margin_per_year is None):
            raise ValueError("rate_per_year: missing; give rate_per_year (fixed) or both base_rate_per_year "
                             "and margin_per_year (floating)")
        if self.draw_from_month is not None and self.draw != "capex":
            raise ValueError("draw_from_month: only with draw 'capex' (a tranche drawn at one month starts then)")
        grace, tenor = int(self.grace_months.value), int(self.tenor_months.value)
        if grace >= tenor:
            raise ValueError(f"grace_months: {grace} is not allowed; must be below tenor_months ({tenor})")
        return self

    def first_draw_month(self) -> int | None:
        """The month of a single draw, None when drawn with the capex."""
        return None if self.draw == "capex" else int(self.draw.value)


def _as_list(value):
    """One tranche written as a mapping is a list of one."""
    return [value] if isinstance(value, dict) else value


DebtTranches = Annotated[list[DebtTranche], BeforeValidator(_as_list)]


def check_debt_horizon(business: str, tranches, horizon_months: int) -> None:
    """Raise ``ValueError`` when a tranche drawn at a month matures after the horizon.

    (Tranches drawn with the capex are checked once the base case says when it starts.)
    """
    for j, tranche in enumerate(tranches or []):
        start = tranche.first_draw_month()
        if start is None and tranche.draw_from_month is not None:
            start = int(tranche.draw_from_month.value)
        where = f"{business}.debt" + (f".{j}" if len(tranches) > 1 else "")
        end = (start or 0) + int(tranche.tenor_months.value)
        if end > horizon_months:
            raise ValueError(f"{where}.tenor_months: {int(tranche.tenor_months.value)} from month {start or 0} "
                             f"ends at month {end}, beyond the horizon ({horizon_months} months); shorten the "
                             "tenor or lengthen scenario.horizon_months")
