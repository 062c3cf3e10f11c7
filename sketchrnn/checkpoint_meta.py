"""A checkpoint's ``meta.json``: what rebuilds the model and how to use it, readable without torch.

The metadata is untrusted input (a checkpoint may come from anywhere), so it is validated with
strict types, finite floats and bounds before anything is built from it: a ``max_seq_len`` of
10^8 would make sampling allocate gigabytes, a scale of 1e308 would turn every coordinate into
inf. ``checkpoint.load_checkpoint`` then checks it against the weights.

A checkpoint describes itself: besides the model it stores the data settings the model was
trained with (``data``: where the data came from, min/max length, clamp, the cut range of the
predict task) and the loss settings, so that inference and evaluation of a checkpoint folder
copied anywhere need nothing else.
"""

from __future__ import annotations

import json
import math
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sketchrnn import __version__
from sketchrnn.config import DataConfig, LossConfig
from sketchrnn.config_migrations import drop_legacy_augment
from sketchrnn.data.names import MAX_NAME_CHARS as MAX_NAME
from sketchrnn.data.names import check_file_stem
from sketchrnn.errors import CheckpointError, DataError

# 2: the data and loss settings are stored (format 1 checkpoints relied on the job's config.yaml).
FORMAT_VERSION = 2
WEIGHTS, META, TRAIN_STATE = "model.safetensors", "meta.json", "train_state.pt"
# The data scale is the std of offsets clamped to +-data.clamp, so it never exceeds the clamp;
# this caps it for any clamp, far above any real data (QuickDraw: about 30 px).
MAX_SCALE = 1e5
MAX_CATEGORIES = 100_000
MAX_META_BYTES = 10_000_000  # a real meta.json is a few kB (the calibration record included)
RETRAIN = "retrain the job (`sketchrnn fit ... --fresh`) or use another checkpoint"


class OutlierExposure(BaseModel):
    """The outliers a predict model was trained against (``config.OutlierConfig``)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    weight: float = Field(ge=0, le=100, description="Weight of the cross-entropy to uniform.")
    categories: list[str] = Field(max_length=MAX_CATEGORIES,
                                  description="Outlier categories used in training (sorted).")
    n_sketches: int = Field(ge=0, description="Outlier drawings used.")
    source: str = Field(max_length=4096, description="Folder they were read from.")


class Pretrained(BaseModel):
    """What a predict model's encoder was pretrained on (``config.PretrainConfig``)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    categories: list[str] = Field(max_length=MAX_CATEGORIES,
                                  description="Categories of the pretraining drawings (sorted).")
    n_sketches: int = Field(ge=0, description="Pretraining drawings used.")
    sources: dict[str, int] = Field(default_factory=dict, max_length=MAX_CATEGORIES,
                                    description="Source folder or file -> drawings used.")
    steps: int = Field(ge=0, description="Pretraining steps.")
    train_accuracy: float = Field(ge=0, le=1, description="Accuracy over the pretraining "
                                  "categories, on the last steps' batches.")


class CheckpointMeta(BaseModel):
    """Everything needed to rebuild and use a model, stored as ``meta.json``."""

    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="constants", allow_inf_nan=False)

    format_version: int = Field(FORMAT_VERSION, ge=1, description="Checkpoint layout version.")
    model: str = Field(min_length=1, description="Registry name of the model (sketchrnn.models).")
    model_kwargs: dict[str, Any] = Field(default_factory=dict, description="Flat builder kwargs.")
    task: Literal["draw", "predict"] = Field(description="draw: Sketch-RNN; predict: classifier.")
    categories: list[str] = Field(min_length=1, max_length=MAX_CATEGORIES,
                                  description="Category names, in label order.")
    scale: float = Field(gt=0, le=MAX_SCALE,
                         description="Data scale factor: model offsets * scale = pixels.")
    max_seq_len: int = Field(description="N_max the model was trained with (= data.max_seq_len).")
    data: DataConfig = Field(description="Data settings of training: source, lengths, clamp, cuts.")
    loss: LossConfig = Field(description="Loss settings of training (evaluation reuses them).")
    sketchrnn_version: str = Field(__version__, description="sketchrnn version that saved it.")
    plugin_versions: dict[str, str] = Field(default_factory=dict, description="Plugin versions.")
    step: int = Field(0, ge=0, description="Optimizer steps taken when saved.")
    # Metrics are reported, never computed with: a diverged run may record NaN.
    metrics: dict[str, Annotated[float, Field(allow_inf_nan=True)] | None] = Field(
        default_factory=dict, description="Metrics at save time.")
    created: datetime = Field(
        default_factory=lambda: datetime.now(timezone.utc), description="When it was saved (ISO)."
    )
    extra: dict[str, Any] = Field(default_factory=dict, description="E.g. the calibration record.")
    # Absent in checkpoints trained without outlier exposure (and in older ones).
    outlier_exposure: OutlierExposure | None = Field(
        None, description="Predict task: the outlier categories it was trained against.")
    pretrained: Pretrained | None = Field(
        None, description="Predict task: what its encoder was pretrained on (absent: nothing).")

    @model_validator(mode="after")
    def _consistent(self) -> CheckpointMeta:
        problems = []
        if self.max_seq_len != self.data.max_seq_len:
            problems.append(f"max_seq_len {self.max_seq_len} differs from data.max_seq_len "
                            f"{self.data.max_seq_len}")
        if not math.isfinite(self.data.clamp):
            problems.append(f"data.clamp {self.data.clamp} is not finite")
        elif self.scale > self.data.clamp:
            problems.append(f"scale {self.scale:g} exceeds data.clamp {self.data.clamp:g} (the "
                            "scale is the std of clamped offsets)")
        if len(set(self.categories)) != len(self.categories):
            problems.append("categories has repeated names")
        problems += [f"category {name[:60]!r} is not a plain name (1-{MAX_NAME} characters, no "
                     "path separators, ':', unprintable characters or leading dot)"
                     for name in self.categories if not _plain_name(name)][:3]
        problems += self._trained_category_problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _trained_category_problems(self) -> list[str]:
        """Outlier and pretraining categories must be plain names and exposure categories by the
        fixed rule: a checkpoint trained on an evaluation category would make `eval predict`'s
        OOD figures meaningless."""
        from sketchrnn.data.outliers import outlier_role

        bad = []
        for field, record in (("outlier_exposure", self.outlier_exposure),
                              ("pretrained", self.pretrained)):
            names = [] if record is None else record.categories
            bad += [f"{field}.categories {n[:60]!r} is not a plain name" for n in names
                    if not _plain_name(n)]
            bad += [f"{field}.categories has {n!r}, which the fixed rule makes an {role!r} "
                    "category, not one to train on"
                    for n in names if _plain_name(n)
                    for role in [outlier_role(n, self.categories)] if role != "exposure"]
        return bad[:3]


def _plain_name(name: str) -> bool:
    """Category names end up in file names (outputs, job folders): the rule of every name that
    becomes a file name (``data.names``), so any category `data prepare` writes is accepted."""
    try:
        check_file_stem(name, "category")
    except DataError:
        return False
    return True


def read_meta(path: str | os.PathLike) -> CheckpointMeta:
    """Read and validate ``meta.json`` of the checkpoint directory ``path`` (no torch, no weights).

    A CheckpointError with a one-line message naming the file, the field and the fix when the file
    is missing, not JSON, of another format version, or out of bounds.
    """
    meta_path = checkpoint_dir(path) / META
    if not meta_path.is_file():
        raise CheckpointError(f"Checkpoint {path} has no {META}",
                              "the save was incomplete; use another checkpoint")
    size = meta_path.stat().st_size
    if size > MAX_META_BYTES:
        raise CheckpointError(f"{meta_path} is {size:,} bytes, more than metadata needs "
                              f"({MAX_META_BYTES:,} at most)", "use another checkpoint")
    try:
        text = meta_path.read_text(encoding="utf-8")
        version = json.loads(text).get("format_version") if text.lstrip().startswith("{") else None
    except (UnicodeDecodeError, RecursionError, ValueError) as e:  # JSONDecodeError: ValueError
        raise CheckpointError(f"{meta_path} is not valid JSON: {e}",
                              "the file is corrupt; use another checkpoint") from e
    if isinstance(version, int) and version != FORMAT_VERSION:
        newer = version > FORMAT_VERSION
        raise CheckpointError(
            f"{meta_path} has checkpoint format {version}; this sketchrnn ({__version__}) reads "
            f"format {FORMAT_VERSION}" + ("" if newer else ", which stores the data and loss "
                                          "settings that inference and evaluation need"),
            "upgrade sketchrnn" if newer else RETRAIN)
    text = _without_legacy_keys(text)
    try:
        return CheckpointMeta.model_validate_json(text, strict=True)
    except ValidationError as e:
        raise CheckpointError(f"{meta_path} is invalid: {validation_problems(e)}", RETRAIN) from e


def _without_legacy_keys(text: str) -> str:
    """Checkpoints saved while augmentation was a data setting still load (the keys are dropped:
    augmentation plays no part in using a model). Strict JSON validation follows."""
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError):  # reported by the strict validation
        return text
    if isinstance(raw, dict) and isinstance(raw.get("data"), dict):
        data = drop_legacy_augment(raw["data"])
        if data != raw["data"]:
            return json.dumps({**raw, "data": data})
    return text


def checkpoint_dir(path: str | os.PathLike) -> Path:
    """``path`` when it is a directory; else a CheckpointError saying what to pass instead."""
    path = Path(path)
    if path.is_dir():
        return path
    if path.is_file():
        raise CheckpointError(f"{path} is a file, not a checkpoint directory",
                              f"pass the directory that holds {META} and {WEIGHTS}"
                              + (f", e.g. {path.parent}" if path.name in (META, WEIGHTS) else ""))
    leftovers = aside_copies(path)
    if leftovers:
        raise CheckpointError(f"No checkpoint at {path}, but an interrupted save left the "
                              f"previous one at {leftovers[-1]}", f"rename it to {path}")
    raise CheckpointError(f"No checkpoint at {path}",
                          f"pass a checkpoint directory (it holds {META} and {WEIGHTS})")


def aside_name(path: Path, tag: str) -> Path:
    """Where a save moves the previous checkpoint while it renames the new one in."""
    return path.parent / f".{path.name}.old-{tag}"


def temp_name(path: Path, tag: str) -> Path:
    """Where a save writes the new checkpoint before renaming it to `path`."""
    return path.parent / f".{path.name}.tmp-{tag}"


def temp_copies(path: Path) -> list[Path]:
    """New checkpoints a save was writing when it was killed (never complete)."""
    return sorted(path.parent.glob(f".{path.name}.tmp-*")) if path.parent.is_dir() else []


def aside_copies(path: Path) -> list[Path]:
    """Previous checkpoints a save moved aside and did not get to delete, oldest first."""
    return sorted(path.parent.glob(f".{path.name}.old-*")) if path.parent.is_dir() else []


def read_meta_if_present(path: str | os.PathLike) -> CheckpointMeta | None:
    """The checkpoint's meta, or None when ``path`` holds no readable, valid ``meta.json``."""
    try:
        return read_meta(path)
    except (CheckpointError, OSError):
        return None


def validation_problems(e: ValidationError) -> str:
    """Every problem of a pydantic error on one line: ``field: message (got value)``."""
    parts = []
    for err in e.errors():
        msg = err["msg"].removeprefix("Value error, ")  # our own checks name their fields
        got = "" if err["type"] in ("missing", "value_error") else f" (got {err.get('input')!r:.60})"
        where = ".".join(map(str, err["loc"]))
        parts.append(f"{where}: {msg}{got}" if where else msg)
    return "; ".join(parts)


def with_updates(meta: CheckpointMeta, *, metrics: dict[str, float | None] | None = None,
                 extra: dict[str, Any] | None = None) -> CheckpointMeta:
    """``meta`` with ``metrics`` / ``extra`` entries merged in, validated again."""
    data = meta.model_dump()
    data["metrics"] = {**meta.metrics, **(metrics or {})}
    data["extra"] = {**meta.extra, **(extra or {})}
    return CheckpointMeta.model_validate(data)
