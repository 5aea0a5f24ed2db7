"""CPUs: how many this process may run on, and how many are idle.

One reading for every choice that depends on the machine: the default
threads of a run (:mod:`pivotsim.distributed`), the first run's background
compile (:func:`pivotsim.compiled.compile_ahead`) and the figure worker
(:mod:`pivotsim.output.figure_worker`).

Two measures of idle CPUs: the one-minute load average (:func:`idle_cpus`),
which lags (a command run just before still counts for a minute), and the
threads ready to run when this module was imported
(:func:`idle_cpus_at_start`, from ``/proc/loadavg``), which sees only what
runs then.
"""

from __future__ import annotations

import os


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask, else ``os.cpu_count()``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def idle_cpus() -> float:
    """Usable CPUs minus the one-minute load average (no load average, e.g. on Windows: every CPU counts as idle)."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        load = 0.0
    return usable_cpus() - load


def _runnable() -> int | None:
    """Threads running or ready to run on the machine now (``/proc/loadavg``, this one included); None elsewhere."""
    try:
        with open("/proc/loadavg", "rb") as handle:
            return int(handle.read().split()[3].split(b"/")[0])
    except (OSError, ValueError, IndexError):
        return None


_RUNNABLE_AT_IMPORT = _runnable()


def idle_cpus_at_start() -> float:
    """CPUs idle besides this process when this module was imported (``/proc/loadavg``'s runnable count).

    An instant, not an average: it sees neither a command that ended a
    moment ago (the load average still counts it for a minute) nor the
    helper processes this one starts after.  Where the count is missing
    (not Linux): :func:`idle_cpus`.
    """
    if _RUNNABLE_AT_IMPORT is None:
        return idle_cpus()
    return float(usable_cpus() - _RUNNABLE_AT_IMPORT)


def spare_cpu(load_margin: float) -> bool:
    """Whether a helper process would have a CPU of its own: more than one usable, and one idle besides this process.

    Idle by the load average (CPUs minus it at least ``load_margin``: it
    counts this process once it has run a while) or at this process's start
    (:func:`idle_cpus_at_start` at least 1).
    """
    return usable_cpus() > 1 and (idle_cpus() >= load_margin or idle_cpus_at_start() >= 1.0)
