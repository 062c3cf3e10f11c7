"""`--runs s3://...` end to end against a real S3 server on 127.0.0.1 (moto's server mode).

One tiny fit writes into the bucket; what is in the bucket is read back with boto3 and
safetensors (not through sketchrnn), then `sample`, `eval draw`, `predict`, `export` and
`status` read the same URI.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from s3_helpers import fit_args, json_object, keys, run_cli, tune_args

pytestmark = pytest.mark.e2e


def test_fit_writes_into_the_bucket_and_readers_use_it(tmp_path, bucket, s3_client, s3_env, pig_data):
    runs = f"s3://{bucket}/runs"
    proc = run_cli(*fit_args(pig_data, runs, "pig", "sun"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert not (tmp_path / "s3:").exists(), "the URI was taken for a local folder"
    assert list(tmp_path.iterdir()) == [], "fit wrote into the working directory"

    found = keys(s3_client, bucket, "runs/")
    for job in ("draw-pig", "draw-sun", "predict"):
        for name in ("metrics.jsonl", "config.yaml", "loss.png"):
            assert f"runs/{job}/{name}" in found, found
        assert f"runs/{job}/fit.lock" not in found, "the lock outlived the fit"
    assert "runs/draw-pig/samples/step_0000020.png" in found

    # The published checkpoint, read with boto3 + safetensors: weights of the final step.
    from safetensors.torch import load

    manifest = json_object(s3_client, bucket, "runs/draw-pig/checkpoints/latest.json")
    prefix = f"runs/draw-pig/checkpoints/latest/{manifest['version']}/"
    meta = json_object(s3_client, bucket, prefix + "meta.json")
    assert meta["step"] == 20 and "test_loss" in meta["metrics"]
    body = s3_client.get_object(Bucket=bucket, Key=prefix + "model.safetensors")["Body"].read()
    assert len(body) == manifest["files"]["model.safetensors"]["size"]
    assert load(body), "no tensors in the published weights"
    assert prefix + "train_state.pt" in found

    out = tmp_path / "out"
    proc = run_cli("sample", "pig", "-n", "2", "--runs", runs, "--out", str(out / "s"),
                   "--format", "png", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(list((out / "s").glob("*.png"))) >= 2

    proc = run_cli("export", "pig", "--runs", runs, "--out", str(out / "pig.gen.json"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((out / "pig.gen.json").read_text())

    proc = run_cli("predict", "--from-test", "pig", "--runs", runs, "--data-dir", str(pig_data),
                   "--json", "--out", str(out / "p"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout)["top"]

    proc = run_cli("status", "--runs", runs, "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    status = {row["job"]: row for row in map(json.loads, proc.stdout.splitlines())}
    assert set(status) == {"draw-pig", "draw-sun", "predict"}
    metrics = s3_client.get_object(Bucket=bucket, Key="runs/draw-sun/metrics.jsonl")["Body"].read()
    last_train = [r for r in map(json.loads, metrics.decode().splitlines()) if r["split"] == "train"][-1]
    assert status["draw-sun"]["state"] == "done" and status["draw-sun"]["step"] == 20
    assert status["draw-sun"]["loss"] == last_train["loss"]

    proc = run_cli("eval", "draw", "pig", "-n", "4", "--runs", runs, "--data-dir", str(pig_data),
                   "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "runs/draw-pig/eval.json" in keys(s3_client, bucket, "runs/draw-pig/")
    assert not (tmp_path / "s3:").exists()


def _manifest_step(s3_client, bucket: str, job: str) -> int | None:
    try:
        manifest = json_object(s3_client, bucket, f"runs/{job}/checkpoints/latest.json")
    except s3_client.exceptions.NoSuchKey:
        return None
    return json_object(s3_client, bucket, f"runs/{job}/checkpoints/latest/{manifest['version']}/meta.json")["step"]


def test_a_killed_fit_resumes_from_the_latest_published_checkpoint(tmp_path, bucket, s3_client, s3_env,
                                                                   pig_data):
    import signal
    import time

    runs = f"s3://{bucket}/runs"
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "sketchrnn", *fit_args(pig_data, runs, "pig", steps=5000)],
                            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while (_manifest_step(s3_client, bucket, "draw-pig") or 0) < 20:
            assert proc.poll() is None and time.monotonic() < deadline, "no checkpoint was published"
            time.sleep(0.2)
        running = json.loads(run_cli("status", "--runs", runs, "--json", cwd=tmp_path).stdout)
        assert running["state"] == "running" and running["total"] == 5000 and running["eta_s"] > 0
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    killed_at = _manifest_step(s3_client, bucket, "draw-pig")
    assert "runs/draw-pig/fit.lock" in keys(s3_client, bucket, "runs/draw-pig/"), "the kill left no lock"
    stale = json.loads(run_cli("status", "--runs", runs, "--json", cwd=tmp_path).stdout)
    assert stale["state"] == "stale" and stale["step"] >= killed_at

    rerun = run_cli(*fit_args(pig_data, runs, "pig", steps=killed_at + 20), cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert _manifest_step(s3_client, bucket, "draw-pig") == killed_at + 20
    body = s3_client.get_object(Bucket=bucket, Key="runs/draw-pig/metrics.jsonl")["Body"].read()
    steps = [(r["split"], r["step"]) for r in map(json.loads, body.decode().splitlines())]
    # Resumed, not restarted: the rows before the kill are kept once, the new ones follow them.
    assert ("valid", 10) in steps and ("train", killed_at + 20) in steps
    assert len(steps) == len(set(steps)), "steps trained twice: the fit started over"
    assert "runs/draw-pig/fit.lock" not in keys(s3_client, bucket, "runs/draw-pig/")


@pytest.mark.parametrize("case", ["scheme", "bucket", "credentials", "endpoint"])
def test_bad_runs_uri_is_one_line_and_exit_1_before_training(case, tmp_path, bucket, s3_env, s3_client,
                                                             pig_data):
    runs, env = f"s3://{bucket}/runs", {}
    if case == "scheme":
        runs, expected = "nosuch://bucket/runs", "unknown URI scheme 'nosuch'"
    elif case == "bucket":
        runs, expected = "s3://no-such-bucket/runs", "bucket 'no-such-bucket' does not exist"
    elif case == "credentials":
        env = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "HOME": str(tmp_path)}
        expected = "no AWS credentials found"
    else:
        with __import__("socket").socket() as s:  # a port where nothing listens
            s.bind(("127.0.0.1", 0))
            env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{s.getsockname()[1]}"}
        expected = "does not answer"
    commands = [fit_args(pig_data, runs, "pig"), tune_args(pig_data, runs)]
    commands += [["sample", "pig", "--runs", runs]] if case == "scheme" else []
    for args in commands:
        proc = run_cli(*args, cwd=tmp_path, env=env, timeout=60)
        assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], proc.stderr
        assert runs in lines[0]
        assert "step" not in proc.stdout and "sweep" not in proc.stdout, "training started"
    assert list(tmp_path.iterdir()) == []
    assert keys(s3_client, bucket) == [], "something was written"


def test_import_writes_a_published_checkpoint_into_the_bucket(tmp_path, bucket, s3_client, s3_env,
                                                              magenta_models):
    runs = f"s3://{bucket}/runs"
    proc = run_cli("import", str(magenta_models / "bicycle.gen.json"), "--runs", runs, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"{runs}/draw-bicycle/checkpoints/latest" in proc.stdout
    manifest = json_object(s3_client, bucket, "runs/draw-bicycle/checkpoints/latest.json")
    meta = json_object(s3_client, bucket,
                        f"runs/draw-bicycle/checkpoints/latest/{manifest['version']}/meta.json")
    assert meta["categories"] == ["bicycle"]
    again = run_cli("import", str(magenta_models / "bicycle.gen.json"), "--runs", runs, cwd=tmp_path)
    assert again.returncode == 1 and "already exists" in again.stderr, "a published job was replaced"
    assert list(tmp_path.iterdir()) == []
