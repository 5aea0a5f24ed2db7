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
  combination (a read-only array is another type to numba).  Between
  kernels, an integer constant written as a call's argument (``f(x, 100)``)
  is a type of its own to numba, compiling ``f`` once per constant (a
  local variable holding it too): write ``int(100)``.
  ``benchmarks/kernel_compile.py`` lists each kernel's compiled signatures.
* A path's numbers depend on its own row only: paths outer, months inner,
  no reduction across paths.  So chunking and threads never change a bit.
* No ``fastmath``: IEEE arithmetic in the order written, the same numbers on
  every run.  ``nogil``: threads evaluate chunks in parallel.
  ``cache=True``: compiled once per installation (in ``__pycache__``, or
  numba's user cache when the package folder is read-only).
* A kernel only other kernels call is an :func:`inner_kernel`: compiled
  without a Python entry point (``tests/test_compiled.py`` checks the
  library's runs call none from Python).
* ``NUMBA_DISABLE_JIT=1`` runs the same functions as Python (debugging,
  coverage), only slower.

The first run after installing compiles every kernel it calls.  To share
that work with an idle second core, :func:`compile_ahead` starts one background
process that compiles the kernels a library run calls from Python
(:data:`pivotsim.compiled_plan.PLAN`, with their signatures), the last-called
first, into the same cache, while this process compiles in call order as it
goes; each skips what the other has cached, and a kernel the background
process saved is loaded, not compiled, when the run reaches it.  The machine
code is the same whichever process compiled it, so the numbers are too; a
background process that fails or is cut short only leaves more to compile
here.
"""

from __future__ import annotations

import atexit
import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
from numba.core.registry import CPUDispatcher

from ._cpus import spare_cpu

_KERNELS: list = []


def kernel(function, *, from_python: bool = True):
    """Compile ``function`` as a pivotsim kernel (see the module docstring)."""
    compiled = numba.njit(cache=True, nogil=True, error_model="numpy",
                          no_cpython_wrapper=not from_python, no_cfunc_wrapper=not from_python)(function)
    _KERNELS.append(compiled)
    return compiled


class _InnerKernel(CPUDispatcher):
    """The dispatcher of an :func:`inner_kernel`: Python may not call it (it has no Python entry point)."""

    def __call__(self, *args, **kwargs):
        raise TypeError(f"{self.py_func.__name__} is an inner kernel: only other kernels call it")


def inner_kernel(function):
    """Compile ``function`` as a kernel only other kernels call: it has no entry point from Python.

    numba otherwise builds each kernel a CPython wrapper (boxing and
    unboxing its arguments) and a C callback wrapper, whether Python calls
    it or not: 2.2 s of the 16.2 s the first run of every library scenario
    spends compiling (``benchmarks/kernel_compile.py``).  Called from
    Python it raises ``TypeError`` (without its wrapper numba would crash).
    """
    compiled = kernel(function, from_python=False)
    if isinstance(compiled, CPUDispatcher):  # (not with NUMBA_DISABLE_JIT: a plain function)
        compiled.__class__ = _InnerKernel
    return compiled


def uncompiled_kernels() -> list:
    """Kernels of the imported modules that have no compiled copy in numba's cache yet (in definition order).

    Empty when numba's cache layout is not the one expected: the CLI's
    compile bar is only a courtesy.
    """
    try:
        return [k for k in _KERNELS if not is_cached(k)]
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
        missing = sum(not is_cached(k) for k in _KERNELS)
    except AttributeError:
        return False
    return missing > len(_KERNELS) // 2


def is_cached(dispatcher) -> bool:
    """Whether numba's cache holds a compiled copy of ``dispatcher`` (any signature)."""
    return os.path.exists(dispatcher._cache._cache_file._index_path)


_SCALARS = {"float64": numba.types.float64, "int64": numba.types.int64, "bool": numba.types.boolean}


def signature_text(arg_types) -> str | None:
    """Numba argument types as the text :func:`signature_types` reads, e.g. ``float64[:, ::1], readonly int64[::1], bool``.

    None when a type is outside the kernel rules (a non-contiguous array, a
    constant, an omitted default...).
    """
    texts = []
    for t in arg_types:
        if isinstance(t, numba.types.Array) and t.layout == "C" and t.ndim >= 1 and str(t.dtype) in _SCALARS:
            texts.append(f"{'' if t.mutable else 'readonly '}{t.dtype}[{', '.join([':'] * (t.ndim - 1) + ['::1'])}]")
        elif str(t) in _SCALARS and t == _SCALARS[str(t)]:
            texts.append(str(t))
        else:
            return None
    return ", ".join(texts)


def signature_types(text: str) -> tuple:
    """The numba argument types of a :func:`signature_text`."""
    types = []
    for readonly, name, dims in re.findall(r"(readonly )?(\w+)(\[[^\]]*\])?", text):
        if dims:
            types.append(numba.types.Array(_SCALARS[name], dims.count(",") + 1, "C", readonly=bool(readonly)))
        else:
            types.append(_SCALARS[name])
    return tuple(types)


def _planned_kernels(plan) -> list:
    """(entry, dispatcher) of each ``plan`` entry (module, function, signature) that names a kernel."""
    found = []
    for entry in plan:
        module, name, _ = entry
        try:
            dispatcher = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
        if is_kernel(dispatcher):
            found.append((tuple(entry), dispatcher))
    return found


def first_run_kernels() -> list:
    """The kernels a library run compiles: the planned ones and those they call (importing their modules)."""
    from .compiled_plan import CALLEES, PLAN

    return [d for _, d in _planned_kernels(PLAN)] + [d for _, d in _planned_kernels(e + ("",) for e in CALLEES)]


def compile_planned(plan) -> None:
    """Compile the kernels of ``plan`` (module, function, signature) into numba's cache, skipping cached ones.

    The background process of :func:`compile_ahead`; a kernel that does not
    compile (the plan is stale) is left to the run that calls it.
    """
    for (_, _, signature), dispatcher in _planned_kernels(plan):
        try:
            if not is_cached(dispatcher):
                dispatcher.compile(signature_types(signature))
        except Exception:  # noqa: BLE001 - only a head start: the run compiles what it needs itself
            continue


_AHEAD: list = []


def compile_ahead() -> bool:
    """On a first run, start the background process that compiles the planned kernels (see the module docstring).

    Only when most planned kernels are uncached, a CPU is idle besides this
    one (:func:`~pivotsim._cpus.spare_cpu` with the load average at most
    CPUs - 1.5: on a busy machine a second process only takes time from this
    one, measured) and the JIT is on; at most once per process.
    ``PIVOTSIM_COMPILE_AHEAD=1`` (or ``0``) starts it (or not) whatever the load.  The process is
    ended when this one exits.  Returns whether it was started.
    """
    from .compiled_plan import PLAN

    planned = _planned_kernels(PLAN)  # imports the modules: every kernel a run calls is registered
    setting = os.environ.get("PIVOTSIM_COMPILE_AHEAD", "").strip()
    wanted = setting == "1" if setting in ("0", "1") else spare_cpu(1.5)  # a CPU for each process
    if _AHEAD or numba.config.DISABLE_JIT or not wanted:
        return False
    try:
        missing = [entry for entry, dispatcher in planned if not is_cached(dispatcher)]
    except AttributeError:  # not numba's cache layout: no head start
        return False
    if len(missing) <= len(PLAN) // 2:
        return False
    root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, (root, os.environ.get("PYTHONPATH")))))
    code = "import sys, json; from pivotsim.compiled import compile_planned; compile_planned(json.load(sys.stdin))"
    process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=env, text=True)
    process.stdin.write(json.dumps(missing[::-1]))
    process.stdin.close()
    _AHEAD.append(process)
    atexit.register(_end_ahead, process)
    return True


def _end_ahead(process) -> None:
    """End the background compile process (its cached kernels stay; numba writes each atomically)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()


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
