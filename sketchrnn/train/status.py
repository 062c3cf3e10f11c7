"""Where every job of a runs folder stands, read from the folder alone (no Ray connection).

`sketchrnn status` shows this for a folder or a bucket, wherever the jobs run. Each job folder
already says everything: `metrics.jsonl` (step, total, losses, steps/s of the latest rows), the
latest published checkpoint's meta (test metrics once the job has finished), `fit.lock` (a live
fit keeps its modification time fresh) and `status.json` (why a job failed). The state:

* **running**: a fit holds the job's lock and its heartbeat is fresh;
* **done**: the latest checkpoint carries the test metrics, which a job writes last;
* **failed**: the job's last attempt ended with an error (`status.json` says which);
* **stale**: started, not done, and nothing holds it: a fit was stopped or killed (its lock,
  if any, has no live holder). Running `fit` again resumes it.
"""

from __future__ import annotations

import datetime
import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from sketchrnn.checkpoint_meta import META
from sketchrnn.errors import SketchRNNError
from sketchrnn.storage import RunsStore
from sketchrnn.train.lock import LOCK_NAME, is_stale, parse_record

STATUS_FILE = "status.json"  # what `JobDir.status` names


@dataclass
class JobStatus:
    job: str
    state: str
    step: int | None = None
    total: int | None = None
    loss: float | None = None  # latest train loss
    valid_loss: float | None = None  # latest validation loss
    accuracy: float | None = None  # latest validation accuracy (predict jobs)
    steps_per_s: float | None = None
    eta_s: float | None = None  # while running
    updated_s_ago: float | None = None  # since metrics.jsonl last changed
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def failure_record(reason: str) -> str:
    """`status.json` of a job whose attempt failed (written by the training loop)."""
    at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return json.dumps({"state": "failed", "reason": reason, "at": at}) + "\n"


def started_record() -> str:
    """`status.json` of a job being trained (replaces an earlier failure record)."""
    return json.dumps({"state": "started"}) + "\n"


def runs_status(store: RunsStore, now: float | None = None) -> list[JobStatus]:
    """Every job folder's status, by job name."""
    now = time.time() if now is None else now
    out = []
    for name in store.job_names():
        status = job_status(store, name, now)
        if status is not None:
            out.append(status)
    return out


def job_status(store: RunsStore, name: str, now: float) -> JobStatus | None:
    """One job's status; None for a folder that is not a job (e.g. ray-logs, a sweep)."""
    rows = _metrics(store.read(f"{name}/metrics.jsonl"))
    meta = _json(store.read_checkpoint_file(f"{name}/checkpoints/latest", META))
    lock = _json(store.read(f"{name}/{LOCK_NAME}"))
    record = _json(store.read(f"{name}/{STATUS_FILE}"))
    if not rows and meta is None and lock is None and record is None:
        return None
    status = JobStatus(job=name, state="stale")
    _fill_progress(status, rows)
    updated = store.mtime(f"{name}/metrics.jsonl")
    status.updated_s_ago = None if updated is None else max(0.0, now - updated)
    done = meta is not None and any(str(k).startswith("test_") for k in meta.get("metrics", {}))
    if lock is not None and not is_stale(lock, store.mtime(f"{name}/{LOCK_NAME}"), now=now):
        status.state = "running"
        if status.step is not None and status.total and status.steps_per_s:
            status.eta_s = max(0, status.total - status.step) / status.steps_per_s
    elif done:
        status.state = "done"
        status.step = meta.get("step", status.step)
    elif record is not None and record.get("state") == "failed":
        status.state, status.note = "failed", str(record.get("reason", ""))[:200]
    else:
        status.note = "nothing trains it now; run the same `sketchrnn fit` again to resume"
        if meta is not None:
            status.note = f"latest checkpoint at step {meta.get('step')}; " + status.note
    return status


def _fill_progress(status: JobStatus, rows: list[dict[str, Any]]) -> None:
    for row in rows:  # oldest first: the last of each kind wins
        split = row.get("split")
        if split == "train":
            status.step, status.total = _int(row.get("step")), _int(row.get("total")) or status.total
            status.loss, status.steps_per_s = _float(row.get("loss")), _float(row.get("steps_per_s"))
        elif split == "valid":
            status.valid_loss = _float(row.get("loss"))
            status.accuracy = _float(row.get("accuracy"))


def _metrics(data: bytes | None) -> list[dict[str, Any]]:
    rows = []
    for line in (data or b"").decode("utf-8", "replace").splitlines():
        try:
            row = json.loads(line)
        except ValueError:  # a line cut by a crash
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def _json(data: bytes | None) -> dict[str, Any] | None:
    return parse_record(None if data is None else data.decode("utf-8", "replace"))


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def read_status(store: RunsStore) -> list[JobStatus]:
    """`runs_status`, with a store error said in one line."""
    try:
        return runs_status(store)
    except OSError as exc:
        raise SketchRNNError(f"cannot read {store.where()}: {exc}".replace("\n", " "),
                             "check --runs and its credentials") from None
