"""What a sensitivity analysis measures: metric paths into the run summary and their values.

Metrics are addressed by dotted paths into the run summary
(``comparison.npv_difference_usd``, ``bitcoin.base.npv_usd``,
``ai.monte_carlo.npv_usd.p50``); :data:`METRICS` lists them and
:func:`parse_metric` validates them.  ``comparison.base.npv_difference_usd``
(AI minus bitcoin, base case) is added to the summary's own paths.
:func:`metric_value` reads one number of an evaluated point.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass

import numpy as np

from ..runs import describe
from ..errors import PivotsimError
from ..simulate import BUSINESSES, VALUATION_METRICS

STATS = ("mean", "std", "p5", "p25", "p50", "p75", "p95")
_COMMON_BASE = VALUATION_METRICS + ("total_revenue_usd", "ebitda_margin", "revenue_usd_per_kwh")
BASE_KEYS = {
    "bitcoin": _COMMON_BASE + ("hashprice_usd_per_ph_day", "btc_mined", "revenue_per_kwh_spot_usd",
                               "revenue_per_kwh_avg_usd", "cash_cost_per_btc_spot_usd", "cash_cost_per_btc_avg_usd",
                               "all_in_cost_per_btc_usd"),
    "ai": _COMMON_BASE + ("contract_value_usd", "annual_revenue_usd", "prepayment_usd",
                          "revenue_usd_per_kwh_critical_it"),
}
NPV_DIFFERENCE_BASE = "comparison.base.npv_difference_usd"
NPV_DIFFERENCE = "comparison.npv_difference_usd"
PROB_AI_BEATS = "comparison.prob_ai_beats_bitcoin"
TORNADO_METRICS = ("bitcoin.base.npv_usd", "ai.base.npv_usd", NPV_DIFFERENCE_BASE)


def _metric_catalog() -> dict[str, str]:
    """Every allowed metric path (without a statistic suffix) -> its kind."""
    out: dict[str, str] = {}
    for business in BUSINESSES:
        for key in BASE_KEYS[business]:
            out[f"{business}.base.{key}"] = "base"
        for key in VALUATION_METRICS:
            out[f"{business}.monte_carlo.{key}"] = "distribution"
        out[f"{business}.monte_carlo.prob_npv_negative"] = "probability"
    out[NPV_DIFFERENCE_BASE] = "base"
    out[NPV_DIFFERENCE] = "distribution"
    out[PROB_AI_BEATS] = "probability"
    return out


METRICS = _metric_catalog()
"""Allowed metric paths -> kind (``base``, ``distribution`` or ``probability``).

A ``distribution`` path may end with a statistic: ``.mean``, ``.std``,
``.p5``, ``.p25``, ``.p50``, ``.p75`` or ``.p95``.
"""


@dataclass(frozen=True)
class Metric:
    """A validated metric path.

    Attributes
    ----------
    path : str
        As written, e.g. ``ai.monte_carlo.npv_usd.p50``.
    kind : str
        ``base`` (base case, one number), ``distribution`` (Monte Carlo,
        per path) or ``probability`` (Monte Carlo, one number).
    business : str
        ``bitcoin``, ``ai`` or ``comparison``.
    key : str
        ``npv_usd``, ``npv_difference_usd``, ``prob_npv_negative``, ...
    stat : str or None
        Statistic of a distribution (None: the whole distribution).
    """

    path: str
    kind: str
    business: str
    key: str
    stat: str | None = None

    @property
    def root(self) -> str:
        """The path without its statistic."""
        return self.path[: -len(self.stat) - 1] if self.stat else self.path

    @property
    def is_scalar(self) -> bool:
        """One number per evaluation (base, probability, or a distribution's statistic)."""
        return self.kind != "distribution" or self.stat is not None

    @property
    def path_metric(self) -> str | None:
        """Name of the per-path array it reads (``bitcoin_npv_usd``), or None."""
        if self.kind == "base":
            return None
        if self.business == "comparison":
            return "npv_difference_usd"
        if self.key == "prob_npv_negative":
            return f"{self.business}_npv_usd"
        return f"{self.business}_{self.key}"

    def base_counterpart(self) -> "Metric":
        """The base-case metric of the same quantity (for deterministic solving)."""
        if self.kind == "base":
            return self
        if self.kind == "probability":
            raise PivotsimError(f"metric {self.path}: a probability has no base-case value; "
                                "use --stochastic or a base-case metric")
        if self.business == "comparison":
            return parse_metric(NPV_DIFFERENCE_BASE)
        return parse_metric(f"{self.business}.base.{self.key}")

    def with_stat(self, stat: str) -> "Metric":
        return parse_metric(f"{self.root}.{stat}") if self.kind == "distribution" else self


def parse_metric(path: str) -> Metric:
    """Validate a metric path (see :data:`METRICS`).

    Raises
    ------
    PivotsimError
        Naming the path, the closest allowed one and where the list is.
    """
    text = str(path).strip()
    stat = None
    root = text
    head, _, last = text.rpartition(".")
    if last in STATS and METRICS.get(head) == "distribution":
        root, stat = head, last
    kind = METRICS.get(root)
    if kind is None:
        close = difflib.get_close_matches(text, list(METRICS), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise PivotsimError(
            f"metric {text!r} is not allowed{hint}; use a summary path such as {NPV_DIFFERENCE}, "
            f"bitcoin.base.npv_usd or ai.monte_carlo.npv_usd.p50 (all: pivotsim.analysis.metrics.METRICS)")
    business, _, rest = root.partition(".")
    key = rest.rpartition(".")[2]
    return Metric(path=text, kind=kind, business=business, key=key, stat=stat)


@dataclass
class PointResult:
    """What one evaluation of a scenario gives.

    Attributes
    ----------
    base : dict of str -> dict, or None
        Base-case metrics of each business (as in ``summary()[b]["base"]``).
    paths : dict of str -> ndarray (n_paths,), or None
        Per-path metrics (as :meth:`pivotsim.RunResult.path_metrics`).
    """

    base: dict | None = None
    paths: dict | None = None


def metric_value(point: PointResult, metric: Metric, stat: str | None = None) -> float:
    """One number of a point: a base value, a probability or a statistic.

    Parameters
    ----------
    point : PointResult
    metric : Metric
    stat : str, optional
        Statistic for a distribution metric given without one (default mean).

    Returns
    -------
    float
        NaN where the summary would have None (no IRR root, never pays back).
    """
    if metric.kind == "base":
        if metric.business == "comparison":
            return float(point.base["ai"]["npv_usd"]) - float(point.base["bitcoin"]["npv_usd"])
        value = point.base[metric.business][metric.key]
        return math.nan if value is None else float(value)
    values = point.paths[metric.path_metric]
    if metric.kind == "probability":
        if metric.business == "comparison":
            return float(np.mean(values > 0))
        return float(np.mean(values < 0))
    stats = describe(values)[metric.stat or stat or "mean"]
    return math.nan if stats is None else stats
