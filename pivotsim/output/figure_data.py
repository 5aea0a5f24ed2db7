"""What the run folder's figures read from a run: :class:`RunFigureData`, arrays and numbers only.

Made from a :class:`~pivotsim.runs.RunResult` by :func:`figure_data`; cheap
to pickle, and drawn without the engine (:mod:`pivotsim.output.figures`,
:mod:`pivotsim.output.figure_worker`).  numpy only: no matplotlib, no engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

LABELS = {"bitcoin": "Bitcoin mining", "ai": "AI hosting"}
RUN_FIGURE_DPI = 120
"""Resolution of the run folder's PNGs [dots per inch]."""
MARKET_SERIES = ("btc_price_usd", "network_hashrate_eh_s", "hashprice_usd_per_ph_day", "block_height")
NPV_METRICS = ("bitcoin_npv_usd", "ai_npv_usd", "npv_difference_usd")


@dataclass(frozen=True)
class RunFigureData:
    """What the run figures read from a run: arrays and numbers only.

    Attributes
    ----------
    scenario_name : str
    paths : int
        Monte Carlo paths of the run.
    dates : ndarray of datetime64
        Month-end dates of the timeline (n_periods,).
    samples : dict of str -> ndarray
        Sampled paths ``(n_samples, n_periods)`` (``RunResult.samples``).
    base_market : dict of str -> ndarray
        Base-case market series (n_periods,) of :data:`MARKET_SERIES`.
    base_net_usd : dict of str -> ndarray
        Base-case net cash flow of each business per month [USD].
    metrics : dict of str -> ndarray
        Per-path NPVs of :data:`NPV_METRICS` [USD].
    value_bridges : dict of str -> dict
        Base-case value bridge of each business (part -> present value [USD]).
    halving_months : tuple of int
        Months (indices into ``dates``) of the halvings on the base path.
    dscr_base : dict of str -> ndarray
        Base-case monthly DSCR of each levered business [-] (NaN outside repayment).
    covenant_dscr : dict of str -> float or None
        Tightest DSCR covenant of each levered business [-].
    """

    scenario_name: str
    paths: int
    dates: np.ndarray
    samples: dict = field(default_factory=dict)
    base_market: dict = field(default_factory=dict)
    base_net_usd: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    value_bridges: dict = field(default_factory=dict)
    halving_months: tuple = ()
    dscr_base: dict = field(default_factory=dict)
    covenant_dscr: dict = field(default_factory=dict)


def figure_data(result, summary: dict | None = None) -> RunFigureData:
    """The :class:`RunFigureData` of a run.

    Parameters
    ----------
    result : RunResult or RunFigureData
        A RunFigureData is returned as it is.
    summary : dict, optional
        ``result.summary()`` when already made (the value bridges come from
        it); else the run's own (:meth:`~pivotsim.runs.RunResult.base_value_bridges`,
        the same numbers).
    """
    if isinstance(result, RunFigureData):
        return result
    from ..models.timeline import HALVING_INTERVAL_BLOCKS  # loaded with the result that came in; not in a worker

    # (not the whole summary: the break-even BTC price it solves can wait until summary.json is written)
    given = result.base_value_bridges() if summary is None else {b: summary[b]["base"]["value_bridge"] for b in LABELS}
    bridges = {b: {part: np.nan if v is None else float(v) for part, v in given[b].items()} for b in LABELS}
    debt = getattr(result, "debt", None) or {}
    covenants = {}
    for business, levered in debt.items():
        tight = [t.covenant_dscr for t in levered.terms.tranches if t.covenant_dscr]
        covenants[business] = max(tight) if tight else None
    eras = np.floor(np.asarray(result.base_market.block_height, dtype=float).ravel() / HALVING_INTERVAL_BLOCKS)
    return RunFigureData(
        scenario_name=result.scenario.name, paths=int(result.paths),
        dates=np.array(result.timeline.month_dates, dtype="datetime64[s]"),  # as pandas gives them, without pandas
        samples=dict(result.samples),
        base_market={name: np.asarray(getattr(result.base_market, name), dtype=float).ravel()
                     for name in MARKET_SERIES},
        base_net_usd={b: np.asarray(result.base[b].net, dtype=float).ravel() for b in LABELS},
        metrics={name: np.asarray(result.metrics[name]) for name in NPV_METRICS},
        value_bridges=bridges,
        halving_months=tuple(int(m) for m in np.flatnonzero(np.diff(eras) > 0) + 1),
        dscr_base={b: np.asarray(levered.lines["dscr"], dtype=float).ravel() for b, levered in debt.items()},
        covenant_dscr=covenants)
