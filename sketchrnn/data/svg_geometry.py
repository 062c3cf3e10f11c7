"""The curves of an SVG drawing as exact geometry, affine transforms, and flattening to polylines.

An SVG path is made of lines, quadratic and cubic Bezier curves and elliptical arcs. An affine
transform maps each of them to a curve of the same kind exactly (a Bezier curve's control points
transform like points; an ellipse ``c + A [cos t, sin t]`` becomes ``Mc + b + (M A) [cos t,
sin t]``), so transforms are applied to the geometry first and the curves are flattened once, in
the drawing's own (root) coordinates, where the tolerance is stated.

Flattening tolerance: every point of a true curve is within ``FLATTEN_TOLERANCE`` (1/1000) of
the drawing's larger side of the polyline that replaces it, and every polyline vertex lies on
the curve. ``data prepare`` scales a drawing's larger side to 255 px, so that is at most 0.26
px there, far below the 2 px of the RDP simplification that follows. The bound: a curve
sampled at ``n`` equal parameter steps ``h`` is within ``h**2 / 8 * max|p''|`` of its chords.
For a Bezier curve of degree d, ``|p''| <= d (d - 1) max|P_i - 2 P_i+1 + P_i+2|``; for an
ellipse ``|p''| <= ||A||_2`` (its largest semi-axis).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sketchrnn.data.bounds import MAX_COORD
from sketchrnn.errors import DataError

FLATTEN_TOLERANCE = 1e-3  # of the drawing's larger side: 0.26 px on the 255-px canvas
MAX_FLAT_POINTS = 1_000_000  # points of one drawing before simplification (bounds the work)
_PROBE_STEPS = 8  # samples per curve that measure the drawing's size (points on the curves)

Affine = np.ndarray  # [3, 3]: homogeneous 2-D transform, points as columns [x, y, 1]


@dataclass(frozen=True)
class Bezier:
    """A line (2 control points), quadratic (3) or cubic (4) Bezier curve: ``ctrl [d + 1, 2]``."""

    ctrl: np.ndarray

    def transformed(self, m: Affine) -> Bezier:
        return Bezier(apply_affine(m, self.ctrl))

    def sample(self, n: int) -> np.ndarray:
        """``n + 1`` points at equal parameter steps, ends included: ``[n + 1, 2]`` (Bernstein form)."""
        d = len(self.ctrl) - 1
        t = np.linspace(0.0, 1.0, n + 1)[:, None]  # [n + 1, 1]
        i = np.arange(d + 1)  # [d + 1]
        basis = np.array([math.comb(d, k) for k in i]) * t**i * (1 - t) ** (d - i)  # [n + 1, d + 1]
        out = basis @ self.ctrl  # [n + 1, 2]
        out[0], out[-1] = self.ctrl[0], self.ctrl[-1]  # the ends exactly (strokes join there)
        return out

    def steps_needed(self, tol: float) -> float:
        d = len(self.ctrl) - 1
        if d < 2:
            return 1.0
        second = self.ctrl[:-2] - 2 * self.ctrl[1:-1] + self.ctrl[2:]  # [d - 1, 2]
        bound = d * (d - 1) * float(np.hypot(second[:, 0], second[:, 1]).max())  # >= max |p''|
        return _steps(math.sqrt(bound / (8 * tol)))

    def size_points(self) -> np.ndarray:
        return self.ctrl


@dataclass(frozen=True)
class Arc:
    """Part of an ellipse: ``center + axes @ [cos t, sin t]`` for t from theta0 to theta0 + dtheta.

    ``axes [2, 2]``: its columns are the images of the ellipse's two semi-axes.
    """

    center: np.ndarray
    axes: np.ndarray
    theta0: float
    dtheta: float

    def transformed(self, m: Affine) -> Arc:
        return Arc(apply_affine(m, self.center[None])[0], m[:2, :2] @ self.axes, self.theta0,
                   self.dtheta)

    def sample(self, n: int) -> np.ndarray:
        t = self.theta0 + self.dtheta * np.linspace(0.0, 1.0, n + 1)  # [n + 1]
        return self.center + np.stack([np.cos(t), np.sin(t)], axis=1) @ self.axes.T  # [n + 1, 2]

    def steps_needed(self, tol: float) -> float:
        largest = float(np.linalg.norm(self.axes, 2))  # >= max |p''|
        return _steps(abs(self.dtheta) * math.sqrt(largest / (8 * tol)))

    def size_points(self) -> np.ndarray:
        """The centre and the ends of both axes: bounds on everything the arc can reach."""
        return np.concatenate([self.center[None], self.center + self.axes.T,
                               self.center - self.axes.T])


Segment = Bezier | Arc
Subpath = list  # of Segments, each starting where the previous one ends: one pen stroke


def _steps(x: float) -> float:
    """A step count >= ``x`` and >= 1, as a float (a degenerate drawing may ask for 1e300)."""
    return float(math.ceil(min(x, 1e18))) if x > 1 else 1.0


def apply_affine(m: Affine, points: np.ndarray) -> np.ndarray:
    """``[k, 2]`` points through the transform ``m``: ``[k, 2]``."""
    return points @ m[:2, :2].T + m[:2, 2]


def flatten(subpaths: list[Subpath], where: str) -> list[np.ndarray]:
    """Subpaths in root coordinates -> polylines ``[k, 2]``, one per subpath, within the tolerance
    of the module docstring; ``DataError`` for coordinates beyond the bounds or too many points."""
    _check_bounds(subpaths, where)
    probe = np.concatenate([seg.sample(_PROBE_STEPS) for sub in subpaths for seg in sub])
    side = float((probe.max(axis=0) - probe.min(axis=0)).max())  # <= the drawing's larger side
    tol = FLATTEN_TOLERANCE * side if side > 0 else 1.0
    steps = [[seg.steps_needed(tol) for seg in sub] for sub in subpaths]
    total = sum(sum(s) for s in steps)
    if total > MAX_FLAT_POINTS:
        raise DataError(f"{where}: its curves need {total:,.0f} points at the flattening tolerance; "
                        f"at most {MAX_FLAT_POINTS:,} are accepted", "simplify the drawing")
    lines = []
    for sub, counts in zip(subpaths, steps):
        pieces = [seg.sample(int(n)) for seg, n in zip(sub, counts)]
        lines.append(np.concatenate([pieces[0]] + [p[1:] for p in pieces[1:]]))  # [k, 2]
    return lines


def _check_bounds(subpaths: list[Subpath], where: str) -> None:
    """Every control point, arc centre and axis end finite and within +-MAX_COORD."""
    for sub in subpaths:
        for seg in sub:
            pts = seg.size_points()
            if not np.isfinite(pts).all() or np.abs(pts).max() > MAX_COORD:
                bad = pts[~(np.isfinite(pts) & (np.abs(pts) <= MAX_COORD))].flat[0]
                raise DataError(f"{where}: coordinate {bad:g} (after transforms) is not a finite "
                                f"number within +-{MAX_COORD:g}",
                                f"keep the drawing within +-{MAX_COORD:g} user units")
