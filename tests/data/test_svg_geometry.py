"""SVG drawings -> polylines, checked against independent references: Bezier curves evaluated
with numpy's power-basis polynomials, arcs as closed-form circles and ellipses chosen by the
SVG spec's wording (which of the four arcs the flags pick), transforms as matrices worked out by
hand. The tolerance checked is the stated one: 1/1000 of the drawing's larger side."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from numpy.polynomial import polynomial as P

from sketchrnn.data.svg import svg_lines

TOL = 1e-3  # of the drawing's larger side, as sketchrnn.data.svg_geometry states


def svg_file(tmp_path: Path, body: str, name: str = "d.svg") -> Path:
    path = tmp_path / name
    path.write_text(f'<svg xmlns="http://www.w3.org/2000/svg" width="800" height="800">{body}</svg>')
    return path


def distance_to_polyline(points: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Each point's distance to the nearest segment of ``line``: ``[n]``."""
    a, b = line[:-1][None], line[1:][None]  # [1, k - 1, 2]
    p = points[:, None]  # [n, 1, 2]
    ab = b - a
    t = np.clip(((p - a) * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-300), 0, 1)
    return np.linalg.norm(p - (a + t[..., None] * ab), axis=-1).min(axis=1)


def larger_side(*curves: np.ndarray) -> float:
    points = np.concatenate(curves)
    return float((points.max(axis=0) - points.min(axis=0)).max())


def assert_flattened(line: np.ndarray, truth: np.ndarray, side: float | None = None) -> None:
    """``line`` follows the densely sampled true curve ``truth`` within the stated tolerance of
    the drawing's larger ``side`` (``truth``'s own by default), and each of its vertices lies
    on the curve."""
    side = side or larger_side(truth)
    assert distance_to_polyline(truth, line).max() <= TOL * side
    assert distance_to_polyline(line, truth).max() <= 1e-4 * side  # truth is a fine polyline
    np.testing.assert_allclose(line[[0, -1]], truth[[0, -1]], atol=1e-9 * side)
    assert len(line) < len(truth) / 10  # a real flattening, not the dense curve itself


def cubic_truth(p: np.ndarray, n: int = 20_000) -> np.ndarray:
    """B(t) = P0 + 3t(P1 - P0) + 3t^2(P0 - 2P1 + P2) + t^3(P3 - 3P2 + 3P1 - P0), power basis."""
    coef = np.stack([p[0], 3 * (p[1] - p[0]), 3 * (p[0] - 2 * p[1] + p[2]),
                     p[3] - 3 * p[2] + 3 * p[1] - p[0]])  # [4, 2]
    t = np.linspace(0, 1, n)
    return np.stack([P.polyval(t, coef[:, 0]), P.polyval(t, coef[:, 1])], axis=1)


def quad_truth(p: np.ndarray, n: int = 20_000) -> np.ndarray:
    coef = np.stack([p[0], 2 * (p[1] - p[0]), p[0] - 2 * p[1] + p[2]])  # [3, 2]
    t = np.linspace(0, 1, n)
    return np.stack([P.polyval(t, coef[:, 0]), P.polyval(t, coef[:, 1])], axis=1)


@pytest.mark.parametrize("seed", range(5))
def test_cubic_bezier_matches_the_polynomial(tmp_path, seed):
    p = np.random.default_rng(seed).uniform(0, 500, (4, 2))
    d = "M{} {} C{} {} {} {} {} {}".format(*p.ravel())
    [line] = svg_lines(svg_file(tmp_path, f'<path d="{d}"/>'))
    assert_flattened(line, cubic_truth(p))


def test_relative_and_smooth_curves_reflect_the_previous_control_point(tmp_path):
    # c and s relative to the current point; S's first control point mirrors C's second one,
    # T's mirrors Q's control point (SVG 1.1 section 8.3.6-8.3.7).
    d = "M 10 10 c 40 -60 80 60 120 0 s 80 -60 120 0 M 0 300 Q 50 200 100 300 T 200 300"
    first, second = svg_lines(svg_file(tmp_path, f'<path d="{d}"/>'))
    c1 = np.array([[10, 10], [50, -50], [90, 70], [130, 10]], float)
    s1 = np.array([[130, 10], [170, -50], [210, -50], [250, 10]], float)  # (170,-50) = 2*(130,10)-(90,70)
    q1 = np.array([[0, 300], [50, 200], [100, 300]], float)
    t1 = np.array([[100, 300], [150, 400], [200, 300]], float)  # (150,400) = 2*(100,300)-(50,200)
    truth1 = np.concatenate([cubic_truth(c1), cubic_truth(s1)[1:]])
    truth2 = np.concatenate([quad_truth(q1), quad_truth(t1)[1:]])
    side = larger_side(truth1, truth2)  # the tolerance is of the whole drawing
    assert_flattened(first, truth1, side)
    assert_flattened(second, truth2, side)


def reference_arc(p1, p2, r, large, sweep, n=20_000) -> np.ndarray:
    """The arc of radius r from p1 to p2 that SVG's flags pick, in the spec's words: of the two
    circles through both points and the two directions, sweep=1 goes the positive-angle way and
    large=1 takes the arc of more than 180 degrees."""
    p1, p2 = np.asarray(p1, float), np.asarray(p2, float)
    mid, half = (p1 + p2) / 2, np.linalg.norm(p2 - p1) / 2
    normal = np.array([-(p2 - p1)[1], (p2 - p1)[0]]) / (2 * half)
    for center in (mid + normal * math.sqrt(r * r - half * half),
                   mid - normal * math.sqrt(r * r - half * half)):
        a1 = math.atan2(*(p1 - center)[::-1])
        delta = (math.atan2(*(p2 - center)[::-1]) - a1) % (2 * math.pi)
        delta = delta if sweep else delta - 2 * math.pi
        if (abs(delta) > math.pi) == large:
            t = a1 + delta * np.linspace(0, 1, n)
            return center + r * np.stack([np.cos(t), np.sin(t)], axis=1)
    raise AssertionError("no arc")


@pytest.mark.parametrize("large, sweep", [(0, 0), (0, 1), (1, 0), (1, 1)])
def test_arc_flags_pick_the_arc_the_spec_describes(tmp_path, large, sweep):
    d = f"M 100 200 A 50 50 0 {large} {sweep} 160 200"
    [line] = svg_lines(svg_file(tmp_path, f'<path d="{d}"/>'))
    truth = reference_arc((100, 200), (160, 200), 50, large, sweep)
    assert_flattened(line, truth)


def test_semicircle_lies_on_the_closed_form_circle(tmp_path):
    [line] = svg_lines(svg_file(tmp_path, '<path d="M 100 50 A 50 50 0 0 1 0 50"/>'))
    np.testing.assert_allclose(np.hypot(*(line - [50, 50]).T), 50, rtol=1e-12)
    assert line[:, 1].max() == pytest.approx(100, abs=TOL * 100)  # sweep 1: through (50, 100)
    t = np.linspace(0, math.pi, 20_000)
    assert_flattened(line, np.stack([50 + 50 * np.cos(t), 50 + 50 * np.sin(t)], axis=1))


def test_radii_too_small_are_scaled_up_to_reach_the_end(tmp_path):
    # SVG 1.1 F.6.6: a 10 x 5 ellipse turned by 30 degrees cannot join points 100 apart; it is
    # scaled (keeping its 2:1 shape) until it just does, so the centre is the midpoint.
    [line] = svg_lines(svg_file(tmp_path, '<path d="M 0 0 A 10 5 30 0 1 100 0"/>'))
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    local = (line - [50, 0]) @ np.array([[c, -s], [s, c]])  # rotate back by -30 degrees
    q = (local[:, 0] / 2) ** 2 + local[:, 1] ** 2
    np.testing.assert_allclose(q, q[0], rtol=1e-9)
    np.testing.assert_allclose(line[-1], [100, 0], atol=1e-9)


@pytest.mark.parametrize("transform, points, expected", [
    ("translate(10,20) rotate(90)", [(0, 0), (10, 0)], [(10, 20), (10, 30)]),
    ("matrix(1 2 3 4 5 6)", [(1, 1), (0, 0)], [(9, 12), (5, 6)]),
    ("scale(2,3)", [(1, 1), (2, 0)], [(2, 3), (4, 0)]),
    ("scale(2)", [(1, 1), (2, 0)], [(2, 2), (4, 0)]),
    ("skewX(45)", [(0, 10), (5, 0)], [(10, 10), (5, 0)]),
    ("skewY(45)", [(10, 0), (0, 5)], [(10, 10), (0, 5)]),
    ("rotate(90, 10, 0)", [(20, 0), (10, 0)], [(10, 10), (10, 0)]),
    ("translate(5) , scale(2)", [(1, 1), (0, 0)], [(7, 2), (5, 0)]),
])
def test_transforms_match_hand_computed_matrices(tmp_path, transform, points, expected):
    (x1, y1), (x2, y2) = points
    body = f'<g transform="{transform}"><line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}"/></g>'
    [line] = svg_lines(svg_file(tmp_path, body))
    np.testing.assert_allclose(line, expected, atol=1e-9)


def test_nested_groups_compose_outer_first(tmp_path):
    # translate(100,0) . scale(2) . translate(1,0): (1,1) -> (2,1) -> (4,2) -> (104,2)
    body = ('<g transform="translate(100,0)"><g transform="scale(2)"><polyline points="1,1 2,2" '
            'transform="translate(1,0)"/></g></g><svg x="5" y="7"><line x2="1" y2="0"/></svg>')
    first, second = svg_lines(svg_file(tmp_path, body))
    np.testing.assert_allclose(first, [(104, 2), (106, 4)], atol=1e-9)
    np.testing.assert_allclose(second, [(5, 7), (6, 7)], atol=1e-9)


@pytest.mark.parametrize("transform, inverse", [
    ("scale(2,1)", np.diag([1 / 2, 1.0])),
    ("skewX(30)", np.array([[1, -math.tan(math.radians(30))], [0, 1]])),
    ("rotate(20) scale(3,0.5)", np.diag([1 / 3, 2.0]) @ np.array(
        [[math.cos(math.radians(20)), math.sin(math.radians(20))],
         [-math.sin(math.radians(20)), math.cos(math.radians(20))]])),
])
def test_a_transformed_circle_is_the_exact_image_of_the_circle(tmp_path, transform, inverse):
    [line] = svg_lines(svg_file(tmp_path, f'<circle r="100" transform="{transform}"/>'))
    np.testing.assert_allclose(np.linalg.norm(line @ inverse.T, axis=1), 100, rtol=1e-9)
    t = np.linspace(0, 2 * math.pi, 40_000)
    truth = (100 * np.stack([np.cos(t), np.sin(t)], axis=1)) @ np.linalg.inv(inverse).T
    assert_flattened(line, truth)


def test_path_commands_relative_absolute_and_close(tmp_path):
    d = "m10 10 h10 v10 H10 z m5 5 l1 1 M0,0 1 1 2 0 M0,0l.5.5"
    lines = svg_lines(svg_file(tmp_path, f'<path d="{d}"/>'))
    expected = [[(10, 10), (20, 10), (20, 20), (10, 20), (10, 10)], [(15, 15), (16, 16)],
                [(0, 0), (1, 1), (2, 0)], [(0, 0), (0.5, 0.5)]]
    assert len(lines) == len(expected)
    for line, want in zip(lines, expected):
        np.testing.assert_allclose(line, want, atol=1e-12)


def test_arc_flags_may_be_written_without_separators(tmp_path):
    [packed] = svg_lines(svg_file(tmp_path, '<path d="M0 0a10 10 0 1120 0"/>', "a.svg"))
    [spaced] = svg_lines(svg_file(tmp_path, '<path d="M0 0 a 10 10 0 1 1 20 0"/>', "b.svg"))
    np.testing.assert_array_equal(packed, spaced)
    np.testing.assert_allclose(np.hypot(*(packed - [10, 0]).T), 10, rtol=1e-12)


def test_basic_shapes(tmp_path):
    body = ('<polygon points="0,0 10,0 10,10"/><polyline points="0 0 5 5 9 0"/>'
            '<rect x="1" y="2" width="30" height="20"/><ellipse cx="50" cy="60" rx="20" ry="10"/>'
            '<rect x="100" y="100" width="40" height="20" rx="5"/>')
    tri, zig, rect, ellipse, rounded = svg_lines(svg_file(tmp_path, body))
    np.testing.assert_allclose(tri, [(0, 0), (10, 0), (10, 10), (0, 0)])
    np.testing.assert_allclose(zig, [(0, 0), (5, 5), (9, 0)])
    np.testing.assert_allclose(rect, [(1, 2), (31, 2), (31, 22), (1, 22), (1, 2)])
    np.testing.assert_allclose(((ellipse - [50, 60]) / [20, 10]) ** 2 @ [1, 1], 1, rtol=1e-12)
    # rounded corners: every vertex on an edge or on its corner's circle of radius 5
    x, y = rounded.T
    cx, cy = np.clip(x, 105, 135), np.clip(y, 105, 115)
    on_edge = (np.isclose(x, 100) | np.isclose(x, 140) | np.isclose(y, 100) | np.isclose(y, 120))
    on_corner = np.isclose(np.hypot(x - cx, y - cy), 5)
    assert (on_edge | on_corner).all() and on_corner.sum() > 8


def test_hidden_and_referenced_only_elements_are_not_drawn(tmp_path):
    body = ('<defs><path d="M0 0 L 500 500"/></defs><g display="none"><line x2="9"/></g>'
            '<line x2="7" style="stroke:red; display : none"/><symbol><line x2="3"/></symbol>'
            '<text>hi</text><line x1="1" x2="2"/>')
    [line] = svg_lines(svg_file(tmp_path, body))
    np.testing.assert_allclose(line, [(1, 0), (2, 0)])


def test_units_are_converted_to_px(tmp_path):
    [line] = svg_lines(svg_file(tmp_path, '<line x1="1in" y1="2.54cm" x2="72pt" y2="10mm"/>'))
    np.testing.assert_allclose(line, [(96, 96), (96, 96 / 2.54)], rtol=1e-12)
