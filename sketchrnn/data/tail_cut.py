"""The tail-cut rule: what "cut off a fraction c of a sketch's tail" means, in one place.

The predict model learns to classify unfinished sketches, so training cuts random tails
(``batching.make_batch(truncate=...)``) and evaluation, calibration and ``predict --from-test``
cut given fractions. Both must cut alike, or the model is evaluated on sketches unlike the ones
it was trained on. The rule: keep the first ``ceil((1 - c) * n)`` points, at least 2 (or all of
a shorter sketch), and lift the pen after the last kept point, so that the sketch ends a stroke.
"""

from __future__ import annotations

import numpy as np

from sketchrnn.data.strokes import SketchSet, gather_index, segment_ids

# (1 - 0.7) * 10 is 3.0000000000000004 in floats: without this a cut of exactly 70% of 10 points
# would keep 4. Any real fraction's product is far from an integer by more than this.
_EXACT = 1e-9


def kept_points(lengths: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """How many points of each sketch a cut keeps: ``[B]`` int64 from lengths and fractions ``[B]``."""
    lengths = np.asarray(lengths, dtype=np.int64)
    fractions = np.asarray(fractions, dtype=np.float64)
    if np.any((fractions < 0) | (fractions >= 1)):
        raise ValueError("cut fractions must lie in [0, 1)")
    keep = np.ceil((1.0 - fractions) * lengths - _EXACT).astype(np.int64)
    return np.clip(keep, np.minimum(2, lengths), lengths)


def cut_packed(points: np.ndarray, offsets: np.ndarray, fractions: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Cut every sketch of a packed set ``(points [P, 3], offsets [B + 1])``; returns new arrays."""
    keep = kept_points(np.diff(offsets), fractions)  # [B]
    seg = segment_ids(offsets)  # [P]
    mask = np.arange(len(points)) - offsets[seg] < keep[seg]
    points = points[mask]  # [P', 3], a copy
    new_offsets = np.zeros(len(keep) + 1, dtype=np.int64)
    np.cumsum(keep, out=new_offsets[1:])
    points[new_offsets[1:][keep > 0] - 1, 2] = 1  # the pen lifts after the last kept point
    return points, new_offsets


def cut_tails(sketches: SketchSet, indices: np.ndarray, fractions: np.ndarray) -> SketchSet:
    """``sketches[indices]`` with the last ``fractions`` of each cut off (given, not drawn, so
    that an evaluation can report accuracy per cut fraction)."""
    indices = np.asarray(indices, dtype=np.int64)  # [B]
    fractions = np.broadcast_to(np.asarray(fractions, dtype=np.float64), indices.shape)  # [B]
    rows, offsets = gather_index(sketches.offsets, indices)
    points, new_offsets = cut_packed(np.take(sketches.points, rows, axis=0), offsets, fractions)
    return SketchSet(points, new_offsets, sketches.labels[indices])
