"""The one drawing -> stroke-3 rule (``data.drawing``) and the shared input bounds (``data.bounds``).

References: stroke-3 rows worked out by hand, and Google's own simplified QuickDraw drawings
(the RDP step of Google's pipeline done by ``drawing_to_stroke3``, compared point for point).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from sketchrnn.data.bounds import MAX_COORD, MAX_POINTS, check_coord_array, coords
from sketchrnn.data.drawing import (RDP_EPSILON, drawing_to_stroke3, point_lines, quickdraw_lines,
                                    simplify_stroke3)
from sketchrnn.data.strokes import stroke3_to_polylines
from sketchrnn.errors import DataError

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("SKETCHRNN_SHARED_DATA", REPO.parent / "shared" / "data"))
RAW_DIR = SHARED / "quickdraw" / "raw" / "raw_first100KB_exupery"
SIMPLE_DIR = SHARED / "quickdraw" / "raw" / "simplified_first25_lamnguyen"


def test_hand_worked_rows_with_rdp_and_an_empty_stroke():
    lines = [np.array([[0, 0], [5, 0.5], [10, 0]]), np.zeros((0, 2)), np.array([[20, 20]])]
    # (5, 0.5) is 0.5 px off the chord: RDP (2 px) drops it; the empty stroke draws nothing;
    # the last stroke is a dot: a move to it, then the pen lifts.
    assert drawing_to_stroke3(lines, RDP_EPSILON).tolist() == [[10, 0, 1], [10, 20, 1]]
    # Without epsilon every point stays (an already simplified drawing).
    assert drawing_to_stroke3(lines).tolist() == [[5, 0.5, 0], [5, -0.5, 1], [10, 20, 1]]


def test_hand_worked_one_point_first_stroke_and_int_dtype():
    s3 = drawing_to_stroke3([np.array([[3, 3]]), np.array([[5, 5], [6, 6]])])
    assert s3.tolist() == [[0, 0, 1], [2, 2, 0], [1, 1, 1]] and s3.dtype == np.int64
    assert drawing_to_stroke3([np.zeros((0, 2))]).shape == (0, 3)
    assert drawing_to_stroke3([np.array([[1, 1]])]).tolist() == [[0, 0, 1]]


def test_simplify_stroke3_is_rdp_per_stroke():
    # strokes (0,0) (5,0.5) (10,0) | (13,4) (16,8) (19,12): both middle points lie within 2 px
    s3 = np.array([[5, 0.5, 0], [5, -0.5, 1], [3, 4, 0], [3, 4, 0], [3, 4, 1]])
    assert simplify_stroke3(s3).tolist() == [[10, 0, 1], [3, 4, 0], [6, 8, 1]]


def _pairs(n_files: int) -> list[tuple[list, list]]:
    pairs = []
    for simple_file in sorted(SIMPLE_DIR.glob("*.ndjson"))[:n_files]:
        simple = {json.loads(t)["key_id"]: json.loads(t)["drawing"]
                  for t in simple_file.read_text().splitlines()}
        for text in (RAW_DIR / simple_file.name).read_text().splitlines():
            record = json.loads(text)
            if record["key_id"] in simple:
                pairs.append((record["drawing"], simple[record["key_id"]]))
    return pairs


@pytest.mark.skipif(not (RAW_DIR.is_dir() and SIMPLE_DIR.is_dir()), reason="no shared data")
def test_rdp_step_reproduces_googles_simplified_drawings():
    from sketchrnn.data.ndjson import _resample

    pairs = _pairs(8)
    assert len(pairs) >= 100
    exact = 0
    for raw, google in pairs:
        lines, _ = quickdraw_lines(raw, "raw")
        low = np.concatenate(lines).min(axis=0)
        factor = 255.0 / max(float((np.concatenate(lines) - low).max()), 1e-12)
        dense = [_resample((line - low) * factor) for line in lines]  # Google's steps 1-3
        s3 = drawing_to_stroke3(dense, RDP_EPSILON)  # step 4 (RDP) and the conversion
        ours = [np.round(p).astype(int) for p in stroke3_to_polylines(s3, origin=dense[0][0])]
        exact += [[p[:, 0].tolist(), p[:, 1].tolist()] for p in ours] == google
    # raw_to_simplified reaches 94% on all 7,853 pairs; the rest tie among equally distant points
    assert exact / len(pairs) > 0.88


@pytest.mark.parametrize("value", ["1", True, False, None, float("nan"), float("inf"),
                                   MAX_COORD * 1.01, -MAX_COORD - 1, 10**400, [1]])
def test_coords_refuse_non_numbers_and_values_beyond_the_bound(value):
    with pytest.raises(DataError, match="coordinate"):
        coords([0, value], "x")


def test_coords_accept_ints_and_floats_at_the_bound():
    np.testing.assert_array_equal(coords([0, 1.5, MAX_COORD, -MAX_COORD], "x"),
                                  [0, 1.5, MAX_COORD, -MAX_COORD])


@pytest.mark.parametrize("array", [np.array([[1e300, 0, 0]]), np.array([[np.nan, 0, 0]]),
                                   np.ones((1, 3), dtype=bool), np.array([["1", "2", "0"]])])
def test_coord_arrays_refuse_non_numbers_and_huge_values(array):
    with pytest.raises(DataError):
        check_coord_array(array, "a")


def test_readers_refuse_loose_layouts_and_oversize_sketches():
    with pytest.raises(DataError, match="coordinate"):
        quickdraw_lines([[["1", 2], [0, 5]]], "d")
    with pytest.raises(DataError, match="times"):
        quickdraw_lines([[[1, 2], [0, 5], ["a", 1]]], "d")
    with pytest.raises(DataError, match="x and"):
        quickdraw_lines([[[1, 2], [0]]], "d")
    with pytest.raises(DataError, match="stroke 0"):
        point_lines([[[1, 2, 3]]], "d")
    with pytest.raises(DataError, match="points"):
        point_lines([[[0, 0]] * (MAX_POINTS + 1)], "d")
    lines, raw = quickdraw_lines([[[0, 1], [0, 1], [0, 5]], [[], []]], "d")
    assert raw and [len(line) for line in lines] == [2, 0]
