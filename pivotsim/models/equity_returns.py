"""The equity's returns on one path: NPV, IRR, MIRR and payback of its monthly flows, in one pass.

What :func:`pivotsim.models.debt.debt_cash_flows` gives each path's equity,
inside the debt kernel's own pass over the paths; the numbers are those of
:func:`pivotsim.models.finance.valuation_metrics` on the same row.
"""

from __future__ import annotations

import numpy as np

from ..compiled import inner_kernel
from . import finance
from .roots import single_root


@inner_kernel
def equity_row_metrics(row, rate, factors, search_grid, search_order, search_position, search_nodes_needed,
                       search_discounts, values, metrics):
    """NPV, IRR, MIRR (per period) and payback of one equity row into ``metrics[0:4]``, as finance's valuation.

    ``factors``: ``(1 + rate)^-t``.  The IRR is that of
    :func:`~pivotsim.models.finance.irr`: on a row with one sign change
    (Descartes: one root) the bracketed Newton search of
    :func:`~pivotsim.models.roots.single_root`; otherwise, or where it
    finds no root in range, finance's grid search (the ``search_*`` arrays of
    its ``_irr_search``, ``values`` its scratch space).
    """
    n = row.shape[0]
    # one pass: the NPV, the cumulative cash (payback), the signs (Descartes) and MIRR's two present values,
    # each summed in the order of finance's own kernels (_valuation_kernel, _sign_changes, _mirr_of_row)
    cash = row[0]
    discounted = cash * factors[0]
    last_negative, shortfall = (0, -cash) if cash < 0.0 else (-1, 0.0)
    any_positive, any_negative = cash > 0.0, cash < 0.0
    changes, previous = 0, cash
    # (adding 0.0 leaves these sums as they were: they never hold -0.0)
    inflows = discounted if cash > 0.0 else 0.0
    outflows = discounted if cash < 0.0 else 0.0
    for t in range(1, n):
        c = row[t]
        term = c * factors[t]
        discounted += term
        cash += c
        if cash < 0.0:
            last_negative, shortfall = t, -cash
        positive, negative = c > 0.0, c < 0.0
        any_positive |= positive
        any_negative |= negative
        inflows += term if positive else 0.0
        outflows += term if negative else 0.0
        if c != 0.0:
            changes += previous != 0.0 and negative != (previous < 0.0)
            previous = c
    metrics[0] = discounted
    root = single_root(row, rate) if changes == 1 else np.nan
    if root != root:
        # int(100), not 100: a bare constant is a type of its own to numba (compiling _irr_of_row once more)
        root = finance._irr_of_row(row, any_positive and any_negative, search_grid, search_order, search_position,
                                   search_nodes_needed, search_discounts, values, int(100), 1e-13)
    metrics[1] = root
    metrics[2] = finance._mirr_of_sums(inflows, outflows, rate, n)
    recovered_in = row[last_negative + 1] if 0 <= last_negative < n - 1 else 0.0
    metrics[3] = finance._payback(last_negative, shortfall, recovered_in, n)
