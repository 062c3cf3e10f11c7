"""What one step computes for each task, and how a split is evaluated.

Draw models: Sketch-RNN loss (reconstruction + annealed KL) on augmented full sketches.
Predict model: cross-entropy on sketches whose tail (0-50% by default) is cut off, in
class-balanced batches.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from sketchrnn.train.job import JobSpec


def batch_stream(job: JobSpec, data_set: Any, *, seed: int, rank: int, world_size: int) -> Iterator[Any]:
    """Endless training batches for this worker's shard (augmented; truncated for predict)."""
    from sketchrnn.data.batching import Augment, iterate_batches

    from sketchrnn.errors import DataError

    rng = np.random.default_rng(seed)
    augment = Augment(scale=job.data.augment_scale, drop=job.data.augment_drop,
                      rotate=job.data.augment_rotate)
    truncate = (job.data.truncate_min, job.data.truncate_max) if job.task == "predict" else None
    while True:
        produced = 0
        for batch in iterate_batches(
            data_set, job.data.batch_size, rng=rng, shuffle=True, bucket=job.data.bucket,
            drop_last=True, augment=augment, truncate=truncate,
            balanced=job.task == "predict", shard=(rank, world_size),
        ):
            produced += 1
            yield batch
        if produced == 0:
            raise DataError(
                f"{job.name}: {len(data_set)} training sketches make no full batch of "
                f"{job.data.batch_size} for each of {world_size} worker(s)",
                "lower data.batch_size or --workers",
            )


def eval_batches(job: JobSpec, data_set: Any, *, seed: int, limit: int | None) -> Iterator[Any]:
    """Deterministic evaluation batches: no augmentation; predict sketches cut with a fixed seed."""
    from sketchrnn.data.batching import iterate_batches

    rng = np.random.default_rng(seed)
    truncate = (job.data.truncate_min, job.data.truncate_max) if job.task == "predict" else None
    for i, batch in enumerate(
        iterate_batches(
            data_set, job.data.batch_size, rng=rng, shuffle=False, bucket=True,
            drop_last=False, augment=None, truncate=truncate,
        )
    ):
        if limit is not None and i >= limit:
            return
        yield batch


def compute_terms(model: Any, loss_fn: Any, batch: Any, step: int, device: torch.device) -> dict[str, torch.Tensor]:
    """Loss terms for one batch; `loss` is what is optimised."""
    x = batch.x.to(device, non_blocking=True)  # [B, T, 5]
    # The model gets CPU lengths: packing needs them there, so no device -> host sync.
    if getattr(_unwrap(model), "task", "draw") == "predict":
        logits = model(x, batch.lengths)  # [B, n_categories]
        return loss_fn(logits, batch.labels.to(device, non_blocking=True))
    output = model(x, batch.lengths)
    return loss_fn(output, x, batch.lengths.to(device, non_blocking=True), step)  # masks on device


def _unwrap(model: Any) -> Any:
    model = getattr(model, "_orig_mod", model)
    return getattr(model, "module", model)


@torch.no_grad()
def evaluate(
    job: JobSpec, model: Any, loss_fn: Any, data_set: Any, *, step: int, device: torch.device,
    limit: int | None, seed: int = 1234,
) -> dict[str, float]:
    """Mean of every loss term over the split (weighted by batch size)."""
    net = _unwrap(model)
    was_training = net.training
    net.eval()
    totals: dict[str, float] = {}
    count = 0
    for batch in eval_batches(job, data_set, seed=seed, limit=limit):
        terms = compute_terms(net, loss_fn, batch, step, device)
        n = int(batch.lengths.shape[0])
        for key, value in terms.items():
            totals[key] = totals.get(key, 0.0) + float(value) * n
        count += n
    net.train(was_training)
    return {k: v / max(count, 1) for k, v in totals.items()}
