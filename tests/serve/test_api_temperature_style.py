"""The web API draws with the library's default temperature rule unless a request names the other
one (the spy records the style each ``sampling.sample`` call resolves to)."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")

from sketchrnn.config import DEFAULT_TEMPERATURE_STYLE, TEMPERATURE_STYLES  # noqa: E402

OTHER = next(s for s in TEMPERATURE_STYLES if s != DEFAULT_TEMPERATURE_STYLE)


def test_sample_and_completion_take_the_default_or_the_field(client, sample_styles):
    assert client.post("/api/sample", json={"category": "square", "n": 1}).status_code == 200
    body = {"category": "square", "n": 1, "temperature_style": OTHER}
    assert client.post("/api/sample", json=body).status_code == 200
    square = [[[100.0, 100.0], [300.0, 100.0], [300.0, 300.0]]]
    body = {"strokes": square, "complete": True, "category": "circle", "temperature_style": OTHER}
    assert client.post("/api/predict", json=body).status_code == 200
    assert sample_styles == [DEFAULT_TEMPERATURE_STYLE, OTHER, OTHER]
    bad = client.post("/api/sample", json={"category": "square", "temperature_style": "browser"})
    assert bad.status_code == 422
