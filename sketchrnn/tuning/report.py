"""What a finished (or interrupted) sweep leaves behind: per-trial rows, the best config, a plot.

The numbers come from each trial's own job folder (`metrics.jsonl`, the rows the training loop
writes), not from Tune's result files: they are complete across resumes (the loop truncates them
to the checkpoint it resumes from) and exist for failed trials too. Tune supplies what only it
knows: each trial's sampled parameters and its error.

The best config is written as a complete Config that `sketchrnn fit --config` loads as it is.
Model sizes are written out resolved (preset applied, `preset: null`): a full dump re-read with
a preset would otherwise let the dumped default sizes win over the preset's.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sketchrnn._io import atomic_write, write_text_atomic
from sketchrnn.runs import job_checkpoint
from sketchrnn.tuning.sweep import SweepRun, SweepSpec
from sketchrnn.tuning.trial import JOB_DIR, TrialFailed

UNFINISHED = ("RUNNING", "PENDING", "PAUSED")


@dataclass
class TrialRow:
    trial_id: str
    status: str  # done | stopped early | failed | interrupted | not started
    params: dict[str, Any]
    job_dir: Path
    history: list[tuple[int, float]] = field(default_factory=list)  # (step, valid metric)
    error: str | None = None

    def best(self, mode: str) -> tuple[int, float] | None:
        """(step, value) of the trial's best evaluation."""
        if not self.history:
            return None
        pick = min if mode == "min" else max
        return pick(self.history, key=lambda sv: sv[1])

    @property
    def last_step(self) -> int | None:
        return self.history[-1][0] if self.history else None


def summarise(run: SweepRun, spec: SweepSpec) -> list[TrialRow]:
    """One row per trial, best first (by the sweep's metric); trials without a metric last."""
    from sketchrnn.runs import JobDir

    key = run.metric.removeprefix("valid_")
    rows = []
    for result in run.results:
        trial_id = Path(result.path).name
        job_dir = spec.sweep_dir / trial_id / JOB_DIR  # for a bucket, its copy (`fetch_results`)
        history = [(int(r["step"]), float(r[key])) for r in JobDir(job_dir).read_metrics()
                   if r.get("split") == "valid" and isinstance(r.get(key), (int, float))]
        row = TrialRow(trial_id, "", dict(result.config or {}), job_dir, history)
        if result.error is not None:
            row.status, row.error = "failed", error_text(result.error)
        elif run.statuses.get(trial_id) in UNFINISHED:
            row.status = "interrupted" if history else "not started"
        elif row.last_step is not None and row.last_step >= spec.steps:
            row.status = "done"
        else:
            row.status = "stopped early" if history else "not started"
        rows.append(row)
    sign = 1.0 if run.mode == "min" else -1.0
    return sorted(rows, key=lambda r: (r.best(run.mode) is None, sign * (r.best(run.mode) or (0, 0.0))[1]))


def error_text(error: BaseException) -> str:
    """One line: a trial's own reason (TrialFailed already holds it), else the first worker's error."""
    from sketchrnn.distributed.trainer import failure_reason

    cause = getattr(error, "cause", None) or error
    return str(cause) if isinstance(cause, TrialFailed) else failure_reason(error)


def best_row(rows: list[TrialRow], mode: str) -> TrialRow | None:
    ranked = [r for r in rows if r.best(mode) is not None]
    return ranked[0] if ranked else None


def resolved_config(spec: SweepSpec, params: dict[str, Any]) -> dict[str, Any]:
    """The full config of a trial, as plain data, with model sizes resolved (see module doc)."""
    from sketchrnn.config import validate_config
    from sketchrnn.train.tasks import TASKS

    config = validate_config(spec.space.apply(spec.base, params))
    data = config.model_dump(mode="json")
    if not spec.task_class.per_category:  # a model of a set of categories (the classifier): name
        data["data"]["categories"] = list(spec.categories)  # it, for `fit --all-categories --config`
    for task in TASKS:  # both config sections, whichever task the sweep tuned
        model = getattr(config, task).model
        data[task]["model"] = {"name": model.name, "preset": None, **model.build_kwargs()}
    return data


def write_best(spec: SweepSpec, run: SweepRun, row: TrialRow) -> tuple[Path, Path]:
    """best.yaml (a config for `fit --config`) and best.json (the trial, its score, its checkpoint)."""
    import yaml

    step, value = row.best(run.mode) or (None, None)
    config_path, info_path = spec.sweep_dir / "best.yaml", spec.sweep_dir / "best.json"
    what = spec.task_class.fit_args(spec.categories)
    here = config_path if spec.remote is None else "best.yaml"  # fit reads a local copy of a bucket's
    header = (f"# Best configuration of sweep {spec.name}: trial {row.trial_id}, {run.metric} {value:.6g} "
              f"at step {step}.\n# Train it: sketchrnn fit {what} --config {here} --steps N\n")
    write_text_atomic(config_path, header + yaml.safe_dump(resolved_config(spec, row.params), sort_keys=False))
    checkpoint = job_checkpoint(row.job_dir)
    info = {
        "sweep": spec.name, "task": spec.task, "categories": spec.categories, "trial": row.trial_id,
        "metric": run.metric, "mode": run.mode, "value": value, "step": step, "status": row.status,
        "params": row.params, "config": spec.name_of(config_path), "job_dir": spec.name_of(row.job_dir),
        # `best` is the lowest valid loss of the trial (what the training loop keeps).
        "checkpoint": None if checkpoint is None else spec.name_of(checkpoint),
    }
    write_text_atomic(info_path, json.dumps(info, indent=1) + "\n")
    return config_path, info_path


def fetch_results(spec: SweepSpec, best: TrialRow | None = None) -> None:
    """For a sweep on object storage, copy what the report reads into the local copy: every
    trial's plain files (metrics.jsonl; no checkpoints), or with `best`, that trial's published
    checkpoints (best.json names them)."""
    if spec.remote is None:
        return
    if best is None:
        spec.remote.pull([spec.name], checkpoints=False)
    else:
        spec.remote.pull([f"{spec.name}/{best.trial_id}/{JOB_DIR}"], checkpoints_only=True)


def publish_results(spec: SweepSpec) -> None:
    """Upload what the report wrote (best.yaml, best.json, trials.png) into the bucket, whole."""
    if spec.remote is not None:
        spec.remote.publish(spec.name, checkpoints=False)


def plot_trials(rows: list[TrialRow], metric: str, mode: str, path: Path, title: str) -> Path:
    """The validation metric of every trial over training steps; the best one drawn bold."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    best = best_row(rows, mode)
    fig = Figure(figsize=(7.5, 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for row in rows:
        if not row.history:
            continue
        steps, values = zip(*row.history)
        is_best = best is not None and row.trial_id == best.trial_id
        label = f"{row.trial_id} ({row.status}{', best' if is_best else ''})"
        ax.plot(steps, values, marker="o" if is_best else ".", linewidth=2.5 if is_best else 1.0,
                linestyle="--" if row.status == "failed" else "-", alpha=1.0 if is_best else 0.6,
                markersize=4 if is_best else 3, label=label, zorder=3 if is_best else 2)
    ax.set_xlabel("step")
    ax.set_ylabel(metric.replace("_", " "))
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if ax.has_data() and len(ax.lines) <= 12:
        ax.legend(fontsize=7)
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=100))
    return path


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return "-" if not math.isfinite(value) else f"{value:.4g}"
    return str(value)
