"""Running the evaluations end to end and writing their results beside the models.

``evaluate_predict`` -> ``runs/predict/eval.json`` (+ confusion and accuracy-by-cut plots);
``evaluate_draw`` -> ``runs/draw-<slug>/eval.json`` (+ a grid of the samples that were judged).
Both return the same dict they write, for the CLI to present; neither prints.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from sketchrnn._io import write_text_atomic
from sketchrnn.config import DEFAULT_TEMPERATURE, DEFAULT_TEMPERATURE_STYLE
from sketchrnn.evaluation.fid import DEFAULT_K
from sketchrnn.evaluation.protocol import Protocol

REFERENCE = {"accuracy_mean": 0.958, "accuracy_std": 0.0017, "runs": 10, "n": 10_000,
             "categories": ["bicycle", "clock", "hand", "spider", "sun"],
             "source": "reference PyTorch Sketch-RNN classifier (cut 0-50%)"}


def write_json(path: Path, data: dict[str, Any]) -> Path:
    write_text_atomic(path, json.dumps(data, indent=2, allow_nan=False) + "\n")
    return path


def _ood_section(predictor: Any, test: Any, protocol: Protocol, name: str, data_dir: Path | None,
                 ood_file: Path | None) -> dict[str, Any]:
    """AUROC (in-distribution = positive) of every score: all test sketches vs all OOD sketches,
    both cut by the protocol's random fractions (seeded)."""
    from sketchrnn.evaluation.metrics import auroc
    from sketchrnn.evaluation.ood import load_ood
    from sketchrnn.predict.calibration import ood_scores
    from sketchrnn.data.tail_cut import cut_tails
    from sketchrnn.predict.inference import classify

    from sketchrnn.evaluation.ood_heldout import typical_extent

    cal = predictor.calibration or {}
    extent = typical_extent(predictor, test)
    folder = data_dir or predictor.meta.data.data_dir
    ood = load_ood(name, predictor.meta, typical_extent_px=extent, data_dir=folder, path=ood_file)
    rng = np.random.default_rng([protocol.seed, 10_007])
    cut = lambda s: cut_tails(s, np.arange(len(s)), rng.uniform(protocol.cut_min,  # noqa: E731
                                                                 protocol.cut_max, len(s)))
    t = predictor.calibration_T
    inside, outside = ood_scores(classify(predictor.model, cut(test)), t), \
        ood_scores(classify(predictor.model, cut(ood.sketches)), t)
    chosen = cal.get("ood_score", "msp")
    threshold = cal.get("ood_threshold")
    flagged = (lambda s: float((s[chosen] < threshold).mean())) if threshold is not None else \
        (lambda s: 0.0)
    return {
        "category": ood.name, "source": ood.source, "n_ood": len(ood.sketches),
        "n_in_distribution": len(test), "stretch": ood.stretch, "note": ood.note,
        "auroc": {k: auroc(inside[k], outside[k]) for k in inside},
        "chosen_score": chosen, "threshold": threshold,
        "flagged_ood": flagged(outside), "flagged_in_distribution": flagged(inside),
    }


def evaluate_predict(runs_dir: Path, checkpoint: Path | None, protocol: Protocol, *,
                     data_dir: Path | None = None, ood_category: str | None = None,
                     ood_file: Path | None = None, ood_limit: int | None = None) -> dict[str, Any]:
    """The reference protocol, accuracy by cut, confusion, OOD AUROC (``ood_limit``: drawings per
    held-out category, all when None); written to eval.json."""
    from sketchrnn.evaluation.ood_heldout import heldout_ood
    from sketchrnn.evaluation.plots import plot_accuracy_by_cut, plot_confusion
    from sketchrnn.evaluation.protocol import accuracy_by_cut, per_class_accuracy, run_protocol
    from sketchrnn.predict.loading import load_data
    from sketchrnn.predict.predictor import Predictor
    from sketchrnn.runs import job_root, predict_checkpoint

    start = time.perf_counter()
    path = predict_checkpoint(runs_dir, checkpoint)
    predictor = Predictor.from_checkpoint(path, data_dir=data_dir)
    if ood_category and ood_category.strip().lower() in {c.lower() for c in predictor.categories}:
        from sketchrnn.errors import InputError

        raise InputError(f"--ood-category {ood_category!r} is one of the model's categories",
                         "choose a category the predict model was not trained on, e.g. monkey")
    data = load_data(predictor.meta, data_dir)
    categories = predictor.categories
    result = run_protocol(predictor.model, data.test, protocol, len(categories),
                          predictor.calibration_T)
    by_cut = accuracy_by_cut(predictor.model, data.test)
    root = job_root(path)
    paths = {"json": str(root / "eval.json"), "confusion": str(root / "eval_confusion.png"),
             "accuracy_by_cut": str(root / "eval_accuracy_by_cut.png")}
    plot_confusion(result["confusion"], categories, paths["confusion"],
                   f"confusion, {protocol.runs} x {protocol.n:,} sketches, cut "
                   f"{protocol.cut_min:.0%}-{protocol.cut_max:.0%}")
    plot_accuracy_by_cut(by_cut, paths["accuracy_by_cut"], result["summary"]["accuracy"]["mean"])
    test_counts = np.bincount(data.test.labels, minlength=len(categories))
    out: dict[str, Any] = {
        "checkpoint": str(path), "step": predictor.meta.step, "categories": categories,
        "protocol": {**asdict(protocol), "sampling": "class-balanced, with replacement (the test "
                     "split is smaller than n)", "test_sketches_per_category":
                     {c: int(k) for c, k in zip(categories, test_counts)}},
        "summary": result["summary"], "runs": result["runs"],
        "confusion": result["confusion"].tolist(),
        "per_category_accuracy": per_class_accuracy(result["confusion"], categories),
        "accuracy_by_cut": by_cut, "calibration": predictor.calibration,
        "reference": REFERENCE, "paths": paths,
    }
    out["ood_heldout"] = heldout_ood(predictor, data.test, protocol,
                                     data_dir or predictor.meta.data.data_dir, ood_limit)
    if ood_category:
        out["ood"] = _ood_section(predictor, data.test, protocol, ood_category, data_dir,
                                  ood_file)
    out["wall_s"] = time.perf_counter() - start
    out["machine"] = platform.platform()
    write_json(Path(paths["json"]), out)
    return out


def evaluate_draw(category: str, runs_dir: Path, checkpoint: Path | None, *, n: int = 500,
                  temperature: float = DEFAULT_TEMPERATURE, seed: int = 0, k: int = DEFAULT_K,
                  data_dir: Path | None = None,
                  temperature_style: str = DEFAULT_TEMPERATURE_STYLE) -> dict[str, Any]:
    """Test losses of CATEGORY's draw model; when a predict model is trained, the recognisability
    of ``n`` samples and their FID / precision / recall (k-NN radii with ``k``) against the real
    test sketches. Written to ``runs/draw-<slug>/eval.json``."""
    from sketchrnn.errors import CheckpointError
    from sketchrnn.evaluation.checkpoint_choice import SampleSettings, judge_samples
    from sketchrnn.evaluation.draw_eval import test_losses
    from sketchrnn.predict.loading import load_data
    from sketchrnn.predict.predictor import Predictor
    from sketchrnn.render import grid_png
    from sketchrnn.runs import job_root, load_draw_for, predict_checkpoint

    start = time.perf_counter()
    path, model, meta = load_draw_for(category, runs_dir, checkpoint)
    data = load_data(meta, data_dir)
    loss = meta.loss
    test = test_losses(model, data.test, kl_weight=loss.kl_weight, kl_min=loss.kl_min,
                       n_max=meta.max_seq_len, seed=seed)
    root = job_root(path)
    paths = {"json": str(root / "eval.json")}
    recog, quality, note, quality_note = None, None, None, None
    try:
        predictor = Predictor.from_checkpoint(predict_checkpoint(runs_dir), data_dir=data_dir)
    except CheckpointError as e:
        predictor, note = None, f"no predict model: {e.message}"
        quality_note = note
    if predictor is not None:
        settings = SampleSettings(n=n, k=k, temperature=temperature, seed=seed,
                                  temperature_style=temperature_style)
        recog, pixels, quality, quality_note = judge_samples(
            path, model, meta, predictor, predict_checkpoint(runs_dir), settings, data_dir)
        paths["samples"] = str(grid_png(pixels[:64], root / "eval_samples.png"))
    out = {"checkpoint": str(path), "category": meta.categories[0], "step": meta.step,
           "model": meta.model, "model_kwargs": meta.model_kwargs,
           "test": test, "recognisability": recog, "recognisability_note": note,
           "sample_quality": quality, "sample_quality_note": quality_note,
           "predict_checkpoint": None if predictor is None else str(predict_checkpoint(runs_dir)),
           "paths": paths, "wall_s": time.perf_counter() - start}
    write_json(Path(paths["json"]), out)
    return out
