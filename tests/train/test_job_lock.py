"""Per-job lock files: a live holder keeps the job, a dead or silent one loses it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from sketchrnn.errors import JobLockedError
from sketchrnn.train.lock import LOCK_NAME, STALE_AFTER_S, JobLock, LockSet


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _plant(job_dir, *, pid: int, host: str, age_s: float = 0.0) -> None:
    job_dir.mkdir(parents=True, exist_ok=True)
    lock = job_dir / LOCK_NAME
    lock.write_text(json.dumps({"holder": "sketchrnn fit", "pid": pid, "host": host,
                                "started": "2026-01-01T00:00:00+00:00", "token": "other"}))
    then = time.time() - age_s
    os.utime(lock, (then, then))


def test_a_live_holder_keeps_the_lock_and_is_named(tmp_path):
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as holder:
        try:
            _plant(tmp_path / "job", pid=holder.pid, host=socket.gethostname())
            with pytest.raises(JobLockedError, match=rf"in use by sketchrnn fit .*pid {holder.pid} on "):
                JobLock.acquire(tmp_path / "job")
        finally:
            holder.kill()
    assert json.loads((tmp_path / "job" / LOCK_NAME).read_text())["token"] == "other"  # untouched


def test_a_dead_holder_on_this_host_is_taken_over(tmp_path):
    _plant(tmp_path / "job", pid=_dead_pid(), host=socket.gethostname())
    lock = JobLock.acquire(tmp_path / "job")
    assert json.loads(lock.path.read_text())["pid"] == os.getpid()


def test_another_host_counts_as_alive_until_its_heartbeat_is_too_old(tmp_path):
    _plant(tmp_path / "a", pid=_dead_pid(), host="elsewhere.invalid", age_s=10)
    with pytest.raises(JobLockedError, match="on elsewhere.invalid"):
        JobLock.acquire(tmp_path / "a")
    _plant(tmp_path / "b", pid=1, host="elsewhere.invalid", age_s=STALE_AFTER_S + 60)
    assert JobLock.acquire(tmp_path / "b").path.exists()


def test_release_removes_only_its_own_lock(tmp_path):
    locks = LockSet()
    locks.acquire(tmp_path / "job")
    (tmp_path / "job" / "checkpoints").mkdir()
    lock = tmp_path / "job" / LOCK_NAME
    lock.write_text(json.dumps({"token": "someone else took over"}))
    locks.release()
    assert lock.exists()
    lock.unlink()
    locks = LockSet()
    locks.acquire(tmp_path / "new")
    locks.release()
    assert not (tmp_path / "new").exists()  # a job folder that held only the lock goes with it
