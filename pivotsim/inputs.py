"""The inputs tree the models read: a scenario as plain numbers, with draws substituted.

:func:`to_inputs` turns a validated :class:`~pivotsim.scenario.Scenario` into a
tree of floats (``inputs.site.grid_power_mw``); the Monte Carlo replaces the
uncertain ones by arrays shaped ``(n_paths, 1)`` (:func:`substitute`,
:func:`block_inputs`) without the models knowing the difference.
"""

from __future__ import annotations

import copy
from types import SimpleNamespace

import numpy as np
from pydantic import BaseModel

from .scenario.loading import Scenario
from .scenario.quantity import Quantity
from .scenario.schema import CorrelationMatrix, CorrelationPair
from .uncertainty import UncertainInputs, block_input_draws, blocks_input_draws


def to_inputs(scenario: Scenario) -> SimpleNamespace:
    """The scenario as a tree of plain values: every Quantity becomes its base value.

    Models read this tree (``inputs.site.grid_power_mw``), never the pydantic
    objects, so a sampler can substitute arrays shaped ``(n_paths, 1)``
    (:func:`pivotsim.inputs.sample_inputs`).  The tree also holds
    ``ai.risks.default_event``, ``ai.risks.renewal_event`` and
    ``ai.risks.termination_event`` (the U(0, 1) draws behind those events,
    0.5 in the base case) and ``uncertainty``, the
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
    inputs.ai.risks.termination_event = 0.5
    inputs.uncertainty = UncertainInputs.from_scenario(scenario)
    return inputs


# --------------------------------------------------------------------------- reading


def _set_path(tree, parts: list[str], value):
    """A copy of ``tree`` with ``parts`` set to ``value``; only the nodes on the path are copied."""
    head, rest = parts[0], parts[1:]
    if isinstance(tree, list):
        node = list(tree)
        i = int(head)
        node[i] = value if not rest else _set_path(tree[i], rest, value)
        return node
    node = copy.copy(tree)
    setattr(node, head, value if not rest else _set_path(getattr(tree, head), rest, value))
    return node


def _base_inputs_of(scenario_or_inputs):
    if isinstance(scenario_or_inputs, Scenario):
        return to_inputs(scenario_or_inputs)
    if not isinstance(scenario_or_inputs, SimpleNamespace) or not hasattr(scenario_or_inputs, "uncertainty"):
        raise TypeError("expected a Scenario or the inputs tree of pivotsim.inputs.to_inputs")
    return scenario_or_inputs


def substitute(inputs, values: dict[str, np.ndarray]):
    """A copy of the inputs tree with each path's base value replaced by ``values[path][:, None]``."""
    out = inputs
    for path, x in values.items():
        out = _set_path(out, path.split("."), np.asarray(x, dtype=float).reshape(-1, 1))
    return out


def sample_inputs(scenario_or_inputs, u: np.ndarray):
    """The inputs tree evaluated at unit-hypercube points.

    For a sensitivity analysis (SALib Sobol', Morris): it chooses the points
    ``u``, pivotsim maps them through each input's inverse CDF.  The points
    are used as given: ``correlations`` are not applied (that is the
    Monte Carlo's job, see :meth:`UncertainInputs.unit_sample`).

    Parameters
    ----------
    scenario_or_inputs : Scenario or namespace
        A scenario, or its inputs tree from :func:`pivotsim.inputs.to_inputs`.
    u : ndarray (n, k)
        Points of the unit hypercube, one column per entry of
        :func:`uncertain_inputs` (same order).

    Returns
    -------
    namespace
        The inputs tree where every uncertain input is an array ``(n, 1)``
        (whole-month fields rounded); the models broadcast it against their
        ``(n_paths, n_months)`` arrays.  Pass it, with market paths of 1 or
        n paths, to :func:`pivotsim.simulate.evaluate`.
    """
    inputs = _base_inputs_of(scenario_or_inputs)
    return substitute(inputs, inputs.uncertainty.values(u))


def block_inputs(inputs, seed: int, block: int, n_paths: int):
    """Inputs of Monte Carlo block ``block``: the base tree when nothing is uncertain.

    Parameters
    ----------
    inputs : namespace
        From :func:`pivotsim.inputs.to_inputs`.
    seed, block : int
        Run seed and block index.
    n_paths : int
        Paths in a block (always the full block size, so that a block's
        draws do not depend on how many of its paths are kept).

    Returns
    -------
    inputs : namespace
        With ``(n_paths, 1)`` arrays for the uncertain inputs.
    values : dict of str -> ndarray (n_paths,)
        The draws, by dotted path.
    """
    values = block_input_draws(inputs, seed, block, n_paths)
    if not values:
        return inputs, {}
    return substitute(inputs, values), values




def blocks_inputs(inputs, seed: int, blocks, block_paths: int):
    """Inputs of consecutive blocks evaluated together (one memory chunk).

    Each block draws its own sample exactly as :func:`block_inputs` does, so
    a chunk of blocks gets the concatenation of the blocks' draws: results do
    not depend on how many blocks are computed at once.

    Parameters
    ----------
    inputs : namespace
    seed : int
    blocks : sequence of int
        Block indices, in the order their paths are stacked.
    block_paths : int
        Paths per block.

    Returns
    -------
    inputs : namespace
        With ``(len(blocks) * block_paths, 1)`` arrays for the uncertain inputs.
    values : dict of str -> ndarray (len(blocks) * block_paths,)
    """
    values = blocks_input_draws(inputs, seed, blocks, block_paths)
    if not values:
        return inputs, {}
    return substitute(inputs, values), values
