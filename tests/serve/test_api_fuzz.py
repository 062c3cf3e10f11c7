"""Fuzzing the web API's request bodies with hypothesis (issue 13), through FastAPI's TestClient.

Any body gets either 200 with the documented JSON or a 4xx ``{"error": "..."}``: never a 500,
never a hang. Bodies mix the real fields (strokes, top_k, complete, category, seed, temperature,
n) with loose values (strings, booleans, null, NaN, huge numbers, nesting) and raw bytes.
Derandomised with a fixed budget; pytest-timeout bounds each test.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("fastapi")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

BUDGET = settings(max_examples=150, derandomize=True, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow,
                                         HealthCheck.function_scoped_fixture])
pytestmark = pytest.mark.timeout(180)

numbers = (st.integers(-300, 300) | st.floats(-300, 300, allow_subnormal=False)
           | st.sampled_from([0, 1, 1e5, -1e5, 1e300, 10**400, 1e-320]))
leaves = numbers | st.sampled_from([None, True, False, "1", "", "circle", "square", [], {}])
mostly_numbers = st.one_of(numbers, numbers, numbers, leaves)
strokes = st.lists(st.lists(st.lists(mostly_numbers, min_size=1, max_size=3), max_size=12),
                   max_size=4) | leaves
predict_bodies = st.fixed_dictionaries({}, optional={
    "strokes": strokes, "top_k": leaves, "complete": st.booleans() | leaves,
    "category": leaves, "seed": leaves, "temperature": leaves, "extra": leaves})
sample_bodies = st.fixed_dictionaries({}, optional={
    "category": st.sampled_from(["circle", "square", "pig", ""]) | leaves, "n": leaves,
    "seed": leaves, "temperature": leaves})
raw_bytes = st.binary(max_size=300) | st.text(
    alphabet=st.sampled_from(list('[]{},:"0123456789.-eE truefalsnNaI')), max_size=300).map(str.encode)


def _check(response) -> None:  # noqa: ANN001
    assert response.status_code < 500, response.text[:300]
    body = response.json()
    if response.status_code == 200:
        assert isinstance(body, dict) and "error" not in body
    else:
        assert 400 <= response.status_code < 500 and isinstance(body["error"], str)


def _post(client, path: str, content: bytes):  # noqa: ANN001
    return client.post(path, content=content, headers={"Content-Type": "application/json"})


@BUDGET
@given(predict_bodies)
def test_predict_bodies(client, body):
    _check(_post(client, "/api/predict", json.dumps(body).encode()))


@BUDGET
@given(sample_bodies)
def test_sample_bodies(client, body):
    _check(_post(client, "/api/sample", json.dumps(body).encode()))


@BUDGET
@given(raw_bytes, st.sampled_from(["/api/predict", "/api/sample"]))
def test_raw_bytes(client, content, path):
    _check(_post(client, path, content))


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deep_nesting(client, depth):
    _check(_post(client, "/api/predict", b'{"strokes": ' + b"[" * depth + b"]" * depth + b"}"))
