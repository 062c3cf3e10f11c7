"""The training loop for one job, written once for every way it runs.

`fit_job` is a function of (job, job directory, device, hooks): the CLI calls it directly for
`--workers 0`, and every Ray Train worker calls it with rank/world size and a DDP wrapper. Rank 0
alone writes checkpoints, metrics and plots.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from sketchrnn.train import artifacts
from sketchrnn.train.job import JobSpec, load_job_data
from sketchrnn.runs import JobDir
from sketchrnn.train.tasks import batch_stream, compute_terms, evaluate


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


def pick_device(name: str) -> torch.device:
    if name == "cuda" or (name == "auto" and torch.cuda.is_available()):
        return torch.device("cuda")
    return torch.device("cpu")


def learning_rate(step: int, lr: float, decay: float, min_lr: float, *, schedule: str = "exponential",
                  total_steps: int = 1) -> float:
    """exponential (magenta): ``(lr - min_lr) decay^step + min_lr``; cosine: half a cosine from
    ``lr`` at step 0 to ``min_lr`` at ``total_steps`` (then flat)."""
    if schedule == "cosine":
        progress = min(step / max(total_steps, 1), 1.0)
        return min_lr + (lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))
    return (lr - min_lr) * decay**step + min_lr


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


def fit_job(job: JobSpec, job_dir: Path, *, device: torch.device, hooks: Hooks | None = None,
            resume: bool = True) -> dict[str, Any]:
    """Train `job` to its configured number of steps; returns the final metrics."""
    from sketchrnn.registry import build_loss, build_model, model_arguments

    hooks = hooks or Hooks()
    jd = JobDir(job_dir)
    cfg = job.settings
    if device.type == "cpu":
        # LSTM backward on long sequences decays into denormals, which are many times slower on
        # x86; flushing them to zero changes nothing above ~1e-38 (see docs/benchmarks.md).
        torch.set_flush_denormal(True)

    state = artifacts.load_resume_state(jd, device) if resume else None
    data = load_job_data(job, scale=state.meta.scale if state else None)
    n_categories = len(job.categories)
    model_kwargs = model_arguments(cfg.model.name, cfg.model.build_kwargs(), n_categories=n_categories)
    torch.manual_seed(cfg.train.seed)
    model = state.model if state else build_model(cfg.model.name, **model_kwargs)
    model.to(device)
    loss_fn = build_loss(cfg.loss.name, n_max=job.data.max_seq_len, **cfg.loss.build_kwargs())
    optimizer = make_optimizer(model.parameters(), cfg.train.lr, cfg.train.weight_decay)
    start_step, best, bad_evals = 0, math.inf, 0
    if state is not None:
        optimizer.load_state_dict(state.train_state["optimizer"])
        start_step = int(state.train_state["step"])
        best = float(state.train_state.get("best", math.inf))
        bad_evals = int(state.train_state.get("bad_evals", 0))
        if hooks.rank == 0:
            jd.truncate_metrics(start_step)
    net = hooks.wrap_model(model) if hooks.wrap_model else model
    net.train()

    ctx = artifacts.RunContext(job, jd, model, data.scale, model_kwargs, hooks.rank == 0)
    if ctx.is_writer and start_step == 0:
        artifacts.write_job_config(job, jd)
    stream = batch_stream(job, data.train, seed=cfg.train.seed + start_step, rank=hooks.rank,
                          world_size=hooks.world_size)
    t0, steps_done, step = time.perf_counter(), 0, start_step
    last_train: dict[str, float] = {}
    for step in range(start_step + 1, cfg.train.steps + 1):
        lr = learning_rate(step - 1, cfg.train.lr, cfg.train.lr_decay, cfg.train.min_lr,
                           schedule=cfg.train.lr_schedule, total_steps=cfg.train.steps)
        for group in optimizer.param_groups:
            group["lr"] = lr
        terms = compute_terms(net, loss_fn, next(stream), step - 1, device)
        optimizer_step(model, optimizer, terms["loss"], cfg.train.grad_clip)
        steps_done += 1
        values = torch.stack([v.detach().float() for v in terms.values()]).tolist()  # one host sync
        last_train = dict(zip(terms, values))
        if not math.isfinite(last_train["loss"]):
            raise FloatingPointError(f"{job.name}: loss became {last_train['loss']} at step {step}")

        is_eval = step % cfg.train.eval_every == 0 or step == cfg.train.steps
        is_ckpt = step % cfg.train.checkpoint_every == 0 or step == cfg.train.steps
        rate = steps_done / max(time.perf_counter() - t0, 1e-9)
        row = {"job": job.name, "step": step, "total": cfg.train.steps, "split": "train",
               "lr": lr, "steps_per_s": rate, **last_train}
        rows = [row]
        stop = False
        if is_eval and ctx.is_writer:
            valid = evaluate(job, net, loss_fn, data.valid, step=step - 1, device=device,
                             limit=cfg.train.eval_batches)
            rows.append({"job": job.name, "step": step, "split": "valid", **valid})
            if valid["loss"] < best:
                best, bad_evals = valid["loss"], 0
                is_best = True
            else:
                bad_evals += 1
                is_best = False
            patience = cfg.train.early_stop_patience
            stop = patience is not None and bad_evals >= patience
            train_state = {"optimizer": optimizer.state_dict(), "step": step, "best": best,
                           "bad_evals": bad_evals}
            ctx.record(rows, is_eval_row=True)
            if is_ckpt or is_best or stop:
                ctx.save(step, rows, train_state, is_best=is_best, hooks=hooks)
        elif ctx.is_writer and (step % 10 == 0):
            ctx.record(rows, is_eval_row=False)
        if hooks.report is not None:
            hooks.report(rows[-1] if len(rows) > 1 else row)
        if hooks.agree_stop is not None:
            stop = hooks.agree_stop(stop)
        if stop or (hooks.should_stop is not None and hooks.should_stop()):
            break

    final: dict[str, Any] = {"step": step, "best_valid_loss": best, "train": last_train}
    if ctx.is_writer:
        test = evaluate(job, net, loss_fn, data.test, step=step - 1, device=device, limit=None)
        ctx.record([{"job": job.name, "step": step, "split": "test", **test}], is_eval_row=True)
        ctx.finish(step, test)
        final["test"] = test
        if job.task == "predict":
            # Temperature + OOD threshold on the valid split, stored in meta.json extra["calibration"],
            # so `sketchrnn predict` needs nothing but the checkpoint.
            from sketchrnn.predict.calibration import calibrate

            final["calibration"] = calibrate(jd.root)
    return final
