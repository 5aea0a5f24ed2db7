"""Uncertain inputs: sampling on the unit hypercube, rank correlation, inverse CDFs.

How a block of the Monte Carlo gets its inputs (as SALib does it: sample the
unit hypercube, then map each column through an inverse CDF):

1. ``u``, an ``(n, k)`` sample of the unit hypercube, one column per
   uncertain input (:func:`uncertain_inputs` gives the order), drawn by the
   scenario's ``sampling`` method: ``random`` (independent uniforms),
   ``lhs`` (Latin hypercube, scrambled: exactly one point per stratum
   ``[j/n, (j+1)/n)`` in every column) or ``sobol`` (scrambled Sobol'
   points, drawn as a set of 2^m >= n points and cut to n);
2. the columns named in ``correlations`` are reordered by Iman–Conover so
   their rank (Spearman) correlations approach the targets, which leaves
   every column's values, and so every marginal, exactly as they were;
3. each column goes through its distribution's inverse CDF
   (:meth:`pivotsim.distributions.Distribution.ppf`), whole-month fields are
   rounded, and the values, shaped ``(n, 1)``, replace the base values in the
   inputs tree (:func:`sample_inputs`).

Block k of the Monte Carlo draws its inputs from the generator
``SeedSequence(seed, spawn_key=(k, 1))``, a stream independent of the market
shocks of the same block (``spawn_key=(k,)``): adding or removing an
uncertain input never changes the market paths, so scenario variants share
their market draws (common random numbers), and a block's numbers do not
depend on how many blocks are computed at once or by how many workers.

Random events are uncertain inputs too: when the scenario has a default
hazard, ``ai.risks.default_event`` is a U(0, 1) draw turned into a default
month by the hosting model; when renewal is uncertain,
``ai.risks.renewal_event`` decides it (renewed when below the probability).
Their base value is the median, 0.5.

References
----------
R. L. Iman and W. J. Conover, "A distribution-free approach to inducing rank
correlation among input variables", *Communications in Statistics -
Simulation and Computation* 11(3), 1982, 311-334.  Spearman's rho of a
bivariate normal with correlation r is (6/pi) arcsin(r/2) (Pearson 1907), so
the normal scores are given the correlation 2 sin(pi rho_s / 6).
J. Herman and W. Usher, "SALib: An open-source Python library for
sensitivity analysis", *JOSS* 2(9), 2017 (unit-hypercube sampling).
"""

from __future__ import annotations

import copy
import difflib
import functools
import math
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
from scipy import special
from scipy.stats import qmc

from .distributions import Distribution, unit_uniform

SAMPLING_METHODS = ("random", "lhs", "sobol")
DEFAULT_EVENT = "ai.risks.default_event"
RENEWAL_EVENT = "ai.risks.renewal_event"


# --------------------------------------------------------------------------- scenario side


def _quantities(scenario) -> dict:
    from .scenario import iter_quantities

    return dict(iter_quantities(scenario))


def uncertain_inputs(scenario) -> dict[str, Distribution]:
    """Every uncertain input of a scenario, in sampling order.

    Parameters
    ----------
    scenario : Scenario

    Returns
    -------
    dict of str -> Distribution
        Dotted path (``"ai.gpu_residual_share"``) to its distribution, whose
        ``.ppf(u)``, ``.base``, ``.kind`` and ``.describe()`` a sensitivity
        analysis can use.  The scenario's distributions come first, in the
        order of the file; then the event draws ``ai.risks.default_event``
        (when a default can happen) and ``ai.risks.renewal_event`` (when the
        renewal is uncertain), both U(0, 1) with base 0.5.
    """
    out: dict[str, Distribution] = {}
    quantities = _quantities(scenario)
    for path, q in quantities.items():
        if q.distribution is not None:
            out[path] = q.distribution
    risks = scenario.ai.risks
    hazard = risks.default_hazard_per_month
    if hazard.distribution is not None or hazard.value > 0:
        out[DEFAULT_EVENT] = unit_uniform(
            "U(0, 1) draw of the default month: first month t with 1 - (1 - h)^t >= u")
    renewal = risks.renewal_probability
    if renewal.distribution is not None or 0 < renewal.value < 1:
        out[RENEWAL_EVENT] = unit_uniform("U(0, 1) draw of the renewal: renewed when u < probability")
    return out


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
    quantities = _quantities(scenario)

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
    normal = _normal_score_correlation(matrix)
    smallest = float(np.linalg.eigvalsh(normal).min())
    if smallest <= 1e-10:
        where = "correlations" if isinstance(spec, list) else "correlations.matrix"
        raise ValueError(f"{where}: the correlations contradict each other (the matrix is not positive "
                         f"definite: smallest eigenvalue {float(np.linalg.eigvalsh(matrix).min()):.3g}); "
                         "lower some of them")
    return paths, matrix


def _normal_score_correlation(spearman: np.ndarray) -> np.ndarray:
    """Pearson correlation of normal scores that gives the Spearman matrix: 2 sin(pi rho / 6)."""
    out = 2.0 * np.sin(np.pi * spearman / 6.0)
    np.fill_diagonal(out, 1.0)
    return out


@dataclass(frozen=True)
class UncertainInputs:
    """What a block needs to draw the scenario's uncertain inputs.

    Attributes
    ----------
    distributions : dict of str -> Distribution
        As :func:`uncertain_inputs`.
    whole : frozenset of str
        Paths whose draws are rounded to whole numbers (months).
    sampling : str
        ``random``, ``lhs`` or ``sobol``.
    correlated : tuple of str
        Paths named in ``correlations``.
    rank_correlation : ndarray or None
        Target Spearman matrix over ``correlated``.
    """

    distributions: dict[str, Distribution]
    whole: frozenset[str] = frozenset()
    sampling: str = "random"
    correlated: tuple[str, ...] = ()
    rank_correlation: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def from_scenario(cls, scenario) -> "UncertainInputs":
        quantities = _quantities(scenario)
        dists = uncertain_inputs(scenario)
        whole = frozenset(p for p in dists if p in quantities and quantities[p].whole)
        corr = correlation_matrix(scenario)
        paths, matrix = corr if corr is not None else ((), None)
        return cls(dists, whole, scenario.sampling, tuple(paths), matrix)

    @property
    def paths(self) -> list[str]:
        return list(self.distributions)

    def __len__(self) -> int:
        return len(self.distributions)

    def unit_sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``(n, k)`` points of the unit hypercube: sampled, then rank-correlated."""
        u = unit_sample(self.sampling, n, len(self), rng)
        if self.rank_correlation is not None and n > len(self.correlated) + 1:
            cols = [self.paths.index(p) for p in self.correlated]
            u[:, cols] = iman_conover(u[:, cols], self.rank_correlation, rng)
        return u

    def values(self, u: np.ndarray) -> dict[str, np.ndarray]:
        """Each input's values ``(n,)`` at unit-hypercube points ``u`` ``(n, k)``."""
        u = np.asarray(u, dtype=float)
        if u.ndim != 2 or u.shape[1] != len(self):
            raise ValueError(f"u must have shape (n, {len(self)}) (one column per uncertain input: "
                             f"{', '.join(self.paths)}), got {u.shape}")
        out = {}
        for j, (path, dist) in enumerate(self.distributions.items()):
            x = dist.ppf(u[:, j])
            out[path] = np.rint(x) if path in self.whole else x
        return out


# --------------------------------------------------------------------------- sampling


def _qmc_engine(cls, d: int, rng: np.random.Generator, **kwargs):
    try:
        return cls(d, rng=rng, **kwargs)
    except TypeError:  # scipy < 1.15 names the generator `seed`
        return cls(d, seed=rng, **kwargs)


def unit_sample(method: str, n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points of the d-dimensional unit hypercube.

    Parameters
    ----------
    method : {"random", "lhs", "sobol"}
        ``random``: independent U(0, 1).  ``lhs``: scrambled Latin hypercube
        (one point per stratum of width 1/n in every dimension).
        ``sobol``: scrambled Sobol' sequence; 2^m >= n points are drawn and
        the first n kept (balance holds exactly when n is a power of 2).
    n, d : int
        Points and dimensions.
    rng : numpy.random.Generator
        The only source of randomness.

    Returns
    -------
    ndarray (n, d)
        Values in [0, 1).
    """
    if d == 0:
        return np.empty((n, 0))
    if method == "random":
        return rng.random((n, d))
    if method == "lhs":
        return latin_hypercube(n, d, rng)
    if method == "sobol":
        m = max(0, math.ceil(math.log2(n)))
        return _qmc_engine(qmc.Sobol, d, rng, scramble=True).random_base2(m)[:n]
    raise ValueError(f"sampling {method!r} is not allowed; must be one of {', '.join(SAMPLING_METHODS)}")


def latin_hypercube(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """Scrambled Latin hypercube: ``n`` points of the d-dimensional unit hypercube.

    Column j holds one point in each stratum ``[i/n, (i+1)/n)``, at a uniform
    position inside it, the strata in a random order.  The same numbers as
    ``scipy.stats.qmc.LatinHypercube(d, rng=rng).random(n)`` (scipy >= 1.15):
    the points come from a child generator spawned from ``rng`` (``rng``'s own
    stream is not used, only its count of spawned children moves), first the
    ``(n, d)`` uniforms, then one shuffle of ``1..n`` per column.  Written
    out because the scipy engine costs more to set up (it copies the
    generator) than to draw a block's sample.
    """
    child = rng.spawn(1)[0]
    jitter = child.uniform(size=(n, d))
    strata = np.tile(np.arange(1, n + 1), (d, 1))
    for column in strata:
        child.shuffle(column)
    return (strata.T - jitter) / n


def iman_conover(sample: np.ndarray, rank_correlation: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Reorder each column of ``sample`` to induce rank correlations (Iman–Conover).

    Parameters
    ----------
    sample : ndarray (n, k)
        Independent columns (any marginals).
    rank_correlation : ndarray (k, k)
        Target Spearman correlation matrix, positive definite.
    rng : numpy.random.Generator
        Shuffles the normal scores.

    Returns
    -------
    ndarray (n, k)
        The same values column by column (``np.sort(out, axis=0)`` equals
        ``np.sort(sample, axis=0)``), reordered so the columns' Spearman
        correlations approach the target.

    References
    ----------
    Iman and Conover (1982); normal (van der Waerden) scores given the
    Pearson correlation 2 sin(pi rho_s / 6).
    """
    x = np.asarray(sample, dtype=float)
    n, k = x.shape
    scores = _normal_scores(n)
    s = np.column_stack([rng.permutation(scores) for _ in range(k)])
    # remove the sample correlation of the shuffled scores, then impose the target
    e = np.corrcoef(s, rowvar=False)
    f = np.linalg.cholesky(e)
    p = np.linalg.cholesky(_normal_score_correlation(np.asarray(rank_correlation, dtype=float)))
    t = s @ np.linalg.inv(f).T @ p.T
    # the value of rank r goes where t has rank r
    order = np.argsort(t, axis=0, kind="stable")
    out = np.empty_like(x)
    np.put_along_axis(out, order, np.sort(x, axis=0), axis=0)
    return out


@functools.lru_cache(maxsize=16)
def _normal_scores(n: int) -> np.ndarray:
    """Van der Waerden scores ``Phi^-1(i / (n + 1))``, i = 1..n (read-only, cached by n)."""
    scores = special.ndtri(np.arange(1, n + 1) / (n + 1))
    scores.flags.writeable = False
    return scores


def input_generator(seed: int, block: int) -> np.random.Generator:
    """Generator of block ``block``'s inputs: ``SeedSequence(seed, spawn_key=(block, 1))``.

    Independent of the block's market generator (``spawn_key=(block,)``).
    """
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(block, 1))))


# --------------------------------------------------------------------------- inputs tree


def _set_path(tree, parts: list[str], value):
    """A copy of ``tree`` with ``parts`` set to ``value``; only the nodes on the path are copied."""
    head, rest = parts[0], parts[1:]
    if isinstance(tree, list):
        node = list(tree)
        i = int(head)
        node[i] = value if not rest else _set_path(tree[i], rest, value)
        return node
    node = copy.copy(tree)
    setattr(node, head, value if not rest else _set_path(getattr(tree, head), rest, value))
    return node


def _base_inputs_of(scenario_or_inputs):
    from .scenario import Scenario, to_inputs

    if isinstance(scenario_or_inputs, Scenario):
        return to_inputs(scenario_or_inputs)
    if not isinstance(scenario_or_inputs, SimpleNamespace) or not hasattr(scenario_or_inputs, "uncertainty"):
        raise TypeError("expected a Scenario or the inputs tree of pivotsim.scenario.to_inputs")
    return scenario_or_inputs


def substitute(inputs, values: dict[str, np.ndarray]):
    """A copy of the inputs tree with each path's base value replaced by ``values[path][:, None]``."""
    out = inputs
    for path, x in values.items():
        out = _set_path(out, path.split("."), np.asarray(x, dtype=float).reshape(-1, 1))
    return out


def sample_inputs(scenario_or_inputs, u: np.ndarray):
    """The inputs tree evaluated at unit-hypercube points.

    For a sensitivity analysis (SALib Sobol', Morris): it chooses the points
    ``u``, pivotsim maps them through each input's inverse CDF.  The points
    are used as given: ``correlations`` are not applied (that is the
    Monte Carlo's job, see :meth:`UncertainInputs.unit_sample`).

    Parameters
    ----------
    scenario_or_inputs : Scenario or namespace
        A scenario, or its inputs tree from :func:`pivotsim.scenario.to_inputs`.
    u : ndarray (n, k)
        Points of the unit hypercube, one column per entry of
        :func:`uncertain_inputs` (same order).

    Returns
    -------
    namespace
        The inputs tree where every uncertain input is an array ``(n, 1)``
        (whole-month fields rounded); the models broadcast it against their
        ``(n_paths, n_months)`` arrays.  Pass it, with market paths of 1 or
        n paths, to :func:`pivotsim.simulate.evaluate`.
    """
    inputs = _base_inputs_of(scenario_or_inputs)
    return substitute(inputs, inputs.uncertainty.values(u))


def block_inputs(inputs, seed: int, block: int, n_paths: int):
    """Inputs of Monte Carlo block ``block``: the base tree when nothing is uncertain.

    Parameters
    ----------
    inputs : namespace
        From :func:`pivotsim.scenario.to_inputs`.
    seed, block : int
        Run seed and block index.
    n_paths : int
        Paths in a block (always the full block size, so that a block's
        draws do not depend on how many of its paths are kept).

    Returns
    -------
    inputs : namespace
        With ``(n_paths, 1)`` arrays for the uncertain inputs.
    values : dict of str -> ndarray (n_paths,)
        The draws, by dotted path.
    """
    values = block_input_draws(inputs, seed, block, n_paths)
    if not values:
        return inputs, {}
    return substitute(inputs, values), values


def block_input_draws(inputs, seed: int, block: int, n_paths: int) -> dict[str, np.ndarray]:
    """The draws of :func:`block_inputs` alone, by dotted path (``{}`` when nothing is uncertain)."""
    spec = getattr(inputs, "uncertainty", None)
    if spec is None or len(spec) == 0:
        return {}
    return spec.values(spec.unit_sample(n_paths, input_generator(seed, block)))


def blocks_inputs(inputs, seed: int, blocks, block_paths: int):
    """Inputs of consecutive blocks evaluated together (one memory chunk).

    Each block draws its own sample exactly as :func:`block_inputs` does, so
    a chunk of blocks gets the concatenation of the blocks' draws: results do
    not depend on how many blocks are computed at once.

    Parameters
    ----------
    inputs : namespace
    seed : int
    blocks : sequence of int
        Block indices, in the order their paths are stacked.
    block_paths : int
        Paths per block.

    Returns
    -------
    inputs : namespace
        With ``(len(blocks) * block_paths, 1)`` arrays for the uncertain inputs.
    values : dict of str -> ndarray (len(blocks) * block_paths,)
    """
    values = blocks_input_draws(inputs, seed, blocks, block_paths)
    if not values:
        return inputs, {}
    return substitute(inputs, values), values


def blocks_input_draws(inputs, seed: int, blocks, block_paths: int) -> dict[str, np.ndarray]:
    """The draws of :func:`blocks_inputs` alone, by dotted path (``{}`` when nothing is uncertain).

    Put them into an inputs tree with :func:`substitute`.
    """
    blocks = list(blocks)
    parts = [block_input_draws(inputs, seed, block, block_paths) for block in blocks]
    if not parts or not parts[0]:
        return {}
    return {path: np.concatenate([p[path] for p in parts]) for path in parts[0]}
