"""`sketchrnn tune --runs s3://...` against a real S3 server on 127.0.0.1 (moto's server mode).

A sweep of two tiny trials runs with the bucket as its runs folder; what is in the bucket is then
read back with boto3 (not through sketchrnn): Tune's own state, each trial's job folder with a
published checkpoint, and the best trial's config and record, which must agree with the
trials' own metrics and Tune's record of their parameters. The same command again resumes the
sweep from the bucket instead of training anything twice.
"""

from __future__ import annotations

import json
import time

import pytest
import yaml

from s3_helpers import json_object, keys, run_cli, tune_args

pytestmark = pytest.mark.e2e

SPACE = "draw.train.lr: {loguniform: [1.0e-3, 1.0e-2]}\n"
SWEEP = "runs/tune-draw-pig/"


def _valid_losses(s3_client, bucket: str, trial: str) -> list[float]:
    body = s3_client.get_object(Bucket=bucket, Key=f"{SWEEP}{trial}/job/metrics.jsonl")["Body"].read()
    return [r["loss"] for r in map(json.loads, body.decode().splitlines()) if r["split"] == "valid"]


def _check_published_checkpoint(s3_client, bucket: str, prefix: str) -> None:
    """The manifest names a whole checkpoint: every file there, with the size it records."""
    manifest = json_object(s3_client, bucket, prefix + ".json")
    for name, want in manifest["files"].items():
        head = s3_client.head_object(Bucket=bucket, Key=f"{prefix}/{manifest['version']}/{name}")
        assert head["ContentLength"] == want["size"], name


def test_a_sweep_runs_in_the_bucket_and_resumes_from_it(tmp_path, bucket, s3_client, s3_env, pig_data):
    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    work = tmp_path / "work"
    work.mkdir()
    runs = f"s3://{bucket}/runs"
    args = tune_args(pig_data, runs, space)
    start = time.perf_counter()
    proc = run_cli(*args, cwd=work, timeout=300)
    print(f"\nsweep of 2 trials into the bucket: {time.perf_counter() - start:.0f} s wall")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert list(work.iterdir()) == [], "tune wrote into the working directory (a folder named s3:?)"
    assert f"best config: {runs}/tune-draw-pig/best.yaml" in proc.stdout, proc.stdout[-2000:]

    found = keys(s3_client, bucket, SWEEP)
    for name in ("sweep.json", "best.yaml", "best.json", "trials.png", "tuner.pkl"):
        assert SWEEP + name in found, found
    assert any(k.startswith(SWEEP + "experiment_state") for k in found), "no Tune state to resume from"
    trials = sorted({k[len(SWEEP):].split("/")[0] for k in found if k.endswith("/params.json")})
    assert len(trials) == 2, found
    for trial in trials:
        _check_published_checkpoint(s3_client, bucket, f"{SWEEP}{trial}/job/checkpoints/latest")
        assert _valid_losses(s3_client, bucket, trial), f"{trial} recorded no validation"
    assert not any(k.endswith(".lock") or "/.tmp" in k for k in found), found

    # The best trial is the one with the lowest validation loss in the trials' own metrics, and
    # its config carries the learning rate Tune recorded for it.
    best = json_object(s3_client, bucket, SWEEP + "best.json")
    lowest = {t: min(_valid_losses(s3_client, bucket, t)) for t in trials}
    assert best["trial"] == min(lowest, key=lowest.get)
    assert best["value"] == pytest.approx(lowest[best["trial"]])
    assert best["checkpoint"].startswith(f"{runs}/tune-draw-pig/{best['trial']}/job/checkpoints/")
    params = json_object(s3_client, bucket, f"{SWEEP}{best['trial']}/params.json")
    config = yaml.safe_load(s3_client.get_object(Bucket=bucket, Key=SWEEP + "best.yaml")["Body"].read())
    assert config["draw"]["train"]["lr"] == pytest.approx(params["draw.train.lr"])

    metrics = {t: s3_client.head_object(Bucket=bucket, Key=f"{SWEEP}{t}/job/metrics.jsonl")["ETag"]
               for t in trials}
    again = run_cli(*args, cwd=work, timeout=300)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert f"resuming sweep {runs}/tune-draw-pig" in again.stdout, again.stdout[-2000:]
    assert {t: s3_client.head_object(Bucket=bucket, Key=f"{SWEEP}{t}/job/metrics.jsonl")["ETag"]
            for t in trials} == metrics, "a finished trial trained again"
    assert list(work.iterdir()) == []
