"""Sensitivity grids for a note: a metric on a small table of two inputs (BTC price x power price, ...).

A grid is a two-parameter sweep (:func:`pivotsim.analysis.sensitivity.sweep`,
the one engine, common random numbers) laid out as rows x columns, with the
scenario's own values in the middle so the centre cell is the number on the
note's first page.  The default grids of a note:

* the NPV difference (AI minus mining) over the starting BTC price and the
  site's power price, which move the two businesses in opposite ways;
* the AI deal's NPV over its price (contract value for a GPU cloud, the rent
  or contract value for colocation) and its facility capex per MW.

They are read on the base case (deterministic path, every input at its base
value), so the centre cell equals the base-case figure of the headline
table; what the Monte Carlo adds is in the drivers and the distributions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from ..errors import PivotsimError

#: multiples of the base value on each axis of a default grid
BTC_FACTORS = (0.5, 0.75, 1.0, 1.25, 1.5)
#: steps of the power price around its base value [USD/kWh]: half a cent and a cent
POWER_STEPS_USD_PER_KWH = (-0.01, -0.005, 0.0, 0.005, 0.01)
PRICE_FACTORS = (0.8, 0.9, 1.0, 1.1, 1.2)
CAPEX_FACTORS = (0.8, 0.9, 1.0, 1.15, 1.3)
NPV_DIFFERENCE_BASE = "comparison.base.npv_difference_usd"
AI_NPV_BASE = "ai.base.npv_usd"
AI_PRICE_FIELDS = ("contract_value_usd", "rent_usd_per_kw_month", "annual_revenue_usd")


@dataclass(frozen=True)
class GridSpec:
    """What a grid shows: a metric over two inputs' values.

    Attributes
    ----------
    title : str
    metric : str
        A sweep metric path (:data:`pivotsim.analysis.sensitivity.METRICS`).
    rows, cols : (str, tuple of float)
        Dotted input path and its values, ascending, the base value among them.
    """

    title: str
    metric: str
    rows: tuple[str, tuple[float, ...]]
    cols: tuple[str, tuple[float, ...]]


@dataclass(frozen=True)
class SensitivityGrid:
    """A metric on rows x columns of two inputs.

    Attributes
    ----------
    spec : GridSpec
    values : ndarray (n_rows, n_cols)
        The metric at each pair [its unit, USD for NPVs].
    base : (int, int) or None
        Row and column of the scenario's own values.
    """

    spec: GridSpec
    values: np.ndarray
    base: tuple[int, int] | None

    @property
    def row_values(self) -> tuple[float, ...]:
        return self.spec.rows[1]

    @property
    def col_values(self) -> tuple[float, ...]:
        return self.spec.cols[1]

    def to_frame(self) -> pd.DataFrame:
        """Rows indexed by the row input's values, one column per column-input value."""
        return pd.DataFrame(self.values, index=pd.Index(self.row_values, name=self.spec.rows[0]),
                            columns=pd.Index(self.col_values, name=self.spec.cols[0]))

    def summary(self) -> dict:
        return {"title": self.spec.title, "metric": self.spec.metric,
                "rows": {"path": self.spec.rows[0], "values": list(self.row_values)},
                "cols": {"path": self.spec.cols[0], "values": list(self.col_values)},
                "values": [[float(x) if math.isfinite(x) else None for x in row] for row in self.values]}


def scaled(base: float, factors: Sequence[float], *, whole: bool = False) -> tuple[float, ...]:
    """``base * factor`` for each factor (rounded to 4 significant digits, whole numbers if asked)."""
    out = []
    for f in factors:
        x = base * f
        x = float(round(x)) if whole else float(f"{x:.4g}")
        out.append(base if f == 1.0 else x)
    return tuple(sorted(set(out)))


def stepped(base: float, steps: Sequence[float]) -> tuple[float, ...]:
    """``base + step`` for each step, rounded to 0.1 of a unit's thousandth, kept above zero."""
    out = [base if s == 0 else round(base + s, 4) for s in steps]
    return tuple(sorted({x for x in out if x > 0}))


def ai_price_path(scenario) -> str:
    """The field that prices the AI deal: contract value, or the rent for colocation."""
    for name in AI_PRICE_FIELDS:
        if getattr(scenario.ai, name, None) is not None:
            return f"ai.{name}"
    raise PivotsimError("ai: no contract value, rent or annual revenue to vary")  # schema forbids it


def _base_value(scenario, path: str) -> float:
    node = scenario
    for part in path.split("."):
        node = node[int(part)] if isinstance(node, list) else getattr(node, part)
    return float(node.value)


def default_grid_specs(scenario) -> list[GridSpec]:
    """The note's two grids for a scenario (see the module docstring)."""
    btc = _base_value(scenario, "market.btc_price_usd")
    power = _base_value(scenario, "site.power_price_usd_per_kwh")
    price_path = ai_price_path(scenario)
    price = _base_value(scenario, price_path)
    capex = _base_value(scenario, "ai.datacenter_capex_usd_per_mw")
    specs = [GridSpec("NPV difference (AI minus mining), base case: BTC price x power price", NPV_DIFFERENCE_BASE,
                      ("market.btc_price_usd", scaled(btc, BTC_FACTORS, whole=True)),
                      ("site.power_price_usd_per_kwh", stepped(power, POWER_STEPS_USD_PER_KWH)))]
    if capex > 0:
        specs.append(GridSpec("AI hosting NPV, base case: deal price x facility capex", AI_NPV_BASE,
                              (price_path, scaled(price, PRICE_FACTORS)),
                              ("ai.datacenter_capex_usd_per_mw", scaled(capex, CAPEX_FACTORS))))
    return specs


def sensitivity_grid(scenario, spec: GridSpec, *, sweep: Callable, paths: int = 0, seed: int = 0
                     ) -> SensitivityGrid:
    """Evaluate one grid with the sweep engine.

    Parameters
    ----------
    scenario : Scenario
    spec : GridSpec
    sweep : callable
        :func:`pivotsim.analysis.sensitivity.sweep` (passed in: the grid
        only lays out what the sweep computes).
    paths, seed : int
        For Monte Carlo metrics; a base-case metric runs no paths.

    Returns
    -------
    SensitivityGrid
    """
    (row_path, row_values), (col_path, col_values) = spec.rows, spec.cols
    result = sweep(scenario, {row_path: list(row_values), col_path: list(col_values)}, [spec.metric],
                   paths=max(int(paths), 1), seed=int(seed))
    values = np.asarray(result.grid(spec.metric), dtype=float)
    base = None
    try:
        base = (row_values.index(_base_value(scenario, row_path)), col_values.index(_base_value(scenario, col_path)))
    except ValueError:
        pass
    return SensitivityGrid(spec=spec, values=values, base=base)
