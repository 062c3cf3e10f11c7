"""Padded stroke-5 batches: length bucketing, augmentation, tail truncation, balance, DDP shards.

* A batch is padded only to its own longest sketch plus one end token (``T = max(lengths) + 1``);
  length bucketing (``bucketing.py``: sort the shuffled indices by length only within random pools
  of ``bucket_batches`` batches, then shuffle the batch order) keeps that padding small while
  every epoch draws new batches.
* Augmentation follows magenta ``DataLoader.random_scale`` (per-sketch ``x`` and ``y`` stretch in
  ``[1 - s, 1 + s]``) and ``augment_strokes`` (drop interior pen-down points with probability
  ``p``; a point is eligible when it and the three before it are pen-down, i.e. magenta's
  ``count > 2``). A dropped point's offset is merged into the next point, so the drawing is kept.
  Optionally a random rotation of each sketch (not in magenta; off by default): the predict model
  should not care whether a sketch leans a little.
* Truncation (the predict task) keeps the first ``ceil((1 - c) n)`` points, ``c ~ U[lo, hi]`` per
  sketch, at least 2, and lifts the pen after the last kept point.
* ``balanced`` batches hold equal counts per label (exact when ``batch_size`` divides evenly).
* ``shard=(rank, world)`` gives each DDP worker every ``world``-th batch of the same global order,
  so all workers must pass identically seeded generators; augmentation draws differ per rank.

Every step is one gather / scatter over the packed points: no Python loop over sketches.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from sketchrnn.data.bucketing import BUCKET_BATCHES, bucket_by_length
from sketchrnn.data.strokes import SketchSet, gather_index, segment_ids, stroke3_to_stroke5
from sketchrnn.data.tail_cut import cut_packed


@dataclass
class Batch:
    """Stroke-5 batch (see docs/architecture.md)."""

    x: torch.Tensor  # [B, T, 5] float32, T = max(lengths) + 1
    lengths: torch.Tensor  # [B] int64, real points per sketch
    labels: torch.Tensor  # [B] int64

    def to(self, device: torch.device | str, non_blocking: bool = False) -> Batch:
        return Batch(*(t.to(device, non_blocking=non_blocking) for t in (self.x, self.lengths, self.labels)))


@dataclass(frozen=True)
class Augment:
    """Training-time augmentation (magenta defaults: random_scale_factor 0.15, augment_stroke_prob 0.1)."""

    scale: float = 0.15  # per-axis stretch factor in [1 - scale, 1 + scale]
    drop: float = 0.1  # probability of dropping an eligible interior point
    rotate: float = 0.0  # rotate each sketch by an angle in [-rotate, rotate] degrees


def _drop_points(points: np.ndarray, offsets: np.ndarray, p: float, rng: np.random.Generator):
    """magenta ``augment_strokes`` on packed sketches; returns ``(points, offsets)``."""
    seg = segment_ids(offsets)  # [P]
    pos = np.arange(len(points)) - offsets[seg]  # [P]
    lengths = np.diff(offsets)
    down = points[:, 2] == 0  # [P]
    run = down.copy()  # point and its 3 predecessors (same sketch) pen-down
    for k in range(1, 4):
        run[k:] &= down[:-k]
    eligible = run & (pos >= 3) & (pos < lengths[seg] - 1)  # never the last point: it has a next
    drop = eligible & (rng.random(len(points)) < p)  # [P]
    if not drop.any():
        return points, offsets
    keep = ~drop
    # Each kept point absorbs the dropped run just before it: contiguous groups, summed in order.
    starts = np.flatnonzero(np.concatenate([[True], keep[:-1]]))  # [P_kept] group starts
    merged = points[keep]  # [P_kept, 3]
    merged[:, :2] = np.add.reduceat(points[:, :2], starts, axis=0)
    new_offsets = np.zeros_like(offsets)
    np.cumsum(np.bincount(seg[keep], minlength=len(lengths)), out=new_offsets[1:])
    return merged, new_offsets


def _rotate(xy: np.ndarray, offsets: np.ndarray, degrees: float, rng: np.random.Generator) -> np.ndarray:
    """Each sketch's offsets ``[P, 2]`` turned by its own angle in ``[-degrees, degrees]``."""
    theta = np.deg2rad(rng.uniform(-degrees, degrees, size=len(offsets) - 1))[segment_ids(offsets)]  # [P]
    cos, sin = np.cos(theta), np.sin(theta)
    return np.stack([cos * xy[:, 0] - sin * xy[:, 1], sin * xy[:, 0] + cos * xy[:, 1]], 1).astype(xy.dtype)


def make_batch(
    sketches: SketchSet,
    indices: np.ndarray,
    *,
    rng: np.random.Generator | None = None,
    augment: Augment | None = None,
    truncate: tuple[float, float] | None = None,
) -> Batch:
    """One stroke-5 batch of ``sketches[indices]``: a gather, optional augmentation, one scatter."""
    indices = np.asarray(indices, dtype=np.int64)
    if len(indices) == 0:
        raise ValueError("make_batch needs at least one index")
    if (augment is not None or truncate is not None) and rng is None:
        rng = np.random.default_rng()
    rows, offsets = gather_index(sketches.offsets, indices)
    points = np.take(sketches.points, rows, axis=0)  # [P, 3] a copy, safe to modify
    if augment is not None:
        if augment.drop > 0:
            points, offsets = _drop_points(points, offsets, augment.drop, rng)
        if augment.scale > 0:
            factors = rng.uniform(1 - augment.scale, 1 + augment.scale, size=(len(indices), 2))
            points[:, :2] *= factors.astype(np.float32)[segment_ids(offsets)]  # [B, 2] -> [P, 2]
        if augment.rotate > 0:
            points[:, :2] = _rotate(points[:, :2], offsets, augment.rotate, rng)
    if truncate is not None:
        fractions = rng.uniform(truncate[0], truncate[1], size=len(indices))  # [B] cut off
        points, offsets = cut_packed(points, offsets, fractions)
    x = stroke3_to_stroke5(points.astype(np.float32, copy=False), offsets)  # [B, T, 5]
    return Batch(
        x=torch.from_numpy(x),
        lengths=torch.from_numpy(np.diff(offsets)),
        labels=torch.from_numpy(sketches.labels[indices]),
    )


def _as_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


class BatchIterator:
    """Epochs of batches over a ``SketchSet``; each ``iter()`` is the next epoch.

    Deterministic for a seeded ``rng``. ``len()`` is the number of batches per epoch for this shard.
    """

    def __init__(
        self, sketches: SketchSet, batch_size: int, *, rng: np.random.Generator | int | None = None,
        shuffle: bool = True, bucket: bool = True, drop_last: bool = False,
        augment: Augment | None = None, truncate: tuple[float, float] | None = None,
        balanced: bool = False, shard: tuple[int, int] = (0, 1), bucket_batches: int = BUCKET_BATCHES,
    ) -> None:
        rank, world = shard
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if not 0 <= rank < world:
            raise ValueError(f"shard {shard} needs 0 <= rank < world")
        if bucket_batches < 1:
            raise ValueError(f"bucket_batches must be >= 1, got {bucket_batches}")
        self.sketches, self.batch_size, self.rng = sketches, batch_size, _as_rng(rng)
        self.shuffle, self.bucket, self.drop_last = shuffle, bucket, drop_last
        self.augment, self.truncate, self.balanced = augment, truncate, balanced
        self.rank, self.world, self.bucket_batches = rank, world, bucket_batches

    def _n_global(self) -> int:
        n, b = len(self.sketches), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __len__(self) -> int:
        n = self._n_global()
        return n // self.world if self.drop_last else -(-n // self.world)

    def _plain(self) -> list[np.ndarray]:
        n, b = len(self.sketches), self.batch_size
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        if self.bucket:
            order = bucket_by_length(order, self.sketches.lengths, self.bucket_batches * b)
        return [order[i : i + b] for i in range(0, self._n_global() * b, b)]

    def _balanced(self) -> list[np.ndarray]:
        """Each batch takes ``b // K`` sketches per class; the ``b % K`` extra slots rotate."""
        labels, b = self.sketches.labels, self.batch_size
        classes = np.unique(labels)
        k, n_batches = len(classes), self._n_global()
        if n_batches == 0:
            return []
        class_order = self.rng.permutation(k) if self.shuffle else np.arange(k)
        counts = np.full((n_batches, k), b // k, dtype=np.int64)  # [N, K]
        extra = (np.arange(n_batches)[:, None] * (b % k) + np.arange(b % k)[None, :]) % k
        np.add.at(counts, (np.arange(n_batches)[:, None], class_order[extra]), 1)
        idx_parts, batch_parts = [], []
        for j, c in enumerate(classes):  # one stream per class (K iterations, not per sketch)
            members = np.flatnonzero(labels == c)
            need = int(counts[:, j].sum())
            if need == 0:  # batch_size < number of classes and this class got no slot
                continue
            reps = -(-need // len(members))
            if self.shuffle:
                stream = np.concatenate([self.rng.permutation(members) for _ in range(reps)])[:need]
            else:
                stream = np.tile(members, reps)[:need]
            batch_of = np.repeat(np.arange(n_batches), counts[:, j])  # [need]
            if self.bucket:
                chunk = batch_of // self.bucket_batches
                stream = stream[np.lexsort((self.sketches.lengths[stream], chunk))]
            idx_parts.append(stream)
            batch_parts.append(batch_of)
        idx = np.concatenate(idx_parts)
        order = np.argsort(np.concatenate(batch_parts), kind="stable")
        return list(idx[order].reshape(n_batches, b))

    def epoch_indices(self) -> list[np.ndarray]:
        """This shard's index arrays for the next epoch (advances ``rng``)."""
        batches = self._balanced() if self.balanced else self._plain()
        if self.shuffle and batches:
            batches = [batches[i] for i in self.rng.permutation(len(batches))]
        n = len(batches)
        if n % self.world:
            if self.drop_last:
                batches = batches[: n - n % self.world]
            else:  # pad like torch DistributedSampler: repeat from the start
                batches = batches + [batches[i % n] for i in range(self.world - n % self.world)]
        return batches[self.rank :: self.world]

    def __iter__(self) -> Iterator[Batch]:
        batches = self.epoch_indices()
        # Same draw on every rank (keeps their generators in step), different stream per rank.
        aug_rng = np.random.default_rng([int(self.rng.integers(2**63)), self.rank])
        for indices in batches:
            yield make_batch(self.sketches, indices, rng=aug_rng, augment=self.augment,
                             truncate=self.truncate)


def iterate_batches(
    sketches: SketchSet, batch_size: int, *, rng: np.random.Generator | int | None = None,
    shuffle: bool = True, bucket: bool = True, drop_last: bool = False,
    augment: Augment | None = None, truncate: tuple[float, float] | None = None,
    balanced: bool = False, shard: tuple[int, int] = (0, 1), bucket_batches: int = BUCKET_BATCHES,
) -> Iterator[Batch]:
    """One epoch of batches (see ``BatchIterator``); a shared ``rng`` moves on to the next epoch."""
    return iter(BatchIterator(
        sketches, batch_size, rng=rng, shuffle=shuffle, bucket=bucket, drop_last=drop_last,
        augment=augment, truncate=truncate, balanced=balanced, shard=shard, bucket_batches=bucket_batches,
    ))


def batch_stream(
    sketches: SketchSet, batch_size: int, *, rng: np.random.Generator | int | None = None,
    shuffle: bool = True, bucket: bool = True, drop_last: bool = True,
    augment: Augment | None = None, truncate: tuple[float, float] | None = None,
    balanced: bool = False, shard: tuple[int, int] = (0, 1), bucket_batches: int = BUCKET_BATCHES,
) -> Iterator[Batch]:
    """Batches forever, epoch after epoch (training loops that count steps, not epochs)."""
    batches = BatchIterator(
        sketches, batch_size, rng=rng, shuffle=shuffle, bucket=bucket, drop_last=drop_last,
        augment=augment, truncate=truncate, balanced=balanced, shard=shard, bucket_batches=bucket_batches,
    )
    if len(batches) == 0:
        raise ValueError(f"{len(sketches)} sketches give no batch of {batch_size} for shard {shard}")
    while True:
        yield from batches
