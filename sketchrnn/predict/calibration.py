"""Calibration of the predict model: temperature scaling and the out-of-distribution threshold.

Both are fitted on the *valid* split, with the tails cut as in training (``truncate_min`` ..
``truncate_max``), and stored with the model in ``meta.json`` ``extra["calibration"]``, so that a
checkpoint alone is enough to predict:

* **Temperature** (Guo et al. 2017): one scalar ``T`` minimising the valid NLL of
  ``softmax(logits / T)``. It changes confidence, never the ranking, so accuracy is untouched.
* **OOD score and threshold**: three candidate scores, higher = more in-distribution: the max
  calibrated probability (``msp``, Hendrycks & Gimpel 2017), the max logit, and the negative free
  energy ``T logsumexp(logits / T)`` (``energy``, Liu et al. 2020). Real out-of-distribution
  categories are not at hand when a model is trained, so the score is chosen by AUROC against
  *synthetic* outliers made from the valid split: sketches whose points are shuffled (same
  offsets and pen lifts, no shape) and random-walk scribbles with the data's offset statistics.
  The threshold is the ``quantile`` (5%) of the in-distribution valid scores: about 5% of real
  sketches are flagged, whatever the score's units. `sketchrnn eval predict --ood-category`
  measures the choice against a real held-out category.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from sketchrnn._io import write_text_atomic
from sketchrnn.checkpoint import update_meta
from sketchrnn.data.strokes import SketchSet, segment_ids
from sketchrnn.evaluation.metrics import auroc, expected_calibration_error
from sketchrnn.predict.inference import log_softmax, nll

CALIBRATION_KEY = "calibration"
CALIBRATION_T = "calibration_T"  # the record's temperature-scaling T (not a sampling temperature)
OLD_CALIBRATION_T = "temperature"  # its name in checkpoints calibrated before the rename
SCORE_NAMES = ("msp", "max_logit", "energy")  # ties go to the earlier (simpler) score
DEFAULT_QUANTILE = 0.05
T_RANGE = (0.05, 20.0)


def fit_calibration_T(logits: np.ndarray, labels: np.ndarray, iters: int = 80) -> float:
    """The ``T`` in ``T_RANGE`` minimising ``nll(logits / T)``.

    The NLL is convex in ``1 / T`` (a log-sum-exp of functions linear in ``1 / T`` minus a linear
    term), hence unimodal in ``log T``: a golden-section search finds the global minimum without
    gradients or a random start (deterministic).
    """
    lo, hi = math.log(T_RANGE[0]), math.log(T_RANGE[1])
    g = (math.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = nll(logits, labels, math.exp(a)), nll(logits, labels, math.exp(b))
    for _ in range(iters):
        if fa <= fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = nll(logits, labels, math.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = nll(logits, labels, math.exp(b))
    return float(math.exp((lo + hi) / 2))


def ood_scores(logits: np.ndarray, calibration_T: float) -> dict[str, np.ndarray]:
    """Every candidate score ``[n]``; higher = more like the training categories."""
    z = np.asarray(logits, dtype=np.float64)
    lp = log_softmax(z, calibration_T)
    m = (z / calibration_T).max(axis=1, keepdims=True)
    lse = (m + np.log(np.exp(z / calibration_T - m).sum(axis=1, keepdims=True)))[:, 0]
    return {"msp": np.exp(lp.max(axis=1)), "max_logit": z.max(axis=1), "energy": calibration_T * lse}


def synthetic_outliers(valid: SketchSet, rng: np.random.Generator) -> dict[str, SketchSet]:
    """Two garbage versions of every valid sketch (labels kept, they are ignored):

    * ``shuffled``: the sketch's own rows in random order (its offsets and pen lifts, no shape);
    * ``scribble``: a random walk, offsets ~ N(0, 1) (the data's std after normalisation), pen
      lifted with the valid split's lift rate, same length.
    """
    seg = segment_ids(valid.offsets)
    order = np.lexsort((rng.random(len(valid.points)), seg))  # shuffle within each sketch
    shuffled = SketchSet(valid.points[order].copy(), valid.offsets.copy(), valid.labels.copy())
    lift_rate = float(valid.points[:, 2].mean()) if len(valid.points) else 0.1
    walk = np.empty_like(valid.points)
    walk[:, :2] = rng.standard_normal((len(walk), 2))
    walk[:, 2] = rng.random(len(walk)) < lift_rate
    scribble = SketchSet(walk, valid.offsets.copy(), valid.labels.copy())
    return {"shuffled": shuffled, "scribble": scribble}


def fit_calibration(logits: np.ndarray, labels: np.ndarray, outlier_logits: np.ndarray,
                    quantile: float = DEFAULT_QUANTILE,
                    selection_logits: np.ndarray | None = None) -> dict[str, Any]:
    """Temperature, chosen OOD score and threshold from in-distribution valid logits ``[n, K]``
    (with ``labels [n]``), synthetic outlier logits ``[m, K]`` and, when given, the logits of real
    held-out *selection* categories ``[s, K]``; also the NLL and ECE before and after, so the gain
    is on record.

    The score is the one with the best AUROC against the real selection outliers (against the
    synthetic ones when there are none). The threshold is the in-distribution quantile
    ``q <= quantile`` (at most that share of real sketches flagged) that maximises Youden's J,
    the share of selection outliers flagged minus the share of valid sketches flagged."""
    t = fit_calibration_T(logits, labels)
    ident = ood_scores(logits, t)
    synthetic = _aurocs(ident, ood_scores(outlier_logits, t))
    real = None if selection_logits is None else ood_scores(selection_logits, t)
    chooser = synthetic if real is None else _aurocs(ident, real)
    best = max(SCORE_NAMES, key=lambda name: (round(chooser[name], 6), -SCORE_NAMES.index(name)))
    q = quantile if real is None else _youden_quantile(ident[best], real[best], quantile)
    threshold = float(np.quantile(ident[best], q))
    probs_1, probs_t = np.exp(log_softmax(logits, 1.0)), np.exp(log_softmax(logits, t))
    record = {
        CALIBRATION_T: t,
        "nll_valid_t1": nll(logits, labels, 1.0),
        "nll_valid": nll(logits, labels, t),
        "ece_valid_t1": expected_calibration_error(probs_1, labels),
        "ece_valid": expected_calibration_error(probs_t, labels),
        "accuracy_valid": float((logits.argmax(axis=1) == labels).mean()),
        "ood_score": best,
        "ood_score_chosen_on": "synthetic" if real is None else "selection",
        "ood_threshold": threshold,
        "ood_quantile": q,
        "ood_auroc_synthetic": synthetic,
        "n_valid": int(len(labels)),
    }
    if real is not None:
        record.update(ood_auroc_selection=chooser, n_selection=int(len(selection_logits)),
                      flagged_selection=float((real[best] < threshold).mean()))
    return record


def _aurocs(inside: dict[str, np.ndarray], outside: dict[str, np.ndarray]) -> dict[str, float]:
    return {name: auroc(inside[name], outside[name]) for name in SCORE_NAMES}


def _youden_quantile(inside: np.ndarray, outside: np.ndarray, quantile: float) -> float:
    """The quantile in ``(0, quantile]`` (steps of 0.5%) whose threshold maximises flagged
    outliers minus flagged in-distribution sketches; ties go to the larger quantile."""
    grid = np.linspace(quantile / 10, quantile, 10)
    gains = [float((outside < np.quantile(inside, q)).mean()) - q for q in grid]
    return float(grid[len(grid) - 1 - int(np.argmax(gains[::-1]))])


def calibrate(target: str | os.PathLike, *, data_dir: Path | None = None, seed: int = 0,
              passes: int = 4, quantile: float = DEFAULT_QUANTILE) -> dict[str, Any]:
    """Fit and store the calibration of a predict checkpoint; returns the stored record.

    ``target``: a checkpoint directory, the predict job directory, or the runs directory (then
    the checkpoint `predict` uses: best, else latest). The valid split is read as the checkpoint's
    data settings say (``data_dir`` overrides) and each sketch is cut ``passes`` times at random.
    Meant to run at the end of the predict job's training, and on demand by the CLI.
    """
    from sketchrnn.data.tail_cut import cut_tails
    from sketchrnn.predict.inference import classify, extents
    from sketchrnn.predict.loading import load_data
    from sketchrnn.runs import load_classifier, resolve_predict_target

    path = resolve_predict_target(target)
    model, meta = load_classifier(path)
    data = load_data(meta, data_dir)
    lo, hi = meta.data.truncate_min, meta.data.truncate_max
    rng = np.random.default_rng(seed)
    valid = data.valid
    idx = np.tile(np.arange(len(valid)), passes)
    cut = cut_tails(valid, idx, rng.uniform(lo, hi, len(idx)))
    outliers = synthetic_outliers(valid, rng)
    outlier_sets = [cut_tails(s, np.arange(len(s)), rng.uniform(lo, hi, len(s)))
                    for s in outliers.values()]
    extent = float(np.median(extents(data.train)) * data.scale)
    selection = _selection_outliers(meta, extent, data_dir or meta.data.data_dir)
    selection_logits = None
    if selection:
        cut_selection = SketchSet.concat([cut_tails(s.sketches, np.arange(len(s.sketches)),
                                                    rng.uniform(lo, hi, len(s.sketches)))
                                          for s in selection])
        selection_logits = classify(model, cut_selection)
    record = fit_calibration(classify(model, cut), cut.labels,
                             classify(model, SketchSet.concat(outlier_sets)), quantile,
                             selection_logits)
    record.update(
        typical_extent_px=extent, cut=[lo, hi], passes=passes, seed=seed, step=meta.step,
        ood_selection_categories=[s.name for s in selection],
    )
    update_meta(path, extra={CALIBRATION_KEY: record})
    return record


def _selection_outliers(meta: Any, extent: float, data_dir: Path | None) -> list[Any]:
    """The selection categories' drawings found under ``data_dir`` (``data.outliers``), in model
    units; those not found are left out (none found: the score is chosen on synthetic data)."""
    from sketchrnn.data.outliers import SELECTION_CATEGORIES
    from sketchrnn.evaluation.ood import has_ood_data, load_ood

    if data_dir is None:
        return []
    return [load_ood(name, meta, typical_extent_px=extent, data_dir=Path(data_dir))
            for name in SELECTION_CATEGORIES if has_ood_data(name, Path(data_dir))]


def read_calibration(meta: Any, where: str | os.PathLike = "meta.json") -> dict[str, Any] | None:
    """The stored calibration record of a checkpoint's meta (``where``: its file, for errors), or
    None when there is none; a CheckpointError when the values it predicts with are out of range
    (the meta is untrusted: a calibration_T of NaN or an infinite threshold poisons every answer)."""
    record = (meta.extra or {}).get(CALIBRATION_KEY)
    if isinstance(record, dict) and OLD_CALIBRATION_T in record and CALIBRATION_T not in record:
        record = {CALIBRATION_T: record[OLD_CALIBRATION_T],
                  **{k: v for k, v in record.items() if k != OLD_CALIBRATION_T}}
    if not (isinstance(record, dict) and CALIBRATION_T in record):
        return None
    problems = _calibration_problems(record)
    if problems:
        from sketchrnn.errors import CheckpointError

        raise CheckpointError(f"{where}: extra.{CALIBRATION_KEY} is invalid: {'; '.join(problems)}",
                              "refit it with `sketchrnn predict --recalibrate`, or use another "
                              "checkpoint")
    return record


def _calibration_problems(record: dict[str, Any]) -> list[str]:
    def number(value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and \
            math.isfinite(value)

    problems = []
    t = record[CALIBRATION_T]
    if not (number(t) and T_RANGE[0] <= t <= T_RANGE[1]):
        problems.append(f"{CALIBRATION_T} {t!r} is not a number in {T_RANGE[0]}..{T_RANGE[1]}")
    if record.get("ood_score", "msp") not in SCORE_NAMES:
        problems.append(f"ood_score {record.get('ood_score')!r} is not one of {SCORE_NAMES}")
    if record.get("ood_threshold") is not None and not number(record["ood_threshold"]):
        problems.append(f"ood_threshold {record['ood_threshold']!r} is not a finite number")
    extent = record.get("typical_extent_px")
    if extent is not None and not (number(extent) and 0 < extent <= 1e5):
        problems.append(f"typical_extent_px {extent!r} is not a number in (0, 1e5]")
    return problems
