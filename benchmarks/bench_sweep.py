"""Benchmark: a 20 x 20 sweep at 2,000 paths per point, with and without reuse of market paths.

Run from the repository root::

    PYTHONPATH=$PWD python benchmarks/bench_sweep.py [--points 20] [--paths 2000]

Prints, for several pairs of swept parameters, the wall time of
``pivotsim.sweep`` and how many market path sets and business valuations it
computed (the rest were reused), against the time of the naive approach (one
``pivotsim.run(..., overrides=[...])`` per point; timed on a few points and
scaled to the grid).  It also checks that a sweep point equals the plain run
at that point to the last digit.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import pivotsim

ROOT = Path(__file__).resolve().parents[1]

CASES = [
    # (label, (path, start, stop), (path, start, stop))
    ("both market (price x power)", ("market.btc_price_usd", 40_000, 200_000),
     ("site.power_price_usd_per_kwh", 0.02, 0.08)),
    ("market x AI", ("market.btc_price_usd", 40_000, 200_000), ("ai.gpu_capex_usd", 4e9, 8e9)),
    ("mining x AI", ("bitcoin.fleet_efficiency_j_per_th", 12, 24), ("ai.gpu_capex_usd", 4e9, 8e9)),
    ("AI x AI (capex)", ("ai.datacenter_capex_usd_per_mw", 6e6, 16e6), ("ai.gpu_capex_usd", 4e9, 8e9)),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=20, help="values per parameter")
    parser.add_argument("--paths", type=int, default=2_000, help="paths per point")
    parser.add_argument("--naive-points", type=int, default=5, help="points timed for the naive baseline")
    args = parser.parse_args()
    scenario = pivotsim.load_scenario(ROOT / "pivotsim" / "scenarios" / "iren.yaml")
    n = args.points
    print(f"grid {n} x {n} = {n * n} points, {args.paths:,} paths per point, metric comparison.npv_difference_usd")

    # Naive: one full run per point (what `pivotsim run --set` does), on a few points.
    path, lo, hi = CASES[0][1]
    t0 = time.perf_counter()
    for value in np.linspace(lo, hi, args.naive_points):
        pivotsim.run(scenario, paths=args.paths, seed=2025, overrides=[f"{path}={float(value)!r}"])
    per_point = (time.perf_counter() - t0) / args.naive_points
    print(f"{'naive: pivotsim.run per point':<34} {per_point * 1e3:7.1f} ms/point -> "
          f"{per_point * n * n:7.1f} s for the grid (scaled from {args.naive_points} points)")

    for label, (p1, a1, b1), (p2, a2, b2) in CASES:
        params = {p1: np.linspace(a1, b1, n), p2: np.linspace(a2, b2, n)}
        t0 = time.perf_counter()
        result = pivotsim.sweep(scenario, params, paths=args.paths, seed=2025)
        elapsed = time.perf_counter() - t0
        c = result.computed
        print(f"{label:<34} {elapsed * 1e3 / (n * n):7.1f} ms/point -> {elapsed:7.1f} s "
              f"(market built {c['market']}x: price {c['market.btc_price']}x, power {c['market.power_price']}x, "
              f"hashrate {c['market.network_hashrate']}x; mining valued {c['bitcoin']}x, AI valued {c['ai']}x; "
              f"{per_point * n * n / elapsed:4.1f}x faster than naive)")

    # Exactness: one grid point against the plain run with the same seed.
    label, (p1, a1, b1), (p2, a2, b2) = CASES[2]
    i, j = 3, 7
    v1, v2 = np.linspace(a1, b1, n)[i], np.linspace(a2, b2, n)[j]
    row = result_row = pivotsim.sweep(scenario, {p1: np.linspace(a1, b1, n), p2: np.linspace(a2, b2, n)},
                                      paths=args.paths, seed=2025).frame.iloc[i * n + j]
    plain = pivotsim.run(scenario, paths=args.paths, seed=2025,
                         overrides=[f"{p1}={float(v1)!r}", f"{p2}={float(v2)!r}"]).summary()
    same = all(row[f"comparison.npv_difference_usd.{s}"] == plain["comparison"]["npv_difference_usd"][s]
               for s in ("mean", "p5", "p50", "p95"))
    same &= row["comparison.prob_ai_beats_bitcoin"] == plain["comparison"]["prob_ai_beats_bitcoin"]
    print(f"sweep point ({p1}={v1:g}, {p2}={v2:g}) equals pivotsim.run at that point to the last digit: {same}")
    del result_row


if __name__ == "__main__":
    main()
