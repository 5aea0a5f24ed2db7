"""The PERT's inverse CDF from Chebyshev pieces: the one compiled kernel of the scenario layer.

Kept apart from :mod:`pivotsim.scenario.distributions` so that reading and
validating a scenario does not import numba; the kernel is imported when a
PERT distribution is first evaluated.
"""

from __future__ import annotations

import math

import numpy as np

from ..compiled import kernel


@kernel
def beta_quantile(q, pieces, out):
    """Beta inverse CDF at each ``q`` from the pieces of :func:`pivotsim.scenario.distributions._beta_quantile_pieces`.

    NaN where ``q`` is within 2^-20 of 0 or 1 (or not a number) or its piece
    was not accepted: the caller computes those exactly.
    """
    n_pieces = pieces.shape[1]
    degree = pieces.shape[2] - 1
    for i in range(q.shape[0]):
        if q[i] < 0.5:
            half = 0
            z = q[i]
        else:
            half = 1
            z = 1.0 - q[i]  # exact for q >= 0.5
        e = math.frexp(z)[1]  # 2^(e-1) <= z < 2^e
        k = max(-e - 1, 0)  # z = 0.5 belongs to piece 0, as its right end
        if not (z > 0.0) or k >= n_pieces:
            out[i] = np.nan
            continue
        s = math.ldexp(z, k + 3) - 3.0
        c = pieces[half, k]
        b1 = 0.0
        b2 = 0.0
        for j in range(degree, 0, -1):  # Clenshaw
            b1, b2 = c[j] + 2.0 * s * b1 - b2, b1
        out[i] = c[0] + s * b1 - b2
