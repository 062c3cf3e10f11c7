"""Checkpoint directories: weights without pickle, metadata that rebuilds the model, atomic saves.

A checkpoint is a directory::

    model.safetensors   the unwrapped model's state dict (safetensors: loading runs no code)
    meta.json           CheckpointMeta: registry name + kwargs, task, categories, data scale, ...
    train_state.pt      optional: optimizer, scheduler, RNG states, step (plain dicts/tensors,
                        so that ``torch.load(weights_only=True)`` reads it)

The metadata carries everything ``sample`` needs (model name and kwargs, the data ``scale``), so a
checkpoint directory alone is enough to draw. Saves are written into a temp directory beside the
target and renamed into place, so a crash never leaves a half-written checkpoint under the name.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from torch import nn

from sketchrnn import __version__
from sketchrnn._io import fsync_file, write_text_atomic
from sketchrnn.errors import CheckpointError

FORMAT_VERSION = 1
WEIGHTS, META, TRAIN_STATE = "model.safetensors", "meta.json", "train_state.pt"


class CheckpointMeta(BaseModel):
    """Everything needed to rebuild and use a model, stored as ``meta.json``."""

    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="constants")

    format_version: int = Field(FORMAT_VERSION, description="Checkpoint layout version.")
    model: str = Field(description="Registry name of the model (entry point in sketchrnn.models).")
    model_kwargs: dict[str, Any] = Field(default_factory=dict, description="Flat builder kwargs.")
    task: Literal["draw", "predict"] = Field(description="draw: Sketch-RNN; predict: classifier.")
    categories: list[str] = Field(default_factory=list, description="Category names, label order.")
    scale: float = Field(gt=0, description="Data scale factor: sampled offsets * scale = pixels.")
    max_seq_len: int = Field(gt=0, description="N_max the model was trained with.")
    sketchrnn_version: str = Field(__version__, description="sketchrnn version that saved it.")
    plugin_versions: dict[str, str] = Field(default_factory=dict, description="Plugin versions.")
    step: int = Field(0, ge=0, description="Optimizer steps taken when saved.")
    metrics: dict[str, float | None] = Field(
        default_factory=dict, description="Metrics at save time (None: not finite).")
    created: datetime = Field(
        default_factory=lambda: datetime.now(timezone.utc), description="When it was saved (ISO)."
    )
    extra: dict[str, Any] = Field(default_factory=dict, description="E.g. calibration temperature.")


def unwrap_model(model: nn.Module) -> nn.Module:
    """Strip DDP / DataParallel (``.module``) and ``torch.compile`` (``._orig_mod``) wrappers,
    so saved names never carry ``module.`` or ``_orig_mod.`` prefixes."""
    while True:
        if isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
            model = model.module
        elif isinstance(getattr(model, "_orig_mod", None), nn.Module):
            model = model._orig_mod
        else:
            return model


def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    meta: CheckpointMeta,
    train_state: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint directory at ``path``, replacing any existing one.

    Everything is written into ``.<name>.tmp-*`` beside ``path`` first; then the old checkpoint
    is renamed aside, the new one renamed in, and the old one removed. A failure while writing
    removes the temp dir and leaves the previous checkpoint untouched.
    """
    from safetensors.torch import save_file

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise CheckpointError(f"Cannot save a checkpoint at {path}: it is a file",
                              "choose a directory path for the checkpoint")
    if train_state is not None:
        _check_plain(train_state, "train_state")
    path.parent.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:8]
    tmp = path.parent / f".{path.name}.tmp-{tag}"
    tmp.mkdir()
    try:
        # Copies detach the weights from the module and break shared storage (tied weights),
        # which safetensors refuses to write.
        state = {k: v.detach().to("cpu", copy=True).contiguous()
                 for k, v in unwrap_model(model).state_dict().items()}
        save_file(state, str(tmp / WEIGHTS), metadata={"format": "pt"})
        (tmp / META).write_text(meta.model_dump_json(indent=2) + "\n", encoding="utf-8")
        if train_state is not None:
            torch.save(train_state, tmp / TRAIN_STATE)
        for name in os.listdir(tmp):
            fsync_file(tmp / name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = path.parent / f".{path.name}.old-{tag}"
    if path.exists():
        os.rename(path, old)
    os.rename(tmp, path)
    shutil.rmtree(old, ignore_errors=True)
    return path


def read_meta(path: str | os.PathLike) -> CheckpointMeta:
    """Read and validate ``meta.json`` of a checkpoint directory (no weights are loaded)."""
    path = _checkpoint_dir(path)
    meta_path = path / META
    if not meta_path.is_file():
        raise CheckpointError(f"Checkpoint {path} has no {META}",
                              "the save was incomplete; use another checkpoint")
    try:
        raw = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{meta_path} is not valid JSON: {e}",
                              "the file is corrupt; use another checkpoint") from e
    try:
        meta = CheckpointMeta.model_validate(raw)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(map(str, err['loc'])) or '<root>'}: {err['msg']}" for err in e.errors()
        )
        raise CheckpointError(f"{meta_path} is invalid: {problems}",
                              "fix the listed fields or use another checkpoint") from e
    if meta.format_version > FORMAT_VERSION:
        raise CheckpointError(
            f"{meta_path} has format_version {meta.format_version}; this sketchrnn "
            f"({__version__}) reads up to {FORMAT_VERSION}", "upgrade sketchrnn")
    return meta


def update_meta_metrics(path: str | os.PathLike, metrics: dict[str, float | None]) -> CheckpointMeta:
    """Merge ``metrics`` into a saved checkpoint's ``meta.json`` (e.g. test metrics at the end of
    training), replacing the file atomically; the weights are not touched."""
    path = _checkpoint_dir(path)
    meta = read_meta(path)
    meta = meta.model_copy(update={"metrics": {**meta.metrics, **metrics}})
    meta = CheckpointMeta.model_validate(meta.model_dump())  # validate the merged values
    write_text_atomic(path / META, meta.model_dump_json(indent=2) + "\n")
    return meta


def load_checkpoint(
    path: str | os.PathLike,
    *,
    build_model: Callable[[str, dict[str, Any]], nn.Module] | None = None,
    map_location: str | torch.device = "cpu",
) -> tuple[nn.Module, CheckpointMeta, dict[str, Any] | None]:
    """Rebuild the model from ``meta.json``, load its weights; return ``(model, meta, train_state)``.

    ``build_model(name, kwargs)`` defaults to the registry. The model is returned in eval mode on
    ``map_location``; ``train_state`` is None when the checkpoint has none.
    """
    from safetensors.torch import load_file

    path = _checkpoint_dir(path)
    meta = read_meta(path)
    weights_path = path / WEIGHTS
    if not weights_path.is_file():
        raise CheckpointError(f"Checkpoint {path} has no {WEIGHTS}",
                              "the save was incomplete; use another checkpoint")
    try:
        state = load_file(str(weights_path), device=str(torch.device(map_location)))
    except Exception as e:  # safetensors raises its own SafetensorError (and OSError)
        raise CheckpointError(f"{weights_path} is corrupt or truncated: {e}",
                              "use another checkpoint") from e

    build = build_model or _registry_build
    try:
        model = build(meta.model, dict(meta.model_kwargs))
    except TypeError as e:
        raise CheckpointError(f"{path}: model {meta.model!r} does not accept model_kwargs "
                              f"{meta.model_kwargs}: {e}",
                              "the checkpoint needs a compatible model plugin version") from e
    _check_state(weights_path, model.state_dict(), state)
    model.to(map_location)
    model.load_state_dict(state, strict=True)
    model.eval()

    train_state = None
    if (path / TRAIN_STATE).is_file():
        try:
            train_state = torch.load(path / TRAIN_STATE, map_location=map_location,
                                     weights_only=True)
        except Exception as e:
            raise CheckpointError(f"{path / TRAIN_STATE} cannot be read: {e}",
                                  "delete it to load the weights only, or use another "
                                  "checkpoint") from e
    return model, meta, train_state


def _registry_build(name: str, kwargs: dict[str, Any]) -> nn.Module:
    from sketchrnn.registry import build_model

    return build_model(name, **kwargs)


def _checkpoint_dir(path: str | os.PathLike) -> Path:
    path = Path(path)
    if path.is_dir():
        return path
    if path.is_file():
        raise CheckpointError(f"{path} is a file, not a checkpoint directory",
                              f"pass the directory that holds {META} and {WEIGHTS}"
                              + (f", e.g. {path.parent}" if path.name in (META, WEIGHTS) else ""))
    leftovers = sorted(path.parent.glob(f".{path.name}.old-*")) if path.parent.is_dir() else []
    if leftovers:
        raise CheckpointError(f"No checkpoint at {path}, but an interrupted save left the "
                              f"previous one at {leftovers[-1]}", f"rename it to {path}")
    raise CheckpointError(f"No checkpoint at {path}",
                          f"pass a checkpoint directory (it holds {META} and {WEIGHTS})")


def _check_state(where: Path, expected: dict[str, torch.Tensor],
                 found: dict[str, torch.Tensor]) -> None:
    """Compare names and shapes first, so the error lists every kind of mismatch at once."""
    missing = sorted(expected.keys() - found.keys())
    unexpected = sorted(found.keys() - expected.keys())
    shapes = [f"{k} {tuple(found[k].shape)} vs model {tuple(expected[k].shape)}"
              for k in sorted(expected.keys() & found.keys())
              if found[k].shape != expected[k].shape]
    problems = []
    for label, items in (("missing tensors", missing), ("unexpected tensors", unexpected),
                         ("shape mismatches", shapes)):
        if items:
            more = f" and {len(items) - 5} more" if len(items) > 5 else ""
            problems.append(f"{len(items)} {label}: {', '.join(items[:5])}{more}")
    if problems:
        raise CheckpointError(f"{where} does not fit the model in meta.json: {'; '.join(problems)}",
                              "check model/model_kwargs in meta.json, or use another checkpoint")


_PLAIN = (type(None), bool, int, float, str, torch.Tensor, torch.Size, torch.dtype, torch.device)


def _check_plain(obj: Any, where: str) -> None:
    """Fail at save time, naming the entry, if ``train_state`` holds something that
    ``torch.load(weights_only=True)`` would refuse (numpy arrays, custom objects)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if not isinstance(k, (str, int)):
                raise TypeError(f"{where} has a key of type {type(k).__name__}; use str keys")
            _check_plain(v, f"{where}[{k!r}]")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _check_plain(v, f"{where}[{i}]")
    elif not isinstance(obj, _PLAIN):
        raise TypeError(f"{where} is a {type(obj).__module__}.{type(obj).__name__}; train_state "
                        "must hold only dicts, lists, tuples, numbers, strings and tensors "
                        "(convert numpy arrays with torch.from_numpy)")
