"""Speed and convergence of the switching option (least-squares Monte Carlo), printed.

Run from the repo root::

    PYTHONPATH=. python benchmarks/bench_timing.py            # timing + convergence table
    PYTHONPATH=. python benchmarks/bench_timing.py --quick    # timing only

Figures:

* ``pivotsim.analysis.timing.value_timing`` on IREN's mining site
  (scenarios/iren_mining.yaml, 810 MW, horizon 132 months, build 12 months)
  with 120 monthly decision dates and one block: 100,000 fit paths plus
  100,000 independent pricing paths, regression included, on two threads
  (target <= 5 s on this 2-core machine);
* the engine's own run of the same 100,000 paths (``pivotsim.simulate.simulate``,
  mining and AI cash flows and valuation, two threads) and the ratio;
* a convergence table: optimal value and its standard error by paths
  (fit = pricing) and basis order, the same path sets reused across orders;
* the README's IREN figures: ``pivotsim timing iren_timing.yaml
  --paths 50000`` (seed 2025), as ``pivotsim.timing`` gives them.

Times are the best of a few repeats (the machine is shared).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pivotsim  # noqa: E402
from pivotsim.analysis import timing  # noqa: E402
from pivotsim.analysis.options import apply_stopping_policy, fit_stopping_policy, mean_and_se  # noqa: E402
from pivotsim.models.conversion import ConversionTerms  # noqa: E402
from pivotsim.models.lease_market import LeaseIndex  # noqa: E402
from pivotsim.inputs import to_inputs  # noqa: E402
from pivotsim.simulate import simulate  # noqa: E402

SCENARIO = ROOT / "pivotsim" / "scenarios" / "iren_mining.yaml"
HORIZON = 132
PATHS = 100_000
THREADS = 2
OPTION = timing.TimingOption(
    terms=ConversionTerms(conversion_capex_usd_per_mw=9e6, build_months=12, term_months=180, ai_pue=1.2,
                          opex_usd_per_mw_year=215_000, asic_resale_usd_per_mw=300_000,
                          asic_resale_decline_per_year=0.3),
    rent_index=LeaseIndex(start=130.0, drift_per_year=0.0, volatility_per_year=0.2, btc_rank_correlation=0.2),
    blocks=(1.0,))


def best_of(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def convergence(inputs, path_counts, orders, seed=2025):
    setup = timing._setup(inputs, OPTION, seed)
    rows = []
    for n in path_counts:
        fit = timing._path_set(setup, n, 0, THREADS, 10_000)
        price = timing._path_set(setup, n, timing.PRICING_BLOCK_OFFSET, THREADS, 10_000)
        for order in orders:
            policy, in_sample, _ = fit_stopping_policy(fit["exercise"], fit["features"], running=fit["running"],
                                                       final=fit["final"], order=order, date_major=True)
            values, _ = apply_stopping_policy(policy, price["exercise"], price["features"], running=price["running"],
                                              final=price["final"], date_major=True)
            mean, se = mean_and_se(values * price["site_mw"])
            rows.append((n, order, mean, se, float(np.mean(in_sample * fit["site_mw"]))))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="skip the convergence table")
    args = parser.parse_args()
    inputs = to_inputs(pivotsim.load_scenario(SCENARIO))
    inputs.scenario.horizon_months = HORIZON
    n_dates = len(timing.decision_months(OPTION, HORIZON))
    timing.value_timing(inputs, OPTION, 4000, 1, threads=THREADS)  # compile / load kernels
    simulate(inputs, 4000, 1, threads=THREADS)

    seconds, result = best_of(lambda: timing.value_timing(inputs, OPTION, PATHS, 2025, threads=THREADS), 2)
    engine_seconds, _ = best_of(lambda: simulate(inputs, PATHS, 2025, threads=THREADS), 2)
    s = result.summary()
    print(f"switching option, {PATHS:,} fit + {PATHS:,} pricing paths x {n_dates} monthly decisions, one block, "
          f"{THREADS} threads: {seconds:.2f} s (target <= 5 s)")
    print(f"engine's own run of {PATHS:,} paths (mining + AI + valuation, {THREADS} threads): {engine_seconds:.2f} s; "
          f"ratio timing / engine = {seconds / engine_seconds:.2f}")
    print(f"  mine forever {s['value_mine_forever_usd'] / 1e6:,.1f} M, convert now {s['value_convert_now_usd'] / 1e6:,.1f}"
          f" M, optimal {s['value_optimal_usd'] / 1e6:,.1f} M (s.e. {s['value_optimal_se_usd'] / 1e6:.1f} M), "
          f"option value of waiting {s['option_value_of_waiting_usd'] / 1e6:,.1f} M; "
          f"P(convert within 1/2/5 y) {s['prob_convert_within_years']}")
    iren = pivotsim.timing(ROOT / "pivotsim" / "scenarios" / "iren_timing.yaml", paths=50_000, seed=2025, threads=THREADS)
    t = iren.summary()
    print(f"\niren_timing.yaml, 50,000 + 50,000 paths, seed 2025 (USD M): mine forever "
          f"{t['value_mine_forever_usd'] / 1e6:,.2f} (s.e. {t['value_mine_forever_se_usd'] / 1e6:.2f}), convert now "
          f"{t['value_convert_now_usd'] / 1e6:,.2f}, optimal {t['value_optimal_usd'] / 1e6:,.2f} "
          f"(s.e. {t['value_optimal_se_usd'] / 1e6:.2f}), option value of waiting "
          f"{t['option_value_of_waiting_usd'] / 1e6:,.2f}; P(convert within 1/2/5 y) {t['prob_convert_within_years']}; "
          "blocks: " + ", ".join(f"{b['prob_convert']:.1%} (median month {b['median_conversion_month']:.0f})"
                                 for b in t["blocks"]))
    if args.quick:
        return
    print("\nconvergence (fit paths = pricing paths; USD M; in-sample = fit set under its own rule)")
    print(f"{'paths':>8} {'order':>5} {'optimal':>10} {'s.e.':>7} {'in-sample':>10}")
    for n, order, mean, se, in_sample in convergence(inputs, (5_000, 20_000, 50_000), (1, 2, 3, 4, 6)):
        print(f"{n:>8,} {order:>5} {mean / 1e6:>10.1f} {se / 1e6:>7.1f} {in_sample / 1e6:>10.1f}")


if __name__ == "__main__":
    main()
