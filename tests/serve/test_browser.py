"""End to end in a real headless browser: draw on the canvas with mouse events, see predictions,
press "finish it", see the completion drawn. Screenshots go to ``$SKETCHRNN_ARTIFACTS/serve/``
(default: pytest's tmp dir).

Uses Debian's ``chromium`` driven by Playwright (never a downloaded browser). Skipped, with the
reason, only when chromium or the playwright package is missing.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("Debian chromium is not installed (apt-get install -y chromium)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api",
                               reason="the playwright Python package is not installed")

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def server_url(tiny_serve_runs):
    yield from serving(tiny_serve_runs)


def serving(runs: Path):
    """uvicorn on a free loopback port, in a thread of this process."""
    import uvicorn

    from sketchrnn.serve.app import create_app
    from sketchrnn.serve.models import ServeModels

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(ServeModels.load(runs)), log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    root = os.environ.get("SKETCHRNN_ARTIFACTS")
    path = Path(root) / "serve" if root else tmp_path_factory.mktemp("artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 900, "height": 700})
        try:
            yield browser.pages[0] if browser.pages else browser.new_page()
        finally:
            browser.close()


def canvas_ink(page) -> int:
    """Non-transparent pixels of the drawing canvas."""
    return page.evaluate("""() => {
        const c = document.getElementById('pad');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
        return n;
    }""")


def drag(page, box, points) -> None:
    x0, y0 = box["x"], box["y"]
    page.mouse.move(x0 + points[0][0] * box["width"], y0 + points[0][1] * box["height"])
    page.mouse.down()
    for fx, fy in points[1:]:
        page.mouse.move(x0 + fx * box["width"], y0 + fy * box["height"], steps=6)
    page.mouse.up()


def test_draw_predict_finish(server_url, page, artifacts):
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server_url + "/")
    page.wait_for_selector("body[data-ready='yes']", timeout=15_000)
    box = page.locator("#pad").bounding_box()
    assert canvas_ink(page) == 0

    drag(page, box, [(0.2, 0.2), (0.8, 0.2), (0.8, 0.8)])
    drag(page, box, [(0.8, 0.8), (0.2, 0.8), (0.2, 0.25)])
    drawn = canvas_ink(page)
    assert drawn > 0
    page.wait_for_selector("#predictions[data-state='ready'] li", timeout=15_000)
    items = page.locator("#predictions li").all_inner_texts()
    assert items and any(name in items[0] for name in ("circle", "square"))
    assert page.evaluate("window.sketchrnnState.calls.predict") >= 1

    with page.expect_response(lambda r: r.url.endswith("/api/predict")
                              and r.request.method == "POST"
                              and '"complete":true' in (r.request.post_data or "")) as info:
        page.click("#finish")
    assert info.value.status == 200
    page.wait_for_selector("#pad[data-completion='done']", timeout=30_000)
    completion = info.value.json()["completion"]["strokes"]
    assert sum(len(line) for line in completion) >= 1
    assert canvas_ink(page) > drawn  # the completion was drawn in
    page.screenshot(path=str(artifacts / "finish.png"), full_page=True)

    page.click("#undo")  # drops the completion: back to the user's strokes
    assert canvas_ink(page) == drawn
    page.click("#clear")
    assert canvas_ink(page) == 0
    assert errors == []


def test_gallery_and_phone_width(server_url, page, artifacts):
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(server_url + "/")
    page.wait_for_selector("body[data-ready='yes']", timeout=15_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scroll
    page.click("#tab-gallery")
    page.select_option("#g-category", "square")
    page.fill("#g-count", "4")
    page.click("#gallery-form button[type='submit']")
    page.wait_for_selector("#grid[data-state='done']", timeout=30_000)
    assert page.locator("#grid canvas").count() == 4
    page.screenshot(path=str(artifacts / "gallery-phone.png"), full_page=True)


def test_no_models_page_says_how_to_train(tmp_path, page, artifacts):
    server = serving(tmp_path / "empty-runs")
    url = next(server)
    try:
        page.set_viewport_size({"width": 900, "height": 700})
        page.goto(url + "/")
        page.wait_for_selector("body[data-ready='no-models']", timeout=15_000)
        notice = page.locator("#notice")
        assert notice.is_visible() and "sketchrnn fit" in notice.locator("code").first.inner_text()
        page.screenshot(path=str(artifacts / "no-models.png"))
    finally:
        next(server, None)
