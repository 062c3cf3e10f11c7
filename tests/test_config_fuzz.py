"""Fuzzing the config parsers: TOML and YAML files and `--set` values (issue 13).

Any input either gives a valid ``Config`` or raises ``ConfigError`` (a ``SketchRNNError``, one
line), never anything else and never a hang. Derandomised with a fixed budget, so CI runs the same
examples every time in a few seconds; pytest-timeout bounds each test.
"""

from __future__ import annotations

import string

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sketchrnn.config import Config
from sketchrnn.config_sources import load_config
from sketchrnn.errors import ConfigError

BUDGET = settings(max_examples=150, derandomize=True, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
pytestmark = pytest.mark.timeout(120)

# Real keys (so that validation, not only parsing, is reached), near misses and noise. No
# subnormal floats: training elsewhere in the session may flush them to zero (set_flush_denormal).
SECTIONS = ["data", "draw.model", "draw.loss", "draw.train", "predict.model", "predict.loss",
            "predict.train", "draw", "predict", "data.x", "nope", ""]
KEYS = ["name", "preset", "enc_hidden", "dec_hidden", "z_dim", "cell", "hyper_hidden", "cycle_steps",
        "kl_weight", "label_smoothing", "steps", "lr", "batch_size", "max_seq_len", "min_seq_len",
        "categories", "truncate_min", "truncate_max", "data_dir", "device", "enc_hiden", "", "a.b"]
scalars = (st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats(allow_nan=True, allow_subnormal=False)
           | st.text(max_size=20) | st.sampled_from(["tiny", "sketch_rnn", "hyper_sketch_rnn", "lstm",
                                                     "classifier", "no_such", "cuda", "pig"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.sampled_from(KEYS), inner, max_size=4), max_leaves=12)
keys = st.builds(lambda s, k: f"{s}.{k}" if s else k, st.sampled_from(SECTIONS), st.sampled_from(KEYS))
configs = st.dictionaries(keys, values, max_size=6)


def _outcome(load) -> None:  # noqa: ANN001
    try:
        assert isinstance(load(), Config)
    except ConfigError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 20_000


def _nest(flat: dict) -> dict:
    data: dict = {}
    for key, value in flat.items():
        node = data
        *parents, last = key.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            node = child if isinstance(child, dict) else {}
        node[last] = value
    return data


@pytest.mark.parametrize("suffix", [".yaml", ".toml"])
@BUDGET
@given(text=st.text(alphabet=string.printable, max_size=300))
def test_any_file_text_parses_or_is_a_config_error(tmp_path_factory, suffix, text) -> None:
    path = tmp_path_factory.mktemp("text") / f"c{suffix}"
    path.write_text(text, encoding="utf-8")
    _outcome(lambda: load_config(path))


@BUDGET
@given(configs)
def test_structured_yaml_files_validate_or_are_a_config_error(tmp_path_factory, flat) -> None:
    path = tmp_path_factory.mktemp("structured") / "c.yaml"
    path.write_text(yaml.safe_dump(_nest(flat)), encoding="utf-8")
    _outcome(lambda: load_config(path))


@BUDGET
@given(st.lists(st.builds(lambda k, sep, v: f"{k}{sep}{v}", keys | st.text(max_size=15),
                          st.sampled_from(["=", "", "=="]), st.text(max_size=40)
                          | values.map(lambda v: yaml.safe_dump(v, default_flow_style=True).strip())),
                max_size=5))
def test_any_set_values_validate_or_are_a_config_error(overrides) -> None:
    _outcome(lambda: load_config(None, overrides))


@pytest.mark.parametrize("value", ["[" * 50_000, "{a: " * 3000, "- " * 3000, "[" * 65 + "]" * 65])
def test_deeply_nested_values_are_a_config_error_at_once(value, tmp_path) -> None:
    """PyYAML takes seconds on a few thousand unclosed brackets, and recurses once per level."""
    with pytest.raises(ConfigError, match="draw.model.z_dim"):
        load_config(None, [f"draw.model.z_dim={value}"])
    path = tmp_path / "deep.yaml"
    path.write_text(f"draw: {{model: {{z_dim: {value}}}}}\n")
    with pytest.raises(ConfigError):
        load_config(path)


def test_oversized_and_non_utf8_files_are_a_config_error(tmp_path) -> None:
    big = tmp_path / "big.toml"
    big.write_text(f'x = "{"a" * (2 << 20)}"\n')
    with pytest.raises(ConfigError, match="too big"):
        load_config(big)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"data: {categories: [caf\xe9]}\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(latin)


def test_an_alias_bomb_is_reported_without_expanding_it(tmp_path) -> None:
    """YAML aliases share one object: 9 levels of 9 references are 9^9 leaves once expanded; the
    error message must not print (or walk) the expanded value."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 9):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]")
    lines.append("draw: {model: {z_dim: *l8, hyper_sise: *l8}, train: {lr: *l8}}")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert len(str(info.value)) < 5_000 and "draw.model.z_dim" in str(info.value)
