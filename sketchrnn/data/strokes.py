"""Stroke formats and the packed sketch set that preprocessing and batching work on.

Formats (Ha & Eck 2017, section 3.1):

* **stroke-3** ``[n, 3]``: ``(dx, dy, pen_lifted)``; ``pen_lifted = 1`` means the pen leaves
  the paper *after* reaching this point.
* **stroke-5** ``[T, 5]``: ``(dx, dy, p1, p2, p3)`` with ``p1 = 1 - pen_lifted``,
  ``p2 = pen_lifted`` and padding rows ``(0, 0, 0, 0, 1)`` after the sketch
  (magenta ``utils.to_big_strokes``).
* **polylines**: a list of absolute ``[k, 2]`` point arrays, one per pen-down stroke.

First-point convention. The official sketch-rnn QuickDraw ``.npz`` files start every sketch
at its first point: row 0 is the move from the first point to the second (its offsets are small,
never the absolute canvas position). So ``n`` absolute points give ``n - 1`` rows, the first
polyline starts at the origin, and ``polylines_to_stroke3`` / ``stroke3_to_polylines`` are exact
inverses (integer data; float data up to rounding) for sketches that end with a pen lift, as all
QuickDraw sketches do. If the first polyline has a single point, a ``(0, 0, 1)`` row keeps its
pen lift.

``SketchSet`` packs many sketches CSR-style (``points[offsets[i]:offsets[i+1]]`` is sketch
``i``) so that filtering, scaling, gathering and padding are single numpy operations rather than
a Python loop per sketch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def gather_index(offsets: np.ndarray, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row indices into ``points`` for sketches ``indices``, and the offsets of the result.

    One ``np.repeat`` instead of a loop: row ``j`` of sketch ``b`` in the output comes from
    ``offsets[indices[b]] + j``.
    """
    indices = np.asarray(indices, dtype=np.int64)  # [m]
    starts = offsets[indices]  # [m]
    lengths = offsets[indices + 1] - starts  # [m]
    new_offsets = np.zeros(len(indices) + 1, dtype=np.int64)  # [m + 1]
    np.cumsum(lengths, out=new_offsets[1:])
    rows = np.arange(new_offsets[-1], dtype=np.int64)  # [P']
    rows += np.repeat(starts - new_offsets[:-1], lengths)
    return rows, new_offsets


def segment_ids(offsets: np.ndarray) -> np.ndarray:
    """Sketch index of every packed point: ``[P]``."""
    return np.repeat(np.arange(len(offsets) - 1, dtype=np.int64), np.diff(offsets))


@dataclass
class SketchSet:
    """Many stroke-3 sketches packed into one array (see module docstring)."""

    points: np.ndarray  # [P, 3] float32 (dx, dy, pen_lifted)
    offsets: np.ndarray  # [n + 1] int64, offsets[0] == 0, offsets[-1] == P
    labels: np.ndarray  # [n] int64 category index

    def __post_init__(self) -> None:
        if self.points.ndim != 2 or self.points.shape[1] != 3:
            raise ValueError(f"points must be [P, 3], got {self.points.shape}")
        if self.offsets.ndim != 1 or self.offsets[0] != 0 or self.offsets[-1] != len(self.points):
            raise ValueError("offsets must start at 0 and end at len(points)")
        if self.labels.shape != (len(self.offsets) - 1,):
            raise ValueError(f"labels must be [{len(self.offsets) - 1}], got {self.labels.shape}")

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        """Points per sketch: ``[n]`` int64."""
        return np.diff(self.offsets)

    def sketch(self, i: int) -> np.ndarray:
        """Sketch ``i`` as a stroke-3 view ``[n_i, 3]``."""
        return self.points[self.offsets[i] : self.offsets[i + 1]]

    @classmethod
    def empty(cls) -> SketchSet:
        return cls(np.zeros((0, 3), np.float32), np.zeros(1, np.int64), np.zeros(0, np.int64))

    @classmethod
    def from_list(cls, sketches: Sequence[np.ndarray], label: int | np.ndarray = 0) -> SketchSet:
        """Pack stroke-3 arrays; ``label`` is one category index or one per sketch."""
        n = len(sketches)
        if n == 0:
            return cls.empty()
        lengths = np.fromiter(map(len, sketches), dtype=np.int64, count=n)  # [n]
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        points = np.concatenate(sketches, axis=0).astype(np.float32, copy=False)  # [P, 3]
        labels = np.broadcast_to(np.asarray(label, dtype=np.int64), (n,)).copy()
        return cls(points, offsets, labels)

    def to_list(self) -> list[np.ndarray]:
        """One stroke-3 view ``[n_i, 3]`` per sketch."""
        if len(self) == 0:
            return []
        return np.split(self.points, self.offsets[1:-1])

    @classmethod
    def concat(cls, sets: Sequence[SketchSet]) -> SketchSet:
        """Sketches of all ``sets`` in order, labels kept."""
        if not sets:
            return cls.empty()
        bases = np.cumsum([0] + [len(s.points) for s in sets[:-1]])
        offsets = np.concatenate([np.zeros(1, np.int64)] + [s.offsets[1:] + b for s, b in zip(sets, bases)])
        points = np.concatenate([s.points for s in sets], axis=0)
        labels = np.concatenate([s.labels for s in sets])
        return cls(points, offsets, labels)

    def subset(self, indices: np.ndarray) -> SketchSet:
        """The sketches at ``indices`` (or where a boolean mask is true), in that order."""
        indices = np.asarray(indices)
        if indices.dtype == bool:
            indices = np.flatnonzero(indices)
        rows, offsets = gather_index(self.offsets, indices)
        points = np.take(self.points, rows, axis=0)  # [P', 3] (take: faster than fancy indexing)
        return SketchSet(points, offsets, self.labels[indices.astype(np.int64)])


def extents(sketches: SketchSet) -> np.ndarray:
    """Bounding-box extent (larger side) of every sketch, in the set's units: ``[n]``.

    Vectorised over the packed points: positions are one cumulative sum, re-based per sketch.
    """
    if len(sketches) == 0:
        return np.zeros(0)
    lengths = sketches.lengths
    cs = np.cumsum(sketches.points[:, :2].astype(np.float64), axis=0)  # [P, 2]
    seg = segment_ids(sketches.offsets)
    before = np.concatenate([np.zeros((1, 2)), cs])[sketches.offsets[:-1]]  # [n, 2]
    pos = cs - before[seg]  # [P, 2] absolute position relative to the first point
    starts = sketches.offsets[:-1][lengths > 0]
    hi = np.zeros((len(sketches), 2))
    lo = np.zeros((len(sketches), 2))
    hi[lengths > 0] = np.maximum(np.maximum.reduceat(pos, starts, axis=0), 0)
    lo[lengths > 0] = np.minimum(np.minimum.reduceat(pos, starts, axis=0), 0)
    return (hi - lo).max(axis=1)


def stroke3_to_stroke5(
    points: np.ndarray, offsets: np.ndarray | None = None, *, steps: int | None = None
) -> np.ndarray:
    """Packed stroke-3 -> padded stroke-5 ``[n, T, 5]`` (or one ``[n, 3]`` -> ``[T, 5]``).

    ``T = steps`` or ``max(lengths) + 1`` so that at least one end token ``(0,0,0,0,1)`` follows
    every sketch (magenta ``to_big_strokes``). One scatter, no loop.
    """
    single = offsets is None
    if single:
        offsets = np.array([0, len(points)], dtype=np.int64)
    lengths = np.diff(offsets)  # [n]
    n_max = int(lengths.max(initial=0))
    steps = n_max + 1 if steps is None else steps
    if steps < n_max:
        raise ValueError(f"steps={steps} is shorter than the longest sketch ({n_max} points)")
    dtype = points.dtype if points.dtype.kind == "f" else np.float32
    x = np.zeros((len(lengths), steps, 5), dtype=dtype)  # [n, T, 5]
    x[:, :, 4] = 1
    seg = segment_ids(offsets)  # [P]
    pos = np.arange(len(points)) - offsets[seg]  # [P]
    pen = points[:, 2]
    x[seg, pos] = np.stack(
        [points[:, 0], points[:, 1], 1 - pen, pen, np.zeros_like(pen)], axis=1
    ).astype(dtype, copy=False)
    return x[0] if single else x


def stroke5_to_stroke3(
    x: np.ndarray, lengths: np.ndarray | None = None
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Stroke-5 ``[B, T, 5]`` -> packed ``(points [P, 3], offsets [B + 1])``; ``[T, 5]`` -> ``[n, 3]``.

    Without ``lengths`` a sketch ends at its first end token ``p3 = 1`` (or after ``T`` rows),
    as in magenta ``to_normal_strokes``.
    """
    single = x.ndim == 2
    if single:
        x = x[None]
        lengths = None if lengths is None else np.atleast_1d(lengths)
    b, t, _ = x.shape
    if lengths is None:
        ended = x[:, :, 4] > 0.5  # [B, T]
        lengths = np.where(ended.any(axis=1), ended.argmax(axis=1), t)
    lengths = np.asarray(lengths, dtype=np.int64)  # [B]
    mask = np.arange(t)[None, :] < lengths[:, None]  # [B, T], row-major = packed order
    rows = x[mask]  # [P, 5]
    points = np.stack([rows[:, 0], rows[:, 1], rows[:, 3]], axis=1)  # [P, 3]
    if single:
        return points
    offsets = np.zeros(b + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return points, offsets


def _exact_dtype(a: np.ndarray) -> type:
    return np.int64 if a.dtype.kind in "iub" else np.float64


def stroke3_to_polylines(s3: np.ndarray, origin: Sequence[float] = (0, 0)) -> list[np.ndarray]:
    """Stroke-3 ``[n, 3]`` -> absolute polylines (the sketch starts at ``origin``).

    A new polyline starts after each row with ``pen_lifted = 1``; trailing points without a final
    pen lift form the last polyline.
    """
    s3 = np.asarray(s3)
    dtype = _exact_dtype(s3)
    if any(float(o) != int(o) for o in origin):
        dtype = np.float64
    xy = np.zeros((len(s3) + 1, 2), dtype=dtype)  # [n + 1, 2] origin, then each point
    xy[0] = origin
    np.cumsum(s3[:, :2].astype(dtype), axis=0, out=xy[1:])
    xy[1:] += xy[0]
    lifted = np.flatnonzero(s3[:, 2] > 0.5) + 2  # split after point i + 1 of xy
    return [line for line in np.split(xy, lifted) if len(line)]


def polylines_to_stroke3(lines: Sequence[np.ndarray]) -> np.ndarray:
    """Absolute polylines ``[k, 2]`` -> stroke-3 ``[n, 3]`` starting at the first point.

    Integer input gives int64, float input float64: the inverse of ``stroke3_to_polylines``.
    """
    lines = [np.asarray(line).reshape(-1, 2) for line in lines]
    lines = [line for line in lines if len(line)]
    if not lines:
        return np.zeros((0, 3), dtype=np.int64)
    xy = np.concatenate(lines, axis=0)  # [N, 2]
    dtype = _exact_dtype(xy)
    xy = xy.astype(dtype, copy=False)
    pen = np.zeros(len(xy), dtype=dtype)  # [N] pen lifted after each point
    pen[np.cumsum([len(line) for line in lines]) - 1] = 1
    if pen[0] == 1:  # a one-point first stroke: keep its pen lift with a zero move
        xy = np.concatenate([xy[:1], xy], axis=0)
        pen = np.concatenate([np.zeros(1, dtype), pen])
    s3 = np.empty((len(xy) - 1, 3), dtype=dtype)
    s3[:, :2] = np.diff(xy, axis=0)
    s3[:, 2] = pen[1:]
    return s3


def denormalise(s3: np.ndarray, scale: float) -> np.ndarray:
    """Offsets back to data units (pixels); the pen column is left alone."""
    out = np.array(s3, dtype=np.float32, copy=True)  # [n, 3]
    out[:, :2] *= scale
    return out
