"""The KL term of the Sketch-RNN loss: divergence, annealing schedule and floor (Eq. 10-12).

Eq. 10, Ha & Eck 2017: ``L_KL = -1 / (2 Nz) * sum(1 + sigma_hat - mu^2 - exp(sigma_hat))``,
the KL of ``N(mu, exp(sigma_hat))`` from ``N(0, I)`` averaged over the Nz dimensions (as magenta).

The annealing rate R of Eq. 12 follows the run's length unless it is given: magenta's
R = 0.99995 assumes 10^5-10^6 steps (at 1,000 steps it has covered 3% of the way), so by default
R is chosen to reach ``KL_ANNEALED`` of ``w_KL`` at a stated fraction of the run
(``kl_decay_rate_for``); this module holds that rule.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

KL_ANNEALED = 0.95  # the annealing is "done" when the weight is 95% of w_KL
MAGENTA_KL_DECAY_RATE = 0.99995  # R without a run length to follow (magenta's default)


def kl_divergence(mu: Tensor, sigma_hat: Tensor) -> Tensor:
    """Per-sketch KL (Eq. 10), averaged over Nz: ``mu, sigma_hat [B, Nz]`` -> ``[B]``."""
    return -0.5 * torch.mean(1.0 + sigma_hat - mu.square() - torch.exp(sigma_hat), dim=-1)


def kl_weight(step: int, *, kl_weight: float = 0.5, kl_weight_start: float = 0.01,
              kl_decay_rate: float = MAGENTA_KL_DECAY_RATE) -> float:
    """Annealed KL weight ``w_KL * eta_step`` with ``eta_step = 1 - (1 - eta_min) R^step`` (Eq. 12).

    Starts at ``w_KL * eta_min`` and rises towards ``w_KL`` (0.005 -> 0.5 with the defaults).
    ``step`` is the loss's 0-based step (training step 1 is step 0).
    """
    eta = 1.0 - (1.0 - kl_weight_start) * kl_decay_rate ** max(int(step), 0)
    return kl_weight * eta


def kl_decay_rate_for(total_steps: int, *, kl_weight_start: float, fraction: float) -> float:
    """The R of Eq. 12 at which ``eta`` reaches ``KL_ANNEALED`` at training step
    ``ceil(fraction * total_steps)`` (1-based; the loss's step one less):
    ``(1 - eta_min) R^n = 1 - KL_ANNEALED`` with ``n = that step - 1``."""
    if kl_weight_start >= KL_ANNEALED:
        return 1.0  # there from the start: nothing to anneal
    n = max(math.ceil(fraction * total_steps) - 1, 1)
    return ((1.0 - KL_ANNEALED) / (1.0 - kl_weight_start)) ** (1.0 / n)


def kl_annealed_step(kl_decay_rate: float, kl_weight_start: float) -> int | None:
    """The first training step (1-based) at which the weight is ``KL_ANNEALED`` of ``w_KL`` or
    more, from Eq. 12 in closed form; None if it never gets there (R = 1)."""
    if kl_weight_start >= KL_ANNEALED:
        return 1
    if kl_decay_rate >= 1.0:
        return None
    n = math.log((1.0 - KL_ANNEALED) / (1.0 - kl_weight_start)) / math.log(kl_decay_rate)
    # The rounding of log(R) near 1 is ~1e-16 / (1 - R) relative: a rate chosen for step n must
    # land on n, not n + 1.
    return math.ceil(n * (1.0 - 1e-9)) + 1


def kl_floor(kl: Tensor, kl_min: float) -> Tensor:
    """``max(KL, KL_min)`` on the batch-mean KL (magenta's ``tf.maximum(kl_cost, kl_tolerance)``):
    below the floor the KL term has no gradient, so the model is free to use up to kl_min nats."""
    return torch.clamp(kl, min=kl_min)
