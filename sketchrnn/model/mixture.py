"""The bivariate Gaussian mixture over pen offsets (Eq. 3, Ha & Eck 2017).

``p(dx, dy) = sum_j Pi_j N(dx, dy | mu_x, mu_y, sigma_x, sigma_y, rho_xy)_j``, with
``Pi = softmax(Pi_hat)``, ``sigma = exp(sigma_hat)``, ``rho = tanh(rho_hat)`` (Eq. 6-8).

Everything is computed in log space: ``log_softmax(Pi_hat) + log N``, reduced with logsumexp; there
is no ``log(pdf + eps)``. ``log(1 - rho^2)`` comes from ``rho_hat``, never from a rounded ``rho``.
So that log_prob, its gradients and sampling (``sampling.draw_step``) stay finite for any finite input, three bounds
are applied where the parameters are used (the stored values are the network's raw outputs):

* ``log_sigma`` in ``[LOG_SIGMA_MIN, LOG_SIGMA_MAX] = [-10, 10]``. Offsets are normalised to unit
  std, so sigma = e^-10 ~ 4.5e-5 is far below any real pen resolution: narrower components only
  let the NLL run to -inf on repeated exact values (the usual mixture-density degeneracy), and
  ``exp(-log_sigma)`` must stay finite. The top (sigma ~ 2.2e4 std units) only keeps ``exp`` finite
  when sampling.
* ``|rho_hat| <= RHO_HAT_MAX = 10``: ``|rho| <= tanh(10) = 1 - 4e-9``, so no correlation a model
  can use is lost, while ``1 / (1 - rho^2) = cosh(rho_hat)^2 <= 1.2e8`` stays finite.
* Standardised residuals ``(d - mu) / sigma`` in ``[-RESIDUAL_MAX, RESIDUAL_MAX] = +-1e10``: with the
  two bounds above the quadratic form is then at most ~5e28, finite in float32 even summed over a
  batch. A component 1e10 std away has responsibility 0, so no useful gradient is lost.

The clamps are hard: outside the bounds, gradients for that value are zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor


LOG_SIGMA_MIN = -10.0
LOG_SIGMA_MAX = 10.0
RHO_HAT_MAX = 10.0
RESIDUAL_MAX = 1e10
_LOG_2PI = math.log(2.0 * math.pi)
_LOG_2 = math.log(2.0)


class MixtureParams(NamedTuple):
    """Raw mixture parameters from the decoder's output layer; every field ``[..., M]``."""

    pi_logits: Tensor  # Pi_hat: unnormalised log weights
    mu_x: Tensor
    mu_y: Tensor
    log_sigma_x: Tensor  # sigma_hat_x: sigma_x = exp(.)
    log_sigma_y: Tensor
    rho_hat: Tensor  # pre-tanh correlation: rho_xy = tanh(rho_hat)

    @property
    def n_mixtures(self) -> int:
        return self.pi_logits.shape[-1]

    def map(self, fn: Callable[[Tensor], Tensor]) -> MixtureParams:
        """Apply ``fn`` to every field (index rows or steps, move devices, detach, ...)."""
        return MixtureParams(*(fn(field) for field in self))

    @classmethod
    def from_output(cls, y: Tensor) -> MixtureParams:
        """Split the 6M mixture outputs of the decoder's output layer (Eq. 6). ``[..., 6M]``"""
        if y.shape[-1] % 6:
            raise ValueError(f"mixture outputs must be 6M wide, got {y.shape[-1]}")
        return cls(*y.chunk(6, dim=-1))  # magenta order: pi, mu_x, mu_y, sigma_x, sigma_y, rho


def _log1m_tanh_sq(r: Tensor) -> Tensor:
    """``log(1 - tanh(r)^2) = log sech(r)^2``, stable for any ``r`` (no 1 - rho^2 cancellation)."""
    a = r.abs()
    return 2.0 * (_LOG_2 - a - F.softplus(-2.0 * a))


def bounded(params: MixtureParams) -> tuple[Tensor, Tensor, Tensor]:
    """``(log_sigma_x, log_sigma_y, rho_hat)`` within the documented bounds (every user of the
    parameters, the loss and the samplers, applies them through this one function)."""
    return (
        params.log_sigma_x.clamp(LOG_SIGMA_MIN, LOG_SIGMA_MAX),
        params.log_sigma_y.clamp(LOG_SIGMA_MIN, LOG_SIGMA_MAX),
        params.rho_hat.clamp(-RHO_HAT_MAX, RHO_HAT_MAX),
    )


def log_prob(params: MixtureParams, dx: Tensor, dy: Tensor) -> Tensor:
    """Mixture log-density at ``(dx, dy)``; params ``[..., M]``, offsets ``[...]`` -> ``[...]``."""
    log_sx, log_sy, r = bounded(params)  # [..., M]
    zx = ((dx.unsqueeze(-1) - params.mu_x) * torch.exp(-log_sx)).clamp(-RESIDUAL_MAX, RESIDUAL_MAX)
    zy = ((dy.unsqueeze(-1) - params.mu_y) * torch.exp(-log_sy)).clamp(-RESIDUAL_MAX, RESIDUAL_MAX)
    rho = torch.tanh(r)
    log1m_rho2 = _log1m_tanh_sq(r)  # log(1 - rho^2)
    # Z / (1 - rho^2) of Eq. 24-25 in Graves 2013, written as a sum of squares so that it is never
    # negative: (zx - rho zy)^2 / (1 - rho^2) + zy^2, with 1 / (1 - rho^2) = cosh(rho_hat)^2.
    quad = (zx - rho * zy).square() * torch.cosh(r).square() + zy.square()
    log_normal = -_LOG_2PI - log_sx - log_sy - 0.5 * log1m_rho2 - 0.5 * quad  # [..., M]
    return torch.logsumexp(F.log_softmax(params.pi_logits, dim=-1) + log_normal, dim=-1)
