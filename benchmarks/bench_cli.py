"""Benchmark: wall time of the everyday commands, as a user's shell sees them.

Run from the repository root, in the environment pivotsim is installed in::

    python benchmarks/bench_cli.py [--repeat 5] [--only LABEL ...] [--skip LABEL ...]

Each command runs ``--repeat`` times as a fresh process (the ``pivotsim``
console script next to this Python), output discarded; the table gives the
median, min and max wall time and the target of issue 18.  Cases:

* ``version``, ``help``: ``pivotsim --version`` / ``--help``;
* ``validate``: ``pivotsim validate`` of the IREN scenario;
* ``run-warm``: ``pivotsim run`` of the IREN scenario, 10,000 paths, figures
  on, after one untimed run has filled numba's cache;
* ``run-first``: the same run with ``NUMBA_CACHE_DIR`` pointing at a new empty
  folder each time, i.e. the first run after installing (every kernel the
  run calls is compiled);
* ``sweep``: a 20 x 20 sweep at 2,000 paths of BTC price x power price,
  both market inputs, so the market is re-simulated at every point.

Run folders go to a temporary directory.  The commands run with Python's
bytecode cache on, as an installed package has it (``PYTHONDONTWRITEBYTECODE``
is dropped from their environment and each case runs once untimed first):
otherwise every start compiles pivotsim's modules anew.  A command that
exits non-zero is reported with its stderr's last line and counts as failed.

``--baseline SRC`` times another source tree of pivotsim (e.g. an older
commit unpacked with ``git archive``) on the same cases, alternating its runs
with this tree's, both as ``python -m pivotsim`` from their own root: on a
shared machine whose load changes by the minute, only such paired figures
compare two versions fairly.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _scenario(root: Path = ROOT) -> str:
    """The IREN scenario as the command line names it (the repo's library folder, wherever it lives)."""
    for candidate in ("scenarios/iren.yaml", "pivotsim/scenarios/iren.yaml"):
        if (root / candidate).is_file():
            return candidate
    return "iren.yaml"  # resolved from the bundled library


def _pivotsim() -> list[str]:
    script = Path(sys.executable).with_name("pivotsim")
    if script.is_file():
        return [str(script)]
    found = shutil.which("pivotsim")
    return [found] if found else [sys.executable, "-m", "pivotsim"]


def cases(out: Path, root: Path = ROOT) -> list[tuple[str, list[str], bool, float]]:
    """(label, arguments, fresh numba cache each time, target [s])."""
    iren = _scenario(root)
    return [
        ("version", ["--version"], False, 0.3),
        ("help", ["--help"], False, 0.3),
        ("validate", ["validate", iren], False, 0.5),
        ("run-warm", ["run", iren, "--paths", "10000", "--out", str(out)], False, 1.5),
        ("run-first", ["run", iren, "--paths", "10000", "--out", str(out)], True, 10.0),
        ("sweep", ["sweep", iren, "--param", "market.btc_price_usd=40000:200000:20",
                   "--param", "site.power_price_usd_per_kwh=0.02:0.08:20", "--paths", "2000",
                   "--out", str(out)], False, 4.0),
    ]


def _environment(**extra) -> dict:
    """The commands' environment: this one, bytecode cache on, fixed width, no colour."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return dict(env, COLUMNS="100", NO_COLOR="1", **extra)


def _once(argv: list[str], env: dict, cwd: Path = ROOT) -> tuple[float, str | None]:
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no stderr)"])[-1]
        return elapsed, f"exit {proc.returncode}: {last}"
    return elapsed, None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per command (median reported)")
    parser.add_argument("--only", nargs="*", default=None, help="labels to run")
    parser.add_argument("--skip", nargs="*", default=[], help="labels to leave out")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="another pivotsim source tree, timed alternately with this one")
    args = parser.parse_args()
    if args.baseline is not None:
        return paired(args)
    exe = _pivotsim()
    failed = False
    with tempfile.TemporaryDirectory(prefix="bench_cli_") as tmp:
        tmp = Path(tmp)
        base_env = _environment()
        print(f"pivotsim: {' '.join(exe)}; cwd {ROOT}; {args.repeat} runs each; "
              f"{os.cpu_count()} CPUs visible")
        print(f"{'case':<10} {'median':>8} {'min':>8} {'max':>8} {'target':>7}  command")
        for label, argv, fresh_cache, target in cases(tmp / "runs"):
            if (args.only and label not in args.only) or label in args.skip:
                continue
            _once(exe + argv, base_env)  # fill the bytecode cache (and numba's for the warm cases); not timed
            times, error = [], None
            for i in range(args.repeat):
                env = base_env
                if fresh_cache:
                    env = dict(base_env, NUMBA_CACHE_DIR=str(tmp / f"numba-cache-{label}-{i}"))
                elapsed, error = _once(exe + argv, env)
                if error:
                    break
                times.append(elapsed)
            command = "pivotsim " + " ".join(a if not a.startswith(str(tmp)) else "TMP" for a in argv)
            if error:
                failed = True
                print(f"{label:<10} {'failed':>8} {'':>8} {'':>8} {target:>6.1f}s  {command}  [{error}]")
                continue
            mark = "" if statistics.median(times) <= target else "  (over target)"
            print(f"{label:<10} {statistics.median(times):>7.2f}s {min(times):>7.2f}s {max(times):>7.2f}s "
                  f"{target:>6.1f}s  {command}{mark}")
    return 1 if failed else 0


def paired(args) -> int:
    """Median wall times of this tree and ``args.baseline``, their runs alternating (see the module docstring)."""
    trees = {"this": ROOT, "baseline": args.baseline.resolve()}
    print(f"this tree {ROOT} vs baseline {trees['baseline']}, both `python -m pivotsim`; "
          f"{args.repeat} alternating runs each; {os.cpu_count()} CPUs visible")
    print(f"{'case':<10} {'baseline':>9} {'this':>9}  command (this tree)")
    failed = False
    with tempfile.TemporaryDirectory(prefix="bench_cli_") as tmp:
        tmp = Path(tmp)
        plans = {name: cases(tmp / f"runs-{name}", root) for name, root in trees.items()}
        for k, (label, argv, fresh_cache, target) in enumerate(plans["this"]):
            if (args.only and label not in args.only) or label in args.skip:
                continue
            times = {name: [] for name in trees}
            for i in range(args.repeat + (0 if fresh_cache else 1)):
                for name, root in trees.items():
                    env = _environment(PYTHONPATH=str(root))
                    if fresh_cache:
                        env["NUMBA_CACHE_DIR"] = str(tmp / f"numba-{name}-{label}-{i}")
                    elapsed, error = _once([sys.executable, "-m", "pivotsim", *plans[name][k][1]], env, root)
                    if error:
                        failed = True
                        print(f"{label:<10} {name} failed: {error}")
                    elif fresh_cache or i > 0:  # the first run of a warm case fills the cache
                        times[name].append(elapsed)
            med = {name: statistics.median(t) if t else float("nan") for name, t in times.items()}
            command = "pivotsim " + " ".join(a if not a.startswith(str(tmp)) else "TMP" for a in argv)
            print(f"{label:<10} {med['baseline']:>8.2f}s {med['this']:>8.2f}s  {command}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
