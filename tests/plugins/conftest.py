"""Fixtures for the plugin tests. (Each module skips itself when sketchrnn-shapes is missing:
with --import-mode=importlib a test module cannot import helpers from a sibling module.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

QUIET = {"COLUMNS": "200", "OMP_NUM_THREADS": "1"}


@pytest.fixture
def run_cli():
    """`sketchrnn ARGS` in a fresh interpreter, as a user would run it.

    One torch thread: tiny models gain nothing from two, and on a busy two-core CI machine
    OpenMP threads spin-waiting for each other make every step many times slower.
    """

    def run(*args: str, cwd: Path, env: dict[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, **QUIET, **(env or {})}
        return subprocess.run([sys.executable, "-m", "sketchrnn", *args], cwd=cwd, env=full_env,
                              capture_output=True, text=True, timeout=timeout)

    return run


@pytest.fixture(autouse=True)
def one_torch_thread():
    """The in-process tests' tiny models run on one thread too (see run_cli), then restore it.
    Tests that never imported torch (the cluster configs) don't pay for importing it here."""
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
