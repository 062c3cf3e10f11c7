"""The loop checkpoints on its own schedule (`checkpoint_every`), not only at evaluation steps."""

from __future__ import annotations

import json
from pathlib import Path
from unittest import mock

import numpy as np
import torch

from sketchrnn.config import validate_config
from sketchrnn.data.npz import SketchSplits, save_npz
from sketchrnn.train import artifacts
from sketchrnn.train.job import make_jobs
from sketchrnn.train.loop import Hooks, fit_job


def _walks(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    out = []
    for _ in range(n):
        k = int(rng.integers(12, 25))
        pen = np.zeros(k)
        pen[-1] = 1
        out.append(np.column_stack([rng.normal(0, 10, (k, 2)).round(), pen]).astype(np.int16))
    return out


def _job(tmp_path: Path, **train):
    rng = np.random.default_rng(0)
    save_npz(SketchSplits(train=_walks(rng, 40), valid=_walks(rng, 10), test=_walks(rng, 10)),
             tmp_path / "data" / "cat.npz")
    config = validate_config({
        "data": {"data_dir": str(tmp_path / "data"), "batch_size": 8, "max_seq_len": 30, "min_seq_len": 5},
        "draw": {"model": {"name": "sketch_rnn_uncond", "dec_hidden": 8, "n_mixtures": 2},
                 "train": {"eval_batches": 1, "device": "cpu", **train}},
    })
    return make_jobs(config, ["cat"], only="draw")[0]


def _stop_after(step: int) -> Hooks:
    """Hooks that end the run once `step` is done, as a crash right after it would."""
    seen: list[int] = []
    return Hooks(report=lambda row: seen.append(int(row["step"])), should_stop=lambda: seen[-1] >= step)


def test_latest_checkpoint_at_checkpoint_every_when_eval_every_does_not_divide_it(tmp_path):
    job = _job(tmp_path, steps=20, eval_every=5, checkpoint_every=3)
    job_dir = tmp_path / "runs" / job.name
    with mock.patch.object(artifacts.RunContext, "plots", lambda self: None):
        fit_job(job, job_dir, device=torch.device("cpu"), hooks=_stop_after(4))
    latest = job_dir / "checkpoints" / "latest"
    assert json.loads((latest / "meta.json").read_text())["step"] == 3
    state = torch.load(latest / "train_state.pt", weights_only=True)
    assert state["step"] == 3  # a resume carries on from step 3, not from scratch
    assert not (job_dir / "checkpoints" / "best").exists()  # no evaluation has happened yet
