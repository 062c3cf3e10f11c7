"""The models a server holds: loaded once at startup from ``--runs``, never from request data.

Requests name categories, and a category is only ever looked up in the dict built here, so no
request can make the server open a path. Canvas input goes through the same steps as a JSON
sketch file given to `sketchrnn predict`: absolute polylines -> ``data.drawing.drawing_to_stroke3``
with RDP (epsilon 2 px, what the QuickDraw data went through; mouse input is far denser than
training data) -> the classifier's own scale; the completion is drawn by the top category's
draw model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sketchrnn.config import DEFAULT_TEMPERATURE_STYLE
from sketchrnn.errors import SketchRNNError

log = logging.getLogger(__name__)


class ServeError(SketchRNNError):
    """A request the server refuses; ``status`` is the HTTP code (404 unknown name, 503 no model)."""

    def __init__(self, message: str, fix: str | None = None, status: int = 400) -> None:
        super().__init__(message, fix)
        self.status = status


@dataclass
class DrawModel:
    model: Any
    meta: Any
    path: Path


@dataclass
class ServeModels:
    """Everything loaded from one runs directory; ``problems`` lists checkpoints that failed."""

    runs_dir: Path
    predictor: Any = None  # predict.predictor.Predictor, or None when no predict model
    predict_path: Path | None = None
    draw: dict[str, DrawModel] = field(default_factory=dict)  # category -> draw model
    problems: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, runs_dir: Path) -> ServeModels:
        """Load the predict job and every ``draw-*`` job under ``runs_dir``; a broken checkpoint
        is reported in ``problems`` (and logged) instead of stopping the others from serving."""
        from sketchrnn.predict.predictor import Predictor
        from sketchrnn.runs import PREDICT_JOB, find_draw_checkpoint, load_draw, predict_checkpoint

        out = cls(Path(runs_dir))
        if (out.runs_dir / PREDICT_JOB).is_dir():
            try:
                path = predict_checkpoint(out.runs_dir)
                out.predictor = Predictor.from_checkpoint(path, calibrate_missing=False)
                out.predict_path = path
            except SketchRNNError as e:
                out._problem(f"predict model: {e}")
        jobs = sorted(out.runs_dir.glob("draw-*")) if out.runs_dir.is_dir() else []
        for job in jobs:
            name = job.name.removeprefix("draw-").replace("_", " ")
            try:
                path = find_draw_checkpoint(name, out.runs_dir)
                if path is None:
                    continue
                model, meta = load_draw(path)
            except SketchRNNError as e:
                out._problem(f"{job.name}: {e}")
                continue
            category = meta.categories[0] if len(meta.categories) == 1 else name
            out.draw[category] = DrawModel(model, meta, path)
        return out

    def _problem(self, text: str) -> None:
        log.warning("serve: skipping %s", text)
        self.problems.append(text)

    @property
    def empty(self) -> bool:
        return self.predictor is None and not self.draw

    def missing(self) -> str | None:
        """What is here, what is missing and the command that trains it (None: nothing missing).

        The server's startup warning, the page's notice and the 503 messages all say this.
        """
        runs, restart = self.runs_dir, "then restart `sketchrnn serve`"
        predicted = list(self.predictor.categories) if self.predictor else []
        if self.empty:
            return (f"no trained models under {runs}: train some with "
                    f"`sketchrnn fit --categories cat,dog --runs {runs}`, {restart}")
        if not predicted:
            drawn = sorted(self.draw)
            others = drawn if len(drawn) > 1 else [*drawn, "<another category>"]
            return (f"draw models for {', '.join(drawn)} but no predict model under {runs}: live "
                    f"predictions need one; train it with `sketchrnn fit --only predict "
                    f"--categories {_arg(others)} --runs {runs}`, {restart}")
        undrawn = [c for c in predicted if c not in self.draw]
        if not undrawn:
            return None
        have = f"draw models for {', '.join(sorted(self.draw))}" if self.draw else "no draw models"
        return (f"a predict model over {', '.join(predicted)} but {have} under {runs}: \"finish it\" "
                f"needs the draw model of the predicted category; train "
                f"{'it' if len(undrawn) == 1 else 'them'} with `sketchrnn fit --only draw "
                f"--categories {_arg(undrawn)} --runs {runs}`, {restart}")

    def describe(self) -> dict[str, Any]:
        """The ``GET /api/models`` body."""
        p = self.predictor
        return {
            "categories": list(p.categories) if p else [],
            "predict": None if p is None else {
                "path": str(self.predict_path), "categories": list(p.categories),
                "calibrated": p.calibration is not None, "max_seq_len": p.meta.max_seq_len},
            "draw": [{"category": c, "max_seq_len": d.meta.max_seq_len, "path": str(d.path)}
                     for c, d in sorted(self.draw.items())],
            "problems": list(self.problems),
            "hint": self.missing(),
        }

    def _draw_model(self, category: str) -> DrawModel:
        if not self.draw:
            raise ServeError(self.missing() or "no draw models", status=503)
        if category not in self.draw:
            known = ", ".join(sorted(self.draw))
            raise ServeError(f"no draw model for category {category!r} (trained: {known})",
                             f"train it with `sketchrnn fit --only draw --categories {_arg([category])} "
                             f"--runs {self.runs_dir}`, then restart `sketchrnn serve`", status=404)
        return self.draw[category]

    def predict(self, lines: list[list[tuple[float, float]]], top_k: int, complete: bool,
                category: str | None, seed: int, temperature: float,
                temperature_style: str = DEFAULT_TEMPERATURE_STYLE) -> dict[str, Any]:
        """Top-k, OOD verdict and (optionally) a completion, for absolute canvas polylines."""
        from sketchrnn.data.drawing import RDP_EPSILON, drawing_to_stroke3
        from sketchrnn.predict.inputs import RawSketch

        if self.predictor is None:
            raise ServeError(self.missing() or "no predict model", status=503)
        arrays = [np.asarray(line, dtype=np.float64).reshape(-1, 2) for line in lines if line]
        s3 = drawing_to_stroke3(arrays, RDP_EPSILON).astype(np.float64)  # as `predict` reads files
        if len(s3) < 1 or not np.any(s3[:, :2]):
            raise ServeError("the sketch has no movement", "draw at least one line", status=422)
        s3[-1, 2] = 1.0  # the pen is up after a partial sketch, as in the training cuts
        prediction, _ = self.predictor.predict(RawSketch(s3, "data", "canvas"), top_k=top_k)
        out = prediction.to_dict()
        del out["source"]
        if complete:
            chosen = category or prediction.top[0]["category"]
            out["completion"] = self._complete(chosen, s3, arrays[0][0], seed, temperature,
                                               temperature_style)
        return out

    def _complete(self, category: str, s3: np.ndarray, start: np.ndarray, seed: int,
                  temperature: float, temperature_style: str) -> dict[str, Any]:
        from sketchrnn.predict.predictor import complete

        d = self._draw_model(category)
        full = complete(d.model, d.meta, s3, seed=seed, temperature=temperature,
                        temperature_style=temperature_style)
        return {"category": category, "strokes": new_polylines(full, len(s3), start)}

    def sample(self, category: str, n: int, temperature: float, seed: int,
               temperature_style: str = DEFAULT_TEMPERATURE_STYLE) -> dict[str, Any]:
        """``n`` sketches of ``category`` as polylines starting at (0, 0), in pixels."""
        from sketchrnn.data.strokes import denormalise, stroke3_to_polylines
        from sketchrnn.sampling import sample

        d = self._draw_model(category)
        sketches = sample(d.model, n, temperature=temperature, seed=seed,
                          max_len=d.meta.max_seq_len, temperature_style=temperature_style)
        return {"category": category, "sketches": [
            [line.round(2).tolist() for line in
             stroke3_to_polylines(denormalise(s, d.meta.scale).astype(np.float64))]
            for s in sketches]}


def _arg(categories: list[str]) -> str:
    """`--categories` value for a shell: "alarm clock,pig" quoted, cat,dog as is."""
    import shlex

    return shlex.quote(",".join(categories))


def new_polylines(full: np.ndarray, n_prime: int, start: np.ndarray) -> list[list[list[float]]]:
    """The polylines drawn after the first ``n_prime`` stroke-3 rows of ``full``, in absolute
    canvas coordinates (the sketch starts at ``start``). A new line begins after every pen lift,
    including the prime's last row, so the jump from the user's last point is not drawn."""
    xy = np.concatenate([[start], start + np.cumsum(full[:, :2], axis=0)])  # [n + 1, 2]
    lines: list[list[list[float]]] = []
    for j in range(n_prime + 1, len(xy)):
        if full[j - 2, 2] > 0.5 or not lines:  # pen lifted after point j - 1
            lines.append([xy[j - 1].round(2).tolist()] if full[j - 2, 2] <= 0.5 else [])
        lines[-1].append(xy[j].round(2).tolist())
    return [line for line in lines if line]
