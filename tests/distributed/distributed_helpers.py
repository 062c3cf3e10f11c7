"""Helpers shared by the distributed tests: synthetic QuickDraw data and the CLI runner."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
# What Ray itself prints: the raylet's messages, workers' lines ("(RayTrainWorker pid=...)"),
# log records and the dumps of killed processes.
RAY_LINE = re.compile(r"\(raylet\)|pid=\d+|\bWARNING\b|\bINFO\b|Traceback|SIGTERM|worker\.py:\d+")


def random_walk(rng: np.random.Generator, n_min: int = 20, n_max: int = 40) -> np.ndarray:
    """One stroke-3 sketch ``[n, 3]`` int16: a random walk of 20-40 points with a few pen lifts."""
    n = int(rng.integers(n_min, n_max + 1))
    offsets = rng.normal(0.0, 12.0, size=(n, 2)).round()
    pen = np.zeros(n)
    pen[rng.choice(n - 1, size=int(rng.integers(1, 4)), replace=False)] = 1
    pen[-1] = 1  # every sketch ends with the pen up, as in QuickDraw
    return np.column_stack([offsets, pen]).astype(np.int16)


def write_category(path: Path, *, seed: int, n_train: int, n_valid: int = 40, n_test: int = 40) -> Path:
    """A sketch-rnn .npz: object arrays of int16 ``[n, 3]`` under train / valid / test."""
    rng = np.random.default_rng(seed)

    def split(n: int) -> np.ndarray:
        arr = np.empty(n, dtype=object)
        for i in range(n):
            arr[i] = random_walk(rng)
        return arr

    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, train=split(n_train), valid=split(n_valid), test=split(n_test))
    return path


def write_categories(folder: Path, names: list[str], n_train: int = 240) -> Path:
    for i, name in enumerate(names):
        write_category(folder / f"{name}.npz", seed=100 + i, n_train=n_train)
    return folder


def fault_injection_env(spec: str) -> dict[str, str]:
    """Environment for `run_cli` that makes rank 0 of a job die once at a step (`<job>:<step>`),
    through the test-only `fault_injection/sitecustomize.py`."""
    return {"SKETCHRNN_FAULT_INJECT": spec, "PYTHONPATH": fault_injection_path()}


def fault_injection_path() -> str:
    """PYTHONPATH with the test-only `fault_injection/sitecustomize.py` first."""
    paths = [str(Path(__file__).parent / "fault_injection"), os.environ.get("PYTHONPATH", "")]
    return os.pathsep.join(p for p in paths if p)


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 420) -> subprocess.CompletedProcess:
    """`sketchrnn ...` in a subprocess (the real entry point), wide output, no colour."""
    full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb",
                "RAY_USAGE_STATS_ENABLED": "0", **(env or {})}
    full_env.pop("RAY_ADDRESS", None)
    return subprocess.run([sys.executable, "-m", "sketchrnn", *args], cwd=REPO, env=full_env,
                          capture_output=True, text=True, timeout=timeout)
