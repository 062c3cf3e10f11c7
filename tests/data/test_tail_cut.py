"""The one tail-cut rule, against hand-computed cases and exact decimal arithmetic, and the proof
that training batches and evaluation cuts use it alike."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest

from sketchrnn.data.batching import make_batch
from sketchrnn.data.strokes import SketchSet
from sketchrnn.data.tail_cut import cut_tails, kept_points


def reference_keep(n: int, c: float) -> int:
    """ceil((1 - c) n) in exact decimal arithmetic on the fraction as written, at least 2."""
    return min(n, max(min(2, n), math.ceil((1 - Decimal(repr(c))) * n)))


@pytest.mark.parametrize("n, c, keep", [
    (10, 0.7, 3),    # (1 - 0.7) * 10 = 3.0000000000000004 in floats: exactly 3, not 4
    (10, 0.3, 7),
    (10, 0.25, 8),   # 7.5 rounds up
    (5, 0.2, 4),
    (3, 0.9, 2),     # at least 2 points
    (1, 0.5, 1),     # a 1-point sketch stays whole
    (2, 0.0, 2),
    (100, 0.001, 100),
    (100, 0.999, 2),
])
def test_hand_computed_cases(n, c, keep):
    assert kept_points(np.array([n]), np.array([c])).tolist() == [keep] == [reference_keep(n, c)]


def test_agrees_with_exact_arithmetic_on_many_fractions():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 300, 5000)
    fractions = np.concatenate([np.round(rng.uniform(0, 0.99, 2500), 2), rng.uniform(0, 0.99, 2500)])
    want = [reference_keep(int(n), float(c)) for n, c in zip(lengths, fractions)]
    assert kept_points(lengths, fractions).tolist() == want


def packed(lengths) -> SketchSet:
    rng = np.random.default_rng(1)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    points = np.zeros((offsets[-1], 3), dtype=np.float32)
    points[:, :2] = rng.normal(size=(offsets[-1], 2))
    points[offsets[1:] - 1, 2] = 1
    return SketchSet(points, offsets, np.arange(len(lengths), dtype=np.int64))


def test_cut_keeps_the_head_and_lifts_the_pen():
    sketches = packed([10, 7, 1])
    cut = cut_tails(sketches, np.array([0, 1, 2]), np.array([0.3, 0.5, 0.5]))
    assert cut.lengths.tolist() == [7, 4, 1]
    for i in range(3):
        whole, part = sketches.sketch(i), cut.sketch(i)
        np.testing.assert_array_equal(part[:-1], whole[: len(part) - 1])
        np.testing.assert_array_equal(part[-1, :2], whole[len(part) - 1, :2])
        assert part[-1, 2] == 1


def test_training_batches_cut_by_the_same_rule():
    """make_batch(truncate=(lo, hi)) draws one fraction per sketch and keeps what the rule says."""
    lengths = np.random.default_rng(2).integers(2, 60, 64)
    sketches = packed(lengths)
    idx = np.arange(len(lengths))
    batch = make_batch(sketches, idx, rng=np.random.default_rng(3), truncate=(0.1, 0.6))
    fractions = np.random.default_rng(3).uniform(0.1, 0.6, len(idx))  # the same draws
    want = [reference_keep(int(n), float(c)) for n, c in zip(lengths, fractions)]
    assert batch.lengths.tolist() == want
    assert batch.lengths.tolist() == cut_tails(sketches, idx, fractions).lengths.tolist()


def test_fractions_outside_zero_one_are_refused():
    with pytest.raises(ValueError):
        kept_points(np.array([5]), np.array([1.0]))


def test_an_exact_training_cut_keeps_what_evaluation_keeps():
    """truncate=(0.7, 0.7) cuts exactly 70%: 3 of 10 points, as evaluation does (training kept 4)."""
    sketches = packed([10, 20, 7])
    batch = make_batch(sketches, np.arange(3), rng=np.random.default_rng(0), truncate=(0.7, 0.7))
    assert batch.lengths.tolist() == [3, 6, 3]
    assert cut_tails(sketches, np.arange(3), np.full(3, 0.7)).lengths.tolist() == [3, 6, 3]
