"""Run-folder figures drawn by helper processes: the same bytes as drawn here, and nothing changes when one fails."""

import os
import pickle

import numpy as np
import pytest

import pivotsim
from pivotsim.output.figure_data import RunFigureData, figure_data
from pivotsim import _cpus
from pivotsim.output import figure_worker
from pivotsim.output.figure_worker import PendingFigures, start_figure_workers
from pivotsim.output.folders import write_run_folder


@pytest.fixture(scope="module")
def result(iren):
    return pivotsim.run(iren, paths=1000, sample_paths=200)


@pytest.fixture(scope="module")
def here(result, tmp_path_factory):
    """The figures drawn in this process: the reference."""
    folder = tmp_path_factory.mktemp("here")
    PendingFigures(figure_data(result)).write(folder)
    return {p.name: p.read_bytes() for p in folder.glob("*.png")}


def test_figure_data_is_plain_and_pickles(result):
    data = figure_data(result)
    again = pickle.loads(pickle.dumps(data))
    assert isinstance(again, RunFigureData) and again.paths == 1000
    assert np.array_equal(again.samples["btc_price_usd"], result.samples["btc_price_usd"])
    # the value bridges are the summary's numbers, which add up to the base-case NPV (with its debt's
    # financing part for a levered business: the NPV with debt)
    for business in ("bitcoin", "ai"):
        base = result.summary()[business]["base"]
        npv = base.get("npv_with_financing_usd", base["npv_usd"])
        assert sum(again.value_bridges[business].values()) == pytest.approx(npv, rel=1e-9)


def test_figure_data_leaves_the_break_even_price_for_later(iren):
    """The figures' data has the summary's value bridges without solving the break-even BTC price.

    That solve (Brent's method, scipy.optimize's import) then runs while the
    figure workers draw, when ``summary.json`` is written.
    """
    fresh = pivotsim.run(iren, paths=300, sample_paths=50)
    data = figure_data(fresh)
    assert fresh._breakeven is None
    summary = fresh.summary()
    for business in ("bitcoin", "ai"):
        assert data.value_bridges[business] == summary[business]["base"]["value_bridge"]
    assert fresh.breakeven_btc_price_multiplier == summary["comparison"]["breakeven_btc_price_multiplier"]


@pytest.mark.parametrize("count", [1, 2])
def test_workers_draw_the_same_bytes(result, here, tmp_path, count):
    workers = start_figure_workers(count)  # each draws half its share in a fork of itself
    PendingFigures(figure_data(result), workers).write(tmp_path)
    drawn = {p.name: p.read_bytes() for p in tmp_path.glob("*.png")}
    assert set(here) == {"fan_btc_price.png", "fan_network_hashrate.png", "fan_hashprice.png",
                         "fan_cumulative_cash.png", "npv_histogram.png", "npv_cdf.png", "value_bridge.png",
                         "dscr_fan.png"}
    assert drawn == here
    assert all(w.result() for w in workers), "a worker did not deliver: the figures were drawn here"
    assert not any(w.alive for w in workers)


def test_a_dead_worker_changes_nothing_but_the_time(result, here, tmp_path):
    workers = start_figure_workers(2)
    workers[1]._proc.kill()
    workers[1]._proc.wait()
    pending = PendingFigures(figure_data(result), workers)
    assert len(pending.workers) == 1  # the dead one gets no share
    workers[0]._proc.kill()  # and one that dies holding its share: drawn here
    pending.write(tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.glob("*.png")} == here


def test_a_failed_write_leaves_no_folder(result, tmp_path, monkeypatch):
    workers = start_figure_workers(1)
    monkeypatch.setattr(type(result), "cashflow_columns", lambda self: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        write_run_folder(result, tmp_path / "runs", figure_workers=workers)
    assert list((tmp_path / "runs").iterdir()) == []
    from pivotsim.output.figure_worker import stop_figure_workers

    stop_figure_workers()
    assert not workers[0].alive


def test_default_count_follows_the_idle_cpus(monkeypatch):
    monkeypatch.delenv("PIVOTSIM_FIGURE_WORKERS", raising=False)
    monkeypatch.setattr(_cpus, "idle_cpus_at_start", lambda: 0.0)  # by the load average alone
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(os, "getloadavg", lambda: (0.4, 0.4, 0.4))
    assert figure_worker.default_count() == 1
    monkeypatch.setattr(os, "getloadavg", lambda: (2.3, 2.3, 2.3))  # both CPUs busy
    assert figure_worker.default_count() == 0 and start_figure_workers() == []
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert figure_worker.default_count() == 0
    # a busy last minute but an idle CPU now (the previous command just ended): a worker
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(os, "getloadavg", lambda: (1.8, 1.8, 1.8))
    monkeypatch.setattr(_cpus, "idle_cpus_at_start", lambda: 1.0)
    assert figure_worker.default_count() == 1


def test_worker_count_from_the_environment(monkeypatch):
    monkeypatch.setenv("PIVOTSIM_FIGURE_WORKERS", "0")
    assert start_figure_workers() == []  # drawn in the command's process
    monkeypatch.setenv("PIVOTSIM_FIGURE_WORKERS", "1")
    workers = start_figure_workers()
    assert len(workers) == 1 and workers[0].alive
    workers[0].close()
    assert not workers[0].alive
