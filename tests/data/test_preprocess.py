"""prepare() against a per-sketch reference written after magenta's DataLoader."""

from __future__ import annotations

import numpy as np
import pytest

from sketchrnn.data.npz import SketchSplits
from sketchrnn.data.preprocess import prepare
from sketchrnn.errors import DataError


def make_split(rng: np.random.Generator, n: int, spread: float, lengths=(2, 40)) -> list[np.ndarray]:
    out = []
    for _ in range(n):
        k = int(rng.integers(*lengths))
        s = np.zeros((k, 3), dtype=np.int16)
        s[:, :2] = np.clip(rng.standard_t(2, size=(k, 2)) * spread, -3000, 3000)
        s[:, 2] = rng.random(k) < 0.2
        s[-1, 2] = 1
        out.append(s)
    return out


def make_category(seed: int, spread: float = 30.0) -> SketchSplits:
    rng = np.random.default_rng(seed)
    return SketchSplits(train=make_split(rng, 60, spread), valid=make_split(rng, 20, spread * 5),
                        test=make_split(rng, 20, spread), source=f"cat{seed}.npz")


def reference(categories, max_len, min_len, clamp, scale=None):
    """magenta utils.DataLoader: filter, clamp, std of train dx and dy, divide (one sketch at a time)."""
    out = {}
    for name in ("train", "valid", "test"):
        kept, labels = [], []
        for label, cat in enumerate(categories):
            for s in getattr(cat, name):
                if min_len <= len(s) <= max_len:
                    s = np.array(s, dtype=np.float64)
                    s[:, :2] = np.minimum(np.maximum(s[:, :2], -clamp), clamp)
                    kept.append(s)
                    labels.append(label)
        out[name] = (kept, labels)
    if scale is None:
        values = []
        for s in out["train"][0]:
            for j in range(len(s)):
                values.append(s[j, 0])
                values.append(s[j, 1])
        scale = np.std(np.array(values))
    for kept, _ in out.values():
        for s in kept:
            s[:, :2] /= scale
    return out, scale


def assert_matches(prepared, ref):
    for name, (kept, labels) in ref.items():
        split = prepared.split(name)
        assert len(split) == len(kept)
        np.testing.assert_array_equal(split.labels, labels)
        for a, b in zip(split.to_list(), kept):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_matches_reference_multi_category():
    cats = [make_category(1), make_category(2, spread=80.0), make_category(3)]
    prepared = prepare(cats, max_seq_len=30, min_seq_len=5, clamp=100.0)
    ref, scale = reference(cats, 30, 5, 100.0)
    assert prepared.scale == pytest.approx(scale, rel=1e-9)
    assert_matches(prepared, ref)
    assert prepared.categories == ("cat1.npz", "cat2.npz", "cat3.npz")
    assert prepared.train.points.dtype == np.float32


def test_mapping_gives_labels_in_order_and_names():
    a, b = make_category(4), make_category(5)
    prepared = prepare({"sun": a, "pig": b}, max_seq_len=40, min_seq_len=2)
    assert prepared.categories == ("sun", "pig")
    np.testing.assert_array_equal(prepared.test.labels, [0] * 20 + [1] * 20)


def test_valid_split_uses_the_train_scale():
    cat = make_category(6)  # valid offsets are 5x larger than train
    prepared = prepare([cat], max_seq_len=40, min_seq_len=2, clamp=1e9)
    train_std = float(np.std(np.concatenate(cat.train)[:, :2].astype(np.float64)))
    assert prepared.scale == pytest.approx(train_std, rel=1e-9)
    valid_raw = np.concatenate(cat.valid)[:, :2].astype(np.float64)
    np.testing.assert_allclose(prepared.valid.points[:, :2], valid_raw / train_std, rtol=1e-6)
    assert np.std(prepared.valid.points[:, :2]) > 2.0  # not renormalised to 1


def test_given_scale_is_used_for_every_split():
    cat = make_category(7)
    prepared = prepare([cat], max_seq_len=40, min_seq_len=2, scale=10.0)
    assert prepared.scale == 10.0
    ref, _ = reference([cat], 40, 2, 1000.0, scale=10.0)
    assert_matches(prepared, ref)


def test_clamp_and_inputs_untouched():
    cat = make_category(8, spread=500.0)
    before = [s.copy() for s in cat.train]
    prepared = prepare([cat], max_seq_len=40, min_seq_len=2, clamp=50.0, scale=1.0)
    assert np.abs(prepared.train.points[:, :2]).max() == 50.0
    assert set(np.unique(prepared.train.points[:, 2])) <= {0.0, 1.0}
    for a, b in zip(before, cat.train):
        np.testing.assert_array_equal(a, b)


def test_split_empty_after_filtering_names_category_and_limits():
    good = make_category(9)
    short = make_category(10)
    short.test = [s[:3] for s in short.test]
    with pytest.raises(DataError) as info:
        prepare({"sun": good, "hand": short}, max_seq_len=30, min_seq_len=5)
    msg = str(info.value)
    assert "'hand' test split" in msg and "5..30" in msg and "sun" not in msg


def test_bad_arguments():
    with pytest.raises(DataError, match="min_seq_len"):
        prepare([make_category(11)], max_seq_len=5, min_seq_len=10)
    with pytest.raises(DataError, match="scale"):
        prepare([make_category(11)], scale=0.0)
    with pytest.raises(DataError, match="no categories"):
        prepare([])
