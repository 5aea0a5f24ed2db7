"""Back-test of the market model on real data, printed.

Run from the repo root::

    PYTHONPATH=. python benchmarks/backtest_market.py [--paths 10000] [--price-model merton]
    PYTHONPATH=. python benchmarks/backtest_market.py --single   # the 2016-2022 fit scored on 2023-2025

Rolling origins (default): calibration windows from 2016-01-01 ending every
six months from 2019-06-30 to 2024-12-31; from each origin's real state the
model forecasts log hashprice 1-24 months ahead (as far as the data goes).
Printed per horizon band: the mean pinball loss at p5, p25, p50, p75 and p95
of the model and of two naive forecasts (*flat*: price and difficulty stay;
*trend*: difficulty grows at its trailing 12-month rate; each with the
window's spread of h-month changes of log(price / hashrate)), and the share
of realised months inside each forecast's p5-p95 band (goal of issue 15:
85-95% at every horizon band).  ``--fees`` scores the fee process fitted on
windows of different lengths before each origin (which window reflects the
fee market best).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pivotsim.calibration import (BACKTEST_QUANTILES, BACKTEST_SERIES, backtest_market,  # noqa: E402
                                  rolling_backtest, rolling_fee_backtest, score_backtest, score_forecast)

DATA = next((p / "shared" / "data" / "btc" / "btc_network_daily_coinmetrics.csv" for p in ROOT.parents
             if (p / "shared" / "data" / "btc").is_dir()), ROOT.parent / "shared" / "data" / "btc")
ORIGINS = [d.date() for d in pd.date_range("2019-06-30", "2024-12-31", freq="6ME")]


def rolling(args) -> None:
    started = time.perf_counter()
    table = rolling_backtest(DATA, ORIGINS, paths=args.paths, seed=args.seed, price_model=args.price_model,
                             fee_window_months=args.fee_window_months)
    scores = score_backtest(table)
    print(f"rolling origins: {len(ORIGINS)} windows 2016-01-01..{ORIGINS[0]} ... ..{ORIGINS[-1]}, "
          f"{len(table)} (origin, month) pairs, {args.paths:,} paths each, seed {args.seed}, "
          f"{args.price_model}, fees fitted on "
          f"{'the whole window' if args.fee_window_months is None else f'the last {args.fee_window_months} months'}; "
          f"data {DATA.name} to {table['date'].max()}")
    print("pinball loss on log hashprice (lower is better) and p5-p95 coverage (goal 85-95%)\n")
    quantile_cols = [f"pinball_q{round(q * 100):02d}" for q in BACKTEST_QUANTILES]
    head = (f"{'months':>7s} {'forecast':>8s} " + " ".join(f"{c[-3:]:>6s}" for c in quantile_cols)
            + f" {'mean':>6s} {'p5-p95':>7s} {'n':>4s}")
    print(head)
    for (band, forecast), row in scores.iterrows():
        print(f"{band:>7s} {forecast:>8s} " + " ".join(f"{row[c]:6.4f}" for c in quantile_cols)
              + f" {row['pinball_mean']:6.4f} {row['coverage_p5_p95']:7.0%} {int(row['n']):4d}")
    model = scores.xs("model", level="forecast")
    best = all(scores.loc[(band, "model"), "pinball_mean"]
               <= min(scores.loc[(band, f), "pinball_mean"] for f in ("flat", "trend")) for band in model.index)
    in_goal = model["coverage_p5_p95"].between(0.85, 0.95)
    print(f"\nmodel beats both naive forecasts on mean pinball loss in every band: {'yes' if best else 'NO'}")
    print("model p5-p95 coverage in 85-95% by band: "
          + ", ".join(f"{b} {'yes' if ok else 'NO'}" for b, ok in in_goal.items()))
    if args.table:
        with pd.option_context("display.width", 200, "display.max_columns", 30):
            print(table.round(3))
    print(f"\n({time.perf_counter() - started:.0f} s)")


def fees(args) -> None:
    """Which window of months to fit the fee process on (issue 15's fee-level review)."""
    print("fees per block [BTC]: the fee process fitted on the months before each origin, scored 1-24 months on")
    print(f"{'window':>16s} {'pinball (log)':>14s} {'p5-p95':>7s} {'n':>4s}")
    for window in (None, 48, 36, 24, 18):
        s = score_forecast(rolling_fee_backtest(DATA, ORIGINS, window), "fees")
        label = "2016-01 to origin" if window is None else f"last {window} months"
        print(f"{label:>16s} {s['pinball_mean']:14.4f} {s['coverage_p5_p95']:7.0%} {s['n']:4d}")


def single(args) -> None:
    bt = backtest_market(DATA, "2016-01-01", "2022-12-31", "2025-09-30", paths=args.paths, seed=args.seed,
                         price_model=args.price_model)
    c = bt.calibration
    print(f"calibrated on {c.start}..{c.end} ({c.months} months) of {DATA.name}; t = 0 is {c.valuation_date}")
    print(f"  fees: long-run {c.fee_long_run_btc_per_block:.3f} BTC/block, reversion "
          f"{c.fee_mean_reversion_per_year:.2f}/yr, spikes {c.fee_spike_probability_per_month:.1%}/month")
    print(f"{'series':28s} {'in p5-p95':>10s} {'in p25-p75':>11s} {'p50 error':>10s} {'band width':>11s}")
    for name in BACKTEST_SERIES:
        s = bt.scores[name]
        print(f"{name:28s} {s['coverage_p5_p95']:10.0%} {s['coverage_p25_p75']:11.0%} "
              f"{s['median_abs_pct_error_p50']:10.1%} {s['median_band_width']:11.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--price-model", default="merton", choices=("merton", "gbm"))
    parser.add_argument("--fee-window-months", type=int, default=36,
                        help="fit fees on this many months before each origin (0: the whole window)")
    parser.add_argument("--single", action="store_true", help="the 2016-2022 fit scored on 2023-2025 only")
    parser.add_argument("--fees", action="store_true", help="score the fee process fitted on windows of each length")
    parser.add_argument("--table", action="store_true", help="print every (origin, month) row")
    args = parser.parse_args()
    np.seterr(all="ignore")
    args.fee_window_months = args.fee_window_months or None
    (single if args.single else fees if args.fees else rolling)(args)


if __name__ == "__main__":
    main()
