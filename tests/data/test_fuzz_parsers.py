"""Property-based fuzzing of the data parsers (npz, ndjson): whatever the bytes, the result is
valid data or a SketchRNNError, never another exception, never a hang.

Budgets are fixed and the examples derandomized, so CI runs the same inputs every time in a few
seconds per test.
"""

from __future__ import annotations

import functools
import io
import json
import pickle
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sketchrnn.data.bounds import MAX_COORD
from sketchrnn.data.ndjson import ndjson_to_splits, read_drawings
from sketchrnn.data.npz import SPLITS, load_npz
from sketchrnn.data.safe_npz import open_npz
from sketchrnn.errors import SketchRNNError

from .npz_payloads import object_array, sketch

FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

pytestmark = pytest.mark.timeout(120)  # a hang is a failure, not a stuck CI job


@pytest.fixture(scope="module")
def scratch():
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder)


@functools.cache
def valid_npz_bytes(seed: int = 0) -> bytes:
    fp = io.BytesIO()
    np.savez(fp, **{name: object_array([sketch(5 + i, seed + i) for i in range(3)])
                    for name in SPLITS})
    return fp.getvalue()


def load_or_refuse(path: Path) -> None:
    """The property: valid splits, or a SketchRNNError (pytest reports anything else), both for
    the sketch-rnn loader and for the raw member reader `predict` uses."""
    try:
        with open_npz(path) as npz:
            for key in npz.files:
                assert isinstance(npz[key], np.ndarray)
    except SketchRNNError as e:
        assert "\n" not in str(e)
    try:
        splits = load_npz(path)
    except SketchRNNError as e:
        assert "\n" not in str(e)
        return
    for name in SPLITS:
        for s in splits.split(name):
            assert s.ndim == 2 and s.shape[1] == 3 and s.dtype.kind in "iuf"


@FUZZ
@given(flag_bits=st.integers(0, 0xFFFF), method=st.sampled_from([0, 1, 6, 8, 9, 12, 14, 99]))
def test_npz_with_odd_zip_flags_and_compression_methods(scratch, flag_bits, method):
    """Encrypted members, unknown compression methods: zipfile's own errors become DataErrors."""
    data = bytearray(valid_npz_bytes())
    for header in (b"PK\x03\x04", b"PK\x01\x02"):  # local and central headers of every member
        at = data.find(header)
        while at >= 0:
            flags_at = at + (6 if header == b"PK\x03\x04" else 8)
            data[flags_at:flags_at + 2] = flag_bits.to_bytes(2, "little")
            data[flags_at + 2:flags_at + 4] = method.to_bytes(2, "little")
            at = data.find(header, at + 4)
    path = scratch / "flags.npz"
    path.write_bytes(bytes(data))
    load_or_refuse(path)


@FUZZ
@given(data=st.binary(max_size=4096))
def test_npz_from_arbitrary_bytes(scratch, data):
    path = scratch / "any.npz"
    path.write_bytes(data)
    load_or_refuse(path)


@FUZZ
@given(cuts=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1,
                     max_size=8), truncate=st.integers(0, 10_000))
def test_npz_from_a_corrupted_valid_file(scratch, cuts, truncate):
    data = bytearray(valid_npz_bytes())
    for pos, value in cuts:
        data[pos % len(data)] = value
    path = scratch / "mutated.npz"
    path.write_bytes(bytes(data[: max(1, len(data) - truncate % len(data))]))
    load_or_refuse(path)


# Anything a pickle can hold without naming a class: what an npz's object member may decode to.
plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    | st.binary(max_size=16),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=20,
)


def npz_with_member(path: Path, member: bytes) -> Path:
    """A zip whose train.npy is ``member`` and whose valid/test members are good."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("train.npy", member)
        for name in ("valid", "test"):
            zf.writestr(f"{name}.npy", good_member(name))
    return path


@functools.cache
def good_member(name: str) -> bytes:
    return zipfile.ZipFile(io.BytesIO(valid_npz_bytes())).read(f"{name}.npy")


def object_header(shape) -> bytes:
    fp = io.BytesIO()
    np.lib.format.write_array_header_1_0(fp, {"descr": "|O", "fortran_order": False, "shape": shape})
    return fp.getvalue()


@FUZZ
@given(value=plain, protocol=st.integers(0, 5), shape=st.sampled_from([(), (1,), (3,), (2, 2)]))
def test_npz_object_member_holding_any_plain_pickle(scratch, value, protocol, shape):
    member = object_header(shape) + pickle.dumps(value, protocol=protocol)
    load_or_refuse(npz_with_member(scratch / "plain.npz", member))


@FUZZ
@given(tail=st.binary(max_size=512), keep=st.integers(0, 400))
def test_npz_object_member_with_a_corrupted_pickle(scratch, tail, keep):
    real = pickle.dumps(object_array([sketch(4, 1), sketch(6, 2)]), protocol=3)
    member = object_header((2,)) + real[:keep] + tail
    load_or_refuse(npz_with_member(scratch / "pickle.npz", member))


# ndjson: JSON values of any shape, drawings with numbers of any kind, and raw text.
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=25,
)
plausible = st.integers(-1000, 1000) | st.floats(-1000, 1000)
weird = (st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.booleans()
         | st.text(max_size=3) | st.none() | st.lists(st.integers(), max_size=2))
number = st.one_of(plausible, plausible, plausible, plausible, weird)  # one value in five is odd
# Mostly well-shaped strokes ([x...], [y...] of one length) so that the values get judged.
stroke = st.integers(1, 6).flatmap(
    lambda n: st.lists(st.lists(number, min_size=n, max_size=n), min_size=2, max_size=3)
) | st.lists(st.lists(number, max_size=6), min_size=1, max_size=4)
drawing = st.lists(stroke, min_size=0, max_size=4)
line = (st.builds(lambda d: json.dumps({"drawing": d}), drawing)
        | st.builds(json.dumps, json_value) | st.text(max_size=40))


def parse_or_refuse(path: Path, raw: bool) -> None:
    try:
        drawings = read_drawings(path, raw=raw)
    except SketchRNNError as e:
        assert "\n" not in str(e)
        return
    for d in drawings:  # valid data: every x and y a real number within the shared bounds
        assert all(type(v) in (int, float) and abs(v) <= MAX_COORD for st_ in d for v in st_[0] + st_[1])
    try:
        splits = ndjson_to_splits(path, raw=raw)
    except SketchRNNError:
        return
    assert all(s.ndim == 2 and s.shape[1] == 3 for s in splits.train + splits.valid + splits.test)


@FUZZ
@given(lines=st.lists(line, max_size=6), raw=st.booleans(), suffix=st.sampled_from([".ndjson", ".json"]))
def test_ndjson_from_arbitrary_lines(scratch, lines, raw, suffix):
    path = scratch / f"lines{suffix}"
    path.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
    parse_or_refuse(path, raw)


@FUZZ
@given(d=drawing, raw=st.booleans())
def test_ndjson_one_drawing_of_any_values(scratch, d, raw):
    """One line, so that a drawing's values decide (a file fails at its first bad line)."""
    path = scratch / "one.ndjson"
    path.write_text(json.dumps({"drawing": d}))
    parse_or_refuse(path, raw)


@FUZZ
@given(data=st.binary(max_size=2048), raw=st.booleans())
def test_ndjson_from_arbitrary_bytes(scratch, data, raw):
    path = scratch / "bytes.ndjson"
    path.write_bytes(data)
    parse_or_refuse(path, raw)


point = st.tuples(st.integers(-300, 300), st.integers(-300, 300))


@FUZZ
@given(drawings=st.lists(st.lists(st.lists(point, min_size=1, max_size=8), min_size=1, max_size=3),
                         min_size=0, max_size=12))
def test_ndjson_of_well_typed_drawings(scratch, drawings):
    """Well-formed drawings (any count, dots included) parse into splits or are refused as too few."""
    lines = [json.dumps({"drawing": [[[x for x, _ in st_], [y for _, y in st_]] for st_ in d]})
             for d in drawings]
    path = scratch / "typed.ndjson"
    path.write_text("\n".join(lines))
    assert len(read_drawings(path)) == len(drawings)  # strict types never refuse real numbers
    parse_or_refuse(path, raw=False)


_PATH_ALPHABET = "MmLlHhVvCcSsQqTtAaZz0123456789.,-+eE \n"
_SVG_ELEMENTS = st.sampled_from([
    '<path d="{}"/>', '<polyline points="{}"/>', '<g transform="{}"><line x2="5" y2="3"/></g>',
    '<circle r="{}"/>', '<rect width="{}" height="4"/>',
])


@FUZZ
@given(template=_SVG_ELEMENTS, text=st.text(alphabet=_PATH_ALPHABET, max_size=80))
def test_svg_drawings_are_read_or_refused(scratch, template, text):
    """Random path data, points, transforms and lengths: stroke-3 within the bounds, or a
    one-line SketchRNNError (never an IndexError, a ValueError from numpy, NaN...)."""
    from sketchrnn.data.svg import svg_to_stroke3

    path = scratch / "fuzz.svg"
    path.write_text(f'<svg xmlns="http://www.w3.org/2000/svg">{template.format(text)}</svg>')
    try:
        sketch = svg_to_stroke3(path)
    except SketchRNNError as e:
        assert "\n" not in str(e)
        return
    assert sketch.ndim == 2 and sketch.shape[1] == 3 and len(sketch) >= 1
    assert np.isfinite(sketch).all() and np.abs(sketch[:, :2]).max() <= 255
