"""Distributions and correlations in scenario files: parsing, errors, overrides, the sampling API."""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

import pivotsim
from pivotsim.cli import app
from pivotsim.scenario import load_scenario
from pivotsim.inputs import to_inputs
from pivotsim.inputs import sample_inputs
from pivotsim.uncertainty import uncertain_inputs

runner = CliRunner()


def write_variant(iren_path, tmp_path, old, new, name="variant.yaml"):
    text = Path(iren_path).read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


RESIDUAL = "    value: 0.15\n    dist: pert\n    low: 0.03\n    mode: 0.15\n    high: 0.35\n"

BAD_FILES = [
    # (replacement of the gpu_residual_share distribution, fragments of the one-line error)
    ("    dist: pert\n    low: 0.03\n    mode: 0.15\n    high: 1.3\n",
     ["ai.gpu_residual_share", "up to 1.3", "<= 1"]),
    ("    dist: normal\n    mean: 0.15\n    sd: -0.05\n    min: 0\n    max: 1\n",
     ["ai.gpu_residual_share", "sd must be > 0", "-0.05"]),
    ("    dist: normal\n    mean: 0.15\n    sd: 0.05\n",
     ["ai.gpu_residual_share", "down to -inf", "truncate it with min/max"]),
    ("    dist: triangular\n    low: 0.03\n    mode: 0.5\n    high: 0.35\n",
     ["ai.gpu_residual_share", "mode must be within [low, high]"]),
    ("    dist: uniform\n    lo: 0.03\n    high: 0.35\n",
     ["ai.gpu_residual_share", "lo is not a parameter of uniform", "low, high"]),
    ("    value: 0.5\n    dist: uniform\n    low: 0.03\n    high: 0.35\n",
     ["ai.gpu_residual_share", "value 0.5 is outside the distribution's range"]),
    ("    dist: discrete\n    values: [0.1, 0.2]\n    probs: [0.5, 0.6]\n",
     ["ai.gpu_residual_share", "add up to 1.1"]),
    ("    dist: empirical\n    file: nowhere.csv\n    column: x\n",
     ["ai.gpu_residual_share", "nowhere.csv", "not found"]),
    ("    dist: uniform\n    low: abc\n    high: 0.35\n",
     ["ai.gpu_residual_share", "uniform: low", "'abc'"]),
]


@pytest.mark.parametrize("replacement,fragments", BAD_FILES)
def test_bad_distribution_exit_2_one_line(iren_path, tmp_path, replacement, fragments):
    bad = write_variant(iren_path, tmp_path, RESIDUAL, replacement)
    for args in (["validate", str(bad)], ["run", str(bad), "--paths", "10", "--out", str(tmp_path / "runs")]):
        res = runner.invoke(app, args)
        assert res.exit_code == 2, res.output
        err = res.stderr.strip()
        assert len(err.splitlines()) == 1 and "Traceback" not in res.output
        assert f"{bad}:" in err
        for fragment in fragments:
            assert fragment in err, (fragment, err)


@pytest.mark.parametrize("correlations,fragment", [
    ("correlations:\n  - [ai.gpu_residual_share, ai.gpu_residual_share, 0.3]\n", "correlated with itself"),
    ("correlations:\n  - [ai.gpu_residual_share, ai.pue, 0.3]\n", "ai.pue is a fixed number"),
    ("correlations:\n  - [ai.gpu_residual_share, ai.risks.capex_overrun_multiplier, 0.9]\n"
     "  - [ai.gpu_residual_share, site.power_price_usd_per_kwh, 0.9]\n"
     "  - [ai.risks.capex_overrun_multiplier, site.power_price_usd_per_kwh, -0.9]\n",
     "not positive definite"),
    ("correlations:\n  inputs: [ai.gpu_residual_share, site.power_price_usd_per_kwh]\n"
     "  matrix: [[1, 0.2], [0.3, 1]]\n", "must be symmetric"),
    ("correlations:\n  inputs: [ai.gpu_residual_share, site.power_price_usd_per_kwh]\n"
     "  matrix: [[1, 0.2, 0], [0.2, 1, 0]]\n", "expected 2 rows of 2 numbers"),
])
def test_bad_correlations(iren_path, tmp_path, correlations, fragment):
    text = Path(iren_path).read_text(encoding="utf-8")
    text = text[: text.index("correlations:")] + correlations
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    res = runner.invoke(app, ["validate", str(bad)])
    assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1
    assert fragment in res.stderr and "correlations" in res.stderr, res.stderr


def test_correlation_matrix_form_is_used(iren_path, tmp_path):
    text = Path(iren_path).read_text(encoding="utf-8")
    text = text[: text.index("correlations:")] + (
        "correlations:\n  inputs: [ai.gpu_residual_share, site.power_price_usd_per_kwh]\n"
        "  matrix: [[1, -0.6], [-0.6, 1]]\n  assumption: test\n")
    path = tmp_path / "matrix.yaml"
    path.write_text(text, encoding="utf-8")
    scenario = load_scenario(path)
    spec = to_inputs(scenario).uncertainty
    assert spec.correlated == ("ai.gpu_residual_share", "site.power_price_usd_per_kwh")
    metrics = pivotsim.run(scenario, paths=2000, seed=3).path_metrics()
    from scipy.stats import spearmanr
    rho = spearmanr(metrics["input.ai.gpu_residual_share"],
                    metrics["input.site.power_price_usd_per_kwh"]).statistic
    assert abs(rho + 0.6) < 0.05  # one block of 2000 paths


def test_base_value_rule_and_describe(iren):
    dists = uncertain_inputs(iren)
    # given value wins over the median
    assert dists["ai.gpu_residual_share"].base == 0.15
    assert iren.ai.gpu_residual_share.value == 0.15
    # no value: the median, here of a triangular(0, 2, 8): 8 - sqrt(0.5 * 8 * 6) = 3.10 -> 3 (whole months)
    s = iren.with_overrides(["ai.risks.construction_delay_months={dist: triangular, low: 0, mode: 2, high: 8}"])
    assert s.ai.risks.construction_delay_months.value == 3.0
    assert to_inputs(s).ai.risks.construction_delay_months == 3.0
    assert "pert(low=0.03, mode=0.15, high=0.35), base 0.15" == dists["ai.gpu_residual_share"].describe()


def test_sample_inputs_api(iren):
    dists = uncertain_inputs(iren)
    k = len(dists)
    u = np.random.default_rng(0).random((500, k))
    inputs = sample_inputs(iren, u)
    for j, (path, dist) in enumerate(dists.items()):
        node = inputs
        for part in path.split("."):  # (a list, such as ai.debt, is indexed by number)
            node = node[int(part)] if isinstance(node, list) else getattr(node, part)
        assert node.shape == (500, 1)
        expected = dist.ppf(u[:, j])
        if path == "ai.risks.construction_delay_months":
            expected = np.rint(expected)  # whole months
            assert np.all(node == np.round(node))
        assert np.array_equal(node[:, 0], expected)
    # the base tree is untouched
    assert to_inputs(iren).ai.gpu_residual_share == 0.15
    with pytest.raises(ValueError, match="one column per uncertain input"):
        sample_inputs(iren, np.zeros((3, k + 1)))


def test_override_number_fixes_a_distribution(iren):
    s = iren.with_overrides(["ai.gpu_residual_share=0.2"])
    q = s.ai.gpu_residual_share
    assert q.dist is None and q.value == 0.2 and q.assumption.startswith("five-year-old GPUs")
    assert "ai.gpu_residual_share" not in uncertain_inputs(s)
    # a dotted parameter changes the distribution and keeps it
    s = iren.with_overrides(["ai.gpu_residual_share.high=0.5"])
    assert s.ai.gpu_residual_share.distribution.support() == (0.03, 0.5)


def test_resolved_yaml_round_trip(iren, tmp_path):
    path = tmp_path / "resolved.yaml"
    path.write_text(iren.to_yaml(), encoding="utf-8")
    again = load_scenario(path)
    a, b = uncertain_inputs(iren), uncertain_inputs(again)
    assert list(a) == list(b)
    for p in a:
        assert a[p].describe() == b[p].describe()
    data = yaml.safe_load(iren.to_yaml())
    # a computed base value is not written back (it would freeze a stale median on edits)
    s = iren.with_overrides(["ai.risks.construction_delay_months={dist: uniform, low: 0, high: 6}"])
    assert "value" not in yaml.safe_load(s.to_yaml())["ai"]["risks"]["construction_delay_months"]
    assert data["sampling"] == "lhs"


def test_empirical_from_csv_next_to_the_scenario(iren_path, tmp_path):
    (tmp_path / "residuals.csv").write_text("year,share\n2019,0.10\n2020,0.22\n2021,\n2022,0.18\n")
    path = write_variant(iren_path, tmp_path, RESIDUAL,
                         "    dist: empirical\n    file: residuals.csv\n    column: share\n")
    s = load_scenario(path)
    d = s.ai.gpu_residual_share.distribution
    assert sorted(d.values().tolist()) == [0.10, 0.18, 0.22]  # empty cell skipped
    assert d.base == 0.18  # smallest value with CDF >= 0.5 (1/3, 2/3, 1)
    bad = write_variant(iren_path, tmp_path, RESIDUAL,
                        "    dist: empirical\n    file: residuals.csv\n    column: shar\n", "bad.yaml")
    res = runner.invoke(app, ["validate", str(bad)])
    assert res.exit_code == 2 and "column 'shar' is not in residuals.csv (columns: year, share)" in res.stderr


def test_schema_lists_distributions():
    schema = json.loads(runner.invoke(app, ["schema"]).stdout)
    text = json.dumps(schema)
    assert '"pert"' in text and '"sampling"' in json.dumps(schema["properties"])
    assert "correlations" in schema["properties"]
