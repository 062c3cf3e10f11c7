"""When things happen in a job: the learning rate at each step, evaluation and checkpoint steps.

Every DDP rank computes these from the same settings and gets the same answer, which is what
lets the collectives at evaluation steps (early-stop agreement, Ray Train's report) line up; the
Ray worker imports them from here rather than restating them.
"""

from __future__ import annotations

import math

from sketchrnn.config import TrainConfig


def learning_rate(step: int, lr: float, decay: float, min_lr: float, *, schedule: str = "exponential",
                  total_steps: int = 1) -> float:
    """exponential (magenta): ``(lr - min_lr) decay^step + min_lr``; cosine: half a cosine from
    ``lr`` at step 0 to ``min_lr`` at ``total_steps`` (then flat)."""
    if schedule == "cosine":
        progress = min(step / max(total_steps, 1), 1.0)
        return min_lr + (lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))
    return (lr - min_lr) * decay**step + min_lr


def is_eval_step(train: TrainConfig, step: int) -> bool:
    """Rank 0 validates (and the ranks agree on early stopping) after this step (1-based)."""
    return step % train.eval_every == 0 or step == train.steps


def is_checkpoint_step(train: TrainConfig, step: int) -> bool:
    """`checkpoints/latest` is written after this step, on its own schedule: a crash loses at
    most `checkpoint_every` steps whatever `eval_every` is."""
    return step % train.checkpoint_every == 0 or step == train.steps
