"""LSTMs for the encoder and decoder, behind one interface.

Two kinds (``make_lstm``):

* ``"lstm"``: ``nn.LSTM``'s parameters, the whole sequence in one fused call (cuDNN on GPU,
  oneDNN on CPU). The fused kernels have no hook inside the recurrence, so ``recurrent_dropout``
  is DropConnect on the recurrent weight matrix instead: one mask per call, drawn before the
  kernel runs (AWD-LSTM; ``PlainLSTM``).
* ``"layer_norm"``: the paper's layer-normalised LSTM with recurrent dropout (Sec. 3.3 of
  Ha & Eck 2017; Semeniuta et al. 2016), a port of magenta's ``LayerNormLSTMCell``: dropout on the
  candidate g only, layer norm on each gate block and on the cell before the output tanh.

Both take ``forward(inputs [B, T, I], lengths [B] | None, state=None)`` and return
``(outputs [B, T, H * dirs], (h, c))``; a unidirectional one also has ``step(input [B, I], state)
-> (h, (h, c))`` for the decoder. States are ``[B, H * dirs]``; for a bidirectional LSTM the
forward direction comes first, ``cat(h_fwd, h_bwd)``, as the encoder concatenates them.
With ``lengths``, nothing at ``t >= lengths`` is ever read (packed sequences / masked updates), the
outputs there are zero and the final state is the one after each sequence's last real step.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from sketchrnn.errors import ConfigError

LSTMState = tuple[Tensor, Tensor]
LSTM_KINDS = ("lstm", "layer_norm")


class LayerNormLSTMCell(nn.Module):
    """One step of the layer-normalised LSTM with recurrent dropout (magenta LayerNormLSTMCell).

    No bias in the matmul: each gate block's layer-norm shift plays that role. ``eps = 1e-3`` and
    ``forget_bias = 1.0`` are magenta's values; weights: uniform input projection, orthogonal
    recurrent blocks (magenta's ``lstm_ortho_initializer``).
    """

    def __init__(self, input_size: int, hidden_size: int, *, recurrent_dropout: float = 0.0,
                 forget_bias: float = 1.0, eps: float = 1e-3) -> None:
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.recurrent_dropout, self.forget_bias, self.eps = recurrent_dropout, forget_bias, eps
        self.weight_x = nn.Parameter(torch.empty(4 * hidden_size, input_size))
        self.weight_h = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))
        self.gate_gain = nn.Parameter(torch.ones(4, hidden_size))  # per gate block (i, j, f, o)
        self.gate_shift = nn.Parameter(torch.zeros(4, hidden_size))
        self.cell_norm = nn.LayerNorm(hidden_size, eps=eps)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.weight_x)
        blocks = [nn.init.orthogonal_(torch.empty(self.hidden_size, self.hidden_size)) for _ in range(4)]
        with torch.no_grad():
            self.weight_h.copy_(torch.cat(blocks, 0))
            self.gate_gain.fill_(1.0)
            self.gate_shift.zero_()
        self.cell_norm.reset_parameters()

    def project_input(self, x: Tensor) -> Tensor:
        """``x W_x`` for any leading shape: done once for a whole sequence. ``[..., I] -> [..., 4H]``"""
        return F.linear(x, self.weight_x)

    def recurrence(self, xw: Tensor, state: LSTMState) -> LSTMState:
        """One step given the projected input ``xw [B, 4H]``; returns the new ``(h, c)``."""
        h, c = state  # [B, H] each
        gates = xw + F.linear(h, self.weight_h)  # [B, 4H]
        gates = F.layer_norm(gates.unflatten(-1, (4, self.hidden_size)), (self.hidden_size,), eps=self.eps)
        gates = gates * self.gate_gain + self.gate_shift  # [B, 4, H]
        i, j, f, o = gates.unbind(-2)
        # Recurrent dropout on the candidate only (Semeniuta et al. 2016): the cell's memory path
        # c * sigmoid(f) is never dropped, so the mask need not be shared across time.
        g = F.dropout(torch.tanh(j), self.recurrent_dropout, self.training)
        c = c * torch.sigmoid(f + self.forget_bias) + torch.sigmoid(i) * g
        h = torch.tanh(self.cell_norm(c)) * torch.sigmoid(o)
        return h, c

    def forward(self, x: Tensor, state: LSTMState) -> LSTMState:
        return self.recurrence(self.project_input(x), state)


def reverse_padded(x: Tensor, lengths: Tensor | None) -> Tensor:
    """Reverse each sequence within its own length; padding stays where it is. ``[B, T, D]``

    Its own inverse, so the same call maps a backward pass's outputs back to input order.
    """
    if lengths is None:
        return x.flip(1)
    t = torch.arange(x.shape[1], device=x.device)  # [T]
    lengths = lengths.to(x.device).unsqueeze(1)  # [B, 1]
    index = torch.where(t < lengths, lengths - 1 - t, t)  # [B, T]
    return x.gather(1, index.unsqueeze(-1).expand_as(x))


def run_cell(cell: LayerNormLSTMCell, inputs: Tensor, lengths: Tensor | None, state: LSTMState,
             *, reverse: bool = False) -> tuple[Tensor, LSTMState]:
    """Run ``cell`` over ``inputs [B, T, I]``; state updates are masked beyond each length."""
    if reverse:
        inputs = reverse_padded(inputs, lengths)
    xw = cell.project_input(inputs)  # [B, T, 4H]: one matmul for all steps
    h, c = state
    alive = None
    if lengths is not None:
        t = torch.arange(inputs.shape[1], device=inputs.device)
        alive = (t.unsqueeze(1) < lengths.to(inputs.device)).unsqueeze(-1)  # [T, B, 1]
    outputs = []
    for t in range(inputs.shape[1]):
        h_new, c_new = cell.recurrence(xw[:, t], (h, c))
        if alive is None:
            h, c = h_new, c_new
            outputs.append(h)
        else:  # finished sequences keep their final state and output zeros, like pad_packed_sequence
            h, c = torch.where(alive[t], h_new, h), torch.where(alive[t], c_new, c)
            outputs.append(torch.where(alive[t], h_new, torch.zeros_like(h_new)))
    out = torch.stack(outputs, 1)  # [B, T, H]
    if reverse:
        out = reverse_padded(out, lengths)
    return out, (h, c)


class PlainLSTM(nn.Module):
    """``nn.LSTM``'s parameters run by torch's fused LSTM calls, with DropConnect on the recurrent
    weights (``weight_drop``; Wan et al. 2013, as AWD-LSTM, Merity et al. 2018).

    In training, each call draws one mask per direction over ``weight_hh`` (inverted dropout,
    scaled by ``1 / (1 - p)``), shared by every sequence and every step of that call: the
    recurrence itself is untouched, so the fused cuDNN / oneDNN kernels still run it. In eval the
    raw weights are used. The parameters stay ``nn.LSTM``'s (same state-dict names, read with
    ``getattr`` at each call, so DDP, ``torch.func.functional_call`` and ``.to()`` see them) and
    the gradient reaches the raw ``weight_hh`` through the mask.
    """

    def __init__(self, input_size: int, hidden_size: int, *, bidirectional: bool = False,
                 weight_drop: float = 0.0) -> None:
        super().__init__()
        self.hidden_size, self.bidirectional = hidden_size, bidirectional
        self.num_directions = 2 if bidirectional else 1
        self.weight_drop = weight_drop
        self.lstm = nn.LSTM(input_size, hidden_size, batch_first=True, bidirectional=bidirectional)

    @property
    def dropping(self) -> bool:
        return self.training and self.weight_drop > 0

    def direction_weights(self, suffix: str) -> list[Tensor]:
        """``[w_ih, w_hh, b_ih, b_hh]`` of one direction ("" forward, "_reverse" backward), ``w_hh``
        masked in training: each call draws a new mask, so call it once per direction and call."""
        params = [getattr(self.lstm, f"{name}_l0{suffix}") for name in _WEIGHT_NAMES]
        if self.dropping:
            params[1] = F.dropout(params[1], self.weight_drop, True)  # [4H, H], one mask for the call
        return params

    def _to_torch(self, s: Tensor) -> Tensor:  # [B, dirs*H] -> [dirs, B, H]
        return s.unflatten(-1, (self.num_directions, self.hidden_size)).transpose(0, 1).contiguous()

    def _from_torch(self, s: Tensor) -> Tensor:  # [dirs, B, H] -> [B, dirs*H]
        return s.transpose(0, 1).flatten(1)

    def forward(self, inputs: Tensor, lengths: Tensor | None = None,
                state: LSTMState | None = None) -> tuple[Tensor, LSTMState]:
        if state is None:
            zeros = inputs.new_zeros(self.num_directions, inputs.shape[0], self.hidden_size)
            hx = (zeros, zeros)  # [dirs, B, H]
        else:
            hx = (self._to_torch(state[0]), self._to_torch(state[1]))
        params: list[Tensor] = []
        for suffix in _DIRECTION_SUFFIXES[: self.num_directions]:
            params += self.direction_weights(suffix)
        with _fresh_weights_expected(inputs.is_cuda and self.dropping):
            if lengths is None:
                out, h, c = torch.lstm(inputs, hx, params, True, 1, 0.0, self.training,
                                       self.bidirectional, True)  # [B, T, dirs*H]
            else:
                out, h, c = self._packed(inputs, lengths, hx, params)
        return out, (self._from_torch(h), self._from_torch(c))

    def _packed(self, inputs: Tensor, lengths: Tensor, hx: LSTMState,
                params: list[Tensor]) -> tuple[Tensor, Tensor, Tensor]:
        """The fused call on packed input, as ``nn.LSTM`` makes it: the LSTM never reads
        ``t >= lengths`` (lengths must be >= 1); outputs padded back to ``[B, T, dirs*H]``."""
        packed = pack_padded_sequence(inputs, lengths.cpu(), batch_first=True, enforce_sorted=False)
        order, unorder = packed.sorted_indices, packed.unsorted_indices
        hx = (hx[0].index_select(1, order), hx[1].index_select(1, order))  # [dirs, B, H], by length
        data, h, c = torch.lstm(packed.data, packed.batch_sizes, hx, params, True, 1, 0.0,
                                self.training, self.bidirectional)
        out, _ = pad_packed_sequence(PackedSequence(data, packed.batch_sizes, order, unorder),
                                     batch_first=True, total_length=inputs.shape[1])
        return out, h.index_select(1, unorder), c.index_select(1, unorder)

    def final_hidden(self, inputs: Tensor, lengths: Tensor) -> Tensor:
        """``h`` after each sequence's last real step, ``[B, H * dirs]`` (all the encoder reads).

        On the CPU the packed path of ``forward`` runs step by step outside oneDNN, and the
        backward of each step's slice of the packed input zero-fills a gradient as large as the
        whole input: O(T^2) memory traffic, most of a training step (docs/benchmarks.md). Here
        each direction is one unpacked fused call (``_unpacked_runs``) and ``h`` is its output at
        ``t = length - 1``. Padding after a sketch is computed but never read, so the result
        equals the packed one up to float rounding. On CUDA, cuDNN runs packed input natively.
        """
        if inputs.is_cuda:
            return self.forward(inputs, lengths)[1][0]
        lengths = lengths.to(inputs.device)
        idx = (lengths - 1).view(-1, 1, 1).expand(-1, 1, self.hidden_size)  # [B, 1, H]
        return torch.cat([out.gather(1, idx).squeeze(1) for out in self._unpacked_runs(inputs, lengths)], -1)

    def outputs(self, inputs: Tensor, lengths: Tensor) -> Tensor:
        """Outputs at every real step, ``[B, T, H * dirs]``, zero at ``t >= lengths`` (as ``forward``
        with lengths), through the same unpacked fast path as ``final_hidden`` on the CPU."""
        if inputs.is_cuda:
            return self.forward(inputs, lengths)[0]
        lengths = lengths.to(inputs.device)
        runs = self._unpacked_runs(inputs, lengths)
        out = torch.cat([reverse_padded(o, lengths) if d else o for d, o in enumerate(runs)], -1)
        real = torch.arange(inputs.shape[1], device=inputs.device) < lengths.unsqueeze(1)  # [B, T]
        return out * real.unsqueeze(-1).to(out.dtype)

    def _unpacked_runs(self, inputs: Tensor, lengths: Tensor) -> list[Tensor]:
        """One fused oneDNN call per direction, ``[B, T, H]`` each; the backward one reads each
        sequence reversed within its length, so its outputs are in reversed order too."""
        zeros = inputs.new_zeros(1, inputs.shape[0], self.hidden_size)  # [1, B, H]
        runs = []
        for d, suffix in enumerate(_DIRECTION_SUFFIXES[: self.num_directions]):
            params = self.direction_weights(suffix)
            x = inputs if d == 0 else reverse_padded(inputs, lengths)
            out, _, _ = torch.lstm(x, (zeros, zeros), params, True, 1, 0.0, self.training, False, True)
            runs.append(out)
        return runs

    def step(self, x: Tensor, state: LSTMState) -> tuple[Tensor, LSTMState]:
        """One step (sampling; in training mode each call draws its own DropConnect mask)."""
        _require_unidirectional(self)
        w_ih, w_hh, b_ih, b_hh = self.direction_weights("")
        if not x.is_cuda:  # one fused cell, not an LSTM over a length-1 sequence: same math, no
            h, c = torch.lstm_cell(x, state, w_ih, w_hh, b_ih, b_hh)  # per-call RNN set-up
            return h, (h, c)  # (2.2x per sampling step at n = 1 on the CPU)
        # [1, B, H]; cuDNN refuses non-contiguous states (e.g. the decoder's chunked h0, c0)
        hx = (state[0].unsqueeze(0).contiguous(), state[1].unsqueeze(0).contiguous())
        with _fresh_weights_expected(self.dropping):
            out, h, c = torch.lstm(x.unsqueeze(1), hx, [w_ih, w_hh, b_ih, b_hh], True, 1, 0.0,
                                   self.training, False, True)
        return out[:, 0], (h[0], c[0])


_DIRECTION_SUFFIXES = ("", "_reverse")
_WEIGHT_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
_CUDNN_COMPACTION_WARNING = "RNN module weights are not part of single contiguous chunk of memory"


@contextmanager
def _fresh_weights_expected(active: bool) -> Iterator[None]:
    """cuDNN runs weights that are not views of one flat buffer by copying them into its layout
    at each call, and warns that this costs a copy. A DropConnect-masked ``w_hh`` is a new tensor
    at every call by design, so that copy (the size of the weights, small beside T recurrent
    steps; docs/benchmarks.md) is the expected cost of the mask: its warning is silenced for
    that call alone, and still shown for any other cause."""
    if not active:
        yield
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_CUDNN_COMPACTION_WARNING)
        yield


class LayerNormLSTM(nn.Module):
    """One ``LayerNormLSTMCell`` per direction, run by ``run_cell``, with the shared interface."""

    def __init__(self, input_size: int, hidden_size: int, *, recurrent_dropout: float = 0.0,
                 bidirectional: bool = False) -> None:
        super().__init__()
        self.hidden_size, self.bidirectional = hidden_size, bidirectional
        self.num_directions = 2 if bidirectional else 1
        self.cells = nn.ModuleList(
            LayerNormLSTMCell(input_size, hidden_size, recurrent_dropout=recurrent_dropout)
            for _ in range(self.num_directions)
        )

    def forward(self, inputs: Tensor, lengths: Tensor | None = None,
                state: LSTMState | None = None) -> tuple[Tensor, LSTMState]:
        if state is None:
            zeros = inputs.new_zeros(inputs.shape[0], self.num_directions * self.hidden_size)
            state = (zeros, zeros)
        hs, cs = state[0].chunk(self.num_directions, -1), state[1].chunk(self.num_directions, -1)
        outs, h_n, c_n = [], [], []
        for d, cell in enumerate(self.cells):  # d = 1: backward, each sequence reversed in its length
            out, (h, c) = run_cell(cell, inputs, lengths, (hs[d], cs[d]), reverse=d == 1)
            outs.append(out)
            h_n.append(h)
            c_n.append(c)
        return torch.cat(outs, -1), (torch.cat(h_n, -1), torch.cat(c_n, -1))

    def final_hidden(self, inputs: Tensor, lengths: Tensor) -> Tensor:
        """``h`` after each sequence's last real step, ``[B, H * dirs]``."""
        return self.forward(inputs, lengths)[1][0]

    def outputs(self, inputs: Tensor, lengths: Tensor) -> Tensor:
        """Outputs at every real step, ``[B, T, H * dirs]``, zero at ``t >= lengths``."""
        return self.forward(inputs, lengths)[0]

    def step(self, x: Tensor, state: LSTMState) -> tuple[Tensor, LSTMState]:
        _require_unidirectional(self)
        h, c = self.cells[0](x, state)
        return h, (h, c)


def _require_unidirectional(rnn: nn.Module) -> None:
    if rnn.bidirectional:
        raise ValueError("step() runs one direction forward in time; this LSTM is bidirectional")


def make_lstm(kind: str, input_size: int, hidden_size: int, *, recurrent_dropout: float = 0.0,
              bidirectional: bool = False) -> PlainLSTM | LayerNormLSTM:
    """The LSTM of ``kind`` ("lstm" | "layer_norm") with the interface described above.

    ``recurrent_dropout`` is each kind's recurrent regularisation, honoured by both: DropConnect on
    the recurrent weights for "lstm", dropout on the candidate at every step for "layer_norm"."""
    if not 0.0 <= recurrent_dropout < 1.0:
        raise ConfigError(f"recurrent_dropout {recurrent_dropout} is not a probability",
                          "use a drop probability in [0, 1), e.g. 0.1")
    if kind == "lstm":
        return PlainLSTM(input_size, hidden_size, bidirectional=bidirectional, weight_drop=recurrent_dropout)
    if kind == "layer_norm":
        return LayerNormLSTM(input_size, hidden_size, recurrent_dropout=recurrent_dropout,
                             bidirectional=bidirectional)
    raise ConfigError(f"unknown LSTM cell {kind!r}", f"use one of: {', '.join(LSTM_KINDS)}")
