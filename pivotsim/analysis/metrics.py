"""What a sensitivity analysis measures: metric paths into the run summary and their values.

Metrics are addressed by dotted paths into the run summary
(``comparison.npv_difference_usd``, ``bitcoin.base.npv_usd``,
``ai.monte_carlo.npv_usd.p50``); :data:`METRICS` lists them and
:func:`parse_metric` validates them.  ``comparison.base.npv_difference_usd``
(AI minus bitcoin, base case) is added to the summary's own paths.
A business with debt in its scenario also has its levered metrics, the
summary's ``base.debt`` / ``base.equity`` / ``monte_carlo.debt`` /
``monte_carlo.equity`` blocks (``ai.base.equity.irr``,
``ai.base.debt.min_dscr``, ``ai.monte_carlo.debt.prob_covenant_breach``);
:func:`check_levered` refuses them for a business without debt.
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

#: base-case metrics of a levered business: keys of ``<business>.base`` in the summary
#: (:func:`pivotsim.levered.base_blocks`)
LEVERED_BASE_KEYS = ("equity.npv_usd", "equity.irr", "equity.mirr", "equity.payback_months", "debt.amount_usd",
                     "debt.min_dscr", "debt.avg_dscr", "debt.cost_of_debt", "debt.financing_usd",
                     "npv_with_financing_usd")
#: Monte Carlo distributions of a levered business (keys of ``<business>.monte_carlo``,
#: :func:`pivotsim.levered.monte_carlo_blocks`) -> the per-path array they describe,
#: ``<business>_<name>`` (:data:`pivotsim.models.equity.LEVERED_METRIC_NAMES`)
LEVERED_DISTRIBUTIONS = {"equity.npv_usd": "equity_npv_usd", "equity.irr": "equity_irr",
                         "equity.mirr": "equity_mirr", "equity.payback_months": "equity_payback_months",
                         "debt.amount_usd": "debt_usd", "debt.min_dscr": "min_dscr", "debt.avg_dscr": "avg_dscr",
                         "debt.cost_of_debt": "cost_of_debt"}
#: Monte Carlo probabilities of a levered business -> the per-path array they count
LEVERED_PROBABILITIES = {"debt.prob_covenant_breach": "covenant_breach",
                         "debt.prob_payment_default": "payment_default",
                         "equity.prob_npv_negative": "equity_npv_usd"}
#: the unlevered metric a user without debt can take instead (``npv_usd`` for the rest)
UNLEVERED_COUNTERPART = {"equity.irr": "irr", "equity.mirr": "mirr", "equity.payback_months": "payback_months",
                         "equity.prob_npv_negative": "prob_npv_negative"}


def _metric_catalog() -> dict[str, str]:
    """Every allowed metric path (without a statistic suffix) -> its kind."""
    out: dict[str, str] = {}
    for business in BUSINESSES:
        for key in BASE_KEYS[business]:
            out[f"{business}.base.{key}"] = "base"
        for key in VALUATION_METRICS:
            out[f"{business}.monte_carlo.{key}"] = "distribution"
        out[f"{business}.monte_carlo.prob_npv_negative"] = "probability"
        for key in LEVERED_BASE_KEYS:
            out[f"{business}.base.{key}"] = "base"
        for key in LEVERED_DISTRIBUTIONS:
            out[f"{business}.monte_carlo.{key}"] = "distribution"
        for key in LEVERED_PROBABILITIES:
            out[f"{business}.monte_carlo.{key}"] = "probability"
    out[NPV_DIFFERENCE_BASE] = "base"
    out[NPV_DIFFERENCE] = "distribution"
    out[PROB_AI_BEATS] = "probability"
    return out


METRICS = _metric_catalog()
"""Allowed metric paths -> kind (``base``, ``distribution`` or ``probability``).

A ``distribution`` path may end with a statistic: ``.mean``, ``.std``,
``.p5``, ``.p25``, ``.p50``, ``.p75`` or ``.p95``.

Each business (``bitcoin``, ``ai``) has:

* base case: ``<b>.base.<key>``, a key of :data:`BASE_KEYS` (``npv_usd``,
  ``irr``, ``payback_months``, ...);
* Monte Carlo: ``<b>.monte_carlo.<valuation>[.stat]`` (``npv_usd``, ``irr``,
  ``mirr``, ``payback_months``, ``discounted_payback_months``,
  ``peak_funding_usd``) and ``<b>.monte_carlo.prob_npv_negative``;
* levered, for a business with ``<b>.debt`` in its scenario (the summary's
  debt and equity blocks): ``<b>.base.equity.{npv_usd,irr,mirr,payback_months}``,
  ``<b>.base.debt.{amount_usd,min_dscr,avg_dscr,cost_of_debt,financing_usd}``,
  ``<b>.base.npv_with_financing_usd``;
  ``<b>.monte_carlo.equity.{npv_usd,irr,mirr,payback_months}[.stat]``,
  ``<b>.monte_carlo.debt.{amount_usd,min_dscr,avg_dscr,cost_of_debt}[.stat]``;
  ``<b>.monte_carlo.debt.prob_covenant_breach``,
  ``<b>.monte_carlo.debt.prob_payment_default`` and
  ``<b>.monte_carlo.equity.prob_npv_negative``.

And ``comparison.npv_difference_usd[.stat]``,
``comparison.base.npv_difference_usd``, ``comparison.prob_ai_beats_bitcoin``.
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
        ``npv_usd``, ``npv_difference_usd``, ``prob_npv_negative``, ...; a
        levered metric's keeps its block: ``equity.irr``, ``debt.min_dscr``
        (the path below ``base`` / ``monte_carlo``).
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
    def levered(self) -> bool:
        """A metric of the business's debt or equity (needs ``<business>.debt`` in the scenario)."""
        return self.key in LEVERED_BASE_KEYS or self.key in LEVERED_DISTRIBUTIONS or self.key in LEVERED_PROBABILITIES

    @property
    def path_metric(self) -> str | None:
        """Name of the per-path array it reads (``bitcoin_npv_usd``, ``ai_min_dscr``), or None."""
        if self.kind == "base":
            return None
        if self.business == "comparison":
            return "npv_difference_usd"
        if self.key == "prob_npv_negative":
            return f"{self.business}_npv_usd"
        name = LEVERED_DISTRIBUTIONS.get(self.key) or LEVERED_PROBABILITIES.get(self.key) or self.key
        return f"{self.business}_{name}"

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
    key = rest.partition(".")[2] if rest.startswith(("base.", "monte_carlo.")) else rest
    return Metric(path=text, kind=kind, business=business, key=key, stat=stat)


def check_levered(metrics, scenario) -> None:
    """Refuse a levered metric of a business whose scenario has no debt (before any computation).

    Parameters
    ----------
    metrics : sequence of Metric
    scenario : Scenario

    Raises
    ------
    PivotsimError
        Naming the metric, the business and what to do instead.
    """
    for metric in metrics:
        if metric.levered and not getattr(getattr(scenario, metric.business), "debt", None):
            instead = UNLEVERED_COUNTERPART.get(metric.key, "npv_usd")
            where = "base" if metric.kind == "base" else "monte_carlo"
            raise PivotsimError(
                f"metric {metric.path}: the {metric.business} business has no debt in this scenario, so it has "
                f"no {metric.key.partition('.')[0] if '.' in metric.key else 'financing'} metrics; add "
                f"{metric.business}.debt to the scenario (see the template scenario) or use an unlevered metric "
                f"such as {metric.business}.{where}.{instead}")


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
        value = point.base[metric.business]
        for part in metric.key.split("."):  # equity.irr: the equity block's irr
            value = value[part]
        return math.nan if value is None else float(value)
    values = point.paths[metric.path_metric]
    if metric.kind == "probability":
        if metric.business == "comparison":
            return float(np.mean(values > 0))
        if metric.key in ("debt.prob_covenant_breach", "debt.prob_payment_default"):
            return float(np.mean(values))  # a share of paths: the arrays are 1 on a path that breaches
        return float(np.mean(values < 0))
    stats = describe(values)[metric.stat or stat or "mean"]
    return math.nan if stats is None else stats
