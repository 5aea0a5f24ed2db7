"""Analyses on top of the engine: provenance of a scenario's numbers, the
source claims checked against the model, the comparison of deals, and
sensitivity (sweeps, tornado, Sobol'/Morris, break-even: :mod:`.sensitivity`).

Library code here returns DataFrames and dicts; only ``pivotsim.cli`` prints.
"""

from .claims import check_claims, load_library, revenue_per_kwh, spot_mining
from .compare import COMPARE_COLUMNS, compare, plot_comparison
from .sources import missing_provenance, provenance_table, unused_sources

__all__ = ["provenance_table", "missing_provenance", "unused_sources",
           "check_claims", "revenue_per_kwh", "spot_mining", "load_library",
           "compare", "plot_comparison", "COMPARE_COLUMNS"]
