"""Scenario files: YAML -> validated, immutable :class:`Scenario`.

A scenario is a YAML file with the sections ``scenario``, ``sources``,
``site``, ``bitcoin``, ``market``, ``ai`` and ``finance``.  Every number may
be written

* plain: ``0.2`` or, for shares, ``"20%"``;
* with provenance: ``{value: 0.2, source: S000}`` or
  ``{value: 12e6, assumption: "one-line reason"}``, optionally with ``note``.

Numbers are held as :class:`Quantity` (value plus provenance).  Reading uses
``yaml.safe_load`` semantics (no Python tags), validation uses pydantic v2
with ``extra="forbid"``, and every error names the file, the YAML line, the
dotted path, the bad value and what is allowed.

The models read plain numbers through :func:`to_inputs`, which turns the
scenario into a tree of floats; a later sampler can put arrays shaped
``(n_paths, 1)`` in the same places without touching the models.
"""

from __future__ import annotations

import copy
import difflib
import datetime as dt
import hashlib
import math
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any, Literal, Sequence, Union

import yaml
import numpy as np
from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field,
                      PrivateAttr, ValidationError, ValidationInfo, WithJsonSchema, field_validator,
                      model_serializer, model_validator)

from .distributions import ALL_PARAMETERS, KINDS as DIST_KINDS, Distribution, make_distribution, parameter_help
from .errors import ScenarioError

_PERCENT = re.compile(r"^\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*%\s*$")


class Quantity(BaseModel):
    """A number with its provenance, fixed or uncertain.

    Attributes
    ----------
    value : float
        The number, in the unit its field name states.  For a distribution:
        its base value (the ``value`` written in the scenario, else the
        distribution's median).
    dist : str, optional
        Kind of distribution when the number is uncertain (see
        :mod:`pivotsim.distributions`); its parameters are the fields
        ``mean, sd, mu, sigma, low, mode, high, shape, p, values, probs,
        samples, file, column`` and the truncation ``min, max``.
    source : str, optional
        Id of an entry in the scenario's ``sources`` section.
    assumption : str, optional
        One-line rationale when no source gives the number.
    note : str, optional
        Anything else a reader should know (e.g. a second reading).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: float
    dist: Literal[DIST_KINDS] | None = None
    mean: float | None = None
    sd: float | None = None
    mu: float | None = None
    sigma: float | None = None
    low: float | None = None
    mode: float | None = None
    high: float | None = None
    shape: float | None = None
    p: float | None = None
    values: list[float] | None = None
    probs: list[float] | None = None
    samples: list[float] | None = None
    file: str | None = None
    column: str | None = None
    min: float | None = None
    max: float | None = None
    source: str | None = None
    assumption: str | None = None
    note: str | None = None

    _distribution: Distribution | None = PrivateAttr(default=None)
    _value_given: bool = PrivateAttr(default=True)
    _whole: bool = PrivateAttr(default=False)

    @model_validator(mode="wrap")
    @classmethod
    def _build_distribution(cls, data, handler, info: ValidationInfo):
        if not (isinstance(data, dict) and "dist" in data):
            return handler(data)
        data = dict(data)
        kind = data["dist"]
        if kind not in DIST_KINDS:
            raise ValueError(f"dist {kind!r} is not allowed; must be one of {', '.join(DIST_KINDS)}")
        for name in data:
            if name not in cls.model_fields:
                close = difflib.get_close_matches(name, list(ALL_PARAMETERS) + ["min", "max", "value"], n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(f"{name} is not a parameter of {kind}{hint}; {kind} takes "
                                 f"{parameter_help(kind)}, and optionally min, max, value")
        params = {}
        for name in list(data):
            try:
                if name in ALL_PARAMETERS:
                    raw = data[name]
                    if name in ("values", "probs", "samples"):
                        if not isinstance(raw, list):
                            raise ValueError(f"must be a list of numbers, got {raw!r}")
                        raw = data[name] = [_parse_number(x) for x in raw]
                    elif name not in ("file", "column"):
                        raw = data[name] = _parse_number(raw)
                    elif not isinstance(raw, str):
                        raise ValueError(f"must be text, got {raw!r}")
                    params[name] = raw
                elif name in ("min", "max", "value"):
                    data[name] = _parse_number(data[name])
            except ValueError as exc:
                raise ValueError(f"{kind}: {name}: {exc}") from None
        if "file" in params or "column" in params:
            params["samples"] = _read_samples(params.get("file"), params.get("column"), kind,
                                              (info.context or {}).get("base_dir"))
            check_params = {k: v for k, v in params.items() if k != "samples"}
        else:
            check_params = params
        from .distributions import PARAMETERS
        if frozenset(check_params) not in PARAMETERS[kind]:
            make_distribution(kind, check_params)  # raises the one-line message
        build = {k: v for k, v in params.items() if k not in ("file", "column")}
        dist = make_distribution(kind, build, data.get("min"), data.get("max"), data.get("value"))
        given = "value" in data
        data["value"] = dist.base
        q = handler(data)
        q._distribution = dist
        q._value_given = given
        return q

    @model_serializer(mode="wrap")
    def _drop_computed_value(self, handler):
        out = handler(self)
        if self.dist is not None and not self._value_given and isinstance(out, dict):
            out.pop("value", None)
        return out

    @property
    def provenance(self) -> str | None:
        """``source`` id or ``assumption`` text; None when the number has neither."""
        return self.source or self.assumption

    @property
    def distribution(self) -> Distribution | None:
        """The distribution of an uncertain number (base = :attr:`value`); None when fixed."""
        if self._distribution is None:
            return None
        return self._distribution.with_base(self.value) if self._distribution.base != self.value \
            else self._distribution

    @property
    def whole(self) -> bool:
        """True when draws are rounded to whole numbers (whole-month fields)."""
        return self._whole


def _read_samples(file, column, kind, base_dir) -> list[float]:
    """Values of one column of a CSV file, for an empirical distribution."""
    if kind != "empirical":
        raise ValueError(f"file and column are parameters of empirical only; {kind} takes "
                         f"{parameter_help(kind)}")
    if file is None or column is None:
        raise ValueError("empirical: give both file and column (or samples)")
    path = Path(file)
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    if not path.is_file():
        raise ValueError(f"empirical: file {str(path)!r} not found (relative paths start at the "
                         "scenario file's folder)")
    import pandas as pd

    try:
        frame = pd.read_csv(path)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the user's file
        raise ValueError(f"empirical: cannot read {str(path)!r} as CSV ({type(exc).__name__})") from None
    if column not in frame.columns:
        raise ValueError(f"empirical: column {column!r} is not in {path.name} "
                         f"(columns: {', '.join(map(str, frame.columns[:12]))})")
    series = pd.to_numeric(frame[column], errors="coerce")
    bad = series.isna() & frame[column].notna()
    if bad.any():
        raise ValueError(f"empirical: column {column!r} of {path.name} holds a non-number "
                         f"{frame[column][bad].iloc[0]!r}")
    values = series.dropna().to_numpy(dtype=float)
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError(f"empirical: column {column!r} of {path.name} has no finite numbers")
    return values.tolist()


def _parse_number(raw: Any) -> float:
    if isinstance(raw, bool) or raw is None:
        raise ValueError(f"expected a number, got {raw!r}")
    if isinstance(raw, (int, float)):
        value = float(raw)
    elif isinstance(raw, str):
        match = _PERCENT.match(raw)
        try:
            value = float(match.group(1)) / 100.0 if match else float(raw.replace("_", ""))
        except ValueError:
            raise ValueError(f"expected a number or a percentage like '20%', got {raw!r}") from None
    else:
        raise ValueError(f"expected a number, got {raw!r}")
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {raw!r}")
    return value


def _coerce_quantity(raw: Any) -> Any:
    if isinstance(raw, Quantity):
        return raw
    if isinstance(raw, dict):
        if "value" in raw:
            return {**raw, "value": _parse_number(raw["value"])}
        return raw  # let pydantic report the missing "value"
    return {"value": _parse_number(raw)}


_QUANTITY_JSON_SCHEMA = {
    "anyOf": [
        {"type": "number"},
        {"type": "string", "pattern": r"^\s*[-+]?\d+(\.\d*)?\s*%\s*$",
         "description": "a percentage, e.g. '20%' = 0.2"},
        {"type": "object",
         "properties": {"value": {"anyOf": [{"type": "number"}, {"type": "string"}]},
                        "source": {"type": "string", "description": "id in `sources`"},
                        "assumption": {"type": "string", "description": "one-line rationale"},
                        "note": {"type": "string"}},
         "required": ["value"], "additionalProperties": False},
        {"type": "object", "description": "an uncertain number: a distribution (base value: `value` "
                                          "if given, else the median); min/max truncate it",
         "properties": {"dist": {"enum": list(DIST_KINDS)},
                        **{name: {"type": "number"} for name in
                           ("mean", "sd", "mu", "sigma", "low", "mode", "high", "shape", "p",
                            "min", "max")},
                        **{name: {"type": "array", "items": {"type": "number"}}
                           for name in ("values", "probs", "samples")},
                        "file": {"type": "string", "description": "CSV file (empirical)"},
                        "column": {"type": "string", "description": "column of the CSV file"},
                        "value": {"anyOf": [{"type": "number"}, {"type": "string"}]},
                        "source": {"type": "string", "description": "id in `sources`"},
                        "assumption": {"type": "string", "description": "one-line rationale"},
                        "note": {"type": "string"}},
         "required": ["dist"], "additionalProperties": False},
    ]
}


def _number(*, ge: float | None = None, gt: float | None = None, le: float | None = None,
            integer: bool = False, fixed: bool = False, hint: str = "", description: str = ""):
    """A Quantity field type with bounds checked on its value and its distribution.

    Parameters
    ----------
    ge, gt, le : float, optional
        Bounds on the base value and on every value a distribution can take
        (its support after truncation).
    integer : bool
        Whole numbers only; draws of a continuous distribution are rounded.
    fixed : bool
        Distributions are refused: the field shapes the timeline or the
        contract structure, which is the same on every path.
    """
    allowed = []
    if ge is not None:
        allowed.append(f">= {ge:g}")
    if gt is not None:
        allowed.append(f"> {gt:g}")
    if le is not None:
        allowed.append(f"<= {le:g}")
    rule = " and ".join(allowed)

    def check(q: Quantity) -> Quantity:
        dist = q.distribution
        if dist is not None and fixed:
            raise ValueError(f"a distribution ({q.dist}) is not allowed here: this number sets the "
                             "timeline or contract structure, the same on every path; give a fixed number"
                             + (f" ({hint})" if hint else ""))
        if integer and dist is not None:
            if dist.is_finite:
                values = dist.values()
                if not np.all(values == np.round(values)):
                    raise ValueError(f"{q.dist} values must be whole numbers here, got {values.tolist()}")
            if not q._value_given and q.value != round(q.value):
                q = q.model_copy(update={"value": float(round(q.value))})
            q._whole = True
        v = q.value
        bad = ((ge is not None and v < ge) or (gt is not None and v <= gt)
               or (le is not None and v > le))
        if integer and v != int(v):
            raise ValueError(f"{v:g} is not allowed; must be a whole number" + (f" {rule}" if rule else ""))
        if bad:
            what = "base value " if dist is not None else ""
            raise ValueError(f"{what}{v:g} is not allowed; must be {rule}")
        if dist is not None:
            lo, hi = dist.support()
            strict = dist.is_finite
            below = (ge is not None and lo < ge) or (gt is not None and (lo < gt or (strict and lo == gt)))
            above = le is not None and hi > le
            if below or above:
                side = f"down to {lo:g}" if below else f"up to {hi:g}"
                raise ValueError(f"{dist.describe().rsplit(', base', 1)[0]} takes values {side}; "
                                 f"must be {rule} (truncate it with min/max)")
        return q

    schema = dict(_QUANTITY_JSON_SCHEMA)
    if description:
        schema["description"] = description
    if fixed:
        schema = {**schema, "anyOf": schema["anyOf"][:3]}
    return Annotated[Quantity, BeforeValidator(_coerce_quantity), AfterValidator(check),
                     WithJsonSchema(schema)]


Positive = _number(gt=0)
NonNegative = _number(ge=0)
Share = _number(ge=0, le=1, description="fraction in [0, 1]; '20%' accepted")
Months = _number(gt=0, integer=True, fixed=True, description="whole months > 0 (fixed number)")
MonthIndex = _number(ge=0, integer=True, fixed=True,
                     hint="for an uncertain start use ai.risks.construction_delay_months",
                     description="whole months after the valuation date (fixed number)")
MonthsPerPath = _number(ge=0, integer=True,
                        description="whole months >= 0; may be a distribution (draws are rounded)")
Years = _number(gt=0, fixed=True, description="years > 0 (fixed number)")
AnnualRate = _number(gt=-1, le=10, description="effective annual rate, fraction per year")
Pue = _number(ge=1, le=5, description="power usage effectiveness: grid power / IT power, >= 1")


def _default(value: float, why: str) -> Quantity:
    """A default number with its provenance (``assumption: "default: why"``)."""
    return Quantity(value=value, assumption=f"default: {why}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScenarioInfo(_Strict):
    """Name, dates and horizon of the valuation."""

    name: str = Field(min_length=1)
    description: str = ""
    valuation_date: dt.date
    horizon_months: Annotated[Quantity, BeforeValidator(_coerce_quantity),
                              AfterValidator(lambda q: _check_horizon(q)),
                              WithJsonSchema(_QUANTITY_JSON_SCHEMA)]


def _check_horizon(q: Quantity) -> Quantity:
    if q.dist is not None:
        raise ValueError("a distribution is not allowed here; the horizon is the same on every path")
    if q.value != int(q.value) or not 1 <= q.value <= 600:
        raise ValueError(f"{q.value:g} is not allowed; must be a whole number of months from 1 to 600")
    return q


class Source(_Strict):
    """A document the scenario's numbers come from."""

    title: str
    publisher: str | None = None
    date: dt.date | str | None = None
    url: str | None = None
    file: str | None = None
    note: str | None = None


class Site(_Strict):
    """The megawatts both businesses compete for."""

    grid_power_mw: Positive = Field(description="grid power available to the site [MW]")
    power_price_usd_per_kwh: NonNegative = Field(description="all-in power price [USD/kWh]")


class Bitcoin(_Strict):
    """A bitcoin-mining fleet on the site's grid power."""

    pue: Pue = Field(description="grid power / ASIC power (cooling, losses) [-]")
    fleet_efficiency_j_per_th: Positive = Field(description="fleet efficiency at t = 0 [J/TH]")
    uptime: Share = Field(description="share of hours the fleet hashes [-]")
    pool_fee_share: Share = Field(description="pool fee as a share of mining revenue [-]")
    opex_usd_per_mw_year: NonNegative = Field(description="fixed opex per MW of grid power [USD/MW/yr]")
    asic_price_usd_per_th: NonNegative = Field(description="price of new ASICs [USD per TH/s]")
    buy_fleet_at_start: bool = Field(True, description="pay for the initial fleet at t = 0")
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


class Market(_Strict):
    """State of the bitcoin network at the valuation date, and its dynamics.

    The equations behind every field are in :mod:`pivotsim.models.market`.
    Defaults reproduce the foundation model (GBM price, exogenous lognormal
    hashrate, 144 blocks a day, constant fees and power price).
    """

    btc_price_usd: Positive
    btc_drift_per_year: _number(ge=-1, le=3) = Field(
        description="expected log-price growth mu: E[S_t] = S_0 exp(mu t) [per year]")
    btc_volatility_per_year: _number(ge=0, le=5) = Field(
        description="diffusion volatility sigma of log price [per sqrt(year)]")
    price_model: Literal["gbm", "merton", "bootstrap"] = Field(
        "gbm", description="gbm, merton (GBM plus Poisson jumps), or bootstrap of historical monthly returns")
    btc_jump_intensity_per_year: _number(ge=0, le=365) = Field(
        default_factory=lambda: _default(0.0, "no jumps"),
        description="merton: expected number of price jumps per year [1/year]")
    btc_jump_mean_log: _number(ge=-3, le=3) = Field(
        default_factory=lambda: _default(0.0, "no jumps"), description="merton: mean log jump size [-]")
    btc_jump_volatility_log: _number(ge=0, le=3) = Field(
        default_factory=lambda: _default(0.0, "no jumps"), description="merton: sd of log jump size [-]")
    bootstrap_file: str | None = Field(
        None, description="bootstrap: daily CSV with date and price_usd columns (Coin Metrics layout); "
                          "relative to the scenario file or absolute")
    bootstrap_start: dt.date | None = Field(None, description="bootstrap: first day of the history window")
    bootstrap_end: dt.date | None = Field(None, description="bootstrap: last day of the history window")
    bootstrap_block_months: Months = Field(
        default_factory=lambda: _default(6.0, "six-month blocks keep some of the momentum in monthly returns"),
        description="bootstrap: consecutive historical months per block [months]")
    difficulty: Positive | None = Field(None, description="network difficulty at t = 0")
    network_hashrate_eh_s: Positive | None = Field(None, description="network hashrate at t = 0 [EH/s]")
    block_height: _number(ge=0, integer=True, fixed=True) = Field(description="block height at t = 0")
    fees_btc_per_block: NonNegative = Field(description="transaction fees per block at t = 0 [BTC]")
    hashrate_model: Literal["exogenous", "response"] = Field(
        "exogenous", description="exogenous (lognormal growth at hashrate_growth_per_year) or response "
                                 "(growth follows the marginal miner's margin)")
    hashrate_growth_per_year: _number(gt=-1, le=10) | None = Field(
        None, description="exogenous: expected yearly growth of network hashrate [-]")
    hashrate_volatility_per_year: _number(ge=0, le=5) = Field(
        default_factory=lambda: _default(0.0, "no hashrate noise"),
        description="volatility of network hashrate growth (response: noise of monthly log growth) "
                    "[per sqrt(year)]")
    hashrate_response_intercept_per_month: _number(ge=-1, le=1) = Field(
        default_factory=lambda: _default(0.0, "no response"),
        description="response: a in dlog H = a + b x(t - lag) [per month]")
    hashrate_response_slope_per_month: _number(ge=0, le=1) = Field(
        default_factory=lambda: _default(0.0, "no response"),
        description="response: b, growth per unit of log margin x [per month]")
    hashrate_response_lag_months: _number(ge=1, le=36, integer=True, fixed=True) = Field(
        default_factory=lambda: _default(3.0, "a quarter between margin and new machines"),
        description="response: months between a margin and the hashrate it brings [months]")
    marginal_miner_efficiency_j_per_th: Positive | None = Field(
        None, description="response: efficiency of the marginal (least efficient running) miner at t = 0 [J/TH]")
    efficiency_frontier_decline_per_year: Share = Field(
        default_factory=lambda: _default(0.0, "no efficiency gains"),
        description="response: yearly fall of the marginal miner's J/TH [-]")
    marginal_miner_power_usd_per_kwh: Positive | None = Field(
        None, description="response: power price of the marginal miner [USD/kWh]")
    difficulty_lag_days: _number(ge=0, le=60) = Field(
        default_factory=lambda: _default(0.0, "exactly 144 blocks a day"),
        description="days by which difficulty trails hashrate; 0 = exactly 144 blocks a day [days]")
    fee_long_run_btc_per_block: Positive | None = Field(
        None, description="long-run median of fees per block (default: fees_btc_per_block) [BTC]")
    fee_mean_reversion_per_year: _number(ge=0, le=120) = Field(
        default_factory=lambda: _default(0.0, "fees do not revert"),
        description="speed at which log fees revert to their long-run level [1/year]")
    fee_volatility_per_year: _number(ge=0, le=20) = Field(
        default_factory=lambda: _default(0.0, "constant fees"), description="volatility of log fees [per sqrt(year)]")
    fee_spike_probability_per_month: Share = Field(
        default_factory=lambda: _default(0.0, "no fee spikes"), description="chance of a fee spike in a month [-]")
    fee_spike_mean_log: _number(ge=0, le=10) = Field(
        default_factory=lambda: _default(0.0, "no fee spikes"),
        description="jump in log fees at a spike (decays at the reversion speed) [-]")
    power_price_long_run_usd_per_kwh: Positive | None = Field(
        None, description="long-run median power price (default: site.power_price_usd_per_kwh) [USD/kWh]")
    power_price_mean_reversion_per_year: _number(ge=0, le=120) = Field(
        default_factory=lambda: _default(0.0, "power price does not revert"),
        description="speed at which log power price reverts to its long-run level [1/year]")
    power_price_volatility_per_year: _number(ge=0, le=10) = Field(
        default_factory=lambda: _default(0.0, "constant power price"),
        description="volatility of log power price [per sqrt(year)]")
    power_price_btc_correlation: _number(ge=-1, le=1) = Field(
        default_factory=lambda: _default(0.0, "independent of BTC"),
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


class Phase(_Strict):
    """A tranche of capacity going live."""

    online_month: MonthIndex = Field(description="months after t = 0 when the tranche goes live")
    share: _number(ge=0, le=1, fixed=True) = Field(description="share of the deal's capacity and revenue [-]")


def _no_risk(value: float):
    """Default of a risk field: its "no risk" value, labelled as a pivotsim default."""
    return lambda: Quantity(value=value, assumption="pivotsim default (no risk)")


class AiRisks(_Strict):
    """Risks of an AI-hosting deal; every default means "no risk".

    See :mod:`pivotsim.models.hosting` for the equations.  Every number may be
    a distribution (whole-month fields round their draws).
    """

    construction_delay_months: MonthsPerPath = Field(
        default_factory=_no_risk(0.0),
        description="delay of every tranche's go-live; shifts GPU delivery, facility spending and "
                    "the revenue ramp [months]")
    capex_overrun_multiplier: _number(gt=0, le=10) = Field(
        default_factory=_no_risk(1.0),
        description="actual / budgeted data-centre (facility) capex [-]")
    default_hazard_per_month: Share = Field(
        default_factory=_no_risk(0.0),
        description="monthly probability that the customer defaults, from t = 0: "
                    "P(default by month t) = 1 - (1 - h)^t [-]")
    default_recovery_share: Share = Field(
        default_factory=_no_risk(0.0),
        description="share of the claim left after the backstop recovered from the customer [-]")
    default_recovery_months: MonthsPerPath = Field(
        default_factory=_no_risk(12.0),
        description="months from the default to the recovery payment [months]")
    release_months: MonthsPerPath = Field(
        default_factory=_no_risk(6.0),
        description="months to re-lease the capacity after a default [months]")
    release_price_share: _number(ge=0, le=10) = Field(
        default_factory=_no_risk(1.0),
        description="re-lease price / original price (before the GPU age decline) [-]")
    uncontracted_utilisation: Share = Field(
        default_factory=_no_risk(0.0),
        description="share of vacant capacity sold at the spot rate while it waits for a new tenant [-]")
    renewal_probability: Share = Field(
        default_factory=_no_risk(0.0),
        description="probability the contract is renewed at term end (one renewal) [-]")
    renewal_price_share: _number(ge=0, le=10) = Field(
        default_factory=_no_risk(1.0),
        description="renewal price / original price (before the GPU age decline) [-]")
    renewal_term_months: Months | None = Field(
        None, description="term of the renewal; default: the original term [months]")
    gpu_value_decline_per_year: Share = Field(
        default_factory=_no_risk(0.0),
        description="gpu_cloud: yearly fall of the rental rate and resale value of ageing GPUs [-]")


class _AiCommon(_Strict):
    term_months: Months = Field(description="contract term of each tranche [months]")
    prepayment_share: Share = Field(default_factory=lambda: Quantity(value=0.0),
                                    description="customer prepayment at signing, share of contract value")
    pue: Pue
    phases: list[Phase] = Field(min_length=1)
    datacenter_capex_usd_per_mw: NonNegative = Field(description="facility capex per MW critical IT [USD/MW]")
    construction_months: Months = Field(description="months of facility spending before each tranche goes live")
    opex_usd_per_mw_year: NonNegative = Field(description="fixed opex per MW of live critical IT [USD/MW/yr]")
    it_load_factor: Share = Field(default_factory=lambda: Quantity(value=1.0),
                                  description="average IT draw / critical IT capacity [-]")
    risks: AiRisks = Field(default_factory=AiRisks,
                           description="construction, counterparty, renewal and residual-value risks")

    @field_validator("phases")
    @classmethod
    def _shares_add_up(cls, phases):
        total = sum(p.share.value for p in phases)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"phase shares add up to {total:g}; they must add up to 1")
        return phases


class GpuCloud(_AiCommon):
    """The operator owns the GPUs and sells compute (IREN–Microsoft)."""

    kind: Literal["gpu_cloud"]
    contract_value_usd: Positive
    gpu_capex_usd: NonNegative = Field(description="GPUs and servers, paid as each tranche is delivered [USD]")
    gpu_residual_share: Share = Field(description="resale value of GPUs at term end, share of their cost")
    power_pass_through: bool = False


class Colocation(_AiCommon):
    """The operator rents powered, cooled space; the tenant brings GPUs."""

    kind: Literal["colocation"]
    contract_value_usd: Positive | None = Field(None, description="total rent over the term [USD]")
    annual_revenue_usd: Positive | None = Field(None, description="first-year rent at full capacity [USD/yr]")
    rent_usd_per_kw_month: Positive | None = Field(None, description="first-year rent [USD/kW-month]")
    rent_escalator_per_year: _number(ge=-0.5, le=1) = Field(
        default_factory=lambda: Quantity(value=0.0), description="yearly rent escalation [-]")
    tenant_funded_capex_usd: NonNegative = Field(default_factory=lambda: Quantity(value=0.0))
    backstop_usd: NonNegative = Field(default_factory=lambda: Quantity(value=0.0),
                                      description="third-party guarantee of the tenant's obligations [USD]")
    power_pass_through: bool = True

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


class Depreciation(_Strict):
    """Straight-line useful lives by asset class [years]."""

    gpu_years: Years
    asic_years: Years
    facility_years: Years


class Finance(_Strict):
    """Discounting and tax."""

    discount_rate: AnnualRate = Field(description="default rate for both businesses (WACC) [per year]")
    discount_rate_bitcoin: AnnualRate | None = None
    discount_rate_ai: AnnualRate | None = None
    tax_rate: Share
    depreciation: Depreciation
    terminal_value: Literal["book_value", "none"] = Field(
        "book_value", description="value of facilities and ASICs left at the horizon")


class CorrelationMatrix(_Strict):
    """Rank correlations as a matrix over named inputs."""

    inputs: list[str] = Field(min_length=2, description="dotted paths of uncertain inputs")
    matrix: list[list[float]] = Field(description="Spearman rank correlations, symmetric, 1 on the diagonal")
    source: str | None = None
    assumption: str | None = None
    note: str | None = None


class CorrelationPair(_Strict):
    """One rank correlation with its provenance: ``{between: [a, b], rho: 0.5, assumption: ...}``."""

    between: tuple[str, str] = Field(description="dotted paths of two uncertain inputs")
    rho: float = Field(description="Spearman rank correlation in [-1, 1]")
    source: str | None = None
    assumption: str | None = None
    note: str | None = None


CorrelationEntry = Union[tuple[str, str, float], CorrelationPair]


class Scenario(_Strict):
    """A validated scenario: one site valued as a bitcoin mine and as AI hosting."""

    scenario: ScenarioInfo
    sources: dict[str, Source] = Field(default_factory=dict)
    site: Site
    bitcoin: Bitcoin
    market: Market
    ai: Annotated[Union[GpuCloud, Colocation], Field(discriminator="kind")]
    finance: Finance
    sampling: Literal["random", "lhs", "sobol"] = Field(
        "random", description="how uncertain inputs are sampled on the unit hypercube in each block")
    correlations: list[CorrelationEntry] | CorrelationMatrix | None = Field(
        None, description="rank (Spearman) correlations between uncertain inputs: a list of "
                          "[path, path, rho] or {between: [path, path], rho: ..., assumption: ...}, "
                          "or {inputs: [...], matrix: [[...]]}")

    _file: str | None = PrivateAttr(default=None)
    _sha256: str | None = PrivateAttr(default=None)
    _overrides: tuple[str, ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _sources_exist(self):
        for path, q in iter_quantities(self):
            if q.source is not None and q.source not in self.sources:
                known = ", ".join(sorted(self.sources)) or "none defined"
                raise ValueError(f"{path}: source {q.source!r} is not in `sources` (known: {known})")
        return self

    @model_validator(mode="after")
    def _correlations_valid(self):
        if self.correlations is not None:
            from .uncertainty import correlation_matrix

            correlation_matrix(self)  # raises "correlations...: message"
            entries = self.correlations if isinstance(self.correlations, list) else [self.correlations]
            for i, entry in enumerate(entries):
                source = getattr(entry, "source", None)
                if source is not None and source not in self.sources:
                    where = f"correlations.{i}" if isinstance(self.correlations, list) else "correlations"
                    raise ValueError(f"{where}.source: {source!r} is not in `sources`")
        return self

    @model_validator(mode="after")
    def _horizon_covers_contract(self):
        # A contract cut by the horizon would silently lose revenue: refuse it.
        end = max(int(p.online_month.value) for p in self.ai.phases) + int(self.ai.term_months.value)
        horizon = int(self.scenario.horizon_months.value)
        if horizon < end:
            raise ValueError(f"scenario.horizon_months: {horizon} is shorter than the AI contract "
                             f"(last tranche live at month {end - int(self.ai.term_months.value)} "
                             f"+ {int(self.ai.term_months.value)}-month term = {end}); use at least {end}")
        return self

    @property
    def name(self) -> str:
        return self.scenario.name

    @property
    def file(self) -> str | None:
        """Path of the YAML file this scenario was read from."""
        return self._file

    @property
    def sha256(self) -> str | None:
        """SHA-256 of the YAML file's bytes."""
        return self._sha256

    @property
    def overrides(self) -> tuple[str, ...]:
        """``--set`` overrides applied on top of the file."""
        return self._overrides

    def to_yaml(self) -> str:
        """The resolved scenario (after overrides and defaults) as YAML."""
        data = self.model_dump(mode="json", exclude_none=True)
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)

    def with_overrides(self, overrides: Sequence[str]) -> "Scenario":
        """A new scenario with ``dotted.key=value`` overrides, validated like the file."""
        data = self.model_dump(mode="python", exclude_none=True)
        data = _plain(data)
        scenario = parse_scenario(apply_overrides(data, overrides), file=self._file, overrides=overrides)
        scenario._sha256 = self._sha256
        scenario._overrides = self._overrides + tuple(overrides)
        return scenario


def _plain(obj):
    """Quantities as dicts and dates kept, for re-validation."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    return obj


def iter_quantities(model: BaseModel, prefix: str = ""):
    """Yield ``(dotted_path, Quantity)`` for every number in a model tree."""
    for name in type(model).model_fields:
        value = getattr(model, name)
        path = f"{prefix}{name}"
        yield from _iter_value(value, path)


def _iter_value(value, path):
    if isinstance(value, Quantity):
        yield path, value
    elif isinstance(value, BaseModel):
        yield from iter_quantities(value, path + ".")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _iter_value(item, f"{path}.{i}")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _iter_value(item, f"{path}.{key}")


def to_inputs(scenario: Scenario) -> SimpleNamespace:
    """The scenario as a tree of plain values: every Quantity becomes its base value.

    Models read this tree (``inputs.site.grid_power_mw``), never the pydantic
    objects, so a sampler can substitute arrays shaped ``(n_paths, 1)``
    (:func:`pivotsim.uncertainty.sample_inputs`).  The tree also holds
    ``ai.risks.default_event`` and ``ai.risks.renewal_event`` (the U(0, 1)
    draws behind those events, 0.5 in the base case) and ``uncertainty``, the
    :class:`~pivotsim.uncertainty.UncertainInputs` of the scenario.
    """

    def convert(value):
        if isinstance(value, Quantity):
            return value.value
        if isinstance(value, (CorrelationMatrix, CorrelationPair)):
            return value.model_dump()
        if isinstance(value, BaseModel):
            return SimpleNamespace(**{n: convert(getattr(value, n)) for n in type(value).model_fields})
        if isinstance(value, list):
            return [convert(v) for v in value]
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        return value

    inputs = convert(scenario)
    # event draws behind the default and renewal (U(0, 1)); the base case
    # takes their median, like every other uncertain input
    inputs.ai.risks.default_event = 0.5
    inputs.ai.risks.renewal_event = 0.5
    from .uncertainty import UncertainInputs

    inputs.uncertainty = UncertainInputs.from_scenario(scenario)
    return inputs


# --------------------------------------------------------------------------- reading


def _line_map(text: str) -> dict[tuple, int]:
    """Map each key path in the YAML text to its 1-based line."""
    lines: dict[tuple, int] = {}

    def walk(node, path):
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, child in node.value:
                child_path = path + (str(key.value),)
                lines[child_path] = key.start_mark.line + 1
                walk(child, child_path)
        elif isinstance(node, yaml.SequenceNode):
            for i, child in enumerate(node.value):
                lines[path + (str(i),)] = child.start_mark.line + 1
                walk(child, path + (str(i),))

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines
    if root is not None:
        walk(root, ())
    return lines


def read_yaml(path: str | Path) -> tuple[dict, dict[tuple, int], bytes]:
    """Read a scenario file safely -> (data, line map, raw bytes)."""
    file = str(path)
    p = Path(path)
    if not p.exists():
        raise ScenarioError("file not found", file=file)
    if p.is_dir():
        raise ScenarioError("is a directory; expected a YAML scenario file", file=file)
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=file) from None
    try:
        data = yaml.safe_load(text)
    except yaml.constructor.ConstructorError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        tag = re.search(r"'(tag:[^']*|![^']*)'", str(exc.problem))
        what = tag.group(1) if tag else str(exc.problem)
        raise ScenarioError(f"YAML tag {what} is not allowed; scenarios are plain YAML (safe loader)",
                            file=file, line=line) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(f"YAML syntax error: {problem}", file=file, line=line) from None
    if data is None:
        raise ScenarioError("file is empty; expected a mapping with sections "
                            "scenario, site, bitcoin, market, ai, finance", file=file)
    if not isinstance(data, dict):
        raise ScenarioError(f"expected a mapping of sections at the top level, got a {type(data).__name__}",
                            file=file, line=1)
    return data, _line_map(text), raw


def load_scenario(path: str | Path, overrides: Sequence[str] = ()) -> Scenario:
    """Read, override and validate a scenario file.

    Parameters
    ----------
    path : str or Path
        YAML scenario file.
    overrides : sequence of str
        ``dotted.key=value`` settings applied before validation, as ``--set``.

    Returns
    -------
    Scenario
        Validated and immutable.

    Raises
    ------
    ScenarioError
        With the file, line, dotted path, bad value and what is allowed.
    """
    data, lines, raw = read_yaml(path)
    data = apply_overrides(data, overrides)
    scenario = parse_scenario(data, file=str(path), lines=lines, overrides=overrides)
    scenario._sha256 = hashlib.sha256(raw).hexdigest()
    return scenario


def resolve_scenario(scenario: "Scenario | str | Path", overrides: Sequence[str] = ()) -> Scenario:
    """A loaded scenario from a Scenario or a YAML path, with ``--set`` overrides applied."""
    if not isinstance(scenario, Scenario):
        return load_scenario(scenario, overrides)
    return scenario.with_overrides(overrides) if overrides else scenario


def parse_scenario(data: dict, *, file: str | None = None, lines: dict[tuple, int] | None = None,
                   overrides: Sequence[str] = ()) -> Scenario:
    """Validate a scenario mapping (already read from YAML)."""
    context = {"base_dir": str(Path(file).parent)} if file and not file.startswith("--set") else {}
    try:
        scenario = Scenario.model_validate(data, context=context)
    except ValidationError as exc:
        raise _friendly_error(exc, data, file, lines or {}, overrides) from None
    scenario = _resolve_data_files(scenario, file, lines or {})
    scenario._file = file
    scenario._overrides = tuple(overrides)
    return scenario


def _resolve_data_files(scenario: Scenario, file: str | None, lines: dict[tuple, int]) -> Scenario:
    """Make ``market.bootstrap_file`` absolute (relative to the scenario file) and check it exists."""
    name = scenario.market.bootstrap_file
    if name is None:
        return scenario
    path = Path(name).expanduser()
    if not path.is_absolute() and file is not None:
        path = Path(file).resolve().parent / path
    path = path.resolve()
    if not path.is_file():
        raise ScenarioError(f"{name!r}: file not found (looked for {path}); give a path relative to the "
                            "scenario file or an absolute path", file=file, path="market.bootstrap_file",
                            line=lines.get(("market", "bootstrap_file")))
    if str(path) == name:
        return scenario
    market = scenario.market.model_copy(update={"bootstrap_file": str(path)})
    return scenario.model_copy(update={"market": market})


_UNION_TAGS = {"gpu_cloud", "colocation"}


def _clean_loc(loc: tuple) -> tuple[str, ...]:
    out = []
    for i, part in enumerate(loc):
        part = str(part)
        if i > 0 and str(loc[i - 1]) == "ai" and part in _UNION_TAGS:
            continue
        if part.startswith(("function-", "tagged-union", "union[")):
            continue
        out.append(part)
    return tuple(out)


def _get(data, path):
    for part in path:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def _model_at(path: tuple[str, ...], data) -> type[BaseModel] | None:
    """The pydantic model class describing the mapping at ``path``."""
    import typing

    model: Any = Scenario
    for i, part in enumerate(path):
        if model is None or not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = model.model_fields.get(part)
        if field is None:
            return None
        ann = field.annotation
        # unwrap Optional / list / discriminated union
        candidates = [ann]
        resolved = None
        while candidates:
            a = candidates.pop()
            origin = typing.get_origin(a)
            if origin in (Union, getattr(__import__("types"), "UnionType", None)):
                candidates.extend(typing.get_args(a))
            elif origin is Annotated:
                candidates.append(typing.get_args(a)[0])
            elif origin is list and i + 1 < len(path) and path[i + 1].isdigit():
                candidates.append(typing.get_args(a)[0])
            elif isinstance(a, type) and issubclass(a, BaseModel):
                kind = (_get(data, path[: i + 1]) or {}).get("kind") if isinstance(
                    _get(data, path[: i + 1]), dict) else None
                if "kind" in a.model_fields and kind is not None:
                    if kind in typing.get_args(a.model_fields["kind"].annotation):
                        resolved = a
                elif resolved is None:
                    resolved = a
        model = resolved
        if i + 1 < len(path) and path[i + 1].isdigit():
            path = path[: i + 1] + path[i + 2:]  # skip the list index
    return model


def _friendly_error(exc: ValidationError, data, file, lines, overrides) -> ScenarioError:
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    err = errors[0]
    loc = _clean_loc(err["loc"])
    # model-level checks state their own dotted path: "a.b: message"
    stated = re.match(r"^(?:Value error, )?([A-Za-z_][\w.]*): (.*)$", err["msg"])
    if stated and (not loc or stated.group(1).split(".")[: len(loc)] == list(loc)):
        loc = tuple(stated.group(1).split("."))
        err = {**err, "msg": stated.group(2)}
    # Quantity internals: report the number's own path, not ".value"
    if loc and loc[-1] == "value" and err["type"] != "extra_forbidden":
        loc = loc[:-1]
    path = ".".join(loc)
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    kind = err["type"]
    value = _get(data, loc)
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1], data)
        names = list(model.model_fields) if model else ["value", "source", "assumption", "note"]
        close = difflib.get_close_matches(loc[-1], names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        msg = f"unknown field {loc[-1]!r}{hint}; allowed here: {', '.join(names)}"
    elif kind == "missing":
        msg = "required field is missing"
    elif kind == "union_tag_invalid" or kind == "union_tag_not_found":
        msg = f"kind {value!r} is not allowed; must be 'gpu_cloud' or 'colocation'" if value is not None \
            else "missing 'kind'; must be 'gpu_cloud' or 'colocation'"
        if isinstance(value, dict):
            msg = f"kind {value.get('kind')!r} is not allowed; must be 'gpu_cloud' or 'colocation'"
        path = f"{path}.kind" if path else "kind"
    elif value is not None and not isinstance(value, (dict, list)) and repr(value) not in msg \
            and "is not allowed" not in msg:
        msg = f"{value!r}: {msg}"
    if len(errors) > 1:
        msg += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    # Lines: the deepest known part of the path.
    line = lines.get(loc + ("value",))  # a number written as {value: ..., source: ...}
    for n in range(len(loc), -1, -1):
        if line is not None:
            break
        if loc[:n] in lines:
            line = lines[loc[:n]]
            break
    where = file
    for item in overrides:
        key = item.split("=", 1)[0].strip()
        if path == key or path.startswith(key + ".") or key.startswith(path + ".") and path:
            where, line = f"--set {item}", None
            break
    return ScenarioError(msg, file=where, path=path or None, line=line)


def apply_overrides(data: dict, overrides: Sequence[str]) -> dict:
    """Apply ``dotted.key=value`` overrides to a scenario mapping (a copy).

    Values are read as YAML scalars (``0.05``, ``20%``, ``true``).  Where the
    target holds ``{value: ..., source: ...}`` only the value is replaced and
    a note records the override, so provenance is not lost silently.
    """
    if not overrides:
        return data
    data = copy.deepcopy(data)
    for item in overrides:
        if "=" not in item:
            raise ScenarioError("expected dotted.key=value, e.g. market.btc_price_usd=90000",
                                file=f"--set {item}")
        key, text = (s.strip() for s in item.split("=", 1))
        if not key or any(not part for part in key.split(".")):
            raise ScenarioError("empty key; expected dotted.key=value", file=f"--set {item}")
        try:
            value = yaml.safe_load(text) if text else None
        except yaml.YAMLError:
            value = text
        if value is None:
            raise ScenarioError("missing value; expected dotted.key=value", file=f"--set {item}")
        parts = key.split(".")
        node = data
        for depth, part in enumerate(parts[:-1]):
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise ScenarioError(f"index {part!r} is out of range (0..{len(node) - 1})",
                                        file=f"--set {item}", path=".".join(parts[: depth + 1]))
                node = node[int(part)]
                continue
            if not isinstance(node, dict):
                raise ScenarioError("cannot set a field inside a number", file=f"--set {item}",
                                    path=".".join(parts[:depth + 1]))
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            node = child
        last = parts[-1]
        if isinstance(node, list):
            if not last.isdigit() or int(last) >= len(node):
                raise ScenarioError(f"index {last!r} is out of range (0..{len(node) - 1})",
                                    file=f"--set {item}", path=key)
            node[int(last)] = value
            continue
        if not isinstance(node, dict):
            raise ScenarioError("cannot set a field inside a number", file=f"--set {item}", path=key)
        current = node.get(last)
        if isinstance(current, dict) and "dist" in current and not isinstance(value, dict):
            # a plain number replaces a distribution: the input becomes fixed
            kept = {k: current[k] for k in ("source", "assumption") if k in current}
            node[last] = {"value": value, **kept,
                          "note": f"set to {text} on the command line (file: dist {current['dist']})"}
            _drop_correlations(data, key)
        elif isinstance(current, dict) and "value" in current and not isinstance(value, dict):
            current = dict(current)
            old = current["value"]
            current["value"] = value
            current["note"] = f"set to {text} on the command line (file value: {old})"
            node[last] = current
        else:
            node[last] = value
    return data


def _drop_correlations(data: dict, path: str) -> None:
    """Remove the rank correlations of an input that an override made a fixed number.

    A fixed number has no rank correlation with anything; the other inputs
    keep theirs.  Without this, ``--set`` on a correlated input would fail.
    """
    spec = data.get("correlations")
    if isinstance(spec, list):
        kept = [e for e in spec if not (isinstance(e, dict) and path in (e.get("between") or ()))]
        if kept:
            data["correlations"] = kept
        else:
            data.pop("correlations")
    elif isinstance(spec, dict) and path in (spec.get("inputs") or ()):
        names = list(spec["inputs"])
        i = names.index(path)
        if len(names) <= 2:
            data.pop("correlations")
            return
        matrix = spec.get("matrix")
        spec = dict(spec, inputs=names[:i] + names[i + 1:])
        if isinstance(matrix, list):
            spec["matrix"] = [row[:i] + row[i + 1:] for k, row in enumerate(matrix) if k != i]
        data["correlations"] = spec


def scenario_json_schema() -> dict:
    """JSON Schema of the scenario format (from the pydantic models)."""
    schema = Scenario.model_json_schema()
    schema["title"] = "pivotsim scenario"
    return schema
