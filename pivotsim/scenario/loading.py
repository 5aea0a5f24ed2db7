"""The scenario document: :class:`Scenario`, reading YAML, overrides and friendly errors."""

from __future__ import annotations

import copy
import difflib
import hashlib
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Sequence, Union

import yaml
from pydantic import BaseModel, Field, PrivateAttr, ValidationError, model_validator

from ..errors import ScenarioError
from .cases import Case, check_case_names, check_case_overrides
from .correlations import correlation_matrix
from .market_data import market_from_data
from .debt import check_debt_horizon
from .library import find_scenario
from .option import SwitchingOption
from .yaml_text import YamlSyntaxError, load_text, read_yaml
from .provenance import iter_quantities, plain_data
from .schema import (
    Bitcoin,
    Colocation,
    CorrelationEntry,
    CorrelationMatrix,
    Finance,
    GpuCloud,
    Market,
    ScenarioInfo,
    Site,
    Source,
    StrictModel,
)


class Scenario(StrictModel):
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
    cases: dict[str, Case] | None = Field(
        None, description="named cases (bull, bear, ...): {name: {overrides: [dotted.key=value, ...], "
                          "assumption: one-line reason, source: id}}; the note shows them next to the base")
    option: SwitchingOption | None = Field(
        None, description="the switching option: convert blocks of mining MW to AI colocation, now or later "
                          "(`pivotsim timing`)")

    _file: str | None = PrivateAttr(default=None)
    _sha256: str | None = PrivateAttr(default=None)
    _overrides: tuple[str, ...] = PrivateAttr(default=())
    _bundled: bool = PrivateAttr(default=False)

    @model_validator(mode="after")
    def _sources_exist(self):
        for path, q in iter_quantities(self):
            if q.source is not None and q.source not in self.sources:
                known = ", ".join(sorted(self.sources)) or "none defined"
                raise ValueError(f"{path}: source {q.source!r} is not in `sources` (known: {known})")
        return self

    @model_validator(mode="after")
    def _cases_valid(self):
        check_case_names(self.cases, self.sources)
        return self

    @model_validator(mode="after")
    def _correlations_valid(self):
        if self.correlations is not None:
            correlation_matrix(self)  # raises "correlations...: message"
            entries = self.correlations if isinstance(self.correlations, list) else [self.correlations]
            for i, entry in enumerate(entries):
                source = getattr(entry, "source", None)
                if source is not None and source not in self.sources:
                    where = f"correlations.{i}" if isinstance(self.correlations, list) else "correlations"
                    raise ValueError(f"{where}.source: {source!r} is not in `sources`")
        return self

    @model_validator(mode="after")
    def _option_fits_the_horizon(self):
        if self.option is None:
            return self
        horizon = int(self.scenario.horizon_months.value)
        build = int(self.option.build_months.value)
        if build >= horizon:
            raise ValueError(f"option.build_months: {build} is not allowed; must be shorter than the horizon "
                             f"(scenario.horizon_months = {horizon})")
        deadline = self.option.deadline_month
        if deadline is not None and int(deadline.value) + build >= horizon:
            raise ValueError(f"option.deadline_month: {int(deadline.value)} is not allowed; a conversion decided "
                             f"then would start its lease after the horizon ({horizon} months, build {build}); "
                             f"must be at most {horizon - build - 1}")
        return self

    @model_validator(mode="after")
    def _horizon_covers_contract(self):
        # A contract cut by the horizon would silently lose revenue: refuse it.
        end = max(int((p.rent_commencement_month or p.online_month).value) for p in self.ai.phases) \
            + int(self.ai.term_months.value)
        horizon = int(self.scenario.horizon_months.value)
        if horizon < end:
            raise ValueError(f"scenario.horizon_months: {horizon} is shorter than the AI contract "
                             f"(last tranche live at month {end - int(self.ai.term_months.value)} "
                             f"+ {int(self.ai.term_months.value)}-month term = {end}); use at least {end}")
        return self

    @model_validator(mode="after")
    def _state_not_after_valuation(self):
        state, valuation = self.market.state_date, self.scenario.valuation_date
        if state is not None and state > valuation:
            raise ValueError(f"market.state_date: {state} is not allowed; must be on or before "
                             f"scenario.valuation_date ({valuation}): the market state cannot come from the future")
        return self

    @model_validator(mode="after")
    def _debt_within_horizon(self):
        horizon = int(self.scenario.horizon_months.value)
        for business in ("bitcoin", "ai"):
            check_debt_horizon(business, getattr(self, business).debt, horizon)
        return self

    @property
    def name(self) -> str:
        return self.scenario.name

    @property
    def file(self) -> str | None:
        """Path of the YAML file this scenario was read from."""
        return self._file

    @property
    def bundled(self) -> bool:
        """True when the file is the bundled deal library's copy (the name was no file here)."""
        return self._bundled

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
        # libyaml's emitter when PyYAML has it: the same text, about 6x faster (a run writes it every time)
        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        return yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True)

    def with_overrides(self, overrides: Sequence[str]) -> "Scenario":
        """A new scenario with ``dotted.key=value`` overrides, validated like the file."""
        data = self.model_dump(mode="python", exclude_none=True)
        data = plain_data(data)
        scenario = parse_scenario(apply_overrides(data, overrides), file=self._file, overrides=overrides)
        scenario._sha256 = self._sha256
        scenario._bundled = self._bundled
        scenario._overrides = self._overrides + tuple(overrides)
        return scenario


def load_scenario(path: str | Path, overrides: Sequence[str] = ()) -> Scenario:
    """Read, override and validate a scenario file.

    Parameters
    ----------
    path : str or Path
        YAML scenario file; a name that is no file here (``iren.yaml``,
        ``iren``) is looked up in the bundled deal library
        (:func:`pivotsim.scenario.library.find_scenario`).
    overrides : sequence of str
        ``dotted.key=value`` settings applied before validation, as ``--set``.

    Returns
    -------
    Scenario
        Validated and immutable; ``bundled`` says whether it came from the
        library.

    Raises
    ------
    ScenarioError
        With the file, line, dotted path, bad value and what is allowed.
    """
    found = find_scenario(path)
    file = str(found.path) if found.bundled else str(path)
    return scenario_from_yaml(file, *read_yaml(file), overrides=overrides, bundled=found.bundled)


def scenario_from_yaml(file: str, data: dict, lines: dict[tuple, int], raw: bytes, *,
                       overrides: Sequence[str] = (), bundled: bool = False) -> Scenario:
    """Validate what :func:`~pivotsim.scenario.yaml_text.read_yaml` read from ``file`` (see :func:`load_scenario`).

    The CLI reads the file first, with the light YAML reader only, so a
    broken file is refused before the validation machinery is imported.
    """
    data = apply_overrides(data, overrides)
    scenario = parse_scenario(data, file=file, lines=lines, overrides=overrides)
    scenario._sha256 = hashlib.sha256(raw).hexdigest()
    scenario._bundled = bundled
    check_case_overrides(scenario)
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
    data = market_from_data(data, file, lines or {})
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
    a note records the override, so provenance is not lost silently.  A key
    that names a field under a list of mappings without an index sets it in
    every item: ``ai.debt.sizing=dscr`` on two tranches sets both
    (``ai.debt.0.sizing`` sets the first).
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
            value = load_text(text, file=f"--set {item}")[0] if text else None
        except YamlSyntaxError:
            value = text
        except ScenarioError as exc:  # an invalid date, an overlong integer: no line to name
            raise ScenarioError(exc.message, file=f"--set {item}") from None
        if value is None:
            raise ScenarioError("missing value; expected dotted.key=value", file=f"--set {item}")
        for concrete in _every_item(data, key.split(".")):
            _apply_override(data, ".".join(concrete), value, text, item)
    return data


def _every_item(data, parts: list[str]) -> list[list[str]]:
    """``parts`` with an index inserted, for each item, wherever it names a field under a list of mappings."""
    node = data
    for depth, part in enumerate(parts[:-1]):
        if isinstance(node, list) and not part.isdigit() and node and all(isinstance(x, dict) for x in node):
            head, rest = parts[:depth], parts[depth:]
            return [concrete for i, element in enumerate(node)
                    for concrete in ([head + [str(i)] + tail for tail in _every_item(element, rest)])]
        if isinstance(node, list):
            node = node[int(part)] if part.isdigit() and int(part) < len(node) else None
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            node = None
        if node is None:
            break
    if isinstance(node, list) and not parts[-1].isdigit() and node and all(isinstance(x, dict) for x in node):
        return [parts[:-1] + [str(i), parts[-1]] for i in range(len(node))]
    return [parts]


def _apply_override(data: dict, key: str, value, text: str, item: str) -> None:
    """Set one dotted ``key`` of ``data`` to ``value`` (see :func:`apply_overrides`)."""
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
        return
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
