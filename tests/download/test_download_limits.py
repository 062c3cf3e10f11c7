"""Download limits against a real HTTP server on 127.0.0.1: endless bodies, huge
Content-Length, a 1-byte-per-2-s drip and a stall all fail fast, cleanly, leaving no file."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sketchrnn.data.download import (
    MAX_BYTES,
    MAX_FULL_BYTES,
    DownloadLimits,
    download_category,
    limits_for,
)
from sketchrnn.errors import DownloadError


class _Misbehaving(http.server.BaseHTTPRequestHandler):
    """/endless: no length, bytes forever; /huge: announces 100 GiB; /drip: 1 byte every 2 s;
    /stall: headers, then silence; /slow-headers: a header that never ends."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        kind = self.path.split("/")[1]
        if kind == "slow-headers":  # a valid status line, then a header one byte at a time
            self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Drip: ")
            while not self.server.stop.wait(0.3):
                try:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                except OSError:
                    return
            return
        self.send_response(200)
        if kind == "huge":
            self.send_header("Content-Length", str(100 * 2**30))
        elif kind == "drip":
            self.send_header("Content-Length", "1000")
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        try:
            if kind == "endless":
                while not self.server.stop.is_set():
                    self.wfile.write(b"\0" * 65536)
            elif kind == "drip":
                while not self.server.stop.wait(2.0):
                    self.wfile.write(b"x")
                    self.wfile.flush()
            else:  # huge and stall: send nothing until the client gives up
                self.server.stop.wait(30)
        except OSError:  # the client hung up: what a limit is for
            pass

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Misbehaving)
    srv.daemon_threads = True
    srv.stop = threading.Event()
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.stop.set()
    srv.shutdown()
    srv.server_close()


def fetch(base: str, kind: str, cache: Path, limits: DownloadLimits | None = None):
    """Download category ``kind`` (served per its misbehaviour); returns (error, seconds)."""
    start = time.monotonic()
    with pytest.raises(DownloadError) as info:
        download_category(kind, base_url=f"{base}/{kind}", cache_dir=cache, limits=limits)
    msg = str(info.value)
    assert "\n" not in msg and f"{base}/{kind}" in msg
    assert not cache.exists() or list(cache.iterdir()) == []  # no temp file left behind
    return msg, time.monotonic() - start


def test_an_endless_body_stops_at_the_cap(server, tmp_path):
    msg, _ = fetch(server, "endless", tmp_path / "c", DownloadLimits(max_bytes=1_000_000))
    assert "more than 1,000,000 bytes" in msg


def test_a_huge_content_length_is_refused_before_reading(server, tmp_path):
    msg, seconds = fetch(server, "huge", tmp_path / "c")  # the default limits
    assert f"announces {100 * 2**30:,} bytes" in msg
    assert seconds < 5


def test_a_one_byte_per_two_seconds_drip_fails(server, tmp_path):
    limits = DownloadLimits(grace_s=1.0, min_bytes_per_s=100, stall_s=10)
    msg, seconds = fetch(server, "drip", tmp_path / "c", limits)
    assert "too slow" in msg and "100 bytes/s" in msg
    assert seconds < 8


def test_headers_dripping_forever_hit_the_deadline(server, tmp_path):
    """The rate check never sees headers, and a byte every 0.3 s never trips the stall timeout."""
    limits = DownloadLimits(stall_s=10, deadline_s=1.5)
    msg, seconds = fetch(server, "slow-headers", tmp_path / "c", limits)
    assert "took longer than 1.5 s" in msg and seconds < 6


def test_a_body_drip_hits_the_deadline_even_without_a_rate_floor(server, tmp_path):
    limits = DownloadLimits(min_bytes_per_s=0, stall_s=10, deadline_s=3)
    msg, seconds = fetch(server, "drip", tmp_path / "c", limits)
    assert "took longer than 3 s" in msg and seconds < 8


def test_a_stalled_body_times_out(server, tmp_path):
    msg, seconds = fetch(server, "stall", tmp_path / "c", DownloadLimits(stall_s=0.5))
    assert "stalled" in msg and seconds < 5


def test_default_caps_leave_room_for_real_files():
    """The largest estimated real files (see download.py) fit with a margin of at least 2x, and
    the deadline lets them arrive at the minimum rate."""
    for full, size in ((False, 100 * 2**20), (True, 450 * 2**20)):
        limits = limits_for(full=full)
        assert limits.max_bytes == (MAX_FULL_BYTES if full else MAX_BYTES) >= 2 * size
        assert limits.deadline_s >= size / 2 / limits.min_bytes_per_s  # half the worst case


def test_the_cli_reports_a_refused_download_on_one_line(server, tmp_path):
    env = {**os.environ, "SKETCHRNN_MIRROR": f"{server}/huge", "COLUMNS": "400"}
    result = subprocess.run([sys.executable, "-m", "sketchrnn", "data", "download", "pig",
                             "--cache-dir", str(tmp_path / "c")], capture_output=True, text=True,
                            env=env, cwd=tmp_path, timeout=60)
    assert result.returncode == 1, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "announces" in lines[0], result.stderr
