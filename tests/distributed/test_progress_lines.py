"""`fit` writes plain progress lines when its output is not a terminal (a log file, nohup, CI).

A live table redraws in place on a terminal; in a pipe it would show nothing until the end. The
CLI runs here as a user's `sketchrnn fit ... > log` does: a subprocess whose stdout is a pipe.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from distributed_helpers import run_cli

# "12:34:56 draw-pig: step 7/12, loss 1.23, recon 1.2, kl 0.03, 4.1 steps/s, ETA 0:00:01"
LINE = re.compile(r"^\d\d:\d\d:\d\d (draw-\w+|predict): step (\d+)/(\d+), loss [-\d.e+]+, .*"
                  r"[\d.e+]+ steps/s, ETA \d+:\d\d:\d\d$", re.M)


def _fit(sketch_dir: Path, runs: Path, *extra: str):
    return run_cli("fit", "pig", "--only", "draw", "--preset", "tiny", "--steps", "12",
                   "--data-dir", str(sketch_dir), "--runs", str(runs), "--set", "data.batch_size=16",
                   "--set", "data.max_seq_len=60", "--set", "draw.train.eval_every=6",
                   "--set", "draw.train.checkpoint_every=6", "--set", "draw.train.eval_batches=1", *extra)


def test_in_process_fit_prints_progress_lines_to_a_pipe(sketch_dir, tmp_path):
    proc = _fit(sketch_dir, tmp_path / "runs", "--workers", "0", "--progress-every", "0")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    steps = [int(m.group(2)) for m in LINE.finditer(proc.stdout)]
    assert steps == list(range(1, 13)), proc.stdout  # every 0 s: a line at every step
    assert "\x1b[" not in proc.stdout  # plain text, no cursor movement or colour
    assert re.search(r"^\d\d:\d\d:\d\d draw-pig: done", proc.stdout, re.M), proc.stdout
    assert re.search(r"draw-pig\s*│\s*12/12", proc.stdout), proc.stdout  # the table, once, at the end


def test_the_interval_spaces_the_lines(sketch_dir, tmp_path):
    proc = _fit(sketch_dir, tmp_path / "runs", "--workers", "0", "--progress-every", "3600")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert [int(m.group(2)) for m in LINE.finditer(proc.stdout)] == [1], proc.stdout  # the first only


@pytest.mark.e2e
def test_ray_fit_prints_progress_lines_to_a_pipe(sketch_dir, tmp_path):
    proc = _fit(sketch_dir, tmp_path / "runs", "--workers", "1", "--progress-every", "0")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    steps = [int(m.group(2)) for m in LINE.finditer(proc.stdout)]
    assert steps and steps == sorted(steps) and steps[-1] == 12, proc.stdout
    assert "\x1b[" not in proc.stdout
