"""Monte Carlo orchestration: blocks of paths, seeds, base case, per-path metrics.

Paths are made in fixed blocks of :data:`BLOCK_PATHS`.  Block k draws from
its own generator, ``SeedSequence(seed, spawn_key=(k,))``, the same child
that ``SeedSequence(seed).spawn(...)[k]`` would give, so path i always gets
the same numbers whatever the total path count, the number of blocks held in
memory at once or the number of workers.  The last block is drawn in full
and cut, for the same reason.

The base case is the same engine with one path, zero shocks and the market's
volatilities set to zero, so its price and hashrate follow their expected
paths, and every uncertain input at its base value (the ``value`` written in
the scenario, else the distribution's median; event draws at 0.5).  There is
no second, scalar implementation.

Uncertain inputs are drawn per block from a stream independent of the market
shocks (:mod:`pivotsim.uncertainty`).
"""

from __future__ import annotations

import copy
from typing import Callable

import numpy as np

from .models import finance
from .models.cashflows import CashFlows
from .models.hosting import hosting_cash_flows
from .models.market import MarketPaths, draw_shocks, simulate_market, zero_shocks
from .models.mining import mining_cash_flows
from .models.timeline import Timeline
from .uncertainty import block_inputs

BLOCK_PATHS = 2_000
BUSINESSES = ("bitcoin", "ai")
VALUATION_METRICS = ("npv_usd", "irr", "payback_months", "discounted_payback_months", "peak_funding_usd")


def timeline_of(inputs) -> Timeline:
    """The monthly grid of a scenario's inputs."""
    return Timeline(inputs.scenario.valuation_date, int(inputs.scenario.horizon_months))


def block_generator(seed: int, block: int) -> np.random.Generator:
    """Generator of block ``block``: ``SeedSequence(seed, spawn_key=(block,))``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(block,))))


def discount_rate(inputs, business: str):
    """Annual discount rate of a business: its own rate if set, else the WACC."""
    own = getattr(inputs.finance, f"discount_rate_{business}")
    return inputs.finance.discount_rate if own is None else own


def evaluate(inputs, timeline: Timeline, shocks: dict[str, np.ndarray]
             ) -> tuple[dict[str, CashFlows], MarketPaths]:
    """Market paths and both businesses' cash flows for one set of shocks."""
    market = simulate_market(inputs.market, inputs.site, timeline, shocks)
    flows = {
        "bitcoin": mining_cash_flows(inputs, market, timeline),
        "ai": hosting_cash_flows(inputs, market, timeline),
    }
    return flows, market


def base_inputs(inputs):
    """Inputs of the base case: market volatilities at zero (expected paths)."""
    base = copy.deepcopy(inputs)
    base.market.btc_volatility_per_year = 0.0
    base.market.hashrate_volatility_per_year = 0.0
    return base


def base_case(inputs) -> tuple[dict[str, CashFlows], MarketPaths]:
    """One path at base values through the same engine as the Monte Carlo."""
    timeline = timeline_of(inputs)
    return evaluate(base_inputs(inputs), timeline, zero_shocks(timeline.horizon_months))


def valuation(flows: CashFlows, annual_discount_rate) -> dict[str, np.ndarray]:
    """NPV, IRR (effective annual), payback, discounted payback, peak funding per path."""
    net = flows.net
    rate_m = finance.monthly_rate(annual_discount_rate)
    irr_m = finance.irr(net)
    return {
        "npv_usd": finance.npv(rate_m, net),
        "irr": finance.annual_rate(irr_m),
        "payback_months": finance.payback_months(net),
        "discounted_payback_months": finance.discounted_payback_months(rate_m, net),
        "peak_funding_usd": finance.peak_funding_usd(net),
    }


def simulate_block(inputs, seed: int, block: int, shock_horizon_months: int | None = None
                   ) -> dict[str, np.ndarray]:
    """Per-path metrics of one full block of :data:`BLOCK_PATHS` paths.

    With ``shock_horizon_months`` longer than the scenario's horizon, the
    market shocks are drawn over that many months and cut, so scenarios of
    different horizons valued with the same seed and the same
    ``shock_horizon_months`` see the same market path month by month.

    The market shocks come from ``block_generator(seed, block)``; the
    uncertain inputs from the independent stream
    :func:`pivotsim.uncertainty.input_generator` ``(seed, block)``, so adding
    an uncertain input leaves the market paths unchanged.  Each input's draws
    are returned too, as ``input.<dotted path>``.
    """
    timeline = timeline_of(inputs)
    rng = block_generator(seed, block)
    months = max(timeline.horizon_months, int(shock_horizon_months or 0))
    shocks = {name: s[:, :timeline.horizon_months]
              for name, s in draw_shocks(rng, BLOCK_PATHS, months).items()}
    path_inputs, draws = block_inputs(inputs, seed, block, BLOCK_PATHS)
    flows, _ = evaluate(path_inputs, timeline, shocks)
    out: dict[str, np.ndarray] = {}
    for business in BUSINESSES:
        for name, values in valuation(flows[business], discount_rate(path_inputs, business)).items():
            out[f"{business}_{name}"] = np.broadcast_to(values, (BLOCK_PATHS,)).copy()
    out["npv_difference_usd"] = out["ai_npv_usd"] - out["bitcoin_npv_usd"]
    for path, values in draws.items():
        out[f"input.{path}"] = values
    return out


def simulate_block_group(inputs, seed: int, first_block: int, stop_block: int,
                         n_paths: int, shock_horizon_months: int | None = None) -> dict[str, np.ndarray]:
    """Per-path metrics of blocks ``first_block .. stop_block - 1``, cut at path ``n_paths``.

    The unit of work of a distributed run: a few thousand paths whose
    metrics (not their market paths) travel back.  Identical to the same
    slice of :func:`simulate_paths`.

    Parameters
    ----------
    inputs : namespace
        Plain scenario values.
    seed : int
        Run seed, >= 0.
    first_block, stop_block : int
        Half-open range of block indices.
    n_paths : int
        Paths of the whole run: paths from ``n_paths`` on are dropped.
    shock_horizon_months : int, optional
        As in :func:`simulate_block`.

    Returns
    -------
    dict of str -> ndarray (paths in the group,)
    """
    parts = [simulate_block(inputs, seed, block, shock_horizon_months)
             for block in range(first_block, stop_block)]
    keep = max(0, min(stop_block * BLOCK_PATHS, n_paths) - first_block * BLOCK_PATHS)
    return {name: np.concatenate([p[name] for p in parts])[:keep] for name in parts[0]}


def simulate_many(inputs_list, n_paths: int, seed: int, *, executor=None,
                  progress: Callable[[int, int], None] | None = None,
                  shock_horizon_months: int | None = None) -> list[dict[str, np.ndarray]]:
    """Per-path metrics of several input sets on the same draws (sweeps, sensitivity, compare).

    Every input set sees the same seed, so the same block draws (common
    random numbers).  The work is cut into (input set x block group) tasks
    and run by ``executor``: here, or on a Dask cluster.

    Parameters
    ----------
    inputs_list : sequence of namespace
        Plain scenario values, one per point.
    n_paths : int
        Paths per point, >= 1.
    seed : int
        Run seed, >= 0.
    executor : executor or distributed.Client, optional
        See :func:`pivotsim.distributed.as_executor`; ``None`` runs here.
    progress : callable(done_paths, total_paths), optional
        Called as tasks finish; ``total_paths = n_paths * len(inputs_list)``.
    shock_horizon_months : int, optional
        As in :func:`simulate_block`: input sets of different horizons then
        see the same market path month by month.

    Returns
    -------
    list of dict of str -> ndarray (n_paths,)
        One :func:`simulate_paths`-like dict per input set, in order.
    """
    from .distributed import as_executor, block_groups, blocks_per_task

    executor = as_executor(executor)
    n_blocks = -(-n_paths // BLOCK_PATHS)
    size = blocks_per_task(n_blocks * len(inputs_list), executor.n_threads, executor.max_blocks_per_task)
    groups = block_groups(n_blocks, size)
    tasks = [(inputs, seed, first, stop, n_paths, shock_horizon_months)
             for inputs in inputs_list for first, stop in groups]
    total = n_paths * len(inputs_list)
    done = 0

    def on_result(_, metrics):
        nonlocal done
        done += len(next(iter(metrics.values())))
        if progress is not None:
            progress(done, total)

    results = executor.map(simulate_block_group, tasks, on_result)
    out = []
    for point in range(len(inputs_list)):
        parts = results[point * len(groups):(point + 1) * len(groups)]
        out.append({name: np.concatenate([p[name] for p in parts]) for name in parts[0]})
    return out


def simulate_paths(inputs, n_paths: int, seed: int,
                   progress: Callable[[int, int], None] | None = None,
                   shock_horizon_months: int | None = None, *,
                   executor=None) -> dict[str, np.ndarray]:
    """Per-path metrics of ``n_paths`` paths (blocks of :data:`BLOCK_PATHS`).

    Parameters
    ----------
    inputs : namespace
        Plain scenario values.
    n_paths : int
        Number of paths, >= 1.
    seed : int
        Run seed, >= 0.
    progress : callable(done_paths, total_paths), optional
        Called after each block (each task on a cluster).
    shock_horizon_months : int, optional
        Draw market shocks over at least this many months (common random
        numbers across scenarios of different horizons, see
        :func:`simulate_block`).
    executor : executor or distributed.Client, optional
        Run the blocks there (see :func:`simulate_many`); same numbers.

    Returns
    -------
    dict of str -> ndarray (n_paths,)
        ``<business>_<metric>`` for each business and metric, plus
        ``npv_difference_usd`` (AI minus bitcoin).
    """
    if executor is not None:
        return simulate_many([inputs], n_paths, seed, executor=executor, progress=progress,
                             shock_horizon_months=shock_horizon_months)[0]
    n_blocks = -(-n_paths // BLOCK_PATHS)
    parts: list[dict[str, np.ndarray]] = []
    for block in range(n_blocks):
        parts.append(simulate_block(inputs, seed, block, shock_horizon_months))
        if progress is not None:
            progress(min((block + 1) * BLOCK_PATHS, n_paths), n_paths)
    return {name: np.concatenate([p[name] for p in parts])[:n_paths] for name in parts[0]}
