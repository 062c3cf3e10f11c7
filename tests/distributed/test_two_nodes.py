"""`sketchrnn fit --address` on a real two-node Ray cluster (ray_nodes.py): placement, a driver
killed with SIGKILL, a node lost mid-run.

Each node has one CPU and `fit --workers 2` gives each job one whole CPU, so two jobs at once
must train on different nodes. Where each attempt ran comes from the workers' attempts.jsonl
(Ray's own node id of the worker process), mapped to node_a / node_b by the GCS's node table
(`ray.nodes()`, their custom resources). The tests share one cluster and run in file order; the
node-loss test kills node_b, so it comes last.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from distributed_helpers import REPO, fault_injection_path, write_categories
from ray_nodes import TwoNodeCluster

# On a loaded 2-core machine one job's worker can take minutes to start (docs/benchmarks.md,
# "Many jobs"), so the limits are generous; on a quiet one the module takes about 2 minutes.
pytestmark = [pytest.mark.cluster, pytest.mark.e2e, pytest.mark.timeout(1800)]

SETS = ["data.batch_size=16", "data.max_seq_len=60", "draw.train.eval_every=10",
        "draw.train.checkpoint_every=10", "draw.train.eval_batches=2"]
FIT_TIMEOUT_S = 900
STEPS, HOLD_STEP = 20, 15  # a checkpoint at step 10; jobs are held at 15 while a test kills something
NODE_TABLE = """
import json, ray
ray.init(address={address!r}, logging_level="ERROR", log_to_driver=False)
print(json.dumps({{name: n["NodeID"] for n in ray.nodes() if n["Alive"]
                   for name in n["Resources"] if name.startswith("node_")}}))
"""


@pytest.fixture(scope="module")
def cluster():
    root = Path(tempfile.mkdtemp(prefix="sk-ray-"))  # short: Ray's socket paths live under it
    two = TwoNodeCluster(root, extra_env={"PYTHONPATH": fault_injection_path()})  # the workers' hold
    try:
        two.start()
        yield two
    finally:
        two.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def node_ids(cluster) -> dict[str, str]:
    """node_a / node_b -> Ray node id, from the GCS."""
    proc = subprocess.run([sys.executable, "-c", NODE_TABLE.format(address=cluster.address)],
                          env=cluster.env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ids = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(ids) == {"node_a", "node_b"}, ids
    return ids


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_categories(tmp_path_factory.mktemp("quickdraw"), ["cat", "pig", "sun", "dog", "ant", "bee"])


def fit_command(cluster: TwoNodeCluster, data: Path, runs: Path, categories: list[str], steps: int) -> list[str]:
    return [sys.executable, "-m", "sketchrnn", "fit", *categories, "--only", "draw", "--workers", "2",
            "--address", cluster.address, "--data-dir", str(data), "--runs", str(runs), "--preset", "tiny",
            "--steps", str(steps), *[arg for s in SETS for arg in ("--set", s)]]


def start_fit(cluster: TwoNodeCluster, command: list[str], hold: Path | None = None) -> subprocess.Popen:
    """`fit` as its own process group; with `hold`, every job waits at step HOLD_STEP until that
    file exists (fault_injection/sitecustomize.py)."""
    env = {**cluster.env, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    if hold is not None:
        env["SKETCHRNN_FAULT_HOLD"] = f"{HOLD_STEP}:{hold}"
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)


def finish(proc: subprocess.Popen) -> str:
    try:
        out, _ = proc.communicate(timeout=FIT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"fit did not end within {FIT_TIMEOUT_S} s:\n{out[-3000:]}")
    assert proc.returncode == 0, out[-4000:]
    return out


def wait_for_exit(pid: int, why: str, timeout: float = 300) -> None:
    """Until process ``pid`` (on this machine) has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return
        if state in ("Z", "X"):  # exited, not yet reaped (a container's init may never reap it)
            return
        time.sleep(0.2)
    raise AssertionError(f"process {pid} still alive {timeout:.0f} s after {why}")


def attempts(job_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (job_dir / "attempts.jsonl").read_text().splitlines() if line]


def latest_step(job_dir: Path) -> int | None:
    meta = job_dir / "checkpoints" / "latest" / "meta.json"
    return json.loads(meta.read_text())["step"] if meta.is_file() else None


def wait_until_held(proc: subprocess.Popen, job_dirs: list[Path], timeout: float = 900) -> None:
    """Until every job waits at HOLD_STEP (its checkpoint at step 10 written)."""
    deadline = time.monotonic() + timeout
    while not all((d / ".held").is_file() for d in job_dirs):
        if proc.poll() is not None:
            pytest.fail(f"fit ended before every job was held:\n{proc.stdout.read()[-3000:]}")
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("the jobs never reached the hold step")
        time.sleep(0.2)


def assert_complete(job_dir: Path, steps: int) -> None:
    """The job trained to `steps`; one metrics row per step and split; nothing half-written."""
    assert latest_step(job_dir) == steps
    rows = [json.loads(line) for line in (job_dir / "metrics.jsonl").read_text().splitlines() if line]
    keys = [(r["step"], r["split"]) for r in rows if r["split"] in ("train", "valid")]
    assert len(keys) == len(set(keys)), f"{job_dir.name}: duplicated metric rows"
    assert [r["step"] for r in rows if r["split"] == "valid"] == list(range(10, steps + 1, 10))
    for checkpoint in ("latest", "best"):
        assert {"meta.json", "model.safetensors"} <= {p.name for p in (job_dir / "checkpoints" / checkpoint).iterdir()}
    leftovers = [p for p in job_dir.rglob("*") if ".tmp" in p.name or p.name == "fit.lock"]
    assert not leftovers, leftovers


@pytest.fixture(scope="module")
def killed_and_rerun(cluster, data, tmp_path_factory):
    """`fit sun dog` held mid-run on both nodes, its driver killed with SIGKILL, then run again."""
    runs = tmp_path_factory.mktemp("runs")
    release = runs / "release"
    command = fit_command(cluster, data, runs, ["sun", "dog"], steps=STEPS)
    jobs = [runs / "draw-sun", runs / "draw-dog"]
    proc = start_fit(cluster, command, hold=release)
    wait_until_held(proc, jobs)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver only: the cluster's nodes are other groups
    proc.wait()
    # Ray ends a dead driver's training workers a moment later; released before then, a worker
    # could train past step 15 and publish the step-20 checkpoint the re-run must resume before.
    for job_dir in jobs:
        wait_for_exit(attempts(job_dir)[-1]["pid"], "its driver was killed")
    saved = [latest_step(d) for d in jobs]
    release.touch()
    return jobs, saved, finish(start_fit(cluster, command, hold=release))


def test_jobs_train_on_both_nodes_into_the_shared_runs_folder(killed_and_rerun, node_ids):
    jobs, _, _ = killed_and_rerun
    first_attempts = [attempts(d)[0] for d in jobs]  # both held at once: one CPU per node
    assert sorted(r["node_id"] for r in first_attempts) == sorted(node_ids.values()), first_attempts
    for job_dir in jobs:
        assert_complete(job_dir, STEPS)
        assert (job_dir / "loss.png").is_file() and list((job_dir / "samples").glob("*.png"))


def test_a_driver_killed_with_sigkill_resumes_every_job_when_rerun(killed_and_rerun, node_ids):
    jobs, saved, out = killed_and_rerun
    assert saved == [10, 10]  # killed mid-run, past the first checkpoint
    for job_dir in jobs:
        first, last = attempts(job_dir)  # one per driver
        assert (first["resumed_from"], last["resumed_from"]) == (0, 10)  # resumed, not restarted
        assert last["node_id"] in node_ids.values()
    assert "recovered from" not in out  # a new driver: no failure within its own run


def test_a_driver_without_the_clusters_token_is_one_line_and_exit_1(cluster, data, tmp_path):
    env = {**cluster.env, "HOME": str(tmp_path)}  # no ~/.ray/auth_token there
    env.pop("RAY_AUTH_TOKEN")
    proc = subprocess.run(fit_command(cluster, data, tmp_path / "runs", ["cat"], steps=STEPS), cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: cannot join the Ray cluster at '{cluster.address}': "
                                                   "Token authentication is enabled but no authentication "
                                                   "token was found"), proc.stderr
    assert "RAY_AUTH_TOKEN" in lines[0] and "Traceback" not in proc.stdout + proc.stderr
    assert not (tmp_path / "runs" / "draw-cat" / "checkpoints").exists()


def test_losing_a_node_resumes_its_job_on_the_other(cluster, node_ids, data, tmp_path):
    runs, release = tmp_path / "runs", tmp_path / "release"
    jobs = {name: runs / f"draw-{name}" for name in ("ant", "bee")}
    proc = start_fit(cluster, fit_command(cluster, data, runs, list(jobs), steps=STEPS), hold=release)
    wait_until_held(proc, list(jobs.values()))
    on_b = [name for name, d in jobs.items() if attempts(d)[-1]["node_id"] == node_ids["node_b"]]
    assert len(on_b) == 1, {name: attempts(d) for name, d in jobs.items()}
    os.kill(cluster.worker.raylet_pid(), signal.SIGKILL)
    # node_b's training worker outlives its raylet for a moment; released before it is gone, it
    # could train past step 15 and publish the step-20 checkpoint the resume must not see.
    wait_for_exit(attempts(jobs[on_b[0]])[-1]["pid"], "its raylet was killed")
    release.touch()

    out = finish(proc)
    lost, kept = jobs[on_b[0]], next(d for name, d in jobs.items() if name != on_b[0])
    for job_dir in jobs.values():
        assert_complete(job_dir, STEPS)
    assert [r["node_id"] for r in attempts(kept)] == [node_ids["node_a"]]  # untouched
    first, *_, last = attempts(lost)
    assert first["node_id"] == node_ids["node_b"] and last["node_id"] == node_ids["node_a"]
    assert last["resumed_from"] == 10
    recovered = re.findall(r"(draw-\w+): recovered from (\d+) worker failure\(s\); the last attempt "
                           r"resumed from step (\d+)", out)
    assert recovered == [(lost.name, str(len(attempts(lost)) - 1), "10")], out[-3000:]
