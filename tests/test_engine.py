"""Engine: chunk/worker invariance to the last bit, auto path count, statistics, break-even, figures."""

import json
import math

import numpy as np
import pytest

import pivotsim
from pivotsim.runs import describe, wilson_interval
from pivotsim.inputs import to_inputs
from pivotsim.simulate import BLOCK_PATHS, simulate, simulate_block, simulate_blocks


@pytest.fixture(scope="module")
def inputs(iren):
    return to_inputs(iren)


def test_chunking_and_workers_never_change_a_bit(inputs):
    # Blocks evaluated one by one, three at a time, or by two threads give identical path metrics.
    one_by_one = [simulate_block(inputs, 7, b) for b in range(3)]
    together = simulate_blocks(inputs, 7, [0, 1, 2])
    for name in together:
        assert np.array_equal(np.concatenate([p[name] for p in one_by_one]), together[name], equal_nan=True), name
    a = simulate(inputs, 5 * BLOCK_PATHS, 7, chunk_paths=BLOCK_PATHS).metrics
    b = simulate(inputs, 5 * BLOCK_PATHS, 7, chunk_paths=3 * BLOCK_PATHS, threads=2).metrics
    for name in a:
        assert np.array_equal(a[name], b[name], equal_nan=True), name
    # and the first paths do not depend on the total
    c = simulate(inputs, 2500, 7).metrics
    assert np.array_equal(c["bitcoin_npv_usd"], a["bitcoin_npv_usd"][:2500])



def test_a_run_smaller_than_a_chunk_is_shared_by_the_threads(inputs):
    # 10,000 paths on two threads: two tasks (3 and 2 blocks), not one chunk on one thread; same numbers.
    from pivotsim.simulate import CHUNK_PATHS, _group_blocks

    chunk_blocks = CHUNK_PATHS // BLOCK_PATHS
    assert _group_blocks(chunk_blocks, None, CHUNK_PATHS, threads=2) == -(-chunk_blocks // 2)
    assert _group_blocks(10 * chunk_blocks, None, CHUNK_PATHS, threads=2) == chunk_blocks
    assert _group_blocks(chunk_blocks, None, CHUNK_PATHS) == chunk_blocks
    one = simulate(inputs, CHUNK_PATHS, 7, sample_paths=BLOCK_PATHS + 5)
    two = simulate(inputs, CHUNK_PATHS, 7, sample_paths=BLOCK_PATHS + 5, threads=2)
    for name in one.metrics:
        assert np.array_equal(one.metrics[name], two.metrics[name], equal_nan=True), name
    for name in one.samples:
        assert np.array_equal(one.samples[name], two.samples[name], equal_nan=True), name

def test_block_output_keys_and_samples(inputs):
    out = simulate_block(inputs, 1, 0, sample_paths=5)
    assert out["bitcoin_npv_usd"].shape == (BLOCK_PATHS,)
    assert out["sample_btc_price_usd"].shape == (5, int(inputs.scenario.horizon_months) + 1)
    # a block past the sampled paths keeps none
    assert "sample_btc_price_usd" not in simulate_block(inputs, 1, 1, sample_paths=5)


def test_auto_paths_stops_at_the_tolerance(inputs):
    # A loose tolerance stops at the first checkpoint; an impossible one at the cap, flagged.
    loose = simulate(inputs, None, 3, tolerance_usd=1e12)
    assert loose.paths == 10_000 and loose.convergence["reached"]
    tight = simulate(inputs, None, 3, tolerance_usd=1.0, max_paths=12_000)
    assert tight.paths == 12_000 and not tight.convergence["reached"]
    # s.e. of the mean difference = std / sqrt(n), as stated
    diff = tight.metrics["npv_difference_usd"]
    assert tight.convergence["sem_npv_difference_usd"] == pytest.approx(diff.std(ddof=1) / math.sqrt(diff.size))
    # the same run with a fixed count gives the same numbers
    fixed = simulate(inputs, 12_000, 3)
    assert np.array_equal(fixed.metrics["bitcoin_npv_usd"], tight.metrics["bitcoin_npv_usd"])


def test_describe_percentiles_cvar_and_sem():
    # 1..100: numpy's linear percentiles; the worst 5% are values <= p5 = 5.95, i.e. 1..5, mean 3.
    values = np.arange(1, 101, dtype=float)
    d = describe(np.append(values, np.nan), tail=True)
    assert d["count"] == 100
    assert d["p5"] == pytest.approx(5.95) and d["p50"] == pytest.approx(50.5) and d["p99"] == pytest.approx(99.01)
    assert d["cvar5"] == pytest.approx(3.0)
    assert d["sem"] == pytest.approx(values.std(ddof=1) / 10)


def test_wilson_interval_hand_computed():
    # Wilson (1927) by hand, p = 0.81, n = 100, z = 1.96: denominator 1 + 3.8416/100 = 1.038416,
    # centre (0.81 + 0.019208) / 1.038416 = 0.7985316, half 1.96 sqrt(0.001539 + 0.00009604) / 1.038416
    # = 0.0763218 -> [0.722210, 0.874853]
    lo, hi = wilson_interval(81, 100, z=1.96)
    assert lo == pytest.approx(0.722210, abs=2e-6) and hi == pytest.approx(0.874853, abs=2e-6)
    assert wilson_interval(0, 50)[0] == pytest.approx(0.0, abs=1e-15)
    assert wilson_interval(50, 50)[1] == pytest.approx(1.0, abs=1e-15)


@pytest.fixture(scope="module")
def result(iren):
    return pivotsim.run(iren, paths=4000, seed=5, sample_paths=300)


def test_summary_statistics_keys_and_consistency(result):
    summary = result.summary()
    for business in ("bitcoin", "ai"):
        mc = summary[business]["monte_carlo"]
        npv = result.metrics[f"{business}_npv_usd"]
        assert {"mean", "std", "sem", "p1", "p10", "p90", "p99", "cvar5"} <= set(mc["npv_usd"])
        assert mc["npv_usd"]["mean"] == pytest.approx(npv.mean())
        assert mc["npv_usd"]["cvar5"] <= mc["npv_usd"]["p5"] <= mc["npv_usd"]["p50"]
        assert mc["prob_npv_negative"] == pytest.approx(np.mean(npv < 0))
        assert {"irr", "prob_no_irr", "payback_months", "prob_never_pays_back"} <= set(mc)
    comparison = summary["comparison"]
    lo, hi = comparison["prob_ai_beats_bitcoin_ci95"]
    assert lo <= comparison["prob_ai_beats_bitcoin"] <= hi
    assert summary["monte_carlo"]["paths"] == 4000 and summary["monte_carlo"]["mode"] == "fixed"
    json.dumps(summary)  # JSON-ready


def test_breakeven_multiplier_equalises_base_npvs(iren, result):
    # At the reported multiplier k, the base case priced at k x S0 has bitcoin NPV = AI NPV.
    k = result.breakeven_btc_price_multiplier
    assert k is not None and k > 0
    price = float(to_inputs(iren).market.btc_price_usd)
    moved = pivotsim.run(iren, paths=1, seed=1, overrides=[f"market.btc_price_usd={price * k!r}"],
                         sample_paths=0).summary()
    gap = moved["bitcoin"]["base"]["npv_usd"] - moved["ai"]["base"]["npv_usd"]
    assert abs(gap) < 1e-3 * abs(moved["ai"]["base"]["npv_usd"])


def test_run_folder_figures(result, tmp_path):
    from matplotlib.axes import Axes

    from pivotsim.output import figures

    folder = pivotsim.write_run(result, tmp_path)
    for name in figures.RUN_FIGURES:
        assert (folder / name).stat().st_size > 10_000, name
    for plot in figures.RUN_FIGURES.values():
        assert isinstance(plot(result), Axes)
    ax = figures.plot_btc_price_fan(result)
    assert "USD" in ax.get_ylabel() and ax.get_xlabel() == "date"
