"""What drives the spread of a Monte Carlo result: contribution to variance, from the run's own paths.

A base-case tornado moves one input at a time around one deterministic
path; it cannot see what only the Monte Carlo varies (the bitcoin price
path, its jumps, fees, hashrate) and it ranks signed contract terms that
the run never draws.  This module reads the paths the run made instead,
as a regression tornado does in @RISK or Crystal Ball: each path's output
(the NPV difference, AI minus mining) is regressed on each path's draws of
the uncertain inputs, with the market shocks as one group summarised per
path.

How the variance is shared out
------------------------------
With inputs standardised, the linear model's R^2 is ``r' R^-1 r``
(``R`` the correlation matrix of the inputs, ``r`` their correlations with
the output).  With independent inputs R^2 is the sum of the squared
standardised regression coefficients, and each input's share is its own
square.  The Monte Carlo's inputs are not always independent (rank
correlations between construction delay and capex overrun, the market
summaries among themselves), so the shares here are the Shapley values of
R^2 over the *players* (an input, or a group such as the market): each
player gets its average gain in R^2 when it joins every coalition of the
others (Lindeman, Merenda and Gold 1980; Grömping 2007).  They are
non-negative, add up to R^2, equal the squared coefficients when inputs are
independent, and split the credit evenly between two interchangeable
correlated inputs.  The part of the variance the linear model leaves,
``1 - R^2``, is reported as such (interactions and non-linear effects), not
spread over the inputs.

``method="rank"`` does the same on ranks (standardised rank regression,
Spearman correlations): the right reading when the output is a monotone but
curved function of an input (a price that enters through a ratio or an
exponential).

References
----------
R. H. Lindeman, P. F. Merenda and R. Z. Gold (1980), *Introduction to
Bivariate and Multivariate Analysis*, Scott Foresman, p. 119 ff.
U. Grömping (2007), "Estimators of relative importance in linear regression
based on variance decomposition", *The American Statistician* 61(2), 139-147.
A. Saltelli et al. (2008), *Global Sensitivity Analysis: The Primer*, Wiley,
§1.2.5 (standardised regression coefficients) and §1.2.6 (rank regression).
Palisade, *@RISK User's Guide*, "Tornado graphs: regression coefficients".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import combinations
from typing import Mapping, Sequence

import numpy as np

from .errors import PivotsimError

DRIVER_METHODS = ("regression", "rank")
#: players beyond this are pooled into one "other inputs" group (the Shapley sum visits 2^players coalitions)
MAX_PLAYERS = 14
OTHER_INPUTS = "other inputs"
MIN_PATHS = 20


@dataclass(frozen=True)
class Driver:
    """One player of the variance decomposition.

    Attributes
    ----------
    name : str
        The input's dotted path, or the group's name.
    label : str
        Human label (from the caller; the name when none was given).
    contribution : float
        Share of the output's variance attributed to it, [0, 1]; the shares
        of all drivers add up to ``r_squared``.
    coefficient : float
        Standardised regression coefficient in the full model (sign: the
        direction the output moves when the input rises); NaN for a group.
    correlation : float
        Correlation of the input with the output (Pearson, or Spearman for
        ``method="rank"``); for a group, the square root of the R^2 of the
        group alone.
    members : tuple of str
        Columns of a group (the name alone for an input).
    """

    name: str
    label: str
    contribution: float
    coefficient: float
    correlation: float
    members: tuple[str, ...]

    @property
    def is_group(self) -> bool:
        return self.members != (self.name,)


@dataclass(frozen=True)
class DriversResult:
    """Contribution of each uncertain input (and the market as a group) to the variance of an output.

    Attributes
    ----------
    output : str
        What was explained, e.g. ``npv_difference_usd``.
    method : str
        ``regression`` or ``rank``.
    paths : int
        Paths used (those with every value finite).
    r_squared : float
        Share of the variance the linear (or rank-linear) model explains.
    drivers : list of Driver
        Largest contribution first.
    output_std : float
        Standard deviation of the output over the paths used (in its unit).
    """

    output: str
    method: str
    paths: int
    r_squared: float
    drivers: list[Driver] = field(default_factory=list)
    output_std: float = math.nan

    @property
    def unexplained(self) -> float:
        """``1 - R^2``: interactions and non-linear effects the linear model leaves."""
        return max(0.0, 1.0 - self.r_squared)

    @property
    def key_driver(self) -> Driver | None:
        return self.drivers[0] if self.drivers else None

    def to_frame(self) -> "pd.DataFrame":  # noqa: F821 - pandas only for the table
        """One row per driver: name, label, contribution, coefficient, correlation, members."""
        import pandas as pd

        return pd.DataFrame([{"name": d.name, "label": d.label, "contribution": d.contribution,
                              "coefficient": d.coefficient, "correlation": d.correlation,
                              "members": ", ".join(d.members)} for d in self.drivers])

    def summary(self) -> dict:
        """JSON-ready: what ``summary.json`` keeps under ``comparison.drivers``."""
        def finite(x):
            return float(x) if math.isfinite(x) else None

        return {"output": self.output, "method": self.method, "paths": self.paths,
                "r_squared": float(self.r_squared), "unexplained": float(self.unexplained),
                "drivers": [{"name": d.name, "label": d.label, "contribution": float(d.contribution),
                             "coefficient": finite(d.coefficient), "correlation": finite(d.correlation),
                             **({"members": list(d.members)} if d.is_group else {})}
                            for d in self.drivers]}


def _r_squared(corr: np.ndarray, cols: Sequence[int]) -> float:
    """R^2 of the output (last row of ``corr``) on the columns ``cols``: r' R^-1 r."""
    if not cols:
        return 0.0
    idx = np.asarray(cols)
    r = corr[idx, -1]
    sub = corr[np.ix_(idx, idx)]
    beta = np.linalg.lstsq(sub, r, rcond=None)[0]  # least squares: collinear columns do not break it
    return float(min(1.0, max(0.0, r @ beta)))


def shapley_r_squared(corr: np.ndarray, players: Sequence[Sequence[int]]) -> np.ndarray:
    """Shapley values of R^2 over players (groups of columns) from a correlation matrix.

    Parameters
    ----------
    corr : ndarray (k + 1, k + 1)
        Correlation matrix of k inputs and, last, the output.
    players : sequence of sequence of int
        Column indices of each player (an input alone, or a group).

    Returns
    -------
    ndarray (n_players,)
        Each player's share; they add up to the R^2 of all columns.

    References
    ----------
    Lindeman, Merenda and Gold (1980); Grömping (2007), the LMG measure.
    """
    n = len(players)
    if n > MAX_PLAYERS:
        raise ValueError(f"players: {n} is too many; at most {MAX_PLAYERS} (pool the smallest)")
    value = {}
    for size in range(n + 1):
        for coalition in combinations(range(n), size):
            cols = [c for p in coalition for c in players[p]]
            value[coalition] = _r_squared(corr, cols)
    weights = [math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n) for s in range(n)]
    out = np.zeros(n)
    for coalition, v in value.items():
        members = set(coalition)
        for p in range(n):
            if p in members:
                continue
            joined = tuple(sorted(members | {p}))
            out[p] += weights[len(coalition)] * (value[joined] - v)
    return out


def _standardised(x: np.ndarray, method: str) -> np.ndarray:
    if method == "rank":
        from scipy.stats import rankdata  # scipy.stats only when ranks are asked for, not for every run

        x = rankdata(x, axis=0)
    return x


def variance_drivers(columns: Mapping[str, np.ndarray], output: np.ndarray, *,
                     groups: Mapping[str, Sequence[str]] | None = None, method: str = "regression",
                     labels: Mapping[str, str] | None = None, output_name: str = "npv_difference_usd"
                     ) -> DriversResult:
    """Share the variance of a Monte Carlo output among its inputs, from the paths themselves.

    Parameters
    ----------
    columns : dict of str -> ndarray (n_paths,)
        Per-path values of each input (the run's draws, ``input.<path>``
        without the prefix) and of any per-path summaries of the market.
    output : ndarray (n_paths,)
        The output on the same paths [its unit, e.g. USD].
    groups : dict of str -> sequence of str, optional
        Columns counted as one player (``{"market": [...]}``); a column
        belongs to at most one group.  Columns in no group are players alone.
    method : {"regression", "rank"}
        Standardised linear regression, or the same on ranks.
    labels : dict of str -> str, optional
        Human labels of inputs and groups.
    output_name : str
        Name recorded in the result.

    Returns
    -------
    DriversResult
        Largest contribution first.  Columns that do not vary over the paths
        (fixed inputs) are left out; with more than :data:`MAX_PLAYERS`
        players, the ones that explain least alone are pooled as
        ``"other inputs"``.

    Raises
    ------
    PivotsimError
        Unknown method, mismatched lengths, a column in two groups or in
        none that exists, fewer than :data:`MIN_PATHS` usable paths.
    """
    if method not in DRIVER_METHODS:
        raise PivotsimError(f"--method: {method!r} is not allowed for drivers; must be one of "
                            f"{', '.join(DRIVER_METHODS)}")
    groups = {str(k): list(v) for k, v in (groups or {}).items()}
    labels = dict(labels or {})
    y = np.asarray(output, dtype=float).ravel()
    names = list(columns)
    data = []
    for name in names:
        x = np.asarray(columns[name], dtype=float).ravel()
        if x.shape != y.shape:
            raise PivotsimError(f"drivers: column {name} has {x.size} values, the output {y.size}")
        data.append(x)
    grouped: dict[str, str] = {}
    for group, members in groups.items():
        for m in members:
            if m not in columns:
                raise PivotsimError(f"drivers: group {group!r} names {m!r}, which is not a column")
            if m in grouped:
                raise PivotsimError(f"drivers: column {m!r} is in groups {grouped[m]!r} and {group!r}")
            grouped[m] = group
    x = np.column_stack(data) if data else np.empty((y.size, 0))
    keep = np.isfinite(y) & np.all(np.isfinite(x), axis=1)
    x, y = x[keep], y[keep]
    n = int(y.size)
    if n < MIN_PATHS:
        raise PivotsimError(f"drivers: {n} paths with finite values; at least {MIN_PATHS} are needed")
    output_std = float(y.std(ddof=1))
    varying = [j for j in range(x.shape[1]) if np.ptp(x[:, j]) > 0]
    if output_std == 0 or not varying:
        return DriversResult(output_name, method, n, 0.0, [], output_std)
    z = _standardised(np.column_stack([x[:, varying], y]), method)
    corr = np.corrcoef(z, rowvar=False)
    corr = np.nan_to_num(corr)
    kept = [names[j] for j in varying]
    index = {name: i for i, name in enumerate(kept)}

    # players: each ungrouped column, then each group with a varying member
    players: list[tuple[str, list[int]]] = [(name, [index[name]]) for name in kept if name not in grouped]
    for group, members in groups.items():
        cols = [index[m] for m in members if m in index]
        if cols:
            players.append((group, cols))
    if len(players) > MAX_PLAYERS:
        alone = sorted(players, key=lambda p: -_r_squared(corr, p[1]))
        top, rest = alone[:MAX_PLAYERS - 1], alone[MAX_PLAYERS - 1:]
        players = top + [(OTHER_INPUTS, [c for _, cols in rest for c in cols])]
        groups = {**groups, OTHER_INPUTS: [kept[c] for _, cols in rest for c in cols]}

    shares = shapley_r_squared(corr, [cols for _, cols in players])
    all_cols = list(range(len(kept)))
    beta = np.linalg.lstsq(corr[np.ix_(all_cols, all_cols)], corr[all_cols, -1], rcond=None)[0]
    r_squared = float(min(1.0, max(0.0, corr[all_cols, -1] @ beta)))
    drivers = []
    for (name, cols), share in zip(players, shares):
        single = len(cols) == 1 and name not in groups
        members = (name,) if single else tuple(kept[c] for c in cols)
        drivers.append(Driver(
            name=name, label=labels.get(name, name), contribution=float(max(0.0, share)),
            coefficient=float(beta[cols[0]]) if single else math.nan,
            correlation=float(corr[cols[0], -1]) if single else math.sqrt(_r_squared(corr, cols)),
            members=members))
    drivers.sort(key=lambda d: (-d.contribution, d.name))
    return DriversResult(output_name, method, n, r_squared, drivers, output_std)


INPUT_PREFIX = "input."
MARKET_PREFIX = "market."
MARKET_GROUP = "market"
MARKET_LABEL = "Market paths (BTC price, hashrate, fees, power)"


def run_drivers(metrics: Mapping[str, np.ndarray], *, output: str = "npv_difference_usd",
                method: str = "regression", labels: Mapping[str, str] | None = None) -> DriversResult:
    """Drivers of a Monte Carlo run's output from its per-path metrics.

    Parameters
    ----------
    metrics : dict of str -> ndarray (paths,)
        ``RunResult.metrics``: each uncertain input's draws as
        ``input.<dotted path>`` and the market summaries as ``market.<name>``
        (:mod:`pivotsim.models.path_summaries`), which form one group.
    output : str
        The metric explained (default the NPV difference, AI minus mining).
    method : {"regression", "rank"}
    labels : dict of str -> str, optional
        Human labels by dotted input path.

    Returns
    -------
    DriversResult
    """
    columns = {k[len(INPUT_PREFIX):]: v for k, v in metrics.items() if k.startswith(INPUT_PREFIX)}
    market = {k: v for k, v in metrics.items() if k.startswith(MARKET_PREFIX)}
    columns.update(market)
    groups = {MARKET_GROUP: list(market)} if market else {}
    all_labels = {MARKET_GROUP: MARKET_LABEL, **(labels or {})}
    return variance_drivers(columns, metrics[output], groups=groups, method=method, labels=all_labels,
                            output_name=output)
