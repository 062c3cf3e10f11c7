"""Drawings (absolute polylines in pixels) -> stroke-3: the one rule every entry point uses.

A *drawing* is a list of strokes, each a polyline of absolute ``[x, y]`` points. Each reader
turns its layout into such polylines, strictly (``bounds``: JSON numbers only, finite, within
+-``MAX_COORD``): ``quickdraw_lines`` for QuickDraw strokes ``[[x...], [y...](, [t...])]``,
``point_lines`` for strokes of ``[x, y]`` points (JSON sketch files, the web canvas). Then
``drawing_to_stroke3`` applies the one conversion rule:

* empty strokes are dropped (they draw nothing), everywhere;
* with ``epsilon``, each stroke is simplified with RDP first: dense input (raw QuickDraw, mouse
  or pen points) gets what the sketch-rnn data went through (``RDP_EPSILON`` = 2 px); ``None``
  for drawings that are already simplified (QuickDraw's simplified files);
* the sketch starts at its first point (``strokes.polylines_to_stroke3``): ``n`` points give
  ``n - 1`` rows, and a first stroke of one point keeps its pen lift with a zero move.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from sketchrnn.data.bounds import check_sizes, coords, describe, is_number
from sketchrnn.data.rdp import rdp
from sketchrnn.data.strokes import polylines_to_stroke3, stroke3_to_polylines
from sketchrnn.errors import DataError

RDP_EPSILON = 2.0  # px: the simplification the sketch-rnn data and QuickDraw's files went through
QUICKDRAW_FIX = "QuickDraw strokes are [[x...], [y...]] (raw drawings add [t...]), numbers only"
POINTS_FIX = "give strokes as lists of [x, y] points, numbers only"


def quickdraw_lines(drawing: Any, where: str) -> tuple[list[np.ndarray], bool]:
    """QuickDraw strokes -> ``([k, 2] float64 polylines, is_raw)``; ``DataError`` if malformed."""
    if not isinstance(drawing, list) or not drawing:
        raise DataError(f"{where}: the drawing is not a non-empty list of strokes", QUICKDRAW_FIX)
    check_sizes(0, len(drawing), where)
    lines, raw, total = [], False, 0
    for j, stroke in enumerate(drawing):
        if not isinstance(stroke, list) or len(stroke) not in (2, 3):
            raise DataError(f"{where}: stroke {j} is {describe(stroke)}, not 2 or 3 number lists",
                            QUICKDRAW_FIX)
        x, y = coords(stroke[0], f"{where} stroke {j} x"), coords(stroke[1], f"{where} stroke {j} y")
        if len(stroke) == 3:
            raw = True
            t = stroke[2]
            if not isinstance(t, list) or len(t) != len(x) or not all(map(is_number, t)):
                raise DataError(f"{where}: stroke {j} times are not {len(x)} numbers", QUICKDRAW_FIX)
        if len(x) != len(y):
            raise DataError(f"{where}: stroke {j} has {len(x)} x and {len(y)} y values",
                            QUICKDRAW_FIX)
        lines.append(np.stack([x, y], axis=1))  # [k, 2]
        total += len(x)
        check_sizes(total, len(drawing), where)
    return lines, raw


def point_lines(strokes: Any, where: str) -> list[np.ndarray]:
    """Strokes of ``[x, y]`` points -> ``[k, 2]`` float64 polylines; ``DataError`` if malformed."""
    if not isinstance(strokes, list):
        raise DataError(f"{where}: expected a list of strokes, got {describe(strokes)}", POINTS_FIX)
    check_sizes(0, len(strokes), where)
    lines, total = [], 0
    for j, stroke in enumerate(strokes):
        if not isinstance(stroke, list) or not all(isinstance(p, list) and len(p) == 2
                                                   for p in stroke):
            raise DataError(f"{where}: stroke {j} is not a list of [x, y] points", POINTS_FIX)
        total += len(stroke)
        check_sizes(total, len(strokes), where)
        flat = coords([v for p in stroke for v in p], f"{where} stroke {j}")
        lines.append(flat.reshape(-1, 2))  # [k, 2]
    return lines


def drawing_to_stroke3(lines: Sequence[np.ndarray], epsilon: float | None = None) -> np.ndarray:
    """Absolute polylines ``[k, 2]`` -> stroke-3 ``[n, 3]`` by the rule of the module docstring.

    Integer input without ``epsilon`` stays int64 (``data prepare`` stores int16); otherwise
    float64. A drawing with fewer than two points gives zero rows.
    """
    lines = [np.asarray(line).reshape(-1, 2) for line in lines]
    lines = [line for line in lines if len(line)]  # empty strokes draw nothing
    if epsilon is not None:
        lines = [rdp(line.astype(np.float64), epsilon) for line in lines]
    return polylines_to_stroke3(lines)


def simplify_stroke3(strokes: np.ndarray, epsilon: float = RDP_EPSILON) -> np.ndarray:
    """RDP on every stroke of a stroke-3 sketch in pixels: ``[n, 3]`` -> ``[m, 3]`` float64."""
    lines = stroke3_to_polylines(np.asarray(strokes, dtype=np.float64))
    return drawing_to_stroke3(lines, epsilon).astype(np.float64)
