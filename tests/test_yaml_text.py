"""The bounded YAML reader (pivotsim.scenario.yaml_text).

Origins of the expected values: PyYAML's own ``safe_load`` and the scenario
loader's line map (peer implementations, on every library file); closed-form
node counts of alias graphs written here; line numbers counted in the texts
written here; the YAML 1.1 merge-key spec (explicit keys override merged
ones); Python's ``datetime.date`` for which dates exist.
"""

from __future__ import annotations

import os
import time
import tracemalloc
from pathlib import Path

import pytest
import yaml

from pivotsim.errors import ScenarioError
from pivotsim.scenario import yaml_text

from .conftest import SCENARIOS

LIBRARY = sorted(SCENARIOS.glob("*.yaml"))


def scenario_line_map(text: str) -> dict[tuple, int]:
    """The scenario loader's line map before the bounded reader (its code, kept here as the peer)."""
    lines: dict[tuple, int] = {}

    def walk(node, path):
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, child in node.value:
                child_path = path + (str(key.value),)
                lines[child_path] = key.start_mark.line + 1
                walk(child, child_path)
        elif isinstance(node, yaml.SequenceNode):
            for i, child in enumerate(node.value):
                lines[path + (str(i),)] = child.start_mark.line + 1
                walk(child, path + (str(i),))

    walk(yaml.compose(text, Loader=yaml.SafeLoader), ())
    return lines


def scenario_line_map(text: str) -> dict[tuple, int]:
    """The scenario loader's line map before the bounded reader (its code, kept here as the peer)."""
    lines: dict[tuple, int] = {}

    def walk(node, path):
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, child in node.value:
                child_path = path + (str(key.value),)
                lines[child_path] = key.start_mark.line + 1
                walk(child, child_path)
        elif isinstance(node, yaml.SequenceNode):
            for i, child in enumerate(node.value):
                lines[path + (str(i),)] = child.start_mark.line + 1
                walk(child, path + (str(i),))

    walk(yaml.compose(text, Loader=yaml.SafeLoader), ())
    return lines


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    """The classic alias bomb: ``levels`` lists, each naming the previous one ``width`` times."""
    names = [chr(ord("a") + i) for i in range(levels)]
    text = f"{names[0]}: &{names[0]} [" + ",".join(['"lol"'] * width) + "]\n"
    for prev, name in zip(names, names[1:]):
        text += f"{name}: &{name} [" + ",".join([f"*{prev}"] * width) + "]\n"
    return text


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.name)
def test_library_reads_as_safe_load_with_the_same_line_map(path):
    text = path.read_text(encoding="utf-8")
    data, lines = yaml_text.load_text(text, file=str(path))
    assert data == yaml.safe_load(text)
    assert lines == scenario_line_map(text)
    size, depth = yaml_text.measure(yaml.compose(text, Loader=yaml.SafeLoader))
    assert size < yaml_text.MAX_NODES / 100 and depth < yaml_text.MAX_DEPTH / 5


def test_measure_counts_aliases_expanded():
    # a: 3 scalars -> 4 nodes; b: 3 x a -> 13; c: 3 x b -> 40; root: 1 + 3 keys + 4 + 13 + 40 = 61
    # depth: root, c, b, a, scalar = 5
    root = yaml.compose(billion_laughs(levels=3, width=3), Loader=yaml.SafeLoader)
    assert yaml_text.measure(root) == (61, 5)


def test_alias_bomb_refused_fast_and_small():
    bomb = billion_laughs()
    assert len(bomb.encode()) == 342  # the size quoted in the issue; 9^9 = 387,420,489 "lol"s expanded
    tracemalloc.start()
    start = time.perf_counter()
    with pytest.raises(ScenarioError) as info:
        yaml_text.load_text(bomb, file="bomb.yaml")
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 2.0 and peak < 20e6, (elapsed, peak)
    message = str(info.value)
    assert message.startswith("bomb.yaml:") and "alias" in message and "200,000" in message
    assert "\n" not in message


def test_expansion_just_under_the_limit_is_read():
    # 2 levels of width w: 1 + 2 keys + (1 + w) + (1 + w(1 + w)) nodes
    w = 440
    expected = 1 + 2 + (1 + w) + (1 + w * (1 + w))
    assert expected < yaml_text.MAX_NODES
    data, _ = yaml_text.load_text(billion_laughs(levels=2, width=w))
    assert len(data["b"]) == w and len(data["b"][0]) == w


def test_recursive_alias_refused():
    with pytest.raises(ScenarioError, match=r"^x\.yaml:1: .*recursive"):
        yaml_text.load_text("loop: &x [1, *x]\n", file="x.yaml")


@pytest.mark.parametrize("depth", [yaml_text.MAX_DEPTH + 1, 5000])
def test_deep_nesting_refused_without_recursion_error(depth):
    text = "x: " + "[" * depth + "]" * depth + "\n"
    with pytest.raises(ScenarioError, match="nesting deeper than 50"):
        yaml_text.load_text(text, file="deep.yaml")


def test_nesting_at_the_limit_is_read():
    depth = yaml_text.MAX_DEPTH - 1  # the root mapping is one level
    data, _ = yaml_text.load_text("x: " + "[" * depth + "]" * depth + "\n")
    assert "x" in data


def test_alias_chain_deeper_than_the_limit_refused():
    # each anchor wraps the previous one: shallow text, deep expanded tree
    text = "a0: &a0 [1]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 60))
    with pytest.raises(ScenarioError, match="nest deeper than 50"):
        yaml_text.load_text(text)


def test_duplicate_key_names_the_key_and_both_lines():
    text = ("site:\n"                     # 1
            "  grid_power_mw: 240\n"      # 2
            "  pue: 1.2\n"                # 3
            "  grid_power_mw: 300\n")     # 4
    with pytest.raises(ScenarioError) as info:
        yaml_text.load_text(text, file="deal.yaml")
    err = info.value
    assert (err.file, err.line, err.path) == ("deal.yaml", 4, "site.grid_power_mw")
    assert str(err) == ("deal.yaml:4: site.grid_power_mw: key 'grid_power_mw' is written twice, "
                        "at lines 2 and 4; write each key once")


def test_duplicate_top_level_section_and_list_item_mapping():
    with pytest.raises(ScenarioError, match=r"ai: key 'ai' is written twice, at lines 1 and 3"):
        yaml_text.load_text("ai: {}\nsite: {}\nai: {}\n")
    with pytest.raises(ScenarioError, match=r"phases\.1\.share: .*lines 3 and 4"):
        yaml_text.load_text("phases:\n- {share: 0.5}\n- share: 0.5\n  share: 0.6\n")


def test_merge_keys_keep_their_meaning():
    # YAML 1.1 merge: explicit keys override merged ones; not a duplicate
    data, lines = yaml_text.load_text("base: &b {pue: 1.2, mw: 10}\nsite:\n  <<: *b\n  pue: 1.3\n")
    assert data["site"] == {"pue": 1.3, "mw": 10}
    assert lines[("site", "pue")] == 4


@pytest.mark.parametrize("date,why", [("2025-13-45", "month must be in 1..12"),
                                      ("2025-02-30", "day is out of range for month")])
def test_invalid_date_is_one_line(date, why):
    with pytest.raises(ScenarioError) as info:
        yaml_text.load_text(f"scenario:\n  valuation_date: {date}\n", file="d.yaml")
    assert str(info.value) == f"d.yaml:2: {date} is not a valid date ({why}); write dates as YYYY-MM-DD"


def test_valid_date_still_a_date():
    import datetime as dt

    data, _ = yaml_text.load_text("valuation_date: 2024-02-29\n")
    assert data["valuation_date"] == dt.date(2024, 2, 29)


def test_overlong_integer_is_one_line():
    with pytest.raises(ScenarioError, match=r"^i\.yaml:1: an integer of 5,000 digits"):
        yaml_text.load_text("x: " + "9" * 5000 + "\n", file="i.yaml")


def test_python_tag_refused():
    with pytest.raises(ScenarioError, match="python/object/apply:os.system is not allowed"):
        yaml_text.load_text("x: !!python/object/apply:os.system ['echo hi']\n")


def test_syntax_error_is_its_own_class_with_line():
    with pytest.raises(yaml_text.YamlSyntaxError) as info:
        yaml_text.load_text("a: 1\npue: [1.05\n", file="s.yaml")
    assert info.value.line == 3 and "YAML syntax error" in str(info.value)


SYNTAX_ERRORS = ["a: 1\npue: [1.05\n", "a: b: c\n", "a:\n  - 1\n - 2\n", "'open\n", "a: 1\n\tb: 2\n", "{a: 1\n"]


@pytest.mark.parametrize("text", SYNTAX_ERRORS)
def test_syntax_errors_keep_pyyaml_messages(text):
    # libyaml parses first; what it refuses is re-read by PyYAML's parser, whose message and line are quoted
    with pytest.raises(yaml.YAMLError) as pyyaml:
        yaml.safe_load(text)
    with pytest.raises(yaml_text.YamlSyntaxError) as info:
        yaml_text.load_text(text)
    assert (info.value.message, info.value.line) == (f"YAML syntax error: {pyyaml.value.problem}",
                                                     pyyaml.value.problem_mark.line + 1)


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML built without libyaml")
@pytest.mark.parametrize("text", [path.read_text(encoding="utf-8") for path in LIBRARY] + [
    "a: &x {b: 1}\nc: *x\nd: {<<: *x, b: 2}\n", "when: 2025-01-31\nn: 0x1F\nf: 1_000.5\nt: yes\n"],
    ids=[path.name for path in LIBRARY] + ["aliases", "scalars"])
def test_libyaml_and_python_parsers_read_the_same(text):
    assert yaml_text._BoundedLoader is not yaml_text._PythonLoader
    assert yaml_text._load(text, yaml_text._BoundedLoader) == yaml_text._load(text, yaml_text._PythonLoader)


def test_bare_scalar_as_for_set_values():
    assert yaml_text.load_text("20%")[0] == "20%"
    assert yaml_text.load_text("0.05")[0] == 0.05
    assert yaml_text.load_text("")[0] is None


def test_read_yaml_file_errors(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("x: " + "1" * (yaml_text.MAX_BYTES + 10))
    with pytest.raises(ScenarioError, match=f"^{big}: larger than 1,048,576 bytes"):
        yaml_text.read_yaml(big)
    with pytest.raises(ScenarioError, match="file not found"):
        yaml_text.read_yaml(tmp_path / "nope.yaml")
    with pytest.raises(ScenarioError, match="is a directory"):
        yaml_text.read_yaml(tmp_path)
    (tmp_path / "e.yaml").write_text("# nothing\n")
    with pytest.raises(ScenarioError, match="file is empty"):
        yaml_text.read_yaml(tmp_path / "e.yaml")
    (tmp_path / "l.yaml").write_text("- a\n")
    with pytest.raises(ScenarioError, match="expected a mapping"):
        yaml_text.read_yaml(tmp_path / "l.yaml")
    (tmp_path / "b.yaml").write_bytes(b"a: \xff\n")
    with pytest.raises(ScenarioError, match="not UTF-8"):
        yaml_text.read_yaml(tmp_path / "b.yaml")


def test_read_yaml_special_file_does_not_block():
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    with pytest.raises(ScenarioError, match="larger than"):
        yaml_text.read_yaml("/dev/zero")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_read_yaml_unreadable(tmp_path):
    path = tmp_path / "locked.yaml"
    path.write_text("a: 1\n")
    path.chmod(0)
    with pytest.raises(ScenarioError, match="cannot be read"):
        yaml_text.read_yaml(path)


def test_read_yaml_returns_raw_bytes_and_names_path_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("deal.yaml").write_text("a: 1\na: 2\n")
    with pytest.raises(ScenarioError) as info:
        yaml_text.read_yaml("deal.yaml")
    assert str(info.value).startswith("deal.yaml:2: a: ")
    Path("ok.yaml").write_text("a: 1\n")
    data, lines, raw = yaml_text.read_yaml("ok.yaml")
    assert data == {"a": 1} and lines[("a",)] == 1 and raw == b"a: 1\n"
