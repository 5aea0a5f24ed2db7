"""Numbers of a scenario: :class:`Quantity` (value plus provenance) and the typed number fields."""

from __future__ import annotations

import difflib
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PrivateAttr,
    ValidationInfo,
    WithJsonSchema,
    model_serializer,
    model_validator,
)

from .distributions import (
    ALL_PARAMETERS,
    PARAMETERS,
    Distribution,
    make_distribution,
    parameter_help,
)
from .distributions import KINDS as DIST_KINDS

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
        :mod:`pivotsim.scenario.distributions`); its parameters are the fields
        ``mean, sd, mu, sigma, low, mode, high, shape, p, values, probs,
        samples, file, column`` and the truncation ``min, max``.
    source : str, optional
        Id of an entry in the scenario's ``sources`` section.
    assumption : str, optional
        One-line rationale when no source gives the number.
    note : str, optional
        Anything else a reader should know (e.g. a second reading).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

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
                        raw = data[name] = [parse_number(x) for x in raw]
                    elif name not in ("file", "column"):
                        raw = data[name] = parse_number(raw)
                    elif not isinstance(raw, str):
                        raise ValueError(f"must be text, got {raw!r}")
                    params[name] = raw
                elif name in ("min", "max", "value"):
                    data[name] = parse_number(data[name])
            except ValueError as exc:
                raise ValueError(f"{kind}: {name}: {exc}") from None
        if "file" in params or "column" in params:
            params["samples"] = _read_samples(params.get("file"), params.get("column"), kind,
                                              (info.context or {}).get("base_dir"))
            check_params = {k: v for k, v in params.items() if k != "samples"}
        else:
            check_params = params
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


def parse_number(raw: Any) -> float:
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


def coerce_quantity(raw: Any) -> Any:
    if isinstance(raw, Quantity):
        return raw
    if isinstance(raw, dict):
        if "value" in raw:
            return {**raw, "value": parse_number(raw["value"])}
        return raw  # let pydantic report the missing "value"
    return {"value": parse_number(raw)}


QUANTITY_JSON_SCHEMA = {
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


def number_field(*, ge: float | None = None, gt: float | None = None, le: float | None = None,
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

    schema = dict(QUANTITY_JSON_SCHEMA)
    if description:
        schema["description"] = description
    if fixed:
        schema = {**schema, "anyOf": schema["anyOf"][:3]}
    return Annotated[Quantity, BeforeValidator(coerce_quantity), AfterValidator(check),
                     WithJsonSchema(schema)]


Positive = number_field(gt=0)
NonNegative = number_field(ge=0)
Share = number_field(ge=0, le=1, description="fraction in [0, 1]; '20%' accepted")
Months = number_field(gt=0, integer=True, fixed=True, description="whole months > 0 (fixed number)")
MonthIndex = number_field(ge=0, integer=True, fixed=True,
                     hint="for an uncertain start use ai.risks.construction_delay_months",
                     description="whole months after the valuation date (fixed number)")
MonthsPerPath = number_field(ge=0, integer=True,
                        description="whole months >= 0; may be a distribution (draws are rounded)")
Years = number_field(gt=0, fixed=True, description="years > 0 (fixed number)")
AnnualRate = number_field(gt=-1, le=10, description="effective annual rate, fraction per year")
Pue = number_field(ge=1, le=5, description="power usage effectiveness: grid power / IT power, >= 1")


def default_quantity(value: float, why: str) -> Quantity:
    """A default number with its provenance (``assumption: "default: why"``)."""
    return Quantity(value=value, assumption=f"default: {why}")


