"""When things happen in a job: the learning rate at each step, evaluation and checkpoint steps.

Every DDP rank computes these from the same settings and gets the same answer, which is what
lets the collectives at evaluation steps (early-stop agreement, Ray Train's report) line up; the
Ray worker imports them from here rather than restating them.

The learning rate follows the run's length unless ``train.lr_decay`` is given: it reaches its
floor at the last step (``lr_at``). Magenta's decay 0.9999 assumes 10^5 steps or more; at 10,000
steps it would still be at 37% of the way down.
"""

from __future__ import annotations

import math
from sketchrnn.config import TrainConfig
from sketchrnn.train.job import JobSpec, build_job_loss

# An unset lr_decay: the decaying part (lr - min_lr) is down to 1% of its start at the last step.
LR_DECAY_LEFT = 0.01


def learning_rate(step: int, lr: float, decay: float, min_lr: float, *, schedule: str = "exponential",
                  total_steps: int = 1) -> float:
    """exponential (magenta): ``(lr - min_lr) decay^step + min_lr``; cosine: half a cosine from
    ``lr`` at step 0 to ``min_lr`` at ``total_steps`` (then flat)."""
    if schedule == "cosine":
        progress = min(step / max(total_steps, 1), 1.0)
        return min_lr + (lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))
    return (lr - min_lr) * decay**step + min_lr


def effective_lr_decay(train: TrainConfig) -> float:
    """``train.lr_decay`` when given, else ``LR_DECAY_LEFT ** (1 / (steps - 1))``: the exponential
    schedule's last step (0-based ``steps - 1``) is then ``min_lr + 1% (lr - min_lr)``."""
    if train.lr_decay is not None:
        return train.lr_decay
    return LR_DECAY_LEFT ** (1.0 / max(train.steps - 1, 1))


def lr_at(train: TrainConfig, step: int) -> float:
    """The learning rate of training step ``step`` (1-based), as the loop sets it. The cosine
    reaches ``min_lr`` exactly at the last step."""
    return learning_rate(step - 1, train.lr, effective_lr_decay(train), train.min_lr,
                         schedule=train.lr_schedule, total_steps=max(train.steps - 1, 1))


def describe_schedule(job: JobSpec) -> str:
    """The effective schedules of a job in a few words, e.g. "lr 0.001->2e-05 exp, KL 95% by
    step 500": what `fit`'s plan shows. The job's loss adds its own ``schedule()`` if it has one."""
    from sketchrnn.registry import get_registry

    train = job.settings.train
    kind = "cos" if train.lr_schedule == "cosine" else "exp"
    words = [f"lr {lr_at(train, 1):.3g}->{lr_at(train, train.steps):.3g} {kind}"]
    model = get_registry().load("models", job.settings.model.name)
    described = getattr(build_job_loss(job), "schedule", None)
    if callable(described) and getattr(model, "conditional", True):  # no latent: no KL to anneal
        words.append(described())
    if train.ema_decay > 0:  # what is validated and saved
        words.append(f"EMA {train.ema_decay:g}")
    pretrain = job.settings.pretrain
    if job.task == "predict" and pretrain.enabled:  # before the job's own steps, without progress rows
        words.insert(0, f"first {pretrain.steps:,} pretraining steps (lr {pretrain.lr:.3g} cos)")
    return ", ".join(words)


def is_eval_step(train: TrainConfig, step: int) -> bool:
    """Rank 0 validates (and the ranks agree on early stopping) after this step (1-based)."""
    return step % train.eval_every == 0 or step == train.steps


def is_checkpoint_step(train: TrainConfig, step: int) -> bool:
    """`checkpoints/latest` is written after this step, on its own schedule: a crash loses at
    most `checkpoint_every` steps whatever `eval_every` is."""
    return step % train.checkpoint_every == 0 or step == train.steps
