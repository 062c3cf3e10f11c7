"""The npz reader never runs code from a file and reads every real file exactly like np.load."""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from sketchrnn.data.npz import load_npz
from sketchrnn.data.safe_npz import load_npy, open_npz
from sketchrnn.errors import DataError

from .npz_payloads import STYLES, object_array, plant, sketch

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("SKETCHRNN_SHARED_DATA", REPO.parent / "shared" / "data"))
SHARED_NPZ = sorted(SHARED.glob("quickdraw/*.npz")) + sorted(SHARED.glob("other/**/*.npz"))


@pytest.mark.parametrize("style", STYLES)
def test_the_planted_payload_is_live_under_np_load(tmp_path, style):
    """The reference: numpy with pickle enabled runs it, so the tests below test something."""
    marker = tmp_path / "pwned"
    path = plant(tmp_path / "evil.npz", marker, style)
    with np.load(path, allow_pickle=True) as npz:
        npz["train"]
    assert marker.exists()


@pytest.mark.parametrize("style", STYLES)
def test_load_npz_refuses_the_payload_without_running_it(tmp_path, style):
    marker = tmp_path / "pwned"
    path = plant(tmp_path / "evil.npz", marker, style)
    with pytest.raises(DataError) as info:
        load_npz(path)
    assert not marker.exists()
    msg = str(info.value)
    assert "evil.npz" in msg and "train.npy" in msg and "\n" not in msg


def _member(arr_pickle: bytes, shape=(1,)) -> Path:
    fp = io.BytesIO()
    np.lib.format.write_array_header_1_0(fp, {"descr": "|O", "fortran_order": False, "shape": shape})
    return fp.getvalue() + arr_pickle


def _zip(path: Path, **members: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for key, data in members.items():
            zf.writestr(f"{key}.npy", data)
    return path


@pytest.mark.parametrize("items", [
    [[1, 2, 3]],                                   # a Python list, not an array
    [7],                                           # a Python int
    [object_array([sketch()])],                    # a nested object array
    [np.array([["a", "b", "c"]])],                 # strings
    [np.zeros((2, 3), dtype=np.complex64)],        # complex numbers
    [np.zeros(2, dtype=[("x", "i2"), ("y", "i2")])],  # a structured array
])
def test_objects_that_are_not_arrays_of_numbers_are_refused(tmp_path, items):
    path = _zip(tmp_path / "odd.npz", train=_member(pickle.dumps(object_array(items), protocol=3)))
    with open_npz(path) as npz, pytest.raises(DataError, match="refused member train.npy"):
        npz["train"]


def test_a_reconstruct_of_another_class_is_refused(tmp_path):
    """numpy's allowed _reconstruct must not build anything but an ndarray (here np.matrix)."""
    good = pickle.dumps(object_array([sketch()]), protocol=3)
    evil = good.replace(b"cnumpy\nndarray\n", b"cnumpy\nmatrix\n")
    assert evil != good
    path = _zip(tmp_path / "m.npz", good=_member(good), evil=_member(evil))
    with open_npz(path) as npz:
        assert np.array_equal(npz["good"][0], sketch())
        with pytest.raises(DataError, match="numpy.matrix"):
            npz["evil"]


@pytest.mark.parametrize("arr", [
    np.arange(12, dtype=np.int16).reshape(4, 3),
    np.arange(12, dtype=">f8").reshape(4, 3),       # big-endian
    np.asfortranarray(np.arange(12, dtype=np.float32).reshape(4, 3)),
    np.array([True, False]),
    np.zeros((0, 3), dtype=np.uint8),
    np.float64(3.5),                                 # a 0-d array
    object_array([sketch(3, 1), sketch(9, 2).astype(np.float64)]),
    np.empty(0, dtype=object),
], ids=["int16", "big-endian", "fortran", "bool", "empty", "0-d", "objects", "no-objects"])
def test_arrays_read_exactly_like_np_load(tmp_path, arr):
    path = tmp_path / "a.npz"
    np.savez(path, a=arr, b=arr)
    np.save(tmp_path / "a.npy", arr, allow_pickle=True)
    with np.load(path, allow_pickle=True) as ref, open_npz(path) as npz:
        assert npz.files == ref.files
        ours, theirs = npz["a"], ref["a"]
    for got in (ours, load_npy(tmp_path / "a.npy")):
        assert got.dtype == theirs.dtype and got.shape == theirs.shape
        if got.dtype == object:
            for x, y in zip(got, theirs):
                assert x.dtype == y.dtype and np.array_equal(x, y)
        else:
            assert np.array_equal(got, theirs) and got.flags.f_contiguous == theirs.flags.f_contiguous


def test_shared_data_is_present():
    """The next test runs on every real file; an empty list there must not pass silently."""
    if not SHARED.is_dir():
        pytest.skip("shared data folder absent (set SKETCHRNN_SHARED_DATA)")
    assert len(SHARED_NPZ) >= 9


@pytest.mark.parametrize("path", SHARED_NPZ, ids=[p.name for p in SHARED_NPZ])
def test_every_real_file_loads_identically_to_np_load(path):
    """QuickDraw int16 (numpy 2 pickles), aaron_sheep/omniglot (Python 2 pickles, latin1 str) and
    the float64 kanji files (protocol 2 with _codecs.encode)."""
    with np.load(path, allow_pickle=True, encoding="latin1") as ref, open_npz(path) as npz:
        assert sorted(npz.files) == sorted(ref.files)
        for key in ref.files:
            ours, theirs = npz[key], ref[key]
            assert ours.dtype == theirs.dtype == object and ours.shape == theirs.shape
            for x, y in zip(ours, theirs):
                assert x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y)
