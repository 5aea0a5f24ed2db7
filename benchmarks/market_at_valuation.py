"""The market at the valuation date and mining's spot/average figures of a scenario, printed.

Run from the repo root::

    PYTHONPATH=. python benchmarks/market_at_valuation.py [pivotsim/scenarios/iren.yaml] [--paths 10000]

Prints ``summary.json``'s ``market.at_valuation`` (the state of
``market.state_date`` rolled forward to the valuation date: p5/p50/p95 over
paths and the base case, next halving dates), mining's base-case cost per BTC
and revenue per kWh (spot, month 1, and average over the horizon), and the
base mining NPV with and without the roll-forward (the figures of the
README's "The market as of the valuation date").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pivotsim  # noqa: E402
from pivotsim.runs import base_case_metrics  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", nargs="?", default=str(ROOT / "pivotsim" / "scenarios" / "iren.yaml"))
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()
    scenario = pivotsim.load_scenario(args.scenario)
    summary = pivotsim.run(scenario, paths=args.paths, seed=args.seed).summary()
    at = summary["market"]["at_valuation"]
    print(f"{scenario.name}: valuation {summary['valuation_date']}, state of {at['state_date']} "
          f"({at['state_days_before_valuation']} days earlier), {args.paths:,} paths, seed {args.seed}")
    for key in ("btc_price_usd", "hashprice_usd_per_ph_day", "network_hashrate_eh_s", "block_height"):
        d = at[key]
        print(f"  {key:26s} p5 {d['p5']:>12,.2f}  p50 {d['p50']:>12,.2f}  p95 {d['p95']:>12,.2f}  base {d['base']:>12,.2f}")
    h = at["next_halving"]
    print(f"  next halving               expected {h['expected']}  p5 {h['p5']}  p95 {h['p95']}")
    b = summary["bitcoin"]["base"]
    print(f"  cash cost per BTC          spot (month 1) ${b['cash_cost_per_btc_spot_usd']:,.0f}, "
          f"average ({summary['horizon_months']} months) ${b['cash_cost_per_btc_avg_usd']:,.0f}, "
          f"all-in ${b['all_in_cost_per_btc_usd']:,.0f}")
    print(f"  revenue per kWh            spot ${b['revenue_per_kwh_spot_usd']:.4f}, "
          f"average ${b['revenue_per_kwh_avg_usd']:.4f}")
    same_day = scenario.with_overrides([f"market.state_date={summary['valuation_date']}"])
    no_gap = base_case_metrics(same_day)["bitcoin"]["npv_usd"]
    print(f"  base mining NPV            ${b['npv_usd'] / 1e6:,.1f}M rolled forward, "
          f"${no_gap / 1e6:,.1f}M with the state placed at the valuation date")


if __name__ == "__main__":
    main()
