"""Benchmark: `pivotsim report` warm, the IREN note and a three-deal book, every section included.

Run from the repository root::

    PYTHONPATH=$PWD python benchmarks/bench_report.py [--repeat 2]

Each command runs in this process through the CLI (``typer.testing.CliRunner``),
once to warm up (compiled kernels loaded, imports done), then ``--repeat``
times; the best wall time is printed with its target (IREN note <= 10 s,
three-deal book <= 20 s), and the pages of each PDF.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from pypdf import PdfReader
from typer.testing import CliRunner

from pivotsim.cli import app

ROOT = Path(__file__).resolve().parents[1]
NOTE = ["scenarios/iren.yaml"]
BOOK = ["scenarios/iren.yaml", "scenarios/cipher_aws.yaml", "scenarios/terawulf_fluidstack.yaml"]
TARGETS = {"IREN note": (NOTE, 10.0), "three-deal book": (BOOK, 20.0)}


def _report(runner: CliRunner, files, out: Path) -> float:
    start = time.perf_counter()
    result = runner.invoke(app, ["report", *[str(ROOT / f) for f in files], "-o", str(out)])
    elapsed = time.perf_counter() - start
    if result.exit_code != 0:
        raise SystemExit(f"pivotsim report failed ({result.exit_code}): {result.output}")
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2, help="timed runs after the warm-up")
    args = parser.parse_args()
    runner = CliRunner()
    with tempfile.TemporaryDirectory() as tmp:
        for label, (files, target) in TARGETS.items():
            out = Path(tmp) / "note.pdf"
            warm_up = _report(runner, files, out)
            best = min(_report(runner, files, out) for _ in range(max(1, args.repeat)))
            pages = len(PdfReader(out).pages)
            verdict = "ok" if best <= target else "OVER TARGET"
            print(f"{label:16s} {best:6.2f} s warm (first run {warm_up:.2f} s), target <= {target:.0f} s: "
                  f"{verdict}; {pages} pages")


if __name__ == "__main__":
    main()
