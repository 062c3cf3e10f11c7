"""The JSON API over tiny untrained models: shapes of good answers, and every kind of bad input
answered with a 4xx/5xx and ``{"error": ...}``, never a crash."""

from __future__ import annotations

import json
import math

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from sketchrnn.data.bounds import MAX_POINTS  # noqa: E402
from sketchrnn.serve.schemas import MAX_BODY_BYTES  # noqa: E402

SQUARE = [[[100.0, 100.0], [300.0, 100.0], [300.0, 300.0]], [[300.0, 300.0], [100.0, 300.0], [100.0, 100.0]]]


def error_of(response, status):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]
    return body["error"]


def test_page_and_static(client):
    page = client.get("/")
    assert page.status_code == 200 and '<canvas id="pad"' in page.text
    for name in ("app.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200
    assert client.get("/static/../models.py").status_code == 404


def test_models_lists_categories(client):
    body = client.get("/api/models").json()
    assert body["categories"] == ["circle", "square"]
    assert [d["category"] for d in body["draw"]] == ["circle", "square"]
    assert body["predict"]["calibrated"] is False and body["hint"] is None


def test_predict_top_k_probabilities(client):
    out = client.post("/api/predict", json={"strokes": SQUARE, "top_k": 2}).json()
    assert [t["category"] for t in out["top"]] != [] and len(out["top"]) == 2
    probs = [t["probability"] for t in out["top"]]
    assert math.isclose(sum(probs), 1.0, rel_tol=1e-6) and probs == sorted(probs, reverse=True)
    assert out["in_distribution"] is True  # uncalibrated: no OOD threshold
    assert out["completion"] is None


def test_predict_completion_continues_from_the_sketch(client):
    body = {"strokes": SQUARE, "complete": True, "category": "circle", "seed": 3}
    out = client.post("/api/predict", json=body).json()
    assert out["completion"]["category"] == "circle"
    lines = out["completion"]["strokes"]
    assert lines and all(len(p) == 2 and all(math.isfinite(v) for v in p)
                         for line in lines for p in line)
    again = client.post("/api/predict", json=body).json()
    assert again["completion"] == out["completion"]  # seeded: reproducible


def test_sample(client):
    out = client.post("/api/sample", json={"category": "square", "n": 3, "temperature": 0.5,
                                           "seed": 1}).json()
    assert out["category"] == "square" and len(out["sketches"]) == 3
    assert all(isinstance(line, list) for s in out["sketches"] for line in s)


@pytest.mark.parametrize("path,body", [
    ("/api/sample", {"category": "giraffe", "n": 1}),
    ("/api/predict", {"strokes": SQUARE, "complete": True, "category": "giraffe"}),
])
def test_unknown_category_404(client, path, body):
    assert "giraffe" in error_of(client.post(path, json=body), 404)


@pytest.mark.parametrize("raw", [
    b"{not json", b"", b"[]", b"null",
    json.dumps({"strokes": [[1, 2], [3, 4]]}).encode(),  # wrong nesting
    json.dumps({"strokes": [[[1, 2, 3], [3, 4, 5]]]}).encode(),  # 3 numbers per point
    json.dumps({"strokes": [[["a", "b"], [3, 4]]]}).encode(),  # not numbers
    b'{"strokes": [[[1e999, 2], [3, 4]]]}',  # overflows to inf
    b'{"strokes": [[[NaN, 2], [3, 4]]]}',
    b'{"strokes": [[[1, 2], [3, -Infinity]]]}',
    json.dumps({"strokes": [[[1, 2]]]}).encode(),  # one point
    json.dumps({"strokes": []}).encode(),
    json.dumps({"strokes": SQUARE, "top_k": 0}).encode(),
    json.dumps({"strokes": SQUARE, "temperature": 0}).encode(),
    json.dumps({"strokes": SQUARE, "unknown": 1}).encode(),
])
def test_predict_rejects_bad_input(client, raw):
    response = client.post("/api/predict", content=raw,
                           headers={"Content-Type": "application/json"})
    error_of(response, 422)


def test_predict_rejects_a_still_sketch(client):
    assert "movement" in error_of(client.post("/api/predict",
                                              json={"strokes": [[[5, 5], [5, 5]]]}), 422)


@pytest.mark.parametrize("body", [
    {"category": "circle", "n": 0}, {"category": "circle", "n": 10_000},
    {"category": "circle", "temperature": -1}, {"category": "", "n": 1},
    {"category": "circle", "seed": -5}, {"category": ["circle"]}, {"n": 2},
])
def test_sample_rejects_bad_input(client, body):
    error_of(client.post("/api/sample", json=body), 422)


# Loose types that pydantic's lax mode coerced (all returned 200): strings and booleans as
# coordinates, "3" as top_k, "yes" or 1 as a flag, and offsets beyond the data layer's bound.
LOOSE = [
    {"strokes": [[["1", "2"], [30, 40]]]},
    {"strokes": [[[True, 2], [30, 40]]]},
    {"strokes": SQUARE, "top_k": "3"},
    {"strokes": SQUARE, "top_k": 2.0},
    {"strokes": SQUARE, "top_k": True},
    {"strokes": SQUARE, "complete": "yes"},
    {"strokes": SQUARE, "complete": 1},
    {"strokes": SQUARE, "seed": "7"},
    {"strokes": SQUARE, "temperature": "0.5"},
    {"strokes": SQUARE, "category": 5},
    {"strokes": [[[0, 0], [1e300, 40]]]},
]


@pytest.mark.parametrize("body", LOOSE)
def test_predict_refuses_loose_types_and_offsets_beyond_the_shared_bound(client, body):
    error_of(client.post("/api/predict", json=body), 422)


@pytest.mark.parametrize("body", [{"category": "circle", "n": "2"},
                                  {"category": "circle", "temperature": True},
                                  {"category": "circle", "seed": 1.0}])
def test_sample_refuses_loose_types(client, body):
    error_of(client.post("/api/sample", json=body), 422)


def test_the_shared_coordinate_bound_holds_on_the_api(client):
    from sketchrnn.data.bounds import MAX_COORD

    edge = [[[0, 0], [MAX_COORD, -MAX_COORD]]]
    assert client.post("/api/predict", json={"strokes": edge}).status_code == 200
    beyond = [[[0, 0], [MAX_COORD * 1.01, 0]]]
    error_of(client.post("/api/predict", json={"strokes": beyond}), 422)


def test_too_many_points(client):
    line = [[float(i % 300), float(i // 300)] for i in range(MAX_POINTS + 1)]
    too_many = client.post("/api/predict", json={"strokes": [line]})
    assert f"at most {MAX_POINTS}" in error_of(too_many, 422)
    halves = [line[: MAX_POINTS // 2 + 1], line[MAX_POINTS // 2 :]]  # each fine, too many in all
    assert "points in all" in error_of(client.post("/api/predict", json={"strokes": halves}), 422)


def test_oversized_body_413_before_parsing(client):
    raw = b'{"strokes": [' + b" " * (MAX_BODY_BYTES + 1) + b"]}"
    error_of(client.post("/api/predict", content=raw,
                         headers={"Content-Type": "application/json"}), 413)

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(MAX_BODY_BYTES // 1024 + 2):
            yield b" " * 1024

    error_of(client.post("/api/predict", content=chunks(),
                         headers={"Content-Type": "application/json"}), 413)


def test_no_models_503_says_how_to_train(tmp_path):
    from fastapi.testclient import TestClient

    from sketchrnn.serve.app import create_app
    from sketchrnn.serve.models import ServeModels

    with TestClient(create_app(ServeModels.load(tmp_path / "nothing"))) as c:
        for response in (c.get("/api/models"),
                         c.post("/api/predict", json={"strokes": SQUARE}),
                         c.post("/api/sample", json={"category": "circle"})):
            assert "sketchrnn fit" in error_of(response, 503)
        assert c.get("/").status_code == 200


def test_predict_only_and_draw_only(runs_factory):
    from fastapi.testclient import TestClient

    from sketchrnn.serve.app import create_app
    from sketchrnn.serve.models import ServeModels

    draw_only = ServeModels.load(runs_factory("a", predict=False, draw=("circle",)))
    with TestClient(create_app(draw_only)) as c:
        assert "--only predict" in error_of(
            c.post("/api/predict", json={"strokes": SQUARE}), 503)
        assert c.post("/api/sample", json={"category": "circle"}).status_code == 200
    predict_only = ServeModels.load(runs_factory("b", draw=()))
    with TestClient(create_app(predict_only)) as c:
        assert c.post("/api/predict", json={"strokes": SQUARE}).status_code == 200
        assert "--only draw" in error_of(c.post("/api/sample", json={"category": "circle"}), 503)
        hint = c.get("/api/models").json()["hint"]  # the page shows it
        assert "no trained models" not in hint and "a predict model over circle, square" in hint
        assert "--only draw --categories circle,square" in hint


def test_ood_verdict_when_unsure(runs_factory):
    """A calibration whose threshold no sketch reaches: the verdict is "none of these"."""
    from fastapi.testclient import TestClient

    from sketchrnn.serve.app import create_app
    from sketchrnn.serve.models import ServeModels

    calibration = {"temperature": 1.0, "ood_score": "msp", "ood_threshold": 1.01,
                   "typical_extent_px": 300.0}
    runs = runs_factory(draw=(), calibration=calibration)
    with TestClient(create_app(ServeModels.load(runs))) as c:
        out = c.post("/api/predict", json={"strokes": SQUARE}).json()
    assert out["in_distribution"] is False and out["prediction"] is None
    assert out["verdict"].startswith("not one of")


def test_broken_checkpoint_is_skipped_not_fatal(runs_factory):
    from sketchrnn.serve.models import ServeModels

    runs = runs_factory(predict=False, draw=("circle", "square"))
    (runs / "draw-square" / "checkpoints" / "best" / "model.safetensors").write_bytes(b"junk")
    models = ServeModels.load(runs)
    assert list(models.draw) == ["circle"] and "draw-square" in models.problems[0]


def test_model_calls_do_not_block_the_event_loop(tiny_serve_runs):
    """A slow model call runs in a worker thread: other requests are answered meanwhile."""
    import threading
    import time

    import anyio
    import httpx

    from sketchrnn.serve.app import create_app
    from sketchrnn.serve.models import ServeModels

    models = ServeModels.load(tiny_serve_runs)
    release = threading.Event()
    models.sample = lambda *a: (release.wait(10), {"sketches": []})[1]  # a stuck model call
    order: list[str] = []

    async def main() -> None:
        transport = httpx.ASGITransport(app=create_app(models))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            async def slow() -> None:
                await c.post("/api/sample", json={"category": "circle"})
                order.append("sample")

            async with anyio.create_task_group() as tg:
                tg.start_soon(slow)
                await anyio.sleep(0.2)
                t0 = time.monotonic()
                assert (await c.get("/api/models")).status_code == 200
                order.append("models")
                assert time.monotonic() - t0 < 5
                release.set()

    anyio.run(main)
    assert order == ["models", "sample"]
