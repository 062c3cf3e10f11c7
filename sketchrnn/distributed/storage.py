"""The runs dir as Ray Train storage: absolute paths, finished jobs, `--fresh`.

Ray Train's experiment dir is ``<storage_path>/<run name>``; with storage_path = the runs dir and
run name = job name it is exactly the job folder, so Ray's own bookkeeping
(``checkpoint_manager_snapshot.json``) sits beside the loop's checkpoints and `--fresh` clears
both at once. Every path a worker sees is made absolute on the driver: Ray Train changes the
workers' working directory, and on a cluster relative paths would mean nothing anyway.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sketchrnn.checkpoint_meta import TRAIN_STATE, read_meta_if_present
from sketchrnn.errors import SketchRNNError
from sketchrnn.train.job import JobSpec
from sketchrnn.runs import JobDir


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


def remove_job_dirs(jobs: list[JobSpec], runs_dir: Path) -> None:
    """`--fresh`: forget everything these jobs trained (and Ray's record of it)."""
    for job in jobs:
        shutil.rmtree(runs_dir / job.name, ignore_errors=True)


def check_resumable(jobs: list[JobSpec], runs_dir: Path) -> None:
    """Refuse, before anything starts, to resume a job from a checkpoint of a different model.

    The predict job is always called `predict`: trained on [cat, pig] and re-run with
    [cat, pig, sun], its classifier head has the wrong size. All such jobs in one message.
    """
    problems = []
    for job in jobs:
        meta = meta_json(JobDir(runs_dir / job.name).latest)
        if meta is None:
            continue
        if meta.get("task") != job.task or list(meta.get("categories") or []) != job.categories:
            problems.append(f"{job.name} was trained on {meta.get('categories')}, now asked for "
                            f"{job.categories}")
    if problems:
        raise SketchRNNError(f"cannot resume under {runs_dir}: {'; '.join(problems)}",
                             "add --fresh to retrain these jobs, or use another --runs folder")


def meta_json(checkpoint: Path) -> dict[str, Any] | None:
    """A checkpoint's meta as plain JSON (no torch, no model), or None if absent/unreadable."""
    meta = read_meta_if_present(checkpoint)
    return None if meta is None else meta.model_dump(mode="json")


def finished(job: JobSpec, job_dir: Path) -> dict[str, Any] | None:
    """A summary row when the job has nothing left to do, else None.

    Finished means: the latest checkpoint is at the configured final step (or the job stopped
    early) and the test metrics were written, which the loop does last. A job killed between
    its final checkpoint and the test evaluation is therefore run again, which only evaluates.
    """
    meta = meta_json(JobDir(job_dir).latest)
    if meta is None:
        return None
    metrics = meta.get("metrics") or {}
    test = {k.removeprefix("test_"): v for k, v in metrics.items() if k.startswith("test_")}
    step = int(meta.get("step", 0))
    if not test or (step < job.settings.train.steps and not _stopped_early(job, job_dir)):
        return None
    best = meta_json(JobDir(job_dir).best)
    best_valid = (best or {}).get("metrics", {}).get("valid_loss")
    return {"status": "done", "step": step, "best_valid_loss": best_valid, "test": test,
            "skipped": True}


def _stopped_early(job: JobSpec, job_dir: Path) -> bool:
    patience = job.settings.train.early_stop_patience
    state_file = JobDir(job_dir).latest / TRAIN_STATE
    if patience is None or not state_file.exists():
        return False
    import torch

    try:
        state = torch.load(state_file, map_location="cpu", weights_only=True)
    except Exception:  # unreadable: resuming will say why
        return False
    return int(state.get("bad_evals", 0)) >= patience
