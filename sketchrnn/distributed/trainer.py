"""One Ray Train `TorchTrainer` per job (for `fit` and each `tune` trial); `fit` runs each in a driver thread.

Concurrency model, and why threads: Train V2's `fit()` starts a controller actor and blocks in
`ray.get` until the run ends, so several runs at once need several blocked callers. Threads in
the driver are what Ray Tune itself does with V2 trainers (V2 skips its SIGINT handler off the
main thread for exactly this case); each run still gets its own controller, placement group and
retries. Compared with wrapping `fit()` in Ray tasks, threads keep the run's outcome (rank 0's
return value, or the exception) a plain Python value in the driver, and tearing down the driver
(Ctrl-C) takes every controller and worker with it, because the driver owns them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sketchrnn.distributed.planner import torch_threads
from sketchrnn.train.job import JobSpec

MAX_FAILURES = 3  # worker-group restarts per job (a killed worker resumes from the latest checkpoint)
COLLECTIVE_TIMEOUT_S = 600  # a rank waiting on a dead peer gives up after this


def build_trainer(job: JobSpec, job_dir: Path, *, workers: int, cpus_per_worker: float,
                  gpus_per_worker: float, hub: Any, env: dict[str, str], max_failures: int = MAX_FAILURES,
                  callbacks: Sequence[Any] = (), calibrate: Any = None, remote: Any = None) -> Any:
    """The TorchTrainer for `job`, for `fit` and for a `tune` trial alike.

    Ray's experiment dir is `<storage_path>/<run name>`; with storage_path the parent of
    `job_dir` and the run name its folder name, it *is* the job folder (see storage.py), so
    Ray's bookkeeping sits beside the loop's checkpoints. `callbacks` are Train run callbacks
    (a trial's report to Tune). `calibrate` is the predict task's end step (`train.loop.Hooks`).
    `remote`: the runs folder when it is on object storage (`storage.RunsStore`): Ray's storage
    is then the bucket, and each worker stages the job itself (`job_dir` is the driver's copy).
    """
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    from sketchrnn.distributed.storage import ray_storage
    from sketchrnn.distributed.worker import train_fn

    use_gpu = gpus_per_worker > 0
    resources: dict[str, float] = {"CPU": cpus_per_worker}
    if use_gpu:
        resources["GPU"] = gpus_per_worker
    return TorchTrainer(
        train_fn,
        train_loop_config={
            "job": job.model_dump(mode="json"), "job_dir": str(job_dir), "hub": hub,
            "gpus": gpus_per_worker, "threads": torch_threads(cpus_per_worker), "env": env,
            "calibrate": calibrate, "runs": remote.text if remote is not None else None,
        },
        torch_config=TorchConfig(timeout_s=COLLECTIVE_TIMEOUT_S),
        scaling_config=ScalingConfig(num_workers=workers, use_gpu=use_gpu, resources_per_worker=resources),
        run_config=RunConfig(
            name=job_dir.name, **ray_storage(remote, job_dir),
            failure_config=FailureConfig(max_failures=max_failures),
            # Never let Ray delete reported checkpoints: they all point at checkpoints/latest.
            checkpoint_config=CheckpointConfig(num_to_keep=None),
            callbacks=list(callbacks),
        ),
    )


class JobRun(threading.Thread):
    """`trainer.fit()` for one job; `outcome` is set when it ends (daemon: Ctrl-C need not wait)."""

    def __init__(self, name: str, trainer: Any) -> None:
        super().__init__(name=f"fit-{name}", daemon=True)
        self.job, self.trainer = name, trainer
        self.outcome: dict[str, Any] | None = None
        self.started_at = time.perf_counter()

    def run(self) -> None:
        self.started_at = time.perf_counter()
        try:
            result = self.trainer.fit()
            value = result.return_value or {}
            outcome = dict(value) if value else {"status": "failed", "reason": "rank 0 returned nothing"}
        except BaseException as exc:  # noqa: BLE001 - whatever happened is this job's outcome
            outcome = {"status": "failed", "reason": failure_reason(exc)}
        outcome["wall_s"] = time.perf_counter() - self.started_at
        self.outcome = outcome


def failure_reason(exc: BaseException) -> str:
    """One line for the summary: the first worker's own error, not Ray's wrapping of it."""
    failures = getattr(exc, "worker_failures", None)
    if failures:
        exc = failures[min(failures)]
    exc = getattr(exc, "cause", None) or getattr(exc, "controller_failure", None) or exc
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    text = lines[-1] if lines else ""
    name = type(exc).__name__
    return f"{name}: {text}" if text and not text.startswith(name) else (text or name)
