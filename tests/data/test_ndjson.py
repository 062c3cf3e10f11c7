"""QuickDraw ndjson parsing, stroke-3 conversion, Google's simplification."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from sketchrnn.data.ndjson import (
    drawing_to_stroke3,
    ndjson_to_splits,
    raw_to_simplified,
    read_drawings,
)
from sketchrnn.data.npz import load_npz
from sketchrnn.data.prepare import prepare_ndjson
from sketchrnn.data.strokes import stroke3_to_polylines
from sketchrnn.errors import DataError

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("SKETCHRNN_SHARED_DATA", REPO.parent / "shared" / "data"))
RAW_DIR = SHARED / "quickdraw" / "raw" / "raw_first100KB_exupery"
SIMPLE_DIR = SHARED / "quickdraw" / "raw" / "simplified_first25_lamnguyen"
PILING_DIR = SHARED / "quickdraw" / "raw" / "simplified_2000_pilingjs"
NO_SHARED = "shared data folder absent (set SKETCHRNN_SHARED_DATA to /work/shared/data or similar)"

HOUSE = [[[0, 10, 10], [0, 0, 10]], [[20, 30], [20, 20]]]


def line(drawing, **extra) -> str:
    return json.dumps({"word": "house", "key_id": "1", "recognized": True, "drawing": drawing, **extra})


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_drawing_to_stroke3_hand_worked():
    s3 = drawing_to_stroke3(HOUSE)
    # points (0,0) (10,0) (10,10) | (20,20) (30,20); the sketch starts at its first point
    assert s3.tolist() == [[10, 0, 0], [0, 10, 1], [10, 10, 0], [10, 0, 1]]
    lines = stroke3_to_polylines(s3, origin=(0, 0))
    assert [a.T.tolist() for a in lines] == HOUSE


def test_read_file_and_lines(tmp_path):
    path = write_lines(tmp_path / "house.ndjson", [line(HOUSE), "", line(HOUSE[:1], recognized=False)])
    assert len(read_drawings(path)) == 2
    assert len(read_drawings(path, recognized_only=True)) == 1
    assert read_drawings([line(HOUSE)]) == [HOUSE]
    assert len(read_drawings([path, path])) == 4


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"word": "x"}), "'drawing' key"),
        (line([]), "non-empty list"),
        (line([[[1, 2, 3], [1, 2]]]), "stroke 0"),
        (line([[[1, 2], [1, 2]], [[1], [2], [3], [4]]]), "stroke 1"),
        (line([[[1, 2], [1, 2], [0, 5]]]), "raw drawing"),
        (line([[["a", "b"], [1, 2]]]), "stroke 0"),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path, text, needle):
    path = write_lines(tmp_path / "bad.ndjson", [line(HOUSE), line(HOUSE), text])
    with pytest.raises(DataError) as info:
        read_drawings(path)
    msg = str(info.value)
    assert f"{path} line 3" in msg and needle in msg


def test_nan_is_rejected(tmp_path):
    path = write_lines(tmp_path / "nan.ndjson", ['{"drawing": [[[1, NaN], [1, 2]]]}'])
    with pytest.raises(DataError, match="line 1.*nan is not a finite number"):
        read_drawings(path)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_drawings(tmp_path / "nope.ndjson")


def test_raw_to_simplified_hand_worked():
    # One stroke (100, 100) -> (200, 160) via a point on the line: scale 255 / 100, RDP drops it.
    raw = [[[100, 150, 200], [100, 130, 160], [0, 10, 20]]]
    assert raw_to_simplified(raw) == [[[0, 255], [0, 153]]]
    # A dot is kept as two equal points; strokes keep their order.
    raw = [[[0, 10], [0, 0]], [[4], [4]]]
    assert raw_to_simplified(raw) == [[[0, 255], [0, 0]], [[102, 102], [102, 102]]]
    # A right angle survives; resampling keeps the corner within a pixel.
    raw = [[[0, 0, 100], [0, 100, 100]]]
    assert raw_to_simplified(raw) == [[[0, 0, 255], [0, 255, 255]]]


def test_splits_are_deterministic_and_sized(tmp_path):
    rng = np.random.default_rng(0)
    drawings = [[[rng.integers(0, 255, 5).tolist(), rng.integers(0, 255, 5).tolist()]] for _ in range(50)]
    path = write_lines(tmp_path / "cat.ndjson", [line(d) for d in drawings])
    a = ndjson_to_splits(path, valid_frac=0.1, test_frac=0.2, seed=3)
    b = ndjson_to_splits(path, valid_frac=0.1, test_frac=0.2, seed=3)
    assert a.sizes() == {"train": 35, "valid": 5, "test": 10}
    assert all(np.array_equal(x, y) for x, y in zip(a.train, b.train))
    every = sorted(s.tolist() for s in a.train + a.valid + a.test)
    assert every == sorted(drawing_to_stroke3(d).tolist() for d in drawings)
    with pytest.raises(DataError, match="leave a split empty"):
        ndjson_to_splits(path, valid_frac=0.5, test_frac=0.5)


def test_prepare_ndjson_writes_a_loadable_npz(tmp_path):
    raw = [[[100, 150, 200, 190], [100, 125, 150, 40], [0, 10, 20, 30]], [[0, 3], [0, 4], [40, 50]]]
    src = write_lines(tmp_path / "sun.ndjson", [line(raw)] * 10)
    dst = tmp_path / "out" / "sun.npz"
    splits = prepare_ndjson(src, dst, raw=True, valid_frac=0.1, test_frac=0.1, seed=0)
    back = load_npz(dst)
    assert back.sizes() == splits.sizes() == {"train": 8, "valid": 1, "test": 1}
    expected = drawing_to_stroke3(raw_to_simplified(raw))
    np.testing.assert_array_equal(back.test[0], expected)
    assert back.test[0].dtype == np.int16
    assert [p.name for p in dst.parent.iterdir()] == ["sun.npz"]


def test_piling_json_layout(tmp_path):
    path = tmp_path / "cake.json"
    path.write_text(json.dumps([{"countryCode": "US", "src": HOUSE}, {"src": HOUSE[:1]}]))
    assert read_drawings(path) == [HOUSE, HOUSE[:1]]


def _pairs(n_files: int) -> list[tuple[list, list]]:
    """(raw, Google simplified) drawings with the same key_id, from the first category files."""
    pairs = []
    for simple_file in sorted(SIMPLE_DIR.glob("*.ndjson"))[:n_files]:
        simple = {}
        for text in simple_file.read_text().splitlines():
            record = json.loads(text)
            simple[record["key_id"]] = record["drawing"]
        for text in (RAW_DIR / simple_file.name).read_text().splitlines():
            record = json.loads(text)
            if record["key_id"] in simple:
                pairs.append((record["drawing"], simple[record["key_id"]]))
    return pairs


@pytest.mark.skipif(not (RAW_DIR.is_dir() and SIMPLE_DIR.is_dir()), reason=NO_SHARED)
def test_raw_to_simplified_matches_google():
    # 94% exact / 96% within 1 px on all 7,853 pairs; the rest differ where RDP picks among
    # equally distant points (floating-point noise in Google's code).
    pairs = _pairs(12)
    assert len(pairs) >= 200
    exact = near = 0
    for raw, google in pairs:
        ours = raw_to_simplified(raw)
        same_shape = len(ours) == len(google) and all(
            len(a[0]) == len(b[0]) for a, b in zip(ours, google))
        exact += ours == google
        near += same_shape and all(
            np.abs(np.array(a) - np.array(b)).max() <= 1 for a, b in zip(ours, google))
    assert exact / len(pairs) > 0.88
    assert near / len(pairs) > 0.9


@pytest.mark.skipif(not (PILING_DIR / "cake.json").is_file(), reason=NO_SHARED)
def test_real_piling_file():
    splits = ndjson_to_splits(PILING_DIR / "cake.json", valid_frac=0.05, test_frac=0.05)
    assert sum(splits.sizes().values()) == 1600


@pytest.mark.parametrize("stroke", [
    [["1", "2"], [0, 5]],           # numeric strings
    [[True, False], [0, 5]],        # booleans
    [[0, 1e6], [0, 5]],             # beyond the shared bounds
    [[0, 1], [0, None]],            # null
    [[0, 1], [0]],                  # ragged
])
def test_loose_coordinates_are_refused_by_prepare_and_predict(tmp_path, stroke):
    from sketchrnn.errors import InputError
    from sketchrnn.predict.inputs import read_sketch

    path = write_lines(tmp_path / "loose.ndjson", [line([stroke])])
    with pytest.raises(DataError, match="loose.ndjson line 1: stroke 0"):
        read_drawings(path)
    with pytest.raises(InputError, match="loose.ndjson line 1: stroke 0"):
        read_sketch(path)


def test_bounds_are_inclusive_and_times_are_not_coordinates(tmp_path):
    from sketchrnn.data.bounds import MAX_COORD

    raw = [[[0, MAX_COORD], [-MAX_COORD, 0], [0, 10**6]]]  # t in ms may exceed MAX_COORD
    path = write_lines(tmp_path / "edge.ndjson", [line(raw)])
    assert read_drawings(path, raw=True) == [raw]
