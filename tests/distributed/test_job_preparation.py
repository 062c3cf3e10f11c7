"""One job preparation for both ways `fit` trains: in this process (`--workers 0`) and on Ray.

Resume, skip, `--fresh`, the refusal of changed categories or model settings and the per-job
lock must behave the same on both paths, and a refusal must leave the runs folder untouched.
Only `--fresh` on Ray starts Ray: everything else is decided before it would start.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from distributed_helpers import REPO, run_cli

from tests.conftest import wait_for_lock

pytestmark = pytest.mark.e2e

WORKERS = ["0", "2"]


def _common(data: Path, runs: Path, *extra: str) -> list[str]:
    sets = ["data.batch_size=16", "data.max_seq_len=60", "predict.model.name=classifier",
            "predict.loss.name=classification"]
    for task in ("draw", "predict"):
        sets += [f"{task}.train.eval_every=5", f"{task}.train.checkpoint_every=5",
                 f"{task}.train.eval_batches=1"]
    return ["--data-dir", str(data), "--runs", str(runs), "--steps", "6",
            *[arg for s in sets for arg in ("--set", s)], *extra]


def _snapshot(runs: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(runs)): (p.stat().st_mtime_ns, p.stat().st_size)
            for p in sorted(runs.rglob("*")) if p.is_file()}


def _step(runs: Path, job: str) -> int:
    return json.loads((runs / job / "checkpoints" / "latest" / "meta.json").read_text())["step"]


@pytest.fixture(scope="module")
def trained(sketch_dir, tmp_path_factory):
    """draw-cat, draw-pig and predict over [cat, pig], tiny models, trained to the end in-process."""
    runs = tmp_path_factory.mktemp("runs")
    proc = run_cli("fit", "cat", "pig", "--workers", "0", "--preset", "tiny", *_common(sketch_dir, runs))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # The plan states each job's effective schedules: 6 steps, lr to min_lr + 1% (lr - min_lr) =
    # 1.99e-05 on the last step, KL at 95% of w_KL by step ceil(0.5 * 6) = 3; predict: cosine.
    for job in ("draw-cat", "draw-pig"):
        assert re.search(rf"{job}\s*│\s*6\s*│\s*16\s*│\s*lr 0\.001->1\.99e-05 exp, KL 95% by step 3\b",
                         proc.stdout), proc.stdout
    assert re.search(r"predict\s*│\s*6\s*│\s*16\s*│\s*lr 0\.003->1e-05 cos", proc.stdout), proc.stdout
    best = json.loads((runs / "predict" / "checkpoints" / "best" / "meta.json").read_text())
    assert best["extra"]["calibration"]["calibration_T"] > 0  # the CLI passed the calibration in
    return runs


def _refused(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "unexpected" not in proc.stderr, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


@pytest.mark.parametrize("workers", WORKERS)
def test_a_predict_job_asked_for_other_categories_is_refused(trained, sketch_dir, workers):
    before = _snapshot(trained)
    proc = run_cli("fit", "cat", "pig", "sun", "--workers", workers, "--preset", "tiny",
                   *_common(sketch_dir, trained))
    _refused(proc, "predict was trained on ['cat', 'pig'], now asked for ['cat', 'pig', 'sun']",
             "--fresh", "another --runs")
    assert _snapshot(trained) == before
    assert not (trained / "draw-sun").exists()  # refused before any job started


@pytest.mark.parametrize("workers", WORKERS)
def test_a_resume_with_another_model_size_is_refused(trained, sketch_dir, workers):
    before = _snapshot(trained)
    proc = run_cli("fit", "cat", "pig", "--workers", workers, "--preset", "small",
                   *_common(sketch_dir, trained, "--set", "data.clamp=50"))
    _refused(proc, "draw-cat was trained with other model/loss/data settings", "draw.model.dec_hidden",
             "predict.model.enc_hidden", "data.clamp 1000.0 -> 50.0", "--fresh", "another --runs",
             "config.yaml")
    assert _snapshot(trained) == before


@pytest.mark.parametrize("workers", WORKERS)
def test_finished_jobs_are_skipped(trained, sketch_dir, workers):
    before = _snapshot(trained)
    proc = run_cli("fit", "cat", "pig", "--workers", workers, "--preset", "tiny",
                   *_common(sketch_dir, trained))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "plan:" not in proc.stdout  # nothing to train: Ray was not even started
    assert _snapshot(trained) == before


@pytest.mark.parametrize("workers", WORKERS)
def test_a_held_lock_stops_the_second_fit_naming_the_holder(trained, sketch_dir, workers):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from sketchrnn.train.lock import JobLock; "
         f"JobLock.acquire(sys.argv[1], holder='test holder'); print('held', flush=True); time.sleep(120)",
         str(trained / "draw-pig")], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        before = _snapshot(trained)
        proc = run_cli("fit", "cat", "pig", "--workers", workers, "--preset", "tiny",
                       *_common(sketch_dir, trained))
        _refused(proc, "draw-pig is in use by test holder", f"pid {holder.pid} on ")
        assert _snapshot(trained) == before
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("workers", WORKERS)
def test_fresh_retrains_from_scratch(trained, sketch_dir, workers):
    (trained / "draw-cat" / "planted.txt").write_text("left from an earlier run")
    proc = run_cli("fit", "cat", "--only", "draw", "--fresh", "--workers", workers, "--preset", "tiny",
                   *_common(sketch_dir, trained))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert not (trained / "draw-cat" / "planted.txt").exists()
    assert _step(trained, "draw-cat") == 6
    rows = [json.loads(line) for line in (trained / "draw-cat" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if r["split"] == "valid"] == [5, 6]  # one run's rows, not two
    assert not (trained / "draw-cat" / "fit.lock").exists()


def test_two_fits_on_one_runs_folder(sketch_dir, tmp_path):
    """A second fit fails naming the first; Ctrl-C releases the lock; a dead holder's lock is
    taken over."""
    runs = tmp_path / "runs"
    args = ["fit", "sun", "--only", "draw", "--workers", "0", "--preset", "tiny",
            *_common(sketch_dir, runs)]
    first = subprocess.Popen([sys.executable, "-m", "sketchrnn", *args, "--steps", "100000"],
                             cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lock = runs / "draw-sun" / "fit.lock"
    try:
        wait_for_lock(lock, first.pid)
        second = run_cli(*args)
        _refused(second, "draw-sun is in use by sketchrnn fit", f"pid {first.pid} on ")
    finally:
        first.send_signal(signal.SIGINT)
        first.wait(timeout=120)
    assert first.returncode == 130 and not lock.exists(), first.stderr[-2000:]

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock.write_text(json.dumps({"holder": "sketchrnn fit", "pid": dead.pid, "host": socket.gethostname(),
                                "started": "2026-01-01T00:00:00+00:00", "token": "crashed"}))
    third = run_cli(*args, "--fresh")  # the first fit may have checkpointed past step 6
    assert third.returncode == 0, third.stdout[-2000:] + third.stderr[-2000:]
    assert _step(runs, "draw-sun") == 6 and not lock.exists()

