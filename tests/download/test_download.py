"""download_category against a local HTTP server: success, HTTP errors, short and corrupt bodies.

Nothing here touches the internet: every URL points at a server on 127.0.0.1 (port 0) that serves
files from a temp dir, and an autouse fixture points ``SKETCHRNN_MIRROR`` at a closed port and
``SKETCHRNN_CACHE`` at a temp dir, so a forgotten argument fails fast instead of downloading.
The contract under test: the cache only ever gains complete, loadable files.
"""

from __future__ import annotations

import http.server
import socket
import urllib.parse
from pathlib import Path

import numpy as np
import platformdirs
import pytest

from sketchrnn.data import download
from sketchrnn.data.download import (
    BASE_URL,
    CACHE_ENV,
    MIRROR_ENV,
    category_url,
    download_category,
    resolve_base_url,
    resolve_cache_dir,
)
from sketchrnn.data.npz import load_npz
from sketchrnn.errors import DataError, DownloadError


def write_npz(path: Path, sizes=(8, 2, 2), seed: int = 0) -> Path:
    """A small sketch-rnn npz written with numpy directly (not our own save_npz)."""
    rng = np.random.default_rng(seed)
    splits = {}
    for split, n in zip(("train", "valid", "test"), sizes):
        arr = np.empty(n, dtype=object)
        for i in range(n):
            length = int(rng.integers(5, 40))
            s = np.zeros((length, 3), dtype=np.int16)
            s[:, :2] = rng.integers(-50, 50, size=(length, 2))
            s[:, 2] = rng.random(length) < 0.2
            s[-1, 2] = 1
            arr[i] = s
        splits[split] = arr
    np.savez_compressed(path, **splits)
    return path


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.root/<last path component>``; ``server.truncate`` / ``.status`` misbehave."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        srv = self.server
        srv.requests.append(self.path)
        name = urllib.parse.unquote(self.path.rsplit("/", 1)[-1])
        path = srv.root / name
        if name in srv.status or not path.is_file():
            self.send_error(srv.status.get(name, 404))
            return
        body = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        # A truncated transfer: promise more than we send, then close the connection.
        self.send_header("Content-Length", str(len(body) + (1000 if name in srv.truncate else 0)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass


@pytest.fixture
def server(tmp_path, start_http_server):
    root = tmp_path / "served"
    root.mkdir()
    srv = start_http_server(_Handler)
    srv.root, srv.requests, srv.truncate, srv.status = root, [], set(), {}
    srv.base = f"{srv.url}/sketchrnn"
    return srv


@pytest.fixture
def refused_url() -> str:
    """A URL on a port nobody listens on: connection refused, instantly."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/sketchrnn"


@pytest.fixture(autouse=True)
def offline_env(monkeypatch, tmp_path, refused_url):
    monkeypatch.setenv(MIRROR_ENV, refused_url)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "env-cache"))


@pytest.fixture
def cache(tmp_path) -> Path:
    return tmp_path / "cache"


def listing(folder: Path) -> list[str]:
    """Everything in the cache, hidden temp files included."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_success_caches_a_file_that_loads(server, cache):
    source = write_npz(server.root / "pig.npz")
    path = download_category("pig", cache_dir=cache, base_url=server.base)
    assert path == cache / "pig.npz"
    assert listing(cache) == ["pig.npz"]
    assert path.read_bytes() == source.read_bytes()
    splits = load_npz(path)
    assert (len(splits.train), len(splits.valid), len(splits.test)) == (8, 2, 2)
    with np.load(source, allow_pickle=True) as ref:
        for got, want in zip(splits.train, ref["train"]):
            np.testing.assert_array_equal(got, want)


def test_spaces_are_url_quoted(server, cache):
    write_npz(server.root / "alarm clock.npz")
    path = download_category("alarm clock", cache_dir=cache, base_url=server.base)
    assert server.requests == ["/sketchrnn/alarm%20clock.npz"]
    assert path.name == "alarm clock.npz"


def test_full_variant(server, cache):
    write_npz(server.root / "pig.full.npz")
    path = download_category("pig", cache_dir=cache, base_url=server.base, full=True)
    assert server.requests == ["/sketchrnn/pig.full.npz"]
    assert listing(cache) == ["pig.full.npz"] and path == cache / "pig.full.npz"


@pytest.mark.parametrize("status", [404, 500])
def test_http_error_names_url_and_leaves_nothing(server, cache, status):
    write_npz(server.root / "pig.npz")
    server.status["pig.npz"] = status
    with pytest.raises(DownloadError) as info:
        download_category("pig", cache_dir=cache, base_url=server.base)
    message = str(info.value)
    assert f"{server.base}/pig.npz" in message and str(status) in message
    assert "--data-dir" in info.value.fix and MIRROR_ENV in info.value.fix
    assert "\n" not in message
    assert listing(cache) == []


def test_connection_refused(cache, refused_url):
    with pytest.raises(DownloadError, match="could not reach") as info:
        download_category("pig", cache_dir=cache, base_url=refused_url)
    assert f"{refused_url}/pig.npz" in str(info.value)
    assert listing(cache) == []


def test_truncated_body_leaves_nothing(server, cache):
    source = write_npz(server.root / "pig.npz")
    server.truncate.add("pig.npz")
    size = source.stat().st_size
    with pytest.raises(DownloadError, match=f"got {size} of {size + 1000} bytes"):
        download_category("pig", cache_dir=cache, base_url=server.base)
    assert listing(cache) == []


def test_corrupt_body_leaves_nothing(server, cache):
    (server.root / "pig.npz").write_bytes(b"this is not a zip file at all" * 100)
    with pytest.raises(DownloadError, match="not a valid sketch-rnn npz") as info:
        download_category("pig", cache_dir=cache, base_url=server.base)
    assert isinstance(info.value, DataError)  # the CLI's boundary catches the base class
    assert f"{server.base}/pig.npz" in str(info.value)
    assert listing(cache) == []


def test_failing_progress_callback_leaves_nothing(server, cache):
    write_npz(server.root / "pig.npz")

    def progress(done, total):
        if done:
            raise KeyboardInterrupt  # Ctrl-C mid-download

    with pytest.raises(KeyboardInterrupt):
        download_category("pig", cache_dir=cache, base_url=server.base, progress=progress)
    assert listing(cache) == []


def test_progress_reports_increasing_byte_counts(server, cache, monkeypatch):
    monkeypatch.setattr(download, "CHUNK_SIZE", 512)
    size = write_npz(server.root / "pig.npz", sizes=(60, 5, 5)).stat().st_size
    calls = []

    def record(done, total):
        calls.append((done, total))

    download_category("pig", cache_dir=cache, base_url=server.base, progress=record)
    counts = [done for done, _ in calls]
    assert calls[0] == (0, size) and calls[-1] == (size, size)
    assert all(total == size for _, total in calls)
    assert len(counts) > 3 and all(a < b for a, b in zip(counts, counts[1:]))


def test_mirror_env_is_used(server, cache, monkeypatch):
    write_npz(server.root / "pig.npz")
    monkeypatch.setenv(MIRROR_ENV, server.base + "/")  # a trailing slash is tolerated
    assert category_url("pig") == f"{server.base}/pig.npz"
    download_category("pig", cache_dir=cache)
    assert server.requests == ["/sketchrnn/pig.npz"]


def test_explicit_base_url_beats_mirror(server, cache):
    write_npz(server.root / "pig.npz")  # the mirror env points at a closed port
    assert download_category("pig", cache_dir=cache, base_url=server.base).is_file()


def test_default_base_url_is_the_public_bucket(monkeypatch):
    monkeypatch.delenv(MIRROR_ENV)
    assert resolve_base_url() == "https://storage.googleapis.com/quickdraw_dataset/sketchrnn"
    assert category_url("The Eiffel Tower") == f"{BASE_URL}/The%20Eiffel%20Tower.npz"


def test_file_mirror_for_shared_filesystems(server, cache):
    write_npz(server.root / "pig.npz")
    path = download_category("pig", cache_dir=cache, base_url=server.root.as_uri())
    assert load_npz(path).train
    with pytest.raises(DownloadError):
        download_category("cat", cache_dir=cache, base_url=server.root.as_uri())
    assert listing(cache) == ["pig.npz"]


def test_cache_env_is_used(server, tmp_path, monkeypatch):
    write_npz(server.root / "pig.npz")
    env_cache = tmp_path / "from-env"
    monkeypatch.setenv(CACHE_ENV, str(env_cache))
    path = download_category("pig", base_url=server.base)
    assert path == env_cache / "pig.npz" and path.is_file()


def test_cache_dir_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "env"))
    assert resolve_cache_dir(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_cache_dir() == tmp_path / "env"
    monkeypatch.delenv(CACHE_ENV)
    assert resolve_cache_dir() == Path(platformdirs.user_cache_dir("sketchrnn")) / "quickdraw"


def test_unwritable_cache_is_a_data_error(server, tmp_path):
    write_npz(server.root / "pig.npz")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(DataError, match="cannot write to the sketch cache") as info:
        download_category("pig", cache_dir=blocker / "cache", base_url=server.base)
    assert CACHE_ENV in info.value.fix


@pytest.mark.parametrize("name", ["../../x", "../x", "a/b", "..", ".hidden", "", "x" * 500,
                                  "pig\x00", "a\\b", "/etc/passwd"])
def test_unsafe_category_names_are_refused_before_any_request(server, tmp_path, name):
    """The library checks names itself: the CLI is not the only caller."""
    cache = tmp_path / "deep" / "cache"
    with pytest.raises(DataError, match="category name"):
        download_category(name, base_url=server.base, cache_dir=cache)
    assert server.requests == []
    written = [p for p in tmp_path.rglob("*") if server.root not in (p, *p.parents)]
    assert written == []  # nothing written anywhere (the server's own folder aside)


def test_category_names_with_spaces_and_dashes_are_fine(server, cache):
    write_npz(server.root / "t-shirt.npz")
    assert download_category("t-shirt", base_url=server.base, cache_dir=cache).is_file()
