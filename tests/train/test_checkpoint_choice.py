"""Which checkpoint each command loads: draw models their latest, the predict model its best."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from sketchrnn.checkpoint import CheckpointMeta, save_checkpoint
from sketchrnn.config import DataConfig, LossConfig
from sketchrnn.errors import CheckpointError
from sketchrnn.model.presets import PRESETS
from sketchrnn.registry import build_model
from sketchrnn.runs import PREDICT_JOB, draw_checkpoint, draw_job_name, find_checkpoint


def save(folder: Path, task: str, step: int) -> None:
    torch.manual_seed(step)
    if task == "draw":
        name, kwargs, categories = "sketch_rnn_uncond", {"dec_hidden": 8, "n_mixtures": 2}, ["pig"]
    else:
        name, kwargs, categories = "classifier", {**PRESETS["tiny"], "n_categories": 2}, ["pig", "sun"]
    meta = CheckpointMeta(model=name, model_kwargs=kwargs, task=task, categories=categories,
                          scale=20.0, max_seq_len=30,
                          data=DataConfig(max_seq_len=30), loss=LossConfig(), step=step)
    save_checkpoint(folder, build_model(name, **kwargs), meta)


@pytest.fixture
def runs(tmp_path):
    for job, task in ((draw_job_name("pig"), "draw"), (PREDICT_JOB, "predict")):
        save(tmp_path / job / "checkpoints" / "best", task, 1)  # lowest valid loss, early
        save(tmp_path / job / "checkpoints" / "latest", task, 9)
    return tmp_path


def step_of(path: Path) -> int:
    return CheckpointMeta.model_validate_json((path / "meta.json").read_text()).step


def test_draw_commands_take_the_latest_and_predict_the_best(runs):
    assert step_of(draw_checkpoint(runs, "pig")) == 9
    assert step_of(find_checkpoint(runs, PREDICT_JOB)) == 1


def test_each_falls_back_to_the_other_folder(runs):
    import shutil

    shutil.rmtree(runs / draw_job_name("pig") / "checkpoints" / "latest")
    shutil.rmtree(runs / PREDICT_JOB / "checkpoints" / "best")
    assert step_of(draw_checkpoint(runs, "pig")) == 1
    assert step_of(find_checkpoint(runs, PREDICT_JOB)) == 9
    with pytest.raises(CheckpointError, match="no trained model 'draw-sun'.*fit 'sun'"):
        draw_checkpoint(runs, "sun")


def test_sample_and_predict_completion_load_the_latest_draw_model(runs):
    """The CLI's loaders, not just the path helper: the step of the model they actually load."""
    from sketchrnn.cli.sample_cmd import load_draw_model
    from sketchrnn.runs import find_draw_checkpoint

    _, _, meta = load_draw_model("pig", runs, None)
    assert meta.step == 9
    assert step_of(find_draw_checkpoint("pig", runs)) == 9


def test_checkpoint_words_pick_that_checkpoint_of_the_job(runs, tmp_path, monkeypatch):
    from sketchrnn.cli.sample_cmd import load_draw_model
    from sketchrnn.runs import SAMPLING_CHECKPOINT, resolve_draw_checkpoint

    monkeypatch.chdir(tmp_path)  # no folder named best/latest here
    assert load_draw_model("pig", runs, Path("best"))[2].step == 1
    assert load_draw_model("pig", runs, Path("latest"))[2].step == 9
    assert resolve_draw_checkpoint("pig", runs, None) == \
        runs / draw_job_name("pig") / "checkpoints" / SAMPLING_CHECKPOINT
    folder = runs / draw_job_name("pig") / "checkpoints" / "best"
    assert resolve_draw_checkpoint("pig", runs, folder) == folder  # a path stays a path


def _record(folder: Path, fid, **settings) -> None:
    from sketchrnn.checkpoint import update_meta
    from sketchrnn.runs import SAMPLE_QUALITY

    update_meta(folder, extra={SAMPLE_QUALITY: {"fid": fid, "settings": {"n": 500, **settings}}})


def test_sampling_follows_the_recorded_sample_fid_of_both_checkpoints(runs):
    from sketchrnn.cli.sample_cmd import load_draw_model

    folder = runs / draw_job_name("pig") / "checkpoints"
    _record(folder / "latest", 2.5)
    assert step_of(draw_checkpoint(runs, "pig")) == 9  # one record alone decides nothing
    _record(folder / "best", 1.5)
    assert step_of(draw_checkpoint(runs, "pig")) == 1  # best drew better samples
    assert load_draw_model("pig", runs, None)[2].step == 1
    assert step_of(draw_checkpoint(runs, "pig", "latest")) == 9  # asked for: always that one
    _record(folder / "best", 1.5, temperature=0.5)
    assert step_of(draw_checkpoint(runs, "pig")) == 9  # measured differently: not comparable
    _record(folder / "best", 1.0)
    _record(folder / "latest", 0.5)
    assert step_of(draw_checkpoint(runs, "pig")) == 9


@pytest.mark.parametrize("fid", ["1.0", None, True, float("nan"), -1.0])
def test_a_malformed_record_is_ignored(runs, fid):
    folder = runs / draw_job_name("pig") / "checkpoints"
    _record(folder / "latest", 9.0)
    _record(folder / "best", fid)
    assert step_of(draw_checkpoint(runs, "pig")) == 9


def test_a_new_save_drops_the_record(runs):
    from sketchrnn.runs import recorded_sample_fid

    latest = runs / draw_job_name("pig") / "checkpoints" / "latest"
    _record(latest, 2.0)
    assert recorded_sample_fid(latest) == (2.0, {"n": 500})
    save(latest, "draw", 10)  # training carries on: new weights, fresh meta
    assert recorded_sample_fid(latest) is None
