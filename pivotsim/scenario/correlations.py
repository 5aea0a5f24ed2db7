"""Rank correlations between a scenario's uncertain inputs: the target matrix, checked.

References
----------
Spearman's rho of a bivariate normal with correlation r is (6/pi) arcsin(r/2)
(Pearson 1907), so normal scores are given the correlation 2 sin(pi rho_s / 6).
"""

from __future__ import annotations

import difflib
import math

import numpy as np

from .provenance import iter_quantities


def correlation_matrix(scenario) -> tuple[list[str], np.ndarray] | None:
    """Target rank correlations of a scenario, checked.

    Returns
    -------
    (paths, matrix) or None
        The dotted paths named in ``correlations`` (in order of first
        mention) and the symmetric Spearman matrix over them; None without
        correlations.

    Raises
    ------
    ValueError
        ``"correlations...: message"`` when a path is unknown or not a
        distribution, a value is outside [-1, 1], a pair is repeated or the
        matrix is not positive definite.
    """
    spec = scenario.correlations
    if spec is None:
        return None
    quantities = dict(iter_quantities(scenario))

    def check_path(path: str, where: str) -> None:
        if path not in quantities:
            close = difflib.get_close_matches(path, list(quantities), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{where}: {path!r} is not a number of this scenario{hint}")
        if quantities[path].distribution is None:
            raise ValueError(f"{where}: {path} is a fixed number; correlations apply to inputs "
                             "written as distributions ({dist: ...})")

    if isinstance(spec, list):
        paths: list[str] = []
        entries = {}
        for i, entry in enumerate(spec):
            a, b, rho = entry if isinstance(entry, tuple) else (*entry.between, entry.rho)
            where = f"correlations.{i}"
            check_path(a, where)
            check_path(b, where)
            if a == b:
                raise ValueError(f"{where}: {a} is correlated with itself; name two different inputs")
            if not -1 <= rho <= 1 or not math.isfinite(rho):
                raise ValueError(f"{where}: {rho:g} is not allowed; a rank correlation must be within [-1, 1]")
            key = frozenset((a, b))
            if key in entries:
                raise ValueError(f"{where}: the pair {a}, {b} is given twice")
            entries[key] = rho
            for p in (a, b):
                if p not in paths:
                    paths.append(p)
        matrix = np.eye(len(paths))
        for key, rho in entries.items():
            a, b = sorted(key, key=paths.index)
            i, j = paths.index(a), paths.index(b)
            matrix[i, j] = matrix[j, i] = rho
    else:
        paths = list(spec.inputs)
        for path in paths:
            check_path(path, "correlations.inputs")
        if len(set(paths)) != len(paths):
            raise ValueError("correlations.inputs: an input is named twice")
        matrix = np.array(spec.matrix, dtype=float)
        k = len(paths)
        if matrix.shape != (k, k):
            raise ValueError(f"correlations.matrix: expected {k} rows of {k} numbers (one per input), "
                             f"got shape {'x'.join(map(str, matrix.shape))}")
        if not np.allclose(matrix, matrix.T):
            raise ValueError("correlations.matrix: must be symmetric")
        if not np.allclose(np.diag(matrix), 1.0):
            raise ValueError("correlations.matrix: the diagonal must be 1")
        if np.any(np.abs(matrix) > 1):
            raise ValueError("correlations.matrix: rank correlations must be within [-1, 1]")
    normal = normal_score_correlation(matrix)
    smallest = float(np.linalg.eigvalsh(normal).min())
    if smallest <= 1e-10:
        where = "correlations" if isinstance(spec, list) else "correlations.matrix"
        raise ValueError(f"{where}: the correlations contradict each other (the matrix is not positive "
                         f"definite: smallest eigenvalue {float(np.linalg.eigvalsh(matrix).min()):.3g}); "
                         "lower some of them")
    return paths, matrix


def normal_score_correlation(spearman: np.ndarray) -> np.ndarray:
    """Pearson correlation of normal scores that gives the Spearman matrix: 2 sin(pi rho / 6)."""
    out = 2.0 * np.sin(np.pi * spearman / 6.0)
    np.fill_diagonal(out, 1.0)
    return out
