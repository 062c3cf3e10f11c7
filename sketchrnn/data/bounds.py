"""Limits on sketch input, one set for every entry point (``data prepare``, ``predict`` files,
JSON sketches, the web API), and the strict checks that apply them.

Why these values: a drawing canvas is a few thousand pixels wide, so no real coordinate or offset
comes near ``MAX_COORD`` (1e5 px), while 1e39 would become inf in float32 and 1e300 overflows
the model's arithmetic. QuickDraw's longest raw drawings have a few thousand points and a few
hundred strokes; ``MAX_POINTS`` and ``MAX_STROKES`` bound one sketch's work well above that.

Strict means numbers only: JSON ``"1"``, ``true`` or ``null`` are refused, not coerced (Python's
``bool`` is an ``int`` subclass, and numpy turns ``"1"`` into 1.0 without complaint).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sketchrnn.errors import DataError

MAX_COORD = 1e5  # |x|, |y|, |dx|, |dy| in pixels
MAX_POINTS = 10_000  # points of one sketch, all strokes together
MAX_STROKES = 1_000  # strokes of one sketch


def is_number(v: Any) -> bool:
    """A JSON number: ``int`` or ``float``, never ``bool`` (nor numpy or string look-alikes)."""
    return type(v) is int or type(v) is float


def is_coord(v: Any) -> bool:
    """A number within +-``MAX_COORD`` (NaN fails the comparison, so it is refused too)."""
    return is_number(v) and -MAX_COORD <= v <= MAX_COORD


def describe(v: Any) -> str:
    """A bad value, short, for a message."""
    text = repr(v) if not isinstance(v, (list, dict)) else type(v).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def coords(values: Any, where: str) -> np.ndarray:
    """A JSON list of coordinates -> ``float64 [k]``; ``DataError`` naming the first bad value."""
    if not isinstance(values, list):
        raise DataError(f"{where}: expected a list of numbers, got {describe(values)}",
                        "give coordinates as JSON numbers")
    for v in values:
        if not is_coord(v):
            raise DataError(f"{where}: coordinate {describe(v)} is not a finite number within "
                            f"+-{MAX_COORD:g} (NaN, inf, strings and booleans are refused)",
                            f"give JSON numbers with |value| <= {MAX_COORD:g} px")
    return np.array(values, dtype=np.float64)


def check_coord_array(a: np.ndarray, where: str) -> np.ndarray:
    """A numeric array of coordinates or offsets (any shape) -> ``float64``, within bounds."""
    if a.dtype.kind not in "iuf":
        raise DataError(f"{where}: array of dtype {a.dtype}, expected integers or floats",
                        "save numbers (not strings, booleans or objects)")
    out = a.astype(np.float64)
    if not np.isfinite(out).all():
        raise DataError(f"{where}: contains NaN or inf", "give finite numbers only")
    big = np.abs(out) > MAX_COORD
    if big.any():
        raise DataError(f"{where}: value {out[big].flat[0]:g} is beyond +-{MAX_COORD:g}",
                        f"give values with |value| <= {MAX_COORD:g} px")
    return out


def check_sizes(n_points: int, n_strokes: int, where: str) -> None:
    """One sketch's size against ``MAX_POINTS`` / ``MAX_STROKES``."""
    if n_points > MAX_POINTS:
        raise DataError(f"{where}: the sketch has {n_points:,} points; at most {MAX_POINTS:,} are "
                        "accepted", "simplify the drawing (e.g. RDP) or send a shorter one")
    if n_strokes > MAX_STROKES:
        raise DataError(f"{where}: the sketch has {n_strokes:,} strokes; at most {MAX_STROKES:,} "
                        "are accepted", "send a sketch with fewer strokes")
