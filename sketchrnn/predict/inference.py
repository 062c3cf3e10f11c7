"""Batched classifier inference on packed sketch sets, and unit conversion.

Shared by `predict` (one sketch), calibration (the valid split) and evaluation (tens of thousands
of cut test sketches), so that all three see a sketch exactly the same way: normalised with the
model's stored scale, cut by the rule the predict model was trained with (``data.tail_cut``),
and batched by length so that padding stays small (the encoder never reads padding, so batching
does not change logits).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

# extents lives with the sketch set (training matches outlier sizes with it too); imported from here.
from sketchrnn.data.strokes import SketchSet, extents, gather_index, stroke3_to_stroke5  # noqa: F401


def normalise(strokes: np.ndarray, meta: Any, stretch: float = 1.0) -> np.ndarray:
    """Pixels -> model units: offsets times ``stretch``, clamped to the model's training clamp
    (``meta.data.clamp``), divided by its stored ``meta.scale`` (never a freshly computed std).
    ``[n, 3]`` float32."""
    out = np.array(strokes, dtype=np.float64, copy=True)
    clamp = meta.data.clamp
    out[:, :2] = np.clip(out[:, :2] * stretch, -clamp, clamp) / meta.scale
    return out.astype(np.float32)


@torch.inference_mode()
def _apply(fn: Any, model: nn.Module, sketches: SketchSet, batch_size: int) -> list[np.ndarray]:
    """``fn(x [B, T, 5], lengths [B]) -> [B, D]`` in eval mode over batches of sketches of
    similar length (sorted), each padded to its own longest sketch: one float64 array per batch,
    in sorted order (``_in_set_order`` puts them back)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    order = np.argsort(sketches.lengths, kind="stable")
    parts = []
    try:
        for start in range(0, len(sketches), batch_size):
            rows, offsets = gather_index(sketches.offsets, order[start : start + batch_size])
            x = stroke3_to_stroke5(sketches.points[rows].astype(np.float32), offsets)  # [B, T, 5]
            lengths = torch.from_numpy(np.diff(offsets)).to(device)  # [B]
            parts.append(fn(torch.from_numpy(x).to(device), lengths).double().cpu().numpy())
    finally:
        model.train(was_training)
    return parts


def _in_set_order(parts: list[np.ndarray], sketches: SketchSet, empty_width: int) -> np.ndarray:
    if not parts:
        return np.zeros((0, empty_width))
    out = np.empty((len(sketches), parts[0].shape[1]))
    out[np.argsort(sketches.lengths, kind="stable")] = np.concatenate(parts)
    return out


def classify(model: nn.Module, sketches: SketchSet, *, batch_size: int = 512) -> np.ndarray:
    """Logits ``[n, n_categories]`` (float64) of every sketch in the set, in set order."""
    return _in_set_order(_apply(model, model, sketches, batch_size), sketches,
                         getattr(model, "n_categories", 0))


def embed(model: nn.Module, sketches: SketchSet, *, batch_size: int = 512) -> np.ndarray:
    """The classifier's pooled sketch code (``model.encode``; for ``SketchClassifier`` the ``mu``
    its head reads) of every sketch in the set: ``[n, D]`` float64, in set order. The feature
    space of the sketch FID and precision/recall (``evaluation/fid.py``)."""
    return _in_set_order(_apply(model.encode, model, sketches, batch_size), sketches,
                         getattr(model, "z_dim", 0))


def log_softmax(logits: np.ndarray, calibration_T: float = 1.0) -> np.ndarray:
    """Row-wise ``log softmax(logits / T)`` in float64 (numerically stable)."""
    z = np.asarray(logits, dtype=np.float64) / calibration_T
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def nll(logits: np.ndarray, labels: np.ndarray, calibration_T: float = 1.0) -> float:
    """Mean negative log-likelihood (nats) of ``labels`` under ``softmax(logits / T)``."""
    lp = log_softmax(logits, calibration_T)
    return float(-lp[np.arange(len(labels)), labels].mean()) if len(labels) else math.nan
