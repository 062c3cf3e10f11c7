"""The runs layout (sketchrnn/runs.py): where checkpoints are, and putting back the previous one
when a save was killed between its two renames."""

from __future__ import annotations

import pytest

from sketchrnn.checkpoint import CheckpointMeta, load_checkpoint, read_meta, save_checkpoint
from sketchrnn.config import DataConfig, LossConfig
from sketchrnn.errors import CheckpointError
from sketchrnn.model.presets import PRESETS
from sketchrnn.registry import build_model
from sketchrnn.runs import (
    JobDir,
    job_root,
    load_classifier,
    load_draw,
    recover_interrupted_swap,
    resolve_predict_target,
    slug,
)

TINY = dict(PRESETS["tiny"])


def _save(path, step: int = 3):
    meta = CheckpointMeta(model="sketch_rnn", model_kwargs=TINY, task="draw", categories=["pig"],
                          scale=20.0, max_seq_len=30, data=DataConfig(max_seq_len=30),
                          loss=LossConfig(), step=step)
    return save_checkpoint(path, build_model("sketch_rnn", **TINY), meta)


def test_a_save_killed_between_its_renames_is_put_back(tmp_path):
    jd = JobDir(tmp_path / "draw-pig")
    _save(jd.latest, step=7)
    aside = jd.latest.parent / ".latest.old-1234abcd"
    jd.latest.rename(aside)  # the old one moved aside ...
    jd.latest.mkdir()  # ... and a leftover without a meta file where the new one was going
    assert recover_interrupted_swap(jd.latest)
    assert not aside.exists() and read_meta(jd.latest).step == 7
    assert load_checkpoint(jd.latest)[1].step == 7
    assert recover_interrupted_swap(jd.latest)  # nothing to do the second time


def test_nothing_to_recover(tmp_path):
    assert not recover_interrupted_swap(JobDir(tmp_path / "draw-pig").latest)


def test_paths_of_the_layout(tmp_path):
    jd = JobDir(tmp_path / "runs" / "predict")
    assert job_root(jd.best) == jd.root and job_root(tmp_path / "copy") == tmp_path / "copy"
    assert [slug(n) for n in ("alarm clock", "..", ".hidden", "a/b")] == \
        ["alarm_clock", "category", "hidden", "a_b"]


def test_loading_by_task(tmp_path):
    path = _save(tmp_path / "runs" / "draw-pig" / "checkpoints" / "latest")
    model, meta = load_draw(path)
    assert meta.categories == ["pig"] and not model.training
    with pytest.raises(CheckpointError, match="holds a draw model, not a predict model"):
        load_classifier(path)
    with pytest.raises(CheckpointError, match="no trained model 'predict'"):
        resolve_predict_target(tmp_path / "runs")


def _killed_while_writing(target, write) -> None:
    """Run `write(target)` in a child process that dies (os._exit) halfway through the write."""
    import multiprocessing

    child = multiprocessing.get_context("fork").Process(target=write, args=(target,))
    child.start()
    child.join(60)
    assert child.exitcode == 9


def _atomic_write_dies(path) -> None:
    import os

    from sketchrnn._io import atomic_write

    def half(fh) -> None:
        fh.write(b"half a plot")
        os._exit(9)

    atomic_write(path, half)


def _checkpoint_save_dies(path) -> None:
    import os

    import safetensors.torch

    safetensors.torch.save_file = lambda *a, **k: os._exit(9)  # dies while writing the weights
    _save(path, step=20)


def test_writes_of_a_killed_process_are_removed_and_nothing_else(tmp_path):
    jd = JobDir(tmp_path / "draw-pig")
    _save(jd.latest, step=10)
    _killed_while_writing(jd.loss_plot, _atomic_write_dies)
    _killed_while_writing(jd.latest, _checkpoint_save_dies)
    _killed_while_writing(jd.samples / "step_000020.png", _atomic_write_dies)
    keep = [jd.root / ".validate_storage_marker", jd.root / ".fault_injected", jd.samples / ".x.tmp"]
    for path in keep:
        path.write_text("not ours")
    leftovers = sorted(p for p in jd.root.rglob(".*") if p not in keep)
    assert len(leftovers) == 3, leftovers  # two temp files and the checkpoint's temp folder

    assert sorted(jd.remove_interrupted_writes()) == leftovers
    assert sorted(jd.root.rglob(".*")) == sorted(keep)
    assert read_meta(jd.latest).step == 10 and not jd.loss_plot.exists()
