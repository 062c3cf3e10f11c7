"""Helpers of the object-storage tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def keys(s3_client, bucket: str, prefix: str = "") -> list[str]:
    """Every object key under ``prefix``, sorted."""
    pages = s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def json_object(s3_client, bucket: str, key: str) -> dict:
    return json.loads(s3_client.get_object(Bucket=bucket, Key=key)["Body"].read())


SETS = ["data.batch_size=16", "data.max_seq_len=60", "draw.model.name=sketch_rnn_uncond",
        "draw.model.cell=lstm", "draw.model.n_mixtures=20"]
for _task in ("draw", "predict"):
    SETS += [f"{_task}.train.eval_every=10", f"{_task}.train.checkpoint_every=10",
             f"{_task}.train.eval_batches=2"]


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None,
            timeout: float = 240) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb", **(env or {})}
    return subprocess.run([sys.executable, "-m", "sketchrnn", *args], capture_output=True,
                          text=True, cwd=cwd, env=full_env, timeout=timeout)


def fit_args(data: Path, runs: str, *categories: str, steps: int = 20) -> list[str]:
    return ["fit", *categories, "--workers", "0", "--data-dir", str(data), "--preset", "tiny",
            "--steps", str(steps), "--runs", runs, *[a for s in SETS for a in ("--set", s)]]


def tune_args(data: Path, runs: str, space: Path | None = None, *, samples: int = 2,
              steps: int = 10) -> list[str]:
    """A sweep of the draw model of pig: `samples` tiny trials, evaluated every 5 steps."""
    sets = [s for s in SETS if "eval_every" not in s and "checkpoint_every" not in s]
    sets += ["draw.train.eval_every=5", "draw.train.checkpoint_every=5", "draw.train.seed=1"]
    space_args = ["--space", str(space)] if space is not None else []
    return ["tune", "draw", "pig", *space_args, "--search", "random", "--samples", str(samples),
            "--steps", str(steps), "--preset", "tiny", "--data-dir", str(data), "--runs", runs,
            *[a for s in sets for a in ("--set", s)]]
