"""Judging a draw checkpoint's samples and recording the figures in its meta, so that sampling
can choose between a job's best and latest checkpoints by them (``runs.sampling_checkpoint``).

`eval draw` judges the checkpoint it evaluates; `fit` judges both checkpoints of every draw job
whose best and latest differ, once a predict model exists (``measure_draw_checkpoints``). Both
use the same defaults, so their records compare.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sketchrnn.config import DEFAULT_TEMPERATURE, DEFAULT_TEMPERATURE_STYLE
from sketchrnn.evaluation.fid import DEFAULT_K


@dataclass(frozen=True)
class SampleSettings:
    """How samples are drawn and judged; a record is comparable only with one of equal settings."""

    n: int = 500
    k: int = DEFAULT_K
    temperature: float = DEFAULT_TEMPERATURE
    temperature_style: str = DEFAULT_TEMPERATURE_STYLE
    seed: int = 0


def judge_samples(path: Path, model: Any, meta: Any, predictor: Any, predict_path: Path,
                  settings: SampleSettings, data_dir: Path | None = None
                  ) -> tuple[dict[str, Any], list[np.ndarray], dict[str, Any] | None, str | None]:
    """``(recognisability, sample pixels, sample quality or None, why not)`` of the draw
    checkpoint at ``path``; the figures are recorded in its meta when there are any."""
    from sketchrnn.evaluation.draw_eval import recognisability

    category = meta.categories[0]
    recog, pixels = recognisability(model, meta, predictor, category, n=settings.n,
                                    temperature=settings.temperature, seed=settings.seed,
                                    temperature_style=settings.temperature_style)
    quality, note = _sample_quality(predictor, category, pixels, settings.k, data_dir)
    if quality is not None:
        _record(path, recog, quality, _record_settings(settings, predict_path, predictor))
    return recog, pixels, quality, note


def measure_draw_checkpoints(category: str, runs_dir: Path, settings: SampleSettings | None = None,
                             data_dir: Path | None = None) -> dict[str, Any] | None:
    """Judge the best and the latest checkpoint of ``category``'s draw job when they hold
    different steps and a predict model knowing the category exists; ``{"best": {step, fid},
    "latest": {...}, "chosen": "best" | "latest"}``, or None when there was nothing to judge."""
    from sketchrnn.checkpoint_meta import read_meta
    from sketchrnn.errors import CheckpointError
    from sketchrnn.predict.predictor import Predictor
    from sketchrnn.runs import (JobDir, draw_job_name, is_checkpoint, load_draw, predict_checkpoint,
                                recorded_sample_fid, sampling_checkpoint)

    settings = settings or SampleSettings()
    jd = JobDir(Path(runs_dir) / draw_job_name(category))
    if not (is_checkpoint(jd.best) and is_checkpoint(jd.latest)):
        return None
    paths = {"best": jd.best, "latest": jd.latest}
    out: dict[str, Any] = {which: {"step": read_meta(path).step} for which, path in paths.items()}
    if out["best"]["step"] == out["latest"]["step"]:
        return None  # the same weights: nothing to choose (and no predict model to load)
    try:
        predict_path = predict_checkpoint(runs_dir)
        predictor = Predictor.from_checkpoint(predict_path, data_dir=data_dir)
    except CheckpointError:
        return None
    if category not in predictor.categories:
        return None
    for which, path in paths.items():
        recorded = recorded_sample_fid(path)
        if recorded is not None and recorded[1] == _record_settings(settings, predict_path,
                                                                    predictor):
            out[which]["fid"] = recorded[0]  # judged already (a finished job): leave it untouched
            continue
        model, meta = load_draw(path)
        _, _, quality, _ = judge_samples(path, model, meta, predictor, predict_path, settings,
                                         data_dir)
        if quality is None:
            return None
        out[which]["fid"] = quality["generated"]["fid"]
    out["chosen"] = sampling_checkpoint(jd.root).name
    return out


def _record_settings(settings: SampleSettings, predict_path: Path, predictor: Any
                     ) -> dict[str, Any]:
    """What a sample-quality record is comparable by: the sampling settings and the judge."""
    return {**asdict(settings), "predict": str(Path(predict_path).resolve()),
            "predict_step": predictor.meta.step}


def _sample_quality(predictor: Any, category: str, pixels: list[np.ndarray], k: int,
                    data_dir: Path | None) -> tuple[dict[str, Any] | None, str | None]:
    """``(figures, None)``, or ``(None, why not)`` when the sets are too small for ``k`` or the
    predict model has no ``encode`` (a plugin classifier need not have one)."""
    from sketchrnn.evaluation.draw_eval import sample_quality

    if not callable(getattr(predictor.model, "encode", None)):
        return None, "the predict model has no encode() giving its features"
    try:
        return sample_quality(predictor, category, pixels, k=k, data_dir=data_dir), None
    except ValueError as e:  # fewer non-empty samples or real sketches than k + 1
        return None, f"{e} (k={k}: draw more samples with -n, or lower --k)"


def _record(checkpoint: Path, recog: dict[str, Any], quality: dict[str, Any],
            settings: dict[str, Any]) -> None:
    """Store the figures in the draw checkpoint's meta (``runs.SAMPLE_QUALITY``)."""
    from sketchrnn.checkpoint import update_meta
    from sketchrnn.runs import SAMPLE_QUALITY

    g = quality["generated"]
    update_meta(checkpoint, extra={SAMPLE_QUALITY: {
        "fid": g["fid"], "precision": g["precision"], "recall": g["recall"],
        "recognised": recog["recognised"], "settings": settings}})
