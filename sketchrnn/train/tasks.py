"""What differs between the two kinds of job, one class each; the training loop only calls them.

Draw task: Sketch-RNN loss (reconstruction + annealed KL) on augmented full sketches; a grid of
samples at every checkpoint. Predict task: cross-entropy on sketches whose tail (0-50% by
default) is cut off, in class-balanced batches; an accuracy plot, and calibration at the end.

`task_for(job)` chooses the class once. Tuning reads the metric and its direction, the job
name and the categories rule from the same classes (`task_class(name)`).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from sketchrnn.train.job import JobSpec


class Task:
    """One job's task. Subclasses set the class attributes and override the hooks they need."""

    name: ClassVar[str]
    metric: ClassVar[str]  # the validation metric a sweep ranks trials by
    mode: ClassVar[str]  # "min" or "max": which way `metric` is better
    cut_tails: ClassVar[bool] = False  # train and evaluate on sketches with their tail cut off
    balanced: ClassVar[bool] = False  # class-balanced training batches
    # One model per category (draw), or one model over a set of categories (predict), which a
    # config must then name: its output layer is that set.
    per_category: ClassVar[bool]
    min_categories: ClassVar[int] = 1

    def __init__(self, job: JobSpec) -> None:
        self.job = job

    @classmethod
    def job_name(cls, categories: list[str]) -> str:
        """The job (and runs folder) name of this task's model of `categories`."""
        raise NotImplementedError

    @classmethod
    def fit_args(cls, categories: list[str]) -> str:
        """The `sketchrnn fit` arguments that train this task's model of `categories` (shell-quoted)."""
        raise NotImplementedError

    def model_kwargs(self) -> dict[str, Any]:
        """The model builder's flat keyword arguments (also stored in the checkpoint)."""
        from sketchrnn.registry import model_arguments

        model = self.job.settings.model
        return model_arguments(model.name, model.build_kwargs(), n_categories=len(self.job.categories))

    def augment(self) -> Any:
        """This task's training augmentation (``[<task>.augment]``) as ``batching.Augment``."""
        from sketchrnn.data.batching import Augment

        return Augment(**self.job.settings.augment.model_dump())

    def batch_stream(self, data_set: Any, *, seed: int, rank: int, world_size: int) -> Iterator[Any]:
        """Endless training batches for this worker's shard (augmented)."""
        from sketchrnn.data.batching import iterate_batches
        from sketchrnn.errors import DataError

        data = self.job.data
        rng = np.random.default_rng(seed)
        augment = self.augment()
        while True:
            produced = 0
            for batch in iterate_batches(
                data_set, data.batch_size, rng=rng, shuffle=True, bucket=data.bucket,
                bucket_batches=data.bucket_batches, drop_last=True, augment=augment,
                truncate=self._truncate(), balanced=self.balanced, shard=(rank, world_size),
            ):
                produced += 1
                yield batch
            if produced == 0:
                raise DataError(
                    f"{self.job.name}: {len(data_set)} training sketches make no full batch of "
                    f"{data.batch_size} for each of {world_size} worker(s)",
                    "lower data.batch_size or --workers",
                )

    def eval_batches(self, data_set: Any, *, seed: int, limit: int | None) -> Iterator[Any]:
        """Deterministic evaluation batches: no augmentation; tails cut with a fixed seed."""
        from sketchrnn.data.batching import iterate_batches

        rng = np.random.default_rng(seed)
        for i, batch in enumerate(iterate_batches(
            data_set, self.job.data.batch_size, rng=rng, shuffle=False, bucket=True,
            drop_last=False, augment=None, truncate=self._truncate(),
        )):
            if limit is not None and i >= limit:
                return
            yield batch

    def compute_terms(self, model: Any, loss_fn: Any, batch: Any, step: int,
                      device: torch.device) -> dict[str, torch.Tensor]:
        """Loss terms for one batch; `loss` is what is optimised."""
        raise NotImplementedError

    @torch.no_grad()
    def evaluate(self, model: Any, loss_fn: Any, data_set: Any, *, step: int, device: torch.device,
                 limit: int | None, seed: int = 1234) -> dict[str, float]:
        """Mean of every loss term over the split (weighted by batch size)."""
        from sketchrnn.checkpoint import unwrap_model

        net = unwrap_model(model)
        was_training = net.training
        net.eval()
        totals: dict[str, float] = {}
        count = 0
        for batch in self.eval_batches(data_set, seed=seed, limit=limit):
            terms = self.compute_terms(net, loss_fn, batch, step, device)
            n = int(batch.lengths.shape[0])
            for key, value in terms.items():
                totals[key] = totals.get(key, 0.0) + float(value) * n
            count += n
        net.train(was_training)
        return {k: v / max(count, 1) for k, v in totals.items()}

    def meta_fields(self) -> dict[str, Any]:
        """Task-specific fields of the checkpoint's meta (see ``CheckpointMeta``)."""
        return {}

    def init_model(self, model: Any, train: Any, device: torch.device, resumed: Any) -> None:
        """Before training: ``model`` is freshly built (``resumed`` None) or restored from the
        checkpoint whose meta is ``resumed``; ``train`` is the training split."""

    def on_checkpoint(self, run: Any, step: int) -> None:
        """Rank 0, after each checkpoint: the task's own artifacts (`run` is a RunContext)."""

    def plot(self, history: list[dict[str, Any]], run: Any) -> None:
        """Task-specific plots beside the loss curves."""

    def finish(self, job_dir: Path, calibrate: Callable[[Path], dict[str, Any]] | None) -> dict[str, Any]:
        """Rank 0, once the job is trained and tested; returns what to add to the final metrics."""
        return {}

    def _truncate(self) -> tuple[float, float] | None:
        return (self.job.data.truncate_min, self.job.data.truncate_max) if self.cut_tails else None


class DrawTask(Task):
    name = "draw"
    metric, mode = "valid_loss", "min"
    per_category = True

    @classmethod
    def job_name(cls, categories: list[str]) -> str:
        from sketchrnn.runs import draw_job_name

        return draw_job_name(categories[0])

    @classmethod
    def fit_args(cls, categories: list[str]) -> str:
        return shlex.quote(categories[0])

    def compute_terms(self, model: Any, loss_fn: Any, batch: Any, step: int,
                      device: torch.device) -> dict[str, torch.Tensor]:
        x = batch.x.to(device, non_blocking=True)  # [B, T, 5]
        # The model gets CPU lengths: packing needs them there, so no device -> host sync.
        output = model(x, batch.lengths)
        return loss_fn(output, x, batch.lengths.to(device, non_blocking=True), step)  # masks on device

    def on_checkpoint(self, run: Any, step: int) -> None:
        run.samples(step)  # progress seen as well as read


class PredictTask(Task):
    name = "predict"
    metric, mode = "valid_accuracy", "max"
    cut_tails = True
    balanced = True
    per_category = False
    min_categories = 2  # a classifier over one category learns nothing

    def __init__(self, job: JobSpec) -> None:
        super().__init__(job)
        self.outlier_exposure: dict[str, Any] | None = None  # what meta records, once loaded
        self.pretrained: dict[str, Any] | None = None  # what the encoder was pretrained on

    @classmethod
    def job_name(cls, categories: list[str]) -> str:
        from sketchrnn.runs import PREDICT_JOB

        return PREDICT_JOB

    @classmethod
    def fit_args(cls, categories: list[str]) -> str:
        return "--only predict --categories " + shlex.quote(",".join(categories))

    def batch_stream(self, data_set: Any, *, seed: int, rank: int, world_size: int) -> Iterator[Any]:
        """The class-balanced batches, each with outliers (label -1) appended when outlier
        exposure is on."""
        from sketchrnn.data.outliers import mix_outliers

        batches = super().batch_stream(data_set, seed=seed, rank=rank, world_size=world_size)
        cfg = self.job.settings.outliers
        if not cfg.enabled:
            return batches
        outliers = self.load_outliers(data_set)
        return mix_outliers(batches, outliers, cfg.per_batch, augment=self.augment(),
                            truncate=self._truncate(), rng=np.random.default_rng([seed, rank, 17]))

    def load_outliers(self, train: Any) -> Any:
        """The exposure outliers in model units (sized like ``train``); recorded for the meta."""
        from sketchrnn.data.outliers import match_extent, read_exposure_outliers

        cfg, data = self.job.settings.outliers, self.job.data
        folder = cfg.data_dir
        if not folder.is_absolute() and data.data_dir is not None:
            folder = data.data_dir / folder
        found = read_exposure_outliers(folder, self.job.categories, min_seq_len=data.min_seq_len,
                                       max_seq_len=data.max_seq_len)
        outliers, _ = match_extent(found.sketches, train)
        self.outlier_exposure = {"weight": cfg.weight, "categories": found.categories,
                                 "n_sketches": len(outliers), "source": str(folder)}
        return outliers

    def meta_fields(self) -> dict[str, Any]:
        fields = {"outlier_exposure": self.outlier_exposure, "pretrained": self.pretrained}
        return {k: v for k, v in fields.items() if v is not None}

    def init_model(self, model: Any, train: Any, device: torch.device, resumed: Any) -> None:
        """A fresh model's encoder is pretrained when ``[predict.pretrain]`` is on; a resumed one
        keeps the record of its checkpoint (it is not pretrained again)."""
        if resumed is not None:
            pretrained = resumed.pretrained
            self.pretrained = None if pretrained is None else pretrained.model_dump()
        elif self.job.settings.pretrain.enabled:
            from sketchrnn.train.pretrain import pretrain_encoder

            self.pretrained = pretrain_encoder(model, self, train, device)

    def compute_terms(self, model: Any, loss_fn: Any, batch: Any, step: int,
                      device: torch.device) -> dict[str, torch.Tensor]:
        from sketchrnn.losses.classification import uniform_cross_entropy

        x = batch.x.to(device, non_blocking=True)  # [B, T, 5]
        logits = model(x, batch.lengths)  # [B, n_categories]
        labels = batch.labels.to(device, non_blocking=True)  # [B], -1 = an outlier
        outliers = self.job.settings.outliers
        if not outliers.enabled:
            return loss_fn(logits, labels)
        inside = labels >= 0  # [B]
        terms = loss_fn(logits[inside], labels[inside])
        if bool(inside.all()):  # evaluation batches hold no outliers
            return terms
        outlier_ce = uniform_cross_entropy(logits[~inside])
        return {**terms, "loss": terms["loss"] + outliers.weight * outlier_ce,
                "outlier_ce": outlier_ce}

    def plot(self, history: list[dict[str, Any]], run: Any) -> None:
        from sketchrnn.render import plot_accuracy

        plot_accuracy(history, run.jd.accuracy_plot)

    def finish(self, job_dir: Path, calibrate: Callable[[Path], dict[str, Any]] | None) -> dict[str, Any]:
        # Temperature + OOD threshold on the valid split, stored in the checkpoint's meta, so
        # `sketchrnn predict` needs nothing but the checkpoint. The calibration lives in predict/,
        # above train/: whoever runs the loop passes it in (a sweep's trials leave it out).
        return {} if calibrate is None else {"calibration": calibrate(job_dir)}


TASKS: dict[str, type[Task]] = {cls.name: cls for cls in (DrawTask, PredictTask)}


def task_for(job: JobSpec) -> Task:
    """The task object of `job`."""
    return TASKS[job.task](job)


def task_class(name: str) -> type[Task]:
    """The task class by name (e.g. for a sweep's metric before any job exists)."""
    return TASKS[name]

