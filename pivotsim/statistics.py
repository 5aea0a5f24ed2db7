"""Statistics of Monte Carlo samples: percentiles and tail, binomial intervals, JSON-safe values."""

from __future__ import annotations

import math

import numpy as np

PERCENTILES = (1, 5, 10, 25, 50, 75, 90, 95, 99)
Z_95 = 1.959963984540054


def finite_or_none(x):
    x = float(x)
    return x if math.isfinite(x) else None


def describe(values: np.ndarray, *, tail: bool = False) -> dict:
    """Statistics of a sample, NaN ignored (None where there is nothing to describe).

    Parameters
    ----------
    values : ndarray
    tail : bool
        Also give ``cvar5``: the mean of the worst 5% (the values at or below
        the 5th percentile), the expected shortfall of an NPV.

    Returns
    -------
    dict
        ``mean``, ``std`` (ddof 1), ``sem`` (std / sqrt(n)), ``count`` (finite
        values), ``p1 p5 p10 p25 p50 p75 p90 p95 p99``, and ``cvar5``.
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    keys = {"mean": None, "std": None, "sem": None, "count": int(v.size),
            **{f"p{q}": None for q in PERCENTILES}}
    if tail:
        keys["cvar5"] = None
    if v.size == 0:
        return keys
    pct = np.percentile(v, PERCENTILES)
    std = float(v.std(ddof=1)) if v.size > 1 else 0.0
    out = {"mean": float(v.mean()), "std": std, "sem": std / math.sqrt(v.size), "count": int(v.size),
           **{f"p{q}": float(p) for q, p in zip(PERCENTILES, pct)}}
    if tail:
        out["cvar5"] = float(v[v <= pct[PERCENTILES.index(5)]].mean())
    return out


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (95% by default).

    References
    ----------
    E. B. Wilson (1927), "Probable inference, the law of succession, and
    statistical inference", JASA 22(158).
    """
    if trials <= 0:
        return (math.nan, math.nan)
    p = successes / trials
    denom = 1.0 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def json_safe(obj):
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return finite_or_none(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj
