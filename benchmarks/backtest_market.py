"""Back-test of the market model, printed: calibrate on 2016-2022, simulate Jan 2023 - Sep 2025.

Run from the repo root::

    PYTHONPATH=. python benchmarks/backtest_market.py [--paths 20000] [--price-model merton]

From the real state at 2023-01-01 (price, difficulty, two-week hashrate,
block height, fees), simulate the monthly BTC price, network hashrate and
hashprice, and report for each: the share of realised months inside the
simulated p5-p95 (and p25-p75) band, the p50 error (median of
|p50 / realised - 1|) and the band width (median of (p95 - p5) / p50).
Goal of issue 4: realised hashprice inside p5-p95 in at least 80% of months.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pivotsim.calibration import BACKTEST_SERIES, backtest_market  # noqa: E402

DATA = next((p / "shared" / "data" / "btc" / "btc_network_daily_coinmetrics.csv" for p in ROOT.parents
             if (p / "shared" / "data" / "btc").is_dir()), ROOT.parent / "shared" / "data" / "btc")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--paths", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--price-model", default="merton", choices=("merton", "gbm"))
    parser.add_argument("--table", action="store_true", help="print the month-by-month table")
    args = parser.parse_args()

    bt = backtest_market(DATA, "2016-01-01", "2022-12-31", "2025-09-30", paths=args.paths, seed=args.seed,
                         price_model=args.price_model)
    c = bt.calibration
    print(f"calibrated on {c.start}..{c.end} ({c.months} months) of {DATA.name}; t = 0 is {c.valuation_date}")
    print(f"  price: mu {c.btc_drift_per_year:.3f}/yr, diffusion sigma {c.btc_volatility_per_year:.3f}, "
          f"jumps {c.btc_jump_intensity_per_year:.1f}/yr of N({c.btc_jump_mean_log:.3f}, "
          f"{c.btc_jump_volatility_log:.3f}) [{args.price_model}]")
    print(f"  hashrate: dlog H = {c.hashrate_response_intercept_per_month:.4f} + "
          f"{c.hashrate_response_slope_per_month:.4f} x(t-{c.hashrate_response_lag_months}) + noise "
          f"{c.hashrate_volatility_per_year:.3f}/sqrt(yr); frontier -{c.efficiency_frontier_decline_per_year:.1%}/yr")
    print(f"  fees: long-run {c.fee_long_run_btc_per_block:.3f} BTC/block, reversion "
          f"{c.fee_mean_reversion_per_year:.2f}/yr, spikes {c.fee_spike_probability_per_month:.1%}/month")
    print(f"\nsimulated {bt.paths:,} paths (seed {bt.seed}), {bt.scores['hashprice_usd_per_ph_day']['months']} months "
          f"{bt.table.index[0].date()}..{bt.table.index[-1].date()}\n")
    print(f"{'series':28s} {'in p5-p95':>10s} {'in p25-p75':>11s} {'p50 error':>10s} {'band width':>11s}")
    for name in BACKTEST_SERIES:
        s = bt.scores[name]
        t = bt.table
        inner = np.mean((t[f"{name}_realised"] >= t[f"{name}_p25"]) & (t[f"{name}_realised"] <= t[f"{name}_p75"])) \
            if f"{name}_p25" in t else float("nan")
        print(f"{name:28s} {s['coverage_p5_p95']:10.0%} {inner:11.0%} {s['median_abs_pct_error_p50']:10.1%} "
              f"{s['median_band_width']:11.2f}")
    goal = bt.scores["hashprice_usd_per_ph_day"]["coverage_p5_p95"] >= 0.8
    print(f"\ngoal (hashprice inside p5-p95 in >= 80% of months): {'met' if goal else 'NOT met'}")
    if args.table:
        import pandas as pd

        with pd.option_context("display.width", 200, "display.max_columns", 20):
            print(bt.table.round(1))


if __name__ == "__main__":
    main()
