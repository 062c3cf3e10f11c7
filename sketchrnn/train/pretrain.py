"""Pretraining the predict model's encoder on other categories' drawings (``[predict.pretrain]``).

The predict model is bound by data (+2 points of accuracy per doubling of its 1,800 sketches per
category, docs/predict.md), and we hold drawings of some 330 other categories. Before a fresh
predict job trains, a twin of its model (same builder and options, a head as wide as the corpus
has categories) learns to classify the corpus (``data.pretrain_corpus``: the outlier rule decides
which categories may be used) with the job's own loss, augmentation, tail cuts and class-balanced
batches; then every weight of the twin but its head is copied into the job's model, whose own
head starts fresh (supervised pretraining, then fine-tuning: the head for 330 categories means
nothing for 4). The record of what it learnt from goes into every checkpoint's meta.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np
import torch

from sketchrnn.errors import DataError
from sketchrnn.train.job import JobSpec, build_job_loss
from sketchrnn.train.loop import make_optimizer, optimizer_step
from sketchrnn.train.schedule import lr_at

HEAD = "head."  # the classifier's head: the only weights not carried over
ACCURACY_WINDOW = 100  # steps whose batches make the recorded pretraining accuracy


def load_corpus(job: JobSpec, train: Any) -> Any:
    """The job's pretraining corpus in model units (sized like its ``train`` split)."""
    from sketchrnn.data.pretrain_corpus import read_pretrain_corpus

    cfg, data = job.settings.pretrain, job.data

    def under_data(path: Any) -> Any:  # relative paths are under data.data_dir, as for outliers
        return path if path.is_absolute() or data.data_dir is None else data.data_dir / path

    return read_pretrain_corpus(
        None if cfg.data_dir is None else under_data(cfg.data_dir),
        {name: under_data(path) for name, path in cfg.npz.items()}, job.categories,
        reference=train, min_seq_len=data.min_seq_len, max_seq_len=data.max_seq_len)


def pretrain_encoder(model: torch.nn.Module, task: Any, train: Any, device: torch.device
                     ) -> dict[str, Any]:
    """Pretrain on ``task``'s corpus and copy the encoder into ``model`` (on ``device``);
    returns the meta record (``checkpoint_meta.Pretrained``)."""
    from sketchrnn.registry import build_model

    job, cfg = task.job, task.job.settings.pretrain
    corpus = load_corpus(job, train)
    twin = build_model(job.settings.model.name,
                       **{**task.model_kwargs(), "n_categories": len(corpus.categories)})
    twin.to(device).train()
    accuracy = train_twin(twin, job, corpus.sketches, task, device)
    copy_encoder(twin, model)
    return {"categories": corpus.categories, "n_sketches": len(corpus.sketches),
            "sources": corpus.sources, "steps": cfg.steps, "train_accuracy": accuracy}


def train_twin(twin: torch.nn.Module, job: JobSpec, sketches: Any, task: Any,
               device: torch.device) -> float:
    """``pretrain.steps`` updates of ``twin`` on ``sketches``, on a cosine from ``pretrain.lr``;
    returns the accuracy over the last ``ACCURACY_WINDOW`` steps' batches."""
    from sketchrnn.data.batching import batch_stream

    cfg, train = job.settings.pretrain, job.settings.train
    schedule = train.model_copy(update={"steps": cfg.steps, "lr": cfg.lr, "lr_schedule": "cosine",
                                        "lr_decay": None})
    optimizer = make_optimizer(twin.parameters(), cfg.lr, train.weight_decay)
    loss_fn = build_job_loss(job)
    if len(sketches) < job.data.batch_size:
        raise DataError(f"{job.name}: {len(sketches)} pretraining drawings make no batch of "
                        f"{job.data.batch_size}", "add pretraining drawings or lower data.batch_size")
    stream = batch_stream(sketches, job.data.batch_size, rng=np.random.default_rng([train.seed, 29]),
                          bucket=job.data.bucket, augment=task.augment(),
                          truncate=task._truncate(), balanced=True)
    recent: deque[float] = deque(maxlen=ACCURACY_WINDOW)
    for step in range(1, cfg.steps + 1):
        batch = next(stream)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(schedule, step)
        logits = twin(batch.x.to(device), batch.lengths)  # [B, n_corpus_categories]
        terms = loss_fn(logits, batch.labels.to(device))
        optimizer_step(twin, optimizer, terms["loss"], train.grad_clip)
        loss, accuracy = (float(terms[k].detach()) for k in ("loss", "accuracy"))
        if not math.isfinite(loss):
            raise FloatingPointError(f"{job.name}: pretraining loss became {loss} at step {step}")
        recent.append(accuracy)
    return float(np.mean(recent))


def copy_encoder(source: torch.nn.Module, target: torch.nn.Module) -> None:
    """Every weight of ``source`` but its head into ``target`` (same model, another head)."""
    encoder = {k: v for k, v in source.state_dict().items() if not k.startswith(HEAD)}
    missing, unexpected = target.load_state_dict(encoder, strict=False)
    left_out = [k for k in missing if not k.startswith(HEAD)]
    if left_out or unexpected:  # a model whose encoder is not everything but `head`
        raise ValueError(f"pretrained encoder does not fit the model: missing {left_out[:3]}, "
                         f"unexpected {list(unexpected)[:3]}")
