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
``ai.risks.renewal_event`` decides it (renewed when below the probability);
when a late tranche may or may not be cancelled, ``ai.risks.termination_event``
(cancelled when below ``termination_probability``).  Their base value is the
median, 0.5.

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

import functools
import math
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from .scenario.correlations import correlation_matrix, normal_score_correlation
from .scenario.distributions import Distribution, unit_uniform
from .scenario.provenance import iter_quantities
from .seeds import input_generator

SAMPLING_METHODS = ("random", "lhs", "sobol")
DEFAULT_EVENT = "ai.risks.default_event"
RENEWAL_EVENT = "ai.risks.renewal_event"
TERMINATION_EVENT = "ai.risks.termination_event"


# --------------------------------------------------------------------------- scenario side


def _quantities(scenario) -> dict:
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
        renewal is uncertain) and ``ai.risks.termination_event`` (when a
        cancellation past the long-stop is uncertain), U(0, 1) with base 0.5.
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
    termination = risks.termination_probability
    if scenario.ai.long_stop_months is not None and (termination.distribution is not None
                                                     or 0 < termination.value < 1):
        out[TERMINATION_EVENT] = unit_uniform(
            "U(0, 1) draw of the customer's cancellation past the long-stop: cancels when u < probability")
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
        from scipy.stats import qmc  # scipy.stats only for Sobol' sampling, not for every run

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
    p = np.linalg.cholesky(normal_score_correlation(np.asarray(rank_correlation, dtype=float)))
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





def block_input_draws(inputs, seed: int, block: int, n_paths: int) -> dict[str, np.ndarray]:
    """The draws of :func:`block_inputs` alone, by dotted path (``{}`` when nothing is uncertain)."""
    spec = getattr(inputs, "uncertainty", None)
    if spec is None or len(spec) == 0:
        return {}
    return spec.values(spec.unit_sample(n_paths, input_generator(seed, block)))


def blocks_input_draws(inputs, seed: int, blocks, block_paths: int) -> dict[str, np.ndarray]:
    """The draws of :func:`blocks_inputs` alone, by dotted path (``{}`` when nothing is uncertain).

    Put them into an inputs tree with :func:`substitute`.
    """
    blocks = list(blocks)
    parts = [block_input_draws(inputs, seed, block, block_paths) for block in blocks]
    if not parts or not parts[0]:
        return {}
    return {path: np.concatenate([p[path] for p in parts]) for path in parts[0]}
