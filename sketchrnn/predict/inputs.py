"""Reading a user's sketch file for `sketchrnn predict`: every layout -> one raw stroke-3 array.

Accepted files (the first-point convention of ``data.strokes``: ``n`` absolute points give
``n - 1`` stroke-3 rows):

* ``.ndjson``: QuickDraw lines; *simplified* drawings (``[[x...], [y...]]`` on the 0-255 canvas)
  and *raw* ones (``[[x...], [y...], [t...]]`` in canvas pixels);
* ``.json``: a list of ``[dx, dy, pen]`` rows, a list of strokes each a list of absolute
  ``[x, y]`` points, a QuickDraw object ``{"drawing": ...}``, or a list of such objects;
* ``.npy``: a numeric ``[n, 3]`` stroke-3 array; ``.npz``: one such array per key, or a
  sketch-rnn ``.npz`` (its test split).

Units, and why they differ. The model's data (the sketch-rnn ``.npz`` files) is in raw canvas
pixels, simplified with RDP (epsilon 2): a typical sketch spans 300-400 px. Raw ndjson drawings
get that same treatment and are then in data units like stroke-3 and ``[x, y]`` input. QuickDraw
*simplified* drawings were rescaled so that they span exactly 255, so they are marked
``canvas255`` and the predictor stretches them to the training data's typical extent before
dividing by the model's scale factor (a unit conversion; no new std is ever computed).

Every layout goes through the data layer's strict readers and its one drawing -> stroke-3 rule
(``data.drawing``), with the bounds every entry point shares (``data.bounds``): numbers only,
``|value| <= MAX_COORD``, at most ``MAX_POINTS`` points. Strokes of absolute points are dense
input (a pen, a mouse) and are simplified with RDP like raw QuickDraw drawings.

Nothing here imports torch: a malformed file fails within a fraction of a second.
Every problem is an ``InputError`` naming the file, the problem and the fix.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from sketchrnn.data.bounds import MAX_COORD, check_coord_array, check_sizes, is_coord, is_number
from sketchrnn.data.drawing import RDP_EPSILON, drawing_to_stroke3, point_lines, quickdraw_lines
from sketchrnn.errors import DataError, InputError

EXTENSIONS = (".ndjson", ".json", ".npy", ".npz")
MAX_FILE_BYTES = 64 * 2**20
Units = Literal["data", "canvas255"]

JSON_LAYOUTS = ("a list of [dx, dy, pen] rows, a list of strokes each a list of [x, y] points, "
                "or a QuickDraw object with a 'drawing' key")


@dataclass
class RawSketch:
    """One sketch as read from a file, before any model normalisation."""

    strokes: np.ndarray  # [n, 3] float64 stroke-3 (dx, dy, pen_lifted), pixels
    units: Units  # "canvas255": a QuickDraw simplified drawing, to be stretched to data extent
    source: str  # the file (and which sketch in it), for messages and output names
    count: int = 1  # sketches in the file
    index: int = 0  # which one this is


def _error(path: Any, problem: str, fix: str) -> InputError:
    return InputError(f"{path}: {problem}", fix)


def check_stroke3(a: np.ndarray, where: str) -> np.ndarray:
    """A validated float64 ``[n, 3]`` stroke-3 array: numeric, offsets within ``MAX_COORD``,
    pen in {0, 1}, at most ``MAX_POINTS`` rows, some movement."""
    if a.size == 0:
        raise _error(where, "the sketch is empty (no points)", "draw at least two points")
    if a.ndim != 2 or a.shape[1] != 3:
        raise _error(where, f"stroke-3 array has shape {list(a.shape)}, expected [n, 3]",
                     "give rows of (dx, dy, pen_lifted)")
    check_sizes(len(a), 0, where)
    arr = check_coord_array(a, where)
    pen_bad = np.flatnonzero((arr[:, 2] != 0) & (arr[:, 2] != 1))
    if len(pen_bad):
        raise _error(where, f"row {pen_bad[0]} has pen value {arr[pen_bad[0], 2]:g}",
                     "the third column is 0 (pen stays down) or 1 (pen lifted after the point)")
    if not np.any(arr[:, :2]):
        n_points = len(arr) if len(arr) > 1 else 1
        raise _error(where, f"the sketch has no movement ({n_points} point(s) at one place)",
                     "draw at least two distinct points")
    return arr


def _json_rows(obj: list, where: str) -> np.ndarray:
    """``[[dx, dy, pen], ...]`` with JSON numbers only -> ``[n, 3]`` (strict: no "1", no true)."""
    for i, row in enumerate(obj):
        if not (isinstance(row, list) and len(row) == 3 and all(map(is_number, row))):
            raise _error(where, f"row {i} is {json.dumps(row)[:40]}, not [dx, dy, pen] numbers",
                         f"use {JSON_LAYOUTS}")
        # Ints first, before numpy: a 400-digit JSON int would overflow float64.
        if any(type(v) is int and not is_coord(v) for v in row):
            raise _error(where, f"row {i} has a value beyond +-{MAX_COORD:g}",
                         "give offsets in pixels of the drawing canvas")
    check_sizes(len(obj), 0, where)
    return check_stroke3(np.array(obj, dtype=np.float64), where)


def _lines_to_stroke3(lines: list[np.ndarray], where: str, epsilon: float | None) -> np.ndarray:
    total = sum(len(line) for line in lines)
    if total < 2:
        raise _error(where, "the sketch is empty (no points)" if total == 0 else
                     "the sketch has only one point", "draw at least two points")
    return check_stroke3(drawing_to_stroke3(lines, epsilon).astype(np.float64), where)


def _from_quickdraw(drawing: Any, where: str) -> tuple[np.ndarray, Units]:
    lines, raw = quickdraw_lines(drawing, where)
    strokes = _lines_to_stroke3(lines, where, RDP_EPSILON if raw else None)
    return strokes, ("data" if raw else "canvas255")


def _from_json_value(obj: Any, where: str) -> list[tuple[np.ndarray, Units]]:
    """Every sketch a decoded JSON value holds (one for all layouts but a list of records)."""
    if isinstance(obj, dict):
        if "drawing" not in obj and "src" not in obj:
            raise _error(where, f"a JSON object without a 'drawing' key (keys: {', '.join(obj)})",
                         f"use {JSON_LAYOUTS}")
        return [_from_quickdraw(obj.get("drawing", obj.get("src")), where)]
    if not isinstance(obj, list):
        raise _error(where, f"expected a JSON list, got {type(obj).__name__}", f"use {JSON_LAYOUTS}")
    if not obj:
        raise _error(where, "the sketch is empty (an empty list)", "draw at least two points")
    if all(isinstance(item, dict) for item in obj):
        return [s for i, item in enumerate(obj) for s in _from_json_value(item, f"{where} item {i}")]
    first = obj[0]
    if isinstance(first, list) and first and not isinstance(first[0], list):
        return [(_json_rows(obj, where), "data")]
    if isinstance(first, list):  # strokes of absolute points: dense input, simplified like raw
        return [(_lines_to_stroke3(point_lines(obj, where), where, RDP_EPSILON), "data")]
    raise _error(where, f"item 0 is {json.dumps(first)[:40]}, not a row or a stroke",
                 f"use {JSON_LAYOUTS}")


def _read_json(path: Path) -> list[tuple[np.ndarray, Units]]:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise _error(path, f"not valid JSON ({e})", f"use {JSON_LAYOUTS}") from None
    except RecursionError:
        raise _error(path, "JSON nested too deeply", f"use {JSON_LAYOUTS}") from None
    return _from_json_value(obj, str(path))


def _read_ndjson(path: Path) -> list[tuple[np.ndarray, Units]]:
    from sketchrnn.data.ndjson import read_drawings

    drawings = read_drawings(path, raw=True)  # raw=True accepts both layouts
    if not drawings:
        raise _error(path, "the file holds no drawings", "give one QuickDraw JSON object per line")
    return [_from_quickdraw(d, f"{path} drawing {i}") for i, d in enumerate(drawings)]


def _read_numpy(path: Path) -> list[tuple[np.ndarray, Units]]:
    from sketchrnn.data.safe_npz import load_npy, open_npz  # never unpickles code

    fix = "save a numeric [n, 3] stroke-3 array with numpy.save / numpy.savez"
    if path.suffix == ".npy":
        return [(check_stroke3(load_npy(path), str(path)), "data")]
    with open_npz(path) as npz:
        keys = list(npz.files)
        if {"train", "valid", "test"} <= set(keys):
            return _sketch_rnn_test_split(path)
        if not keys:
            raise _error(path, "the .npz holds no arrays", fix)
        return [(check_stroke3(npz[k], f"{path} key {k!r}"), "data") for k in keys]


def _sketch_rnn_test_split(path: Path) -> list[tuple[np.ndarray, Units]]:
    from sketchrnn.data.npz import load_npz

    splits = load_npz(path)
    return [(check_stroke3(s, f"{path} test sketch {i}"), "data") for i, s in enumerate(splits.test)]


def read_sketch(path: str | os.PathLike, index: int = 0) -> RawSketch:
    """The ``index``-th sketch of a file, validated (see the module docstring for layouts)."""
    path = Path(path)
    if path.suffix.lower() not in EXTENSIONS:
        raise _error(path, f"unknown extension {path.suffix or '(none)'!r}",
                     f"give a {', '.join(EXTENSIONS)} file")
    if not path.is_file():
        raise _error(path, "no such file", "check the path")
    size = path.stat().st_size
    if size == 0:
        raise _error(path, "the file is empty", "give a file with a sketch in it")
    if size > MAX_FILE_BYTES:
        raise _error(path, f"the file has {size / 2**20:.0f} MiB; at most "
                     f"{MAX_FILE_BYTES // 2**20} MiB are read", "send one sketch per file")
    readers = {".json": _read_json, ".ndjson": _read_ndjson}
    try:
        sketches = readers.get(path.suffix.lower(), _read_numpy)(path)
    except DataError as e:  # the data layer's checks: the same message, as an input problem
        raise InputError(e.message, e.fix) from None
    if not 0 <= index < len(sketches):
        raise _error(path, f"--index {index} is out of range: the file holds {len(sketches)} "
                     "sketch(es)", f"use an index from 0 to {len(sketches) - 1}")
    strokes, units = sketches[index]
    source = str(path) if len(sketches) == 1 else f"{path} [{index}]"
    return RawSketch(strokes, units, source, count=len(sketches), index=index)
