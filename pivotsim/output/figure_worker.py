"""Run-folder figures drawn by helper processes that start before the simulation.

``pivotsim run`` starts one first thing (:func:`start_figure_workers`): it
imports matplotlib while this process imports the engine, loads the scenario
and simulates.  When the results are in, :class:`PendingFigures` hands each
worker its share of the figures with the run's
:class:`~pivotsim.output.figure_data.RunFigureData` (numpy arrays, pickled
through a pipe) while this process writes the other files of the run folder;
the workers send back PNG bytes, which this process writes into the folder
being built.  Workers never touch the file system, so the folder writer stays
atomic and a worker can be stopped at any moment.

A worker that did not start, died, timed out or reported an error changes
nothing but the time: its figures are drawn here instead, and any error is
raised here, as it would be without workers.
"""

from __future__ import annotations

import atexit
import os
import pickle
import signal
import subprocess
import sys
import threading
from pathlib import Path

from .._cpus import spare_cpu
from .figure_data import RUN_FIGURE_DPI, RunFigureData

WAIT_S = 120.0
"""Longest wait for a worker's figures [s]; past it they are drawn here."""

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
_STARTED: list["FigureWorker"] = []


class FigureWorker:
    """One helper process: :meth:`submit` a share of the figures, :meth:`result` gives their PNG bytes (or None)."""

    def __init__(self):
        # the worker imports this very pivotsim, whatever the current folder or the installed copy
        path = os.pathsep.join(p for p in (_PACKAGE_ROOT, os.environ.get("PYTHONPATH")) if p)
        try:
            self._proc = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                          env={**os.environ, "PYTHONPATH": path})
        except (OSError, ValueError, TypeError):  # no interpreter to start (embedded Python...): drawn here
            self._proc = None
        self._thread = None
        self._reply = None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def submit(self, index: int, count: int, data: RunFigureData, dpi: int) -> None:
        """Send share ``index`` of ``count``; the exchange runs in a thread (the pipe fills before the worker reads)."""
        payload = pickle.dumps((index, count, data, dpi), protocol=pickle.HIGHEST_PROTOCOL)

        def exchange():
            try:
                out, _ = self._proc.communicate(payload, timeout=WAIT_S)
                self._reply = pickle.loads(out) if self._proc.returncode == 0 else None
            except Exception:  # noqa: BLE001 - whatever went wrong, these figures are drawn here
                self._reply = None

        self._thread = threading.Thread(target=exchange, daemon=True)
        self._thread.start()

    def result(self) -> dict[str, bytes] | None:
        """PNG bytes by figure name, or None when the worker failed."""
        if self._thread is None:
            return None
        self._thread.join(WAIT_S + 5.0)
        reply = self._reply
        return reply[1] if isinstance(reply, tuple) and len(reply) == 2 and reply[0] == "ok" else None

    def close(self) -> None:
        """Stop the process if it still runs (idle, or its figures no longer wanted)."""
        if self.alive:
            self._proc.kill()
            self._proc.wait()


def default_count() -> int:
    """1 when a CPU is idle (the load average leaves one, or one was idle besides this process at its start), else 0.

    A worker pays only with a CPU to run on: on a busy machine it costs its
    own interpreter and imports and gains no overlap, so the figures are
    drawn here.  The pictures are the same either way.
    """
    return 1 if spare_cpu(0.5) else 0


def start_figure_workers(count: int | None = None) -> list[FigureWorker]:
    """Start ``count`` workers (default: ``PIVOTSIM_FIGURE_WORKERS`` if set, else :func:`default_count`).

    One is enough: it imports matplotlib while this process imports the
    engine, then draws half the figures and a fork of it the other half
    (on more than one CPU), while this process only writes the small files.
    None: the figures are drawn in this process, as before there were workers.

    Each stops once it has answered; one never used stops when this process
    exits (its input closes; :func:`stop_figure_workers` at exit, sooner).
    """
    if count is None:
        setting = os.environ.get("PIVOTSIM_FIGURE_WORKERS", "").strip()
        count = int(setting) if setting.isdigit() else default_count()
    workers = [FigureWorker() for _ in range(count)]
    _STARTED.extend(workers)
    return workers


@atexit.register
def stop_figure_workers() -> None:
    """Stop every worker this process started that still runs."""
    while _STARTED:
        _STARTED.pop().close()


class PendingFigures:
    """A run's figures on their way: handed to ``workers`` now, written into the folder by :meth:`write`."""

    def __init__(self, data: RunFigureData, workers=(), dpi: int = RUN_FIGURE_DPI):
        self.data, self.dpi = data, dpi
        self.workers = [w for w in workers if w.alive]
        for index, worker in enumerate(self.workers):
            worker.submit(index, len(self.workers), data, dpi)

    def write(self, folder: Path) -> None:
        """Write the PNGs into ``folder``: the workers' shares, and here whatever a worker did not deliver."""
        pngs, complete = {}, bool(self.workers)
        for worker in self.workers:
            share = worker.result()
            complete = complete and share is not None
            pngs.update(share or {})
        if not complete:
            from .figures import render_run_figures, run_figure_names  # matplotlib here only when needed

            missing = [name for name in run_figure_names(self.data) if name not in pngs]
            pngs.update(render_run_figures(self.data, missing, self.dpi))
        for name, png in pngs.items():
            (Path(folder) / name).write_bytes(png)
        for worker in self.workers:
            worker.close()


def _render(data: RunFigureData, names: list[str], dpi: int) -> tuple:
    """("ok", PNG bytes by name) or ("error", what went wrong)."""
    from .figures import render_run_figures

    try:
        return "ok", render_run_figures(data, names, dpi)
    except Exception as exc:  # noqa: BLE001 - reported; the parent draws these figures itself
        return "error", f"{type(exc).__name__}: {exc}"


def _render_forked(data: RunFigureData, shares: list[list[str]], dpi: int) -> tuple:
    """Draw ``shares[0]`` here and ``shares[1]`` in a fork of this process, at once.

    The fork shares the matplotlib already imported (copy on write): two CPUs
    draw for the price of one import.  This process has no threads, so
    forking it is safe.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the fork: its share through the pipe, then out without cleanup of the parent's state
        os.close(read_fd)
        try:
            with os.fdopen(write_fd, "wb") as pipe:
                pipe.write(pickle.dumps(_render(data, shares[1], dpi), protocol=pickle.HIGHEST_PROTOCOL))
        finally:
            os._exit(0)
    os.close(write_fd)
    mine = _render(data, shares[0], dpi)
    with os.fdopen(read_fd, "rb") as pipe:
        payload = pipe.read()
    os.waitpid(pid, 0)
    theirs = pickle.loads(payload) if payload else ("error", "the fork drawing the second share died")
    if mine[0] != "ok":
        return mine
    if theirs[0] != "ok":
        return theirs
    return "ok", {**mine[1], **theirs[1]}


def main() -> int:
    """Worker side: import the figure code, wait for a share on stdin, answer with PNG bytes on stdout.

    With more than one CPU the share is drawn by this process and a fork of
    it, half each (:func:`_render_forked`).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it stops us
    from .figures import run_figure_names  # matplotlib loads now, while the parent simulates

    payload = sys.stdin.buffer.read()
    if not payload:
        return 0
    index, count, data, dpi = pickle.loads(payload)
    names = run_figure_names(data)[index::count]
    if len(names) > 1 and hasattr(os, "fork") and (os.cpu_count() or 1) > 1:
        reply = _render_forked(data, [names[0::2], names[1::2]], dpi)
    else:
        reply = _render(data, names, dpi)
    sys.stdout.buffer.write(pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    # out without the interpreter's teardown (matplotlib's modules freed one by one): the parent waits for
    # this process to end, so that time would be the run's; the reply is flushed, nothing else is open
    code = main()
    os._exit(code)
