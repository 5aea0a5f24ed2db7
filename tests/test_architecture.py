"""The shape of the package (issue 13): layers point one way, modules and functions stay small.

Each rule is checked on the source itself with :mod:`ast`, so a change that
breaks it fails here, with the offending module, function or cycle named.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "pivotsim"
MAX_MODULE_LINES = 800
MAX_FUNCTION_LINES = 120
MAX_KERNEL_ARGUMENTS = 25
#: Known breaches, each owned by an open change that removes it (an entry that no longer
#: breaches fails too, so the list can only shrink).
KNOWN_BREACHES: dict[str, str] = {}


def _check(found: dict, rule: str) -> None:
    known = {k for k, v in KNOWN_BREACHES.items() if rule in v}
    new = {k: n for k, n in found.items() if k not in known}
    assert not new, new
    stale = sorted(k for k in known if k not in found)
    assert not stale, f"no longer breaches {rule!r}: remove from KNOWN_BREACHES: {stale}"


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def import_graph() -> dict[str, set[str]]:
    """Module -> pivotsim modules it imports, counting imports inside functions."""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                    stem = ".".join(base + ([node.module] if node.module else []))
                else:
                    stem = node.module or ""
                targets = [f"{stem}.{a.name}" if f"{stem}.{a.name}" in modules else stem for a in node.names]
            for target in targets:
                while target not in modules and "." in target:
                    target = target.rsplit(".", 1)[0]
                if target in modules and target != name:
                    deps.add(target)
        graph[name] = deps
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first = last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state and (found := visit(dep)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_cycle_finder_finds_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_among_pivotsim_modules():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_models_never_import_the_layers_above():
    above = ("pivotsim.simulate", "pivotsim.runs", "pivotsim.analysis", "pivotsim.output", "pivotsim.cli")
    for module, deps in import_graph().items():
        if module.startswith("pivotsim.models"):
            assert not [d for d in deps if d.startswith(above)], (module, deps)
        if module.startswith("pivotsim.analysis"):
            assert not [d for d in deps if d.startswith(("pivotsim.output", "pivotsim.cli"))], (module, deps)


def test_modules_are_at_most_800_lines():
    long = {name: n for name, path in _modules().items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    _check(long, "module lines")


def _functions():
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield name, node


def test_functions_are_at_most_120_lines():
    long = {f"{module}.{node.name}": node.end_lineno - node.lineno + 1 for module, node in _functions()
            if node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES}
    _check(long, "function lines")


def _is_kernel(node) -> bool:
    return any((isinstance(d, ast.Name) and d.id == "kernel")
               or (isinstance(d, ast.Call) and getattr(d.func, "id", None) == "kernel")
               for d in node.decorator_list)


def test_kernels_take_at_most_25_arguments():
    kernels = [(module, node) for module, node in _functions() if _is_kernel(node)]
    assert kernels, "no compiled kernel found: the decorator name changed?"
    wide = {f"{module}.{node.name}": len(node.args.args) for module, node in kernels
            if len(node.args.args) > MAX_KERNEL_ARGUMENTS}
    _check(wide, "kernel arguments")
