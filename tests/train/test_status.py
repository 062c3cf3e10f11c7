"""`sketchrnn status` on runs folders made by real training (the session's tiny fit, a failing
job, a live lock), checked against the job folders' own files read here."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sketchrnn.config import validate_config
from sketchrnn.errors import DataError
from sketchrnn.storage import open_runs
from sketchrnn.train.job import make_jobs
from sketchrnn.train.lock import JobLock
from sketchrnn.train.loop import fit_job
from sketchrnn.train.status import runs_status


def _status_cli(runs: Path) -> dict[str, dict]:
    proc = subprocess.run([sys.executable, "-m", "sketchrnn", "status", "--runs", str(runs), "--json"],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})
    assert proc.returncode == 0, proc.stderr
    return {row["job"]: row for row in map(json.loads, proc.stdout.splitlines())}


def _rows(job_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (job_dir / "metrics.jsonl").read_text().splitlines() if line]


def test_finished_jobs_are_done_with_their_last_losses(tiny_runs, tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(tiny_runs, runs)
    status = _status_cli(runs)
    assert set(status) == {"predict", "draw-circle"}
    for job, row in status.items():
        rows = _rows(runs / job)
        train = [r for r in rows if r["split"] == "train"][-1]
        valid = [r for r in rows if r["split"] == "valid"][-1]
        assert row["state"] == "done" and row["eta_s"] is None
        assert row["step"] == train["step"] == train["total"]
        assert row["loss"] == train["loss"] and row["valid_loss"] == valid["loss"]
    assert status["predict"]["accuracy"] == [r for r in _rows(runs / "predict")
                                             if r["split"] == "valid"][-1]["accuracy"]


def test_a_job_held_by_a_live_fit_is_running_and_one_left_behind_is_stale(tiny_runs, tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(tiny_runs, runs)
    for name in ("predict", "draw-circle"):  # as if both were still training
        meta_path = runs / name / "checkpoints" / "latest" / "meta.json"
        meta = json.loads(meta_path.read_text())
        meta["metrics"] = {k: v for k, v in meta["metrics"].items() if not k.startswith("test_")}
        meta_path.write_text(json.dumps(meta))
    lock = JobLock.acquire(runs / "predict")  # this process: alive
    try:
        status = _status_cli(runs)
    finally:
        lock.release()
    assert status["predict"]["state"] == "running"
    assert status["draw-circle"]["state"] == "stale" and "resume" in status["draw-circle"]["note"]


def test_a_job_whose_training_failed_says_why(tiny_runs, tmp_path):
    config = validate_config({"data": {"data_dir": str(tmp_path / "empty"), "download": False},
                              "draw": {"model": {"preset": "tiny"}, "train": {"steps": 4}}})
    (tmp_path / "empty").mkdir()
    (job,) = make_jobs(config, ["circle"], only="draw")
    runs = tmp_path / "runs"
    with pytest.raises(DataError) as caught:
        fit_job(job, runs / job.name, device=torch.device("cpu"))
    (row,) = runs_status(open_runs(runs))
    assert row.state == "failed" and row.note == str(caught.value)[:200]


def test_an_empty_runs_folder_has_no_jobs(tmp_path):
    assert runs_status(open_runs(tmp_path / "nothing")) == []
