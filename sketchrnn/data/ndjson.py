"""QuickDraw ``.ndjson`` drawings -> stroke-3 splits (``data.prepare`` writes them as ``.npz``).

Layouts (github.com/googlecreativelab/quickdraw-dataset): one JSON object per line whose
``drawing`` is a list of strokes, ``[[x...], [y...]]`` in the *simplified* files (0-255 ints) or
``[[x...], [y...], [t...]]`` in the *raw* files (canvas pixels, milliseconds). The piling.js
``.json`` layout (one JSON array of objects whose ``src`` is a simplified drawing) is read too.

Stroke-3 convention (as the official sketch-rnn ``.npz``; see ``strokes.py``): the sketch starts
at its first point, so a drawing of ``n`` points gives ``n - 1`` rows ``(dx, dy, pen_lifted)``,
with ``pen_lifted = 1`` on the last point of every stroke.

``raw_to_simplified`` reproduces Google's simplification: align to the top-left, scale uniformly
so the largest coordinate is 255, resample every stroke at 1 px along its arc length, RDP with
epsilon 2.0, round. On the 7,853 drawings present in both raw and simplified form in our shared
data it matches Google's output point for point on 94% of drawings (96% within 1 px; 99.6% of
Google's points reproduced exactly); the rest differ where RDP chooses among equally distant
points, which depends on floating-point rounding in Google's own code.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from sketchrnn.data.bounds import MAX_COORD, check_sizes, describe, is_coord, is_number
from sketchrnn.data.drawing import drawing_to_stroke3 as lines_to_stroke3
from sketchrnn.data.npz import SketchSplits
from sketchrnn.data.rdp import rdp
from sketchrnn.data.splits import check_fractions, split_sketches
from sketchrnn.errors import DataError

Drawing = list  # list of strokes, each [[x...], [y...]] or [[x...], [y...], [t...]]
Source = str | os.PathLike | Iterable[str]


def _check_drawing(drawing: object, *, raw: bool, where: str) -> Drawing:
    """Validate one drawing's layout and values; ``where`` is ``"<file> line <n>"``.

    Strict types: coordinates are JSON numbers (``"1"`` or ``true`` are refused, not coerced),
    finite and within the shared bounds (``data.bounds``), so nothing downstream sees them.
    """
    fix = "fix or remove that line; QuickDraw strokes are [[x...], [y...]] (raw adds [t...])"
    if not isinstance(drawing, list) or not drawing:
        raise DataError(f"{where}: 'drawing' must be a non-empty list of strokes", fix)
    total = 0
    for j, stroke in enumerate(drawing):
        total += _check_stroke(stroke, raw=raw, where=f"{where}: stroke {j}", fix=fix)
    check_sizes(total, len(drawing), where)
    return drawing


def _check_stroke(stroke: object, *, raw: bool, where: str, fix: str) -> int:
    """Validate one stroke ``[[x...], [y...]]`` (raw: ``+ [t...]``); returns its point count."""
    if not isinstance(stroke, list) or len(stroke) not in (2, 3) or not all(
            isinstance(axis, list) for axis in stroke):
        raise DataError(f"{where} is not 2 or 3 lists of numbers", fix)
    if len(stroke) == 3 and not raw:
        raise DataError(f"{where} has x, y and t lists: this is a raw drawing",
                        "pass raw=True (`sketchrnn data prepare --raw`)")
    if not stroke[0] or any(len(axis) != len(stroke[0]) for axis in stroke):
        raise DataError(f"{where} has lists of lengths {[len(axis) for axis in stroke]}, "
                        "expected equal and non-empty", fix)
    for axis, values in zip("xyt", stroke):
        # Times are milliseconds since the first point: finite, but not a coordinate.
        ok, bound = (_is_time, "") if axis == "t" else (is_coord, f" within +-{MAX_COORD:g}")
        bad = next((i for i, v in enumerate(values) if not ok(v)), None)
        if bad is not None:
            raise DataError(f"{where} {axis}[{bad}] = {describe(values[bad])} is not a finite "
                            f"number{bound}", fix)
    return len(stroke[0])


def _is_time(value: object) -> bool:
    return is_number(value) and -math.inf < value < math.inf  # NaN fails; big ints compare fine


def _record_drawing(record: object, *, raw: bool, recognized_only: bool, where: str) -> Drawing | None:
    if isinstance(record, list):  # a bare drawing
        return _check_drawing(record, raw=raw, where=where)
    if not isinstance(record, dict) or not ("drawing" in record or "src" in record):
        raise DataError(f"{where}: expected an object with a 'drawing' key",
                        "use QuickDraw ndjson: one JSON object per line")
    if recognized_only and record.get("recognized") is False:
        return None
    drawing = record["drawing"] if "drawing" in record else record["src"]
    return _check_drawing(drawing, raw=raw, where=where)


def _lines(source: str | os.PathLike) -> Iterator[tuple[str, object]]:
    """``(where, decoded JSON)`` for each record of one ``.ndjson`` or piling.js ``.json`` file."""
    path = Path(source)
    if not path.is_file():
        raise DataError(f"{path}: no such file", "check the path")
    fix = "the file must be QuickDraw ndjson (one JSON object per line)"
    with open(path, encoding="utf-8") as f:
        if path.suffix == ".json":  # piling.js: one JSON array of {"src": drawing, ...}
            try:
                items = json.load(f)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise DataError(f"{path}: not valid JSON ({exc})", "use a JSON array of drawings") from None
            except RecursionError:  # json's parser recurses per nesting level
                raise DataError(f"{path}: JSON nested too deeply", "use a JSON array of drawings") from None
            if not isinstance(items, list):
                raise DataError(f"{path}: expected a JSON array of drawings", "use a JSON array of drawings")
            yield from ((f"{path} item {i}", item) for i, item in enumerate(items))
            return
        try:
            for n, line in enumerate(f, start=1):
                if line.strip():
                    yield f"{path} line {n}", _decode(line, f"{path} line {n}", fix)
        except UnicodeDecodeError as exc:
            raise DataError(f"{path}: not UTF-8 text ({exc})", fix) from None


def _decode(line: str, where: str, fix: str) -> object:
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataError(f"{where}: not valid JSON ({exc.msg}, column {exc.colno})", fix) from None
    except RecursionError:  # json's parser recurses per nesting level
        raise DataError(f"{where}: JSON nested too deeply", fix) from None


def _records(sources: Source) -> Iterator[tuple[str, object]]:
    """Records from a path, a list of paths, or an iterable of ndjson lines."""
    if isinstance(sources, (str, os.PathLike)):
        yield from _lines(sources)
        return
    for n, item in enumerate(sources, start=1):
        if isinstance(item, str) and item.lstrip().startswith(("{", "[")):
            yield f"<lines> line {n}", _decode(item, f"<lines> line {n}", "one JSON object per line")
        elif isinstance(item, (str, os.PathLike)) and str(item).strip():
            yield from _lines(item)


def read_drawings(sources: Source, *, raw: bool = False, recognized_only: bool = False) -> list[Drawing]:
    """Validated drawings from ndjson / piling.js files or lines (``DataError`` names file and line)."""
    drawings = []
    for where, record in _records(sources):
        drawing = _record_drawing(record, raw=raw, recognized_only=recognized_only, where=where)
        if drawing is not None:
            drawings.append(drawing)
    return drawings


def read_keyed_drawings(path: str | os.PathLike, *, raw: bool = True) -> list[tuple[str, Drawing]]:
    """``(key, drawing)`` for each drawing of one ndjson / piling.js file, read strictly: the key
    is the record's ``key_id`` (the same drawing in QuickDraw's raw and simplified files shares
    it), else the drawing's JSON text (piling.js has no ids): duplicates across files are found."""
    keyed = []
    for where, record in _records(path):
        drawing = _record_drawing(record, raw=raw, recognized_only=False, where=where)
        key_id = record.get("key_id") if isinstance(record, dict) else None
        key = f"id:{key_id}" if isinstance(key_id, (str, int)) else "json:" + json.dumps(drawing)
        keyed.append((key, drawing))
    return keyed


def _resample(xy: np.ndarray, spacing: float = 1.0) -> np.ndarray:
    """Points every ``spacing`` along the polyline's arc length, plus its last point: ``[m, 2]``."""
    step = np.hypot(*np.diff(xy, axis=0).T)  # [k - 1]
    arc = np.concatenate([[0.0], np.cumsum(step)])  # [k]
    if arc[-1] == 0:  # a dot: Google keeps it as two equal points
        return xy[[0, -1]]
    s = np.append(np.arange(0.0, arc[-1], spacing), arc[-1])  # [m]
    return np.stack([np.interp(s, arc, xy[:, 0]), np.interp(s, arc, xy[:, 1])], axis=1)


def raw_to_simplified(strokes: Drawing, *, epsilon: float = 2.0) -> Drawing:
    """Google's simplification of a raw drawing; returns ``[[x...], [y...]]`` int strokes."""
    xy = [np.asarray(s[:2], dtype=np.float64).T for s in strokes if len(s[0])]  # each [k, 2]
    if not xy:
        return []
    allp = np.concatenate(xy, axis=0)
    low = allp.min(axis=0)  # 1. align to the top-left
    extent = float((allp - low).max())
    factor = 255.0 / extent if extent > 0 else 1.0  # 2. largest coordinate becomes 255
    out = []
    for s in xy:
        s = rdp(_resample((s - low) * factor), epsilon)  # 3. resample at 1 px, 4. RDP
        s = np.round(s).astype(np.int64)
        out.append([s[:, 0].tolist(), s[:, 1].tolist()])
    return out


def drawing_to_stroke3(strokes: Drawing) -> np.ndarray:
    """A QuickDraw drawing's strokes -> stroke-3 ``[n - 1, 3]`` by the one conversion rule
    (``drawing.drawing_to_stroke3``; already simplified, so no RDP here). int64 for ints."""
    return lines_to_stroke3([np.asarray(s[:2]).T for s in strokes])


def _name(sources: Source) -> str:
    if isinstance(sources, (str, os.PathLike)):
        return str(sources)
    if isinstance(sources, (list, tuple)) and all(isinstance(s, os.PathLike) for s in sources):
        return ", ".join(map(str, sources))
    return "<ndjson input>"


def ndjson_to_splits(
    sources: Source, *, raw: bool = False, valid_frac: float = 0.1, test_frac: float = 0.1,
    seed: int = 0, recognized_only: bool = False,
) -> SketchSplits:
    """Drawings -> shuffled train/valid/test stroke-3 splits (raw ones simplified first), none empty.

    Drawings of a single point (no stroke-3 row) are skipped.
    """
    name = _name(sources)
    check_fractions(valid_frac, test_frac)
    drawings = read_drawings(sources, raw=raw, recognized_only=recognized_only)
    if raw:
        drawings = [raw_to_simplified(d) for d in drawings]
    sketches = [s for s in map(drawing_to_stroke3, drawings) if len(s)]
    return split_sketches(sketches, name, valid_frac=valid_frac, test_frac=test_frac, seed=seed)
