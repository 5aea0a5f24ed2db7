"""Runs on Dask equal local runs to the last bit; lost workers and bad addresses.

Every expected value here is the local, single-process run of the same
scenario and seed (``simulate_paths`` looping over blocks): the block seeding
``SeedSequence(seed, spawn_key=(k,))`` makes a path's numbers independent of
which process draws its block, so equality must be exact, NaN included.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import pivotsim
from pivotsim.cli import app
from pivotsim.distributed import (DaskExecutor, SerialExecutor, block_groups, blocks_per_task,
                                  connect, map_blocks, probe_scheduler)
from pivotsim.errors import ClusterError
from pivotsim.inputs import to_inputs
from pivotsim.simulate import BLOCK_PATHS, simulate, simulate_block_group, simulate_many, simulate_paths

from .conftest import ROOT
from .dask_cluster import DaskTestCluster

runner = CliRunner()
# 5 full blocks and a cut one: checks the cut of the last block too
PATHS = 5 * BLOCK_PATHS + 777
SEED = 7


def assert_same_metrics(a: dict, b: dict):
    assert a.keys() == b.keys()
    for name in a:
        # assert_array_equal is exact and treats NaN (no IRR root) as equal to NaN
        np.testing.assert_array_equal(a[name], b[name], err_msg=name, strict=True)


@pytest.fixture(scope="module")
def local(iren):
    """The reference: a plain local run on one thread."""
    return pivotsim.run(iren, paths=PATHS, seed=SEED, threads=1)


# ---------------------------------------------------------------- grouping (no cluster)

@pytest.mark.parametrize("n_blocks", [1, 2, 7, 64, 500])
@pytest.mark.parametrize("n_threads", [1, 2, 3, 64])
def test_block_groups_cover_every_block_once_in_order(n_blocks, n_threads):
    size = blocks_per_task(n_blocks, n_threads)
    assert 1 <= size <= 8
    groups = block_groups(n_blocks, size)
    assert [b for first, stop in groups for b in range(first, stop)] == list(range(n_blocks))
    if n_blocks >= 4 * n_threads * 8:  # plenty of blocks: tasks as large as allowed
        assert size == 8
    else:  # enough tasks for every thread (4 each) when blocks allow it
        assert len(groups) >= min(n_blocks, 4 * n_threads) // 2


class GroupingExecutor(SerialExecutor):
    """Serial, but with groups of several blocks and tasks finishing in reverse order."""

    max_blocks_per_task = 3
    n_threads = 1

    def map(self, func, tasks, on_result=None):
        results = [None] * len(tasks)
        for i in reversed(range(len(tasks))):
            results[i] = func(*tasks[i])
            if on_result is not None:
                on_result(i, results[i])
        return results


def test_grouped_blocks_equal_local(iren, local):
    inputs = to_inputs(iren)
    seen = []
    grouped = simulate_paths(inputs, PATHS, SEED, executor=GroupingExecutor(),
                             progress=lambda done, total: seen.append((done, total)))
    assert_same_metrics(grouped, local.metrics)
    assert len(grouped["ai_npv_usd"]) == PATHS
    # progress reaches the total, counting only kept paths
    assert seen[-1] == (PATHS, PATHS) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    # one group = the same slice of the local run
    part = simulate_block_group(inputs, SEED, 4, 6, PATHS)
    np.testing.assert_array_equal(part["bitcoin_npv_usd"],
                                  local.metrics["bitcoin_npv_usd"][4 * BLOCK_PATHS:])


def test_simulate_many_common_random_numbers(iren):
    """Two points of a sweep each equal their own local run (same seed: same draws)."""
    cheap = iren.with_overrides(["market.btc_price_usd=200000"])
    paths = BLOCK_PATHS + 10
    many = simulate_many([to_inputs(iren), to_inputs(cheap)], paths, SEED, executor=GroupingExecutor())
    assert_same_metrics(many[0], simulate_paths(to_inputs(iren), paths, SEED))
    assert_same_metrics(many[1], simulate_paths(to_inputs(cheap), paths, SEED))


def test_grouped_auto_run_keeps_samples_and_convergence(iren):
    """The chunked engine's extras (auto path count, fan-chart samples) survive grouping into tasks."""
    inputs = to_inputs(iren)
    options = dict(tolerance_usd=1.0, max_paths=12_000, sample_paths=2500)
    local = simulate(inputs, None, SEED, chunk_paths=4 * BLOCK_PATHS, **options)
    grouped = simulate(inputs, None, SEED, executor=GroupingExecutor(), **options)
    # a 1-USD standard error is never reached: checkpoint 10k, then the 12k cap, both runs alike
    assert grouped.paths == local.paths == 12_000 and not grouped.convergence["reached"]
    assert grouped.convergence == local.convergence
    assert_same_metrics(grouped.metrics, local.metrics)
    assert_same_metrics(grouped.samples, local.samples)
    assert grouped.samples["btc_price_usd"].shape[0] == 2500
    # samples come only from the groups holding the first 2,500 paths (blocks 0 and 1)
    first = simulate_block_group(inputs, SEED, 1, 3, 12_000, sample_paths=2500)
    assert first["sample_btc_price_usd"].shape[0] == 2500 - BLOCK_PATHS
    assert not any(k.startswith("sample_") for k in simulate_block_group(inputs, SEED, 2, 4, 12_000,
                                                                         sample_paths=2500))


def test_threads_option_is_checked(iren):
    with pytest.raises(pivotsim.PivotsimError, match="threads: 0 is not allowed"):
        pivotsim.run(iren, paths=10, threads=0)


def test_map_blocks_serial_is_plain_map():
    assert map_blocks(divmod, [(7, 2), (9, 4)]) == [(3, 1), (2, 1)]


# ---------------------------------------------------------------- a real cluster

def test_api_through_scheduler_equals_local(dask_cluster, iren, local):
    with connect(dask_cluster.address) as client:
        seen = []
        remote = pivotsim.run(iren, paths=PATHS, seed=SEED, client=client,
                              progress=lambda done, total: seen.append(done))
        # the tasks really ran on the two workers, one group of blocks each at least
        assert len(client.nthreads()) == 2
    assert_same_metrics(remote.metrics, local.metrics)
    assert remote.summary() == local.summary()
    assert seen[-1] == PATHS
    assert remote.execution == {"backend": "dask", "scheduler": dask_cluster.address,
                                "workers": 2, "threads": 2}


def test_sweep_points_and_compare_through_scheduler_equal_local(dask_cluster, iren):
    """The building blocks of sweep/sensitivity (simulate_many) and compare, on the cluster."""
    dear = iren.with_overrides(["market.btc_price_usd=200000"])
    paths = BLOCK_PATHS + 10
    with connect(dask_cluster.address) as client:
        many = simulate_many([to_inputs(iren), to_inputs(dear)], paths, SEED, executor=client)
        files = [ROOT / "pivotsim" / "scenarios" / "iren.yaml", ROOT / "pivotsim" / "scenarios" / "cipher_aws.yaml"]
        remote_table = pivotsim.compare(files, paths=paths, seed=SEED, client=client)
    assert_same_metrics(many[0], simulate_paths(to_inputs(iren), paths, SEED))
    assert_same_metrics(many[1], simulate_paths(to_inputs(dear), paths, SEED))
    local_table = pivotsim.compare(files, paths=paths, seed=SEED)
    pd.testing.assert_frame_equal(remote_table, local_table, check_exact=True)


def test_auto_paths_and_samples_through_scheduler_equal_local_threads(dask_cluster, iren):
    """--paths auto on a cluster (one batch of tasks per checkpoint) equals a local run on 2 threads."""
    options = dict(paths="auto", tolerance_usd=1.0, max_paths=12_000, seed=SEED)
    local = pivotsim.run(iren, threads=2, **options)
    with connect(dask_cluster.address) as client:
        remote = pivotsim.run(iren, client=client, **options)
    assert remote.paths == local.paths == 12_000
    assert_same_metrics(remote.metrics, local.metrics)
    assert_same_metrics(remote.samples, local.samples)
    assert remote.summary() == local.summary()
    assert local.execution == {"backend": "local", "threads": 2}


def test_default_threads_are_the_usable_cpus_and_change_no_number(iren, local):
    from pivotsim.distributed import default_threads, usable_cpus

    assert default_threads() == min(usable_cpus(), 8)
    auto = pivotsim.run(iren, paths=PATHS, seed=SEED)
    assert_same_metrics(auto.metrics, local.metrics)
    assert auto.summary() == local.summary()
    expected = {"backend": "local", **({"threads": default_threads()} if default_threads() > 1 else {})}
    assert auto.execution == expected


def _cli_run(tmp_path, name, *extra):
    out = tmp_path / name
    res = runner.invoke(app, ["run", str(ROOT / "pivotsim" / "scenarios" / "iren.yaml"), "--paths", str(PATHS),
                              "--seed", str(SEED), "--out", str(out), "--json", *extra])
    assert res.exit_code == 0, res.output
    folder = next(out.iterdir())
    return (json.loads(res.stdout), pd.read_parquet(folder / "path_metrics.parquet"),
            json.loads((folder / "manifest.json").read_text()))


def test_cli_scheduler_option_file_and_env_equal_local(dask_cluster, tmp_path, monkeypatch, local):
    summary, frame = local.summary(), local.path_metrics()
    assert local.execution == {"backend": "local"}
    by_option = _cli_run(tmp_path, "option", "--scheduler", dask_cluster.address)
    by_file = _cli_run(tmp_path, "file", "--scheduler", str(dask_cluster.scheduler_file))
    monkeypatch.setenv("PIVOTSIM_SCHEDULER", dask_cluster.address)
    by_env = _cli_run(tmp_path, "env")
    for remote_summary, remote_frame, remote_manifest in (by_option, by_file, by_env):
        assert remote_summary == summary
        pd.testing.assert_frame_equal(remote_frame, frame, check_exact=True)
        assert remote_manifest["execution"]["backend"] == "dask"
        assert remote_manifest["execution"]["scheduler"] == dask_cluster.address


def test_cli_local_workers_equal_local(tmp_path, monkeypatch, local):
    # --workers wins over $PIVOTSIM_SCHEDULER (here an address nobody listens on)
    monkeypatch.setenv("PIVOTSIM_SCHEDULER", f"tcp://127.0.0.1:{_free_port()}")
    summary, frame, manifest = _cli_run(tmp_path, "two", "--workers", "2")
    assert manifest["execution"]["backend"] == "dask"
    assert manifest["execution"]["workers"] == 2 and manifest["execution"]["threads"] == 2
    assert summary == local.summary()
    pd.testing.assert_frame_equal(frame, local.path_metrics(), check_exact=True)


def test_worker_killed_mid_run_gives_same_result_and_lost_scheduler_fails(fresh_dask_cluster, iren, local):
    cluster = fresh_dask_cluster
    with connect(cluster.address) as client:
        pids = client.run(lambda: __import__("os").getpid())
        killed = {}

        def kill_a_busy_worker(done, total):
            if killed:
                return
            busy = [w for w, keys in client.processing().items() if keys]
            assert busy, "no worker is processing: the run would not be interrupted"
            cluster.kill_worker_pid(pids[busy[0]])
            killed.update(worker=busy[0], done=done, processing=len(client.processing()[busy[0]]))

        # one block per task: 6 tasks, the kill comes after the first one ends
        executor = DaskExecutor(client, max_blocks_per_task=1)
        remote = pivotsim.run(iren, paths=PATHS, seed=SEED, client=executor, progress=kill_a_busy_worker)
        assert killed["done"] < PATHS and killed["processing"] >= 1
        assert killed["worker"] not in client.nthreads()
        assert len(client.nthreads()) == 1
    assert_same_metrics(remote.metrics, local.metrics)

    # the scheduler itself dies mid-run: a one-line ClusterError at once, not a hang
    with connect(cluster.address) as client:
        def kill_scheduler(done, total):
            if cluster.procs[0].poll() is None:
                cluster.procs[0].kill()

        start = time.monotonic()
        with pytest.raises(ClusterError, match="scheduler .* mid-run"):
            pivotsim.run(iren, paths=PATHS, seed=SEED, client=DaskExecutor(client, max_blocks_per_task=1),
                         progress=kill_scheduler)
        assert time.monotonic() - start < 20


def test_scheduler_without_workers_is_a_clear_error():
    cluster = DaskTestCluster(0)
    try:
        cluster.start()
        start = time.monotonic()
        with pytest.raises(ClusterError, match="has no worker after 1 s; start some with `dask worker"):
            with connect(cluster.address, worker_wait_s=1):
                pass
        assert time.monotonic() - start < 10
    finally:
        cluster.stop()


# ---------------------------------------------------------------- bad addresses and options

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_refused_scheduler_fails_at_once(tmp_path):
    address = f"tcp://127.0.0.1:{_free_port()}"
    start = time.monotonic()
    res = runner.invoke(app, ["run", str(ROOT / "pivotsim" / "scenarios" / "iren.yaml"), "--paths", "100",
                              "--out", str(tmp_path / "runs"), "--scheduler", address])
    assert res.exit_code == 2 and "Connection refused" in res.stderr, res.output
    assert time.monotonic() - start < 5  # a refused connection is not retried until the timeout


def test_unreachable_scheduler_exits_2_within_seconds(tmp_path):
    """Through a real process: no hang at exit either (a failed Client can block its interpreter)."""
    address = f"tcp://127.0.0.1:{_free_port()}"
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "pivotsim", "run", str(ROOT / "pivotsim" / "scenarios" / "iren.yaml"),
                           "--paths", "100", "--out", str(tmp_path / "runs"), "--scheduler", address],
                          capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    elapsed = time.monotonic() - start
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert address in proc.stderr and "cannot reach the Dask scheduler" in proc.stderr
    assert elapsed < 15, elapsed  # interpreter start and imports included (~3 s on a busy machine)
    assert not (tmp_path / "runs").exists()


def test_port_that_is_not_a_scheduler_times_out():
    """Something listens but never speaks Dask: distributed.Client alone waited > 50 s on this."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
        start = time.monotonic()
        with pytest.raises(ClusterError, match=f"no Dask scheduler answered at {address} within 1 s"):
            probe_scheduler(address, timeout_s=1)
        assert time.monotonic() - start < 4


@pytest.mark.parametrize("args,fragment", [
    (["--workers", "0"], "--workers: 0 is not allowed"),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"], "not both"),
    (["--scheduler", "foo://somewhere"], "is not a scheduler address"),
    (["--scheduler", "tcp://127.0.0.1"], "is not a scheduler address"),
    (["--scheduler", "/nonexistent/sched.json"], "scheduler file /nonexistent/sched.json not found"),
])
def test_bad_cluster_options(tmp_path, args, fragment):
    res = runner.invoke(app, ["run", str(ROOT / "pivotsim" / "scenarios" / "iren.yaml"), "--paths", "10",
                              "--out", str(tmp_path / "runs"), *args])
    assert res.exit_code == 2, res.output
    assert fragment in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()


def test_client_of_wrong_type(iren):
    with pytest.raises(pivotsim.PivotsimError, match="client: str is not allowed"):
        pivotsim.run(iren, paths=10, client="tcp://127.0.0.1:8786")
