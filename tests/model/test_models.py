"""Every registered model on the tiny preset (timm style), plus the LSTMs against references."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from sketchrnn.errors import ConfigError
from sketchrnn.losses.classification import ClassificationLoss
from sketchrnn.losses.sketch_rnn import SketchRNNLoss
from sketchrnn.model.classifier import SketchClassifier
from sketchrnn.model.lstm import LayerNormLSTMCell, make_lstm
from sketchrnn.model.presets import PRESETS, preset_kwargs
from sketchrnn.model.sketch_rnn import DecoderOnlySketchRNN, SketchRNN
from tests.model.teacher_forcing import assert_steps_match_teacher_forcing

BUILTIN = {"sketch_rnn": SketchRNN, "sketch_rnn_uncond": DecoderOnlySketchRNN, "classifier": SketchClassifier}
CELLS = ["lstm", "layer_norm"]
N_CATEGORIES = 4


def _registered() -> list[str]:
    try:  # the registry lists built-ins and plugins alike (empty if the package isn't installed)
        from sketchrnn.registry import get_registry

        return get_registry().names("models")
    except (ImportError, AttributeError):
        return []


def _model_class(name: str) -> type:
    if name in _registered():
        from sketchrnn.registry import get_registry

        return get_registry().load("models", name)
    return BUILTIN[name]


MODEL_NAMES = sorted(set(_registered()) | set(BUILTIN))


def build_tiny(cls: type, cell: str, **extra) -> torch.nn.Module:
    """The tiny preset, as `--preset tiny` builds it: the sizes each model declares as options."""
    kwargs = {**preset_kwargs("tiny", cls), "cell": cell, **extra}
    return cls(**kwargs, n_categories=N_CATEGORIES) if cls.task == "predict" else cls(**kwargs)


def make_batch(lengths: list[int], seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Stroke-5 ``x [B, max+1, 5]``: random offsets, pen down/up, then end tokens."""
    g = torch.Generator().manual_seed(seed)
    lengths_t = torch.tensor(lengths)
    x = torch.zeros(len(lengths), max(lengths) + 1, 5)
    for b, n in enumerate(lengths):
        x[b, :n, :2] = torch.randn(n, 2, generator=g)
        pen = (torch.rand(n, generator=g) < 0.3).long()
        x[b, :n, 2:] = F.one_hot(pen, 3).float()
        x[b, n:, 4] = 1.0
    labels = torch.arange(len(lengths)) % N_CATEGORIES
    return x, lengths_t, labels


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_forward_backward_every_parameter_gets_a_gradient(name: str, cell: str) -> None:
    torch.manual_seed(0)
    model = build_tiny(_model_class(name), cell)
    model.train()
    x, lengths, labels = make_batch([5, 9, 3, 7])
    if model.task == "predict":
        logits = model(x, lengths)
        assert logits.shape == (4, N_CATEGORIES)
        terms = ClassificationLoss()(logits, labels)
    else:
        out = model(x, lengths)
        assert out.q_logits.shape == (4, 10, 3)
        assert all(f.shape == (4, 10, PRESETS["tiny"]["n_mixtures"]) for f in out.mixture)
        if model.conditional:
            assert out.mu.shape == out.sigma_hat.shape == out.z.shape == (4, model.z_dim)
        else:
            assert out.mu is None and out.z is None and model.z_dim == 0
        terms = SketchRNNLoss(kl_min=0.0)(out, x, lengths, step=1000)  # floor off: KL has a gradient
    assert all(torch.isfinite(v).all() for v in terms.values())
    terms["loss"].backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{pname} has no gradient"
        assert torch.isfinite(p.grad).all(), f"{pname} has a non-finite gradient"
        assert p.grad.abs().sum() > 0, f"{pname} has an all-zero gradient"


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("cls", [SketchRNN, SketchClassifier])
def test_encoder_never_reads_padding(cls: type, cell: str) -> None:
    torch.manual_seed(0)
    model = build_tiny(cls, cell).eval()
    encode = model.encode if cls is SketchRNN else lambda x, lengths: (model(x, lengths),)
    x, lengths, _ = make_batch([5, 9, 3, 7])
    noisy = x.clone()
    for b, n in enumerate(lengths.tolist()):
        noisy[b, n:] = torch.randn_like(noisy[b, n:]) * 100.0
    ref = encode(x, lengths)[0]
    torch.testing.assert_close(encode(noisy, lengths)[0], ref, rtol=0, atol=1e-6)
    for b, n in enumerate(lengths.tolist()):  # each sketch alone, without any padding
        alone = encode(x[b : b + 1, :n], lengths[b : b + 1])[0]
        torch.testing.assert_close(alone[0], ref[b], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("cls", [SketchRNN, DecoderOnlySketchRNN])
def test_decode_step_matches_teacher_forcing(cls: type, cell: str) -> None:
    torch.manual_seed(0)
    model = build_tiny(cls, cell).eval()
    x, lengths, _ = make_batch([5, 9, 3, 7])
    out = model(x, lengths)
    if model.conditional:
        torch.testing.assert_close(out.z, out.mu)  # eval: the mean, not a sample
    assert_steps_match_teacher_forcing(model, x, out)


def test_training_forward_samples_z() -> None:
    torch.manual_seed(0)
    model = build_tiny(SketchRNN, "lstm").train()
    x, lengths, _ = make_batch([5, 9])
    out = model(x, lengths)
    assert not torch.allclose(out.z, out.mu)


def _naive_ln_lstm(cell: LayerNormLSTMCell, xs: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """magenta's LayerNormLSTMCell written out step by step for one sequence ``xs [T, I]``."""
    H = cell.hidden_size

    def norm(v, gain, shift):
        mean = v.mean()
        var = ((v - mean) ** 2).mean()
        return (v - mean) / torch.sqrt(var + cell.eps) * gain + shift

    h, c, outs = torch.zeros(H), torch.zeros(H), []
    for x in xs:
        gates = cell.weight_x @ x + cell.weight_h @ h
        blocks = gates.split(H)
        i, j, f, o = (norm(blocks[k], cell.gate_gain[k], cell.gate_shift[k]) for k in range(4))
        c = c * torch.sigmoid(f + 1.0) + torch.sigmoid(i) * torch.tanh(j)
        h = torch.tanh(norm(c, cell.cell_norm.weight, cell.cell_norm.bias)) * torch.sigmoid(o)
        outs.append(h)
    return torch.stack(outs), h, c


def test_layer_norm_lstm_matches_naive_reference() -> None:
    torch.manual_seed(0)
    rnn = make_lstm("layer_norm", 5, 6, recurrent_dropout=0.0, bidirectional=True)
    with torch.no_grad():  # non-trivial layer-norm parameters
        for p in rnn.parameters():
            p.add_(0.1 * torch.randn_like(p))
    x, lengths, _ = make_batch([4, 7, 2])
    out, (h, c) = rnn(x, lengths)
    assert out.shape == (3, 8, 12) and h.shape == c.shape == (3, 12)
    fwd, bwd = rnn.cells
    for b, n in enumerate(lengths.tolist()):
        ref_f, h_f, c_f = _naive_ln_lstm(fwd, x[b, :n])
        ref_b, h_b, c_b = _naive_ln_lstm(bwd, x[b, :n].flip(0))
        torch.testing.assert_close(out[b, :n, :6], ref_f, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(out[b, :n, 6:], ref_b.flip(0), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(h[b], torch.cat([h_f, h_b]), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(c[b], torch.cat([c_f, c_b]), rtol=1e-5, atol=1e-5)
        assert (out[b, n:] == 0).all()


@pytest.mark.parametrize("kind", CELLS)
def test_lstm_kinds_share_one_interface(kind: str) -> None:
    torch.manual_seed(0)
    rnn = make_lstm(kind, 5, 6, bidirectional=True).eval()
    x, lengths, _ = make_batch([4, 7, 2])
    out, (h, c) = rnn(x, lengths)
    for b, n in enumerate(lengths.tolist()):  # packed / masked batch == each sequence alone
        alone, (h1, c1) = rnn(x[b : b + 1, :n], None)
        torch.testing.assert_close(out[b, :n], alone[0], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(h[b], h1[0], rtol=1e-5, atol=1e-5)
        assert (out[b, n:] == 0).all()
    uni = make_lstm(kind, 5, 6).eval()
    seq, (h_seq, c_seq) = uni(x, None)
    state = (torch.zeros(3, 6), torch.zeros(3, 6))
    for t in range(x.shape[1]):
        h_t, state = uni.step(x[:, t], state)
        torch.testing.assert_close(h_t, seq[:, t], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(state[1], c_seq, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="bidirectional"):
        rnn.step(x[:, 0], (h, c))


def test_recurrent_dropout_only_in_training() -> None:
    torch.manual_seed(0)
    rnn = make_lstm("layer_norm", 5, 16, recurrent_dropout=0.5)
    x, _, _ = make_batch([6, 6])
    rnn.train()
    assert not torch.allclose(rnn(x)[0], rnn(x)[0])
    rnn.eval()
    torch.testing.assert_close(rnn(x)[0], rnn(x)[0])


def test_presets_and_cell_names() -> None:
    assert preset_kwargs("tiny", SketchClassifier) == {"enc_hidden": 16, "z_dim": 8, "conv_channels": 8}
    assert preset_kwargs("paper", DecoderOnlySketchRNN) == {"dec_hidden": 512, "n_mixtures": 20}
    assert preset_kwargs("small", SketchRNN) == {k: v for k, v in PRESETS["small"].items() if k != "conv_channels"}
    with pytest.raises(ConfigError, match="tiny, small, paper"):
        preset_kwargs("huge")
    with pytest.raises(ConfigError, match="lstm, layer_norm"):
        make_lstm("gru", 5, 8)
    assert SketchRNN().encoder.mu.out_features == 128  # paper defaults


def test_cpu_fast_paths_equal_the_packed_reference():
    """The unpacked encoder path and the fused decoder cell compute what nn.LSTM computes."""
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    from sketchrnn.model.lstm import make_lstm

    torch.manual_seed(0)
    enc = make_lstm("lstm", 5, 12, bidirectional=True)
    x = torch.randn(6, 40, 5, requires_grad=True)
    lengths = torch.tensor([1, 7, 39, 40, 12, 3])
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    _, (h_ref, _) = enc.lstm(packed)  # reference: torch's own packed LSTM, [2, B, H]
    ref = torch.cat([h_ref[0], h_ref[1]], -1)
    fast = enc.final_hidden(x, lengths)
    torch.testing.assert_close(fast, ref, rtol=1e-5, atol=1e-6)
    g_ref = torch.autograd.grad(ref.sum(), [x, *enc.parameters()])
    g_fast = torch.autograd.grad(enc.final_hidden(x, lengths).sum(), [x, *enc.parameters()])
    for a, b in zip(g_fast, g_ref):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)

    # Every step's output (the classifier pools them): torch's packed outputs, zero-padded.
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out_ref, _ = enc.lstm(packed)
    out_ref, _ = pad_packed_sequence(out_ref, batch_first=True, total_length=x.shape[1])
    weights = torch.randn_like(out_ref)  # a loss that reads every position, padding included
    torch.testing.assert_close(enc.outputs(x, lengths), out_ref, rtol=1e-5, atol=1e-6)
    g_ref = torch.autograd.grad((out_ref * weights).sum(), [x, *enc.parameters()])
    g_fast = torch.autograd.grad((enc.outputs(x, lengths) * weights).sum(), [x, *enc.parameters()])
    for a, b in zip(g_fast, g_ref):  # sums over every position: float32 rounding ~1e-6 absolute
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)

    dec = make_lstm("lstm", 5, 12)
    state = (torch.randn(6, 12), torch.randn(6, 12))
    h, (h2, c2) = dec.step(x[:, 0].detach(), state)
    out, (h_n, c_n) = dec.lstm(x[:, :1].detach(), (state[0][None], state[1][None]))
    torch.testing.assert_close(h, out[:, 0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(c2, c_n[0], rtol=1e-5, atol=1e-6)
