"""Shared fixtures: paths to the project, its scenarios and the shared data."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "pivotsim" / "scenarios"
# ../shared relative to the repo root; a git worktree one level deeper finds it
# in the nearest ancestor that holds shared/data/btc.
SHARED = next((p / "shared" for p in ROOT.parents if (p / "shared" / "data" / "btc").is_dir()),
              ROOT.parent / "shared")
BTC_DAILY = SHARED / "data" / "btc" / "btc_network_daily_coinmetrics.csv"


@pytest.fixture(scope="session")
def iren_path() -> Path:
    return SCENARIOS / "iren.yaml"


@pytest.fixture(scope="session")
def iren(iren_path):
    import pivotsim

    return pivotsim.load_scenario(iren_path)


# A real Dask scheduler and workers on 127.0.0.1 (tests of --scheduler / --workers).
from .dask_cluster import dask_cluster, fresh_dask_cluster  # noqa: E402,F401
