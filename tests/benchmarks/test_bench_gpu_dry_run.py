"""bench_gpu.py's GPU-filling sections run end to end on the CPU (`--dry-run`, reduced), so the one
run on a GPU machine does not fail on a typo; and the captured path trains to the eager loss."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.e2e
def test_dry_run_of_the_fill_sections(tmp_path):
    out = tmp_path / "gpu.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_gpu.py"), "--dry-run", "--out", str(out),
         "--sections", "capture,latency,pack", "--pack-jobs", "1", "--val-steps", "3",
         "--latency-points", "8", "--compile-backend", "eager"],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["errors"] == {} and result["skipped"] == [] and not result["partial"]
    runs = {r["variant"]: r for r in result["sections"]["capture"]["runs"]}
    assert set(runs) == {"eager fp32", "eager tf32", "captured fp32", "captured tf32"}
    assert runs["captured fp32"]["status"] == "compiled (default)"
    # Same init, same batches (padded to buckets when captured): the same validation loss.
    assert abs(runs["captured fp32"]["valid_loss"] - runs["eager fp32"]["valid_loss"]) < 1e-4
    assert result["sections"]["latency"]["failed"] == []
    latency = result["sections"]["latency"]["rows"]
    assert {(r["variant"], r["case"]) for r in latency} == {
        (v, c) for v in ("cpu eager", "cpu captured") for c in ("sample -n 1", "serve finish it")}
    assert result["sections"]["pack"]["rows"][0]["sketches_per_s_sum"] > 0
