"""The data a checkpoint was trained on, as that checkpoint describes it.

A checkpoint's meta stores its data settings (``meta.data``: where the data came from, length
filter, clamp, cut range) and its scale, so calibration, evaluation and `predict --from-test` load
the very splits the model was trained with, normalised with the model's stored scale, from the
checkpoint alone (``runs.py`` finds and loads checkpoints).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def data_settings(meta: Any, data_dir: Path | None = None) -> Any:
    """The model's ``DataConfig``; ``data_dir`` overrides where the data is read from."""
    if data_dir is None:
        return meta.data
    return meta.data.model_copy(update={"data_dir": Path(data_dir)})


def load_data(meta: Any, data_dir: Path | None = None) -> Any:
    """``PreparedData`` of the model's categories (label order = ``meta.categories``), filtered and
    clamped as in training and divided by the model's own scale."""
    from sketchrnn.data.preprocess import prepare
    from sketchrnn.train.job import load_splits

    data = data_settings(meta, data_dir)
    splits = {c: load_splits(c, data) for c in meta.categories}
    return prepare(splits, max_seq_len=data.max_seq_len, min_seq_len=data.min_seq_len,
                   clamp=data.clamp, scale=meta.scale)
