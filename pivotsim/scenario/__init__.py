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

The models read plain numbers through :func:`pivotsim.inputs.to_inputs`, which turns the
scenario into a tree of floats; a later sampler can put arrays shaped
``(n_paths, 1)`` in the same places without touching the models.

Modules: :mod:`.quantity` (number types), :mod:`.schema` (the sections),
:mod:`.loading` (the document, YAML, overrides, errors), :mod:`.provenance`
(every number with its source), :mod:`.correlations`, :mod:`.distributions`.
"""

from .loading import (
           Scenario,
           load_scenario,
           parse_scenario,
           read_yaml,
           resolve_scenario,
           scenario_json_schema,
)
from .provenance import iter_quantities
from .quantity import Quantity

__all__ = ["Scenario", "load_scenario", "parse_scenario", "read_yaml", "resolve_scenario",
           "scenario_json_schema", "iter_quantities", "Quantity"]
