"""The sections of a scenario file as strict pydantic models (the schema)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from .debt import DebtTranches
from .quantity import (
    QUANTITY_JSON_SCHEMA,
    AnnualRate,
    MonthIndex,
    Months,
    MonthsPerPath,
    NonNegative,
    Positive,
    Pue,
    Quantity,
    Share,
    Years,
    coerce_quantity,
    default_quantity,
    number_field,
)


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class ScenarioInfo(StrictModel):
    """Name, dates and horizon of the valuation."""

    name: str = Field(min_length=1)
    description: str = ""
    valuation_date: dt.date
    horizon_months: Annotated[Quantity, BeforeValidator(coerce_quantity),
                              AfterValidator(lambda q: _check_horizon(q)),
                              WithJsonSchema(QUANTITY_JSON_SCHEMA)]


def _check_horizon(q: Quantity) -> Quantity:
    if q.dist is not None:
        raise ValueError("a distribution is not allowed here; the horizon is the same on every path")
    if q.value != int(q.value) or not 1 <= q.value <= 600:
        raise ValueError(f"{q.value:g} is not allowed; must be a whole number of months from 1 to 600")
    return q


class Source(StrictModel):
    """A document the scenario's numbers come from."""

    title: str
    publisher: str | None = None
    date: dt.date | str | None = None
    url: str | None = None
    file: str | None = None
    note: str | None = None


class Site(StrictModel):
    """The megawatts both businesses compete for."""

    grid_power_mw: Positive = Field(description="grid power available to the site [MW]")
    power_price_usd_per_kwh: NonNegative = Field(description="all-in power price [USD/kWh]")
    ai_share: Share = Field(
        default_factory=lambda: default_quantity(1.0, "the AI side converts the whole site"),
        description="share of the grid MW the AI side converts at t = 0; the rest keeps mining on the AI side "
                    "[fraction]")


class Bitcoin(StrictModel):
    """A bitcoin-mining fleet on the site's grid power."""

    pue: Pue = Field(description="grid power / ASIC power (cooling, losses) [-]")
    fleet_efficiency_j_per_th: Positive = Field(description="fleet efficiency at t = 0 [J/TH]")
    uptime: Share = Field(description="share of hours the fleet hashes [-]")
    pool_fee_share: Share = Field(description="pool fee as a share of mining revenue [-]")
    opex_usd_per_mw_year: NonNegative = Field(description="fixed opex per MW of grid power [USD/MW/yr]")
    asic_price_usd_per_th: NonNegative = Field(description="price of new ASICs [USD per TH/s]")
    fleet: Literal["existing", "new"] = Field(
        "new", description="existing: the ASICs on site are sunk (their resale value, asic_resale_usd_per_th, "
                           "goes to the AI side when the site converts); new: the fleet is bought at t = 0 "
                           "at asic_price_usd_per_th (replacement cost)")
    asic_resale_usd_per_th: NonNegative = Field(
        default_factory=lambda: default_quantity(0.0, "the existing ASICs are sold for nothing"),
        description="existing fleet: resale value of its ASICs at t = 0, collected by the AI side on the MW "
                    "it converts [USD per TH/s]")
    refresh_months: Months | None = Field(None, description="replace the fleet every N months")
    new_asic_efficiency_j_per_th: Positive | None = Field(
        None, description="efficiency of ASICs bought at t = 0 and at refreshes [J/TH]")
    efficiency_improvement_per_year: Share = Field(
        default_factory=lambda: Quantity(value=0.0),
        description="yearly fall in J/TH of newly bought ASICs [-]")
    infrastructure_capex_usd_per_mw: NonNegative = Field(
        default_factory=lambda: Quantity(value=0.0),
        description="mining site build cost per MW of grid power, at t = 0 [USD/MW]")
    curtail_when_unprofitable: bool = Field(
        False, description="switch off in months whose revenue per kWh is below the power price")
    debt: DebtTranches | None = Field(
        None, description="project debt of the mining business: one tranche (a mapping) or several (a list, "
                          "most senior first); absent: valued unlevered")

    @model_validator(mode="after")
    def _resale_of_an_existing_fleet(self):
        resale = self.asic_resale_usd_per_th
        dist = resale.distribution
        if self.fleet == "new" and (resale.value != 0 or (dist is not None and dist.support()[1] > 0)):
            raise ValueError("bitcoin.asic_resale_usd_per_th: applies to fleet: existing only "
                             "(a new fleet is bought at t = 0, there is nothing to sell); remove it")
        return self


class Market(StrictModel):
    """State of the bitcoin network on ``state_date`` (default: the valuation date), and its dynamics.

    The equations behind every field are in :mod:`pivotsim.models.market`.
    Defaults reproduce the foundation model (GBM price, exogenous lognormal
    hashrate, 144 blocks a day, constant fees and power price).
    """

    state_date: dt.date | None = Field(
        None, description="day of the state below (price, difficulty or hashrate, block height, fees); before "
                          "the valuation date the days in between are simulated with this market model, so "
                          "t = 0 is a distribution (default: the valuation date, no gap)")
    from_data: Literal["latest"] | None = Field(
        None, description="latest: take btc_price_usd, difficulty, block_height, fees_btc_per_block and "
                          "state_date from the last day of the daily data file (data_file), in place of "
                          "the values written here")
    data_file: str | None = Field(
        None, description="from_data: the daily data file (default: pivotsim's user data folder, see "
                          "`pivotsim data status`); relative to the scenario file or absolute")
    btc_price_usd: Positive
    btc_drift_per_year: number_field(ge=-1, le=3) = Field(
        description="expected log-price growth mu: E[S_t] = S_0 exp(mu t) [per year]")
    btc_volatility_per_year: number_field(ge=0, le=5) = Field(
        description="diffusion volatility sigma of log price [per sqrt(year)]")
    price_model: Literal["gbm", "merton", "bootstrap"] = Field(
        "gbm", description="gbm, merton (GBM plus Poisson jumps), or bootstrap of historical monthly returns")
    btc_jump_intensity_per_year: number_field(ge=0, le=365) = Field(
        default_factory=lambda: default_quantity(0.0, "no jumps"),
        description="merton: expected number of price jumps per year [1/year]")
    btc_jump_mean_log: number_field(ge=-3, le=3) = Field(
        default_factory=lambda: default_quantity(0.0, "no jumps"), description="merton: mean log jump size [-]")
    btc_jump_volatility_log: number_field(ge=0, le=3) = Field(
        default_factory=lambda: default_quantity(0.0, "no jumps"), description="merton: sd of log jump size [-]")
    bootstrap_file: str | None = Field(
        None, description="bootstrap: daily CSV with date and price_usd columns (Coin Metrics layout); "
                          "relative to the scenario file or absolute")
    bootstrap_start: dt.date | None = Field(None, description="bootstrap: first day of the history window")
    bootstrap_end: dt.date | None = Field(None, description="bootstrap: last day of the history window")
    bootstrap_block_months: Months = Field(
        default_factory=lambda: default_quantity(6.0, "six-month blocks keep some of the momentum in monthly returns"),
        description="bootstrap: consecutive historical months per block [months]")
    difficulty: Positive | None = Field(None, description="network difficulty at t = 0")
    network_hashrate_eh_s: Positive | None = Field(None, description="network hashrate at t = 0 [EH/s]")
    block_height: number_field(ge=0, integer=True, fixed=True) = Field(description="block height at t = 0")
    fees_btc_per_block: NonNegative = Field(description="transaction fees per block at t = 0 [BTC]")
    hashrate_model: Literal["exogenous", "response"] = Field(
        "exogenous", description="exogenous (lognormal growth at hashrate_growth_per_year) or response "
                                 "(growth follows the marginal miner's margin)")
    hashrate_growth_per_year: number_field(gt=-1, le=10) | None = Field(
        None, description="exogenous: expected yearly growth of network hashrate [-]")
    hashrate_volatility_per_year: number_field(ge=0, le=5) = Field(
        default_factory=lambda: default_quantity(0.0, "no hashrate noise"),
        description="volatility of network hashrate growth (response: noise of monthly log growth) "
                    "[per sqrt(year)]")
    hashrate_response_intercept_per_month: number_field(ge=-1, le=1) = Field(
        default_factory=lambda: default_quantity(0.0, "no response"),
        description="response: a in dlog H = a + b x(t - lag) [per month]")
    hashrate_response_slope_per_month: number_field(ge=0, le=1) = Field(
        default_factory=lambda: default_quantity(0.0, "no response"),
        description="response: b, growth per unit of log margin x [per month]")
    hashrate_response_lag_months: number_field(ge=1, le=36, integer=True, fixed=True) = Field(
        default_factory=lambda: default_quantity(3.0, "a quarter between margin and new machines"),
        description="response: months between a margin and the hashrate it brings [months]")
    marginal_miner_efficiency_j_per_th: Positive | None = Field(
        None, description="response: efficiency of the marginal (least efficient running) miner at t = 0 [J/TH]")
    efficiency_frontier_decline_per_year: Share = Field(
        default_factory=lambda: default_quantity(0.0, "no efficiency gains"),
        description="response: yearly fall of the marginal miner's J/TH [-]")
    marginal_miner_power_usd_per_kwh: Positive | None = Field(
        None, description="response: power price of the marginal miner [USD/kWh]")
    difficulty_lag_days: number_field(ge=0, le=60) = Field(
        default_factory=lambda: default_quantity(0.0, "exactly 144 blocks a day"),
        description="days by which difficulty trails hashrate; 0 = exactly 144 blocks a day [days]")
    fee_long_run_btc_per_block: Positive | None = Field(
        None, description="long-run median of fees per block (default: fees_btc_per_block) [BTC]")
    fee_mean_reversion_per_year: number_field(ge=0, le=120) = Field(
        default_factory=lambda: default_quantity(0.0, "fees do not revert"),
        description="speed at which log fees revert to their long-run level [1/year]")
    fee_volatility_per_year: number_field(ge=0, le=20) = Field(
        default_factory=lambda: default_quantity(0.0, "constant fees"), description="volatility of log fees [per sqrt(year)]")
    fee_spike_probability_per_month: Share = Field(
        default_factory=lambda: default_quantity(0.0, "no fee spikes"), description="chance of a fee spike in a month [-]")
    fee_spike_mean_log: number_field(ge=0, le=10) = Field(
        default_factory=lambda: default_quantity(0.0, "no fee spikes"),
        description="jump in log fees at a spike (decays at the reversion speed) [-]")
    power_price_long_run_usd_per_kwh: Positive | None = Field(
        None, description="long-run median power price (default: site.power_price_usd_per_kwh) [USD/kWh]")
    power_price_mean_reversion_per_year: number_field(ge=0, le=120) = Field(
        default_factory=lambda: default_quantity(0.0, "power price does not revert"),
        description="speed at which log power price reverts to its long-run level [1/year]")
    power_price_volatility_per_year: number_field(ge=0, le=10) = Field(
        default_factory=lambda: default_quantity(0.0, "constant power price"),
        description="volatility of log power price [per sqrt(year)]")
    power_price_btc_correlation: number_field(ge=-1, le=1) = Field(
        default_factory=lambda: default_quantity(0.0, "independent of BTC"),
        description="correlation of power-price shocks with BTC price shocks [-]")

    @model_validator(mode="after")
    def _one_network_size(self):
        if (self.difficulty is None) == (self.network_hashrate_eh_s is None):
            raise ValueError("give exactly one of difficulty or network_hashrate_eh_s")
        return self

    @model_validator(mode="after")
    def _model_fields_present(self):
        if self.hashrate_model == "exogenous" and self.hashrate_growth_per_year is None:
            raise ValueError("market.hashrate_growth_per_year: required field is missing "
                             "(hashrate_model is 'exogenous')")
        if self.hashrate_model == "response":
            for name in ("marginal_miner_efficiency_j_per_th", "marginal_miner_power_usd_per_kwh"):
                if getattr(self, name) is None:
                    raise ValueError(f"market.{name}: required field is missing (hashrate_model is 'response')")
        if self.price_model == "bootstrap":
            for name in ("bootstrap_file", "bootstrap_start", "bootstrap_end"):
                if getattr(self, name) is None:
                    raise ValueError(f"market.{name}: required field is missing (price_model is 'bootstrap')")
            if self.bootstrap_end <= self.bootstrap_start:
                raise ValueError(f"market.bootstrap_end: {self.bootstrap_end} is not allowed; "
                                 f"must be after bootstrap_start ({self.bootstrap_start})")
            if self.power_price_btc_correlation.value != 0:
                raise ValueError("market.power_price_btc_correlation: "
                                 f"{self.power_price_btc_correlation.value:g} is not allowed with "
                                 "price_model 'bootstrap'; must be 0 (it correlates with the gbm/merton shock)")
        fee_dynamic = (self.fee_volatility_per_year.value > 0 or self.fee_spike_probability_per_month.value > 0
                       or (self.fee_long_run_btc_per_block is not None
                           and self.fee_mean_reversion_per_year.value > 0))
        if fee_dynamic and self.fees_btc_per_block.value <= 0:
            raise ValueError("market.fees_btc_per_block: 0 is not allowed when fees move (log fees); must be > 0")
        return self


class Phase(StrictModel):
    """A tranche of capacity going live."""

    online_month: MonthIndex = Field(description="months after t = 0 when the tranche is contracted for delivery "
                                                 "(it goes live then unless delayed)")
    share: number_field(ge=0, le=1, fixed=True) = Field(description="share of the deal's capacity and revenue [-]")
    rent_commencement_month: MonthIndex | None = Field(
        None, description="colocation: month the rent starts, if after delivery; revenue, delay credits and "
                          "the long-stop run from it [months after t = 0]")


#: a number of months >= 0, the same on every path (a contract term)
FixedMonths = number_field(ge=0, fixed=True, description="months >= 0 (fixed number)")


def _no_risk(value: float):
    """Default of a risk field: its "no risk" value, labelled as a pivotsim default."""
    return lambda: Quantity(value=value, assumption="pivotsim default (no risk)")


def _risk(no_risk_value: float, description: str):
    """A risk field that defaults to its "no risk" value."""
    return Field(default_factory=_no_risk(no_risk_value), description=description)


class AiRisks(StrictModel):
    """Risks of an AI-hosting deal; every default means "no risk".

    See :mod:`pivotsim.models.hosting` for the equations.  Every number may be
    a distribution (whole-month fields round their draws).
    """

    construction_delay_months: MonthsPerPath = _risk(
        0.0, "delay of every tranche's go-live against its contracted month; moves go-live and "
        "revenue (and the spending only as delay_spending says) [months]")
    delay_spending: Literal["committed", "stretched", "moves"] = Field(
        "committed", description="what a delay does to spending: committed (the build and the GPU order keep "
                                 "their schedule), stretched (the build spreads over the delay), moves (every "
                                 "payment shifts with go-live)")
    delay_cost_share_per_month: Share = _risk(
        0.0, "extra facility capex per month of delay, share of the facility capex [-]")
    termination_probability: Share = Field(
        default_factory=lambda: default_quantity(1.0, "the customer cancels once the long-stop allows it"),
        description="probability that the customer cancels a tranche late past its long-stop [-]")
    capex_overrun_multiplier: number_field(gt=0, le=10) = _risk(
        1.0, "actual / budgeted data-centre (facility) capex [-]")
    default_hazard_per_month: Share = _risk(
        0.0, "monthly probability that the customer defaults, from t = 0: "
        "P(default by month t) = 1 - (1 - h)^t [-]")
    default_recovery_share: Share = _risk(
        0.0, "share of the claim left after the backstop recovered from the customer [-]")
    default_recovery_months: MonthsPerPath = _risk(
        12.0, "months from the default to the recovery payment [months]")
    release_months: MonthsPerPath = _risk(
        6.0, "months to re-lease the capacity after a default [months]")
    release_price_share: number_field(ge=0, le=10) = _risk(
        1.0, "re-lease price / original price (before the GPU age decline) [-]")
    uncontracted_utilisation: Share = _risk(
        0.0, "share of vacant capacity sold at the spot rate while it waits for a new tenant [-]")
    renewal_probability: Share = _risk(
        0.0, "probability the contract is renewed at term end (one renewal) [-]")
    renewal_price_share: number_field(ge=0, le=10) = _risk(
        1.0, "renewal price / original price (before the GPU age decline) [-]")
    renewal_term_months: Months | None = Field(
        None, description="term of the renewal; default: the original term [months]")
    gpu_value_decline_per_year: Share = _risk(
        0.0, "gpu_cloud: yearly fall of the rental rate and resale value of ageing GPUs [-]")


class _AiCommon(StrictModel):
    term_months: Months = Field(description="contract term of each tranche [months]")
    prepayment_share: Share = Field(default_factory=lambda: Quantity(value=0.0),
                                    description="customer prepayment, share of contract value")
    prepayment_paid: Literal["at_signing", "before_delivery"] = Field(
        "at_signing", description="at_signing (t = 0) or per tranche, prepayment_months_before_delivery "
                                  "before it goes live")
    prepayment_months_before_delivery: FixedMonths = Field(
        default_factory=lambda: default_quantity(0.0, "paid as each tranche goes live"),
        description="with before_delivery: months before each tranche's go-live [months]")
    prepayment_credit_start_month: Months | None = Field(
        None, description="service month from which each tranche's prepayment is credited in equal parts "
                          "to the term's end (default: credited pro rata with every invoice) [months]")
    prepayment_tax: Literal["as_earned", "on_receipt"] = Field(
        "as_earned", description="income tax on the prepayment: as the service is earned, or when received "
                                 "(each credit, refund or amount owed a deduction)")
    delay_credit_share_per_month: Share = Field(
        default_factory=lambda: default_quantity(0.0, "no delay credits"),
        description="per month a tranche is late, share of its monthly invoice credited to the customer [-]")
    delay_credit_cap_share: Share = Field(
        default_factory=lambda: default_quantity(1.0, "no cap below the contract value"),
        description="delay credits of a tranche at most this share of its contract value [-]")
    long_stop_months: FixedMonths | None = Field(
        None, description="months after a tranche's contracted delivery past which the customer may cancel it "
                          "(default: no termination right) [months]")
    on_termination: Literal["release", "sell_gpus"] = Field(
        "release", description="after a cancellation: re-lease the capacity at the market rate (after "
                               "ai.risks.release_months), or sell the GPUs (gpu_cloud)")
    pue: Pue
    phases: list[Phase] = Field(min_length=1)
    datacenter_capex_usd_per_mw: NonNegative = Field(description="facility capex per MW critical IT [USD/MW]")
    construction_months: Months = Field(description="months of facility spending before each tranche goes live")
    opex_usd_per_mw_year: NonNegative = Field(description="fixed opex per MW of live critical IT [USD/MW/yr]")
    it_load_factor: Share = Field(default_factory=lambda: Quantity(value=1.0),
                                  description="average IT draw / critical IT capacity [-]")
    risks: AiRisks = Field(default_factory=AiRisks,
                           description="construction, counterparty, renewal and residual-value risks")
    debt: DebtTranches | None = Field(
        None, description="project debt of the AI business: one tranche (a mapping) or several (a list, "
                          "most senior first); absent: valued unlevered")

    @field_validator("phases")
    @classmethod
    def _shares_add_up(cls, phases):
        total = sum(p.share.value for p in phases)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"phase shares add up to {total:g}; they must add up to 1")
        return phases

    @model_validator(mode="after")
    def _deal_terms_consistent(self):
        term = self.term_months.value
        start = self.prepayment_credit_start_month
        if start is not None and start.value > term:
            raise ValueError(f"ai.prepayment_credit_start_month: {start.value:g} is not allowed; must be at most "
                             f"ai.term_months ({term:g}): credits start within the term")
        for i, phase in enumerate(self.phases):
            rent = phase.rent_commencement_month
            if rent is not None and rent.value < phase.online_month.value:
                raise ValueError(f"ai.phases.{i}.rent_commencement_month: {rent.value:g} is not allowed; must be "
                                 f"at or after the tranche's online_month ({phase.online_month.value:g})")
        return self


class GpuCloud(_AiCommon):
    """The operator owns the GPUs and sells compute (IREN–Microsoft)."""

    kind: Literal["gpu_cloud"]
    contract_value_usd: Positive
    gpu_capex_usd: NonNegative = Field(description="GPUs and servers, paid as each tranche is delivered [USD]")
    gpu_residual_share: Share = Field(description="resale value of GPUs at term end, share of their cost")
    gpu_shipment_months_before_delivery: FixedMonths = Field(
        default_factory=lambda: default_quantity(0.0, "GPUs ship at delivery"),
        description="with committed spending: GPUs ship this many months before each contracted delivery [months]")
    gpu_payment_months_after_shipment: FixedMonths = Field(
        default_factory=lambda: default_quantity(0.0, "GPUs are paid on shipment"),
        description="with committed spending: GPUs are paid this many months after shipping [months]")
    gpu_resale_haircut_share: Share = Field(
        default_factory=lambda: default_quantity(0.0, "a forced sale at the resale curve"),
        description="on_termination sell_gpus: discount to the resale curve of a forced sale [-]")
    power_pass_through: bool = False

    @model_validator(mode="after")
    def _service_starts_at_delivery(self):
        for i, phase in enumerate(self.phases):
            if phase.rent_commencement_month is not None:
                raise ValueError(f"ai.phases.{i}.rent_commencement_month: applies to colocation only "
                                 "(gpu_cloud service starts at delivery); remove it")
        return self


class Colocation(_AiCommon):
    """The operator rents powered, cooled space; the tenant brings GPUs."""

    kind: Literal["colocation"]
    contract_value_usd: Positive | None = Field(None, description="total rent over the term [USD]")
    annual_revenue_usd: Positive | None = Field(None, description="first-year rent at full capacity [USD/yr]")
    rent_usd_per_kw_month: Positive | None = Field(None, description="first-year rent [USD/kW-month]")
    rent_escalator_per_year: number_field(ge=-0.5, le=1) = Field(
        default_factory=lambda: Quantity(value=0.0), description="yearly rent escalation [-]")
    tenant_funded_capex_usd: NonNegative = Field(default_factory=lambda: Quantity(value=0.0))
    backstop_usd: NonNegative = Field(default_factory=lambda: Quantity(value=0.0),
                                      description="third-party guarantee of the tenant's obligations [USD]")
    power_pass_through: bool = True

    @model_validator(mode="after")
    def _no_gpu_sale(self):
        if self.on_termination == "sell_gpus":
            raise ValueError("ai.on_termination: 'sell_gpus' is not allowed for colocation (the tenant owns "
                             "the GPUs); must be 'release'")
        return self

    @model_validator(mode="after")
    def _no_gpu_decline(self):
        decline = self.risks.gpu_value_decline_per_year
        if decline.dist is not None or decline.value != 0:
            raise ValueError("ai.risks.gpu_value_decline_per_year: applies to gpu_cloud only "
                             "(in colocation the tenant owns the GPUs); remove it")
        return self

    @model_validator(mode="after")
    def _one_price(self):
        given = [n for n in ("contract_value_usd", "annual_revenue_usd", "rent_usd_per_kw_month")
                 if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of contract_value_usd, annual_revenue_usd, "
                             f"rent_usd_per_kw_month (got {', '.join(given) or 'none'})")
        return self


class Depreciation(StrictModel):
    """Straight-line useful lives by asset class [years]."""

    gpu_years: Years
    asic_years: Years
    facility_years: Years


class Finance(StrictModel):
    """Discounting and tax."""

    discount_rate: AnnualRate = Field(description="default rate for both businesses (WACC) [per year]")
    discount_rate_bitcoin: AnnualRate | None = Field(
        None, description="rate of merchant mining revenue, if not the default [per year]")
    discount_rate_ai: AnnualRate | None = Field(
        None, description="rate of the contracted AI revenue, if not the default [per year]")
    cost_of_equity_per_year: AnnualRate | None = Field(
        None, description="rate the equity's cash flows of a levered business are valued at [per year]; "
                          "default: the business's discount rate")
    cost_of_equity_per_year_bitcoin: AnnualRate | None = None
    cost_of_equity_per_year_ai: AnnualRate | None = None
    tax_rate: Share
    depreciation: Depreciation
    terminal_value: Literal["book_value", "none", "economic"] = Field(
        "book_value", description="value of what is owned at the horizon: book_value (net book value), none, or "
                                  "economic (halls at terminal_hall_value_usd_per_mw, GPUs and ASICs at their "
                                  "resale curves: independent of tax lives)")
    terminal_hall_value_usd_per_mw: NonNegative | None = Field(
        None, description="economic terminal value of an AI hall per MW of critical IT at the horizon [USD/MW]")

    @model_validator(mode="after")
    def _hall_value_given(self):
        if self.terminal_value == "economic" and self.terminal_hall_value_usd_per_mw is None:
            raise ValueError("finance.terminal_hall_value_usd_per_mw: missing; terminal_value 'economic' needs "
                             "the value of a hall per MW of critical IT at the horizon (give a number with its "
                             "source or assumption)")
        return self


class CorrelationMatrix(StrictModel):
    """Rank correlations as a matrix over named inputs."""

    inputs: list[str] = Field(min_length=2, description="dotted paths of uncertain inputs")
    matrix: list[list[float]] = Field(description="Spearman rank correlations, symmetric, 1 on the diagonal")
    source: str | None = None
    assumption: str | None = None
    note: str | None = None


class CorrelationPair(StrictModel):
    """One rank correlation with its provenance: ``{between: [a, b], rho: 0.5, assumption: ...}``."""

    between: tuple[str, str] = Field(description="dotted paths of two uncertain inputs")
    rho: float = Field(description="Spearman rank correlation in [-1, 1]")
    source: str | None = None
    assumption: str | None = None
    note: str | None = None


CorrelationEntry = Union[tuple[str, str, float], CorrelationPair]


