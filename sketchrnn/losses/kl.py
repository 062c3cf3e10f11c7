"""The KL term of the Sketch-RNN loss: divergence, annealing schedule and floor (Eq. 10-12).

Eq. 10, Ha & Eck 2017: ``L_KL = -1 / (2 Nz) * sum(1 + sigma_hat - mu^2 - exp(sigma_hat))``,
the KL of ``N(mu, exp(sigma_hat))`` from ``N(0, I)`` averaged over the Nz dimensions (as magenta).
"""

from __future__ import annotations

import torch
from torch import Tensor


def kl_divergence(mu: Tensor, sigma_hat: Tensor) -> Tensor:
    """Per-sketch KL (Eq. 10), averaged over Nz: ``mu, sigma_hat [B, Nz]`` -> ``[B]``."""
    return -0.5 * torch.mean(1.0 + sigma_hat - mu.square() - torch.exp(sigma_hat), dim=-1)


def kl_weight(step: int, *, kl_weight: float = 0.5, kl_weight_start: float = 0.01,
              kl_decay_rate: float = 0.99995) -> float:
    """Annealed KL weight ``w_KL * eta_step`` with ``eta_step = 1 - (1 - eta_min) R^step`` (Eq. 12).

    Starts at ``w_KL * eta_min`` and rises towards ``w_KL`` (0.005 -> 0.5 with the defaults).
    """
    eta = 1.0 - (1.0 - kl_weight_start) * kl_decay_rate ** max(int(step), 0)
    return kl_weight * eta


def kl_floor(kl: Tensor, kl_min: float) -> Tensor:
    """``max(KL, KL_min)`` on the batch-mean KL (magenta's ``tf.maximum(kl_cost, kl_tolerance)``):
    below the floor the KL term has no gradient, so the model is free to use up to kl_min nats."""
    return torch.clamp(kl, min=kl_min)
