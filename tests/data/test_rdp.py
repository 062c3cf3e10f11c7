"""Ramer-Douglas-Peucker: hand-worked cases and a textbook recursive reference."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from sketchrnn.data.rdp import rdp, rdp_mask


def recursive_rdp(points: list[tuple[float, float]], eps: float) -> list[tuple[float, float]]:
    """Textbook recursion (Douglas & Peucker 1973), distance to the line through the ends."""
    if len(points) < 3:
        return list(points)
    (sx, sy), (ex, ey) = points[0], points[-1]
    norm = ((ex - sx) ** 2 + (ey - sy) ** 2) ** 0.5
    best, where = -1.0, 0
    for i, (px, py) in enumerate(points[1:-1], start=1):
        if norm == 0:
            d = ((px - sx) ** 2 + (py - sy) ** 2) ** 0.5
        else:
            d = abs((ex - sx) * (py - sy) - (ey - sy) * (px - sx)) / norm
        if d > best:
            best, where = d, i
    if best > eps:
        return recursive_rdp(points[: where + 1], eps)[:-1] + recursive_rdp(points[where:], eps)
    return [points[0], points[-1]]


@pytest.mark.parametrize(
    ("points", "eps", "expected"),
    [
        # collinear: only the ends survive
        ([(0, 0), (1, 1), (2, 2), (3, 3)], 0.1, [(0, 0), (3, 3)]),
        # a bump of height 0.5
        ([(0, 0), (1, 0.5), (2, 0)], 0.4, [(0, 0), (1, 0.5), (2, 0)]),
        ([(0, 0), (1, 0.5), (2, 0)], 0.6, [(0, 0), (2, 0)]),
        # exactly epsilon away is dropped (strictly greater keeps)
        ([(0, 0), (1, 2), (2, 0)], 2.0, [(0, 0), (2, 0)]),
        # a spike: the side points are 3 / sqrt(13) = 0.832 from the new chords
        ([(0, 0), (1, 0), (2, 3), (3, 0), (4, 0)], 1.0, [(0, 0), (2, 3), (4, 0)]),
        ([(0, 0), (1, 0), (2, 3), (3, 0), (4, 0)], 0.8, [(0, 0), (1, 0), (2, 3), (3, 0), (4, 0)]),
        # closed loop: distance to the start point; (2, 0) is 1.41 from the chord (0,0)-(2,2)
        ([(0, 0), (2, 0), (2, 2), (0, 0)], 1.5, [(0, 0), (2, 2), (0, 0)]),
        ([(0, 0), (2, 0), (2, 2), (0, 0)], 1.0, [(0, 0), (2, 0), (2, 2), (0, 0)]),
        # ties: the first of equally distant points wins
        # ((1, 1) and (2, 1) are both 1 away; taking (2, 1) would give [(0,0), (2,1), (3,0)])
        ([(0, 0), (1, 1), (2, 1), (3, 0)], 0.5, [(0, 0), (1, 1), (3, 0)]),
        ([(0, 0), (1, 1), (2, 1), (3, 1), (4, 0)], 0.5, [(0, 0), (1, 1), (3, 1), (4, 0)]),
        # tiny inputs
        ([(5, 5)], 1.0, [(5, 5)]),
        ([(5, 5), (6, 6)], 1.0, [(5, 5), (6, 6)]),
    ],
)
def test_hand_worked(points, eps, expected):
    assert [tuple(p) for p in rdp(np.array(points, dtype=float), eps).tolist()] == expected


def test_matches_recursive_reference():
    rng = np.random.default_rng(0)
    for trial in range(50):
        pts = np.cumsum(rng.normal(size=(int(rng.integers(3, 200)), 2)), axis=0)
        eps = float(rng.uniform(0.1, 3.0))
        ref = recursive_rdp([tuple(p) for p in pts.tolist()], eps)
        assert [tuple(p) for p in rdp(pts, eps).tolist()] == ref


def test_deep_split_chain_needs_no_recursion():
    # A zigzag of shrinking amplitude: the farthest point is always next to the chord's start,
    # so the splits nest as deep as the polyline is long (3,000 here, past Python's limit of 1,000).
    k = np.arange(3001)
    pts = np.stack([k, 0.99**k * (-1.0) ** k], axis=1)
    pts[-1, 1] = 0
    assert rdp_mask(pts, 0.0).all()
    assert rdp_mask(np.zeros((0, 2)), 1.0).shape == (0,)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(300)  # show the nesting cheaply: 400 points already overflow 300 frames
    try:
        with pytest.raises(RecursionError):
            recursive_rdp([tuple(p) for p in pts[-400:].tolist()], 0.0)
    finally:
        sys.setrecursionlimit(limit)


def test_keeps_integer_dtype():
    pts = np.array([[0, 0], [5, 9], [10, 0]])
    out = rdp(pts, 2.0)
    assert out.dtype == pts.dtype and out.tolist() == [[0, 0], [5, 9], [10, 0]]
