"""The plugin's model and loss against the core's interfaces and against written-out references.

``hyper_sketch_rnn`` must be a drop-in draw model: built by the registry from flat kwargs,
stepping exactly like teacher forcing (the sampler depends on it), checkpointed and sampled by
the core. The HyperLSTM cell is checked against magenta's equations spelled out per gate for
one sketch; the cyclical schedule against Fu et al.'s formula evaluated by hand.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.model.teacher_forcing import assert_steps_match_teacher_forcing

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("sketchrnn_shapes") is None,
    reason="sketchrnn-shapes is not installed (pip install ./plugins/sketchrnn-shapes)",
)

TINY = dict(enc_hidden=16, dec_hidden=32, z_dim=8, n_mixtures=3)


def _batch(lengths: list[int], seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(len(lengths), max(lengths) + 1, 5)
    for b, n in enumerate(lengths):
        x[b, :n, :2] = torch.randn(n, 2, generator=g)
        x[b, :n, 2:] = F.one_hot((torch.rand(n, generator=g) < 0.3).long(), 3).float()
        x[b, n:, 4] = 1.0
    return x, torch.tensor(lengths)


def _model(**extra):
    from sketchrnn.registry import build_model, reset_registry

    reset_registry()
    torch.manual_seed(0)
    # Its options plus the task's n_categories (which it does not take), as the training loop passes them.
    return build_model("hyper_sketch_rnn", **TINY, cell="layer_norm", recurrent_dropout=0.1,
                       n_categories=3, **extra)


def test_satisfies_the_draw_model_interface() -> None:
    from sketchrnn.interfaces import ConditionalDrawModel, DrawLoss, missing_members
    from sketchrnn.registry import build_loss

    model = _model()
    assert model.task == "draw" and model.conditional and model.z_dim == 8
    assert not missing_members(model, ConditionalDrawModel)
    loss = build_loss("sketch_rnn_cyclical", n_max=50, kl_weight=0.5, kl_weight_start=0.01,
                      kl_decay_rate=0.99, kl_min=0.2)
    assert not missing_members(loss, DrawLoss) and loss.cycle_steps == 100  # 1 / (1 - R) when unset
    assert build_loss("sketch_rnn_cyclical", n_max=50, cycle_steps=30).cycle_steps == 30


def test_hyper_sizes_are_options_and_default_to_sizes_derived_from_the_decoder() -> None:
    from sketchrnn.errors import PluginError

    derived = _model().cell  # dec_hidden 32: hyper 16, embedding 4
    assert (derived.hyper_hidden, derived.embedding) == (16, 4)
    chosen = _model(hyper_hidden=24, hyper_embedding=6).cell
    assert (chosen.hyper_hidden, chosen.embedding) == (24, 6)
    assert chosen.embed_scale.weight.shape == (2 * 4 * 6, 24)
    with pytest.raises(PluginError, match="hyper_hiden: unknown option .did you mean 'hyper_hidden'"):
        _model(hyper_hiden=24)


def test_every_parameter_learns_and_decode_step_matches_teacher_forcing() -> None:
    from sketchrnn.registry import build_loss

    model = _model().train()
    x, lengths = _batch([5, 9, 3, 7])
    out = model(x, lengths)
    assert out.q_logits.shape == (4, 10, 3) and all(f.shape == (4, 10, 3) for f in out.mixture)
    terms = build_loss("sketch_rnn_cyclical", n_max=20, kl_min=0.0)(out, x, lengths, 7)
    terms["loss"].backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, f"{name} has an all-zero gradient"

    model.eval()
    out = model(x, lengths)
    torch.testing.assert_close(out.z, out.mu)
    assert_steps_match_teacher_forcing(model, x, out)


def test_hyper_lstm_cell_matches_the_equations_written_out() -> None:
    from sketchrnn_shapes.hyper_lstm import HyperLSTMCell

    torch.manual_seed(0)
    cell = HyperLSTMCell(5, 6, hyper_hidden=4, hyper_embedding=3).eval()
    with torch.no_grad():  # move every parameter off its structured init
        for p in cell.parameters():
            p.add_(0.2 * torch.randn_like(p))
    xs, H, E = torch.randn(7, 1, 5), 6, 3

    def norm(v, gain, shift):
        return (v - v.mean()) / torch.sqrt(v.var(unbiased=False) + 1e-3) * gain + shift

    h, c = torch.zeros(H), torch.zeros(H)
    hh, hc = torch.zeros(4), torch.zeros(4)
    state = (h[None], c[None], hh[None], hc[None])  # [1, *] each
    hyper = cell.hyper
    for x in xs:
        state = cell(x, state)
        x = x[0]
        # the hyper cell: the core's LN-LSTM on [x, h]
        g = hyper.weight_x @ torch.cat([x, h]) + hyper.weight_h @ hh
        hi, hj, hf, ho = (norm(g[k * 4:(k + 1) * 4], hyper.gate_gain[k], hyper.gate_shift[k]) for k in range(4))
        hc = hc * torch.sigmoid(hf + 1.0) + torch.sigmoid(hi) * torch.tanh(hj)
        hh = torch.tanh(norm(hc, hyper.cell_norm.weight, hyper.cell_norm.bias)) * torch.sigmoid(ho)
        # the main cell: per gate k, rows of W x and W h scaled by d = W_d z(h_hyper), plus biases
        zs = (cell.embed_scale.weight @ hh + cell.embed_scale.bias).view(2, 4, E)
        zb = (cell.embed_bias.weight @ hh).view(4, E)
        gates = []
        for k in range(4):
            rows = slice(k * H, (k + 1) * H)
            d_x, d_h = zs[0, k] @ cell.project_scale[0, k], zs[1, k] @ cell.project_scale[1, k]
            pre = (d_x * (cell.weight_x[rows] @ x) + d_h * (cell.weight_h[rows] @ h)
                   + zb[k] @ cell.project_bias[k] + cell.bias[rows])
            gates.append(norm(pre, cell.gate_gain[k], cell.gate_shift[k]))
        i, j, f, o = gates
        c = c * torch.sigmoid(f + 1.0) + torch.sigmoid(i) * torch.tanh(j)
        h = torch.tanh(norm(c, cell.cell_norm.weight, cell.cell_norm.bias)) * torch.sigmoid(o)
        for got, want in zip(state, (h, c, hh, hc)):
            torch.testing.assert_close(got[0], want, rtol=1e-5, atol=1e-5)


def test_checkpoint_round_trip_and_core_sampling(tmp_path) -> None:
    from sketchrnn.config import DataConfig, LossConfig
    from sketchrnn.checkpoint import CheckpointMeta, load_checkpoint, save_checkpoint
    from sketchrnn.sampling import sample

    model = _model()
    kwargs = {**TINY, "cell": "layer_norm", "recurrent_dropout": 0.1}
    meta = CheckpointMeta(model="hyper_sketch_rnn", model_kwargs=kwargs, task="draw",
                          categories=["shape-circle"], scale=20.0, max_seq_len=40,
                          data=DataConfig(max_seq_len=40), loss=LossConfig())
    save_checkpoint(tmp_path / "ckpt", model, meta)
    loaded, meta2, _ = load_checkpoint(tmp_path / "ckpt")
    assert type(loaded).__name__ == "HyperSketchRNN" and meta2.model == "hyper_sketch_rnn"
    for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):
        torch.testing.assert_close(a, b, msg=name)
    one = sample(loaded, 3, max_len=40, seed=5)
    again = sample(loaded, 3, max_len=40, seed=5)
    assert len(one) == 3 and all(s.shape[1] == 3 and len(s) <= 40 for s in one)
    for a, b in zip(one, again):
        np.testing.assert_array_equal(a, b)


def test_cyclical_schedule_follows_fu_et_al() -> None:
    from sketchrnn_shapes.loss import CyclicalKLLoss

    loss = CyclicalKLLoss(n_max=10, kl_weight=0.5, kl_weight_start=0.01, cycle_steps=100, ramp_fraction=0.5)
    # w (eta_min + (1 - eta_min) min(tau / R, 1)), tau = (step mod 100) / 100, by hand:
    expected = {0: 0.005, 25: 0.5 * (0.01 + 0.99 * 0.5), 50: 0.5, 99: 0.5, 100: 0.005, 125: 0.2525}
    for step, weight in expected.items():
        assert loss.weight(step) == pytest.approx(weight), step
    assert CyclicalKLLoss(kl_decay_rate=0.99995).cycle_steps == 20_000  # the paper's time constant
    with pytest.raises(ValueError, match="ramp_fraction"):
        CyclicalKLLoss(ramp_fraction=0.0)


def test_cyclical_loss_is_the_core_loss_with_its_own_weight() -> None:
    from sketchrnn.losses.sketch_rnn import SketchRNNLoss
    from sketchrnn_shapes.loss import CyclicalKLLoss

    model = _model().train()
    x, lengths = _batch([6, 4])
    out = model(x, lengths)
    ours = CyclicalKLLoss(n_max=12, kl_min=0.01, cycle_steps=10)(out, x, lengths, 3)
    core = SketchRNNLoss(n_max=12, kl_min=0.01)(out, x, lengths, 3)
    torch.testing.assert_close(ours["recon"], core["recon"])
    torch.testing.assert_close(ours["kl"], core["kl"])
    weight = 0.5 * (0.01 + 0.99 * 0.6)  # tau = 0.3 of the cycle, ramp over the first half
    torch.testing.assert_close(ours["kl_weight"], torch.tensor(weight))
    torch.testing.assert_close(ours["loss"], core["recon"] + weight * torch.clamp(core["kl"], min=0.01))
