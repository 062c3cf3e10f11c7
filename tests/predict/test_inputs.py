"""Every input layout parses to the same sketch; malformed files give one clear InputError.

The expected stroke-3 comes from ``polylines_to_stroke3`` (the data module's reference
conversion), not from the reader under test.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from sketchrnn.data.strokes import polylines_to_stroke3
from sketchrnn.errors import InputError
from sketchrnn.data.bounds import MAX_POINTS
from sketchrnn.predict.inputs import read_sketch

# Two strokes, integer pixels, corners only (RDP with epsilon 2 keeps every point).
STROKES = [[[10, 10], [60, 12], [110, 80], [40, 150]], [[200, 30], [230, 90], [260, 20]]]


def expected() -> np.ndarray:
    return polylines_to_stroke3([np.array(s) for s in STROKES]).astype(np.float64)


def quickdraw_drawing(raw: bool) -> list:
    """QuickDraw layout: per stroke [[x...], [y...]] (raw adds [t...])."""
    out = []
    for stroke in STROKES:
        xs, ys = [p[0] for p in stroke], [p[1] for p in stroke]
        out.append([xs, ys, list(range(len(xs)))] if raw else [xs, ys])
    return out


@pytest.fixture
def files(tmp_path):
    s3 = expected()
    paths = {
        "json_rows": tmp_path / "rows.json",
        "json_points": tmp_path / "points.json",
        "json_object": tmp_path / "object.json",
        "npy": tmp_path / "s.npy",
        "npz": tmp_path / "s.npz",
        "ndjson_raw": tmp_path / "raw.ndjson",
        "ndjson_simplified": tmp_path / "simplified.ndjson",
    }
    paths["json_rows"].write_text(json.dumps(s3.astype(int).tolist()))
    paths["json_points"].write_text(json.dumps(STROKES))
    paths["json_object"].write_text(json.dumps({"word": "x", "drawing": quickdraw_drawing(False)}))
    np.save(paths["npy"], s3.astype(np.int16))
    np.savez(paths["npz"], sketch=s3.astype(np.float32))
    paths["ndjson_raw"].write_text(json.dumps({"drawing": quickdraw_drawing(True)}) + "\n")
    paths["ndjson_simplified"].write_text(
        json.dumps({"drawing": [[[0, 1], [0, 1]]]}) + "\n"  # another drawing first
        + json.dumps({"drawing": quickdraw_drawing(False)}) + "\n")
    return paths


@pytest.mark.parametrize("kind", ["json_rows", "json_points", "json_object", "npy", "npz",
                                  "ndjson_raw", "ndjson_simplified"])
def test_every_layout_gives_the_same_stroke3(files, kind):
    index = 1 if kind == "ndjson_simplified" else 0
    raw = read_sketch(files[kind], index=index)
    np.testing.assert_array_equal(raw.strokes, expected())
    # Only QuickDraw's simplified drawings live on the 255 canvas (the predictor stretches them).
    assert raw.units == ("canvas255" if kind in ("json_object", "ndjson_simplified") else "data")
    assert raw.index == index and raw.count == (2 if kind == "ndjson_simplified" else 1)


def test_raw_ndjson_is_rdp_simplified(tmp_path):
    """A raw drawing's collinear in-between points go, as in the sketch-rnn data."""
    xs = list(range(0, 101, 5))
    path = tmp_path / "line.ndjson"
    path.write_text(json.dumps({"drawing": [[xs, [0] * len(xs), xs]]}) + "\n")
    np.testing.assert_array_equal(read_sketch(path).strokes, [[100, 0, 1]])


MALFORMED = {
    "empty.json": ("", "empty"),
    "empty_list.json": ("[]", "empty"),
    "one_point.json": ("[[[5, 5]]]", "only one point"),
    "nan.json": ("[[1, 2, 0], [NaN, 1, 1]]", "NaN"),
    "nesting.json": ("[[1, 2, 0], [1, 2]]", "row 1"),
    "deep.json": ("[[[1, 2, 3]]]", "stroke 0"),
    "pen.json": ("[[1, 2, 0], [3, 4, 7]]", "pen value 7"),
    "still.json": ("[[0, 0, 0], [0, 0, 1]]", "no movement"),
    "notjson.json": ("{oops", "not valid JSON"),
    "sketch.txt": ("1 2 0", "unknown extension"),
    "bad.ndjson": ('{"drawing": [[[1, 2], [3]]]}\n', "stroke 0"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_inputs_name_the_file_the_problem_and_a_fix(tmp_path, name):
    text, problem = MALFORMED[name]
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError) as info:
        read_sketch(path)
    message = str(info.value)
    assert str(path) in message and problem in message
    assert info.value.fix  # every error says how to fix it
    assert "\n" not in message


def test_too_many_points(tmp_path):
    path = tmp_path / "huge.npy"
    big = np.ones((MAX_POINTS + 1, 3), dtype=np.int8)
    np.save(path, big)
    with pytest.raises(InputError, match=f"{MAX_POINTS + 1:,} points"):
        read_sketch(path)


def test_index_out_of_range_and_missing_file(tmp_path, files):
    with pytest.raises(InputError, match="out of range"):
        read_sketch(files["npy"], index=3)
    with pytest.raises(InputError, match="no such file"):
        read_sketch(tmp_path / "nope.json")


# Loose types and out-of-bounds values that used to pass as numbers (numpy turns "1" and true into
# 1.0). Each is refused with the data layer's bound in the message; the same limits hold in the
# web API (tests/serve) and `data prepare`.
LOOSE = {
    "string_row.json": json.dumps([["1", "2", 0], [3, 4, 1]]),
    "bool_row.json": json.dumps([[True, 2, 0], [3, 4, 1]]),
    "null_row.json": json.dumps([[None, 2, 0], [3, 4, 1]]),
    "string_point.json": json.dumps([[["1", "2"], [30, 40]]]),
    "bool_point.json": json.dumps([[[True, 2], [30, 40]]]),
    "huge_row.json": json.dumps([[1e300, 2, 0], [3, 4, 1]]),
    "huge_point.json": json.dumps([[[0, 0], [1e300, 40]]]),
    "huge_int_point.json": "[[[0, 0], [" + "9" * 400 + ", 40]]]",
    "huge_int_row.json": "[[0, 0, " + "9" * 400 + "], [3, 4, 1]]",
    "string_quickdraw.json": json.dumps({"drawing": [[["1", "20"], [0, 5]]]}),
    "bool_quickdraw.ndjson": json.dumps({"drawing": [[[True, 20], [0, 5]]]}) + "\n",
    "string_raw.ndjson": json.dumps({"drawing": [[["1", 20], [0, 5], [0, 1]]]}) + "\n",
    "huge_raw.ndjson": json.dumps({"drawing": [[[0, 1e300], [0, 5], [0, 1]]]}) + "\n",
}


@pytest.mark.parametrize("name", sorted(LOOSE))
def test_strings_booleans_and_huge_values_are_refused(tmp_path, name):
    path = tmp_path / name
    path.write_text(LOOSE[name])
    with pytest.raises(InputError) as info:
        read_sketch(path)
    assert str(path) in str(info.value) and info.value.fix


@pytest.mark.parametrize("dtype", [bool, "U3", complex])
def test_npy_of_non_numbers_is_refused(tmp_path, dtype):
    path = tmp_path / "s.npy"
    np.save(path, np.ones((4, 3), dtype=dtype))
    with pytest.raises(InputError, match="dtype"):
        read_sketch(path)


def test_offsets_at_the_shared_bound_pass_and_beyond_fail(tmp_path):
    from sketchrnn.data.bounds import MAX_COORD

    path = tmp_path / "edge.json"
    path.write_text(json.dumps([[MAX_COORD, -MAX_COORD, 0], [1, 2, 1]]))
    assert read_sketch(path).strokes[0, 0] == MAX_COORD
    path.write_text(json.dumps([[MAX_COORD * 1.01, 0, 0], [1, 2, 1]]))
    with pytest.raises(InputError, match="beyond"):
        read_sketch(path)
