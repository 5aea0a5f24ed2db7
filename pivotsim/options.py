"""Option valuation by least-squares Monte Carlo: the public face of :mod:`pivotsim.analysis.options`.

``pivotsim.options.lsm_american_put`` is the engine's check against the
published American put table (Longstaff and Schwartz 2001, Table 1); the
switching option of a mining site (:mod:`pivotsim.analysis.timing`) runs on
the same fitting and pricing functions.
"""

from .analysis.options import (BASIS_KINDS, MAX_BASIS_ORDER, StoppingPolicy, apply_stopping_policy,
                               fit_stopping_policy, lsm_american_put, mean_and_se)

__all__ = ["lsm_american_put", "fit_stopping_policy", "apply_stopping_policy", "StoppingPolicy",
           "mean_and_se", "BASIS_KINDS", "MAX_BASIS_ORDER"]
