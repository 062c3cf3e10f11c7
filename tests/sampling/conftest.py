"""Fixtures of the sampling tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from sketchrnn.checkpoint import CheckpointMeta, save_checkpoint
from sketchrnn.config import DataConfig, LossConfig
from sketchrnn.model.presets import PRESETS
from sketchrnn.registry import build_model


@pytest.fixture
def pig(tmp_path) -> Path:
    """An untrained tiny draw model of 'pig', outside any runs folder."""
    torch.manual_seed(0)
    meta = CheckpointMeta(model="sketch_rnn", model_kwargs=dict(PRESETS["tiny"]), task="draw",
                          categories=["pig"], scale=30.0, max_seq_len=20,
                          data=DataConfig(max_seq_len=20), loss=LossConfig())
    return save_checkpoint(tmp_path / "models" / "pig", build_model("sketch_rnn",
                                                                    **PRESETS["tiny"]), meta)
