"""Procedural hand-drawn shapes as stroke-3, vectorised over a whole split with numpy.

Why procedural: a category that needs no download makes an offline smoke run, a CI job or a
plugin tutorial possible, and its answer is known (a circle closes, a spiral does not).

Every sketch is a set of strokes traced along a per-sketch parametric *curve* ``u -> (x, y)``:
a cyclic polygon (square, triangle, star; ``u`` counts edges) or an angle sweep (circle, spiral;
``u`` counts turns). A stroke covers ``u in [a, b]`` and gets a point at ``a``, at every grid
value ``m / k`` in between (so polygon corners are always points, as after RDP simplification)
and at ``b``; ``k`` (points per unit of ``u``) varies per sketch. The hand-drawn look comes from
vertex jitter, bowed edges, radial wobble, overshoot past the start of closed shapes, random
rotation / scale / aspect, per-point noise, and a few drawing styles per shape with different
stroke counts. Sizes and step lengths match QuickDraw's sketch-rnn files (offsets of tens of
pixels, 10-60 points, int16), so the core's preprocessing treats them like real data.

Shapes: ``(N, P)`` sketches x padded points; every loop below is over strokes (<= 4), never
over sketches.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

Curve = Callable[[np.ndarray], np.ndarray]  # u [N, P] -> xy [N, P, 2]


class Traced(NamedTuple):
    xy: np.ndarray  # [N, P, 2] absolute points (padding anywhere, marked by ~valid)
    lift: np.ndarray  # [N, P] pen lifted after this point (the last point of each stroke)
    valid: np.ndarray  # [N, P]


def trace(curve: Curve, a: np.ndarray, b: np.ndarray, k: np.ndarray, active: np.ndarray) -> Traced:
    """Points of strokes ``[a[:, s], b[:, s]]`` (``a, b, active [N, S]``) at density ``k [N]``."""
    k = k[:, None].astype(float)  # [N, 1]
    us, valids, lifts = [], [], []
    for s in range(a.shape[1]):
        lo, hi = a[:, s : s + 1], b[:, s : s + 1]  # [N, 1]
        m0 = np.floor(lo * k + 1e-9) + 1  # first grid index strictly after lo
        inner = np.maximum(np.ceil(hi * k - 1e-9) - m0, 0)  # grid points strictly inside (lo, hi)
        j = np.arange(int(inner.max()) + 2)[None]  # [1, P_s]
        u = np.where(j == 0, lo, np.where(j <= inner, (m0 + j - 1) / k, hi))
        us.append(u)
        valids.append((j <= inner + 1) & active[:, s : s + 1])
        lifts.append(j == inner + 1)
    u, valid, lift = (np.concatenate(v, axis=1) for v in (us, valids, lifts))
    return Traced(curve(u), lift & valid, valid)


def polygon_curve(vertices: np.ndarray, bow: np.ndarray) -> Curve:
    """Cyclic polyline through ``vertices [N, V, 2]``; edge ``e`` bulges by ``bow[:, e]`` x length."""
    n_vertices = vertices.shape[1]
    edges = np.roll(vertices, -1, axis=1) - vertices  # [N, V, 2]
    normals = np.stack([-edges[..., 1], edges[..., 0]], axis=-1)  # length-scaled normals

    def curve(u: np.ndarray) -> np.ndarray:
        e = np.floor(u).astype(int) % n_vertices  # [N, P]
        f = (u - np.floor(u))[..., None]  # [N, P, 1]
        take = lambda arr: np.take_along_axis(arr, e[..., None], axis=1)  # noqa: E731
        bulge = np.take_along_axis(bow, e, axis=1)[..., None] * np.sin(np.pi * f)
        return take(vertices) + f * take(edges) + bulge * take(normals)

    return curve


def sweep_curve(radius: Callable[[np.ndarray], np.ndarray], theta0: np.ndarray, direction: np.ndarray,
                aspect: np.ndarray) -> Curve:
    """``u`` in turns: angle ``theta0 + 2 pi u direction``, radius ``radius(u)``; ``[N, 1]`` params."""

    def curve(u: np.ndarray) -> np.ndarray:
        angle = theta0 + 2 * np.pi * u * direction
        r = radius(u)
        return np.stack([r * np.cos(angle), aspect * r * np.sin(angle)], axis=-1)

    return curve


def to_strokes(traced: Traced, rng: np.random.Generator, *, size: tuple[float, float],
               max_rotation: float, noise: float = 0.012) -> list[np.ndarray]:
    """Rotate, scale, jitter and round the unit-size drawings; int16 stroke-3 offsets per sketch."""
    n = traced.xy.shape[0]
    scale = rng.uniform(*size, (n, 1, 1))  # pixels per unit (about the radius)
    angle = rng.uniform(-max_rotation, max_rotation, n)
    cos, sin = np.cos(angle), np.sin(angle)
    rotation = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)  # [N, 2, 2]
    xy = np.einsum("nij,npj->npi", rotation, traced.xy) * scale
    xy = xy + rng.normal(0.0, noise, xy.shape) * scale  # the hand's tremor
    xy = np.rint(xy).astype(np.int64)  # pixel coordinates, like QuickDraw's

    order = np.argsort(~traced.valid, axis=1, kind="stable")  # valid points first, in order
    xy = np.take_along_axis(xy, order[..., None], axis=1)
    lift = np.take_along_axis(traced.lift, order, axis=1)
    count = traced.valid.sum(1)  # [N]

    # Row t moves to point t (row 0 from the shape's centre, the origin: it places the first
    # point and is not drawn) and is lifted if point t ends a stroke.
    offsets = np.diff(xy, axis=1, prepend=0)  # [N, P, 2]
    keep = np.arange(offsets.shape[1])[None] < count[:, None]
    # Rounding can merge neighbours: drop empty moves (never the placing row 0, nor a stroke end).
    keep &= (offsets != 0).any(-1) | lift | (np.arange(offsets.shape[1]) == 0)[None]
    rows = np.concatenate([offsets[keep], lift[keep, None]], axis=1).astype(np.int16)
    return np.split(rows, np.cumsum(keep.sum(1))[:-1])
