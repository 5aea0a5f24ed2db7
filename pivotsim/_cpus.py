"""CPUs: how many this process may run on, and how many the load average leaves idle.

One reading for every choice that depends on the machine: the default
threads of a run (:mod:`pivotsim.distributed`), the first run's background
compile (:func:`pivotsim.compiled.compile_ahead`) and the figure worker
(:mod:`pivotsim.output.figure_worker`).
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
