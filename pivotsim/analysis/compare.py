"""Deals side by side: ``pivotsim compare`` and :func:`pivotsim.compare`.

Each scenario is valued as ``pivotsim run`` values it (base case and Monte
Carlo of the AI deal and of mining on the same grid power), with one seed
for all and the market's random shocks drawn over the longest horizon of the
set, so every deal sees the same market path month by month (common random
numbers): differences between rows come from the deals, not from noise.
A deal's Monte Carlo statistics therefore equal ``pivotsim run`` with the
same seed only when ``run`` is given the same ``market_horizon_months``.

NPV per MW is per MW of the site's grid power, the basis both businesses
share (critical IT = grid MW / ``ai.pue``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from ..runs import DEFAULT_PATHS, DEFAULT_SEED, run
from ..errors import PivotsimError
from ..models.hosting import KW_PER_MW, critical_it_mw
from ..scenario import Scenario, load_scenario
from ..inputs import to_inputs
from .claims import spot_mining

COMPARE_COLUMNS = (
    "deal", "label", "scenario_file", "kind",
    "grid_power_mw", "critical_it_mw", "term_months", "horizon_months",
    "contract_value_usd", "annual_revenue_usd", "prepayment_usd", "rent_usd_per_kw_month",
    "ai_revenue_usd_per_kwh_critical_it", "ai_revenue_usd_per_kwh_grid",
    "bitcoin_revenue_usd_per_kwh_grid_spot", "bitcoin_revenue_usd_per_kwh_grid",
    "ai_npv_usd", "bitcoin_npv_usd", "ai_npv_usd_per_mw_grid", "bitcoin_npv_usd_per_mw_grid",
    "ai_irr", "bitcoin_irr", "ai_payback_months", "bitcoin_payback_months",
    "ai_peak_funding_usd", "bitcoin_peak_funding_usd",
    "ai_npv_p5_usd", "ai_npv_p95_usd", "bitcoin_npv_p5_usd", "bitcoin_npv_p95_usd",
    "npv_difference_mean_usd", "npv_difference_p5_usd", "npv_difference_p50_usd",
    "prob_ai_beats_bitcoin",
    "bitcoin_fleet", "ai_share", "bitcoin_npv_existing_minus_new_usd",
)
"""Columns of :func:`compare`, in order (a stable contract: add, never rename)."""


def _label(name: str, width: int = 28) -> str:
    short = name.split(",")[0].strip()
    return short if len(short) <= width else short[: width - 1] + "…"


def _nan(x) -> float:
    return math.nan if x is None else float(x)


def _row(scenario: Scenario, paths: int, seed: int, market_horizon_months: int, client=None) -> dict:
    result = run(scenario, paths=paths, seed=seed, market_horizon_months=market_horizon_months, client=client)
    summary = result.summary()
    inputs = to_inputs(scenario)
    ai, btc = summary["ai"]["base"], summary["bitcoin"]["base"]
    grid_mw = float(inputs.site.grid_power_mw)
    it_mw = float(critical_it_mw(inputs))
    ai_mc, btc_mc = summary["ai"]["monte_carlo"]["npv_usd"], summary["bitcoin"]["monte_carlo"]["npv_usd"]
    diff = summary["comparison"]["npv_difference_usd"]
    return {
        "deal": scenario.name,
        "label": _label(scenario.name),
        "scenario_file": scenario.file or "",
        "kind": scenario.ai.kind,
        "grid_power_mw": grid_mw,
        "critical_it_mw": it_mw,
        "term_months": float(inputs.ai.term_months),
        "horizon_months": float(inputs.scenario.horizon_months),
        "contract_value_usd": _nan(ai["contract_value_usd"]),
        "annual_revenue_usd": _nan(ai["annual_revenue_usd"]),
        "prepayment_usd": _nan(ai["prepayment_usd"]),
        "rent_usd_per_kw_month": _nan(ai["annual_revenue_usd"]) / (it_mw * KW_PER_MW * 12),
        "ai_revenue_usd_per_kwh_critical_it": _nan(ai["revenue_usd_per_kwh_critical_it"]),
        "ai_revenue_usd_per_kwh_grid": _nan(ai["revenue_usd_per_kwh"]),
        "bitcoin_revenue_usd_per_kwh_grid_spot": spot_mining(scenario)["revenue_usd_per_kwh_grid"],
        "bitcoin_revenue_usd_per_kwh_grid": _nan(btc["revenue_usd_per_kwh"]),
        **{f"{name}_{key}": _nan(base[key]) for name, base in (("ai", ai), ("bitcoin", btc))
           for key in ("npv_usd", "irr", "payback_months", "peak_funding_usd")},
        **{f"{name}_npv_usd_per_mw_grid": _nan(base["npv_usd"]) / grid_mw for name, base in (("ai", ai), ("bitcoin", btc))},
        **{f"{name}_npv_{q}_usd": _nan(mc[q]) for name, mc in (("ai", ai_mc), ("bitcoin", btc_mc)) for q in ("p5", "p95")},
        "npv_difference_mean_usd": _nan(diff["mean"]),
        "npv_difference_p5_usd": _nan(diff["p5"]),
        "npv_difference_p50_usd": _nan(diff["p50"]),
        "prob_ai_beats_bitcoin": _nan(summary["comparison"]["prob_ai_beats_bitcoin"]),
        # the framing of each side (pivotsim.framing): existing or new fleet, share of the site converted
        "bitcoin_fleet": summary["framing"]["bitcoin_fleet"],
        "ai_share": summary["framing"]["ai_share"],
        "bitcoin_npv_existing_minus_new_usd": summary["framing"]["existing_minus_new_usd"],
    }


def compare(scenarios: Sequence[Scenario | str | Path], paths: int = DEFAULT_PATHS,
            seed: int = DEFAULT_SEED, *,
            progress: Callable[[int, int, str], None] | None = None, client=None) -> pd.DataFrame:
    """Value several deals on equal terms and return one row per deal.

    Parameters
    ----------
    scenarios : sequence of Scenario or path
        Scenarios or YAML files, in the order of the rows.
    paths : int
        Monte Carlo paths per deal.
    seed : int
        One seed for every deal (common random numbers).
    progress : callable(done, total, deal_name), optional
        Called after each deal.
    client : distributed.Client, optional
        Run each deal's Monte Carlo on this Dask cluster (identical numbers).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COMPARE_COLUMNS`, one row per scenario in the given
        order.  Money in USD, rates as fractions, ``*_per_mw_grid`` per MW
        of grid power, revenue per kWh in USD/kWh (AI: over the contract;
        mining: ``_spot`` at the valuation date's price and difficulty, and
        the base-case average over the horizon).  Missing values (no IRR,
        never pays back) are NaN.  ``attrs`` holds ``seed``, ``paths`` and
        ``market_horizon_months``.

    Examples
    --------
    >>> import glob, pivotsim
    >>> table = pivotsim.compare(library_files(), paths=2000)  # doctest: +SKIP
    >>> table[["label", "ai_npv_usd_per_mw_grid", "prob_ai_beats_bitcoin"]]          # doctest: +SKIP
    """
    if isinstance(scenarios, (str, Path, Scenario)):
        scenarios = [scenarios]
    if not scenarios:
        raise PivotsimError("compare: no scenarios given; pass one or more scenario files")
    loaded = [s if isinstance(s, Scenario) else load_scenario(s) for s in scenarios]
    horizon = max(int(s.scenario.horizon_months.value) for s in loaded)
    rows = []
    for i, scenario in enumerate(loaded):
        rows.append(_row(scenario, paths, seed, horizon, client))
        if progress is not None:
            progress(i + 1, len(loaded), scenario.name)
    frame = pd.DataFrame(rows, columns=list(COMPARE_COLUMNS))
    frame.attrs.update({"seed": int(seed), "paths": int(paths), "market_horizon_months": horizon})
    return frame


def compare_records(frame: pd.DataFrame) -> dict:
    """A :func:`compare` table as a JSON-ready dict (NaN -> None)."""
    deals = []
    for record in frame.to_dict(orient="records"):
        deals.append({k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                      for k, v in record.items()})
    return {**{k: frame.attrs.get(k) for k in ("seed", "paths", "market_horizon_months")},
            "columns": list(frame.columns), "deals": deals}


def plot_comparison(frame: pd.DataFrame, path: str | Path | None = None):
    """Revenue per kWh and NPV per MW by deal, AI against mining on the same power.

    Parameters
    ----------
    frame : pandas.DataFrame
        A :func:`compare` table.
    path : path, optional
        Write the figure there (PNG by the suffix).

    Returns
    -------
    matplotlib.figure.Figure
        Left: revenue per kWh of grid power on a log scale (AI over the
        contract, mining at the valuation date), with source 004's claimed
        ranges shaded.  Right: base-case NPV per MW of grid power with the
        Monte Carlo 5th-95th percentiles as whiskers.
    """
    from matplotlib.figure import Figure

    n = len(frame)
    y = np.arange(n)
    h = 0.38
    fig = Figure(figsize=(13, 2.0 + 0.62 * n), layout="constrained")
    ax_kwh, ax_npv = fig.subplots(1, 2, sharey=True)
    ai_color, btc_color = "#2b6cb0", "#dd8a0e"

    ax_kwh.axvspan(0.17, 0.20, color=btc_color, alpha=0.15, lw=0, label="004 claim, mining $0.17-0.20")
    ax_kwh.axvspan(3.0, 5.0, color=ai_color, alpha=0.12, lw=0, label="004 claim, AI $3-5")
    ax_kwh.barh(y - h / 2, frame["ai_revenue_usd_per_kwh_grid"], h, color=ai_color,
                label="AI deal (contract average)")
    ax_kwh.barh(y + h / 2, frame["bitcoin_revenue_usd_per_kwh_grid_spot"], h, color=btc_color,
                label="mining (valuation date)")
    ax_kwh.scatter(frame["ai_revenue_usd_per_kwh_critical_it"], y - h / 2, marker="|", s=160,
                   color="black", zorder=3, label="AI per kWh of critical IT")
    ax_kwh.set_xscale("log")
    ax_kwh.set_xlim(0.03, 6.0)
    ticks = [0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0]
    ax_kwh.set_xticks(ticks, [f"${x:g}" for x in ticks])
    ax_kwh.minorticks_off()
    ax_kwh.set_xlabel("revenue per kWh of grid power [USD/kWh, log scale]")
    ax_kwh.set_yticks(y, frame["label"])
    ax_kwh.invert_yaxis()
    ax_kwh.legend(loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=3, fontsize=7.5, frameon=False)
    ax_kwh.set_title("Revenue per kWh", loc="left")

    scale = 1e6
    for offset, prefix, color, name in ((-h / 2, "ai", ai_color, "AI deal"),
                                        (h / 2, "bitcoin", btc_color, "mining, same power")):
        mw = frame["grid_power_mw"]
        base = frame[f"{prefix}_npv_usd_per_mw_grid"] / scale
        lo = frame[f"{prefix}_npv_p5_usd"] / mw / scale
        hi = frame[f"{prefix}_npv_p95_usd"] / mw / scale
        ax_npv.barh(y + offset, base, h, color=color, label=f"{name} (base case)")
        ax_npv.errorbar(base, y + offset, xerr=[np.clip(base - lo, 0, None), np.clip(hi - base, 0, None)],
                        fmt="none", ecolor="black", elinewidth=0.8, capsize=2)
    ax_npv.axvline(0, color="black", lw=0.8)
    ax_npv.set_xlabel("NPV per MW of grid power [USD M/MW]; whiskers: Monte Carlo p5-p95")
    ax_npv.legend(loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=2, fontsize=7.5, frameon=False)
    seed, paths = frame.attrs.get("seed"), frame.attrs.get("paths")
    ax_npv.set_title("NPV per MW" + (f" ({paths:,} paths, seed {seed})" if paths else ""), loc="left")
    for ax in (ax_kwh, ax_npv):
        ax.grid(axis="x", alpha=0.3)
    if path is not None:
        fig.savefig(path, dpi=150)
    return fig
