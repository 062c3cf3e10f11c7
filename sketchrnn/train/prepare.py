"""Before any job trains: lock the job folders, apply `--fresh`, refuse unsafe resumes, skip
finished jobs. One step, run by `fit --workers 0` and by the Ray driver alike.

Resuming continues a job from `checkpoints/latest`. That is only right for the same model on
the same data: a predict job asked for other categories would put a 2-class head on 3-class
labels, and another model size or loss would train the old weights under a meta.json that no
longer describes them. So a resume whose categories, model, loss or data settings differ from
the saved ones is refused before anything is written, naming every differing key. Training-only
settings (steps, lr, schedule, batch size, augmentation, ...) may change on resume.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sketchrnn.checkpoint_meta import TRAIN_STATE, CheckpointMeta, read_meta_if_present
from sketchrnn.errors import ConfigError
from sketchrnn.runs import JobDir
from sketchrnn.storage import RunsStore, open_runs
from sketchrnn.train.job import JobSpec
from sketchrnn.train.lock import LOCK_NAME, LockSet, ObjectLockFiles

# The data settings that decide what the model sees (and its N_max); the rest only shape batches.
DATA_KEYS = ("max_seq_len", "min_seq_len", "clamp")


@dataclass
class PreparedJobs:
    """The outcome of `prepare_jobs`: what to train, what is already done, and the held locks
    (released when the `with` block ends, Ctrl-C included)."""

    todo: list[JobSpec]
    done: dict[str, dict[str, Any]]  # finished job name -> its summary row
    locks: LockSet = field(default_factory=LockSet)

    def __enter__(self) -> PreparedJobs:
        return self

    def __exit__(self, *exc: object) -> None:
        self.locks.release()


def prepare_jobs(jobs: list[JobSpec], runs_dir: Path | RunsStore, *, fresh: bool) -> PreparedJobs:
    """Lock every job's folder, then `--fresh` clears them, or every unsafe resume is refused in
    one ConfigError; finished jobs are set aside. Nothing but the locks is written on refusal.
    A runs folder on object storage is locked there, and its jobs' published files are copied
    into its local staging folder, which is what the checks (and then training) read."""
    store = runs_dir if isinstance(runs_dir, RunsStore) else open_runs(runs_dir)
    files = ObjectLockFiles(store) if store.remote else None
    locks = LockSet()
    try:
        for job in jobs:
            locks.acquire(store.job_dir(job.name), files=files)
        if fresh:
            for job in jobs:
                store.clear(job.name)
                clear_job_dir(store.job_dir(job.name))
        store.pull([job.name for job in jobs])
        runs_dir = store.local
        problems = [p for job in jobs for p in resume_problems(job, Path(runs_dir) / job.name)]
        if problems:
            raise ConfigError(
                f"cannot resume under {store.where()}: {'; '.join(problems)}",
                "add --fresh to retrain these jobs, use another --runs folder, or run with the "
                "settings saved in each job's config.yaml",
            )
        done = {job.name: row for job in jobs if (row := finished(job, Path(runs_dir) / job.name))}
    except BaseException:
        locks.release()
        raise
    return PreparedJobs([j for j in jobs if j.name not in done], done, locks)


def clear_job_dir(job_dir: Path) -> None:
    """`--fresh`: forget everything the job trained (Ray's record of it too), keeping our lock."""
    if not job_dir.is_dir():
        return
    for entry in job_dir.iterdir():
        if entry.name == LOCK_NAME:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def check_resumable(job: JobSpec, job_dir: Path) -> None:
    """A ConfigError when `job` must not resume from what `job_dir` holds."""
    problems = resume_problems(job, job_dir)
    if problems:
        raise ConfigError(f"cannot resume {job_dir}: {'; '.join(problems)}",
                          "add --fresh to retrain it, use another --runs folder, or run with the "
                          "settings saved in its config.yaml")


def resume_problems(job: JobSpec, job_dir: Path) -> list[str]:
    """Why `job` cannot resume from its latest checkpoint ([] when it can, or has none)."""
    meta = read_meta_if_present(JobDir(job_dir).latest)
    if meta is None:
        return []
    problems = []
    if meta.task != job.task or meta.categories != job.categories:
        problems.append(f"{job.name} was trained on {meta.categories}, now asked for {job.categories}")
    saved, now = saved_settings(meta), job_settings(job)
    changed = [f"{key} {saved[key]!r} -> {now[key]!r}" for key in now
               if key in saved and saved[key] != now[key]]
    if changed:
        problems.append(f"{job.name} was trained with other model/loss/data settings: {', '.join(changed)}")
    return problems


def job_settings(job: JobSpec) -> dict[str, Any]:
    """The settings a resume must keep, as flat `--set` paths (e.g. `draw.model.dec_hidden`)."""
    from sketchrnn.train.tasks import task_for

    return _flat(job.task, job.settings.model.name, task_for(job).model_kwargs(),
                 job.settings.loss.model_dump(mode="json"), job.data.model_dump(mode="json"))


def saved_settings(meta: CheckpointMeta) -> dict[str, Any]:
    """The same paths as `job_settings`, from what the checkpoint says it was trained with."""
    return _flat(meta.task, meta.model, meta.model_kwargs, meta.loss.model_dump(mode="json"),
                 meta.data.model_dump(mode="json"))


def _flat(task: str, model: str, model_kwargs: dict[str, Any], loss: dict[str, Any],
          data: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {f"{task}.model.name": model}
    # n_categories follows the categories, which are compared on their own.
    flat.update({f"{task}.model.{k}": v for k, v in model_kwargs.items() if k != "n_categories"})
    flat.update({f"{task}.loss.{k}": v for k, v in loss.items()})
    flat.update({f"data.{k}": data[k] for k in DATA_KEYS if k in data})
    return flat


def finished(job: JobSpec, job_dir: Path) -> dict[str, Any] | None:
    """A summary row when the job has nothing left to do, else None.

    Finished means: the latest checkpoint is at the configured final step (or the job stopped
    early) and the test metrics were written, which the loop does last. A job killed between
    its final checkpoint and the test evaluation is therefore run again, which only evaluates.
    """
    meta = read_meta_if_present(JobDir(job_dir).latest)
    if meta is None:
        return None
    test = {k.removeprefix("test_"): v for k, v in meta.metrics.items() if k.startswith("test_")}
    if not test or (meta.step < job.settings.train.steps and not _stopped_early(job, job_dir)):
        return None
    best = read_meta_if_present(JobDir(job_dir).best)
    return {"status": "done", "step": meta.step,
            "best_valid_loss": best.metrics.get("valid_loss") if best else None, "test": test,
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
