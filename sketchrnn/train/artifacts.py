"""What a training job leaves in its folder: checkpoints, metrics, plots, sample images."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from sketchrnn import __version__
from sketchrnn._io import write_text_atomic
from sketchrnn.config import DEFAULT_TEMPERATURE
from sketchrnn.train.job import JobSpec
from sketchrnn.runs import JobDir, is_checkpoint, recover_interrupted_swap
from sketchrnn.train.tasks import Task

SAMPLES_PER_CHECKPOINT = 16
SAMPLE_TEMPERATURE = DEFAULT_TEMPERATURE


@dataclass
class ResumeState:
    model: torch.nn.Module
    meta: Any
    train_state: dict[str, Any]


def load_resume_state(jd: JobDir, device: torch.device) -> ResumeState | None:
    """The latest checkpoint with its optimiser state, or None when there is nothing to resume."""
    from sketchrnn.checkpoint import load_checkpoint

    if not recover_interrupted_swap(jd.latest):
        return None
    model, meta, train_state = load_checkpoint(jd.latest, map_location=device)
    if train_state is None:
        return None
    return ResumeState(model, meta, train_state)


def write_job_config(job: JobSpec, jd: JobDir) -> None:
    import yaml

    write_text_atomic(jd.config, yaml.safe_dump(job.model_dump(mode="json"), sort_keys=False))


def write_job_status(jd: JobDir, record: str) -> None:
    write_text_atomic(jd.status, record)


class RunContext:
    """Rank 0's writer for one job; other ranks hold one with `is_writer=False` and do nothing."""

    def __init__(self, task: Task, jd: JobDir, model: torch.nn.Module, scale: float,
                 is_writer: bool) -> None:
        self.task, self.job, self.jd, self.model, self.scale = task, task.job, jd, model, scale
        self.is_writer = is_writer
        # TF32 and capture as applied so far (train/runtime.py; a capture can fall back mid-run)
        self.runtime: Callable[[], dict[str, Any]] = dict

    def record(self, rows: list[dict[str, Any]]) -> None:
        if self.is_writer:
            self.jd.append_metrics([{k: _jsonable(v) for k, v in r.items()} for r in rows])

    def meta(self, step: int, metrics: dict[str, Any]) -> Any:
        from sketchrnn.checkpoint import CheckpointMeta
        from sketchrnn.registry import get_registry

        return CheckpointMeta(
            model=self.job.settings.model.name,
            model_kwargs=self.task.model_kwargs(),
            task=self.job.task,
            categories=self.job.categories,
            scale=self.scale,
            max_seq_len=self.job.data.max_seq_len,
            data=self.job.data,
            loss=self.job.settings.loss,
            sketchrnn_version=__version__,
            plugin_versions=get_registry().plugin_versions(),
            step=step,
            metrics={k: _jsonable(v) for k, v in metrics.items()},
            extra={"runtime": self.runtime()} if self.runtime() else {},
            **self.task.meta_fields(),
        )

    def save(self, step: int, rows: list[dict[str, Any]], train_state: dict[str, Any], *,
             is_best: bool, on_checkpoint: Callable[[Path, dict[str, Any]], None] | None) -> None:
        from sketchrnn.checkpoint import save_checkpoint

        metrics = {f"{r['split']}_{k}": v for r in rows for k, v in r.items()
                   if k not in ("job", "step", "split", "total")}
        meta = self.meta(step, metrics)
        save_checkpoint(self.jd.latest, self.model, meta, train_state=train_state)
        if is_best:
            save_checkpoint(self.jd.best, self.model, meta)
        self.plots()
        self.task.on_checkpoint(self, step)
        if on_checkpoint is not None:
            on_checkpoint(self.jd.latest, metrics)

    def plots(self) -> None:
        from sketchrnn.render import plot_losses

        history = self.jd.read_metrics()
        plot_losses(history, self.jd.loss_plot)
        self.task.plot(history, self)

    def samples(self, step: int) -> None:
        """A grid of unconditional samples, so progress can be seen as well as read."""
        from sketchrnn.data.strokes import denormalise
        from sketchrnn.render import grid_png
        from sketchrnn.sampling import sample

        device = next(self.model.parameters()).device
        was_training = self.model.training
        self.model.eval()
        sketches = sample(self.model, SAMPLES_PER_CHECKPOINT, temperature=SAMPLE_TEMPERATURE,
                          seed=step, max_len=self.job.data.max_seq_len, device=device)
        self.model.train(was_training)
        grid_png([denormalise(s, self.scale) for s in sketches], self.jd.samples / f"step_{step:07d}.png")

    def finish(self, step: int, test: dict[str, float]) -> None:
        """Store the test metrics in the best checkpoint's meta and redraw the plots."""
        from sketchrnn.checkpoint import update_meta

        for path in (self.jd.best, self.jd.latest):
            if is_checkpoint(path):
                update_meta(path, metrics={f"test_{k}": _jsonable(v) for k, v in test.items()})
        self.plots()


def _jsonable(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
