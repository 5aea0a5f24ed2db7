"""Benchmark: where a warm ``pivotsim run`` of the IREN deal (10,000 paths, figures on) spends its time.

Run from the repository root, in the environment pivotsim is installed in::

    PYTHONPATH=$PWD python benchmarks/bench_run_steps.py [--repeat 5] [--paths 10000]

Each repeat is a fresh process doing what ``pivotsim run`` does, in its
order, with a clock around each step: start the figure workers, import the
CLI and the engine, load the scenario, run (kernel cache loads and the
simulation), then each file of the run folder (``write_run_folder``: its
writers timed one by one; ``figures`` is the wait for the workers' PNGs, or
their drawing here with ``--here``).  After the run, off the clock of the
steps above: the same simulation again (kernels loaded: the simulation
alone; the first run minus this one is the kernel loading) and each figure
drawn here, warm.  The table gives the median wall and CPU time of each step
(CPU: this process, every thread; the workers' own is the line
"figure workers", summed over their life) and the load
average: on a shared machine the wall time stretches, compare versions with
``bench_cli.py --baseline``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class Clock:
    """Wall and CPU time of named steps, in the order they ran."""

    def __init__(self):
        self.steps: dict[str, tuple[float, float]] = {}

    def time(self, name, func, *args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return func(*args, **kwargs)
        finally:
            self.steps[name] = (time.perf_counter() - wall, time.process_time() - cpu)


def one_run(paths: int, here: bool, out: str) -> dict:
    """The steps of one ``pivotsim run`` in this process; wall and CPU time of each [s]."""
    clock = Clock()
    start = time.perf_counter()
    try:
        from pivotsim.output import figure_worker
    except ImportError:  # a tree from before the workers (--baseline-like use): figures drawn here
        figure_worker, here = None, True
    workers = [] if here else clock.time("start figure workers", figure_worker.start_figure_workers)

    def import_cli_and_engine():
        import pivotsim.cli  # noqa: F401 - what the console script imports
        import pivotsim.output.folders  # noqa: F401 - and the run command
        import pivotsim.runs  # noqa: F401

    clock.time("import CLI and engine", import_cli_and_engine)
    from pivotsim.output import folders
    from pivotsim.runs import run
    from pivotsim.scenario import load_scenario

    scenario = clock.time("load scenario", load_scenario, str(ROOT / "pivotsim" / "scenarios" / "iren.yaml"))
    result = clock.time("run (kernel loads + simulate)", run, scenario, paths=paths)

    real_write_folder = folders.write_folder

    def timed_write_folder(out_dir, scenario, kind, files, manifest):
        timed = {name: (lambda p, name=name, w=w: clock.time(f"  {'figures' if name == '.' else name}", w, p))
                 for name, w in files.items()}
        return clock.time("  scenario.resolved.yaml, manifest, rename + the above", real_write_folder,
                          out_dir, scenario, kind, timed, manifest)

    folders.write_folder = timed_write_folder
    options = {"figure_workers": workers} if figure_worker else {}
    clock.time("write_run_folder", folders.write_run_folder, result, out, **options)
    clock.time("summary tables (summary again)", result.summary)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    steps = {"total, as the command": (time.perf_counter() - start, time.process_time()), **clock.steps,
             "figure workers, all their life (CPU)": (0.0, children.ru_utime + children.ru_stime)}

    extra = Clock()
    extra.time("simulate alone (kernels loaded)", run, scenario, paths=paths)
    from pivotsim.output import figures

    try:
        from pivotsim.output.figure_data import figure_data

        subject = figure_data(result)
    except ImportError:
        subject = result

    def draw(plot):
        plot(subject).figure.savefig(os.devnull, dpi=120, format="png")

    for name, plot in figures.RUN_FIGURES.items():
        extra.time(f"  {name} (drawn here, warm)", draw, plot)
    return {"steps": steps, "extra": extra.steps, "workers": len(workers)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="fresh processes (medians reported)")
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--here", action="store_true", help="draw the figures in this process (no workers)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one_run(args.paths, args.here, args.child)))
        return 0
    import tempfile

    runs = []
    with tempfile.TemporaryDirectory(prefix="bench_run_steps_") as tmp:
        argv = [sys.executable, __file__, "--paths", str(args.paths), "--child", tmp] + (["--here"] if args.here else [])
        subprocess.run(argv, check=True, capture_output=True)  # numba's cache filled; not counted
        load = [os.getloadavg()[0]]
        for _ in range(args.repeat):
            runs.append(json.loads(subprocess.run(argv, check=True, capture_output=True, text=True).stdout))
        load.append(os.getloadavg()[0])
    count = runs[0]["workers"]
    print(f"pivotsim run of the IREN deal, {args.paths:,} paths, figures "
          f"{f'by {count} workers' if count else 'drawn here'}; medians of {args.repeat} fresh processes; "
          f"load average {load[0]:.1f} -> {load[1]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'step':<58} {'wall':>7} {'CPU':>7}")
    for part in ("steps", "extra"):
        if part == "extra":
            print("after the run, off the clock:")
        for name in runs[0][part]:
            walls = [r[part][name][0] for r in runs if name in r[part]]
            cpus = [r[part][name][1] for r in runs if name in r[part]]
            wall = f"{statistics.median(walls):6.2f}s" if any(walls) else ""
            print(f"{name:<58} {wall:>7} {statistics.median(cpus):6.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
