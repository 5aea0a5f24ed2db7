"""Reading a scenario file's YAML: plain data (safe loader), the line of every key, the raw bytes."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from ..errors import ScenarioError


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
