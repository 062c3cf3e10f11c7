"""SketchSet packing and the stroke-3 / stroke-5 / polyline conversions, against naive references."""

from __future__ import annotations

import numpy as np
import pytest

from sketchrnn.data.strokes import (
    SketchSet,
    polylines_to_stroke3,
    stroke3_to_polylines,
    stroke3_to_stroke5,
    stroke5_to_stroke3,
)


def random_sketches(rng: np.random.Generator, n: int, max_len: int = 30) -> list[np.ndarray]:
    """Integer stroke-3 sketches that end with a pen lift (as QuickDraw data does)."""
    out = []
    for _ in range(n):
        k = int(rng.integers(1, max_len))
        s = np.zeros((k, 3), dtype=np.int16)
        s[:, :2] = rng.integers(-50, 50, size=(k, 2))
        s[:, 2] = rng.random(k) < 0.2
        s[-1, 2] = 1
        out.append(s)
    return out


def naive_stroke5(s3: np.ndarray, steps: int) -> np.ndarray:
    """magenta ``to_big_strokes``, one sketch at a time."""
    out = np.zeros((steps, 5), dtype=np.float32)
    for t in range(steps):
        if t < len(s3):
            dx, dy, pen = s3[t]
            out[t] = (dx, dy, 1 - pen, pen, 0)
        else:
            out[t] = (0, 0, 0, 0, 1)
    return out


def naive_polylines(s3: np.ndarray) -> list[np.ndarray]:
    """magenta ``strokes_to_lines`` with the first point at the origin."""
    x = y = 0
    lines, line = [], [[0, 0]]
    for dx, dy, pen in s3:
        x, y = x + int(dx), y + int(dy)
        line.append([x, y])
        if pen == 1:
            lines.append(np.array(line))
            line = []
    if line:
        lines.append(np.array(line))
    return lines


@pytest.fixture
def sketches() -> list[np.ndarray]:
    return random_sketches(np.random.default_rng(0), 40)


def test_from_list_packs_and_unpacks(sketches):
    s = SketchSet.from_list(sketches, label=3)
    assert len(s) == 40 and s.points.dtype == np.float32 and s.offsets.dtype == np.int64
    assert s.points.shape == (sum(map(len, sketches)), 3)
    np.testing.assert_array_equal(s.lengths, [len(a) for a in sketches])
    assert (s.labels == 3).all()
    for i, a in enumerate(sketches):
        np.testing.assert_array_equal(s.sketch(i), a)
    for a, b in zip(s.to_list(), sketches):
        np.testing.assert_array_equal(a, b)


def test_empty_set():
    s = SketchSet.from_list([])
    assert len(s) == 0 and s.to_list() == [] and s.points.shape == (0, 3)
    assert len(s.subset(np.array([], dtype=np.int64))) == 0


def test_subset_matches_list_indexing(sketches):
    labels = np.arange(len(sketches)) % 4
    s = SketchSet.from_list(sketches, label=labels)
    idx = np.array([5, 0, 39, 5, 12, 7])  # repeats and any order
    sub = s.subset(idx)
    assert [a.tolist() for a in sub.to_list()] == [sketches[i].tolist() for i in idx]
    np.testing.assert_array_equal(sub.labels, labels[idx])
    mask = np.arange(len(sketches)) % 3 == 0
    by_mask = s.subset(mask)
    assert [a.tolist() for a in by_mask.to_list()] == [a.tolist() for a, m in zip(sketches, mask) if m]


def test_concat_keeps_order_and_labels(sketches):
    a = SketchSet.from_list(sketches[:10], label=0)
    b = SketchSet.from_list(sketches[10:], label=1)
    c = SketchSet.concat([a, SketchSet.empty(), b])
    assert [x.tolist() for x in c.to_list()] == [x.tolist() for x in sketches]
    np.testing.assert_array_equal(c.labels, [0] * 10 + [1] * 30)


def test_stroke3_to_stroke5_matches_reference(sketches):
    s = SketchSet.from_list(sketches)
    x = stroke3_to_stroke5(s.points, s.offsets)
    t = max(map(len, sketches)) + 1
    assert x.shape == (40, t, 5)
    for i, a in enumerate(sketches):
        np.testing.assert_array_equal(x[i], naive_stroke5(a, t))
    one = stroke3_to_stroke5(sketches[0].astype(np.float32))
    np.testing.assert_array_equal(one, naive_stroke5(sketches[0], len(sketches[0]) + 1))
    assert stroke3_to_stroke5(s.points, s.offsets, steps=250).shape == (40, 250, 5)
    with pytest.raises(ValueError, match="shorter"):
        stroke3_to_stroke5(s.points, s.offsets, steps=t - 2)


def test_stroke5_round_trip(sketches):
    s = SketchSet.from_list(sketches)
    x = stroke3_to_stroke5(s.points, s.offsets)
    points, offsets = stroke5_to_stroke3(x)  # lengths from the first end token
    np.testing.assert_array_equal(points, s.points)
    np.testing.assert_array_equal(offsets, s.offsets)
    points, offsets = stroke5_to_stroke3(x, s.lengths)
    np.testing.assert_array_equal(points, s.points)
    np.testing.assert_array_equal(stroke5_to_stroke3(x[3]), sketches[3])
    no_end = x[3, : len(sketches[3])]  # no end token: the whole array is the sketch
    np.testing.assert_array_equal(stroke5_to_stroke3(no_end), sketches[3])


def test_polylines_hand_worked():
    s3 = np.array([[10, 0, 0], [0, 10, 1], [10, 10, 0], [10, 0, 1]])
    lines = stroke3_to_polylines(s3)
    assert [line.tolist() for line in lines] == [[[0, 0], [10, 0], [10, 10]], [[20, 20], [30, 20]]]
    moved = stroke3_to_polylines(s3, origin=(5, 7))
    assert moved[1].tolist() == [[25, 27], [35, 27]]
    np.testing.assert_array_equal(polylines_to_stroke3(moved), s3)


def test_polylines_match_reference_and_round_trip(sketches):
    for s3 in sketches:
        lines = stroke3_to_polylines(s3)
        ref = naive_polylines(s3)
        assert [a.tolist() for a in lines] == [b.tolist() for b in ref]
        back = polylines_to_stroke3(lines)
        assert back.dtype == np.int64
        np.testing.assert_array_equal(back, s3)  # exact
        again = stroke3_to_polylines(back)
        assert [a.tolist() for a in again] == [a.tolist() for a in lines]


def test_polylines_float_round_trip():
    rng = np.random.default_rng(1)
    lines = [rng.normal(size=(k, 2)) for k in (3, 1, 4)]
    lines[0][0] = 0.0
    s3 = polylines_to_stroke3(lines)
    assert s3.dtype == np.float64 and len(s3) == 7
    for a, b in zip(stroke3_to_polylines(s3), lines):
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_single_point_first_stroke_keeps_its_pen_lift():
    lines = [np.array([[3, 4]]), np.array([[5, 5], [6, 5]])]
    s3 = polylines_to_stroke3(lines)
    assert s3.tolist() == [[0, 0, 1], [2, 1, 0], [1, 0, 1]]
    back = stroke3_to_polylines(s3, origin=(3, 4))
    assert [b.tolist() for b in back] == [[[3, 4], [3, 4]], [[5, 5], [6, 5]]]
    assert polylines_to_stroke3([]).shape == (0, 3)
