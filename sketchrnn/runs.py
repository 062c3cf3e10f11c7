"""The runs directory: one folder per job; finding, loading and recovering its checkpoints.

The one place that knows the layout below; `sample`, `predict`, `eval`, `serve`, training and
the Ray glue all ask this module where things are.

    runs/
      draw-pig/
        config.yaml            resolved config of this job
        checkpoints/latest/    model.safetensors + meta.json + train_state.pt
        checkpoints/best/      best by validation loss (SAMPLING_CHECKPOINT: the one sampling uses)
        metrics.jsonl          one JSON row per train/valid/test report
        attempts.jsonl         one JSON row per training attempt: node, step it resumed from
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

from sketchrnn._io import is_temp_file, write_text_atomic
from sketchrnn.checkpoint_meta import META, aside_copies, temp_copies
from sketchrnn.errors import CheckpointError

PREDICT_JOB = "predict"


def slug(category: str) -> str:
    """A filesystem-safe name part: 'alarm clock' -> 'alarm_clock'. Never '.' or '..' (no
    leading or trailing dots), so ``folder / slug(name)`` stays inside ``folder``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", category.strip()).strip("_.") or "category"


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
    def attempts(self) -> Path:
        return self.root / "attempts.jsonl"

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
        return read_jsonl(self.metrics)

    def append_metrics(self, rows: list[dict[str, Any]]) -> None:
        append_jsonl(self.metrics, rows)

    def remove_interrupted_writes(self) -> list[Path]:
        """Delete the temp files and checkpoint folders of writes that were killed (a lost node,
        a SIGKILL); returns them. Only for the job's one writer, before it writes anything."""
        import shutil

        temps = [p for p in self.root.rglob(".*") if is_temp_file(p)]
        temps += temp_copies(self.latest) + temp_copies(self.best)
        for path in temps:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        return temps

    def truncate_metrics(self, step: int) -> None:
        """Drop rows after `step` (resuming from a checkpoint taken at `step`)."""
        rows = [r for r in self.read_metrics() if int(r.get("step", 0)) <= step]
        write_text_atomic(self.metrics, "".join(json.dumps(r) + "\n" for r in rows))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSON-lines file (none if it is missing)."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line:
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut by a crash: the rest is still good
                continue
    return rows


def append_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")


def is_checkpoint(path: Path) -> bool:
    """Whether ``path`` holds a saved checkpoint (its meta file is written last, by a rename)."""
    return (Path(path) / META).is_file()


def job_root(checkpoint: Path) -> Path:
    """``runs/<job>`` for ``runs/<job>/checkpoints/<best|latest>``; else the checkpoint folder
    itself (a checkpoint copied elsewhere keeps its outputs beside it)."""
    checkpoint = Path(checkpoint)
    return checkpoint.parent.parent if checkpoint.parent.name == "checkpoints" else checkpoint


def job_checkpoint(job_dir: Path, *, which: str = "best") -> Path | None:
    """The checkpoint folder in ``job_dir``: ``which`` ("best" or "latest") if it exists, else
    the other, else None."""
    jd = JobDir(job_dir)
    for candidate in (jd.best, jd.latest) if which == "best" else (jd.latest, jd.best):
        if is_checkpoint(candidate):
            return candidate
    return None


def find_checkpoint(runs_dir: Path, job: str, *, which: str = "best") -> Path:
    """The checkpoint folder of `job`: `which` ("best" or "latest") if it exists, else the other;
    a CheckpointError saying how to train it when there is neither."""
    found = job_checkpoint(Path(runs_dir) / job, which=which)
    if found is not None:
        return found
    raise CheckpointError(
        f"no trained model {job!r} under {runs_dir}",
        "train it first, e.g. `sketchrnn fit "
        + ("--only predict" if job == PREDICT_JOB else repr(job.removeprefix("draw-").replace("_", " ")))
        + f" --runs {runs_dir}`, or pass --runs/--checkpoint",
    )


# Which checkpoint of a draw job the sampling commands (sample, reconstruct, interpolate,
# predict's completion, serve, eval draw, export) use unless told; the rule is
# ``sampling_checkpoint``, measured in docs/draw_quality.md. "latest": the last one saved;
# "best": the lowest valid loss.
SAMPLING_CHECKPOINT = "latest"
CHECKPOINT_NAMES = ("best", "latest")
SAMPLE_QUALITY = "sample_quality"  # meta.extra key: a checkpoint's judged samples (eval draw, fit)


def recorded_sample_fid(checkpoint: Path) -> tuple[float, dict[str, Any]] | None:
    """``(FID, settings)`` of the samples judged by `eval draw` or `fit` (recorded in the
    checkpoint's meta by ``evaluation.checkpoint_choice``), or None. A save writes a fresh
    meta, so a record always describes the weights beside it."""
    from sketchrnn.checkpoint_meta import read_meta

    try:
        record = read_meta(checkpoint).extra.get(SAMPLE_QUALITY)
    except CheckpointError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("settings"), dict):
        return None
    fid = record.get("fid")
    if isinstance(fid, bool) or not isinstance(fid, (int, float)) or not 0 <= fid < float("inf"):
        return None
    return float(fid), record["settings"]


def sampling_checkpoint(job_dir: Path) -> Path | None:
    """The draw checkpoint to sample from, by the measured rule: when both kept checkpoints carry
    a sample FID judged under the same settings (samples, k, temperature, seed, predict model),
    the one with the lower FID; otherwise ``SAMPLING_CHECKPOINT``.

    A draw model is judged by its samples, not its valid loss: on small data the valid loss
    bottoms out early while the samples at low temperature keep getting better (docs/predict.md,
    docs/draw_quality.md), so without measured samples the latest checkpoint is the default.
    """
    jd = JobDir(job_dir)
    if is_checkpoint(jd.best) and is_checkpoint(jd.latest):
        best, latest = recorded_sample_fid(jd.best), recorded_sample_fid(jd.latest)
        if best is not None and latest is not None and best[1] == latest[1]:
            return jd.best if best[0] < latest[0] else jd.latest
    return job_checkpoint(job_dir, which=SAMPLING_CHECKPOINT)


def draw_checkpoint(runs_dir: Path, category: str, which: str | None = None) -> Path:
    """The draw model of ``category`` the sampling commands use: ``which`` ("best" or "latest")
    if given, else the one ``sampling_checkpoint`` picks."""
    job = draw_job_name(category)
    if which is None:
        chosen = sampling_checkpoint(Path(runs_dir) / job)
        if chosen is not None:
            return chosen
    return find_checkpoint(runs_dir, job, which=which or SAMPLING_CHECKPOINT)


def resolve_draw_checkpoint(category: str, runs_dir: Path, checkpoint: Path | str | None) -> Path:
    """A ``--checkpoint`` value: a checkpoint folder, the word "best" or "latest" (that checkpoint
    of the category's job under ``runs_dir``), or None (the rule, ``sampling_checkpoint``)."""
    if checkpoint is None:
        return draw_checkpoint(Path(runs_dir), category)
    if str(checkpoint) in CHECKPOINT_NAMES and not Path(checkpoint).exists():
        return draw_checkpoint(Path(runs_dir), category, str(checkpoint))
    return Path(checkpoint)


def find_draw_checkpoint(category: str, runs_dir: Path) -> Path | None:
    """The draw model of ``category`` under ``runs_dir``, or None when none was trained."""
    try:
        return draw_checkpoint(Path(runs_dir), category)
    except CheckpointError:
        return None


def predict_checkpoint(runs_dir: Path | None = None, checkpoint: Path | None = None) -> Path:
    """``checkpoint`` itself, or the predict job's best (else latest) checkpoint under ``runs_dir``."""
    if checkpoint is not None:
        return Path(checkpoint)
    return find_checkpoint(Path(runs_dir or "runs"), PREDICT_JOB)


def resolve_predict_target(target: str | Path) -> Path:
    """A checkpoint directory, a job directory, or a runs directory -> the predict checkpoint it
    means."""
    target = Path(target)
    if is_checkpoint(target):
        return target
    for job in (JobDir(target), JobDir(target / PREDICT_JOB)):
        for candidate in (job.best, job.latest):
            if is_checkpoint(candidate):
                return candidate
    return predict_checkpoint(target)  # raises the CheckpointError that says how to train it


def load_task(path: Path, task: str) -> tuple[Any, Any]:
    """``(model, meta)`` of a checkpoint of ``task`` ("draw" or "predict"), in eval mode; a
    CheckpointError for a model of the other task."""
    from sketchrnn.checkpoint import load_checkpoint

    model, meta, _ = load_checkpoint(path)
    if meta.task != task:
        example = ("runs/predict/checkpoints/best" if task == "predict"
                   else "runs/draw-<category>/checkpoints/latest")
        raise CheckpointError(f"{path} holds a {meta.task} model, not a {task} model",
                              f"pass a {task} job's checkpoint ({example})")
    model.eval()
    return model, meta


def load_draw(path: Path) -> tuple[Any, Any]:
    """``(model, meta)`` of a draw checkpoint in eval mode; CheckpointError for a predict model."""
    return load_task(path, "draw")


def load_draw_for(category: str, runs_dir: Path,
                  checkpoint: Path | str | None = None) -> tuple[Path, Any, Any]:
    """``(path, model, meta)`` of the draw model of ``category`` (a canonical name): the given
    ``checkpoint`` (``resolve_draw_checkpoint``), which must draw that category."""
    path = resolve_draw_checkpoint(category, runs_dir, checkpoint)
    model, meta = load_draw(path)
    if category not in meta.categories:
        raise CheckpointError(f"{path} draws {', '.join(map(repr, meta.categories))}, not "
                              f"{category!r}", f"name the category it draws, e.g. "
                              f"{meta.categories[0]!r}, or pass another --checkpoint")
    return path, model, meta


def load_classifier(path: Path) -> tuple[Any, Any]:
    """``(model, meta)`` of a predict checkpoint, in eval mode; CheckpointError for a draw model."""
    return load_task(path, "predict")


def recover_interrupted_swap(checkpoint: Path) -> bool:
    """Put back the previous checkpoint when a save was killed between moving it aside and
    renaming the new one in (``checkpoint.save_checkpoint``); True when there is one now."""
    if is_checkpoint(checkpoint):
        return True
    aside = aside_copies(Path(checkpoint))
    if not aside or not is_checkpoint(aside[-1]):
        return False
    if checkpoint.exists():  # a half-renamed leftover without its meta file
        import shutil

        shutil.rmtree(checkpoint)
    aside[-1].rename(checkpoint)
    return True
