"""Finding the predict and draw checkpoints, and the data a checkpoint was trained on.

A checkpoint's meta carries the model and its scale but not where the data came from; the job's
``config.yaml`` (``runs/<job>/config.yaml``, two levels above ``checkpoints/<best|latest>``) does.
Calibration and evaluation read it so that they load the very splits the model was trained with,
normalised with the model's stored scale factor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sketchrnn.errors import CheckpointError


def predict_checkpoint(runs_dir: Path | None = None, checkpoint: Path | None = None) -> Path:
    """``checkpoint`` itself, or the predict job's best (else latest) checkpoint under ``runs_dir``."""
    from sketchrnn.train.runs import PREDICT_JOB, find_checkpoint

    if checkpoint is not None:
        return Path(checkpoint)
    return find_checkpoint(Path(runs_dir or "runs"), PREDICT_JOB)


def resolve_target(target: str | Path) -> Path:
    """A checkpoint directory (holds meta.json), a job directory, or a runs directory -> the
    predict checkpoint it means."""
    from sketchrnn.train.runs import PREDICT_JOB, JobDir

    target = Path(target)
    if (target / "meta.json").is_file():
        return target
    for job in (JobDir(target), JobDir(target / PREDICT_JOB)):
        for candidate in (job.best, job.latest):
            if (candidate / "meta.json").is_file():
                return candidate
    return predict_checkpoint(target)  # raises the CheckpointError that says how to train it


def _load_task(path: Path, task: str, fix: str) -> tuple[Any, Any]:
    """``(model, meta)`` of a checkpoint of `task`, in eval mode; CheckpointError for another task."""
    from sketchrnn.checkpoint import load_checkpoint

    model, meta, _ = load_checkpoint(path)
    if meta.task != task:
        raise CheckpointError(f"{path} holds a {meta.task} model, not a {task} model", fix)
    model.eval()
    return model, meta


def load_classifier(path: Path) -> tuple[Any, Any]:
    """``(model, meta)`` of a predict checkpoint, in eval mode; CheckpointError for a draw model."""
    return _load_task(path, "predict", "pass the predict job's checkpoint (runs/predict/checkpoints/best)")


def job_config_path(checkpoint: Path) -> Path:
    return Path(checkpoint).resolve().parent.parent / "config.yaml"


def job_for(checkpoint: Path, meta: Any, data_dir: Path | None = None) -> Any:
    """The ``JobSpec`` that trained ``checkpoint`` (from its job folder), or one rebuilt from the
    meta when the folder has no config; ``data_dir`` overrides where the data is read from."""
    import yaml

    from sketchrnn.config import DataConfig, TaskConfig
    from sketchrnn.train.job import JobSpec

    config = job_config_path(checkpoint)
    job = None
    if config.is_file():
        try:
            job = JobSpec.model_validate(yaml.safe_load(config.read_text(encoding="utf-8")))
        except Exception:  # an older or hand-edited config: fall back to the meta
            job = None
    if job is None:
        job = JobSpec(name=f"{meta.task}", task=meta.task, categories=list(meta.categories),
                      data=DataConfig(max_seq_len=meta.max_seq_len), settings=TaskConfig())
    if data_dir is not None:
        job = job.model_copy(update={"data": job.data.model_copy(update={"data_dir": Path(data_dir)})})
    return job


def load_data(checkpoint: Path, meta: Any, data_dir: Path | None = None) -> Any:
    """``PreparedData`` of the model's categories (label order = ``meta.categories``), filtered as
    in training and divided by the model's own scale."""
    from sketchrnn.train.job import load_job_data

    job = job_for(checkpoint, meta, data_dir)
    job = job.model_copy(update={"categories": list(meta.categories)})
    return load_job_data(job, scale=meta.scale)


def find_draw_checkpoint(category: str, runs_dir: Path) -> Path | None:
    """The draw model of ``category`` under ``runs_dir``, or None when none was trained."""
    from sketchrnn.train.runs import draw_checkpoint

    try:
        return draw_checkpoint(Path(runs_dir), category)
    except CheckpointError:
        return None


def load_draw(path: Path) -> tuple[Any, Any]:
    """``(model, meta)`` of a draw checkpoint in eval mode; CheckpointError for a predict model."""
    return _load_task(path, "draw", "pass a draw job's checkpoint (runs/draw-<category>/checkpoints/best)")
