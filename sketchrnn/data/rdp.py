"""Ramer-Douglas-Peucker polyline simplification (Ramer 1972; Douglas & Peucker 1973).

QuickDraw's simplified drawings and the sketch-rnn data were made with RDP (epsilon 2.0 on the
0-255 canvas). An explicit stack replaces recursion, so strokes with many thousands of points
cannot hit Python's recursion limit; each split measures all its points in one numpy call.

Details chosen to reproduce Google's output (see ``ndjson.raw_to_simplified``): the distance
is to the infinite line through the two ends (to the start point when the ends coincide, as in
closed loops), a point is kept only when its distance is strictly above epsilon, and among
equally distant points the first one wins.
"""

from __future__ import annotations

import numpy as np


def rdp_mask(points: np.ndarray, epsilon: float) -> np.ndarray:
    """Which points of a polyline ``[k, 2]`` RDP keeps: ``bool [k]`` (both ends always)."""
    pts = np.asarray(points, dtype=np.float64)  # [k, 2]
    k = len(pts)
    keep = np.zeros(k, dtype=bool)
    if k == 0:
        return keep
    keep[0] = keep[-1] = True
    stack = [(0, k - 1)]
    while stack:
        a, b = stack.pop()
        if b - a < 2:
            continue
        inner = pts[a + 1 : b]  # [m, 2]
        sx, sy = pts[a]
        dx, dy = pts[b] - pts[a]
        norm = np.hypot(dx, dy)
        if norm == 0:
            dist = np.hypot(inner[:, 0] - sx, inner[:, 1] - sy)  # [m]
        else:
            dist = np.abs(dx * (inner[:, 1] - sy) - dy * (inner[:, 0] - sx)) / norm  # [m]
        i = int(np.argmax(dist))
        if dist[i] > epsilon:
            mid = a + 1 + i
            keep[mid] = True
            stack.append((mid, b))
            stack.append((a, mid))
    return keep


def rdp(points: np.ndarray, epsilon: float) -> np.ndarray:
    """The simplified polyline ``[m, 2]``: the points of ``points`` that RDP keeps, in order."""
    points = np.asarray(points)
    return points[rdp_mask(points, epsilon)]
