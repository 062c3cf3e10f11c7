"""``hyper_sketch_rnn``: Sketch-RNN with a HyperLSTM decoder (Ha & Eck 2017, Sec. 3.3 and 5).

Everything but the decoder's recurrence is the core's: the bidirectional encoder and the
reparameterisation (``sketchrnn.model.encoder``), the start token, the mixture head's layout and
``MixtureParams`` (Eq. 6-8), the output tuple the core loss reads (``SketchRNNOutput``). So the
core training loop, loss, sampler and checkpoints work on it unchanged; that is the point of the
``DrawModel`` interface (``sketchrnn.interfaces``).

Its options (``HyperSketchRNN.Options``) are the core ``sketch_rnn``'s plus the hyper cell's sizes,
set like any other model option: ``--set draw.model.hyper_hidden=64``. Left unset, the hyper sizes
follow ``dec_hidden`` (magenta: 256 and 32 for a 512 decoder).
"""

from __future__ import annotations

import torch
from pydantic import Field
from torch import Tensor, nn

from sketchrnn.model.decoder import START_TOKEN, STROKE_DIM
from sketchrnn.model.encoder import Encoder, reparameterize
from sketchrnn.model.mixture import MixtureParams
from sketchrnn.model.sketch_rnn import SketchRNNOptions, SketchRNNOutput
from sketchrnn_shapes.hyper_lstm import HyperLSTMCell, HyperState, run


class HyperSketchRNNOptions(SketchRNNOptions):
    """``[draw.model]`` options of ``hyper_sketch_rnn``: the core Sketch-RNN's and the hyper cell's."""

    hyper_hidden: int | None = Field(
        None, ge=1, description="Hyper LSTM size (unset: dec_hidden / 2, between 8 and 256).")
    hyper_embedding: int | None = Field(
        None, ge=1, description="Hyper embedding size per gate (unset: hyper_hidden / 8, between 4 and 32).")


class HyperSketchRNN(nn.Module):
    """The conditional VAE of Sketch-RNN whose decoder is a HyperLSTM."""

    task = "draw"
    conditional = True
    Options = HyperSketchRNNOptions

    def __init__(self, *, enc_hidden: int = 256, dec_hidden: int = 512, z_dim: int = 128,
                 n_mixtures: int = 20, cell: str = "lstm", recurrent_dropout: float = 0.1,
                 hyper_hidden: int | None = None, hyper_embedding: int | None = None) -> None:
        super().__init__()
        hyper_hidden = hyper_hidden or min(256, max(8, dec_hidden // 2))
        hyper_embedding = hyper_embedding or min(32, max(4, hyper_hidden // 8))
        self.z_dim, self.n_mixtures, self.dec_hidden = z_dim, n_mixtures, dec_hidden
        self.encoder = Encoder(enc_hidden, z_dim, cell=cell, recurrent_dropout=recurrent_dropout)
        self.cell = HyperLSTMCell(STROKE_DIM + z_dim, dec_hidden, hyper_hidden=hyper_hidden,
                                  hyper_embedding=hyper_embedding, recurrent_dropout=recurrent_dropout)
        # Eq. 4, for the whole state: magenta's sketch-rnn also derives the hyper state from z.
        self.init_state = nn.Linear(z_dim, 2 * dec_hidden + 2 * hyper_hidden)
        self.output = nn.Linear(dec_hidden, 3 + 6 * n_mixtures)  # Eq. 5: pen logits, then 6M

    # -- encoder -----------------------------------------------------------------------------
    def encode(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """``x [B, T, 5]``, ``lengths [B]`` -> ``mu, sigma_hat [B, Nz]``."""
        return self.encoder(x, lengths)

    # -- decoder -----------------------------------------------------------------------------
    def start_token(self, batch_size: int) -> Tensor:
        """``S_0 = (0, 0, 1, 0, 0)`` per row. ``[B, 5]``"""
        weight = self.output.weight
        return torch.tensor(START_TOKEN, device=weight.device, dtype=weight.dtype).expand(batch_size, -1)

    def initial_state(self, z: Tensor | None, batch_size: int) -> HyperState:
        """``tanh(W z + b)`` split into ``(h, c, h_hyper, c_hyper)`` (Eq. 4)."""
        if z is None:
            raise ValueError("hyper_sketch_rnn is conditional: initial_state needs z [B, z_dim]")
        sizes = [self.dec_hidden] * 2 + [self.cell.hyper_hidden] * 2
        h, c, hh, hc = torch.tanh(self.init_state(z)).split(sizes, dim=-1)
        return h, c, hh, hc

    def _inputs(self, strokes: Tensor, z: Tensor) -> Tensor:
        """Eq. 5: ``cat(S_{i-1}, z)``, z repeated over any time axis."""
        z = z.view(z.shape[0], *([1] * (strokes.dim() - 2)), z.shape[-1]).expand(*strokes.shape[:-1], -1)
        return torch.cat([strokes, z], dim=-1)

    def _head(self, h: Tensor) -> tuple[MixtureParams, Tensor]:
        q_logits, mixture = self.output(h).split([3, 6 * self.n_mixtures], dim=-1)
        return MixtureParams.from_output(mixture), q_logits

    def decode_step(self, inputs: Tensor, z: Tensor | None, state: HyperState | None,
                    ) -> tuple[MixtureParams, Tensor, HyperState]:
        """``inputs [B, 5]`` -> params ``[B, M]``, ``q_logits [B, 3]``, new state."""
        if z is None:
            raise ValueError("hyper_sketch_rnn is conditional: decode_step needs z [B, z_dim]")
        if state is None:
            state = self.initial_state(z, inputs.shape[0])
        state = self.cell(self._inputs(inputs, z), state)
        mixture, q_logits = self._head(state[0])
        return mixture, q_logits, state

    def decode_sequence(self, inputs: Tensor, z: Tensor | None, state: HyperState | None = None,
                        ) -> tuple[MixtureParams, Tensor, HyperState]:
        """Teacher-forced ``inputs [B, T, 5]`` -> params ``[B, T, M]``, ``q_logits [B, T, 3]``, state."""
        if z is None:
            raise ValueError("hyper_sketch_rnn is conditional: decode_sequence needs z [B, z_dim]")
        if state is None:
            state = self.initial_state(z, inputs.shape[0])
        h, state = run(self.cell, self._inputs(inputs, z), state)  # [B, T, dec_hidden]
        mixture, q_logits = self._head(h)
        return mixture, q_logits, state

    def forward(self, x: Tensor, lengths: Tensor) -> SketchRNNOutput:
        """``x [B, T, 5]`` (targets), ``lengths [B]`` -> outputs for every target step."""
        mu, sigma_hat = self.encode(x, lengths)
        z = reparameterize(mu, sigma_hat) if self.training else mu  # Eq. 2; the mean in eval
        start = self.start_token(x.shape[0]).unsqueeze(1)  # [B, 1, 5]
        inputs = torch.cat([start, x[:, :-1]], dim=1)  # S_0 .. S_{T-1} predict S_1 .. S_T
        mixture, q_logits, _ = self.decode_sequence(inputs, z)
        return SketchRNNOutput(mixture, q_logits, mu, sigma_hat, z)
