"""Run the Monte Carlo on Dask (dask.distributed): local processes or a cluster.

The unit of work is a *task*: a group of consecutive path blocks (thousands
of paths, see :func:`blocks_per_task`), never a single path, because Dask
spends about a millisecond on each task.  A task returns the per-path metrics
of its blocks (small numpy arrays); market paths and cash-flow arrays stay on
the worker.  Block k is always drawn from ``SeedSequence(seed,
spawn_key=(k,))`` and the results are put back in block order, so a run on
any number of workers, or one whose worker died and whose tasks Dask
retried elsewhere, gives the same numbers to the last bit as a
single-process run.

Two layers, both reusable by every command that simulates paths (run,
sweep, sensitivity, compare):

* an *executor*: ``map(func, tasks, on_result=None) -> list`` that returns
  ``[func(*task) for task in tasks]`` in task order, computed here
  (:class:`SerialExecutor`, or :class:`ThreadExecutor` on threads) or on Dask
  (:class:`DaskExecutor`);
  :func:`as_executor` makes one from ``None``, a ``distributed.Client`` or an
  executor, and :func:`map_blocks` is the one-call form;
* :func:`connect`, a context manager that yields a ``distributed.Client`` on
  a local cluster of processes (``workers=N``) or on an existing scheduler
  (``scheduler="tcp://host:8786"`` or the ``PIVOTSIM_SCHEDULER`` environment
  variable), or ``None`` for a local run, and turns every way of failing to
  get one into a one-line :class:`~pivotsim.errors.ClusterError`.

Dask is imported only when a cluster is used, so ``import pivotsim`` stays
fast.

Examples
--------
>>> import pivotsim
>>> from pivotsim.distributed import connect
>>> with connect(workers=2) as client:                      # doctest: +SKIP
...     result = pivotsim.run("iren.yaml", paths=100_000, client=client)
"""

from __future__ import annotations

import math
import os
import socket
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol, Sequence, runtime_checkable

from ._cpus import usable_cpus
from .errors import ClusterError, PivotsimError

SCHEDULER_ENV = "PIVOTSIM_SCHEDULER"
CONNECT_TIMEOUT_S = 5.0
"""Longest wait [s] to reach a scheduler before giving up with an error."""
WORKER_WAIT_S = 60.0
"""Longest wait [s] for a first worker on a scheduler that has none."""
MAX_BLOCKS_PER_TASK = 8
"""Blocks in one Dask task at most (8 x 2,000 paths: 1-2 s of work at 120 months)."""
TASKS_PER_THREAD = 4
"""Tasks per worker thread at least, when there are enough blocks: balances the end of a run."""

OnResult = Callable[[int, Any], None]
MAX_DEFAULT_THREADS = 8
"""Most threads a local run uses by default (chunks are memory: each thread holds one)."""


def default_threads() -> int:
    """Threads of a local run when none are asked for: the usable CPUs, at most :data:`MAX_DEFAULT_THREADS`."""
    return min(usable_cpus(), MAX_DEFAULT_THREADS)


def local_executor(threads: int):
    """The executor of a local run: :class:`SerialExecutor` for one thread, else :class:`ThreadExecutor`."""
    return ThreadExecutor(threads) if int(threads) > 1 else SerialExecutor()


@runtime_checkable
class Executor(Protocol):
    """Something that maps a function over argument tuples, in task order.

    Attributes
    ----------
    n_threads : int
        Tasks it can run at once (sizes the block groups).
    max_blocks_per_task : int
        Largest group of path blocks worth putting in one task.
    description : dict
        What ran the tasks, for the run manifest.
    """

    n_threads: int
    max_blocks_per_task: int

    @property
    def description(self) -> dict: ...

    def map(self, func: Callable, tasks: Sequence[tuple], on_result: OnResult | None = None) -> list:
        """``[func(*task) for task in tasks]``; ``on_result(i, result)`` as each task ends."""


class SerialExecutor:
    """Run the tasks one after the other in this process (the local run)."""

    n_threads = 1
    max_blocks_per_task = 1

    @property
    def description(self) -> dict:
        return {"backend": "local"}

    def map(self, func: Callable, tasks: Sequence[tuple], on_result: OnResult | None = None) -> list:
        results = []
        for i, task in enumerate(tasks):
            results.append(func(*task))
            if on_result is not None:
                on_result(i, results[-1])
        return results


class ThreadExecutor:
    """Run the tasks on threads of this process (a local run's ``threads``).

    numpy releases the GIL in most of the engine's array work, so a few
    threads overlap; results come back in task order, and ``on_result``
    is called in that order too.

    Parameters
    ----------
    n_threads : int
        Threads, >= 1.
    """

    max_blocks_per_task = 1

    def __init__(self, n_threads: int):
        self.n_threads = max(1, int(n_threads))

    @property
    def description(self) -> dict:
        return {"backend": "local", "threads": self.n_threads}

    def map(self, func: Callable, tasks: Sequence[tuple], on_result: OnResult | None = None) -> list:
        from concurrent.futures import ThreadPoolExecutor

        results = []
        with ThreadPoolExecutor(max_workers=self.n_threads) as pool:
            for i, result in enumerate(pool.map(lambda task: func(*task), tasks)):
                results.append(result)
                if on_result is not None:
                    on_result(i, result)
        return results


class DaskExecutor:
    """Run the tasks on a Dask cluster through a ``distributed.Client``.

    Tasks are submitted at once (``pure=False``) and collected as they
    finish; results are placed by task index, so the order of completion,
    the number of workers and retries after a lost worker change nothing.
    A task that keeps killing workers (Dask's ``allowed-failures``, 3 by
    default) or a scheduler that goes away ends the run with a
    :class:`~pivotsim.errors.ClusterError`; an exception raised by the task
    itself is re-raised here unchanged.

    Parameters
    ----------
    client : distributed.Client
    max_blocks_per_task : int, optional
        Largest group of blocks in one task (default :data:`MAX_BLOCKS_PER_TASK`).
    """

    def __init__(self, client, max_blocks_per_task: int = MAX_BLOCKS_PER_TASK):
        self.client = client
        self.max_blocks_per_task = int(max_blocks_per_task)

    @property
    def n_threads(self) -> int:
        return max(1, sum(self.client.nthreads().values()))

    @property
    def description(self) -> dict:
        threads = self.client.nthreads()  # asks the scheduler now (scheduler_info may be cached)
        return {"backend": "dask", "scheduler": self.client.scheduler.address, "workers": len(threads),
                "threads": sum(threads.values())}

    def map(self, func: Callable, tasks: Sequence[tuple], on_result: OnResult | None = None) -> list:
        import asyncio  # (here, not at the top: a local run never needs it, and it costs 30 ms to import)

        from distributed import as_completed
        from distributed.client import FutureCancelledError
        from distributed.scheduler import KilledWorker

        futures = [self.client.submit(run_task, func, *task, pure=False) for task in tasks]
        index = {future.key: i for i, future in enumerate(futures)}
        results: list = [None] * len(futures)
        try:
            for future in as_completed(futures, loop=self.client.loop):
                i = index[future.key]
                try:
                    results[i] = future.result()
                except KilledWorker as exc:
                    raise ClusterError(
                        f"dask: task {i} of {len(futures)} was lost with every worker that ran it "
                        f"({exc}); check the workers' memory limit and logs") from None
                except (FutureCancelledError, asyncio.CancelledError):
                    raise ClusterError(
                        f"dask: task {i} of {len(futures)} was cancelled: the scheduler "
                        f"{self.client.scheduler.address} closed or restarted mid-run") from None
                except OSError as exc:  # distributed's CommClosedError: the scheduler went away
                    raise ClusterError(
                        f"dask: lost the scheduler {self.client.scheduler.address} mid-run "
                        f"({type(exc).__name__}); start it again and rerun (same seed, same numbers)") from None
                future.release()
                if on_result is not None:
                    on_result(i, results[i])
        finally:
            pending = [f for f in futures if not f.done()]
            if pending:
                try:
                    self.client.cancel(pending)
                except Exception:  # the scheduler may be gone already: nothing left to cancel
                    pass
        return results


_MALLOC_TUNED = False


def tune_worker_malloc() -> bool:
    """Let glibc keep freed blocks on a Dask worker instead of unmapping them (Linux only).

    Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``; any
    such setting freezes glibc's mmap threshold at 128 KiB, so every
    (2,000 x months) array is a fresh ``mmap`` whose pages fault in zeroed:
    measured here, 2.1 s of system time for 2.9 s of user time on 20 blocks
    at 120 months (+55% CPU).  Raising the mmap threshold to 32 MiB and the
    trim threshold to 64 MiB brings it to 0.01 s; a worker keeps at most
    64 MiB of freed heap.  Done once per process; a no-op where glibc is
    absent.  Returns whether it was applied.
    """
    global _MALLOC_TUNED
    if _MALLOC_TUNED:
        return True
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's <malloc.h>
        _MALLOC_TUNED = bool(libc.mallopt(m_mmap_threshold, 32 * 2 ** 20)) and \
            bool(libc.mallopt(m_trim_threshold, 64 * 2 ** 20))
    except (OSError, AttributeError):
        _MALLOC_TUNED = False
    return _MALLOC_TUNED


def run_task(func: Callable, *args):
    """What a Dask worker runs: ``func(*args)`` after :func:`tune_worker_malloc`."""
    tune_worker_malloc()
    return func(*args)


def as_executor(client=None) -> Executor:
    """An executor from ``None`` (local, serial), a ``distributed.Client`` or an executor."""
    if client is None:
        return SerialExecutor()
    if isinstance(client, Executor):
        return client
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - dask is a declared dependency
        Client = ()
    if isinstance(client, Client):
        return DaskExecutor(client)
    raise PivotsimError(f"client: {type(client).__name__} is not allowed; "
                        "must be a distributed.Client, a pivotsim executor or None")


def map_blocks(func: Callable, tasks: Sequence[tuple], client=None, *,
               on_result: OnResult | None = None) -> list:
    """``[func(*task) for task in tasks]``, in task order, locally or on Dask.

    Parameters
    ----------
    func : callable
        A module-level function (workers import it by name), e.g.
        :func:`pivotsim.simulate.simulate_block_group`.
    tasks : sequence of tuple
        Positional arguments of each call; keep each one large (a group of
        blocks) and its result small (per-path metrics).
    client : distributed.Client or executor, optional
        Where to run; ``None`` runs here, one task after the other.
    on_result : callable(task_index, result), optional
        Called in this process as each task finishes (any order).

    Returns
    -------
    list
        One result per task, in the order of ``tasks``.
    """
    return as_executor(client).map(func, tasks, on_result)


def blocks_per_task(n_blocks: int, n_threads: int, max_blocks: int = MAX_BLOCKS_PER_TASK) -> int:
    """Blocks in one task: enough tasks for every thread, none too large.

    ``ceil(n_blocks / (TASKS_PER_THREAD * n_threads))`` clamped to
    ``[1, max_blocks]``.  Grouping never changes results, only speed.
    """
    wanted = math.ceil(n_blocks / (TASKS_PER_THREAD * max(1, n_threads)))
    return max(1, min(int(max_blocks), wanted))


def block_groups(n_blocks: int, group_size: int) -> list[tuple[int, int]]:
    """``[(first_block, stop_block), ...]`` covering ``range(n_blocks)`` in order."""
    return [(first, min(first + group_size, n_blocks)) for first in range(0, n_blocks, group_size)]


# ---------------------------------------------------------------- connecting

def scheduler_address(scheduler: str | None = None, workers: int | None = None) -> str | None:
    """The scheduler to use: ``scheduler``, else ``$PIVOTSIM_SCHEDULER`` unless local workers are asked."""
    if scheduler:
        return scheduler.strip()
    if workers is None:
        return os.environ.get(SCHEDULER_ENV, "").strip() or None
    return None


def _check_address(address: str) -> str:
    from distributed.comm import parse_address
    from distributed.comm.addressing import parse_host_port
    from distributed.comm.registry import backends

    if "://" not in address and address.endswith(".json"):
        address = _address_in_scheduler_file(address)
    if "://" not in address:
        address = "tcp://" + address
    try:
        scheme, location = parse_address(address)
        if scheme not in backends:
            raise ValueError(f"unknown scheme {scheme!r}; known: {', '.join(sorted(backends))}")
        if scheme in ("tcp", "tls", "ws", "wss"):
            parse_host_port(location)
    except ValueError as exc:
        raise ClusterError(f"--scheduler: {address!r} is not a scheduler address ({exc}); "
                           "expected e.g. tcp://host:8786") from None
    return address


def _address_in_scheduler_file(path: str) -> str:
    """The address written by ``dask scheduler --scheduler-file PATH`` (HPC batch jobs)."""
    import json

    try:
        address = json.loads(Path(path).read_text(encoding="utf-8"))["address"]
    except FileNotFoundError:
        raise ClusterError(f"--scheduler: scheduler file {path} not found; start the scheduler "
                           f"with `dask scheduler --scheduler-file {path}` first") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ClusterError(f"--scheduler: {path} is not a Dask scheduler file "
                           f"({type(exc).__name__}: {exc})") from None
    if not isinstance(address, str):
        raise ClusterError(f"--scheduler: {path} is not a Dask scheduler file (address {address!r})")
    return address


async def _identity(address: str, timeout_s: float) -> dict:
    from distributed.comm import connect as comm_connect

    comm = await comm_connect(address, timeout=timeout_s)
    try:
        await comm.write({"op": "identity", "reply": True})
        return await comm.read()
    finally:
        comm.abort()


def probe_scheduler(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Raise :class:`ClusterError` unless a Dask scheduler answers at ``address`` within ``timeout_s``.

    ``distributed.Client`` alone can wait much longer than its ``timeout``
    when something that is not a scheduler holds the port, so the handshake
    is tried here first under a hard deadline.
    """
    import asyncio

    from distributed.comm import parse_address
    from distributed.comm.addressing import parse_host_port

    scheme, location = parse_address(address)
    if scheme in ("tcp", "tls", "ws", "wss"):
        host, port = parse_host_port(location)
        try:  # a refused or unknown host fails at once, without the handshake's retries
            socket.create_connection((host, port), timeout=timeout_s).close()
        except OSError as exc:
            raise ClusterError(f"--scheduler: cannot reach the Dask scheduler at {address} "
                               f"({exc.strerror or exc or type(exc).__name__}); "
                               "is `dask scheduler` running there?") from None
    try:
        reply = asyncio.run(asyncio.wait_for(_identity(address, timeout_s), timeout_s))
    except (TimeoutError, asyncio.TimeoutError):
        raise ClusterError(f"--scheduler: no Dask scheduler answered at {address} "
                           f"within {timeout_s:g} s") from None
    except Exception as exc:  # any garbage on the port: not a scheduler
        raise ClusterError(f"--scheduler: {address} did not answer as a Dask scheduler "
                           f"({type(exc).__name__}: {exc})") from None
    if not isinstance(reply, dict) or reply.get("type") != "Scheduler":
        raise ClusterError(f"--scheduler: {address} answered, but not as a Dask scheduler")


def _worker_versions() -> dict:
    """Runs on each worker: the versions that decide bit-identical results."""
    import numpy

    from ._version import __version__

    return {"pivotsim": __version__, "numpy": numpy.__version__}


def check_workers(client, wait_s: float = WORKER_WAIT_S) -> None:
    """Wait for a first worker, then check every worker runs this pivotsim and numpy.

    Raises
    ------
    ClusterError
        No worker within ``wait_s`` seconds, a worker that cannot import
        pivotsim, or a version that differs from this process's (numpy's
        random streams and pivotsim's models must match for identical
        results).
    """
    import asyncio

    import numpy

    from ._version import __version__

    address = client.scheduler.address
    try:
        client.wait_for_workers(1, timeout=wait_s)
    except (TimeoutError, asyncio.TimeoutError):
        raise ClusterError(f"--scheduler: the Dask scheduler at {address} has no worker after "
                           f"{wait_s:g} s; start some with `dask worker {address}`") from None
    try:
        versions = client.run(_worker_versions)
    except OSError as exc:  # includes distributed's CommClosedError
        raise ClusterError(f"dask: lost contact with a worker of {address} while checking it "
                           f"({type(exc).__name__}: {exc}); check the workers' logs") from None
    except Exception as exc:
        raise ClusterError(f"dask: workers of {address} cannot run pivotsim "
                           f"({type(exc).__name__}: {exc}); install pivotsim {__version__} "
                           "in the workers' environment") from None
    here = {"pivotsim": __version__, "numpy": numpy.__version__}
    for worker, theirs in sorted(versions.items()):
        for package, version in here.items():
            if theirs.get(package) != version:
                raise ClusterError(
                    f"dask: worker {worker} has {package} {theirs.get(package)} but this machine has "
                    f"{version}; install the same {package} version on every worker "
                    "(results would not be identical)")


@contextmanager
def connect(scheduler: str | None = None, workers: int | None = None, *,
            timeout_s: float = CONNECT_TIMEOUT_S, worker_wait_s: float = WORKER_WAIT_S) -> Iterator:
    """A ``distributed.Client`` for the run, or ``None`` for a local run.

    Parameters
    ----------
    scheduler : str, optional
        Address of an existing scheduler, e.g. ``tcp://10.0.0.5:8786``
        (``host:port`` means tcp), or the JSON file written by ``dask
        scheduler --scheduler-file FILE.json``; defaults to
        ``$PIVOTSIM_SCHEDULER`` when ``workers`` is not given.
    workers : int, optional
        Start a local cluster of this many worker processes (one thread
        each) on this machine for the duration of the block.
    timeout_s : float
        Longest wait [s] to reach the scheduler.
    worker_wait_s : float
        Longest wait [s] for a first worker on an existing scheduler.

    Yields
    ------
    distributed.Client or None
        Closed (and the local cluster shut down) on exit.

    Raises
    ------
    ClusterError
        Both options given, ``workers`` < 1, a malformed or unreachable
        address, no workers, mismatched versions on the workers.
    """
    address = scheduler_address(scheduler, workers)
    if workers is not None and scheduler:
        raise ClusterError("--workers and --scheduler: use one of them, not both "
                           "(--workers starts a local cluster, --scheduler joins an existing one)")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ClusterError(f"--workers: {workers!r} is not allowed; must be a whole number >= 1")
    if address is None and workers is None:
        yield None
        return

    import logging
    import warnings

    from distributed import Client, LocalCluster

    if workers is not None:
        with warnings.catch_warnings():  # its HTTP server moves off a busy port 8787: not the user's concern
            warnings.filterwarnings("ignore", message="Port .* is already in use")
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.CRITICAL)
        try:
            with Client(cluster, set_as_default=False) as client:
                check_workers(client, worker_wait_s)
                yield client
        finally:
            cluster.close()
        return

    address = _check_address(address)
    probe_scheduler(address, timeout_s)
    try:
        client = Client(address, timeout=timeout_s, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"--scheduler: cannot connect to the Dask scheduler at {address} ({exc})") from None
    with client:
        check_workers(client, worker_wait_s)
        yield client
