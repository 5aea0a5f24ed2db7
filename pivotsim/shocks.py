"""The random draws of a block of paths: market shocks, market streams and the gap's shocks.

Block k of a run with seed s draws from the generators of :mod:`pivotsim.seeds`
(the seed layout): the ``btc_price`` and ``network_hashrate`` normals from
its own generator, each further market stream from its own, and, when the
market state is dated before the valuation date, each shock of the gap
(:mod:`pivotsim.models.rollforward`) from its own.  Chunks stack the draws of
consecutive blocks row by row, so a path's numbers never depend on the
chunking.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .models.market import SHOCK_NAMES, STREAM_SHOCKS, active_stream_shocks, draw_shocks, draw_stream_shock
from .models.rollforward import GAP_PREFIX, GAP_SHOCKS, draw_gap_shocks, gap_days, gap_steps
from .seeds import block_generator, gap_generator, stream_generator

#: paths of a block: the unit of seeding
BLOCK_PATHS = 2_000


def block_shocks(inputs, seed: int, block: int) -> dict[str, np.ndarray]:
    """Every random draw of block ``block``, each ``(BLOCK_PATHS, horizon_months)``."""
    horizon = int(inputs.scenario.horizon_months)
    return draw_shocks(block_generator(seed, block), BLOCK_PATHS, horizon, inputs.market,
                       stream=lambda name: stream_generator(seed, block, STREAM_SHOCKS.index(name)))


def chunk_shocks(inputs, seed: int, blocks: Sequence[int], shock_horizon_months: int | None = None
                 ) -> dict[str, np.ndarray]:
    """The draws of consecutive blocks stacked: the same numbers as :func:`block_shocks`.

    Each block's draws are written straight into its rows of the chunk's
    arrays, in the same order as :func:`block_shocks`.  With
    ``shock_horizon_months`` longer than the scenario's horizon the shocks
    are drawn over that many months and cut, so scenarios of different
    horizons run with the same value see the same market month by month.
    """
    horizon = int(inputs.scenario.horizon_months)
    months = max(horizon, int(shock_horizon_months or 0))
    streams = active_stream_shocks(inputs.market)
    n = len(blocks) * BLOCK_PATHS
    out = {name: np.empty((n, months)) for name in SHOCK_NAMES + streams}
    for i, block in enumerate(blocks):
        rows = slice(i * BLOCK_PATHS, (i + 1) * BLOCK_PATHS)
        rng = block_generator(seed, block)
        for name in SHOCK_NAMES:
            rng.standard_normal((BLOCK_PATHS, months), out=out[name][rows])
        for name in streams:
            draw_stream_shock(name, stream_generator(seed, block, STREAM_SHOCKS.index(name)), BLOCK_PATHS, months, out=out[name][rows])
    if months > horizon:
        out = {name: np.ascontiguousarray(x[:, :horizon]) for name, x in out.items()}
    out.update(gap_shocks(inputs, seed, blocks))
    return out


def gap_shocks(inputs, seed: int, blocks: Sequence[int]) -> dict[str, np.ndarray]:
    """Shocks of the days between the market state's date and the valuation date (none without a gap).

    ``gap.<name>`` arrays ``(len(blocks) * BLOCK_PATHS, steps)``, each
    block's from :func:`pivotsim.seeds.gap_generator` (see
    :mod:`pivotsim.models.rollforward`).
    """
    valuation = getattr(inputs.scenario, "valuation_date", None)  # a bare market namespace has none: no gap
    steps, _ = gap_steps(gap_days(getattr(inputs.market, "state_date", None), valuation) if valuation else 0)
    if not steps:
        return {}
    parts = [draw_gap_shocks(lambda name, b=block: gap_generator(seed, b, GAP_SHOCKS.index(name)), BLOCK_PATHS,
                             steps, inputs.market) for block in blocks]
    return {GAP_PREFIX + name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
