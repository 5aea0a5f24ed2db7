"""Monte Carlo orchestration: blocks of paths, seeds, chunks, base case, per-path metrics.

Paths are made in fixed blocks of :data:`BLOCK_PATHS`.  Block k draws its
``btc_price`` and ``network_hashrate`` shocks from its own generator,
``SeedSequence(seed, spawn_key=(k,))`` (the child that
``SeedSequence(seed).spawn(...)[k]`` would give), and each further market
shock from its own stream ``SeedSequence(seed, spawn_key=(k, 100 + j))``
(the whole layout: :mod:`pivotsim.seeds`).  So path i always gets the same numbers
whatever the total path count; the last block is drawn in full and cut.

For speed several blocks are evaluated together (a *chunk*, about
:data:`CHUNK_PATHS` paths): their shocks are stacked and pushed through the
models at once.  Every model operation works row by row (no BLAS, no
reduction across paths), so a path's numbers are bit-for-bit the same
whatever the chunking or the number of workers; ``tests/test_engine.py``
checks it.  Memory stays bounded: a chunk's arrays are dropped once its
per-path metrics are taken, and only the first ``sample_paths`` paths keep
their monthly series (for fan charts).

Every run is cut into *tasks* (:func:`simulate_block_group`, a range of
blocks) mapped by an executor (:mod:`pivotsim.distributed`): one chunk per
task here, serially or on threads, or groups of blocks on a Dask cluster
(``executor=client``), results put back in block order.  So the same seed
gives the same numbers on one process, several threads or any number of
Dask workers; :func:`simulate_many` runs several input sets on the same
draws (sweeps, compare).

Uncertain inputs (distributions on scenario numbers) are drawn per block
from a stream independent of the market shocks,
``SeedSequence(seed, spawn_key=(k, 1))`` (:mod:`pivotsim.seeds`), and
stacked for a chunk the same way.

The base case is the same engine with one path, zero shocks and every
market volatility, jump and spike set to zero, so price and hashrate follow
their expected (deterministic) paths, and every uncertain input at its base
value (the ``value`` written in the scenario, else the distribution's
median; event draws at 0.5).  There is no second, scalar implementation.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from .brent import brent_root
from .defaults import DEFAULT_MAX_AUTO_PATHS  # noqa: F401  (re-exported)
from .distributed import as_executor, blocks_per_task, local_executor
from .inputs import substitute
from .errors import ScenarioError
from .models import equity
from .models.cashflows import CashFlows
from .models.hosting import hosting_cash_flows
from .models.market import MarketPaths, simulate_market, zero_shocks
from .models.mining import mining_cash_flows, mining_terminal_value_usd
from .models.split_site import ai_side_cash_flows, remaining_mining_inputs, splits_site
from .models.path_summaries import market_path_summaries
from .models.rollforward import GAP_PREFIX, roll_forward, state_at_valuation
from .models.timeline import Timeline
from .shocks import BLOCK_PATHS, block_shocks, chunk_shocks, gap_shocks  # noqa: F401  (the engine's draws)
from .valuation import (  # noqa: F401  (re-exported: the engine's valuation lives in pivotsim.valuation)
    BRIDGE_METRICS,
    VALUATION_METRICS,
    base_case_kpis,
    business_metrics,
    discount_rate,
    valuation,
    value_bridge,
)
from .uncertainty import blocks_input_draws

CHUNK_PATHS = 10_000
BUSINESSES = ("bitcoin", "ai")
#: monthly series kept for the first ``sample_paths`` paths (fan charts)
SAMPLE_SERIES = ("btc_price_usd", "network_hashrate_eh_s", "hashprice_usd_per_ph_day", "fees_btc_per_block",
                 "power_price_usd_per_kwh", "bitcoin_cumulative_cash_usd", "ai_cumulative_cash_usd",
                 "bitcoin_dscr", "ai_dscr")
#: path counts at which ``--paths auto`` checks the standard error (1-2-5 series)
AUTO_CHECKPOINTS = tuple(m * 10 ** e for e in range(4, 9) for m in (1, 2, 5))


_BLAS_CONTROLLER = None


def _single_threaded_blas():
    """Context holding BLAS (OpenBLAS/MKL) to one thread while a task runs.

    The engine's only BLAS call is the IRR bracketing product (a few ms per
    chunk on one thread); a multi-threaded BLAS leaves its worker threads
    spinning between calls, which on a small shared machine takes a core
    from the numpy work around it (measured: 100k x 120 months, 8.2-9.3 s
    with two BLAS threads, 7.2-7.4 s with one).  Parallelism comes from
    chunks instead (``threads``, Dask workers).  A no-op without
    threadpoolctl.  Never changes a number: the product's values are only
    read for their signs, and each is a dot product over months either way.
    """
    global _BLAS_CONTROLLER
    try:
        if _BLAS_CONTROLLER is None:
            from threadpoolctl import ThreadpoolController

            _BLAS_CONTROLLER = ThreadpoolController()
        return _BLAS_CONTROLLER.limit(limits=1, user_api="blas")
    except ImportError:
        import contextlib

        return contextlib.nullcontext()


def timeline_of(inputs) -> Timeline:
    """The monthly grid of a scenario's inputs."""
    return Timeline(inputs.scenario.valuation_date, int(inputs.scenario.horizon_months))




def bootstrap_returns(inputs) -> np.ndarray | None:
    """Historical monthly log returns for ``price_model: bootstrap`` (None otherwise)."""
    market = inputs.market
    if market.price_model != "bootstrap":
        return None
    from .btc_data import monthly_log_returns

    return monthly_log_returns(market.bootstrap_file, market.bootstrap_start, market.bootstrap_end)


def market_paths(inputs, timeline: Timeline, shocks: dict[str, np.ndarray], *, stage=None) -> MarketPaths:
    """Market paths of a set of shocks: the only way the engine builds them.

    A market state dated before the valuation date is first rolled forward
    over the gap (:func:`pivotsim.models.rollforward.roll_forward`, with the
    ``gap.*`` shocks; none in the base case: the expected path).  ``stage``:
    see :func:`pivotsim.models.market.simulate_market`.
    """
    market = inputs.market
    state_date = getattr(market, "state_date", None)
    if state_date is not None and state_date != timeline.valuation_date:
        gap = {name[len(GAP_PREFIX):]: x for name, x in shocks.items() if name.startswith(GAP_PREFIX)}
        market = roll_forward(market, inputs.site, state_date, timeline.valuation_date, gap, stage=stage).market
    return simulate_market(market, inputs.site, timeline, shocks, bootstrap_log_returns=bootstrap_returns(inputs),
                           **({} if stage is None else {"stage": stage}))


def business_cash_flows(business: str, inputs, market: MarketPaths, timeline: Timeline, *,
                        with_quantities: bool = False, net_only: bool = False, financing: bool = False,
                        bridge: bool = False) -> CashFlows:
    """Cash flows of one business (``bitcoin`` or ``ai``) on given market paths.

    ``with_quantities``: mining's hashprice series too (hosting ignores it).
    ``net_only``: only the net cash flow (what valuation reads; the same
    numbers), items and quantities left empty.  ``bridge``: with
    ``net_only``, the parts of the value bridge too (``bridge_usd``; always
    there without ``net_only``).
    """
    want_bridge = bridge or not net_only
    if business == "bitcoin":
        flows = mining_cash_flows(inputs, market, timeline, with_quantities=with_quantities, net_only=net_only,
                                  financing=financing)
        if want_bridge:
            flows.bridge_usd = {"terminal_value_usd": mining_terminal_value_usd(inputs, timeline)}
        return flows
    if business == "ai":
        hosting = hosting_cash_flows(inputs, market, timeline, net_only=net_only, financing=financing,
                                     with_bridge=want_bridge)
        if not splits_site(inputs):
            return hosting
        rest = None
        if np.any(np.asarray(inputs.site.ai_share) != 1.0):
            rest = mining_cash_flows(remaining_mining_inputs(inputs), market, timeline, net_only=net_only,
                                     financing=financing)
        side = ai_side_cash_flows(hosting, rest, inputs, timeline)
        if want_bridge:  # hosting's parts on its share of the site, and the mining rest's terminal value
            share = np.asarray(inputs.site.ai_share, dtype=float)
            share = share.reshape(-1, 1) if share.ndim else share
            side.bridge_usd = {name: value * share for name, value in hosting.bridge_usd.items()}
            if rest is not None:
                side.bridge_usd["terminal_value_usd"] = (
                    side.bridge_usd.get("terminal_value_usd", 0.0)
                    + mining_terminal_value_usd(remaining_mining_inputs(inputs), timeline))
        return side
    raise ValueError(f"business {business!r} is not allowed; must be one of {', '.join(BUSINESSES)}")


def evaluate(inputs, timeline: Timeline, shocks: dict[str, np.ndarray], *, with_quantities: bool | None = None,
             net_only: bool = False, release_shocks: bool = False,
             financing: bool = True, bridge: bool = False) -> tuple[dict[str, CashFlows], MarketPaths]:
    """Market paths and both businesses' cash flows for one set of shocks.

    ``with_quantities`` (mining's hashprice series): by default only for a
    single path (the base case).  ``net_only``: the Monte Carlo only needs
    the net cash flows (see :func:`business_cash_flows`).
    ``release_shocks``: empty the ``shocks`` dict once the market paths are
    made (only the market reads them), so a chunk's draws are freed before
    its cash flows are built.  ``financing``: a business with debt also keeps
    the lines its debt reads (capex, taxable income before interest).
    ``bridge``: the value-bridge parts too.
    """
    if with_quantities is None:
        with_quantities = max(np.shape(s)[0] for s in shocks.values()) == 1
    market = market_paths(inputs, timeline, shocks)
    if release_shocks:
        shocks.clear()
    flows = {business: business_cash_flows(business, inputs, market, timeline, with_quantities=with_quantities,
                                           net_only=net_only, bridge=bridge,
                                           financing=financing and equity.has_debt(inputs, business))
             for business in BUSINESSES}
    return flows, market


def base_inputs(inputs):
    """Inputs of the base case: every market shock switched off (expected paths).

    Price: ``S_0 exp(mu t)`` (the mean of the GBM, Merton and recentred
    bootstrap models); hashrate: its noise-free recursion; fees and power
    price: their deterministic reversion paths.
    """
    base = copy.copy(inputs)  # the tree is copied on write (see pivotsim.inputs): only the market node changes
    market = base.market = copy.copy(inputs.market)
    market.btc_volatility_per_year = 0.0
    market.hashrate_volatility_per_year = 0.0
    market.price_model = "gbm"
    market.btc_jump_intensity_per_year = 0.0
    market.fee_volatility_per_year = 0.0
    market.fee_spike_probability_per_month = 0.0
    market.power_price_volatility_per_year = 0.0
    return base


def base_case(inputs) -> tuple[dict[str, CashFlows], MarketPaths]:
    """One path at base values through the same engine as the Monte Carlo."""
    timeline = timeline_of(inputs)
    return evaluate(base_inputs(inputs), timeline, zero_shocks(timeline.horizon_months))


def debt_terms(inputs, base_flows: dict[str, CashFlows] | None = None) -> dict:
    """Debt of each levered business sized on the base case of ``inputs`` (the tree without draws).

    Bad terms: a one-line ScenarioError naming the field.  Each chunk sizes it
    again (about a millisecond), so chunks and workers agree.  ``base_flows``:
    the base case's flows by business when already built (``base_case(inputs)[0]``).
    """
    if not any(equity.has_debt(inputs, b) for b in BUSINESSES):
        return {}
    try:
        return equity.all_debt_terms(base_case(inputs)[0] if base_flows is None else base_flows, inputs)
    except ValueError as error:
        raise ScenarioError(str(error)) from None


@dataclass
class Draws:
    """Every random number of a chunk of consecutive blocks.

    Attributes
    ----------
    shocks : dict of str -> ndarray (n_paths, horizon_months)
        Market shocks (:func:`chunk_shocks`).
    inputs : dict of str -> ndarray (n_paths,)
        Draws of the uncertain inputs by dotted path
        (:func:`pivotsim.uncertainty.blocks_input_draws`); empty when none.
    n_paths : int
        ``len(blocks) * BLOCK_PATHS``.
    """

    shocks: dict[str, np.ndarray]
    inputs: dict[str, np.ndarray]
    n_paths: int


def check_blocks(blocks: Sequence[int]) -> list[int]:
    """Block indices as a list; they must be consecutive and at least one."""
    blocks = list(blocks)
    if not blocks:
        raise ValueError("blocks: empty; give at least one block index")
    if any(b != blocks[0] + i for i, b in enumerate(blocks)):
        raise ValueError(f"blocks: {blocks!r} are not consecutive")
    return blocks


def block_draws(inputs, seed: int, blocks: Sequence[int], shock_horizon_months: int | None = None) -> Draws:
    """Market shocks and uncertain-input draws of consecutive blocks (one chunk).

    Market shocks come from the block and stream generators
    (:func:`chunk_shocks`), the inputs from the independent stream
    ``SeedSequence(seed, spawn_key=(block, 1))``.
    """
    blocks = check_blocks(blocks)
    return Draws(shocks=chunk_shocks(inputs, seed, blocks, shock_horizon_months),
                 inputs=blocks_input_draws(inputs, seed, blocks, BLOCK_PATHS),
                 n_paths=len(blocks) * BLOCK_PATHS)


def with_draws(inputs, draws: Draws):
    """The inputs tree with each uncertain input replaced by its ``(n_paths, 1)`` draws."""
    return substitute(inputs, draws.inputs) if draws.inputs else inputs


def simulate_blocks(inputs, seed: int, blocks: Sequence[int], shock_horizon_months: int | None = None, *,
                    sample_paths: int = 0) -> dict[str, np.ndarray]:
    """Per-path metrics of consecutive full blocks evaluated together (one chunk).

    Parameters
    ----------
    inputs : namespace
        Plain scenario values.
    seed : int
        Run seed.
    blocks : sequence of int
        Consecutive block indices.
    shock_horizon_months : int, optional
        Draw market shocks over at least this many months (see :func:`chunk_shocks`).
    sample_paths : int
        Keep the monthly series of :data:`SAMPLE_SERIES` for paths whose run
        index is below this (``sample_<series>`` keys, arrays
        ``(kept_paths, n_periods)``).

    Returns
    -------
    dict of str -> ndarray
        ``<business>_<metric>`` and ``npv_difference_usd``, each
        ``(len(blocks) * BLOCK_PATHS,)``; each uncertain input's draws as
        ``input.<dotted path>``; one summary of each path's market as
        ``market.<name>`` (:func:`pivotsim.models.path_summaries.market_path_summaries`,
        what :mod:`pivotsim.drivers` regresses on); the market at the valuation
        date as ``at_valuation.<name>``
        (:func:`pivotsim.models.rollforward.state_at_valuation`); plus the samples if asked.
    """
    # The steps below (draws, inputs per path, market, cash flows, valuation)
    # are also what pivotsim.analysis.crn.CrnEngine calls, one at a
    # time so it can reuse them across the points of a sweep.
    blocks = check_blocks(blocks)
    timeline = timeline_of(inputs)
    draws = block_draws(inputs, seed, blocks, shock_horizon_months)
    n = draws.n_paths
    path_inputs = with_draws(inputs, draws)
    terms = debt_terms(inputs)
    flows, market = evaluate(path_inputs, timeline, draws.shocks, net_only=True, release_shocks=True, bridge=True)
    out: dict[str, np.ndarray] = {}
    for business in BUSINESSES:
        out.update(business_metrics(business, flows[business], path_inputs, n, bridge=True))
        if business in terms:
            out.update(equity.levered_metrics(flows[business], terms[business], path_inputs, business,
                                              discount_rate(path_inputs, business), n))
    out["npv_difference_usd"] = out["ai_npv_usd"] - out["bitcoin_npv_usd"]
    for dotted, values in draws.inputs.items():
        out[f"input.{dotted}"] = values
    for name, values in market_path_summaries(market, n).items():
        out[f"market.{name}"] = values
    for name, values in state_at_valuation(market, timeline.days, n).items():
        out[f"at_valuation.{name}"] = values

    first = blocks[0] * BLOCK_PATHS
    keep = min(max(0, sample_paths - first), n)
    if keep:
        def rows(x):
            return np.array(np.broadcast_to(x, (n, timeline.n_periods))[:keep])

        out["sample_btc_price_usd"] = rows(market.btc_price_usd)
        out["sample_network_hashrate_eh_s"] = rows(market.network_hashrate_eh_s)
        out["sample_hashprice_usd_per_ph_day"] = rows(market.hashprice_usd_per_ph_day)
        out["sample_fees_btc_per_block"] = rows(market.fees_btc_per_block)
        out["sample_power_price_usd_per_kwh"] = rows(market.power_price_usd_per_kwh)
        for business in BUSINESSES:
            out[f"sample_{business}_cumulative_cash_usd"] = np.cumsum(rows(flows[business].net), axis=1)
            if business in terms:
                sample = equity.levered(flows[business], terms[business], path_inputs, business, lines=True,
                                        rows=keep)
                out[f"sample_{business}_dscr"] = np.array(sample.lines["dscr"])
    return out


def simulate_block(inputs, seed: int, block: int, shock_horizon_months: int | None = None, *,
                   sample_paths: int = 0) -> dict[str, np.ndarray]:
    """Per-path metrics of one full block of :data:`BLOCK_PATHS` paths.

    The market shocks come from ``block_generator(seed, block)`` and the
    market streams; the uncertain inputs from the independent stream
    :func:`pivotsim.seeds.input_generator` ``(seed, block)``, so adding
    an uncertain input leaves the market paths unchanged.  Each input's draws
    are returned too, as ``input.<dotted path>``.  See :func:`simulate_blocks`.
    """
    return simulate_blocks(inputs, seed, [block], shock_horizon_months, sample_paths=sample_paths)


def simulate_block_group(inputs, seed: int, first_block: int, stop_block: int,
                         n_paths: int, shock_horizon_months: int | None = None,
                         sample_paths: int = 0, chunk_paths: int = CHUNK_PATHS) -> dict[str, np.ndarray]:
    """Per-path metrics of blocks ``first_block .. stop_block - 1``, cut at path ``n_paths``.

    The unit of work (a *task*) of every run: a local run's tasks are one
    chunk each, a Dask run's a group of up to
    :data:`pivotsim.distributed.MAX_BLOCKS_PER_TASK` blocks.  The group is
    evaluated by :func:`simulate_blocks` in chunks of about ``chunk_paths``
    paths (split evenly), so a worker's memory stays bounded; only per-path
    metrics (and the sample series of the first paths) travel back.
    Identical to the same slice of :func:`simulate`.

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
        As in :func:`simulate_blocks`.
    sample_paths : int
        Keep the monthly series of the paths whose run index is below this
        (``sample_<series>`` keys, see :func:`simulate_blocks`).
    chunk_paths : int
        Paths evaluated together; changes speed and memory, never results.

    Returns
    -------
    dict of str -> ndarray
        Per-path arrays ``(paths in the group,)``; samples ``(kept paths, n_periods)``.
    """
    if not 0 <= first_block < stop_block:
        raise ValueError(f"blocks: {first_block}..{stop_block} is not allowed; need 0 <= first < stop")
    n_blocks = stop_block - first_block
    n_chunks = -(-n_blocks // max(1, int(chunk_paths) // BLOCK_PATHS))
    size = -(-n_blocks // n_chunks)
    with _single_threaded_blas():
        parts = [simulate_blocks(inputs, seed, range(b, min(b + size, stop_block)), shock_horizon_months,
                                 sample_paths=sample_paths)
                 for b in range(first_block, stop_block, size)]
    # paths below n_paths; the sample rows are the group's first paths, so the same cut applies
    keep = max(0, min(stop_block * BLOCK_PATHS, n_paths) - first_block * BLOCK_PATHS)
    out = {}
    for name in list(parts[0]):  # the first chunk has every key (sample rows are a prefix of the run)
        pieces = [p.pop(name) for p in parts if name in p]
        joined = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
        out[name] = joined[:keep].copy() if len(joined) > keep else joined
    return out


def _group_blocks(n_blocks: int, executor, chunk_paths: int, threads: int = 1) -> int:
    """Blocks in one task: one chunk locally; on an executor, :func:`~pivotsim.distributed.blocks_per_task`.

    Locally, fewer blocks than a chunk per thread (a 10,000-path run on two
    threads) are cut so that every thread has a task.
    """
    if executor is None:
        chunk = max(1, int(chunk_paths) // BLOCK_PATHS)
        return max(1, min(chunk, -(-n_blocks // max(1, int(threads)))))
    return blocks_per_task(n_blocks, executor.n_threads, executor.max_blocks_per_task)


def _run_groups(runner, inputs_list, seed: int, first_block: int, stop_block: int, group_blocks: int,
                cut_paths: int, shock_horizon_months: int | None, sample_paths: int, chunk_paths: int,
                on_result) -> list[list[dict[str, np.ndarray]]]:
    """(input set x block group) tasks of blocks ``first_block..stop_block-1``: results per input set."""
    groups = [(b, min(b + group_blocks, stop_block)) for b in range(first_block, stop_block, group_blocks)]
    tasks = [(inputs, seed, first, stop, cut_paths, shock_horizon_months, sample_paths, chunk_paths)
             for inputs in inputs_list for first, stop in groups]
    results = runner.map(simulate_block_group, tasks, on_result)
    return [results[i * len(groups):(i + 1) * len(groups)] for i in range(len(inputs_list))]


@dataclass
class MonteCarlo:
    """Per-path metrics of a run, the sampled monthly paths and how the path count was set.

    Attributes
    ----------
    metrics : dict of str -> ndarray (paths,)
    samples : dict of str -> ndarray (sample paths, n_periods)
        Monthly series of the first paths (:data:`SAMPLE_SERIES`).
    paths : int
    convergence : dict
        ``mode`` ("fixed" or "auto"), ``sem_npv_difference_usd``, and for
        auto: ``tolerance_usd``, ``max_paths``, ``reached`` (bool).
    """

    metrics: dict[str, np.ndarray]
    samples: dict[str, np.ndarray] = field(default_factory=dict)
    paths: int = 0
    convergence: dict = field(default_factory=dict)


def _sem(values: np.ndarray) -> float:
    v = values[np.isfinite(values)]
    return float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else math.inf


def simulate(inputs, n_paths: int | None, seed: int, *, progress: Callable[[int, int], None] | None = None,
             sample_paths: int = 0, chunk_paths: int = CHUNK_PATHS, threads: int = 1,
             tolerance_usd: float | None = None, max_paths: int = DEFAULT_MAX_AUTO_PATHS,
             shock_horizon_months: int | None = None, executor=None) -> MonteCarlo:
    """Run the Monte Carlo in chunks of blocks with bounded memory, here or on Dask.

    The blocks are cut into tasks (:func:`simulate_block_group`): one chunk
    each when run here (serially or on ``threads`` threads), groups of
    blocks sized for the cluster with ``executor``.  Results are put back
    in block order, so neither changes a bit.

    Parameters
    ----------
    inputs : namespace
        Plain scenario values.
    n_paths : int or None
        Number of paths; None for *auto*: add paths until the standard error
        of the mean NPV difference (AI minus bitcoin) is at most
        ``tolerance_usd``, checking at 10k, 20k, 50k, 100k, ... paths, up to
        ``max_paths``.  With ``executor`` each checkpoint's new blocks are
        one batch of tasks (the cluster idles briefly between checkpoints).
    seed : int
    progress : callable(done_paths, total_paths), optional
        Called after each task (total is ``max_paths`` in auto mode).
    sample_paths : int
        Keep the monthly series of this many first paths (on a cluster only
        the first task(s) carry them back).
    chunk_paths : int
        Paths evaluated together (rounded to whole blocks); changes speed and
        memory, never results.
    threads : int
        Local runs: threads of this process evaluating chunks in parallel;
        never changes results.  Ignored with ``executor``.
    tolerance_usd : float
        Auto mode: target standard error of the mean NPV difference [USD].
    max_paths : int
        Auto mode: cap on paths.
    shock_horizon_months : int, optional
        Draw market shocks over at least this many months (common random
        numbers across scenarios of different horizons, see :func:`chunk_shocks`).
    executor : distributed.Client or executor, optional
        Run the tasks there (:func:`pivotsim.distributed.as_executor`);
        ``None`` runs here.

    Returns
    -------
    MonteCarlo
    """
    auto = n_paths is None
    if auto:
        if tolerance_usd is None or not tolerance_usd > 0:
            raise ValueError(f"tolerance_usd: {tolerance_usd!r} is not allowed; must be > 0 with auto paths")
        checkpoints = [c for c in AUTO_CHECKPOINTS if c < max_paths] + [int(max_paths)]
    else:
        checkpoints = [int(n_paths)]
    if executor is None:
        runner = local_executor(threads)
    else:
        executor = runner = as_executor(executor)
    cut_paths = checkpoints[-1]
    collected: list[dict[str, np.ndarray]] = []
    done_blocks = done_paths = 0
    convergence: dict = {"mode": "auto" if auto else "fixed"}

    def on_result(_, part):
        nonlocal done_paths
        done_paths += len(part["npv_difference_usd"])
        if progress is not None:
            progress(done_paths, cut_paths)

    for target in checkpoints:
        needed_blocks = -(-target // BLOCK_PATHS)
        group = _group_blocks(needed_blocks - done_blocks, executor, chunk_paths, threads)
        collected += _run_groups(runner, [inputs], seed, done_blocks, needed_blocks, group, cut_paths,
                                 shock_horizon_months, sample_paths, chunk_paths, on_result)[0]
        done_blocks = needed_blocks
        if auto:
            diff = np.concatenate([p["npv_difference_usd"] for p in collected])[:target]
            sem = _sem(diff)
            if sem <= tolerance_usd or target == checkpoints[-1]:
                n_paths = target
                convergence.update(tolerance_usd=float(tolerance_usd), max_paths=int(max_paths),
                                   reached=bool(sem <= tolerance_usd))
                break
    metric_names = [k for k in collected[0] if not k.startswith("sample_")]
    metrics = {}
    for name in metric_names:
        values = np.concatenate([p.pop(name) for p in collected])
        metrics[name] = values[:n_paths].copy() if values.size > n_paths else values
    samples = {}
    for name in SAMPLE_SERIES:
        key = f"sample_{name}"
        pieces = [p[key] for p in collected if key in p]
        if pieces:
            samples[name] = np.concatenate(pieces)[:min(sample_paths, n_paths)]
    convergence["sem_npv_difference_usd"] = _sem(metrics["npv_difference_usd"])
    return MonteCarlo(metrics=metrics, samples=samples, paths=int(n_paths), convergence=convergence)


def simulate_many(inputs_list, n_paths: int, seed: int, *, executor=None,
                  progress: Callable[[int, int], None] | None = None,
                  shock_horizon_months: int | None = None,
                  chunk_paths: int = CHUNK_PATHS, threads: int = 1) -> list[dict[str, np.ndarray]]:
    """Per-path metrics of several input sets on the same draws (sweeps, sensitivity, compare).

    Every input set sees the same seed, so the same block draws, market
    streams included (common random numbers; a stream a set does not use is
    not drawn, and never moves the others).  The work is cut into
    (input set x block group) tasks of :func:`simulate_block_group` and run
    by ``executor``: here (one chunk per task) or on a Dask cluster.

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
        As in :func:`simulate_blocks`: input sets of different horizons then
        see the same market path month by month.
    chunk_paths : int
        Paths evaluated together inside a task; never changes results.
    threads : int
        Without ``executor``: threads of this process running the tasks;
        never changes results.

    Returns
    -------
    list of dict of str -> ndarray (n_paths,)
        One :func:`simulate_paths`-like dict per input set, in order.
    """
    runner = local_executor(threads) if executor is None else as_executor(executor)
    if executor is not None:
        executor = runner
    n_blocks = -(-int(n_paths) // BLOCK_PATHS)
    total = int(n_paths) * len(inputs_list)
    done = 0

    def on_result(_, part):
        nonlocal done
        done += len(part["npv_difference_usd"])
        if progress is not None:
            progress(done, total)

    group = _group_blocks(n_blocks * len(inputs_list), executor, chunk_paths, threads)
    per_set = _run_groups(runner, inputs_list, seed, 0, n_blocks, group, int(n_paths), shock_horizon_months,
                          0, chunk_paths, on_result)
    return [{name: np.concatenate([p[name] for p in parts]) for name in parts[0]} for parts in per_set]


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
        Called after each task (a chunk here, a group of blocks on a cluster).
    shock_horizon_months : int, optional
        Draw market shocks over at least this many months (common random
        numbers across scenarios of different horizons).
    executor : executor or distributed.Client, optional
        Run the tasks there (see :func:`simulate`); same numbers.

    Returns
    -------
    dict of str -> ndarray (n_paths,)
        ``<business>_<metric>`` for each business and metric, plus
        ``npv_difference_usd`` (AI minus bitcoin) and ``input.<path>`` draws.
    """
    return simulate(inputs, n_paths, seed, progress=progress, shock_horizon_months=shock_horizon_months,
                    executor=executor).metrics


def breakeven_btc_price_multiplier(inputs, *, lowest: float = 0.01, highest: float = 100.0,
                                   xtol: float = 1e-6) -> float | None:
    """Constant multiplier on the base BTC price path at which bitcoin NPV equals AI NPV.

    The base case is re-run (same engine, one path, no noise) with the BTC
    price at t = 0 scaled by k, which scales the whole base price path; with
    ``hashrate_model: response`` the network hashrate follows the richer or
    poorer miners, so mining NPV is not linear in k.  The root of
    ``NPV_bitcoin(k) - NPV_ai(k)`` is bracketed from k = 1 outwards and found
    by Brent's method (:func:`pivotsim.brent.brent_root`: scipy's brentq
    without the import of scipy.optimize, on every run's critical path).

    Parameters
    ----------
    inputs : namespace
        Plain scenario values.
    lowest, highest : float
        Search range of k.
    xtol : float
        Absolute tolerance on k.

    Returns
    -------
    float or None
        k, or None when the gap does not change sign in [lowest, highest].

    References
    ----------
    R. P. Brent (1973), *Algorithms for Minimization without Derivatives*, ch. 4
    (``scipy.optimize.brentq``).
    """
    base = base_inputs(inputs)
    timeline = timeline_of(inputs)
    shocks = zero_shocks(timeline.horizon_months)
    price0 = base.market.btc_price_usd

    def gap(k: float) -> float:
        trial = copy.copy(base)
        trial.market = copy.copy(base.market)
        trial.market.btc_price_usd = price0 * k
        flows, _ = evaluate(trial, timeline, shocks)
        npv = {b: float(np.asarray(valuation(flows[b], discount_rate(trial, b))["npv_usd"]).ravel()[0])
               for b in BUSINESSES}
        return npv["bitcoin"] - npv["ai"]

    at_one = gap(1.0)
    if at_one == 0.0:
        return 1.0
    factors = (1.1, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0)
    steps = [f for f in factors] if at_one < 0 else [1.0 / f for f in factors]
    previous, previous_gap = 1.0, at_one
    for k in steps:
        if not lowest <= k <= highest:
            break
        g = gap(k)
        if np.sign(g) != np.sign(previous_gap):
            lo, hi = sorted((previous, k))
            return float(brent_root(gap, lo, hi, xtol=xtol))
        previous, previous_gap = k, g
    return None


def sample_paths_in_full(inputs, seed: int, n_paths: int, shock_horizon_months: int | None = None):
    """Every line item of a run's first ``n_paths`` paths, for the figures that need more than the samples.

    The Monte Carlo keeps only net cash and market series of its first paths
    (:data:`SAMPLE_SERIES`); charts of revenue per kWh or of line items need
    the full cash flows.  Block 0 is drawn exactly as :func:`simulate_blocks`
    draws it (its full block of shocks and uncertain inputs, then cut), so
    path i here is path i of the run.

    Parameters
    ----------
    inputs : namespace
        The run's inputs tree.
    seed : int
    n_paths : int
        Paths wanted, at most one block.
    shock_horizon_months : int, optional
        The run's market horizon (common random numbers across deals).

    Returns
    -------
    market : MarketPaths
    flows : dict of str -> CashFlows
    path_inputs : namespace
        The inputs of those paths (uncertain inputs as ``(n_paths, 1)``).
    """
    n = max(1, min(int(n_paths), BLOCK_PATHS))
    timeline = timeline_of(inputs)
    shocks = {name: values[:n] for name, values in chunk_shocks(inputs, seed, [0], shock_horizon_months).items()}
    draws = blocks_input_draws(inputs, seed, [0], BLOCK_PATHS)
    path_inputs = substitute(inputs, {path: v[:n] for path, v in draws.items()}) if draws else inputs
    flows, market = evaluate(path_inputs, timeline, shocks)
    return market, flows, path_inputs
