"""DropConnect on the fused LSTM's recurrent weights (``recurrent_dropout`` with ``cell="lstm"``).

The reference is torch's own ``nn.LSTM`` whose ``weight_hh`` is replaced by an explicitly masked
copy. The mask a training call drew is read back from the gradient: ``d(w * m / (1 - p)) / dw``
is zero exactly where ``m`` is, so the check does not depend on how the mask was drawn.
"""

from __future__ import annotations

import copy
import warnings

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from sketchrnn.config import validate_config
from sketchrnn.errors import ConfigError
from sketchrnn.model.lstm import PlainLSTM, make_lstm
from sketchrnn.model.sketch_rnn import SketchRNN

P = 0.5
SUFFIXES = ("", "_reverse")


def _masked_reference(rnn: PlainLSTM) -> torch.nn.LSTM:
    """``rnn``'s nn.LSTM with each ``weight_hh`` masked where its gradient is zero, scaled 1/(1-p)."""
    ref = copy.deepcopy(rnn.lstm)
    with torch.no_grad():
        for suffix in SUFFIXES[: rnn.num_directions]:
            raw = getattr(rnn.lstm, f"weight_hh_l0{suffix}")
            kept = (raw.grad != 0).to(raw.dtype)
            getattr(ref, f"weight_hh_l0{suffix}").copy_(raw * kept / (1 - P))
    return ref


def _dropped_share(rnn: PlainLSTM) -> list[float]:
    return [float((getattr(rnn.lstm, f"weight_hh_l0{s}").grad == 0).float().mean())
            for s in SUFFIXES[: rnn.num_directions]]


def test_decoder_call_equals_an_explicitly_masked_lstm() -> None:
    torch.manual_seed(0)
    rnn = make_lstm("lstm", 5, 32, recurrent_dropout=P).train()
    x = torch.randn(3, 12, 5)
    state = (torch.randn(3, 32), torch.randn(3, 32))
    out, (h, c) = rnn(x, None, state)
    (out * torch.randn_like(out)).sum().backward()
    share = _dropped_share(rnn)[0]
    assert abs(share - P) < 0.06, share  # 4096 entries: 6 binomial standard deviations
    ref_out, (ref_h, ref_c) = _masked_reference(rnn)(x, (state[0][None], state[1][None]))
    torch.testing.assert_close(out, ref_out, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(c, ref_c[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("path", ["final_hidden", "outputs", "packed"])
def test_bidirectional_paths_equal_an_explicitly_masked_packed_lstm(path: str) -> None:
    torch.manual_seed(1)
    rnn = make_lstm("lstm", 5, 16, recurrent_dropout=P, bidirectional=True).train()
    x = torch.randn(4, 20, 5)
    lengths = torch.tensor([20, 3, 11, 1])
    if path == "final_hidden":
        got = rnn.final_hidden(x, lengths)
    elif path == "outputs":
        got = rnn.outputs(x, lengths)
    else:
        got = rnn(x, lengths)[0]
    (got * torch.randn_like(got)).sum().backward()
    assert all(abs(s - P) < 0.08 for s in _dropped_share(rnn))  # 1024 entries per direction
    ref = _masked_reference(rnn)
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    ref_out, (ref_h, _) = ref(packed)
    if path == "final_hidden":
        want = torch.cat([ref_h[0], ref_h[1]], -1)
    else:
        want, _ = pad_packed_sequence(ref_out, batch_first=True, total_length=x.shape[1])
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_one_mask_per_call_shared_by_the_batch_and_new_at_each_call() -> None:
    torch.manual_seed(2)
    rnn = make_lstm("lstm", 5, 16, recurrent_dropout=P).train()
    x = torch.randn(1, 15, 5).expand(3, -1, -1)  # three copies of one sequence
    first, second = rnn(x)[0], rnn(x)[0]
    torch.testing.assert_close(first[0], first[2], rtol=0, atol=0)  # same mask for every row
    assert not torch.allclose(first, second)  # a new mask at the next call


def test_eval_is_identical_to_no_dropout() -> None:
    torch.manual_seed(3)
    dropping = make_lstm("lstm", 5, 16, recurrent_dropout=P, bidirectional=True)
    plain = make_lstm("lstm", 5, 16, recurrent_dropout=0.0, bidirectional=True)
    plain.load_state_dict(dropping.state_dict())  # same parameter names as before the change
    dropping.eval()
    x, lengths = torch.randn(3, 9, 5), torch.tensor([9, 4, 2])
    torch.testing.assert_close(dropping.final_hidden(x, lengths), plain.train().final_hidden(x, lengths),
                               rtol=0, atol=0)
    uni, uni_plain = make_lstm("lstm", 5, 8, recurrent_dropout=P).eval(), make_lstm("lstm", 5, 8)
    uni_plain.load_state_dict(uni.state_dict())
    state = (torch.zeros(3, 8), torch.zeros(3, 8))
    torch.testing.assert_close(uni.step(x[:, 0], state)[0], uni_plain.step(x[:, 0], state)[0], rtol=0, atol=0)
    torch.testing.assert_close(uni(x)[0], uni_plain.lstm(x)[0], rtol=1e-6, atol=1e-7)


def test_every_parameter_of_a_dropping_vae_gets_a_gradient_and_no_warning() -> None:
    torch.manual_seed(4)
    model = SketchRNN(enc_hidden=8, dec_hidden=16, z_dim=4, n_mixtures=2, recurrent_dropout=P).train()
    x = torch.randn(3, 10, 5)
    lengths = torch.tensor([9, 5, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = model(x, lengths)
        (out.q_logits.sum() + out.mixture.mu_x.sum() + out.mu.sum() + out.sigma_hat.sum()).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_functional_call_uses_the_substituted_weights() -> None:
    torch.manual_seed(5)
    rnn = make_lstm("lstm", 5, 8, recurrent_dropout=P).eval()
    doubled = {name: 2 * p.detach() for name, p in rnn.named_parameters()}
    x = torch.randn(2, 6, 5)
    got = torch.func.functional_call(rnn, doubled, (x,))[0]
    twin = make_lstm("lstm", 5, 8)
    twin.load_state_dict(doubled)
    torch.testing.assert_close(got, twin.lstm(x)[0], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("value", [-0.1, 1.0, 1.5])
def test_a_drop_probability_outside_0_1_is_a_config_error(value: float) -> None:
    with pytest.raises(ConfigError, match="recurrent_dropout"):
        make_lstm("lstm", 5, 8, recurrent_dropout=value)
    with pytest.raises(ConfigError, match="recurrent_dropout"):
        validate_config({"draw": {"model": {"recurrent_dropout": value}}})


@pytest.mark.parametrize("training", [False, True])
def test_dynamo_traces_the_fused_calls_with_and_without_the_mask(training: bool) -> None:
    """`train.compile` traces the model (runtime.py): the fused calls must trace, masks included,
    and give what eager gives for the same random draws."""
    torch.manual_seed(6)
    model = SketchRNN(enc_hidden=8, dec_hidden=16, z_dim=4, n_mixtures=2, recurrent_dropout=P).train(training)
    x, lengths = torch.randn(3, 10, 5), torch.tensor([9, 5, 2])

    def loss(fn):
        torch.manual_seed(7)
        out = fn(x, lengths)
        total = out.q_logits.sum() + out.mixture.mu_x.sum() + out.mu.sum() + out.sigma_hat.sum()
        grads = torch.autograd.grad(total, list(model.parameters()))
        return total.detach(), grads

    compiled = torch.compile(model, backend="aot_eager", dynamic=False)
    (eager_total, eager_grads), (traced_total, traced_grads) = loss(model), loss(compiled)
    torch.testing.assert_close(traced_total, eager_total, rtol=1e-5, atol=1e-5)
    for a, b in zip(traced_grads, eager_grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
