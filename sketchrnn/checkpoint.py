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

import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sketchrnn._io import fsync_file, write_text_atomic
from sketchrnn.checkpoint_meta import (
    META,
    TRAIN_STATE,
    WEIGHTS,
    CheckpointMeta,
    aside_name,
    temp_name,
    checkpoint_dir,
    read_meta,
    with_updates,
)
from sketchrnn.errors import CheckpointError

__all__ = ["CheckpointMeta", "load_checkpoint", "read_meta", "save_checkpoint", "unwrap_model",
           "update_meta"]

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
    tmp = temp_name(path, tag)
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
    old = aside_name(path, tag)
    if path.exists():
        os.rename(path, old)
    os.rename(tmp, path)
    shutil.rmtree(old, ignore_errors=True)
    return path


def update_meta(path: str | os.PathLike, *, metrics: dict[str, float | None] | None = None,
                extra: dict[str, Any] | None = None) -> CheckpointMeta:
    """Merge ``metrics`` (e.g. test metrics at the end of training) and ``extra`` entries (e.g.
    the calibration record) into a saved checkpoint's ``meta.json``, replacing the file
    atomically; the weights are not touched."""
    path = checkpoint_dir(path)
    meta = with_updates(read_meta(path), metrics=metrics, extra=extra)
    write_text_atomic(path / META, meta.model_dump_json(indent=2) + "\n")
    return meta


def load_checkpoint(
    path: str | os.PathLike,
    *,
    build_model: Callable[[str, dict[str, Any]], nn.Module] | None = None,
    map_location: str | torch.device = "cpu",
) -> tuple[nn.Module, CheckpointMeta, dict[str, Any] | None]:
    """Rebuild the model from ``meta.json``, load its weights; return ``(model, meta, train_state)``.

    ``build_model(name, kwargs)`` defaults to the registry. The meta is checked against the
    weights before any memory is spent on the model: the model it describes is built on torch's
    ``meta`` device (shapes, no storage) and compared with the tensor shapes in the safetensors
    header, and a predict model's output size with its number of categories. The model is
    returned in eval mode on ``map_location``; ``train_state`` is None when there is none.
    """
    from safetensors.torch import load_file

    path = checkpoint_dir(path)
    meta = read_meta(path)
    weights_path = path / WEIGHTS
    found = _stored_shapes(weights_path)
    build = build_model or _registry_build
    with torch.device("meta"):
        skeleton = _build(build, path, meta)
    _check_state(weights_path, {k: v.shape for k, v in skeleton.state_dict().items()}, found)
    _check_outputs(path, meta, skeleton)
    try:
        state = load_file(str(weights_path), device=str(torch.device(map_location)))
    except Exception as e:  # safetensors raises its own SafetensorError (and OSError)
        raise CheckpointError(f"{weights_path} is corrupt or truncated: {e}",
                              "use another checkpoint") from e
    model = _build(build, path, meta)
    model.to(map_location)
    model.load_state_dict(state, strict=True)
    model.eval()
    return model, meta, _train_state(path, map_location)


def _stored_shapes(weights_path: Path) -> dict[str, tuple[int, ...]]:
    """Tensor name -> shape from the safetensors header (no tensor data is read)."""
    from safetensors import safe_open

    if not weights_path.is_file():
        raise CheckpointError(f"Checkpoint {weights_path.parent} has no {WEIGHTS}",
                              "the save was incomplete; use another checkpoint")
    try:
        with safe_open(str(weights_path), framework="pt") as f:
            return {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    except Exception as e:  # safetensors raises its own SafetensorError (and OSError)
        raise CheckpointError(f"{weights_path} is corrupt or truncated: {e}",
                              "use another checkpoint") from e


def _build(build: Callable[[str, dict[str, Any]], nn.Module], path: Path,
           meta: CheckpointMeta) -> nn.Module:
    try:
        return build(meta.model, dict(meta.model_kwargs))
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path / META}: model {meta.model!r} does not accept model_kwargs "
                              f"{meta.model_kwargs}: {e}".replace("\n", " "),
                              "the checkpoint needs a compatible model plugin version") from e


def _check_outputs(path: Path, meta: CheckpointMeta, model: nn.Module) -> None:
    """A predict model scores one class per category: its output size must match the list."""
    outputs = getattr(model, "n_categories", None)
    if meta.task == "predict" and outputs is not None and outputs != len(meta.categories):
        raise CheckpointError(
            f"{path / META}: categories lists {len(meta.categories)} names but the model has "
            f"{outputs} outputs", "restore the categories the model was trained on, or retrain it")


def _train_state(path: Path, map_location: str | torch.device) -> dict[str, Any] | None:
    if not (path / TRAIN_STATE).is_file():
        return None
    try:
        return torch.load(path / TRAIN_STATE, map_location=map_location, weights_only=True)
    except Exception as e:
        raise CheckpointError(f"{path / TRAIN_STATE} cannot be read: {e}",
                              "delete it to load the weights only, or use another checkpoint") from e


def _registry_build(name: str, kwargs: dict[str, Any]) -> nn.Module:
    from sketchrnn.registry import build_model

    return build_model(name, **kwargs)


def _check_state(where: Path, expected: dict[str, tuple[int, ...]],
                 found: dict[str, tuple[int, ...]]) -> None:
    """Compare names and shapes first, so the error lists every kind of mismatch at once."""
    missing = sorted(expected.keys() - found.keys())
    unexpected = sorted(found.keys() - expected.keys())
    shapes = [f"{k} {tuple(found[k])} vs model {tuple(expected[k])}"
              for k in sorted(expected.keys() & found.keys())
              if tuple(found[k]) != tuple(expected[k])]
    problems = []
    for label, items in (("missing tensors", missing), ("unexpected tensors", unexpected),
                         ("shape mismatches", shapes)):
        if items:
            more = f" and {len(items) - 5} more" if len(items) > 5 else ""
            problems.append(f"{len(items)} {label}: {', '.join(items[:5])}{more}")
    if problems:
        raise CheckpointError(f"{where} does not fit the model in {META}: {'; '.join(problems)}",
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
