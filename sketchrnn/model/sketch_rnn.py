"""Sketch-RNN: the VAE (encoder + decoder, Sec. 3) and its decoder-only variant (Sec. 4.2).

Both have the same decoding interface, used by training (``forward``) and by the sampler
(``initial_state``, ``decode_step``, ``decode_sequence``, ``start_token``); only ``SketchRNN`` has
``encode``. Defaults follow the paper / magenta: enc 256, dec 512, Nz 128, M 20, recurrent
dropout 0.1 (keep prob 0.9; DropConnect on the recurrent weights for the fused "lstm" cell, the
paper's dropout on the candidate for "layer_norm", see ``lstm.py``).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from pydantic import Field
from torch import Tensor, nn

from sketchrnn.model.decoder import START_TOKEN, Decoder
from sketchrnn.model.encoder import Encoder, reparameterize
from sketchrnn.model.lstm import LSTMState
from sketchrnn.model.mixture import MixtureParams
from sketchrnn.model.options import RecurrentOptions


class SketchRNNOutput(NamedTuple):
    mixture: MixtureParams  # every field [B, T, M]
    q_logits: Tensor  # [B, T, 3]
    mu: Tensor | None  # [B, Nz]; None for the decoder-only model
    sigma_hat: Tensor | None  # [B, Nz]
    z: Tensor | None  # [B, Nz]: sampled in training, mu in eval


class DecoderOnlyOptions(RecurrentOptions):
    """``[draw.model]`` options of ``sketch_rnn_uncond`` (and the decoder half of ``sketch_rnn``)."""

    dec_hidden: int = Field(512, ge=1, description="Decoder LSTM size.")
    n_mixtures: int = Field(20, ge=1, description="Gaussian mixture components M.")


class SketchRNNOptions(DecoderOnlyOptions):
    """``[draw.model]`` options of ``sketch_rnn``."""

    enc_hidden: int = Field(256, ge=1, description="Encoder LSTM size per direction.")
    z_dim: int = Field(128, ge=1, description="Latent size N_z.")


class _DrawModel(nn.Module):
    """Shared decoding for both draw models; subclasses provide ``_latent``."""

    task = "draw"
    conditional: bool
    z_dim: int

    def __init__(self, *, dec_hidden: int, n_mixtures: int, z_dim: int, cell: str,
                 recurrent_dropout: float) -> None:
        super().__init__()
        self.z_dim, self.n_mixtures = z_dim, n_mixtures
        self.decoder = Decoder(dec_hidden, n_mixtures, z_dim, cell=cell, recurrent_dropout=recurrent_dropout)

    def _latent(self, x: Tensor, lengths: Tensor) -> tuple[Tensor | None, Tensor | None, Tensor | None]:
        raise NotImplementedError

    def start_token(self, batch_size: int) -> Tensor:
        """``S_0 = (0, 0, 1, 0, 0)`` for every row. ``[B, 5]``"""
        weight = self.decoder.output.weight
        return torch.tensor(START_TOKEN, device=weight.device, dtype=weight.dtype).expand(batch_size, -1)

    def initial_state(self, z: Tensor | None, batch_size: int) -> LSTMState:
        return self.decoder.initial_state(z, batch_size)

    def decode_step(self, inputs: Tensor, z: Tensor | None, state: LSTMState | None,
                    ) -> tuple[MixtureParams, Tensor, LSTMState]:
        """``inputs [B, 5]`` (previous point) -> params ``[B, M]``, ``q_logits [B, 3]``, state."""
        if state is None:
            state = self.initial_state(z, inputs.shape[0])
        return self.decoder.step(inputs, z, state)

    def decode_sequence(self, inputs: Tensor, z: Tensor | None, state: LSTMState | None = None,
                        ) -> tuple[MixtureParams, Tensor, LSTMState]:
        """Teacher-forced ``inputs [B, T, 5]`` -> params ``[B, T, M]``, ``q_logits``, final state
        (e.g. to prime the decoder with the start of a sketch before sampling its completion)."""
        return self.decoder(inputs, z, state)

    def forward(self, x: Tensor, lengths: Tensor) -> SketchRNNOutput:
        """``x [B, T, 5]`` (targets), ``lengths [B]`` -> outputs for every target step."""
        mu, sigma_hat, z = self._latent(x, lengths)
        start = self.start_token(x.shape[0]).unsqueeze(1)  # [B, 1, 5]
        inputs = torch.cat([start, x[:, :-1]], dim=1)  # [B, T, 5]: S_0 .. S_{T-1} predict S_1 .. S_T
        mixture, q_logits, _ = self.decode_sequence(inputs, z)
        return SketchRNNOutput(mixture, q_logits, mu, sigma_hat, z)


class SketchRNN(_DrawModel):
    """The conditional VAE: z from the encoder conditions the decoder (Eq. 4-5)."""

    conditional = True
    Options = SketchRNNOptions

    def __init__(self, *, enc_hidden: int = 256, dec_hidden: int = 512, z_dim: int = 128,
                 n_mixtures: int = 20, cell: str = "lstm", recurrent_dropout: float = 0.1) -> None:
        super().__init__(dec_hidden=dec_hidden, n_mixtures=n_mixtures, z_dim=z_dim, cell=cell,
                         recurrent_dropout=recurrent_dropout)
        self.encoder = Encoder(enc_hidden, z_dim, cell=cell, recurrent_dropout=recurrent_dropout)

    def encode(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """``x [B, T, 5]``, ``lengths [B]`` -> ``mu, sigma_hat [B, Nz]``; sigma = exp(sigma_hat / 2)."""
        return self.encoder(x, lengths)

    def _latent(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        mu, sigma_hat = self.encode(x, lengths)
        z = reparameterize(mu, sigma_hat) if self.training else mu  # Eq. 2; the mean in eval
        return mu, sigma_hat, z


class DecoderOnlySketchRNN(_DrawModel):
    """The unconditional model: the decoder alone, zero initial state, no z (Sec. 4.2)."""

    conditional = False
    Options = DecoderOnlyOptions

    def __init__(self, *, dec_hidden: int = 512, n_mixtures: int = 20, cell: str = "lstm",
                 recurrent_dropout: float = 0.1) -> None:
        super().__init__(dec_hidden=dec_hidden, n_mixtures=n_mixtures, z_dim=0, cell=cell,
                         recurrent_dropout=recurrent_dropout)

    def _latent(self, x: Tensor, lengths: Tensor) -> tuple[None, None, None]:
        return None, None, None
