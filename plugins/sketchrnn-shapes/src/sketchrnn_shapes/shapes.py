"""The five shapes: how a person draws each one, as curves and strokes for ``generate.trace``.

Each function returns ``Traced`` unit-size drawings for ``n`` sketches; ``SHAPES`` maps the
category name to it and to its placement (size in pixels, how far it may be rotated: people draw
squares and triangles nearly upright, circles and spirals at any angle). Drawing styles and their
shares were read off real QuickDraw drawings (1 stroke mostly; squares also as 2 or 4 strokes,
triangles as 2 or 3, circles now and then as two arcs).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sketchrnn_shapes.generate import Traced, polygon_curve, sweep_curve, trace

Rng = np.random.Generator


def _choice(rng: Rng, n: int, shares: list[float]) -> np.ndarray:
    return rng.choice(len(shares), size=n, p=np.asarray(shares) / sum(shares))


def _wobble(rng: Rng, n: int, amount: float) -> Callable[[np.ndarray], np.ndarray]:
    """A slow radial wobble plus drift: hands do not hold a constant radius."""
    a1, a2 = rng.normal(0, amount, (n, 1)), rng.normal(0, amount / 2, (n, 1))
    p1, p2 = rng.uniform(0, 2 * np.pi, (n, 1)), rng.uniform(0, 2 * np.pi, (n, 1))
    drift = rng.normal(0, amount, (n, 1))
    return lambda u: a1 * np.sin(2 * np.pi * u + p1) + a2 * np.sin(4 * np.pi * u + p2) + drift * u


def circle(n: int, rng: Rng) -> Traced:
    """One loop with a small overshoot; 15% as two arcs. 14-26 points per turn."""
    wobble = _wobble(rng, n, 0.04)
    curve = sweep_curve(lambda u: 1.0 + wobble(u), rng.uniform(0, 2 * np.pi, (n, 1)),
                        rng.choice([-1.0, 1.0], (n, 1)), rng.uniform(0.8, 1.2, (n, 1)))
    end = 1.0 + rng.uniform(0.0, 0.1, n)  # overshoot past the start, in turns
    split = rng.uniform(0.4, 0.6, n)
    two = _choice(rng, n, [0.85, 0.15]) == 1
    a = np.stack([np.zeros(n), split + rng.uniform(-0.02, 0.03, n)], 1)
    b = np.stack([np.where(two, split, end), end], 1)
    return trace(curve, a, b, rng.integers(14, 27, n), np.stack([np.ones(n, bool), two], 1))


def _polygon(n: int, rng: Rng, corners: np.ndarray, k: tuple[int, int],
             styles: list[tuple[float, list[tuple[float, float]]]]) -> Traced:
    """A closed polygon from unit ``corners [V, 2]``, drawn in one of ``styles``: (share, strokes
    as (start, end) in edges). ``end`` past V overshoots the start; each pen-down start gets a
    little jitter (new strokes rarely start exactly where the last one ended)."""
    n_vertices = corners.shape[0]
    aspect = np.stack([np.ones(n), rng.uniform(0.8, 1.25, n)], 1)[:, None]  # [N, 1, 2]
    vertices = corners[None] * aspect + rng.normal(0, 0.05, (n, n_vertices, 2))
    curve = polygon_curve(vertices, rng.normal(0, 0.04, (n, n_vertices)))
    max_strokes = max(len(s) for _, s in styles)
    a = np.zeros((n, max_strokes))
    b = np.zeros((n, max_strokes))
    active = np.zeros((n, max_strokes), bool)
    style = _choice(rng, n, [share for share, _ in styles])
    for index, (_, strokes) in enumerate(styles):
        rows = style == index
        for s, (lo, hi) in enumerate(strokes):
            a[rows, s] = lo + (rng.uniform(-0.05, 0.05, rows.sum()) if s else 0.0)
            b[rows, s] = hi + rng.uniform(0.0, 0.15 if hi == n_vertices else 0.05, rows.sum())
            active[rows, s] = True
    return trace(curve, a, b, rng.integers(k[0], k[1] + 1, n), active)


def square(n: int, rng: Rng) -> Traced:
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], float)
    return _polygon(n, rng, corners, (3, 5), [
        (0.65, [(0, 4)]),
        (0.20, [(0, 2), (2, 4)]),
        (0.15, [(0, 1), (1, 2), (2, 3), (3, 4)]),
    ])


def triangle(n: int, rng: Rng) -> Traced:
    angles = np.pi / 2 + 2 * np.pi * np.arange(3) / 3  # apex up
    corners = np.stack([np.cos(angles), -np.sin(angles)], 1) * 1.2  # y grows downwards, as on screen
    return _polygon(n, rng, corners, (3, 6), [
        (0.65, [(0, 3)]),
        (0.15, [(0, 2), (2, 3)]),
        (0.20, [(0, 1), (1, 2), (2, 3)]),
    ])


def star(n: int, rng: Rng) -> Traced:
    """A pentagram in one stroke (55%), or the ten-corner outline (one stroke, or two halves)."""
    outer = np.pi / 2 + 2 * np.pi * np.arange(5) / 5
    pentagram = np.stack([np.cos(outer[[0, 2, 4, 1, 3]]), -np.sin(outer[[0, 2, 4, 1, 3]])], 1)
    # The outline alternates outer and inner corners; pad the pentagram's five to ten by tracing it
    # twice, so both forms share one curve family with ten vertices.
    pentagram = np.concatenate([pentagram, pentagram])
    inner_r = rng.uniform(0.38, 0.5, (n, 1))
    angles = np.pi / 2 + np.pi * np.arange(10) / 5  # [10]
    radius = np.where(np.arange(10) % 2 == 0, 1.0, inner_r)  # [N, 10]
    outline = np.stack([radius * np.cos(angles), -radius * np.sin(angles)], -1)  # [N, 10, 2]
    is_outline = _choice(rng, n, [0.55, 0.45]) == 1
    corners = np.where(is_outline[:, None, None], outline, pentagram[None])
    vertices = corners + rng.normal(0, 0.04, corners.shape)
    curve = polygon_curve(vertices, rng.normal(0, 0.03, (n, 10)))
    two = is_outline & (rng.random(n) < 0.3)
    last = np.where(is_outline, 10.0, 5.0) + rng.uniform(0.0, 0.12, n)
    a = np.stack([np.zeros(n), 5.0 + rng.uniform(-0.05, 0.05, n)], 1)
    b = np.stack([np.where(two, 5.0, last), last], 1)
    k = np.where(is_outline, rng.integers(1, 4, n), rng.integers(2, 5, n))
    return trace(curve, a, b, k, np.stack([np.ones(n, bool), two], 1))


def spiral(n: int, rng: Rng) -> Traced:
    """2-3.5 turns of an Archimedean spiral, drawn outwards (70%) or inwards; never closed."""
    turns = rng.uniform(2.0, 3.5, (n, 1))
    inwards = rng.random((n, 1)) < 0.3
    r0 = rng.uniform(0.02, 0.12, (n, 1))
    wobble = _wobble(rng, n, 0.02)

    def radius(u: np.ndarray) -> np.ndarray:
        progress = np.where(inwards, 1.0 - u / turns, u / turns)
        return r0 + (1.0 - r0) * progress + wobble(u)

    curve = sweep_curve(radius, rng.uniform(0, 2 * np.pi, (n, 1)), rng.choice([-1.0, 1.0], (n, 1)),
                        rng.uniform(0.85, 1.15, (n, 1)))
    return trace(curve, np.zeros((n, 1)), turns, rng.integers(10, 17, n), np.ones((n, 1), bool))


# category -> (generator, (min, max) radius in pixels, max rotation in radians)
SHAPES: dict[str, tuple[Callable[[int, Rng], Traced], tuple[float, float], float]] = {
    "shape-circle": (circle, (50.0, 120.0), np.pi),
    "shape-square": (square, (45.0, 110.0), 0.2),
    "shape-triangle": (triangle, (50.0, 120.0), 0.25),
    "shape-star": (star, (55.0, 125.0), 0.25),
    "shape-spiral": (spiral, (50.0, 120.0), np.pi),
}
