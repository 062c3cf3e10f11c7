"""A held-out QuickDraw category as out-of-distribution data, in the predict model's units.

Where it comes from (first that exists):

1. ``<data_dir>/<name>.npz`` through the normal category source: the sketch-rnn files are in
   raw canvas pixels, RDP-simplified, like the training data; its test split is used.
2. A QuickDraw ``.ndjson`` or piling.js ``.json`` file named after the category anywhere under
   ``data_dir`` (the largest such file), or an explicit ``path``: converted on the fly.

Units. *Raw* ndjson drawings are RDP-simplified at canvas scale (like the npz data). *Simplified*
drawings were rescaled by Google to span exactly 0-255, while the training sketches span a
median of roughly 300-400 px; feeding them as they are would make every OOD sketch small, and a
detector could flag them for their size rather than their shape. So the whole set is stretched
by one factor, ``median training extent / median extent of the set``, which keeps the natural
spread of sizes. Sketches are then filtered by length and clamped as the training data was, and
divided by the model's scale factor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sketchrnn.data.strokes import SketchSet
from sketchrnn.errors import DataError
from sketchrnn.predict.inference import extents, normalise


@dataclass
class OODSet:
    name: str
    sketches: SketchSet  # model units, labels all -1
    source: str
    stretch: float  # the factor applied to the drawings before normalising (1 for npz / raw)
    note: str


def _spellings(name: str) -> set[str]:
    base = name.strip().lower()
    return {base, re.sub(r"[\s_-]+", " ", base), re.sub(r"[\s_-]+", "_", base),
            re.sub(r"[\s_-]+", "-", base)}


def find_drawing_file(name: str, data_dir: Path) -> Path | None:
    """The largest ``<name>.ndjson`` / ``<name>.json`` under ``data_dir`` (any spelling of
    spaces), or None. The largest file holds the most drawings."""
    names = _spellings(name)
    found = [p for p in Path(data_dir).rglob("*") if p.suffix in (".ndjson", ".json")
             and p.stem.lower() in names and p.is_file()]
    return max(found, key=lambda p: p.stat().st_size) if found else None


def has_ood_data(name: str, data_dir: Path) -> bool:
    """Whether ``load_ood(name, data_dir=...)`` finds a file for category ``name``."""
    return _npz_file(name, data_dir) is not None or find_drawing_file(name, data_dir) is not None


def _from_drawings(path: Path) -> tuple[list[np.ndarray], bool]:
    """Stroke-3 sketches of every drawing in the file (raw ones RDP-simplified), and whether the
    file held simplified (0-255) drawings."""
    from sketchrnn.data.ndjson import drawing_to_stroke3, read_drawings
    from sketchrnn.data.rdp import rdp
    from sketchrnn.data.strokes import polylines_to_stroke3

    drawings = read_drawings(path, raw=True)
    raw = any(len(stroke) == 3 for d in drawings for stroke in d)
    if raw:
        sketches = [polylines_to_stroke3([rdp(np.asarray(s[:2], np.float64).T, 2.0) for s in d])
                    for d in drawings]
    else:
        sketches = [drawing_to_stroke3(d) for d in drawings]
    return [s.astype(np.float64) for s in sketches if len(s)], not raw


def load_ood(name: str, meta: Any, *, typical_extent_px: float, data_dir: Path | None = None,
             path: Path | None = None, limit: int | None = None) -> OODSet:
    """The OOD set of category ``name`` (see the module docstring), filtered by length and
    normalised as the predict checkpoint's data (``meta.data``, ``meta.scale``): model units."""
    min_seq_len, max_seq_len = meta.data.min_seq_len, meta.data.max_seq_len
    source, simplified, sketches = None, False, []
    npz = None if data_dir is None or path is not None else _npz_file(name, Path(data_dir))
    if npz is not None:
        from sketchrnn.data.npz import load_npz

        sketches = [np.asarray(s, np.float64) for s in load_npz(npz).test]
        source = f"{npz} (test split)"
    else:
        path = path or (find_drawing_file(name, Path(data_dir)) if data_dir else None)
        if path is None:
            where = f"under {data_dir}" if data_dir else "(no --data-dir given)"
            raise DataError(f"no data for the OOD category {name!r}: no {name}.npz, .ndjson or "
                            f".json {where}", "pass --ood-file PATH or put the file in --data-dir")
        sketches, simplified = _from_drawings(Path(path))
        source = str(path)
    lengths = np.array([len(s) for s in sketches])
    keep = [s for s, n in zip(sketches, lengths) if min_seq_len <= n <= max_seq_len]
    if not keep:
        raise DataError(f"{source}: no drawings of {min_seq_len}..{max_seq_len} points",
                        "use another OOD category")
    keep = keep[:limit] if limit else keep
    stretch, note = 1.0, "raw canvas pixels (as the training data)"
    if simplified:
        median = float(np.median(extents(SketchSet.from_list(keep))))
        stretch = typical_extent_px / median
        note = (f"simplified drawings (0-255 canvas, median extent {median:.0f}) stretched "
                f"x{stretch:.3f} to the training data's median extent {typical_extent_px:.0f} px")
    units = [normalise(s, meta, stretch) for s in keep]
    packed = SketchSet.from_list(units, label=-1)
    return OODSet(name=name, sketches=packed, source=source, stretch=stretch, note=note)


def _npz_file(name: str, data_dir: Path) -> Path | None:
    for spelling in sorted(_spellings(name)):
        for candidate in (data_dir / f"{spelling}.npz", data_dir / f"{spelling}.full.npz"):
            if candidate.is_file():
                return candidate
    return None
