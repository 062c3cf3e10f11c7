"""The runs dir as Ray Train storage: absolute paths and URIs.

Ray Train's experiment dir is ``<storage_path>/<run name>``; with storage_path = the runs dir and
run name = job name it is exactly the job folder, so Ray's own bookkeeping
(``checkpoint_manager_snapshot.json``) sits beside the loop's checkpoints and `--fresh`
(`train.prepare`) clears both at once. Every path a worker sees is made absolute on the driver:
Ray Train changes the workers' working directory, and on a cluster relative paths would mean
nothing anyway.
"""

from __future__ import annotations

from pathlib import Path

from sketchrnn.errors import SketchRNNError
from sketchrnn.train.job import JobSpec


def is_uri(path: str | Path) -> bool:
    return "://" in str(path)


def storage_path(runs_dir: str | Path) -> str:
    """What Ray Train gets as `storage_path`: a URI unchanged, a local path made absolute."""
    text = str(runs_dir)
    return text if is_uri(text) else str(Path(text).expanduser().resolve())


def local_runs_dir(runs_dir: str | Path) -> Path:
    """The runs dir as a local (or NFS) folder, which the training loop writes with plain file I/O."""
    if is_uri(runs_dir):
        raise SketchRNNError(
            f"--runs {runs_dir}: job folders on object storage are not supported yet",
            "use a local folder, or a shared filesystem (NFS) mounted at the same path on every node",
        )
    return Path(storage_path(runs_dir))


def absolute_job(job: JobSpec) -> JobSpec:
    """The same job with data_dir / cache_dir absolute, so it means the same on every worker."""
    update = {k: Path(v).expanduser().resolve() for k in ("data_dir", "cache_dir")
              if (v := getattr(job.data, k)) is not None and not is_uri(v)}
    return job.model_copy(update={"data": job.data.model_copy(update=update)}) if update else job
