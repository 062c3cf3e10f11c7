"""`fit` puts the data in place on the driver before Ray starts, or fails at once naming every gap.

The mirror is a closed port on 127.0.0.1 (nothing listens: every download is refused), the cache
an empty temp folder but for one category, which must not be reported.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import numpy as np

from sketchrnn.data.quickdraw_names import DEFAULT_CATEGORIES

# Runs the real CLI and says, on exit, whether Ray was ever imported in that process.
PROBE = ("import atexit, sys\n"
         "atexit.register(lambda: print('RAY IMPORTED:', 'ray' in sys.modules, file=sys.stderr))\n"
         "from sketchrnn.cli.main import main\nmain(sys.argv[1:])\n")


def write_npz(path) -> None:
    sketches = np.empty(3, dtype=object)
    for i in range(3):
        sketches[i] = np.array([[1, 2, 0], [3, -4, 1]], dtype=np.int16)
    np.savez_compressed(path, train=sketches, valid=sketches, test=sketches)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the block ends: connections are refused


def test_fit_all_categories_without_network_fails_in_seconds_naming_each_missing_one(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    write_npz(cache / "sun.npz")  # cached: the one category that is not missing
    env = {**os.environ, "SKETCHRNN_MIRROR": f"http://127.0.0.1:{closed_port()}",
           "SKETCHRNN_CACHE": str(cache), "COLUMNS": "200"}
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-c", PROBE, "fit", "--all-categories", "--workers", "8",
                             "--runs", str(tmp_path / "runs")],
                            capture_output=True, text=True, env=env, timeout=120)
    elapsed = time.monotonic() - start
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr  # one message for all of them
    missing = [c for c in DEFAULT_CATEGORIES if c != "sun"]
    for category in missing:
        assert f"'{category}'" in errors[0]
    assert "'sun'" not in errors[0]
    assert f"no data for {len(missing)} of {len(DEFAULT_CATEGORIES)} categories" in errors[0]
    assert "RAY IMPORTED: False" in result.stderr  # no cluster started for nothing
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    assert elapsed < 60  # seconds, not minutes (the interpreter start dominates on a busy machine)
    assert sorted(p.name for p in cache.iterdir()) == ["sun.npz"]  # no partial downloads left
