"""Tiny untrained checkpoints in a runs directory: enough to exercise the server, no training."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)  # the test machine is shared

CATEGORIES = ["circle", "square"]


def make_runs(root: Path, *, predict: bool = True, draw: tuple[str, ...] = tuple(CATEGORIES),
              calibration: dict | None = None) -> Path:
    """``root/runs`` with a classifier over CATEGORIES and a draw model per name in ``draw``."""
    from sketchrnn.config import DataConfig, LossConfig
    from sketchrnn.checkpoint import CheckpointMeta, save_checkpoint
    from sketchrnn.model.presets import PRESETS
    from sketchrnn.registry import build_model
    from sketchrnn.runs import PREDICT_JOB, draw_job_name

    torch.manual_seed(0)
    runs = root / "runs"
    tiny = PRESETS["tiny"]
    if predict:
        kwargs = {"n_categories": len(CATEGORIES), "enc_hidden": tiny["enc_hidden"],
                  "z_dim": tiny["z_dim"], "head_hidden": 16}
        meta = CheckpointMeta(model="classifier", model_kwargs=kwargs, task="predict",
                              categories=CATEGORIES, scale=30.0, max_seq_len=60,
                              data=DataConfig(max_seq_len=60), loss=LossConfig(),
                              extra={"calibration": calibration} if calibration else {})
        save_checkpoint(runs / PREDICT_JOB / "checkpoints" / "best",
                        build_model("classifier", **kwargs), meta)
    for category in draw:
        meta = CheckpointMeta(model="sketch_rnn", model_kwargs=dict(tiny), task="draw",
                              categories=[category], scale=30.0, max_seq_len=40,
                              data=DataConfig(max_seq_len=40), loss=LossConfig())
        model = build_model("sketch_rnn", **tiny)
        with torch.no_grad():  # an untrained decoder may end at once; completions must have points
            model.decoder.output.bias[2] = -8.0  # pen logits come first: index 2 is end-of-sketch
        save_checkpoint(runs / draw_job_name(category) / "checkpoints" / "best", model, meta)
    runs.mkdir(parents=True, exist_ok=True)
    return runs


@pytest.fixture(scope="session")
def tiny_serve_runs(tmp_path_factory) -> Path:
    return make_runs(tmp_path_factory.mktemp("serve"))


@pytest.fixture(scope="session")
def client(tiny_serve_runs):
    from fastapi.testclient import TestClient

    from sketchrnn.serve.app import create_app
    from sketchrnn.serve.models import ServeModels

    with TestClient(create_app(ServeModels.load(tiny_serve_runs))) as c:
        yield c


def square_strokes(size: float = 200.0, steps: int = 8) -> list[list[list[float]]]:
    """A square as two polylines, in canvas pixels."""
    t = [i / steps for i in range(steps + 1)]
    top = [[100 + size * a, 100.0] for a in t] + [[100 + size, 100 + size * a] for a in t[1:]]
    bottom = [[100 + size * (1 - a), 100 + size] for a in t] + [[100.0, 100 + size * (1 - a)]
                                                                for a in t[1:]]
    return [top, bottom]


@pytest.fixture
def runs_factory(tmp_path):
    """``runs_factory(name, **kwargs)``: a fresh runs directory (see ``make_runs``)."""
    return lambda name="runs", **kwargs: make_runs(tmp_path / name, **kwargs)


@pytest.fixture(scope="session")
def square():
    return square_strokes()
