"""Shared fixtures: paths to the project, its scenarios and the shared data."""

import os
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


#: the deal terms of issue 14 that a scenario mapping may carry (ai.<name>)
DEAL_TERM_FIELDS = ("prepayment_paid", "prepayment_months_before_delivery", "prepayment_credit_start_month",
                    "prepayment_tax", "delay_credit_share_per_month", "delay_credit_cap_share", "long_stop_months",
                    "on_termination", "gpu_shipment_months_before_delivery", "gpu_payment_months_after_shipment",
                    "gpu_resale_haircut_share")


def without_deal_terms(data: dict) -> dict:
    """A scenario mapping with the contract terms of issue 14 switched off: the plain contract.

    One prepayment at signing credited pro rata, no delay credits or
    long-stop, every payment moving with a delay, book terminal value, no project debt:
    what tests written for the model before those terms (and the frozen
    numpy reference) expect.
    """
    ai = {k: v for k, v in data["ai"].items() if k not in DEAL_TERM_FIELDS and k != "debt"}
    ai["risks"] = {**ai.get("risks", {}), "delay_spending": "moves"}
    finance = {k: v for k, v in data["finance"].items() if k != "terminal_hall_value_usd_per_mw"}
    finance["terminal_value"] = "book_value"
    return {**data, "ai": ai, "finance": finance}


def forked_children() -> set[int]:
    """Process ids of this test process's living children (Linux: /proc), to check no worker is left behind."""
    found = set()
    for children in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        found.update(int(pid) for pid in children.read_text().split())
    return found
