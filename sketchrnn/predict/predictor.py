"""Predicting one incomplete sketch: calibrated top-k, an out-of-distribution verdict, a completion.

``Predictor`` holds the classifier and its calibration (``calibration.py``). The steps, and why:

1. Pixels -> model units exactly as the training data went: a QuickDraw *simplified* drawing is
   first stretched from its 255 canvas to the training data's typical extent (stored with the
   calibration), offsets are clamped, then divided by the model's stored scale factor. A sketch
   longer than the model's ``N_max`` is simplified with RDP (epsilon 2 px), as the data was;
   the pen is lifted after the last point, as the training cuts do.
2. Logits from the classifier (mu, no sampling: deterministic), probabilities
   ``softmax(logits / T)``, the chosen OOD score and its threshold -> the verdict.
3. The completion, by the top category's draw model, primed with the user's strokes (in that
   model's own units); a VAE gets ``z`` = the encoding of the partial sketch, so the rest is drawn
   to fit what is already there. Seeded, hence reproducible.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sketchrnn.checkpoint_meta import META
from sketchrnn.data.drawing import RDP_EPSILON, simplify_stroke3
from sketchrnn.config import DEFAULT_TEMPERATURE, DEFAULT_TEMPERATURE_STYLE
from sketchrnn.data.strokes import SketchSet
from sketchrnn.predict.calibration import CALIBRATION_T, calibrate, ood_scores, read_calibration
from sketchrnn.predict.inference import classify, log_softmax, normalise
from sketchrnn.predict.inputs import RawSketch


@dataclass
class Prediction:
    """What `sketchrnn predict --json` prints (``to_dict``)."""

    source: str
    points: int  # stroke-3 rows the classifier read
    top: list[dict[str, Any]]  # [{"category", "probability"}], best first
    prediction: str | None  # top category, or None when out of distribution
    in_distribution: bool
    verdict: str  # the category, or "not one of: a, b, c"
    score: dict[str, Any]  # {"name", "value", "threshold"}
    calibration_T: float  # temperature scaling of the logits (calibration), 1 when uncalibrated
    calibrated: bool
    categories: list[str]
    notes: list[str] = field(default_factory=list)
    completion: dict[str, Any] | None = None  # set by the caller that draws it

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Predictor:
    """A predict checkpoint ready to classify sketches given in pixels."""

    def __init__(self, model: Any, meta: Any, calibration: dict[str, Any] | None) -> None:
        self.model, self.meta, self.calibration = model, meta, calibration
        self.categories = list(meta.categories)

    @classmethod
    def from_checkpoint(cls, path: Path, *, calibrate_missing: bool = True,
                        recalibrate: bool = False, data_dir: Path | None = None) -> Predictor:
        """Load ``path``; fit the calibration on the valid split first when it is missing (or
        ``recalibrate``), which needs the training data (``data_dir`` overrides its folder)."""
        from sketchrnn.errors import DataError
        from sketchrnn.runs import load_classifier

        model, meta = load_classifier(path)
        record = None if recalibrate else read_calibration(meta, Path(path) / META)
        if recalibrate or (record is None and calibrate_missing):
            try:
                record = calibrate(path, data_dir=data_dir)
            except DataError as e:
                raise DataError(f"{path} has no calibration, and fitting it needs the valid "
                                f"split: {e.message}",
                                e.fix or "pass --data-dir with the training data") from e
        return cls(model, meta, record)

    @property
    def calibration_T(self) -> float:
        """The calibration's temperature-scaling T (``softmax(logits / T)``); 1 if uncalibrated."""
        return float(self.calibration[CALIBRATION_T]) if self.calibration else 1.0

    def to_model_units(self, raw: RawSketch) -> tuple[np.ndarray, list[str]]:
        """Step 1 of the module docstring: ``([n, 3] float32 model units, notes)``."""
        notes: list[str] = []
        strokes, stretch = raw.strokes, 1.0
        if raw.units == "canvas255":
            extent = (self.calibration or {}).get("typical_extent_px")
            if extent:
                stretch = float(extent) / 255.0
                notes.append(f"QuickDraw simplified drawing: stretched x{stretch:.2f} from the "
                             f"255 canvas to the training data's typical extent ({extent:.0f} px)")
            else:
                notes.append("QuickDraw simplified drawing left at its 255 canvas size "
                             "(the model has no calibration with the typical extent)")
        if len(strokes) > self.meta.max_seq_len:
            before = len(strokes)
            strokes = simplify_stroke3(strokes * np.array([stretch, stretch, 1.0])) / [stretch, stretch, 1]
            notes.append(f"{before} points > N_max {self.meta.max_seq_len}: simplified with RDP "
                         f"(epsilon {RDP_EPSILON:g} px) to {len(strokes)}")
        strokes = np.array(strokes, dtype=np.float64, copy=True)
        strokes[-1, 2] = 1.0  # the pen is up at the end of a partial sketch, as in training cuts
        return normalise(strokes, self.meta, stretch), notes

    def predict_normalised(self, sketches: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray,
                                                                      dict[str, np.ndarray]]:
        """``(logits [n, K], probs [n, K], scores)`` of sketches already in model units."""
        packed = SketchSet.from_list([np.asarray(s, dtype=np.float32) for s in sketches])
        logits = classify(self.model, packed)
        probs = np.exp(log_softmax(logits, self.calibration_T))
        return logits, probs, ood_scores(logits, self.calibration_T)

    def predict(self, raw: RawSketch, top_k: int = 3) -> tuple[Prediction, np.ndarray]:
        """The prediction for one sketch, and the sketch in model units."""
        sketch, notes = self.to_model_units(raw)
        _, probs, scores = self.predict_normalised([sketch])
        probs = probs[0]
        order = np.argsort(-probs, kind="stable")[: max(1, top_k)]
        top = [{"category": self.categories[i], "probability": float(probs[i])} for i in order]
        if self.calibration:
            name = self.calibration["ood_score"]
            threshold = float(self.calibration["ood_threshold"])
            value = float(scores[name][0])
            inside = value >= threshold
        else:
            name, threshold, value, inside = "msp", None, float(scores["msp"][0]), True
            notes.append("uncalibrated model: calibration T = 1, no out-of-distribution threshold")
        best = top[0]["category"]
        verdict = best if inside else "not one of: " + ", ".join(self.categories)
        prediction = Prediction(
            source=raw.source, points=int(len(sketch)), top=top,
            prediction=best if inside else None, in_distribution=bool(inside), verdict=verdict,
            score={"name": name, "value": value, "threshold": threshold},
            calibration_T=self.calibration_T, calibrated=self.calibration is not None,
            categories=self.categories, notes=notes,
        )
        return prediction, sketch

    def to_pixels(self, sketch: np.ndarray) -> np.ndarray:
        """Model units -> pixels (offsets times the stored scale)."""
        from sketchrnn.data.strokes import denormalise

        return denormalise(sketch, self.meta.scale)


def complete(draw_model: Any, draw_meta: Any, prime_px: np.ndarray, *, seed: int = 0,
             temperature: float = DEFAULT_TEMPERATURE, max_new: int | None = None,
             temperature_style: str = DEFAULT_TEMPERATURE_STYLE) -> np.ndarray:
    """The whole sketch (the user's strokes, then the drawn rest) in pixels: ``[n, 3]``.

    The prime is put in the draw model's own units (its scale differs from the classifier's).
    """
    import torch

    from sketchrnn.data.strokes import denormalise
    from sketchrnn.sampling import encode, sample

    prime = normalise(prime_px, draw_meta)  # [L, 3]
    max_new = max_new or max(draw_meta.max_seq_len - len(prime), 25)
    generator = torch.Generator().manual_seed(seed)
    z = encode(draw_model, [prime]) if getattr(draw_model, "conditional", False) else None
    out = sample(draw_model, 1, z=z, prime=[prime], temperature=temperature, generator=generator,
                 max_len=max_new, temperature_style=temperature_style)[0]
    return denormalise(out, draw_meta.scale)
