"""The runs directory: one folder per job, and how `sample`/`predict` find trained models.

    runs/
      draw-pig/
        config.yaml            resolved config of this job
        checkpoints/latest/    model.safetensors + meta.json + train_state.pt
        checkpoints/best/      best by validation loss
        metrics.jsonl          one JSON row per train/valid/test report
        loss.png               train and valid loss curves
        samples/step_000500.png
      predict/
        ...                    accuracy.png instead of samples
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sketchrnn._io import write_text_atomic
from sketchrnn.errors import CheckpointError

PREDICT_JOB = "predict"


def slug(category: str) -> str:
    """A filesystem-safe job name part: 'alarm clock' -> 'alarm_clock'."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", category.strip()).strip("_") or "category"


def draw_job_name(category: str) -> str:
    return f"draw-{slug(category)}"


class JobDir:
    """Paths inside one job's folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def latest(self) -> Path:
        return self.root / "checkpoints" / "latest"

    @property
    def best(self) -> Path:
        return self.root / "checkpoints" / "best"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.jsonl"

    @property
    def samples(self) -> Path:
        return self.root / "samples"

    @property
    def loss_plot(self) -> Path:
        return self.root / "loss.png"

    @property
    def accuracy_plot(self) -> Path:
        return self.root / "accuracy.png"

    @property
    def status(self) -> Path:
        return self.root / "status.json"

    def read_metrics(self) -> list[dict[str, Any]]:
        if not self.metrics.exists():
            return []
        rows = []
        for line in self.metrics.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line:
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:  # a line cut by a crash: the rest is still good
                    continue
        return rows

    def append_metrics(self, rows: list[dict[str, Any]]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with self.metrics.open("a", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row) + "\n")

    def truncate_metrics(self, step: int) -> None:
        """Drop rows after `step` (resuming from a checkpoint taken at `step`)."""
        rows = [r for r in self.read_metrics() if int(r.get("step", 0)) <= step]
        write_text_atomic(self.metrics, "".join(json.dumps(r) + "\n" for r in rows))


def find_checkpoint(runs_dir: Path, job: str, *, which: str = "best") -> Path:
    """The checkpoint folder of `job`: `which` ("best" or "latest") if it exists, else the other;
    a CheckpointError saying how to train it when there is neither."""
    job_dir = JobDir(Path(runs_dir) / job)
    order = (job_dir.best, job_dir.latest) if which == "best" else (job_dir.latest, job_dir.best)
    for candidate in order:
        if (candidate / "meta.json").exists():
            return candidate
    raise CheckpointError(
        f"no trained model {job!r} under {runs_dir}",
        "train it first, e.g. `sketchrnn fit "
        + ("--only predict" if job == PREDICT_JOB else repr(job.removeprefix("draw-").replace("_", " ")))
        + f" --runs {runs_dir}`, or pass --runs/--checkpoint",
    )


def draw_checkpoint(runs_dir: Path, category: str) -> Path:
    """The draw model the sampling commands (sample, predict's completion, serve, eval draw) use:
    the latest checkpoint, not the one with the lowest valid loss.

    A draw model is judged by its samples. On small data its valid loss bottoms out early (step
    1,500-2,000 of 5,000 on 1,800 sketches a category) while its samples at low temperature keep
    getting better: 73-95% of them recognised at the best-loss step against 86-99% at the last
    one (docs/predict.md). ``--checkpoint runs/draw-<category>/checkpoints/best`` picks the other.
    """
    return find_checkpoint(runs_dir, draw_job_name(category), which="latest")
