"""Batches against per-sketch references (magenta pad_batch / augment_strokes), and the iterator."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sketchrnn.data.batching import Augment, Batch, BatchIterator, batch_stream, iterate_batches, make_batch
from sketchrnn.data.strokes import SketchSet


def random_set(seed: int = 0, n: int = 200, labels: np.ndarray | None = None, max_len: int = 60) -> SketchSet:
    rng = np.random.default_rng(seed)
    sketches = []
    for _ in range(n):
        k = int(rng.integers(2, max_len))
        s = np.zeros((k, 3), dtype=np.float32)
        s[:, :2] = rng.normal(size=(k, 2))
        s[:, 2] = rng.random(k) < 0.15
        s[-1, 2] = 1
        sketches.append(s)
    return SketchSet.from_list(sketches, label=np.zeros(n, np.int64) if labels is None else labels)


def naive_pad(sketches: list[np.ndarray]) -> np.ndarray:
    """magenta DataLoader.pad_batch without the S_0 row (the model prepends it)."""
    t = max(len(s) for s in sketches) + 1
    out = np.zeros((len(sketches), t, 5), dtype=np.float32)
    for i, s in enumerate(sketches):
        n = len(s)
        out[i, :n, 0:2] = s[:, 0:2]
        out[i, :n, 3] = s[:, 2]
        out[i, :n, 2] = 1 - out[i, :n, 3]
        out[i, n:, 4] = 1
    return out


def naive_drop_all(s: np.ndarray) -> np.ndarray:
    """magenta augment_strokes with prob=1 (its count > 2 rule), merging into the next point."""
    result, carry, count, prev_pen = [], np.zeros(2), 0, 1
    for i, (dx, dy, pen) in enumerate(s):
        count = 0 if (pen == 1 or prev_pen == 1) else count + 1
        if pen == 0 and prev_pen == 0 and count > 2 and i < len(s) - 1:
            carry += (dx, dy)
            continue
        result.append([dx + carry[0], dy + carry[1], pen])
        carry[:] = 0
        prev_pen = pen
    return np.array(result, dtype=np.float32)


def test_make_batch_matches_reference():
    data = random_set()
    idx = np.array([3, 17, 0, 99, 3])
    batch = make_batch(data, idx)
    assert isinstance(batch, Batch) and batch.x.dtype == torch.float32
    ref = naive_pad([data.sketch(i) for i in idx])
    np.testing.assert_array_equal(batch.x.numpy(), ref)
    np.testing.assert_array_equal(batch.lengths.numpy(), data.lengths[idx])
    assert batch.lengths.dtype == torch.int64 and batch.labels.dtype == torch.int64
    assert batch.x.shape[1] == int(data.lengths[idx].max()) + 1  # own longest + one end token
    moved = batch.to("cpu")
    assert torch.equal(moved.x, batch.x)


def test_each_batch_is_padded_to_its_own_longest():
    data = random_set()
    for batch in iterate_batches(data, 16, rng=1):
        assert batch.x.shape[1] == int(batch.lengths.max()) + 1
        assert (batch.x[torch.arange(len(batch.lengths)), batch.lengths, 4] == 1).all()


def test_drop_with_probability_one_matches_reference():
    data = random_set(2, n=50)
    idx = np.arange(50)
    batch = make_batch(data, idx, rng=np.random.default_rng(0), augment=Augment(scale=0.0, drop=1.0))
    ref = naive_pad([naive_drop_all(data.sketch(i)) for i in idx])
    assert batch.x.shape == ref.shape
    np.testing.assert_allclose(batch.x.numpy(), ref, atol=1e-5)


def test_drop_keeps_the_drawing():
    data = random_set(3, n=60)
    idx = np.arange(60)
    batch = make_batch(data, idx, rng=np.random.default_rng(5), augment=Augment(scale=0.0, drop=0.5))
    assert (batch.lengths.numpy() <= data.lengths).all() and (batch.lengths.numpy() < data.lengths).any()
    for b, i in enumerate(idx):
        orig = data.sketch(i).astype(np.float64)
        n = int(batch.lengths[b])
        aug = batch.x[b, :n].numpy().astype(np.float64)
        pos_orig = np.cumsum(orig[:, :2], axis=0)
        pos_aug = np.cumsum(aug[:, :2], axis=0)
        # every kept point sits on an original point, and every pen lift survives
        lifted = pos_orig[orig[:, 2] == 1]
        np.testing.assert_allclose(pos_aug[aug[:, 3] == 1], lifted, atol=1e-4)
        d = np.abs(pos_aug[:, None, :] - pos_orig[None, :, :]).max(axis=2)
        assert (d.min(axis=1) < 1e-4).all()


def test_scale_augmentation_is_per_sketch_and_within_bounds():
    data = random_set(4, n=40)
    idx = np.arange(40)
    batch = make_batch(data, idx, rng=np.random.default_rng(0), augment=Augment(scale=0.2, drop=0.0))
    plain = make_batch(data, idx)
    x, ref = batch.x.numpy(), plain.x.numpy()
    factors = []
    for b in range(40):
        n = int(plain.lengths[b])
        moving = np.abs(ref[b, :n, :2]).min(axis=1) > 1e-3  # rows with both offsets non-zero
        r = x[b, :n, :2][moving] / ref[b, :n, :2][moving]  # [m, 2]
        np.testing.assert_allclose(r, np.broadcast_to(r[0], r.shape), rtol=1e-4)
        factors.append(r[0])
    factors = np.array(factors)
    assert (factors >= 0.8 - 1e-6).all() and (factors <= 1.2 + 1e-6).all()
    assert factors.std() > 0.02  # really random per sketch and axis
    np.testing.assert_array_equal(x[:, :, 2:], ref[:, :, 2:])


def test_rotation_turns_each_sketch_rigidly_within_bounds():
    """Per sketch: lengths of offsets kept, one angle for all its points (from atan2), within +-15 deg."""
    data = random_set(5, n=40)
    idx = np.arange(40)
    batch = make_batch(data, idx, rng=np.random.default_rng(1), augment=Augment(scale=0.0, drop=0.0, rotate=15))
    plain = make_batch(data, idx)
    x, ref = batch.x.numpy().astype(np.float64), plain.x.numpy().astype(np.float64)
    np.testing.assert_allclose(np.hypot(x[..., 0], x[..., 1]), np.hypot(ref[..., 0], ref[..., 1]), atol=1e-5)
    angles = []
    for b in range(40):
        n = int(plain.lengths[b])
        turn = np.angle((x[b, :n, 0] + 1j * x[b, :n, 1]) / (ref[b, :n, 0] + 1j * ref[b, :n, 1]))  # [n]
        np.testing.assert_allclose(turn, turn[0], atol=1e-4)
        angles.append(np.rad2deg(turn[0]))
    assert np.abs(angles).max() <= 15 + 1e-4 and np.std(angles) > 3  # random per sketch
    np.testing.assert_array_equal(x[:, :, 2:], ref[:, :, 2:])


def test_truncation_within_bounds():
    data = random_set(5, n=100)
    idx = np.arange(100)
    lo, hi = 0.2, 0.5
    batch = make_batch(data, idx, rng=np.random.default_rng(0), truncate=(lo, hi))
    n = data.lengths
    kept = batch.lengths.numpy()
    low = np.maximum(np.minimum(2, n), np.ceil((1 - hi) * n))
    high = np.ceil((1 - lo) * n)
    assert ((kept >= low) & (kept <= high)).all() and (kept < n).any()
    for b in range(100):
        k = kept[b]
        assert batch.x[b, k - 1, 3] == 1  # pen lifted at the cut
        np.testing.assert_array_equal(batch.x[b, : k - 1, :2].numpy(), data.sketch(b)[: k - 1, :2])
        assert (batch.x[b, k:, 4] == 1).all()


def test_epoch_covers_every_sketch_once_and_is_deterministic():
    data = random_set()
    a = BatchIterator(data, 32, rng=7).epoch_indices()
    b = BatchIterator(data, 32, rng=7).epoch_indices()
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert sorted(np.concatenate(a).tolist()) == list(range(200))
    assert len(a) == math.ceil(200 / 32) == len(BatchIterator(data, 32))
    it = BatchIterator(data, 32, rng=7, drop_last=True)
    first, second = it.epoch_indices(), it.epoch_indices()
    assert len(first) == 200 // 32 == len(it) and all(len(x) == 32 for x in first)
    assert not np.array_equal(np.concatenate(first), np.concatenate(second))  # new order per epoch


def _padding_share(data: SketchSet, batches: list[np.ndarray]) -> float:
    """Padded positions without a real point: 1 - sum(lengths) / sum(B (max + 1))."""
    real = sum(int(data.lengths[ix].sum()) for ix in batches)
    return 1 - real / sum(len(ix) * (int(data.lengths[ix].max()) + 1) for ix in batches)


def _overlap(previous: list[np.ndarray], batches: list[np.ndarray]) -> float:
    """Mean over ``batches`` of the largest share of a batch found together in one earlier batch."""
    where = {int(i): j for j, b in enumerate(previous) for i in b}
    return float(np.mean([np.bincount([where[int(i)] for i in b]).max() / len(b) for b in batches]))


def test_bucketing_reduces_padding():
    data = random_set(n=400)
    share = {pool: _padding_share(data, BatchIterator(data, 20, rng=0, bucket_batches=pool).epoch_indices())
             for pool in (1, 4, 20)}  # a pool of one batch is no bucketing; 20 sorts the whole set
    assert share[20] < share[4] < 0.5 * share[1]


def test_pooled_bucketing_draws_new_batches_each_epoch():
    """The old rule (sort the whole set) replays nearly the same batches every epoch; pools of
    a few batches do not, and every sketch is still used once per epoch."""
    data = random_set(n=1000, seed=4)

    def epochs(pool: int) -> list[list[np.ndarray]]:
        it = BatchIterator(data, 20, rng=1, bucket_batches=pool, drop_last=True)
        return [it.epoch_indices() for _ in range(8)]

    for pool, bound in ((4, 0.35), (50, None)):
        runs = epochs(pool)
        for batches in runs:
            used = np.concatenate(batches)
            assert len(used) == len(set(used.tolist())) == 1000  # each sketch exactly once
        overlap = np.mean([_overlap(a, b) for a, b in zip(runs, runs[1:])])
        repeated = np.mean([len({frozenset(x.tolist()) for x in a} & {frozenset(x.tolist()) for x in b}) / len(b)
                            for a, b in zip(runs, runs[1:])])
        if bound is None:  # whole-set sorting: the failure this guards against
            assert overlap > 0.6
        else:
            assert overlap < bound and repeated == 0
            assert _padding_share(data, [b for r in runs for b in r]) < 0.25  # random: ~0.45


def test_pig_batches_pad_little_and_change_every_epoch(shared_quickdraw):
    """The default pool on a real category (the figures of docs/benchmarks.md)."""
    from sketchrnn.data.npz import load_npz
    from sketchrnn.data.preprocess import prepare

    train = prepare({"pig": load_npz(shared_quickdraw / "pig.npz")}).train
    it = BatchIterator(train, 100, rng=0, drop_last=True)
    runs = [it.epoch_indices() for _ in range(10)]
    assert _padding_share(train, [b for r in runs for b in r]) < 0.2
    assert np.mean([_overlap(a, b) for a, b in zip(runs, runs[1:])]) < 0.3


@pytest.mark.parametrize(("batch_size", "exact"), [(12, True), (10, False), (2, False)])
def test_balanced_batches(batch_size, exact):
    labels = np.repeat([0, 1, 2], [150, 30, 20])  # very unbalanced classes
    data = random_set(labels=labels)
    for batch in iterate_batches(data, batch_size, rng=3, balanced=True, drop_last=True):
        counts = np.bincount(batch.labels.numpy(), minlength=3)
        assert counts.sum() == batch_size
        if exact:
            assert (counts == batch_size // 3).all()
        else:
            assert counts.max() - counts.min() <= 1
    it = BatchIterator(data, batch_size, rng=3, balanced=True)
    assert len(it.epoch_indices()) == math.ceil(200 / batch_size)


@pytest.mark.parametrize(("world", "drop_last"), [(4, False), (3, True), (3, False)])
def test_ddp_shards(world, drop_last):
    data = random_set(n=203)  # 13 batches of 16 (the last partial)
    full = BatchIterator(data, 16, rng=11, drop_last=drop_last).epoch_indices()
    shards = [BatchIterator(data, 16, rng=11, drop_last=drop_last, shard=(r, world)).epoch_indices()
              for r in range(world)]
    sizes = {len(s) for s in shards}
    assert len(sizes) == 1  # same number of batches on every worker
    assert sizes.pop() == len(BatchIterator(data, 16, shard=(0, world), drop_last=drop_last))
    flat = [tuple(b) for s in shards for b in s]
    if drop_last:  # disjoint
        assert len(set(flat)) == len(flat) and set(flat) <= {tuple(b) for b in full}
    else:  # covering; only the padding repeats
        assert {tuple(b) for b in full} == set(flat)
        assert len(flat) - len(set(flat)) == (-len(full)) % world


def test_shards_of_four_are_disjoint_and_cover():
    data = random_set(n=256)
    full = BatchIterator(data, 16, rng=2).epoch_indices()
    shards = [BatchIterator(data, 16, rng=2, shard=(r, 4)).epoch_indices() for r in range(4)]
    flat = np.concatenate([b for s in shards for b in s])
    assert len(flat) == 256 and set(flat.tolist()) == set(np.concatenate(full).tolist())


def test_batch_stream_runs_past_an_epoch():
    data = random_set(n=50)
    stream = batch_stream(data, 16, rng=0, drop_last=True, augment=Augment())
    batches = [next(stream) for _ in range(10)]  # 3 per epoch
    assert all(b.x.shape[0] == 16 for b in batches)
    with pytest.raises(ValueError):
        next(batch_stream(data, 64, rng=0, drop_last=True))


def test_a_bucket_pool_without_bucketing_is_a_config_error():
    from sketchrnn.config import validate_config
    from sketchrnn.errors import ConfigError

    assert validate_config({"data": {"bucket_batches": 8}}).data.bucket_batches == 8
    assert validate_config({"data": {"bucket": False}}).data.bucket is False
    with pytest.raises(ConfigError, match="data.bucket_batches 8 has no effect with data.bucket false"):
        validate_config({"data": {"bucket": False, "bucket_batches": 8}})
