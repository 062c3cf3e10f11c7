"""The autoregressive LSTM decoder: previous point (+ z) -> mixture over offsets + pen logits.

Sec. 3.2, Ha & Eck 2017: ``(h0, c0) = split(tanh(W_z z + b_z))`` (Eq. 4), input
``x_i = cat(S_{i-1}, z)`` and ``y_i = W_y h_i + b_y`` with 6M + 3 values (Eq. 5): the mixture
parameters and three pen logits q_hat (Eq. 6-8). With ``z_dim = 0`` it is the
unconditional decoder: zero initial state and the previous point alone as input.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from sketchrnn.model.lstm import LSTMState, make_lstm
from sketchrnn.model.mixture import MixtureParams

STROKE_DIM = 5
START_TOKEN = (0.0, 0.0, 1.0, 0.0, 0.0)  # S_0: the pen starts down at the origin


class Decoder(nn.Module):
    def __init__(self, dec_hidden: int = 512, n_mixtures: int = 20, z_dim: int = 0, *,
                 cell: str = "lstm", recurrent_dropout: float = 0.0) -> None:
        super().__init__()
        self.dec_hidden, self.n_mixtures, self.z_dim = dec_hidden, n_mixtures, z_dim
        self.rnn = make_lstm(cell, STROKE_DIM + z_dim, dec_hidden, recurrent_dropout=recurrent_dropout)
        self.init_state = nn.Linear(z_dim, 2 * dec_hidden) if z_dim else None
        self.output = nn.Linear(dec_hidden, 3 + 6 * n_mixtures)

    def initial_state(self, z: Tensor | None, batch_size: int) -> LSTMState:
        """``(h0, c0)``, each ``[B, dec_hidden]``: from z (Eq. 4), or zeros without one."""
        if self.init_state is None:
            weight = self.output.weight
            zeros = torch.zeros(batch_size, self.dec_hidden, device=weight.device, dtype=weight.dtype)
            return zeros, zeros
        if z is None:
            raise ValueError("this decoder is conditional: initial_state needs z [B, z_dim]")
        h0, c0 = torch.tanh(self.init_state(z)).chunk(2, dim=-1)  # Eq. 4
        return h0, c0

    def _inputs(self, strokes: Tensor, z: Tensor | None) -> Tensor:
        """Eq. 5: ``cat(S_{i-1}, z)``; z ``[B, Nz]`` is repeated over any time axis."""
        if self.z_dim == 0:
            return strokes
        if z is None:
            raise ValueError("this decoder is conditional: it needs z [B, z_dim]")
        z = z.view(z.shape[0], *([1] * (strokes.dim() - 2)), z.shape[-1]).expand(*strokes.shape[:-1], -1)
        return torch.cat([strokes, z], dim=-1)

    def _head(self, h: Tensor) -> tuple[MixtureParams, Tensor]:
        y = self.output(h)  # Eq. 5: [..., 6M + 3]
        q_logits, mixture = y.split([3, 6 * self.n_mixtures], dim=-1)  # magenta: pen logits first
        return MixtureParams.from_output(mixture), q_logits

    def forward(self, strokes: Tensor, z: Tensor | None, state: LSTMState | None = None,
                ) -> tuple[MixtureParams, Tensor, LSTMState]:
        """Teacher forcing over ``strokes [B, T, 5]`` (inputs S_0..S_{T-1}) -> params ``[B, T, M]``,
        ``q_logits [B, T, 3]`` and the final state. One LSTM call for the whole sequence."""
        if state is None:
            state = self.initial_state(z, strokes.shape[0])
        h, state = self.rnn(self._inputs(strokes, z), None, state)  # h [B, T, dec_hidden]
        mixture, q_logits = self._head(h)
        return mixture, q_logits, state

    def step(self, stroke: Tensor, z: Tensor | None, state: LSTMState,
             ) -> tuple[MixtureParams, Tensor, LSTMState]:
        """One step: ``stroke [B, 5]`` -> params ``[B, M]``, ``q_logits [B, 3]``, new state."""
        h, state = self.rnn.step(self._inputs(stroke, z), state)  # [B, dec_hidden]
        mixture, q_logits = self._head(h)
        return mixture, q_logits, state
