"""Fuzzing `predict`'s sketch files (JSON and ndjson) with hypothesis (issue 13).

Any file either reads as a valid sketch (finite stroke-3 within the shared bounds, pen in {0, 1},
some movement) or raises ``InputError`` (one line, with a fix): never another exception, never a
hang. Inputs mix the real layouts (rows, strokes of points, QuickDraw objects, raw drawings) with
loose leaves (strings, booleans, null, NaN, huge numbers, nesting). Derandomised with a fixed
budget, so CI runs the same examples every time in a few seconds; pytest-timeout bounds each test.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sketchrnn.data.bounds import MAX_COORD, MAX_POINTS
from sketchrnn.errors import InputError
from sketchrnn.predict.inputs import read_sketch

BUDGET = settings(max_examples=200, derandomize=True, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow])
pytestmark = pytest.mark.timeout(120)

numbers = (st.integers(-300, 300) | st.floats(-300, 300, allow_subnormal=False)
           | st.sampled_from([0, 1, MAX_COORD, -MAX_COORD, 1e300, 10**400, float("nan"),
                              float("inf"), 1e-320]))
leaves = numbers | st.sampled_from([None, True, False, "1", "", "x", [], {}])
mostly_numbers = st.one_of(numbers, numbers, numbers, leaves)
rows = st.lists(st.lists(mostly_numbers, min_size=2, max_size=4), max_size=30)
point_strokes = st.lists(st.lists(st.lists(mostly_numbers, min_size=1, max_size=3), max_size=15),
                         max_size=5)
quickdraw = st.lists(st.lists(st.lists(mostly_numbers, max_size=12), min_size=1, max_size=4),
                     max_size=5)
objects = st.fixed_dictionaries({}, optional={"drawing": quickdraw | leaves, "src": quickdraw,
                                              "word": st.text(max_size=5), "x": leaves})
values = rows | point_strokes | quickdraw | objects | st.lists(objects, max_size=3) | leaves
junk_text = st.text(alphabet=st.sampled_from(list('[]{},:"0123456789.-eE truefalsn\\\n')),
                    max_size=200)


def _outcome(text: str, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"s{suffix}"
        path.write_text(text, encoding="utf-8")
        try:
            raw = read_sketch(path)
        except InputError as exc:
            assert "\n" not in str(exc) and exc.fix
            return
    s = raw.strokes
    assert s.dtype == np.float64 and s.ndim == 2 and s.shape[1] == 3 and 1 <= len(s) <= MAX_POINTS
    assert np.isfinite(s).all() and np.abs(s[:, :2]).max() <= 2 * MAX_COORD
    assert set(np.unique(s[:, 2])) <= {0.0, 1.0} and np.any(s[:, :2])


@BUDGET
@given(values)
def test_json_sketch_files(value):
    _outcome(json.dumps(value), ".json")


@BUDGET
@given(st.lists(values, min_size=1, max_size=3))
def test_ndjson_sketch_files(records):
    _outcome("\n".join(json.dumps(r) for r in records) + "\n", ".ndjson")


@BUDGET
@given(junk_text, st.sampled_from([".json", ".ndjson"]))
def test_text_that_is_barely_json(text, suffix):
    _outcome(text, suffix)


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deep_nesting(depth):
    _outcome("[" * depth + "]" * depth, ".json")
    _outcome('{"drawing": ' + "[" * depth + "]" * depth + "}\n", ".ndjson")
