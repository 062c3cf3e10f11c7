"""How a training process uses its device, set once at start-up (`fit_job`, every Ray worker).

* **TF32** (``train.tf32``, on by default): matmuls and cuDNN (the LSTMs) in TF32 on GPUs that
  have it (compute capability 8.0 and later). On the H200 it made batch 1000 1.92x faster and
  left the first-step loss within 1e-6 of fp32 (docs/benchmarks.md). Off: both flags false, so
  cuDNN does not use TF32 either (torch's own default lets cuDNN use it). On the CPU nothing is
  touched. Set through torch's legacy flags only: mixing them with the newer ``fp32_precision``
  API is an error in recent torch.
* **Capture** (``train.compile``, see ``model/capture.py``): the training forward compiled, with
  batches padded to a few fixed bucket lengths so that only that many graphs exist. Padding adds
  end tokens after every sketch's own, which the losses mask out and the packed encoders never
  read, so a padded batch has the same loss as the unpadded one (both tasks; tests check it).

What was applied goes into every checkpoint's ``meta.json`` (``extra.runtime``) and the final
metrics.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from sketchrnn.model.capture import Captured, compile_mode

N_BUCKETS = 4  # graphs captured per model: padded lengths max_seq_len + 1 times 1/4, 2/4, 3/4, 1
TF32_CAPABILITY = (8, 0)  # Ampere and later


def flushing_denormals() -> bool:
    """Whether this thread flushes denormals to zero (torch offers a setter, no getter)."""
    return (torch.tensor([1e-310], dtype=torch.float64) * 1.0).item() == 0.0


@contextmanager
def denormals_flushed(enabled: bool) -> Iterator[None]:
    """Flush denormals to zero inside the block and put the caller's setting back after, so a
    library call (fit_job in a test, a benchmark or a notebook) leaves the thread as it found it."""
    before = flushing_denormals()
    torch.set_flush_denormal(enabled or before)
    try:
        yield
    finally:
        torch.set_flush_denormal(before)


def apply_tf32(enabled: bool, device: torch.device) -> dict[str, Any]:
    """Set TF32 for this process's training on ``device``; returns what was applied."""
    if device.type != "cuda":
        return {"tf32": False, "tf32_note": "not a CUDA device"}
    capability = torch.cuda.get_device_capability(device)
    if tuple(capability) < TF32_CAPABILITY:
        return {"tf32": False, "tf32_note": f"compute capability {capability[0]}.{capability[1]} has no TF32"}
    torch.backends.cuda.matmul.allow_tf32 = enabled
    torch.backends.cudnn.allow_tf32 = enabled
    return {"tf32": enabled, "tf32_note": "train.tf32" + ("" if enabled else " is off")}


def bucket_lengths(max_seq_len: int, n: int = N_BUCKETS) -> list[int]:
    """Padded lengths ``T`` a batch is rounded up to: ``n`` steps up to ``max_seq_len + 1``."""
    top = max_seq_len + 1
    return sorted({math.ceil(top * k / n) for k in range(1, n + 1)})


def pad_to_bucket(batch: Any, buckets: list[int]) -> Any:
    """``batch`` with ``x [B, T, 5]`` padded with end tokens to the smallest bucket >= T."""
    x = batch.x  # [B, T, 5]
    target = next((b for b in buckets if b >= x.shape[1]), x.shape[1])
    if target == x.shape[1]:
        return batch
    pad = x.new_zeros(x.shape[0], target - x.shape[1], x.shape[2])  # [B, target - T, 5]
    pad[..., 4] = 1.0  # (0, 0, 0, 0, 1): end of sketch
    return dataclasses.replace(batch, x=torch.cat([x, pad], dim=1))


def bucketed(stream: Iterator[Any], buckets: list[int]) -> Iterator[Any]:
    for batch in stream:
        yield pad_to_bucket(batch, buckets)


def training_forward(net: torch.nn.Module, setting: str, device: torch.device, what: str) -> Captured:
    """What the training steps call instead of ``net``: compiled for ``setting``, else ``net``."""
    return Captured(net, compile_mode(setting, device), what)
