"""Plain-numpy metrics: AUROC, confusion matrix, expected calibration error, mean and std.

Kept free of torch so they can be checked against hand-computed examples.
"""

from __future__ import annotations

import math

import numpy as np


def auroc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Area under the ROC curve for "higher score = positive": ``P(s+ > s-) + P(s+ = s-) / 2``.

    Computed as the Mann-Whitney U statistic from average ranks, so ties count one half and the
    cost is one sort, not a pass over thresholds.
    """
    pos = np.asarray(positive, dtype=np.float64).ravel()
    neg = np.asarray(negative, dtype=np.float64).ravel()
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError("auroc needs at least one positive and one negative score")
    scores = np.concatenate([pos, neg])
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(len(scores))
    # Average rank (1-based) of every run of tied scores.
    starts = np.flatnonzero(np.concatenate([[True], sorted_scores[1:] != sorted_scores[:-1]]))
    ends = np.concatenate([starts[1:], [len(scores)]])
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    u = ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2.0
    return float(u / (len(pos) * len(neg)))


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts ``[true, predicted]``: ``int64 [K, K]``."""
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(labels, dtype=np.int64), np.asarray(predicted, dtype=np.int64)), 1)
    return cm


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """ECE (Guo et al. 2017): the confidence-weighted gap between confidence and accuracy,
    over ``bins`` equal-width confidence bins. ``probs [n, K]``."""
    probs = np.asarray(probs, dtype=np.float64)
    if len(probs) == 0:
        return math.nan
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == np.asarray(labels)
    which = np.minimum((confidence * bins).astype(np.int64), bins - 1)  # [n]
    conf_sum = np.bincount(which, weights=confidence, minlength=bins)
    acc_sum = np.bincount(which, weights=correct.astype(np.float64), minlength=bins)
    return float(np.abs(conf_sum - acc_sum).sum() / len(probs))


def mean_std(values: list[float] | np.ndarray) -> dict[str, float]:
    """Mean and sample standard deviation (ddof=1, as for "± std over runs"); std 0 for one run."""
    v = np.asarray(values, dtype=np.float64)
    std = float(v.std(ddof=1)) if len(v) > 1 else 0.0
    return {"mean": float(v.mean()), "std": std}
