"""`CashFlows`: named monthly line items of one business on a shared timeline."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .timeline import Timeline


@dataclass
class CashFlows:
    """Line items of one business, each an array ``(n_paths, n_periods)``.

    Attributes
    ----------
    timeline : Timeline
        The monthly grid the arrays live on.
    items : dict of str -> ndarray
        Cash line items [USD, nominal], inflows positive, outflows negative
        (``revenue_usd``, ``power_usd``, ``capex_usd``, ...).  Their sum is
        :attr:`net`.
    quantities : dict of str -> ndarray
        Non-cash series on the same grid (``btc_mined``, ``grid_kwh``,
        ``ebitda_usd``, ...), named with their unit.
    net_usd : ndarray, optional
        The sum of the items when a model has it already (fewer passes over
        large arrays); equal to that sum up to rounding.
    bridge_usd : dict of str -> ndarray
        Parts of the net other than operations, by value-bridge part
        (:data:`pivotsim.models.finance.BRIDGE_PARTS`), as cash flows
        broadcastable to ``(n_paths, n_periods)``; empty when not built.
    """

    timeline: Timeline
    items: dict[str, np.ndarray]
    quantities: dict[str, np.ndarray] = field(default_factory=dict)
    net_usd: np.ndarray | None = field(default=None, repr=False)
    bridge_usd: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def net(self) -> np.ndarray:
        """Net cash flow [USD], the sum of all line items."""
        if self.net_usd is not None:
            return self.net_usd
        return sum(self.items.values())

    @property
    def n_paths(self) -> int:
        return int(np.shape(self.net)[0])
