"""Compiled kernels: how the engine's per-path month loops are written.

Most of the engine is numpy on arrays ``(n_paths, n_periods)``.  A few steps
are recursions over months (network hashrate responding to last months'
margin, tax loss carry-forward, payback, IRR root finding) or build many
month masks per contract tranche; in numpy they cost a pass over the whole
array per month or per mask.  Those steps are *kernels*: plain loops over
paths (outer) and months (inner) compiled by numba, which touch each number
once.

Rules every kernel follows (tests rely on them):

* Arguments are writable C-contiguous float64 arrays ``(n_paths, n_periods)``
  or ``(n_paths,)``, and scalars; a parameter that may vary by path is
  always passed as an ``(n_paths,)`` array (:func:`per_path`), so each
  kernel compiles once, not once per scalar/array or read-only/writable
  combination (a read-only array is another type to numba).
* A path's numbers depend on its own row only: paths outer, months inner,
  no reduction across paths.  So chunking and threads never change a bit.
* No ``fastmath``: IEEE arithmetic in the order written, the same numbers on
  every run.  ``nogil``: threads evaluate chunks in parallel.
  ``cache=True``: compiled once per installation (in ``__pycache__``, or
  numba's user cache when the package folder is read-only).
* ``NUMBA_DISABLE_JIT=1`` runs the same functions as Python (debugging,
  coverage), only slower.
"""

from __future__ import annotations

import os

import numba
import numpy as np

_KERNELS: list = []


def kernel(function):
    """Compile ``function`` as a pivotsim kernel (see the module docstring)."""
    compiled = numba.njit(cache=True, nogil=True, error_model="numpy")(function)
    _KERNELS.append(compiled)
    return compiled


def uncompiled_kernels() -> list:
    """Kernels of the imported modules that have no compiled copy in numba's cache yet (in definition order).

    Empty when numba's cache layout is not the one expected: the CLI's
    compile bar is only a courtesy.
    """
    try:
        return [k for k in _KERNELS if not os.path.exists(k._cache._cache_file._index_path)]
    except AttributeError:
        return []


def is_kernel(dispatcher) -> bool:
    """Whether ``dispatcher`` is one of pivotsim's kernels (not a numba-internal function)."""
    return any(dispatcher is k for k in _KERNELS)


def needs_compiling() -> bool:
    """True when most kernels of the imported modules have no compiled copy in numba's cache yet.

    The first run after installing pivotsim compiles every kernel it calls,
    about half a minute on a small machine; later runs load them from the
    cache in well under a second.  The CLI uses this to say why the first
    run is slow.  (A few kernels that a run never calls stay uncompiled,
    hence "most".)  False when numba's cache layout is not the one expected:
    the notice is only a courtesy.
    """
    try:
        missing = sum(not os.path.exists(k._cache._cache_file._index_path) for k in _KERNELS)
    except AttributeError:
        return False
    return missing > len(_KERNELS) // 2


def per_path(value, n_paths: int) -> np.ndarray:
    """A scalar or per-path parameter as a C-contiguous float64 array ``(n_paths,)``.

    Parameters
    ----------
    value : float or ndarray (n_paths, 1) or (n_paths,)
    n_paths : int
    """
    arr = np.asarray(value, dtype=float).reshape(-1)
    if arr.size not in (1, n_paths):
        raise ValueError(f"per-path parameter has {arr.size} values; expected 1 or {n_paths}")
    return _writable(np.ascontiguousarray(np.broadcast_to(arr, (n_paths,))))


def series(values) -> np.ndarray:
    """A series (e.g. one value per month) as a writable C-contiguous float64 array ``(n,)``."""
    return _writable(np.ascontiguousarray(values, dtype=float).reshape(-1))


def _writable(arr: np.ndarray) -> np.ndarray:
    """``arr``, or a copy when it is read-only (numba compiles read-only arrays as another type)."""
    return arr if arr.flags.writeable else arr.copy()


def rows_of(values, n_paths: int, n_periods: int) -> np.ndarray:
    """A series broadcast to ``(n_paths, n_periods)`` as a C-contiguous float64 array.

    A copy only when ``values`` is not already such an array.
    """
    arr = np.asarray(values, dtype=float)
    if arr.shape == (n_paths, n_periods) and arr.flags.c_contiguous:
        return _writable(arr)
    return _writable(np.ascontiguousarray(np.broadcast_to(arr, (n_paths, n_periods))))


#: paths per pass of the cash-flow kernels: about 1 MB per monthly line at
#: 121 months, so the lines a pass writes are still in cache when the next
#: step (depreciation, tax, net) reads them back
ROWS_PER_PASS = 1024


def scratch_rows(n_rows: int) -> int:
    """Rows of a scratch line reused by every pass of :func:`row_passes`."""
    return min(ROWS_PER_PASS, n_rows)


def row_passes(n_rows: int, kept: dict, scratch: dict):
    """Passes of :data:`ROWS_PER_PASS` rows over a model's monthly lines.

    Parameters
    ----------
    n_rows : int
        Paths of the result.
    kept : dict of str -> ndarray (n_rows, n_periods)
        Lines returned to the caller: each pass sees its rows.
    scratch : dict of str -> ndarray (scratch_rows(n_rows), n_periods)
        Lines reused from pass to pass: each pass sees their first rows.

    Yields
    ------
    rows : slice
        The pass's rows of the result.
    line : dict of str -> ndarray
        Every line (kept and scratch) cut to the pass.
    """
    for start in range(0, n_rows, ROWS_PER_PASS):
        rows = slice(start, min(start + ROWS_PER_PASS, n_rows))
        line = {name: array[rows] for name, array in kept.items()}
        line.update((name, array[:rows.stop - rows.start]) for name, array in scratch.items())
        yield rows, line


def pass_rows(values: np.ndarray, rows: slice) -> np.ndarray:
    """Rows ``rows`` of a per-path array; an array with one row (or a scalar) is shared by all paths."""
    return values[rows] if values.ndim and values.shape[0] > 1 else values
