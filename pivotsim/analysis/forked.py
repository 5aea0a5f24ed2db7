"""Stretches of a sweep's walk (or a tornado's inputs) evaluated in forked processes, beside this one.

A sweep point is mostly Python (validating the point's scenario, building
its inputs, the engine's bookkeeping: about 7 ms of a 10 ms point at 2,000
paths), which threads run one at a time under the interpreter's lock: two
threads walked a 20 x 20 grid in 3.67 s against 3.87 s for one.  A process
forked once the first point is done starts with everything that point loaded
(modules, compiled kernels, the scenario) and runs its stretch of the walk
in parallel with this one; its points come back through a pipe.  Numbers do
not depend on the process that computed them (the engine's reuse is exact).

Only where ``os.fork`` is safe to use this way (Linux); ``PIVOTSIM_FORK=0``
keeps every worker a thread.  A child never prints: it sends one message per
point (so the progress bar moves) and then its results or its exception, and
leaves with ``os._exit`` (no exit handler of this process runs twice).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import warnings
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from typing import Callable, Sequence


def can_fork() -> bool:
    """Whether sweep and tornado workers beyond the first may be forked processes."""
    return sys.platform.startswith("linux") and hasattr(os, "fork") and os.environ.get("PIVOTSIM_FORK") != "0"


class Ticks:
    """A progress callback ``progress(done, total)`` moved one point at a time, from any thread."""

    def __init__(self, progress: Callable[[int, int], None] | None, total: int, done: int = 0):
        self.progress, self.total, self.done = progress, total, done
        self._lock = threading.Lock()

    def __call__(self) -> None:
        with self._lock:
            self.done += 1
            if self.progress is not None:
                self.progress(self.done, self.total)


def _child(stretch, new_engine, evaluate, conn: Connection) -> None:
    # never write to the inherited streams: a lock another thread of the parent held at the fork stays held here
    warnings.simplefilter("ignore")
    try:
        engine = new_engine()
        points = []
        for ij in stretch:
            points.append((ij, evaluate(engine, ij)))
            conn.send(None)  # one point done
        conn.send(("done", points, dict(getattr(engine, "computed", {}))))
    except BaseException as error:  # noqa: BLE001 - sent to the parent, which raises it
        try:
            conn.send(("error", error))
        except Exception:  # an exception that does not pickle: its text
            conn.send(("error", RuntimeError(f"{type(error).__name__}: {error}")))
    finally:
        conn.close()
        os._exit(0)


def walk_forked(stretches: Sequence[list], engine, new_engine: Callable, evaluate: Callable,
                store: Callable, tick: Callable) -> list[dict]:
    """Evaluate ``stretches[0]`` here with ``engine`` and each other stretch in a forked child.

    ``evaluate(engine, item)`` gives an item's result; a child evaluates
    with ``new_engine()``, called there.  ``engine.computed`` (if any): the
    work counts returned.

    ``store(ij, point)`` keeps a point (this process's as they are done, a
    child's once its stretch is back); ``tick()`` is called once per point
    done, in any worker, from this process's threads.  Returns each worker's
    ``computed`` counts.  An exception in any worker is raised here, after
    every child has ended.
    """
    children = []
    for stretch in stretches[1:]:
        read, write = Pipe(duplex=False)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child (coverage does not follow forks)
            read.close()
            _child(stretch, new_engine, evaluate, write)
        write.close()
        children.append((pid, read))
    outcomes: list = [("error", RuntimeError("a worker process ended without its results"))] * len(children)

    def listen(k: int, conn: Connection) -> None:
        try:
            while (message := conn.recv()) is None:
                tick()
            outcomes[k] = message
        except EOFError:
            pass

    listeners = [threading.Thread(target=listen, args=(k, conn), daemon=True) for k, (_, conn) in enumerate(children)]
    for listener in listeners:
        listener.start()
    try:
        for ij in stretches[0]:
            store(ij, evaluate(engine, ij))
            tick()
        for listener in listeners:
            listener.join()
    finally:
        for (pid, conn), listener in zip(children, listeners):
            if listener.is_alive():  # this process failed or was interrupted: stop the child
                os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)
            listener.join()
            conn.close()
    counts = [dict(getattr(engine, "computed", {}))]
    for outcome in outcomes:
        if outcome[0] == "error":
            raise outcome[1]
        _, points, computed = outcome
        for ij, point in points:
            store(ij, point)
        counts.append(computed)
    return counts
