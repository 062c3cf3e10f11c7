"""A tiny trained runs directory for predict/eval tests, built once per test session.

Three generated categories with QuickDraw names (so the normal category source reads them from
``<data_dir>/<name>.npz``) that even a tiny classifier tells apart within a few dozen steps:
circles, squares and zigzags, in raw pixel units like the sketch-rnn files. Training goes
through the library (``make_jobs`` + ``fit_job``), exactly as `sketchrnn fit` does.
"""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import numpy as np

CATEGORIES = ["circle", "square", "zigzag"]
_CACHE: dict[str, Path] = {}


def shape(kind: str, rng: np.random.Generator) -> np.ndarray:
    """One sketch of ``kind`` as absolute integer points ``[k, 2]`` (one stroke)."""
    size = rng.uniform(150, 300)
    if kind == "circle":
        t = np.linspace(0, 2 * np.pi, int(rng.integers(18, 30)))
        xy = np.stack([np.cos(t), np.sin(t)], 1) * size / 2
    elif kind == "square":
        corners = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], dtype=float) * size
        xy = np.concatenate([np.linspace(a, b, 6, endpoint=False) for a, b in
                             zip(corners[:-1], corners[1:])] + [corners[-1:]])
    else:
        n = int(rng.integers(8, 14))
        xy = np.stack([np.arange(n) * size / n, (np.arange(n) % 2) * size / 3], 1)
    xy = xy + rng.normal(0, 2.0, xy.shape)
    return np.round(xy).astype(np.int64)


def make_data(data_dir: Path, n_train: int = 120, n_eval: int = 30, seed: int = 0) -> None:
    from sketchrnn.data.npz import SketchSplits, save_npz
    from sketchrnn.data.strokes import polylines_to_stroke3

    rng = np.random.default_rng(seed)
    for kind in CATEGORIES:
        def many(k: int, kind: str = kind) -> list[np.ndarray]:
            return [polylines_to_stroke3([shape(kind, rng)]) for _ in range(k)]

        save_npz(SketchSplits(train=many(n_train), valid=many(n_eval), test=many(n_eval)),
                 data_dir / f"{kind}.npz")


def build(root: Path) -> Path:
    """Data + a trained predict model + a draw model for "circle" under ``root``; returns the
    runs directory (cached for the session)."""
    if "runs" in _CACHE:
        return _CACHE["runs"]
    import torch

    from sketchrnn.config import validate_config
    from sketchrnn.predict.calibration import calibrate
    from sketchrnn.train import artifacts
    from sketchrnn.train.job import make_jobs
    from sketchrnn.train.loop import fit_job

    torch.set_num_threads(1)
    data_dir, runs = root / "data", root / "runs"
    data_dir.mkdir(parents=True, exist_ok=True)
    make_data(data_dir)
    train = {"eval_every": 1000, "checkpoint_every": 1000, "eval_batches": 2, "device": "cpu"}
    config = validate_config({
        "data": {"data_dir": str(data_dir), "batch_size": 24, "max_seq_len": 60,
                 "min_seq_len": 5},
        "predict": {"model": {"name": "classifier", "preset": "tiny", "head_hidden": 16},
                    "loss": {"name": "classification"},
                    "train": {**train, "steps": 60, "lr": 0.01}},
        "draw": {"model": {"preset": "tiny"}, "train": {**train, "steps": 4}},
    })
    jobs = make_jobs(config, CATEGORIES)
    # Loss plots are matplotlib's slowest path and not under test here: skip them.
    with mock.patch.object(artifacts.RunContext, "plots", lambda self: None):
        for job in jobs:
            if job.task == "predict" or job.categories == ["circle"]:
                fit_job(job, runs / job.name, device=torch.device("cpu"))
    calibrate(runs)
    _CACHE["runs"] = runs
    _CACHE["data"] = data_dir
    return runs
