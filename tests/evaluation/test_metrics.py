"""AUROC, confusion, ECE and temperature fitting against hand-computed or brute-force references."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from sketchrnn.evaluation.metrics import (
    auroc,
    confusion_matrix,
    expected_calibration_error,
    mean_std,
)
from sketchrnn.predict.calibration import fit_calibration, fit_calibration_T
from sketchrnn.predict.inference import nll


def test_auroc_hand_computed():
    # Pairs (pos, neg): 0.9 beats all 3, 0.8 beats all 3, 0.4 ties 0.4 (1/2) and beats 0.1:
    # (3 + 3 + 1.5) / 9.
    assert auroc([0.9, 0.8, 0.4], [0.7, 0.4, 0.1]) == pytest.approx(7.5 / 9)
    assert auroc([1, 2], [3, 4]) == 0.0
    assert auroc([5], [5]) == 0.5


def test_auroc_matches_pairwise_count_with_ties():
    rng = np.random.default_rng(0)
    pos, neg = rng.integers(0, 6, 40), rng.integers(0, 6, 30)  # many ties
    pairs = [(p > q) + 0.5 * (p == q) for p, q in itertools.product(pos, neg)]
    assert auroc(pos, neg) == pytest.approx(np.mean(pairs))


def test_confusion_and_ece():
    cm = confusion_matrix([0, 0, 1, 2, 2], [0, 1, 1, 2, 0], 3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]
    # Two sketches at confidence 0.9 (one right) and two at 0.6 (both right):
    # |0.9 - 0.5| * 2/4 + |0.6 - 1.0| * 2/4 = 0.4.
    probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]])
    assert expected_calibration_error(probs, np.array([0, 1, 0, 0])) == pytest.approx(0.4)
    assert mean_std([1.0, 3.0]) == {"mean": 2.0, "std": pytest.approx(np.sqrt(2))}


def miscalibrated_toy(n: int = 2000, k: int = 4, overconfidence: float = 4.0, seed: int = 0):
    """Labels drawn from softmax(true_logits); the model reports ``overconfidence`` x those."""
    rng = np.random.default_rng(seed)
    true_logits = rng.normal(0, 1.0, (n, k))
    p = np.exp(true_logits) / np.exp(true_logits).sum(1, keepdims=True)
    labels = (rng.random((n, 1)) > p.cumsum(1)).sum(1)
    return true_logits * overconfidence, labels


def test_temperature_lowers_valid_nll_on_a_miscalibrated_toy():
    logits, labels = miscalibrated_toy()
    t = fit_calibration_T(logits, labels)
    assert nll(logits, labels, t) < nll(logits, labels, 1.0) - 0.1
    assert t == pytest.approx(4.0, rel=0.1)  # undoes the 4x overconfidence
    grid = np.exp(np.linspace(np.log(0.05), np.log(20), 801))  # brute-force reference
    best = grid[np.argmin([nll(logits, labels, g) for g in grid])]
    assert t == pytest.approx(best, rel=0.01)
    assert (logits / t).argmax(1).tolist() == logits.argmax(1).tolist()  # ranking unchanged


def test_threshold_is_the_in_distribution_quantile():
    logits, labels = miscalibrated_toy(overconfidence=2.0)
    rng = np.random.default_rng(1)
    outliers = rng.normal(0, 0.3, (500, 4))  # flat logits: low confidence
    record = fit_calibration(logits, labels, outliers, quantile=0.05)
    from sketchrnn.predict.calibration import ood_scores

    scores = ood_scores(logits, record["calibration_T"])[record["ood_score"]]
    assert np.mean(scores < record["ood_threshold"]) == pytest.approx(0.05, abs=0.002)
    assert record["nll_valid"] < record["nll_valid_t1"]
    assert max(record["ood_auroc_synthetic"].values()) == \
        record["ood_auroc_synthetic"][record["ood_score"]] > 0.5
