"""A training job: which task, which categories, which settings, and the data it trains on.

`sketchrnn fit` turns its arguments into a list of `JobSpec`s (one draw job per category, one
predict job over all of them); each is trained by `train.loop.fit_job`, in this process or on
Ray workers. A JobSpec is a pydantic model so it crosses process boundaries as plain JSON.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from sketchrnn.config import Config, DataConfig, TaskConfig
from sketchrnn.runs import PREDICT_JOB, draw_job_name


class JobSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    task: Literal["draw", "predict"]
    categories: list[str]
    data: DataConfig
    settings: TaskConfig


def make_jobs(config: Config, categories: list[str], only: str | None = None) -> list[JobSpec]:
    """One draw job per category plus the predict job (unless `only` restricts it)."""
    jobs = []
    if only in (None, "draw"):
        for category in categories:
            jobs.append(
                JobSpec(
                    name=draw_job_name(category), task="draw", categories=[category],
                    data=config.data, settings=config.draw,
                )
            )
    if only in (None, "predict") and categories:
        jobs.append(
            JobSpec(
                name=PREDICT_JOB, task="predict", categories=list(categories),
                data=config.data, settings=config.predict,
            )
        )
    return jobs


def load_splits(category: str, data: DataConfig, progress=None):  # type: ignore[no-untyped-def]
    """Raw splits of one category, from whichever registered source provides it."""
    from sketchrnn.registry import get_registry

    source, canonical = get_registry().resolve_category(category, data_dir=data.data_dir)
    return source.load(
        canonical, data_dir=data.data_dir, cache_dir=data.cache_dir,
        download=data.download, progress=progress,
    )


def load_job_data(job: JobSpec, scale: float | None = None):  # type: ignore[no-untyped-def]
    """Filtered, clamped, normalised splits; the scale is the train split's unless given."""
    from sketchrnn.data.preprocess import prepare

    splits = {c: load_splits(c, job.data) for c in job.categories}
    return prepare(
        splits, max_seq_len=job.data.max_seq_len, min_seq_len=job.data.min_seq_len,
        clamp=job.data.clamp, scale=scale,
    )


def build_job_loss(job: JobSpec) -> Any:
    """The job's loss, given the run's length for schedules that follow it (KL annealing)."""
    from sketchrnn.registry import build_loss

    loss = job.settings.loss
    return build_loss(loss.name, n_max=job.data.max_seq_len, total_steps=job.settings.train.steps,
                      **loss.build_kwargs())
