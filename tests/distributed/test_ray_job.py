"""`sketchrnn fit` submitted with `ray job submit` to a real Ray head (ray_nodes.py) that runs the
dashboard's job server on 127.0.0.1: `ray job logs` shows the same per-job progress lines as a
`fit` whose output is not a terminal (job, step/total, losses, steps/s, ETA).

The progress lines are checked against the jobs' own metrics.jsonl: the printed train loss at
the steps the training loop recorded (its evaluation steps) is the one it recorded there.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from distributed_helpers import write_categories
from ray_nodes import TwoNodeCluster, free_port

pytestmark = [pytest.mark.cluster, pytest.mark.e2e, pytest.mark.timeout(900)]

STEPS = 20
SETS = ["data.batch_size=16", "data.max_seq_len=60", "draw.train.eval_every=10",
        "draw.train.checkpoint_every=10", "draw.train.eval_batches=2"]
# "08:01:02 draw-pig: step 7/20, loss 1.234, recon 1.1, kl 0.13, 3.1 steps/s, ETA 0:00:04"
LINE = re.compile(r"^\d\d:\d\d:\d\d (draw-\w+): step (\d+)/(\d+), loss (\S+), .*?(\S+) steps/s, ETA \d+:\d\d:\d\d$",
                  re.MULTILINE)


def _ray_job(cluster: TwoNodeCluster, command: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`ray job COMMAND --address <the head's job server> ARGS`, with the cluster's token."""
    ray = str(Path(sys.executable).with_name("ray"))
    return subprocess.run([ray, "job", command, "--address", cluster.dashboard_url, *args], env=cluster.env,
                          capture_output=True, text=True, timeout=timeout)


def _train_losses(job_dir: Path) -> dict[int, float]:
    rows = map(json.loads, (job_dir / "metrics.jsonl").read_text().splitlines())
    return {r["step"]: r["loss"] for r in rows if r["split"] == "train"}


def test_a_submitted_fit_shows_its_progress_lines_in_ray_job_logs(tmp_path):
    pytest.importorskip("aiohttp", reason="the job server needs ray[default] (the test extra)")
    data = write_categories(tmp_path / "data", ["pig", "sun"], n_train=120)
    runs = tmp_path / "runs"
    root = Path(tempfile.mkdtemp(prefix="sk-job-"))  # short: Ray's socket paths live under it
    head = TwoNodeCluster(root, dashboard_port=free_port())
    job_id = f"sketchrnn-{secrets.token_hex(4)}"
    start, submitted, ended = time.perf_counter(), None, False
    try:
        head.start(second_node=False)
        fit = [str(Path(sys.executable).with_name("sketchrnn")), "fit", "pig", "sun", "--only", "draw",
               "--workers", "2", "--data-dir", str(data), "--runs", str(runs), "--preset", "tiny",
               "--steps", str(STEPS), "--progress-every", "0", *[a for s in SETS for a in ("--set", s)]]
        submitted = _ray_job(head, "submit", "--submission-id", job_id, "--no-wait", "--", *fit)
        assert submitted.returncode == 0, submitted.stdout[-3000:] + submitted.stderr[-3000:]
        logs = _ray_job(head, "logs", "--follow", job_id, timeout=600)  # returns once the job has ended
        status = _ray_job(head, "status", job_id)
        ended = True
    finally:
        if submitted is not None and submitted.returncode == 0 and not ended:
            _ray_job(head, "stop", job_id, timeout=60)  # its driver may run outside the head's group
        head.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(f"\nhead with dashboard, fit of 2 jobs submitted and followed: {time.perf_counter() - start:.0f} s wall")
    assert f"Job '{job_id}' succeeded" in status.stdout, status.stdout + status.stderr + logs.stdout[-3000:]
    lines = LINE.findall(logs.stdout)
    assert {job for job, *_ in lines} == {"draw-pig", "draw-sun"}, logs.stdout[-3000:]
    for job in ("draw-pig", "draw-sun"):
        printed = {int(step): loss for name, step, total, loss, rate in lines if name == job}
        assert all(int(total) == STEPS and float(rate) > 0 for name, _, total, _, rate in lines)
        recorded = _train_losses(runs / job)  # steps 10 and 20: the evaluations' steps
        assert set(recorded) <= set(printed), (job, sorted(printed), logs.stdout[-3000:])
        # each line's loss is that step's own (not the last one sent before an evaluation)
        assert {step: printed[step] for step in recorded} == {k: f"{v:.4g}" for k, v in recorded.items()}
