"""Benchmark: `pivotsim report` warm, the IREN note and a three-deal book, every section included.

Run from the repository root::

    PYTHONPATH=$PWD python benchmarks/bench_report.py [--repeat 2]

Each command runs in this process through the CLI (``typer.testing.CliRunner``),
once to warm up (compiled kernels loaded, imports done), then ``--repeat``
times; the best wall time is printed with its target (IREN note <= 10 s,
three-deal book <= 20 s), the CPU time of that run (what the wall time is on
an idle machine, less the threads' overlap), the pages of each PDF and the
machine's load average (a shared machine stretches the wall time).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from pypdf import PdfReader
from typer.testing import CliRunner

from pivotsim.cli import app

NOTE = ["iren.yaml"]  # library deals, found by name
BOOK = ["iren.yaml", "cipher_aws.yaml", "terawulf_fluidstack.yaml"]
TARGETS = {"IREN note": (NOTE, 10.0), "three-deal book": (BOOK, 20.0)}


def _report(runner: CliRunner, files, out: Path) -> tuple[float, float]:
    """Wall time and CPU time (this process, every thread) of one `pivotsim report` [s]."""
    start, cpu = time.perf_counter(), time.process_time()
    result = runner.invoke(app, ["report", *files, "-o", str(out)])
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    if result.exit_code != 0:
        raise SystemExit(f"pivotsim report failed ({result.exit_code}): {result.output}")
    return elapsed, cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2, help="timed runs after the warm-up")
    args = parser.parse_args()
    runner = CliRunner()
    with tempfile.TemporaryDirectory() as tmp:
        for label, (files, target) in TARGETS.items():
            out = Path(tmp) / "note.pdf"
            warm_up, _ = _report(runner, files, out)
            best, cpu = min(_report(runner, files, out) for _ in range(max(1, args.repeat)))
            pages = len(PdfReader(out).pages)
            verdict = "ok" if best <= target else "OVER TARGET"
            print(f"{label:16s} {best:6.2f} s warm, {cpu:.2f} s CPU (first run {warm_up:.2f} s), target <= "
                  f"{target:.0f} s: {verdict}; {pages} pages; load average {os.getloadavg()[0]:.1f} on "
                  f"{os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
