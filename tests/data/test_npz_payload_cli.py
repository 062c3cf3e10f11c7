"""Every command that reads an npz, given a planted payload: exit 1, one line, no code run.

The payload (see npz_payloads.py) creates a marker file when unpickled; np.load with pickle
enabled runs it (test_safe_npz.py proves that), so a missing marker here means the command
refused the file rather than never reading it: each case also checks that the error names it.
"""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from functools import partial
from pathlib import Path

import pytest

from .npz_payloads import plant


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    full_env = {**os.environ, "COLUMNS": "400", "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "sketchrnn", *args], capture_output=True,
                          text=True, env=full_env, cwd=cwd, timeout=300)


@pytest.fixture
def evil(tmp_path) -> tuple[Path, Path]:
    """A data folder whose pig.npz and circle.npz carry a payload; the marker it would create."""
    folder, marker = tmp_path / "evil", tmp_path / "pwned"
    folder.mkdir()
    for name in ("pig", "circle"):
        plant(folder / f"{name}.npz", marker, "open")
    return folder, marker


def assert_refused(result: subprocess.CompletedProcess, marker: Path, file_name: str) -> None:
    assert not marker.exists(), "the payload ran"
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert file_name in lines[0] and "refused" in lines[0], lines[0]


def test_data_info(evil, tmp_path):
    folder, marker = evil
    result = run_cli("data", "info", "pig", "--data-dir", str(folder), "--no-download", cwd=tmp_path)
    assert_refused(result, marker, "pig.npz")


def test_predict_file(evil, tmp_path):
    folder, marker = evil
    result = run_cli("predict", str(folder / "pig.npz"), "--runs", str(tmp_path / "runs"),
                     cwd=tmp_path)
    assert_refused(result, marker, "pig.npz")


def test_fit(evil, tmp_path):
    """fit reports each failed job in its summary (stdout) and exits 1."""
    folder, marker = evil
    result = run_cli("fit", "pig", "--only", "draw", "--data-dir", str(folder), "--workers", "0",
                     "--runs", str(tmp_path / "runs"), "--steps", "1", cwd=tmp_path)
    assert not marker.exists(), "the payload ran"
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    failed = [ln for ln in result.stdout.splitlines() if ln.startswith("draw-pig failed")]
    assert len(failed) == 1 and "pig.npz" in failed[0] and "refused" in failed[0], result.stdout


def test_reconstruct(evil, tmp_path, tiny_runs):
    folder, marker = evil
    result = run_cli("reconstruct", "circle", "--data-dir", str(folder), "--runs", str(tiny_runs),
                     "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert_refused(result, marker, "circle.npz")


def test_predict_from_test(evil, tmp_path, tiny_runs):
    folder, marker = evil
    result = run_cli("predict", "--from-test", "circle", "--data-dir", str(folder), "--runs",
                     str(tiny_runs), "--no-complete", cwd=tmp_path)
    assert_refused(result, marker, "circle.npz")


@pytest.fixture
def mirror(evil):
    """A real HTTP server on 127.0.0.1 serving the evil folder as a QuickDraw mirror."""
    folder, _ = evil
    handler = partial(_QuietHandler, directory=str(folder))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_data_download_from_a_mirror(evil, mirror, tmp_path):
    _, marker = evil
    cache = tmp_path / "cache"
    result = run_cli("data", "download", "pig", "--cache-dir", str(cache),
                     env={"SKETCHRNN_MIRROR": mirror}, cwd=tmp_path)
    assert not marker.exists(), "the payload ran"
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "refused" in lines[0] and mirror in lines[0], result.stderr
    assert not cache.exists() or list(cache.iterdir()) == []  # nothing kept
