"""The per-worker train function: the single-process loop (`train.loop.fit_job`) plus Ray Train.

Every worker of a job runs `train_fn`. What it adds to the loop, through `Hooks`:

* rank / world size from the Ray Train context; the loop's `batch_stream` gives each rank its
  own shard of the training set, and DDP (gloo on CPU, nccl on GPU) averages the gradients, so
  all ranks take the same step. One worker: no DDP at all.
* rank 0 alone writes the job folder (the loop does this). Ray Train's experiment dir *is* the
  job folder (storage_path = runs dir, run name = job name), so each checkpoint is reported with
  `ray.train.report(..., checkpoint_upload_mode=NO_UPLOAD)`: Ray records it without a copy.
  `report` is a collective in Train V2 (every rank must call it), so all ranks call it at every
  evaluation step, which they agree on, and rank 0 attaches the checkpoint it just saved.
* early stopping is decided by rank 0 (it alone validates); `agree_stop` broadcasts the decision
  at evaluation steps, or ranks would wait forever for rank 0 in the next gradient all-reduce.
* resume needs nothing here: the loop restarts from `<job>/checkpoints/latest`, so a worker group
  restarted by `FailureConfig` carries on from the last checkpoint.
* a runs folder on object storage (`config["runs"]`, a URI): each rank stages the job in its own
  temp folder (`storage.open_runs` + `pull`), rank 0 publishes it after every checkpoint and at
  the end, and checkpoints are reported to Ray without a path (the manifest in the bucket is
  the record resume reads).
* progress rows go from rank 0 to the driver through the `ProgressHub` actor.
* rank 0 appends one row per attempt to `<job>/attempts.jsonl`: the Ray node it runs on and the
  step it resumed from, so where a job trained and what a lost node cost can be read back later.
* the predict task's calibration comes from the driver (`config["calibrate"]`): it lives in
  predict/, above this package.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any

PUSH_INTERVAL_S = 0.5


def wrap_ddp(model: Any, device: Any) -> Any:
    """DDP around a model already on `device`; the process group is Ray Train's (or a test's)."""
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)


class WorkerHooks:
    """The Ray side of the loop's `Hooks` for one rank of one job."""

    def __init__(self, job: Any, job_dir: Path, rank: int, world_size: int, device: Any,
                 hub: Any = None, attempt: int = 1, ray_report: bool = True,
                 calibrate: Any = None, publish: Any = None) -> None:
        self.job, self.job_dir, self.rank, self.world_size = job, job_dir, rank, world_size
        self.device, self.hub, self.attempt, self.ray_report = device, hub, attempt, ray_report
        self.step = 0
        self.pending_checkpoint: Path | None = None
        self.last_push = 0.0
        self.calibrate = calibrate  # the predict task's end step, from the driver
        self.publish = publish  # copies the job folder to object storage (None: it is there)

    def hooks(self) -> Any:
        from sketchrnn.train.loop import Hooks

        return Hooks(
            rank=self.rank, world_size=self.world_size,
            wrap_model=(lambda m: wrap_ddp(m, self.device)) if self.world_size > 1 else None,
            report=self.report, on_checkpoint=self.on_checkpoint, agree_stop=self.agree_stop,
            calibrate=self.calibrate, publish=self.publish,
        )

    def is_eval_step(self, step: int) -> bool:
        """The loop's rule: every rank computes it the same way, so collectives line up."""
        from sketchrnn.train.schedule import is_eval_step

        return is_eval_step(self.job.settings.train, step)

    def on_checkpoint(self, path: Path, metrics: dict[str, Any]) -> None:
        self.pending_checkpoint = Path(path)  # reported with this step's row, on every rank

    def report(self, row: dict[str, Any]) -> None:
        """Called with each row of a step (rank 0: the train row, then at an evaluation step the
        valid row; other ranks: the train row); Ray Train's report once, with the step's last."""
        self.step = int(row["step"])
        if self.rank == 0:
            self._push(row)
        last_of_step = self.rank != 0 or row.get("split") != "train"
        if self.ray_report and self.is_eval_step(self.step) and last_of_step:
            import ray.train
            from ray.train import Checkpoint, CheckpointUploadMode

            ckpt = (Checkpoint.from_directory(str(self.pending_checkpoint))
                    if self.pending_checkpoint and self.publish is None else None)
            self.pending_checkpoint = None
            metrics = {k: v for k, v in row.items() if isinstance(v, (int, float, str))}
            ray.train.report(metrics, checkpoint=ckpt, checkpoint_upload_mode=CheckpointUploadMode.NO_UPLOAD)

    def agree_stop(self, stop: bool) -> bool:
        """Rank 0's early-stop decision on every rank (it changes only at evaluation steps)."""
        if self.world_size == 1 or not self.is_eval_step(self.step):
            return stop
        import torch
        import torch.distributed as dist

        flag = torch.tensor([1.0 if stop else 0.0], device=self.device)
        dist.broadcast(flag, src=0)
        return bool(flag.item() > 0)

    def _push(self, row: dict[str, Any]) -> None:
        now = time.monotonic()
        final = row.get("step") == row.get("total")
        if self.hub is None or (row.get("split") == "train" and not final and not self.is_eval_step(row["step"])
                                and now - self.last_push < PUSH_INTERVAL_S):  # an evaluation's: always
            return
        self.last_push = now
        status = "running" if self.attempt == 1 else f"running (retry {self.attempt - 1})"
        self.hub.push.remote({**row, "status": status})


def record_attempt(job_dir: Any, *, attempt: int, workers: int, resumed_from: int) -> None:
    """One row in `attempts.jsonl`: which attempt of this driver's run, on which Ray node."""
    import socket

    import ray

    from sketchrnn.runs import append_jsonl

    append_jsonl(job_dir.attempts, [{
        "attempt": attempt, "node_id": ray.get_runtime_context().get_node_id(),
        "host": socket.gethostname(), "pid": os.getpid(), "workers": workers,
        "resumed_from": resumed_from, "time": time.time(),
    }])


def train_fn(config: dict[str, Any]) -> dict[str, Any] | None:
    """Ray Train's `train_loop_per_worker`: train one job on this rank; rank 0 returns the outcome."""
    import ray.train

    from sketchrnn.train.job import JobSpec

    os.environ.update(config.get("env", {}))
    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    job = JobSpec.model_validate(config["job"])
    job_dir = Path(config["job_dir"])
    with contextlib.ExitStack() as stack:
        publish = None
        if config.get("runs"):  # object storage: this rank's own staging copy of the job
            from sketchrnn.storage import open_runs

            store = stack.enter_context(open_runs(config["runs"]))
            folder = job_dir.name  # the job's name for `fit`; `job` in a tune trial's folder
            store.pull([folder], checkpoints_only=rank != 0)
            job_dir = store.job_dir(folder)
            publish = (lambda: store.publish(folder)) if rank == 0 else None
        return _train_rank(config, job, job_dir, rank, world, publish)


def _train_rank(config: dict[str, Any], job: Any, job_dir: Path, rank: int, world: int,
                publish: Any) -> dict[str, Any] | None:
    """One rank's part of `train_fn`, once the job folder is where it can write."""
    import ray
    import torch

    from sketchrnn.checkpoint_meta import read_meta_if_present
    from sketchrnn.errors import SketchRNNError
    from sketchrnn.runs import JobDir
    from sketchrnn.train.loop import fit_job

    hub = config.get("hub")
    known = ray.get(hub.failure.remote(job.name)) if hub is not None else None
    if known is not None:  # a retry after a failure that retrying cannot fix
        return {"status": "failed", "reason": known} if rank == 0 else None
    if config.get("gpus", 0) > 0:
        import ray.train.torch

        device = ray.train.torch.get_device()
    else:
        device = torch.device("cpu")
    torch.set_num_threads(int(config.get("threads", 1)))
    attempt = ray.get(hub.started.remote(job.name)) if hub is not None and rank == 0 else 1
    latest = read_meta_if_present(JobDir(job_dir).latest)  # where the loop will resume from
    if rank == 0:
        record_attempt(JobDir(job_dir), attempt=attempt, workers=world,
                       resumed_from=latest.step if latest else 0)
    worker = WorkerHooks(job, job_dir, rank, world, device, hub=hub, attempt=attempt,
                         calibrate=config.get("calibrate"), publish=publish)
    try:
        final = fit_job(job, job_dir, device=device, hooks=worker.hooks(), resume=True)
    except (SketchRNNError, FloatingPointError) as exc:
        if hub is not None:
            ray.get(hub.fail.remote(job.name, str(exc)))
        raise
    if rank != 0:
        return None
    return {"status": "done", "attempt": attempt, "workers": world,
            "resumed_from": latest.step if latest else 0, **final}

