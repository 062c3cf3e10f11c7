"""Filter, clamp and normalise sketches, the way sketch-rnn prepares its training data.

Follows magenta ``sketch_rnn/utils.py`` ``DataLoader``: sketches longer than ``max_seq_len`` are
dropped (we also drop those shorter than ``min_seq_len``), offsets are clamped to ``±clamp``
("removes large gaps from the data"), and all offsets are divided by one scale factor, the
standard deviation of the train split's ``dx`` and ``dy`` values together
(``calculate_normalizing_scale_factor``; Ha & Eck 2017, appendix). The valid and test splits
use the *train* scale, and a checkpoint stores it so that sampling can undo it.

Everything works on the packed ``SketchSet`` arrays: no Python loop over sketches.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sketchrnn.data.npz import SPLITS, SketchSplits
from sketchrnn.data.strokes import SketchSet
from sketchrnn.errors import DataError


@dataclass
class PreparedData:
    """Normalised splits ready for batching; ``labels`` index ``categories``."""

    train: SketchSet
    valid: SketchSet
    test: SketchSet
    scale: float  # train offset std: model units * scale = data units
    categories: tuple[str, ...] = ()

    def split(self, name: str) -> SketchSet:
        return getattr(self, name)


def _packed_split(categories: Sequence[SketchSplits], name: str) -> SketchSet:
    """All categories' sketches of one split in one ``SketchSet``, labelled by category index."""
    lists = [c.split(name) for c in categories]
    counts = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    labels = np.repeat(np.arange(len(lists), dtype=np.int64), counts)  # [n]
    return SketchSet.from_list(list(itertools.chain.from_iterable(lists)), label=labels)


def _check_not_empty(
    split: SketchSet, before: np.ndarray, name: str, names: Sequence[str], min_len: int, max_len: int,
) -> None:
    """One ``DataError`` listing every (category, split) that filtering left empty."""
    kept = np.bincount(split.labels, minlength=len(names))  # [K]
    empty = np.flatnonzero(kept == 0)
    if len(empty) == 0:
        return
    parts = [f"'{names[k]}' {name} split ({before[k]} sketches before filtering)" for k in empty]
    raise DataError(
        f"no sketches of length {min_len}..{max_len} left in " + ", ".join(parts),
        "lower min_seq_len or raise max_seq_len, or use a file with more sketches",
    )


def prepare(
    splits_by_category: Sequence[SketchSplits] | Mapping[str, SketchSplits],
    *,
    max_seq_len: int = 200,
    min_seq_len: int = 10,
    clamp: float = 1000.0,
    scale: float | None = None,
) -> PreparedData:
    """Filter by length, clamp, and divide every split by the train scale (or the given one).

    Labels are category indices in the given order (dict insertion order for a mapping).
    """
    if isinstance(splits_by_category, Mapping):
        names = [str(k) for k in splits_by_category]
        categories = list(splits_by_category.values())
    else:
        categories = list(splits_by_category)
        names = [c.source for c in categories]
    if not categories:
        raise DataError("no categories given", "name at least one category")
    if min_seq_len > max_seq_len:
        raise DataError(f"min_seq_len {min_seq_len} is above max_seq_len {max_seq_len}",
                        "choose min_seq_len <= max_seq_len")
    out: dict[str, SketchSet] = {}
    for name in SPLITS:
        packed = _packed_split(categories, name)
        before = np.bincount(packed.labels, minlength=len(names))  # [K]
        lengths = packed.lengths  # [n]
        keep = (lengths >= min_seq_len) & (lengths <= max_seq_len)  # [n]
        split = packed if keep.all() else packed.subset(keep)  # packed is our own copy
        _check_not_empty(split, before, name, names, min_seq_len, max_seq_len)
        if clamp >= 1:  # pen values are 0/1: clip all columns at once (contiguous, fast)
            np.clip(split.points, -clamp, clamp, out=split.points)
        else:
            np.clip(split.points[:, :2], -clamp, clamp, out=split.points[:, :2])
        out[name] = split
    if scale is None:
        # magenta calculate_normalizing_scale_factor: np.std of all train dx and dy values.
        scale = float(np.std(out["train"].points[:, :2], dtype=np.float64))
        if not np.isfinite(scale) or scale <= 0:
            raise DataError(f"the train split of {', '.join(names)} has no movement (offset std {scale})",
                            "check that the sketches are not all zero offsets")
    elif not np.isfinite(scale) or scale <= 0:
        raise DataError(f"scale factor {scale} is not a positive number",
                        "pass the scale stored with the model, or none to compute it")
    divisor = np.array([scale, scale, 1.0], dtype=np.float32)  # [3]: offsets only, not the pen
    for split in out.values():
        np.divide(split.points, divisor, out=split.points)
    return PreparedData(**out, scale=scale, categories=tuple(names))
