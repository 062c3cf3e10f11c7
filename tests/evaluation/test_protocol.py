"""The reference protocol: balanced sampling with replacement, cut fractions within bounds, the
cut rule, and numbers that a seed reproduces (on an untrained tiny classifier: fast)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sketchrnn.data.strokes import SketchSet
from sketchrnn.evaluation.protocol import (
    Protocol,
    accuracy_by_cut,
    balanced_indices,
    draw_run,
    run_protocol,
)
from sketchrnn.model.classifier import SketchClassifier
from sketchrnn.data.tail_cut import cut_tails
from sketchrnn.predict.inference import classify


def toy_set(sizes=(7, 3, 5), seed: int = 0) -> SketchSet:
    """Sketches of 10-29 points, ``sizes[k]`` of class k (unequal on purpose)."""
    rng = np.random.default_rng(seed)
    sketches, labels = [], []
    for k, m in enumerate(sizes):
        for _ in range(m):
            n = int(rng.integers(10, 30))
            s = np.concatenate([rng.normal(0, 1, (n, 2)), rng.random((n, 1)) < 0.2], 1)
            sketches.append(s.astype(np.float32))
            labels.append(k)
    return SketchSet.from_list(sketches, label=np.array(labels))


def test_balanced_indices_count_per_class_with_replacement():
    labels = toy_set().labels
    idx = balanced_indices(labels, 100, np.random.default_rng(0))
    assert np.bincount(labels[idx]).tolist() == [34, 33, 33]  # remainder to the first class
    # Class 1 has 3 sketches but gets 33 draws: only possible with replacement.
    assert len(set(idx[labels[idx] == 1].tolist())) <= 3


def test_cut_fractions_stay_in_bounds_and_runs_are_reproducible():
    test = toy_set()
    protocol = Protocol(runs=3, n=500, cut_min=0.1, cut_max=0.4, seed=7)
    idx, fractions = draw_run(test, protocol, run=1)
    assert fractions.min() >= 0.1 and fractions.max() < 0.4
    assert len(idx) == 500
    again = draw_run(test, protocol, run=1)
    np.testing.assert_array_equal(idx, again[0])
    np.testing.assert_array_equal(fractions, again[1])
    other = draw_run(test, Protocol(runs=3, n=500, cut_min=0.1, cut_max=0.4, seed=8), run=1)
    assert not np.array_equal(fractions, other[1])
    assert not np.array_equal(idx, draw_run(test, protocol, run=2)[0])


def test_cut_rule_matches_training():
    """Keep ceil((1 - c) n) points, at least 2, and lift the pen after the last one."""
    test = toy_set()
    lengths = test.lengths
    for c in (0.0, 0.3, 0.5, 0.9):
        cut = cut_tails(test, np.arange(len(test)), np.full(len(test), c))
        want = np.maximum(np.ceil(np.round((1 - c) * lengths, 9)).astype(int), 2)
        assert cut.lengths.tolist() == want.tolist()
        for i in range(len(cut)):
            s = cut.sketch(i)
            np.testing.assert_array_equal(s[:-1], test.sketch(i)[: len(s) - 1])
            assert s[-1, 2] == 1
    with pytest.raises(ValueError):
        cut_tails(test, [0], [1.0])


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return SketchClassifier(n_categories=3, enc_hidden=8, z_dim=4, head_hidden=8).eval()


def test_protocol_numbers_are_reproducible(model):
    test = toy_set()
    protocol = Protocol(runs=3, n=60, seed=3)
    first = run_protocol(model, test, protocol, 3)
    second = run_protocol(model, test, protocol, 3)
    assert first["runs"] == second["runs"]
    assert first["confusion"].sum() == 3 * 60
    accs = [r["accuracy"] for r in first["runs"]]
    assert first["summary"]["accuracy"]["mean"] == pytest.approx(np.mean(accs))
    assert first["summary"]["accuracy"]["std"] == pytest.approx(np.std(accs, ddof=1))


def test_batching_does_not_change_logits(model):
    """Length-sorted batches of any size give each sketch the logits it gets alone."""
    test = toy_set()
    together = classify(model, test, batch_size=4)
    alone = np.concatenate([classify(model, test.subset([i])) for i in range(len(test))])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_accuracy_by_cut_covers_the_grid(model):
    rows = accuracy_by_cut(model, toy_set())
    assert [r["cut"] for r in rows] == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    points = [r["mean_points"] for r in rows]
    assert points == sorted(points, reverse=True)
    assert all(0 <= r["accuracy"] <= 1 for r in rows)
