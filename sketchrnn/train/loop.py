"""The training loop for one job, written once for every way it runs.

`fit_job` is a function of (job, job directory, device, hooks): the CLI calls it directly for
`--workers 0`, and every Ray Train worker calls it with rank/world size and a DDP wrapper. Rank 0
alone writes checkpoints, metrics and plots.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from sketchrnn.errors import SketchRNNError
from sketchrnn.runs import JobDir
from sketchrnn.train import artifacts, runtime
from sketchrnn.train.ema import STATE_KEY as EMA_STATE, WeightEMA, start_ema
from sketchrnn.train.job import JobSpec, build_job_loss, load_job_data
from sketchrnn.train.prepare import check_resumable
from sketchrnn.train.status import failure_record, started_record
from sketchrnn.train.schedule import is_checkpoint_step, is_eval_step, lr_at
from sketchrnn.train.tasks import Task, task_for

METRICS_EVERY = 10  # train rows go to metrics.jsonl every this many steps (and at evaluations)


@dataclass
class Hooks:
    """How the loop talks to whoever runs it (plain process, Ray worker, tests)."""

    rank: int = 0
    world_size: int = 1
    wrap_model: Callable[[torch.nn.Module], torch.nn.Module] | None = None  # e.g. DDP
    report: Callable[[dict[str, Any]], None] | None = None  # progress rows
    on_checkpoint: Callable[[Path, dict[str, Any]], None] | None = None  # e.g. ray.train.report
    should_stop: Callable[[], bool] | None = None
    # Called by every rank at every step with its own early-stop decision; returns the decision all
    # ranks follow (under DDP only rank 0 validates; a rank stopping alone hangs the others).
    agree_stop: Callable[[bool], bool] | None = None
    # The predict task's calibration (job folder -> stored record). It lives in predict/, above
    # train/, so the caller passes it in; None skips it (e.g. a sweep's trials).
    calibrate: Callable[[Path], dict[str, Any]] | None = None
    # Rank 0 wrote the job folder (a checkpoint, the end of the job): copy it to where the runs
    # folder lives (`storage.RunsStore.publish`; nothing to do for a local folder).
    publish: Callable[[], None] | None = None


def pick_device(name: str) -> torch.device:
    if name == "cuda" or (name == "auto" and torch.cuda.is_available()):
        return torch.device("cuda")
    return torch.device("cpu")


def optimizer_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, loss: torch.Tensor,
                   grad_clip: float) -> None:
    """One update as ``fit_job`` makes it: fresh gradients of ``loss``, their global norm clipped
    to ``grad_clip`` (magenta's gradient clipping), then the optimiser step. The benchmarks time
    this same call."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()


def make_optimizer(parameters, lr: float, weight_decay: float) -> torch.optim.Optimizer:  # type: ignore[no-untyped-def]
    """Adam (magenta's optimiser); AdamW, whose decay does not pass through Adam's scaling, when
    there is weight decay to apply."""
    if weight_decay > 0:
        return torch.optim.AdamW(parameters, lr=lr, weight_decay=weight_decay)
    return torch.optim.Adam(parameters, lr=lr)


@dataclass
class Progress:
    """Where a job stands; saved in `train_state.pt` so a resumed job carries on exactly."""

    step: int = 0
    best: float = math.inf  # lowest valid loss so far
    bad_evals: int = 0  # evaluations since it last improved

    def judge(self, valid_loss: float, patience: int | None) -> tuple[bool, bool]:
        """Record one evaluation; returns (is it the best so far, should the job stop early)."""
        if valid_loss < self.best:
            self.best, self.bad_evals = valid_loss, 0
        else:
            self.bad_evals += 1
        return self.bad_evals == 0, patience is not None and self.bad_evals >= patience

    def train_state(self, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
        return {"optimizer": optimizer.state_dict(), "step": self.step, "best": self.best,
                "bad_evals": self.bad_evals}

    @classmethod
    def restore(cls, train_state: dict[str, Any]) -> Progress:
        return cls(step=int(train_state["step"]), best=float(train_state.get("best", math.inf)),
                   bad_evals=int(train_state.get("bad_evals", 0)))


@dataclass
class Run:
    """Everything one job's loop works with, built once by `start_run`."""

    task: Task
    device: torch.device
    data: Any  # PreparedData
    model: torch.nn.Module  # unwrapped: what is saved
    net: torch.nn.Module  # what is trained (DDP-wrapped when there are several ranks)
    loss_fn: Any
    forward: Any  # what training steps call: `net`, or `net` captured (train.compile)
    optimizer: torch.optim.Optimizer
    writer: artifacts.RunContext
    progress: Progress
    ema: WeightEMA | None = None  # rank 0's average of the weights (train.ema_decay), else None
    last_train: dict[str, float] = field(default_factory=dict)

    @property
    def judged(self) -> torch.nn.Module:
        """What is validated, tested, saved, sampled and calibrated: the average when there is
        one, else the trained model."""
        return self.ema.model if self.ema is not None else self.net

    def train_state(self) -> dict[str, Any]:
        """`train_state.pt`: the progress and optimiser, and with an average the raw weights."""
        state = self.progress.train_state(self.optimizer)
        if self.ema is not None:
            state[EMA_STATE] = self.ema.state_dict(self.model)
        return state


def fit_job(job: JobSpec, job_dir: Path, *, device: torch.device, hooks: Hooks | None = None,
            resume: bool = True) -> dict[str, Any]:
    """Train `job` to its configured number of steps; returns the final metrics."""
    # LSTM backward on long sequences decays into denormals, which are many times slower on
    # x86; flushing them to zero changes nothing above ~1e-38 (see docs/benchmarks.md).
    with runtime.denormals_flushed(device.type == "cpu"):
        return _fit_job(job, job_dir, device, hooks or Hooks(), resume)


def _fit_job(job: JobSpec, job_dir: Path, device: torch.device, hooks: Hooks, resume: bool
             ) -> dict[str, Any]:
    applied = runtime.apply_tf32(job.settings.train.tf32, device)
    try:
        run = start_run(task_for(job), JobDir(job_dir), device, hooks, resume=resume)
        run.writer.runtime = lambda: {**applied, "compile": run.forward.status}
        train_steps(run, hooks)
        return {**finish_run(run, hooks), "runtime": run.writer.runtime()}
    except (SketchRNNError, FloatingPointError) as exc:
        if hooks.rank == 0:  # what `sketchrnn status` reports for the job
            artifacts.write_job_status(JobDir(job_dir), failure_record(str(exc)))
            if hooks.publish is not None:
                hooks.publish()
        raise


def start_run(task: Task, jd: JobDir, device: torch.device, hooks: Hooks, *, resume: bool) -> Run:
    """Data, model, loss and optimiser, from the latest checkpoint when there is one to resume."""
    from sketchrnn.registry import build_model

    job, cfg = task.job, task.job.settings
    if hooks.rank == 0:
        jd.remove_interrupted_writes()  # a killed attempt's temp files: never read, now gone
    state = artifacts.load_resume_state(jd, device) if resume else None
    if state is not None:
        check_resumable(job, jd.root)  # a library caller may not have prepared the job
    data = load_job_data(job, scale=state.meta.scale if state else None)
    torch.manual_seed(cfg.train.seed)
    model = state.model if state else build_model(cfg.model.name, **task.model_kwargs())
    model.to(device)
    task.init_model(model, data.train, device, state.meta if state else None)
    # Every rank trains on from the raw weights; only rank 0, which writes, keeps the average.
    ema = start_ema(model, cfg.train.ema_decay if hooks.rank == 0 else 0.0,
                    state.train_state if state else None)
    loss_fn = build_job_loss(job)
    optimizer = make_optimizer(model.parameters(), cfg.train.lr, cfg.train.weight_decay)
    progress = Progress()
    if state is not None:
        optimizer.load_state_dict(state.train_state["optimizer"])
        progress = Progress.restore(state.train_state)
        if hooks.rank == 0:
            jd.truncate_metrics(progress.step)
    net = hooks.wrap_model(model) if hooks.wrap_model else model
    net.train()
    forward = runtime.training_forward(net, cfg.train.compile, device, job.name)
    writer = artifacts.RunContext(task, jd, ema.model if ema else model, data.scale,
                                  is_writer=hooks.rank == 0)
    if writer.is_writer:
        artifacts.write_job_status(jd, started_record())  # replaces an earlier failure's record
        artifacts.write_job_config(job, jd)  # the settings it trains with now (resume may change steps, lr)
    return Run(task, device, data, model, net, loss_fn, forward, optimizer, writer, progress, ema)


def train_steps(run: Run, hooks: Hooks) -> None:
    """Optimiser steps until the configured count, an early stop, or `hooks.should_stop`."""
    train = run.task.job.settings.train
    start = run.progress.step
    stream = run.task.batch_stream(run.data.train, seed=train.seed + start, rank=hooks.rank,
                                   world_size=hooks.world_size)
    if run.forward.is_compiled:  # a few fixed shapes, one graph each
        stream = runtime.bucketed(stream, runtime.bucket_lengths(run.task.job.data.max_seq_len))
    t0 = time.perf_counter()
    for step in range(start + 1, train.steps + 1):
        row = train_step(run, next(stream), step)
        row["steps_per_s"] = (step - start) / max(time.perf_counter() - t0, 1e-9)
        rows, stop = after_step(run, step, row, hooks)
        if hooks.report is not None:  # the train row too at an evaluation: progress lines pair
            for reported in rows:  # a step with that step's own training loss
                hooks.report(reported)
        if hooks.agree_stop is not None:
            stop = hooks.agree_stop(stop)
        if stop or (hooks.should_stop is not None and hooks.should_stop()):
            break


def train_step(run: Run, batch: Any, step: int) -> dict[str, Any]:
    """One optimiser update (`step` is 1-based); returns its train row. A non-finite loss stops
    the job: every later step would be garbage, and the latest checkpoint is still good."""
    job, train = run.task.job, run.task.job.settings.train
    lr = lr_at(train, step)
    for group in run.optimizer.param_groups:
        group["lr"] = lr
    terms = run.task.compute_terms(run.forward, run.loss_fn, batch, step - 1, run.device)
    optimizer_step(run.model, run.optimizer, terms["loss"], train.grad_clip)
    if run.ema is not None:
        run.ema.update(run.model)
    run.progress.step = step
    values = torch.stack([v.detach().float() for v in terms.values()]).tolist()  # one host sync
    run.last_train = dict(zip(terms, values))
    if not math.isfinite(run.last_train["loss"]):
        raise FloatingPointError(f"{job.name}: loss became {run.last_train['loss']} at step {step}")
    return {"job": job.name, "step": step, "total": train.steps, "split": "train", "lr": lr,
            **run.last_train}


def after_step(run: Run, step: int, row: dict[str, Any],
               hooks: Hooks) -> tuple[list[dict[str, Any]], bool]:
    """Rank 0's bookkeeping after a step: validation, metrics rows, checkpoints. Returns the rows
    (the newest last) and rank 0's early-stop decision (False on the other ranks)."""
    train, writer = run.task.job.settings.train, run.writer
    rows, is_best, stop = [row], False, False
    if not writer.is_writer:
        return rows, stop
    if is_eval_step(train, step):
        valid = run.task.evaluate(run.judged, run.loss_fn, run.data.valid, step=step - 1,
                                  device=run.device, limit=train.eval_batches)
        rows.append({"job": row["job"], "step": step, "split": "valid", **valid})
        is_best, stop = run.progress.judge(valid["loss"], train.early_stop_patience)
        writer.record(rows)
    elif step % METRICS_EVERY == 0:
        writer.record(rows)
    if is_checkpoint_step(train, step) or is_best or stop:
        writer.save(step, rows, run.train_state(), is_best=is_best,
                    on_checkpoint=hooks.on_checkpoint)
        if hooks.publish is not None:
            hooks.publish()
    return rows, stop


def finish_run(run: Run, hooks: Hooks) -> dict[str, Any]:
    """The final metrics; rank 0 also evaluates the test split and runs the task's end step."""
    step = run.progress.step
    final: dict[str, Any] = {"step": step, "best_valid_loss": run.progress.best, "train": run.last_train}
    if run.writer.is_writer:
        test = run.task.evaluate(run.judged, run.loss_fn, run.data.test, step=step - 1, device=run.device,
                                 limit=None)
        run.writer.record([{"job": run.task.job.name, "step": step, "split": "test", **test}])
        run.writer.finish(step, test)
        final["test"] = test
        final.update(run.task.finish(run.writer.jd.root, hooks.calibrate))
        if hooks.publish is not None:
            hooks.publish()
    return final
