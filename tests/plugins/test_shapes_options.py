"""The plugin's own options through the config and a tune search space (no training)."""

from __future__ import annotations

import importlib.util

import pytest

from sketchrnn.errors import ConfigError

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("sketchrnn_shapes") is None,
    reason="sketchrnn-shapes is not installed (pip install ./plugins/sketchrnn-shapes)",
)
HYPER = ["draw.model.name=hyper_sketch_rnn", "draw.loss.name=sketch_rnn_cyclical"]


def test_plugin_options_are_validated_and_resolved_with_the_preset() -> None:
    from sketchrnn.config_sources import load_config

    cfg = load_config(None, [*HYPER, "draw.model.preset=tiny", "draw.model.hyper_hidden=12",
                             "draw.loss.cycle_steps=300"])
    assert cfg.draw.model.build_kwargs() == {"enc_hidden": 16, "dec_hidden": 32, "z_dim": 8, "n_mixtures": 3,
                                             "cell": "lstm", "recurrent_dropout": 0.1,
                                             "hyper_hidden": 12, "hyper_embedding": None}
    assert cfg.draw.loss.build_kwargs()["cycle_steps"] == 300
    with pytest.raises(ConfigError) as info:
        load_config(None, [*HYPER, "draw.model.hyper_embeding=4", "draw.model.head_hidden=8",
                           "draw.loss.ramp_fraction=2", "draw.train.lr=0"])
    msg = str(info.value)
    assert "draw.model.hyper_embeding: unknown option (did you mean 'hyper_embedding'?" in msg
    assert "draw.model.head_hidden: unknown option" in msg  # a classifier option is not a draw option
    assert "draw.loss.ramp_fraction: Input should be less than or equal to 1" in msg
    assert "draw.train.lr" in msg
    with pytest.raises(ConfigError) as info:  # a bad preset does not hide the option problems
        load_config(None, [*HYPER, "draw.model.preset=huge", "draw.model.hyper_sise=4", "draw.model.z_dim=0"])
    msg = str(info.value)
    assert "draw.model.preset: Input should be 'tiny', 'small' or 'paper'" in msg
    assert "draw.model.hyper_sise: unknown option (did you mean 'hyper_hidden'?" in msg
    assert "draw.model.z_dim: Input should be greater than or equal to 1" in msg


def test_a_tune_space_tunes_a_plugin_option() -> None:
    from sketchrnn.config import validate_config
    from sketchrnn.config_sources import apply_overrides
    from sketchrnn.tuning.space import parse_space

    base = apply_overrides({}, HYPER)
    space = parse_space({"draw.model.hyper_hidden": {"choice": [8, 24]},
                         "draw.loss.cycle_steps": {"randint": [100, 200]}}, "draw", base=base)
    cfg = validate_config(space.apply(base, {"draw.model.hyper_hidden": 24, "draw.loss.cycle_steps": 150}))
    assert cfg.draw.model.build_kwargs()["hyper_hidden"] == 24
    assert cfg.draw.loss.build_kwargs()["cycle_steps"] == 150
    with pytest.raises(ConfigError, match="draw.model.hyper_hidden: 0 is not allowed"):
        parse_space({"draw.model.hyper_hidden": {"choice": [0, 8]}}, "draw", base=base)
    with pytest.raises(ConfigError, match="draw.model.hyper_hidden: unknown key"):  # not sketch_rnn's
        parse_space({"draw.model.hyper_hidden": {"choice": [8]}}, "draw", base={})
