"""Config files, overrides and validation that reports every problem at once."""

from __future__ import annotations

import pytest

from sketchrnn.config import Config
from sketchrnn.config_sources import load_config
from sketchrnn.errors import ConfigError


def test_defaults_follow_magenta():
    cfg = Config()
    model, loss = cfg.draw.model.build_kwargs(), cfg.draw.loss.build_kwargs()
    assert model["enc_hidden"] == 256 and model["dec_hidden"] == 512
    assert model["z_dim"] == 128 and model["n_mixtures"] == 20
    assert cfg.data.batch_size == 100 and cfg.data.max_seq_len == 200
    assert cfg.draw.train.lr == 1e-3 and cfg.draw.train.min_lr == 1e-5 and cfg.draw.train.grad_clip == 1.0
    assert loss["kl_weight"] == 0.5 and loss["kl_weight_start"] == 0.01 and loss["kl_min"] == 0.2
    # magenta's decay rates assume 10^5+ steps: unset, both follow train.steps (test_schedule.py)
    assert cfg.draw.train.lr_decay is None and loss["kl_decay_rate"] is None
    assert cfg.predict.model.name == "classifier"


def test_every_field_is_described():
    def walk(model):
        for name, field in model.model_fields.items():
            ann = field.annotation
            if isinstance(ann, type) and issubclass(ann, type(Config)) is False and hasattr(ann, "model_fields"):
                walk(ann)
            elif name not in ("model", "loss", "train"):
                assert field.description, f"{model.__name__}.{name} has no description"

    walk(Config)


def test_every_builtin_option_is_described():
    from sketchrnn.registry import CORE_DISTRIBUTION, get_registry, options_class

    reg = get_registry()
    for group in ("models", "losses"):
        for name, entry in reg.entries(group).items():
            if entry.distribution == CORE_DISTRIBUTION:
                for option, field in options_class(reg.load(group, name)).model_fields.items():
                    assert field.description, f"{group} {name}: option {option} has no description"


def test_toml_file_and_overrides(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[data]\nbatch_size = 32\n[draw.train]\nsteps = 50\n[draw.model]\npreset = "tiny"\n')
    cfg = load_config(path, ["draw.train.lr=5e-4", "data.categories=[pig, face]"])
    assert cfg.data.batch_size == 32 and cfg.draw.train.steps == 50
    assert cfg.draw.train.lr == 5e-4 and cfg.data.categories == ["pig", "face"]
    assert cfg.draw.model.build_kwargs()["enc_hidden"] == 16  # the tiny preset


def test_yaml_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("predict:\n  train:\n    steps: 7\n")
    assert load_config(path).predict.train.steps == 7


def test_explicit_size_wins_over_preset(tmp_path):
    cfg = load_config(None, ["draw.model.preset=tiny", "draw.model.dec_hidden=64"])
    kwargs = cfg.draw.model.build_kwargs()
    assert kwargs["dec_hidden"] == 64 and kwargs["enc_hidden"] == 16


def test_all_problems_reported_at_once():
    with pytest.raises(ConfigError) as info:
        load_config(None, ["draw.train.lr=-1", "data.batch_size=0", "draw.model.celll=lstm",
                           "data.truncate_min=0.9", "data.truncate_max=0.1"])
    msg = str(info.value)
    assert "draw.train.lr" in msg and "data.batch_size" in msg
    assert "celll" in msg and "did you mean 'cell'" in msg
    assert "truncate_min" in msg
    assert "\n" not in msg


def test_bad_files(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[data\nx=")
    with pytest.raises(ConfigError, match="bad.toml"):
        load_config(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.toml")
    other = tmp_path / "c.json"
    other.write_text("{}")
    with pytest.raises(ConfigError, match="unknown suffix"):
        load_config(other)


def test_partial_predict_section_keeps_the_predict_defaults():
    """Setting one predict key must not swap the rest for the draw defaults."""
    from sketchrnn.config import PREDICT_DEFAULTS

    cfg = Config.model_validate({"predict": {"train": {"steps": 7}, "model": {"enc_hidden": 32}}})
    assert cfg.predict.train.steps == 7 and cfg.predict.model.enc_hidden == 32
    for section, defaults in PREDICT_DEFAULTS.items():
        for key, value in defaults.items():
            assert getattr(getattr(cfg.predict, section), key) == value, f"predict.{section}.{key}"
    assert cfg.predict.train.lr != cfg.draw.train.lr  # the two tasks really differ
    overridden = Config.model_validate({"predict": {"train": {"lr_schedule": "exponential"}}})
    assert overridden.predict.train.lr_schedule == "exponential"
