"""A real Dask cluster for the tests: one `dask scheduler` and N `dask worker` processes on 127.0.0.1.

Started with this interpreter (``python -m distributed.cli.dask_scheduler``,
``... dask_worker``) so that CI's venv is used, with ``PYTHONPATH`` set to
the repository root so the workers import this checkout of pivotsim.
Workers run without a nanny: the process the test holds *is* the worker, so
killing it kills the worker (a nanny would restart it).  The scheduler has an
idle timeout and the workers a death timeout, so nothing outlives a test
session that was itself killed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 60


class DaskTestCluster:
    """Scheduler and workers as subprocesses; ``stop()`` always tears them down."""

    def __init__(self, n_workers: int = 2):
        self.n_workers = n_workers
        self.dir = Path(tempfile.mkdtemp(prefix="pivotsim-dask-"))
        self.scheduler_file = self.dir / "scheduler.json"
        self.procs: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen] = []
        self.address: str | None = None
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
        env.pop("PIVOTSIM_SCHEDULER", None)  # never let a user's cluster leak in
        self.env = env

    def _spawn(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.dir / f"{name}.log", "wb")
        proc = subprocess.Popen([sys.executable, "-m", *args], env=self.env, cwd=self.dir,
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        self.procs.append(proc)
        return proc

    def start(self) -> "DaskTestCluster":
        self._spawn("scheduler", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
                    "--no-dashboard", "--scheduler-file", str(self.scheduler_file), "--idle-timeout", "300s")
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.scheduler_file.exists():
            self._check_alive(deadline)
            time.sleep(0.1)
        while self.address is None:
            try:
                self.address = json.loads(self.scheduler_file.read_text())["address"]
            except (ValueError, KeyError):  # file not flushed yet
                self._check_alive(deadline)
                time.sleep(0.1)
        for i in range(self.n_workers):
            self.workers.append(self._spawn(
                f"worker{i}", "distributed.cli.dask_worker", self.address, "--host", "127.0.0.1",
                "--nthreads", "1", "--no-nanny", "--no-dashboard", "--death-timeout", "60s",
                "--name", f"test-worker-{i}"))
        from distributed import Client

        with Client(self.address, set_as_default=False, timeout=START_TIMEOUT_S) as client:
            if self.n_workers:
                client.wait_for_workers(self.n_workers, timeout=START_TIMEOUT_S)
        return self

    def _check_alive(self, deadline: float) -> None:
        dead = [p for p in self.procs if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            self.stop()
            logs = "\n".join(p.read_text(errors="replace")[-2000:] for p in self.dir.glob("*.log"))
            pytest.fail(f"dask test cluster did not start:\n{logs}")

    def kill_worker_pid(self, pid: int) -> None:
        """SIGKILL one worker process (no clean shutdown: as if its machine died)."""
        assert pid in [p.pid for p in self.workers], pid
        os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        """Kill every process (nothing to save: a graceful close only costs seconds)."""
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.kill()
        for proc in self.procs:
            proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def dask_cluster():
    """A scheduler and two single-thread workers on 127.0.0.1, shared by a test module."""
    cluster = DaskTestCluster(2)
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@pytest.fixture
def fresh_dask_cluster():
    """A cluster of its own for a test that kills workers."""
    cluster = DaskTestCluster(2)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
