"""The runs folder as Ray Train storage: absolute paths, URIs, and where Ray's logs go.

Ray Train's experiment dir is ``<storage_path>/<run name>``; with storage_path = the runs dir and
run name = job name it is exactly the job folder, so Ray's own bookkeeping
(``checkpoint_manager_snapshot.json``) sits beside the loop's checkpoints and `--fresh`
(`train.prepare`) clears both at once. Every path a worker sees is made absolute on the driver:
Ray Train changes the workers' working directory, and on a cluster relative paths would mean
nothing anyway.

A runs folder on object storage (`sketchrnn.storage`) is Ray's storage too (`storage_path` plus
the resolved `storage_filesystem`, so a custom endpoint reaches Ray as it reaches us); each
worker opens the URI itself, stages its job in a local temp folder and publishes from there.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sketchrnn.storage import RunsStore, is_uri, open_runs
from sketchrnn.train.job import JobSpec


def runs_store(runs_dir: str | Path | RunsStore) -> RunsStore:
    """The runs folder as a RunsStore; a local one made absolute (workers change directory)."""
    if isinstance(runs_dir, RunsStore):
        store = runs_dir
    else:
        store = open_runs(runs_dir)
    if not store.remote:
        store.local = store.local.expanduser().resolve()
    return store


def ray_storage(remote: Any, job_dir: Path) -> dict[str, Any]:
    """`RunConfig` storage arguments that make `job_dir`'s folder, in the runs folder `remote`
    on object storage (else None: `job_dir` is the folder), Ray Train's experiment dir."""
    if remote is None:
        return {"storage_path": str(job_dir.parent)}
    return {"storage_path": remote.root, "storage_filesystem": remote.fs}


def log_dir(store: RunsStore) -> Path:
    """Where the `ray-logs` link goes: the runs folder, or for a URI a local folder named after
    it (Ray's logs are files on this machine)."""
    if not store.remote:
        return store.local
    import platformdirs

    digest = hashlib.sha256(store.text.encode()).hexdigest()[:12]
    return Path(platformdirs.user_cache_dir("sketchrnn")) / "remote-runs" / digest


def absolute_job(job: JobSpec) -> JobSpec:
    """The same job with data_dir / cache_dir absolute, so it means the same on every worker."""
    update = {k: Path(v).expanduser().resolve() for k in ("data_dir", "cache_dir")
              if (v := getattr(job.data, k)) is not None and not is_uri(v)}
    return job.model_copy(update={"data": job.data.model_copy(update=update)}) if update else job
