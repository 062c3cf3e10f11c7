"""Read and write sketch-rnn ``.npz`` files (the format of the official QuickDraw sketch-rnn data).

A file holds three keys ``train``, ``valid``, ``test``; each is an object array of stroke-3
arrays ``[n_i, 3]`` (int16 for QuickDraw, float64 for the kanji sets), or a regular 3-D array
when all sketches have the same length. Validation runs once on the concatenated points of a
split (one ``np.concatenate``), and only a failure is traced back to the sketch that caused it,
so loading 75,000 sketches stays far below a second.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sketchrnn._io import atomic_write
from sketchrnn.data.bounds import MAX_COORD
from sketchrnn.data.safe_npz import open_npz
from sketchrnn.errors import DataError

SPLITS = ("train", "valid", "test")


@dataclass
class SketchSplits:
    """One category's raw stroke-3 sketches, split three ways."""

    train: list[np.ndarray] = field(default_factory=list)
    valid: list[np.ndarray] = field(default_factory=list)
    test: list[np.ndarray] = field(default_factory=list)
    source: str = "<memory>"  # file name, for error messages

    def split(self, name: str) -> list[np.ndarray]:
        return getattr(self, name)

    def sizes(self) -> dict[str, int]:
        return {name: len(self.split(name)) for name in SPLITS}


def _bad(path: str, problem: str, fix: str) -> DataError:
    return DataError(f"{path}: {problem}", fix)


def _split_to_list(path: str, name: str, arr: np.ndarray) -> list[np.ndarray]:
    """Validate one split array and return its sketches as a list of ``[n_i, 3]`` arrays."""
    redo = "re-create the file, e.g. with `sketchrnn data prepare`"
    if arr.dtype == object:
        if arr.ndim != 1:
            raise _bad(path, f"split '{name}' is an object array of shape {arr.shape}, expected [n]", redo)
        sketches = arr.tolist()
    elif arr.ndim == 3:
        sketches = list(arr)
    else:
        raise _bad(path, f"split '{name}' has shape {arr.shape} and dtype {arr.dtype}; expected an object "
                   "array of [n_i, 3] stroke-3 arrays", redo)
    if not sketches:
        raise _bad(path, f"split '{name}' is empty", "use a file with sketches in every split")
    try:
        points = np.concatenate(sketches, axis=0)  # [P, 3] if every sketch is well formed
        ok = points.ndim == 2 and points.shape[1] == 3 and points.dtype.kind in "iuf"
    except (ValueError, TypeError):
        ok = False
    if not ok:  # find the first culprit (slow path, only on failure)
        for i, s in enumerate(sketches):
            a = np.asarray(s) if isinstance(s, np.ndarray) else None
            if a is None or a.dtype.kind not in "iuf":
                kind = type(s).__name__ if a is None else f"dtype {a.dtype}"
                raise _bad(path, f"split '{name}' sketch {i} has {kind}; expected a numeric array", redo)
            if a.ndim != 2 or a.shape[1] != 3:
                raise _bad(path, f"split '{name}' sketch {i} has shape {a.shape}; expected [n, 3] "
                           "(dx, dy, pen_lifted)", redo)
        raise _bad(path, f"split '{name}' mixes incompatible sketch arrays", redo)
    lengths = np.fromiter(map(len, sketches), dtype=np.int64, count=len(sketches))
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    if points.dtype.kind == "f":
        bad_rows = np.flatnonzero(~np.isfinite(points).all(axis=1))
        if len(bad_rows):
            i = int(np.searchsorted(offsets, bad_rows[0], side="right") - 1)
            raise _bad(path, f"split '{name}' sketch {i} contains NaN or inf", redo)
    bad_rows = np.flatnonzero((np.abs(points[:, :2]) > MAX_COORD).any(axis=1))
    if len(bad_rows):
        i = int(np.searchsorted(offsets, bad_rows[0], side="right") - 1)
        raise _bad(path, f"split '{name}' sketch {i} has an offset beyond +-{MAX_COORD:g}", redo)
    bad_rows = np.flatnonzero((points[:, 2] != 0) & (points[:, 2] != 1))
    if len(bad_rows):
        i = int(np.searchsorted(offsets, bad_rows[0], side="right") - 1)
        raise _bad(path, f"split '{name}' sketch {i} has pen value {points[bad_rows[0], 2]!r}; "
                   "the third column must be 0 or 1", redo)
    return sketches


def load_npz(path: str | os.PathLike) -> SketchSplits:
    """Load and validate a sketch-rnn ``.npz``; every problem is a ``DataError`` naming the file."""
    path = str(path)
    if not os.path.isfile(path):
        raise DataError(f"{path}: no such file", "check the path, or download the category first")
    if not zipfile.is_zipfile(path):
        raise _bad(path, "is not an .npz (zip) file, or it is truncated",
                   "delete it and download or prepare it again")
    try:
        with open_npz(path) as npz:  # never unpickles anything but arrays of numbers
            keys = list(npz.files)
            missing = [name for name in SPLITS if name not in keys]
            if missing:
                raise _bad(path, f"missing split(s) {', '.join(missing)}; keys found: "
                           f"{', '.join(keys) or '(none)'}",
                           "a sketch-rnn .npz needs the keys train, valid and test")
            arrays = {name: npz[name] for name in SPLITS}
    except DataError:
        raise
    except Exception as exc:  # zlib and zipfile errors of a corrupt file
        raise _bad(path, f"cannot be read ({type(exc).__name__}: {exc})",
                   "delete it and download or prepare it again") from exc
    lists = {name: _split_to_list(path, name, arrays[name]) for name in SPLITS}
    return SketchSplits(**lists, source=path)


def _to_object_array(sketches: list[np.ndarray], dtype: type) -> np.ndarray:
    """An object array ``[n]`` of ``[n_i, 3]`` arrays in ``dtype`` (never a 3-D array)."""
    if not sketches:
        return np.empty(0, dtype=object)
    lengths = np.fromiter(map(len, sketches), dtype=np.int64, count=len(sketches))
    points = np.concatenate(sketches, axis=0).astype(dtype)  # [P, 3], one cast for the split
    parts = np.split(points, np.cumsum(lengths)[:-1])
    return np.fromiter(parts, dtype=object, count=len(parts))  # [n], even if lengths are equal


def _storage_dtype(splits: SketchSplits) -> type:
    """int16 like the official files when every value is an integer that fits, else float32."""
    points = [np.concatenate(s, axis=0) for s in (splits.train, splits.valid, splits.test) if s]
    if not points:
        return np.int16
    allp = np.concatenate(points, axis=0)  # [P, 3]
    if allp.dtype.kind in "iu":
        integral = True
    else:
        integral = bool(np.isfinite(allp).all() and (allp == np.round(allp)).all())
    if integral and (allp.size == 0 or np.abs(allp).max() <= np.iinfo(np.int16).max):
        return np.int16
    return np.float32


def save_npz(splits: SketchSplits, path: str | os.PathLike, *, overwrite: bool = True) -> Path:
    """Write ``splits`` as a sketch-rnn ``.npz``, atomically (``sketchrnn._io.atomic_write``).

    The arrays are checked with the loader's own validation first, so a file this writes always
    loads (no empty split, no value that overflows the storage dtype). ``overwrite=False``
    raises ``OutputExistsError`` instead of replacing an existing file.
    """
    dtype = _storage_dtype(splits)
    with np.errstate(over="ignore"):  # a value that overflows the cast is refused just below
        arrays = {name: _to_object_array(splits.split(name), dtype) for name in SPLITS}
    for name, arr in arrays.items():
        _split_to_list(splits.source, name, arr)
    return atomic_write(path, lambda f: np.savez_compressed(f, **arrays), overwrite=overwrite)
