"""Other categories' drawings as outliers: which category plays which role, and how they are read.

Outlier exposure (Hendrycks et al. 2019) trains the predict model to be unsure on drawings of
categories it does not know; the OOD score and threshold are then chosen on other real held-out
categories, and the result is measured on yet others. A category used for one of these must never
be used for another, or the measurement flatters the model. The rule is fixed here, in code:

* **evaluation** (``EVALUATION_CATEGORIES``): measured by ``eval predict``, never trained on nor
  used to choose anything. Categories with 1,000-1,600 drawings in the shared data.
* **selection** (``SELECTION_CATEGORIES``): the real held-out *validation* outliers on which the
  calibration chooses the OOD score.
* **excluded**: a category sharing a word with one of the model's own categories ("clock" for
  "alarm clock", "smiley face" for "face"): such drawings are often the model's category, and
  pushing them towards "none of these" would teach it to doubt real sketches.
* **exposure**: every other category: the outliers the model is trained on.

The exposure files are read strictly (``ndjson.read_drawings``): a bad line is a ``DataError``
naming the file and line, never skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sketchrnn.data.strokes import SketchSet
from sketchrnn.errors import DataError

if TYPE_CHECKING:
    from sketchrnn.data.batching import Augment, Batch

EVALUATION_CATEGORIES = ("cake", "monkey", "snowman", "teapot")
SELECTION_CATEGORIES = ("necklace", "piano", "power outlet")
OUTLIER_SUFFIXES = (".ndjson",)
MAX_OUTLIER_FILES = 10_000  # a QuickDraw folder has 345


def canonical(name: str) -> str:
    """``"Power-Outlet"``, ``"power_outlet"`` -> ``"power outlet"``: one spelling per category."""
    return re.sub(r"[\s_-]+", " ", name.strip().lower())


def file_category(path: Path) -> str:
    """The category a drawing file holds, from its name: ``power-outlet.json`` -> ``"power
    outlet"``; a trailing count is not part of it (``teapot-2000.json`` -> ``"teapot"``), so that
    a second file of a held-out category is held out too."""
    return re.sub(r"( \d+)+$", "", canonical(Path(path).stem)) or canonical(Path(path).stem)


def outlier_role(name: str, categories: list[str]) -> str:
    """The role of category ``name`` for a model of ``categories``: ``"inside"`` (one of them),
    ``"evaluation"``, ``"selection"``, ``"excluded"`` or ``"exposure"`` (see module docstring)."""
    name = canonical(name)
    own = {canonical(c) for c in categories}
    if name in own:
        return "inside"
    if name in EVALUATION_CATEGORIES:
        return "evaluation"
    if name in SELECTION_CATEGORIES:
        return "selection"
    own_words = {w for c in own for w in c.split()}
    if own_words & set(name.split()):
        return "excluded"
    return "exposure"


@dataclass
class OutlierSet:
    """Exposure outliers in pixels (labels all -1), and the categories they came from."""

    sketches: SketchSet
    categories: list[str]  # sorted canonical names
    skipped: dict[str, str]  # file stem -> its role (files in the folder not used)


def read_exposure_outliers(folder: Path, categories: list[str], *, min_seq_len: int,
                           max_seq_len: int) -> OutlierSet:
    """Every exposure category's drawings in ``folder`` (``<category>.ndjson``, QuickDraw
    simplified or raw), as stroke-3 in their own pixels, filtered by length like the training
    data. A ``DataError`` when the folder is missing or holds no exposure drawings."""
    from sketchrnn.data.ndjson import read_drawings

    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"outlier folder {folder} does not exist",
                        "set predict.outliers.data_dir to a folder of <category>.ndjson files, or "
                        "leave it unset for no outlier exposure")
    files = sorted(p for p in folder.iterdir() if p.suffix in OUTLIER_SUFFIXES and p.is_file())
    if len(files) > MAX_OUTLIER_FILES:
        raise DataError(f"outlier folder {folder} has {len(files)} files, more than "
                        f"{MAX_OUTLIER_FILES}", "point predict.outliers.data_dir at one category set")
    sketches, used, skipped = [], [], {}
    for path in files:
        name = file_category(path)
        role = outlier_role(name, categories)
        if role != "exposure":
            skipped[path.stem] = role
            continue
        kept = [s for s in map(quickdraw_stroke3, read_drawings(path, raw=True))
                if min_seq_len <= len(s) <= max_seq_len]
        if kept:
            sketches += kept
            used.append(name)
    if not sketches:
        raise DataError(f"outlier folder {folder} holds no drawings of an exposure category of "
                        f"{min_seq_len}..{max_seq_len} points ({len(files)} .ndjson files, "
                        f"{len(skipped)} held out or excluded)",
                        "point predict.outliers.data_dir at a folder of QuickDraw "
                        "<category>.ndjson files")
    return OutlierSet(SketchSet.from_list(sketches, label=-1), sorted(used), skipped)


def quickdraw_stroke3(drawing: list) -> np.ndarray:
    """One validated QuickDraw drawing -> stroke-3 float64 in its pixels; raw drawings (with
    times) are RDP-simplified like the sketch-rnn data, simplified ones are already."""
    from sketchrnn.data.drawing import RDP_EPSILON, drawing_to_stroke3

    raw = any(len(stroke) == 3 for stroke in drawing)
    lines = [np.asarray(stroke[:2], np.float64).T for stroke in drawing]  # [k, 2] each
    return drawing_to_stroke3(lines, RDP_EPSILON if raw else None).astype(np.float64)


def match_extent(outliers: SketchSet, reference: SketchSet) -> tuple[SketchSet, float]:
    """``outliers`` rescaled so that their median extent equals ``reference``'s (the training
    sketches, in model units): QuickDraw's simplified drawings span 0-255 px whatever the
    training data's size, and a model must not learn "small = outlier". Returns the rescaled set
    and the factor applied."""
    from sketchrnn.data.strokes import extents

    factor = float(np.median(extents(reference)) / np.median(extents(outliers)))
    points = outliers.points.copy()
    points[:, :2] *= factor
    return SketchSet(points, outliers.offsets.copy(), outliers.labels.copy()), factor


def mix_outliers(batches: Iterator[Batch], outliers: SketchSet, per_batch: int, *,
                 rng: np.random.Generator, augment: Augment | None,
                 truncate: tuple[float, float] | None) -> Iterator[Batch]:
    """Each batch of ``batches`` with ``per_batch`` random outliers appended (label -1), drawn
    with replacement, augmented and tail-cut like the training sketches."""
    from sketchrnn.data.batching import make_batch

    for batch in batches:
        idx = rng.integers(0, len(outliers), per_batch)
        extra = make_batch(outliers, idx, rng=rng, augment=augment, truncate=truncate)
        yield concat_batches(batch, extra)


def concat_batches(a: Batch, b: Batch) -> Batch:
    """Two stroke-5 batches as one, the shorter padded with end-of-sketch rows ``(0,0,0,0,1)``."""
    import torch

    from sketchrnn.data.batching import Batch

    steps = max(a.x.shape[1], b.x.shape[1])

    def pad(x: torch.Tensor) -> torch.Tensor:  # [B, T, 5] -> [B, steps, 5]
        rows = x.new_zeros((x.shape[0], steps - x.shape[1], 5))
        rows[..., 4] = 1
        return torch.cat([x, rows], dim=1)

    return Batch(x=torch.cat([pad(a.x), pad(b.x)]), lengths=torch.cat([a.lengths, b.lengths]),
                 labels=torch.cat([a.labels, b.labels]))
