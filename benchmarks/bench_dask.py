"""Monte Carlo on Dask vs one process: 1M paths x 120 months of the IREN scenario.

Prints the single-process time, the time on a local Dask cluster of two
worker processes (``pivotsim run --workers 2``), the speed-up, the CPU time
each used and the scheduler's overhead per task, and checks that all runs
give the same numbers to the last bit.

Two single-process baselines run in fresh processes:

* ``default``: what ``pivotsim run`` does (numpy's BLAS with its default
  threads, glibc's default malloc);
* ``as a worker``: the conditions of a Dask worker process (BLAS on one
  thread, as Dask's nanny sets it, and :func:`tune_worker_malloc`), so that
  ``default / as a worker`` is what those settings alone bring and
  ``as a worker / dask`` is what parallelism alone brings.

The machine's load average is printed before and after: on a shared machine
a speed-up measures what the other processes left free, not Dask.

Usage::

    PYTHONPATH=. python benchmarks/bench_dask.py [--paths 1000000] [--workers 2]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORKER_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def digest(metrics: dict) -> str:
    """SHA-256 of every metric array, in key order: equal digests = identical to the last bit."""
    import numpy as np

    h = hashlib.sha256()
    for name in sorted(metrics):
        h.update(name.encode())
        h.update(np.ascontiguousarray(metrics[name], dtype=np.float64).tobytes())
    return h.hexdigest()


def scenario_inputs():
    import pivotsim
    from pivotsim.inputs import to_inputs

    return to_inputs(pivotsim.load_scenario(ROOT / "pivotsim" / "scenarios" / "iren.yaml", ["scenario.horizon_months=120"]))


def single(paths: int, seed: int, as_worker: bool, threads: int = 1) -> dict:
    """Child process: one single-process run (``threads`` threads); prints its figures as JSON."""
    from pivotsim.distributed import tune_worker_malloc
    from pivotsim.simulate import simulate

    tuned = tune_worker_malloc() if as_worker else False
    inputs = scenario_inputs()
    t0, cpu0 = time.perf_counter(), time.process_time()
    metrics = simulate(inputs, paths, seed, threads=threads).metrics
    return {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - cpu0,
            "digest": digest(metrics), "malloc_tuned": tuned}


def run_single(paths: int, seed: int, as_worker: bool, threads: int = 1) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if as_worker:
        env.update(WORKER_ENV)
    out = subprocess.run([sys.executable, __file__, "--paths", str(paths), "--seed", str(seed),
                          "--single", "worker" if as_worker else "default", "--threads", str(threads)],
                         env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def load() -> str:
    return "load average (1/5/15 min) " + " / ".join(f"{x:.2f}" for x in os.getloadavg()) + \
        f" on {os.cpu_count()} CPUs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--trivial-tasks", type=int, default=2_000)
    parser.add_argument("--single", choices=["default", "worker"], help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.single:
        print(json.dumps(single(args.paths, args.seed, args.single == "worker", args.threads)))
        return

    import pivotsim
    from distributed import get_task_stream
    from pivotsim.distributed import DaskExecutor, block_groups, blocks_per_task, connect
    from pivotsim.simulate import BLOCK_PATHS, simulate_paths

    inputs = scenario_inputs()
    n_blocks = -(-args.paths // BLOCK_PATHS)
    print(f"pivotsim {pivotsim.__version__}: {args.paths:,} paths x {int(inputs.scenario.horizon_months)} months, "
          f"{n_blocks} blocks of {BLOCK_PATHS:,} paths, seed {args.seed}")
    print(f"before: {load()}")

    default = run_single(args.paths, args.seed, as_worker=False)
    print(f"single process (1 thread) : {default['wall_s']:8.1f} s  (CPU {default['cpu_s']:.1f} s)")
    from pivotsim.distributed import default_threads

    local_threads = run_single(args.paths, args.seed, as_worker=False, threads=default_threads())
    print(f"single process ({default_threads()} threads, the default of `pivotsim run`): "
          f"{local_threads['wall_s']:8.1f} s  (CPU {local_threads['cpu_s']:.1f} s)")
    as_worker = run_single(args.paths, args.seed, as_worker=True)
    print(f"single process (as worker): {as_worker['wall_s']:8.1f} s  (CPU {as_worker['cpu_s']:.1f} s; "
          f"BLAS on 1 thread, malloc tuned: {as_worker['malloc_tuned']})")

    t0 = time.perf_counter()
    with connect(workers=args.workers) as client:
        start_s = time.perf_counter() - t0
        executor = DaskExecutor(client)
        size = blocks_per_task(n_blocks, executor.n_threads)
        n_tasks = len(block_groups(n_blocks, size))
        cpu_before = client.run(time.process_time)
        with get_task_stream(client) as stream:
            t1 = time.perf_counter()
            remote = simulate_paths(inputs, args.paths, args.seed, executor=executor)
            dask_s = time.perf_counter() - t1
        cpu_after = client.run(time.process_time)
        workers_cpu_s = sum(cpu_after[w] - cpu_before[w] for w in cpu_after)
        compute_s = sum(ss["stop"] - ss["start"] for d in stream.data for ss in d["startstops"]
                        if ss["action"] == "compute")

        # the scheduler's own cost: many tasks that do nothing
        t2 = time.perf_counter()
        futures = client.map(abs, range(args.trivial_tasks), pure=False)
        client.gather(futures)
        trivial_s = time.perf_counter() - t2
        del futures
    total_s = time.perf_counter() - t0

    same = digest(remote) == default["digest"] == as_worker["digest"] == local_threads["digest"]
    threads = args.workers
    idle_per_task_ms = (dask_s * threads - compute_s) / n_tasks * 1e3
    print(f"--workers {args.workers} cluster start : {start_s:8.1f} s")
    print(f"--workers {args.workers} run           : {dask_s:8.1f} s  (CPU {workers_cpu_s:.1f} s in the workers; "
          f"{n_tasks} tasks of {size} blocks = {size * BLOCK_PATHS:,} paths)")
    print(f"speed-up vs 1 thread      : {default['wall_s'] / dask_s:8.2f} x   "
          f"(what a user sees; target >= 1.6 x on 2 free cores)")
    print(f"speed-up vs as-worker     : {as_worker['wall_s'] / dask_s:8.2f} x   (parallelism alone)")
    print(f"speed-up incl. start/stop : {default['wall_s'] / total_s:8.2f} x")
    print(f"threads of one process vs --workers {args.workers}: {local_threads['wall_s'] / dask_s:8.2f} x "
          "(> 1: the cluster is faster)")
    print(f"CPU cost of distributing  : {workers_cpu_s / as_worker['cpu_s']:8.2f} x   "
          "(workers' CPU / as-worker CPU; independent of the load)")
    print(f"scheduler overhead        : {trivial_s / args.trivial_tasks * 1e3:8.2f} ms per task "
          f"({args.trivial_tasks:,} no-op tasks in {trivial_s:.2f} s); in the run, "
          f"{idle_per_task_ms:.0f} ms of worker idle time per task "
          f"({idle_per_task_ms / (compute_s / n_tasks * 1e3) * 100:.1f}% of a task's wall time)")
    print(f"identical to the last bit : {same}")
    print(f"after : {load()}")
    if not same:
        raise SystemExit("results differ")


if __name__ == "__main__":
    main()
