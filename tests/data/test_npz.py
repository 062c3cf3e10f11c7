"""Reading and writing sketch-rnn .npz files; every bad file is a DataError naming it."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from sketchrnn.data.npz import SketchSplits, load_npz, save_npz
from sketchrnn.errors import DataError

from .npz_payloads import object_array, sketch

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("SKETCHRNN_SHARED_DATA", REPO.parent / "shared" / "data"))
NO_SHARED = "shared data folder absent (set SKETCHRNN_SHARED_DATA to /work/shared/data or similar)"


def write_npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def good_arrays() -> dict[str, np.ndarray]:
    return {
        "train": object_array([sketch(5, 1), sketch(8, 2), sketch(3, 3)]),
        "valid": object_array([sketch(4, 4)]),
        "test": object_array([sketch(6, 5), sketch(2, 6)]),
    }


def test_load_official_layout(tmp_path):
    path = write_npz(tmp_path / "cat.npz", **good_arrays())
    splits = load_npz(path)
    assert splits.sizes() == {"train": 3, "valid": 1, "test": 2}
    assert splits.source == str(path)
    np.testing.assert_array_equal(splits.train[1], sketch(8, 2))


def test_float64_sketches_as_in_the_kanji_files(tmp_path):
    s = sketch(4, 1).astype(np.float64)
    s[:, :2] *= 0.37
    arrays = {name: object_array([s]) for name in ("train", "valid", "test")}
    splits = load_npz(write_npz(tmp_path / "kanji.npz", **arrays))
    assert splits.train[0].dtype == np.float64
    np.testing.assert_array_equal(splits.train[0], s)


def test_regular_3d_array_is_accepted(tmp_path):
    arrays = good_arrays()
    arrays["valid"] = np.stack([sketch(4, 7), sketch(4, 8)])  # [2, 4, 3]
    splits = load_npz(write_npz(tmp_path / "reg.npz", **arrays))
    assert len(splits.valid) == 2
    np.testing.assert_array_equal(splits.valid[1], sketch(4, 8))


def test_save_round_trip_int16(tmp_path):
    splits = SketchSplits(train=[sketch(5, 1), sketch(5, 2)], valid=[sketch(5, 3)],
                          test=[sketch(7, 4).astype(np.int64)], source="x")
    path = save_npz(splits, tmp_path / "sub" / "out.npz")
    raw = np.load(path, allow_pickle=True, encoding="latin1")
    assert raw["train"].dtype == object and raw["train"].shape == (2,)  # equal lengths, still [n]
    assert raw["test"][0].dtype == np.int16
    back = load_npz(path)
    for name in ("train", "valid", "test"):
        for a, b in zip(back.split(name), splits.split(name)):
            np.testing.assert_array_equal(a, b)
    assert [p.name for p in path.parent.iterdir()] == ["out.npz"]  # no temp file left behind


def test_save_float_data_as_float32(tmp_path):
    s = sketch(4, 1).astype(np.float64)
    s[0, 0] = 0.25
    path = save_npz(SketchSplits(train=[s], valid=[s], test=[s]), tmp_path / "f.npz")
    back = load_npz(path)
    assert back.train[0].dtype == np.float32
    np.testing.assert_array_equal(back.train[0], s.astype(np.float32))


def test_failed_save_keeps_old_file(tmp_path, monkeypatch):
    path = save_npz(SketchSplits(train=[sketch(3)], valid=[sketch(3)], test=[sketch(3)]), tmp_path / "a.npz")
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", boom)
    with pytest.raises(OSError):
        save_npz(SketchSplits(train=[sketch(9)], valid=[sketch(9)], test=[sketch(9)]), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a.npz"]


def _message(path: Path) -> str:
    with pytest.raises(DataError) as info:
        load_npz(path)
    assert str(path) in str(info.value)
    return str(info.value)


def test_not_a_zip(tmp_path):
    path = tmp_path / "bad.npz"
    path.write_text("<html>404 Not Found</html>")
    assert "not an .npz" in _message(path)


def test_missing_file(tmp_path):
    assert "no such file" in _message(tmp_path / "nope.npz")


def test_truncated_file(tmp_path):
    good = write_npz(tmp_path / "good.npz", **good_arrays())
    data = good.read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(data[: len(data) // 2])
    _message(cut)


def test_corrupt_member(tmp_path):
    path = tmp_path / "corrupt.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("train.npy", b"garbage")
        z.writestr("valid.npy", b"garbage")
        z.writestr("test.npy", b"garbage")
    assert "cannot be read" in _message(path)


def test_missing_split_names_it_and_lists_keys(tmp_path):
    arrays = good_arrays()
    del arrays["valid"]
    msg = _message(write_npz(tmp_path / "m.npz", sketches=arrays["train"], **arrays))
    assert "valid" in msg and "keys found: " in msg and "sketches" in msg


def test_wrong_shape_names_split_and_index(tmp_path):
    arrays = good_arrays()
    arrays["test"] = object_array([sketch(3), np.zeros((4, 2), np.int16)])
    msg = _message(write_npz(tmp_path / "s.npz", **arrays))
    assert "'test'" in msg and "sketch 1" in msg and "(4, 2)" in msg


def test_wrong_dtype(tmp_path):
    arrays = good_arrays()
    arrays["train"] = object_array([sketch(3), np.array([["a", "b", "c"]])])
    msg = _message(write_npz(tmp_path / "d.npz", **arrays))
    assert "train.npy" in msg and "U1" in msg  # refused while reading, before any validation


def test_nan_names_split_and_index(tmp_path):
    arrays = good_arrays()
    bad = sketch(5).astype(np.float64)
    bad[2, 1] = np.nan
    arrays["valid"] = object_array([sketch(3).astype(np.float64), sketch(2).astype(np.float64), bad])
    msg = _message(write_npz(tmp_path / "n.npz", **arrays))
    assert "'valid'" in msg and "sketch 2" in msg and "NaN" in msg


def test_bad_pen_value(tmp_path):
    arrays = good_arrays()
    bad = sketch(4)
    bad[1, 2] = 7
    arrays["train"] = object_array([bad])
    assert "pen value" in _message(write_npz(tmp_path / "p.npz", **arrays))


def test_empty_split(tmp_path):
    arrays = good_arrays()
    arrays["test"] = np.empty(0, dtype=object)
    assert "'test' is empty" in _message(write_npz(tmp_path / "e.npz", **arrays))


@pytest.mark.skipif(not (SHARED / "quickdraw" / "pig.npz").is_file(), reason=NO_SHARED)
def test_real_pig_npz():
    splits = load_npz(SHARED / "quickdraw" / "pig.npz")
    assert splits.sizes() == {"train": 1800, "valid": 200, "test": 200}
    assert splits.train[0].dtype == np.int16 and splits.train[0].shape[1] == 3
    assert all(s[-1, 2] == 1 for s in splits.test)
