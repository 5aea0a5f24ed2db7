"""The seed layout of a run, in one place: which generator draws what.

Paths are made in blocks of :data:`pivotsim.simulate.BLOCK_PATHS`.  Block k
of a run with seed s draws

* its market shocks from ``SeedSequence(s, spawn_key=(k,))`` (the child that
  ``SeedSequence(s).spawn(...)[k]`` would give),
* its uncertain inputs from ``SeedSequence(s, spawn_key=(k, 1))``,
* each further market stream j (a shock added after the first ones, see
  :data:`pivotsim.models.market.STREAM_SHOCKS`) from
  ``SeedSequence(s, spawn_key=(k, STREAM_KEY_OFFSET + j))``,
* each shock j of the gap between the market state's date and the valuation
  date (:data:`pivotsim.models.rollforward.GAP_SHOCKS`, drawn only when there
  is a gap) from ``SeedSequence(s, spawn_key=(k, GAP_KEY_OFFSET + j))``.

So a block's numbers depend only on (s, k): results are identical for any
chunking, threads or workers, and adding an uncertain input or a stream never
changes the other draws (common random numbers between scenario variants).
"""

from __future__ import annotations

import numpy as np

#: spawn key of a block's uncertain inputs, after the block index
INPUTS_KEY = 1
#: spawn keys of further market streams start here (stream j: STREAM_KEY_OFFSET + j)
STREAM_KEY_OFFSET = 100
#: spawn keys of the gap's shocks start here (gap shock j: GAP_KEY_OFFSET + j)
GAP_KEY_OFFSET = 200


def _generator(seed: int, spawn_key: tuple[int, ...]) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=spawn_key)))


def block_generator(seed: int, block: int) -> np.random.Generator:
    """Generator of block ``block``'s market shocks: ``SeedSequence(seed, spawn_key=(block,))``."""
    return _generator(seed, (block,))


def input_generator(seed: int, block: int) -> np.random.Generator:
    """Generator of block ``block``'s uncertain inputs: ``SeedSequence(seed, spawn_key=(block, 1))``."""
    return _generator(seed, (block, INPUTS_KEY))


def stream_generator(seed: int, block: int, stream_index: int) -> np.random.Generator:
    """Generator of market stream ``stream_index`` of a block: ``spawn_key=(block, 100 + j)``."""
    return _generator(seed, (block, STREAM_KEY_OFFSET + stream_index))


def gap_generator(seed: int, block: int, shock_index: int) -> np.random.Generator:
    """Generator of gap shock ``shock_index`` of a block: ``spawn_key=(block, 200 + j)``."""
    return _generator(seed, (block, GAP_KEY_OFFSET + shock_index))
