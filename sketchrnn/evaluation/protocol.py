"""The reference evaluation protocol for the predict model, and accuracy per cut fraction.

Reference (the PyTorch Sketch-RNN classifier we compare with): 10 runs x 10,000 test sketches,
each with a uniformly random 0-50% of its tail cut off; accuracy and loss as mean ± std over runs.

Our test split has only 200-2,500 sketches per category, so each run draws its ``n`` sketches
*class-balanced, with replacement* (``n / K`` per category; the remainder goes to the first
categories). A run's randomness (which sketches, which cuts) comes from
``np.random.default_rng([seed, run])``: a run is reproducible on its own, whatever ran before it.
Logits are computed once per (sketch, cut) on the CPU in length-sorted batches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sketchrnn.data.strokes import SketchSet
from sketchrnn.data.tail_cut import cut_tails
from sketchrnn.evaluation.metrics import confusion_matrix, mean_std
from sketchrnn.predict.inference import classify, nll

CUT_GRID = tuple(round(0.1 * i, 1) for i in range(10))  # 0.0, 0.1, ..., 0.9


@dataclass(frozen=True)
class Protocol:
    runs: int = 10
    n: int = 10_000
    cut_min: float = 0.0
    cut_max: float = 0.5
    seed: int = 0


def balanced_indices(labels: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` indices, ``n // K`` per class (+1 for the first ``n % K`` classes), drawn uniformly
    *with replacement* within each class; shuffled. ``int64 [n]``."""
    classes = np.unique(labels)
    k = len(classes)
    counts = np.full(k, n // k) + (np.arange(k) < n % k)
    parts = [rng.choice(np.flatnonzero(labels == c), size=int(m), replace=True)
             for c, m in zip(classes, counts)]
    return rng.permutation(np.concatenate(parts)).astype(np.int64)


def draw_run(test: SketchSet, protocol: Protocol, run: int) -> tuple[np.ndarray, np.ndarray]:
    """The sketches and cut fractions of one run: ``(indices [n], fractions [n])``."""
    rng = np.random.default_rng([protocol.seed, run])
    idx = balanced_indices(test.labels, protocol.n, rng)
    return idx, rng.uniform(protocol.cut_min, protocol.cut_max, len(idx))


def run_protocol(model: Any, test: SketchSet, protocol: Protocol, n_categories: int,
                 calibration_T: float = 1.0) -> dict[str, Any]:
    """Accuracy, cross-entropy (T = 1, the reference's loss) and calibrated NLL per run, their
    mean ± std, and the confusion matrix summed over all runs.

    Also returns the logits and cut fractions of run 0 (``first_run``) for score analyses.
    """
    per_run = []
    cm = np.zeros((n_categories, n_categories), dtype=np.int64)
    first_run: dict[str, np.ndarray] = {}
    for run in range(protocol.runs):
        idx, fractions = draw_run(test, protocol, run)
        sketches = cut_tails(test, idx, fractions)
        logits = classify(model, sketches)
        predicted = logits.argmax(axis=1)
        labels = sketches.labels
        per_run.append({
            "run": run,
            "accuracy": float((predicted == labels).mean()),
            "loss": nll(logits, labels, 1.0),
            "nll_calibrated": nll(logits, labels, calibration_T),
        })
        cm += confusion_matrix(labels, predicted, n_categories)
        if run == 0:
            first_run = {"logits": logits, "labels": labels, "fractions": fractions}
    summary = {key: mean_std([r[key] for r in per_run])
               for key in ("accuracy", "loss", "nll_calibrated")}
    return {"runs": per_run, "summary": summary, "confusion": cm, "first_run": first_run}


def accuracy_by_cut(model: Any, test: SketchSet, grid: tuple[float, ...] = CUT_GRID
                    ) -> list[dict[str, float]]:
    """Accuracy and loss on the *whole* test split with exactly ``c`` of every tail cut, for each
    ``c`` in ``grid`` (no sampling: a deterministic table)."""
    rows = []
    idx = np.arange(len(test))
    for c in grid:
        sketches = cut_tails(test, idx, np.full(len(idx), c))
        logits = classify(model, sketches)
        rows.append({
            "cut": float(c),
            "accuracy": float((logits.argmax(axis=1) == sketches.labels).mean()),
            "loss": nll(logits, sketches.labels, 1.0),
            "mean_points": float(sketches.lengths.mean()),
            "n": int(len(idx)),
        })
    return rows


def per_class_accuracy(confusion: np.ndarray, categories: list[str]) -> dict[str, float]:
    """Recall of every category from a confusion matrix ``[true, predicted]``."""
    totals = confusion.sum(axis=1)
    return {c: float(confusion[i, i] / totals[i]) if totals[i] else float("nan")
            for i, c in enumerate(categories)}
