"""The HyperLSTM cell (Ha, Dai & Le 2016, "HyperNetworks", Sec. 3.2), as used by Sketch-RNN.

Ha & Eck 2017 (Sec. 3.3) report their best decoders were HyperLSTMs: a small LSTM (the hyper
cell) reads ``[x_t, h_{t-1}]`` and, every step, emits embeddings that rescale the rows of the main
LSTM's weight matrices and shift its biases. The main cell so gets different effective weights at
every time step, which suits drawings whose strokes change character (a long straight edge,
then a tight corner). A port of magenta's ``HyperLSTMCell``:

* ``z = W_z h_hyper + b_z`` per gate and per path (input x, recurrent h), ``d = W_d z`` and the
  path's pre-activation is ``d * (W x)`` (Eq. 11-12 of HyperNetworks): weight scaling instead of
  generating whole matrices, so the hyper cell stays small.
* the recurrent path also gets a dynamic bias ``W_b (W_zb h_hyper)``;
* layer norm over each gate block and over the cell, recurrent dropout on the candidate, forget
  bias 1.0, as the core's ``LayerNormLSTMCell`` (which is reused here as the hyper cell).

State: a plain tuple ``(h, c, h_hyper, c_hyper)`` of ``[B, *]`` tensors, so the core sampler can
mask it row-wise like any nested tuple of states.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sketchrnn.model.lstm import LayerNormLSTMCell

HyperState = tuple[Tensor, Tensor, Tensor, Tensor]  # h [B, H], c [B, H], h_hyper, c_hyper [B, Hh]
INIT_GAMMA = 0.1  # magenta's hyper_norm init: the scales start at 0.1 (layer norm follows)


class HyperLSTMCell(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, *, hyper_hidden: int = 256,
                 hyper_embedding: int = 32, recurrent_dropout: float = 0.0,
                 forget_bias: float = 1.0, eps: float = 1e-3) -> None:
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.hyper_hidden, self.embedding = hyper_hidden, hyper_embedding
        self.recurrent_dropout, self.forget_bias, self.eps = recurrent_dropout, forget_bias, eps
        self.hyper = LayerNormLSTMCell(input_size + hidden_size, hyper_hidden,
                                       recurrent_dropout=recurrent_dropout)
        self.weight_x = nn.Parameter(torch.empty(4 * hidden_size, input_size))
        self.weight_h = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))
        self.bias = nn.Parameter(torch.zeros(4 * hidden_size))
        # hyper output -> per-path, per-gate embeddings z (x and h paths), then z -> scales d
        self.embed_scale = nn.Linear(hyper_hidden, 2 * 4 * hyper_embedding)
        self.project_scale = nn.Parameter(torch.empty(2, 4, hyper_embedding, hidden_size))
        # hyper output -> bias embeddings, then -> the dynamic bias of the recurrent path
        self.embed_bias = nn.Linear(hyper_hidden, 4 * hyper_embedding, bias=False)
        self.project_bias = nn.Parameter(torch.zeros(4, hyper_embedding, hidden_size))
        self.gate_gain = nn.Parameter(torch.ones(4, hidden_size))
        self.gate_shift = nn.Parameter(torch.zeros(4, hidden_size))
        self.cell_norm = nn.LayerNorm(hidden_size, eps=eps)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """magenta's init: z starts at 1 (zero weights, unit bias) so every scale starts at
        INIT_GAMMA. The dynamic bias starts near 0, not at magenta's exact 0: a zero
        ``project_bias`` would block every gradient to ``embed_bias`` (their product is zero)."""
        nn.init.xavier_uniform_(self.weight_x)
        blocks = [nn.init.orthogonal_(torch.empty(self.hidden_size, self.hidden_size)) for _ in range(4)]
        with torch.no_grad():
            self.weight_h.copy_(torch.cat(blocks, 0))
            self.bias.zero_()
            self.embed_scale.weight.zero_()
            self.embed_scale.bias.fill_(1.0)
            self.project_scale.fill_(INIT_GAMMA / self.embedding)
            self.gate_gain.fill_(1.0)
            self.gate_shift.zero_()
        nn.init.normal_(self.embed_bias.weight, std=0.01)
        nn.init.normal_(self.project_bias, std=0.01)
        self.hyper.reset_parameters()
        self.cell_norm.reset_parameters()

    def forward(self, x: Tensor, state: HyperState) -> HyperState:
        """One step: ``x [B, I]`` and the state -> the new state (``h`` is the output)."""
        h, c, h_hyper, c_hyper = state
        h_hyper, c_hyper = self.hyper(torch.cat([x, h], -1), (h_hyper, c_hyper))  # [B, Hh]
        batch = x.shape[0]
        z = self.embed_scale(h_hyper).view(batch, 2, 4, self.embedding)  # [B, 2, 4, E]
        d = torch.einsum("bpge,pgeh->bpgh", z, self.project_scale)  # [B, 2, 4, H] row scales
        zb = self.embed_bias(h_hyper).view(batch, 4, self.embedding)  # [B, 4, E]
        dynamic_bias = torch.einsum("bge,geh->bgh", zb, self.project_bias)  # [B, 4, H]
        xw = F.linear(x, self.weight_x).view(batch, 4, self.hidden_size)  # [B, 4, H]
        hw = F.linear(h, self.weight_h).view(batch, 4, self.hidden_size)
        gates = d[:, 0] * xw + d[:, 1] * hw + dynamic_bias + self.bias.view(4, self.hidden_size)
        gates = F.layer_norm(gates, (self.hidden_size,), eps=self.eps) * self.gate_gain + self.gate_shift
        i, j, f, o = gates.unbind(1)
        g = F.dropout(torch.tanh(j), self.recurrent_dropout, self.training)  # Semeniuta et al. 2016
        c = c * torch.sigmoid(f + self.forget_bias) + torch.sigmoid(i) * g
        h = torch.tanh(self.cell_norm(c)) * torch.sigmoid(o)
        return h, c, h_hyper, c_hyper


def run(cell: HyperLSTMCell, inputs: Tensor, state: HyperState) -> tuple[Tensor, HyperState]:
    """Teacher forcing: ``inputs [B, T, I]`` -> outputs ``h [B, T, H]`` and the final state.

    A Python loop over T: the weights change every step, so no fused kernel applies.
    """
    outputs = []
    for t in range(inputs.shape[1]):
        state = cell(inputs[:, t], state)
        outputs.append(state[0])
    return torch.stack(outputs, 1), state
