"""Recipes (named configurations shipped as package data) and the order config sources apply in:
defaults < recipe < --config < flags < --set. Expected values come from the pydantic field
defaults and from the recipe files read with plain YAML, not from the code under test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import sketchrnn
from sketchrnn.cli import main as cli_main
from sketchrnn.cli.options import build_config
from sketchrnn.config import AugmentConfig, TrainConfig
from sketchrnn.config_sources import load_recipe, recipe_names
from sketchrnn.errors import ConfigError

RECIPE_DIR = Path(sketchrnn.__file__).parent / "recipes"


def _raw(name: str) -> dict:
    return yaml.safe_load((RECIPE_DIR / f"{name}.yaml").read_text())


def _run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        cli_main.main(list(args))
    out = capsys.readouterr()
    return exit_info.value.code, out.out, out.err


def test_the_shipped_recipes_are_there_and_valid():
    files = sorted(p.stem for p in RECIPE_DIR.glob("*.yaml"))
    assert recipe_names() == files and {"quickdraw-cpu", "paper"} <= set(files)
    for name in files:
        recipe = load_recipe(name)  # validates its config too
        raw = _raw(name)
        assert recipe.version == raw["version"] >= 1
        assert recipe.description == raw["description"] and "\n" not in recipe.description


def test_paper_recipe_holds_magentas_hyperparameters():
    """magenta/models/sketch_rnn/model.py get_default_hparams, written out here by hand."""
    config = build_config(None, (), recipe="paper")
    model, loss, train = config.draw.model.build_kwargs(), config.draw.loss, config.draw.train
    assert (model["enc_hidden"], model["dec_hidden"], model["z_dim"], model["n_mixtures"]) == (256, 512, 128, 20)
    assert model["recurrent_dropout"] == pytest.approx(1 - 0.9)
    assert (loss.kl_weight, loss.kl_weight_start, loss.kl_decay_rate, loss.kl_min) == (0.5, 0.01, 0.99995, 0.2)
    assert (train.lr, train.lr_decay, train.min_lr, train.grad_clip) == (1e-3, 0.9999, 1e-5, 1.0)
    assert config.data.batch_size == 100 and config.data.max_seq_len == 250
    assert (config.draw.augment.scale, config.draw.augment.drop) == (0.15, 0.1)


def test_precedence_defaults_recipe_config_flags_set(tmp_path):
    raw = _raw("quickdraw-cpu")["config"]
    default_lr = TrainConfig.model_fields["lr"].default
    assert build_config(None, ()).draw.train.lr == default_lr
    with_recipe = build_config(None, (), recipe="quickdraw-cpu")
    assert with_recipe.draw.train.lr == raw["draw"]["train"]["lr"] != default_lr
    assert with_recipe.draw.model.name == raw["draw"]["model"]["name"]

    path = tmp_path / "mine.yaml"
    path.write_text("draw:\n  train:\n    lr: 5.0e-4\n    steps: 11\n")
    with_file = build_config(path, (), recipe="quickdraw-cpu")
    assert with_file.draw.train.lr == 5e-4 and with_file.draw.train.steps == 11
    assert with_file.draw.train.eval_batches == raw["draw"]["train"]["eval_batches"]  # recipe kept
    assert with_file.draw.model.name == raw["draw"]["model"]["name"]

    with_flags = build_config(path, (), recipe="quickdraw-cpu", steps=22)
    assert with_flags.draw.train.steps == 22 and with_flags.predict.train.steps == 22
    with_set = build_config(path, ("draw.train.lr=7e-4", "draw.train.steps=33"),
                            recipe="quickdraw-cpu", steps=22)
    assert with_set.draw.train.lr == 7e-4 and with_set.draw.train.steps == 33


def test_a_later_source_naming_another_model_replaces_the_recipes_model_section():
    config = build_config(None, ("draw.model.name=sketch_rnn",), recipe="quickdraw-cpu")
    assert config.draw.model.name == "sketch_rnn" and config.draw.model.preset is None
    assert config.draw.train.lr == _raw("quickdraw-cpu")["config"]["draw"]["train"]["lr"]


def test_unknown_recipe_is_one_line_listing_the_names(capsys):
    code, _, err = _run(capsys, "fit", "pig", "--recipe", "quickdraw-gpu")
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and "quickdraw-gpu" in lines[0]
    assert all(name in lines[0] for name in recipe_names())
    with pytest.raises(ConfigError, match="paper, quickdraw-cpu"):
        load_recipe("nope")


def test_recipes_command_lists_names_descriptions_and_figures(capsys):
    code, out, _ = _run(capsys, "recipes", "--json")
    assert code == 0
    listed = {r["name"]: r for r in json.loads(out)}
    assert set(listed) == set(recipe_names())
    for name, row in listed.items():
        raw = _raw(name)
        assert row["description"] == raw["description"] and row["figures"] == raw.get("figures", [])
    code, out, _ = _run(capsys, "recipes", "quickdraw-cpu")
    assert code == 0 and yaml.safe_load(out) == _raw("quickdraw-cpu")["config"]


def test_augmentation_is_per_task_and_predict_gets_rotation():
    config = build_config(None, ())
    assert config.draw.augment == AugmentConfig()
    assert config.predict.augment.rotate > 0 and config.predict.augment.scale > config.draw.augment.scale


def test_old_shared_augment_keys_still_mean_both_tasks(tmp_path):
    path = tmp_path / "old.toml"
    path.write_text("[data]\naugment_scale = 0.3\naugment_rotate = 5.0\n[predict.augment]\nrotate = 20.0\n")
    config = build_config(path, ())
    assert config.draw.augment.scale == config.predict.augment.scale == 0.3
    assert config.draw.augment.rotate == 5.0 and config.predict.augment.rotate == 20.0  # own key wins
    # an old key given later beats a new key given earlier (the recipe's per-task values)
    config = build_config(None, ("data.augment_drop=0.05",), recipe="quickdraw-cpu")
    assert config.draw.augment.drop == config.predict.augment.drop == 0.05


def test_old_checkpoint_meta_with_shared_augment_keys_loads(tmp_path):
    from sketchrnn.checkpoint_meta import META, read_meta
    from sketchrnn.config import DataConfig, LossConfig

    data = {**DataConfig().model_dump(mode="json"), "augment_scale": 0.15, "augment_drop": 0.1,
            "augment_rotate": 0.0}
    meta = {"format_version": 2, "model": "sketch_rnn", "model_kwargs": {}, "task": "draw",
            "categories": ["pig"], "scale": 30.0, "max_seq_len": 200, "data": data,
            "loss": LossConfig().model_dump(mode="json"), "created": "2026-01-01T00:00:00Z"}
    (tmp_path / META).write_text(json.dumps(meta))
    assert read_meta(tmp_path).data == DataConfig()
    meta["data"]["augment_typo"] = 1  # anything else unknown is still refused
    (tmp_path / META).write_text(json.dumps(meta))
    with pytest.raises(Exception, match="augment_typo"):
        read_meta(tmp_path)


def test_each_task_trains_with_its_own_augmentation(monkeypatch):
    import sketchrnn.data.batching as batching
    from sketchrnn.train.job import make_jobs
    from sketchrnn.train.tasks import task_for

    seen = {}

    def fake_batches(data_set, batch_size, **kwargs):
        seen[len(seen)] = kwargs["augment"]
        yield "batch"

    monkeypatch.setattr(batching, "iterate_batches", fake_batches)
    config = build_config(None, ("draw.augment.scale=0.05", "predict.augment.rotate=12"))
    for job in make_jobs(config, ["pig", "face"]):
        next(task_for(job).batch_stream([], seed=0, rank=0, world_size=1))
    draws, predict = list(seen.values())[:2], list(seen.values())[2]
    assert all(a == batching.Augment(scale=0.05, drop=0.1, rotate=0.0) for a in draws)
    assert predict.rotate == 12 and predict.scale == config.predict.augment.scale


@pytest.mark.parametrize("command", ["fit", "tune"])
def test_fit_and_tune_take_a_recipe(command, capsys):
    code, out, _ = _run(capsys, command, "--help")
    assert code == 0 and "--recipe" in out
