"""The bidirectional LSTM encoder: a sketch -> (mu, sigma_hat) of q(z | S) (Sec. 3.1, Ha & Eck 2017).

It reads each sketch's real points only (``t < lengths``; packed sequences or masked updates), so
padding and the end tokens never change the latent code.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from sketchrnn.model.lstm import make_lstm

STROKE_DIM = 5  # stroke-5: (dx, dy, p1, p2, p3)


class Encoder(nn.Module):
    """``h = cat(h_fwd, h_bwd)`` -> ``mu = W_mu h + b_mu``, ``sigma_hat = W_sigma h + b_sigma``.

    ``variational=False`` drops the ``sigma_hat`` projection (the classifier uses mu only, and a
    projection nobody reads would be a parameter without a gradient).
    """

    def __init__(self, enc_hidden: int = 256, z_dim: int = 128, *, cell: str = "lstm",
                 recurrent_dropout: float = 0.0, variational: bool = True) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.rnn = make_lstm(cell, STROKE_DIM, enc_hidden, recurrent_dropout=recurrent_dropout,
                             bidirectional=True)
        self.mu = nn.Linear(2 * enc_hidden, z_dim)
        self.sigma_hat = nn.Linear(2 * enc_hidden, z_dim) if variational else None

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor | None]:
        """``x [B, T, 5]``, ``lengths [B]`` (>= 1) -> ``mu [B, Nz]``, ``sigma_hat [B, Nz]`` (or None)."""
        h = self.rnn.final_hidden(x, lengths)  # final states, [B, 2 * enc_hidden]
        mu = self.mu(h)  # Eq. 1: mu = W_mu h + b_mu
        sigma_hat = self.sigma_hat(h) if self.sigma_hat is not None else None
        return mu, sigma_hat


def reparameterize(mu: Tensor, sigma_hat: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """``z = mu + sigma * N(0, I)`` with ``sigma = exp(sigma_hat / 2)`` (Eq. 2). ``[B, Nz]``"""
    if generator is None:  # randn_like keeps symbolic shapes, so torch.compile can trace it
        eps = torch.randn_like(mu)
    else:
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + torch.exp(0.5 * sigma_hat) * eps
