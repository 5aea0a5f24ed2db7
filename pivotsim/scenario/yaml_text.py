"""Reading YAML that nobody vetted: bounded, strict about keys, line-aware.

A scenario file is small (the library's are 11-16 kB) and plain: mappings,
lists and scalars.  YAML itself allows far more, and ``yaml.safe_load``
happily builds whatever the text describes.  Two features turn a short file
into an attack on the machine that reads it:

* **aliases**: a 342-byte "billion laughs" file names a list nine times in
  nine levels; the loader shares the objects, but everything that walks the
  result afterwards (the line map, validation, a copy, a JSON dump) visits
  9^9 nodes and grows to tens of GB;
* **nesting**: ``[[[[...]]]]`` a few thousand deep overflows the recursive
  composer and every recursive walker after it.

This module composes the document once, with its own limits, and checks the
node graph before anything is built from it:

* the file is read up to :data:`MAX_BYTES` (a special file never blocks);
* nesting deeper than :data:`MAX_DEPTH` stops the composer as it descends;
* the node graph is measured with aliases expanded (each node counted once
  per place it appears) in one pass over its *distinct* nodes, so a bomb is
  refused in microseconds; more than :data:`MAX_NODES` expanded nodes, an
  expanded depth over :data:`MAX_DEPTH` or an alias inside its own anchor is
  an error;
* a key written twice in one mapping is an error naming the key and both
  lines (``yaml.safe_load`` keeps the later one silently, and with it loses
  the provenance written next to the first); ``<<`` merge keys keep their
  YAML meaning (explicit keys override merged ones);
* scalars the safe constructor would turn into a Python exception (a date
  such as ``2025-13-45``, an integer of more than 4,300 digits) are errors
  naming the line and the value.

The text is parsed by libyaml (the C parser PyYAML ships with) when it is
installed, about six times faster than PyYAML's Python parser; composing,
the limits and constructing are the same Python code either way.  A text
libyaml refuses is parsed again by the Python parser, so syntax errors keep
PyYAML's messages.

Every problem is a :class:`~pivotsim.errors.ScenarioError` with the file (as
the caller wrote it) and the 1-based line; YAML syntax errors are the
subclass :class:`YamlSyntaxError`, so a caller that reads a ``--set`` value
can fall back to the raw text for them only.  Tags beyond the YAML core
schema (``!!python/object``...) are refused, as by ``yaml.safe_load``.

The line map returned with the data gives, for each key path (a tuple of
strings, list indices as decimal strings), the line its key (or list item)
is written on, as the scenario loader's errors need.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from ..errors import ScenarioError

MAX_BYTES = 1 << 20
"""Largest scenario file read [bytes]; the library's largest is 16 kB."""

MAX_DEPTH = 50
"""Deepest nesting of mappings and lists, aliases expanded; the library's deepest is 6."""

MAX_NODES = 200_000
"""Most nodes (keys, values, list items) with aliases expanded; the library's largest has ~1,500."""

_MERGE_TAG = "tag:yaml.org,2002:merge"
_TAG = re.compile(r"'(tag:[^']*|![^']*)'")


class YamlSyntaxError(ScenarioError):
    """Text that is not YAML at all (as opposed to YAML that is refused)."""


class _Refused(Exception):
    """A limit or rule broken while composing or constructing: message and 1-based line."""

    def __init__(self, message: str, line: int | None, path: str | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.path = path


def _line(node_or_mark) -> int | None:
    mark = getattr(node_or_mark, "start_mark", node_or_mark)
    return mark.line + 1 if mark is not None else None


class _Bounds:
    """The limits of the loaders: a nesting limit while composing, no Python errors from scalars."""

    _depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(f"nesting deeper than {MAX_DEPTH} levels; a scenario is a few levels of "
                               "mappings and lists", _line(self.peek_event()))
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_yaml_timestamp(self, node):
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            raise _Refused(f"{node.value} is not a valid date ({exc}); write dates as YYYY-MM-DD",
                           _line(node)) from None

    def construct_yaml_int(self, node):
        try:
            return super().construct_yaml_int(node)
        except ValueError as exc:
            digits = sum(c.isdigit() for c in node.value)
            raise _Refused(f"an integer of {digits:,} digits is not a usable number ({str(exc).split(':')[0]})",
                           _line(node)) from None


class _PythonLoader(_Bounds, yaml.SafeLoader):
    """The safe loader with the limits: PyYAML's own parser, whose messages errors quote."""


_BoundedLoader = _PythonLoader
if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class _LibyamlLoader(_Bounds, Composer, CParser, SafeConstructor, Resolver):
        """The same loader on libyaml's parser (the events in C; composer, constructor and limits as above)."""

        def __init__(self, stream):
            CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

    _BoundedLoader = _LibyamlLoader

for _loader in (_PythonLoader, _BoundedLoader):  # the same class twice without libyaml: harmless
    _loader.add_constructor("tag:yaml.org,2002:timestamp", _Bounds.construct_yaml_timestamp)
    _loader.add_constructor("tag:yaml.org,2002:int", _Bounds.construct_yaml_int)


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def measure(root: Node) -> tuple[int, int]:
    """Size and depth of a composed YAML node graph with aliases expanded.

    Each distinct node is visited once (iteratively, whatever the depth), so
    the cost is linear in the text even when the expansion is astronomical.

    Parameters
    ----------
    root : yaml.Node
        The composed document.

    Returns
    -------
    (int, int)
        Expanded node count and expanded depth (a scalar document is 1, 1).

    Raises
    ------
    ScenarioError
        Not raised here; :class:`_Refused` (internal) when an alias sits
        inside its own anchor (a cycle) or a limit is exceeded, so the
        caller can add the file name.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[tuple[Node, list[Node]]] = [(root, _children(root))]
    on_stack.add(id(root))
    while stack:
        node, pending = stack[-1]
        if pending:
            child = pending.pop()
            key = id(child)
            if key in on_stack:
                raise _Refused("a YAML alias refers to the anchor that contains it (a recursive "
                               "structure); a scenario is a tree", _line(child))
            if key not in size:
                on_stack.add(key)
                stack.append((child, _children(child)))
            continue
        stack.pop()
        on_stack.discard(id(node))
        kids = _children(node)
        n = 1 + sum(size[id(k)] for k in kids)
        d = 1 + max((depth[id(k)] for k in kids), default=0)
        if n > MAX_NODES:
            raise _Refused(f"YAML aliases expand to more than {MAX_NODES:,} values (an alias bomb?); "
                           f"a scenario holds at most {MAX_NODES:,}", _line(node))
        if d > MAX_DEPTH:
            raise _Refused(f"YAML aliases nest deeper than {MAX_DEPTH} levels; a scenario is a few "
                           "levels of mappings and lists", _line(node))
        size[id(node)] = n
        depth[id(node)] = d
    return size[id(root)], depth[id(root)]


def _key_text(loader: _BoundedLoader, key: Node) -> Any:
    """A comparable form of a mapping key (its constructed scalar), or None for keys not compared."""
    if not isinstance(key, ScalarNode) or key.tag == _MERGE_TAG:
        return None
    try:
        value = loader.construct_object(key)
        hash(value)
    except Exception:  # an unusable key is reported by the constructor later, with its line
        return None
    return (type(value).__name__, value) if not isinstance(value, str) else value


def _line_map(loader: _BoundedLoader, root: Node) -> dict[tuple, int]:
    """Map each key path to its 1-based line, refusing a key written twice in one mapping.

    The walk follows aliases (an aliased subtree's keys get the lines of the
    anchored text) and is safe because :func:`measure` bounded the expanded
    size and depth first.
    """
    lines: dict[tuple, int] = {}
    checked: set[int] = set()

    def walk(node, path):
        lines.setdefault(path, _line(node))
        if isinstance(node, MappingNode):
            if id(node) not in checked:
                checked.add(id(node))
                first: dict[Any, ScalarNode] = {}
                for key, _ in node.value:
                    text = _key_text(loader, key)
                    if text is None:
                        continue
                    if text in first:
                        where = ".".join(path + (str(key.value),))
                        raise _Refused(f"key {key.value!r} is written twice, at lines "
                                       f"{_line(first[text])} and {_line(key)}; write each key once",
                                       _line(key), where)
                    first[text] = key
            for key, child in node.value:
                child_path = path + (str(key.value),)
                lines[child_path] = _line(key)
                walk(child, child_path)
        elif isinstance(node, SequenceNode):
            for i, child in enumerate(node.value):
                lines[path + (str(i),)] = _line(child)
                walk(child, path + (str(i),))

    walk(root, ())
    return lines


def load_text(text: str, *, file: str | None = None) -> tuple[Any, dict[tuple, int]]:
    """Parse YAML text within the limits -> (data, line map).

    Parameters
    ----------
    text : str
        The YAML document (one document; an empty text gives ``None``).
    file : str, optional
        Name used in error messages (the path as the user wrote it, or
        ``--set key=value``).

    Returns
    -------
    (object, dict)
        The data as ``yaml.safe_load`` builds it, and the line of each key
        path (see the module docstring).

    Raises
    ------
    YamlSyntaxError
        The text is not YAML.
    ScenarioError
        A limit exceeded, a duplicate key, a refused tag or an unusable scalar.
    """
    if len(text) > MAX_BYTES:
        raise ScenarioError(f"{len(text):,} characters is more than a scenario holds (at most "
                            f"{MAX_BYTES:,})", file=file)
    try:
        try:
            return _load(text, _BoundedLoader)
        except yaml.YAMLError as exc:
            if _BoundedLoader is _PythonLoader or isinstance(exc, yaml.constructor.ConstructorError):
                raise
            return _load(text, _PythonLoader)  # libyaml refused the text: PyYAML's parser says why, as before
    except _Refused as exc:
        raise ScenarioError(exc.message, file=file, path=exc.path, line=exc.line) from None
    except yaml.constructor.ConstructorError as exc:
        tag = _TAG.search(str(exc.problem))
        what = tag.group(1) if tag else str(exc.problem)
        raise ScenarioError(f"YAML tag {what} is not allowed; scenarios are plain YAML (safe loader)",
                            file=file, line=_line(exc.problem_mark)) from None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlSyntaxError(f"YAML syntax error: {problem}", file=file,
                              line=_line(getattr(exc, "problem_mark", None))) from None


def _load(text: str, loader_class) -> tuple[Any, dict[tuple, int]]:
    loader = loader_class(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, {}
        measure(root)
        lines = _line_map(loader, root)
        return loader.construct_document(root), lines
    finally:
        loader.dispose()


def read_yaml(path: str | Path) -> tuple[dict, dict[tuple, int], bytes]:
    """Read a scenario file within the limits -> (data, line map, raw bytes).

    Parameters
    ----------
    path : str or Path
        The file, named in errors exactly as given.

    Returns
    -------
    (dict, dict, bytes)
        The top-level mapping, the line map (see :func:`load_text`) and the
        bytes read (for the input's SHA-256).

    Raises
    ------
    ScenarioError
        Missing, unreadable, too large, not UTF-8, not YAML, not a mapping,
        or refused by :func:`load_text`.
    """
    file = str(path)
    p = Path(path)
    if not p.exists():
        raise ScenarioError("file not found", file=file)
    if p.is_dir():
        raise ScenarioError("is a directory; expected a YAML scenario file", file=file)
    try:
        with p.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(f"cannot be read ({exc.strerror or exc})", file=file) from None
    if len(raw) > MAX_BYTES:
        raise ScenarioError(f"larger than {MAX_BYTES:,} bytes; a scenario file is a few kB of YAML",
                            file=file)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=file) from None
    data, lines = load_text(text, file=file)
    if data is None:
        raise ScenarioError("file is empty; expected a mapping with sections "
                            "scenario, site, bitcoin, market, ai, finance", file=file)
    if not isinstance(data, dict):
        raise ScenarioError(f"expected a mapping of sections at the top level, got a {type(data).__name__}",
                            file=file, line=1)
    return data, lines, raw
