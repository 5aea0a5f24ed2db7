"""Scenario files: YAML -> validated, immutable :class:`Scenario`.

A scenario is a YAML file with the sections ``scenario``, ``sources``,
``site``, ``bitcoin``, ``market``, ``ai`` and ``finance``.  Every number may
be written

* plain: ``0.2`` or, for shares, ``"20%"``;
* with provenance: ``{value: 0.2, source: S000}`` or
  ``{value: 12e6, assumption: "one-line reason"}``, optionally with ``note``.

Numbers are held as :class:`Quantity` (value plus provenance).  Reading uses
``yaml.safe_load`` semantics (no Python tags) within bounds of size, nesting
and alias expansion, refusing duplicate keys (:mod:`.yaml_text`), validation uses pydantic v2
with ``extra="forbid"``, and every error names the file, the YAML line, the
dotted path, the bad value and what is allowed.

The models read plain numbers through :func:`pivotsim.inputs.to_inputs`, which turns the
scenario into a tree of floats; a later sampler can put arrays shaped
``(n_paths, 1)`` in the same places without touching the models.

Modules: :mod:`.quantity` (number types), :mod:`.schema` (the sections),
:mod:`.loading` (the document, YAML, overrides, errors), :mod:`.provenance`
(every number with its source), :mod:`.correlations`, :mod:`.distributions`.
"""

from .._lazy import lazy_exports

# Imported on first use (PEP 562): `pivotsim.scenario.library` and the
# YAML reader stay light for the CLI's quick commands (no pydantic, numpy or
# scipy until a scenario is validated).
_EXPORTS = {
    "Scenario": "loading", "load_scenario": "loading", "parse_scenario": "loading", "read_yaml": "loading",
    "resolve_scenario": "loading", "scenario_json_schema": "loading",
    "iter_quantities": "provenance", "Quantity": "quantity",
}

__all__ = list(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, {name: (module, name) for name, module in _EXPORTS.items()})
