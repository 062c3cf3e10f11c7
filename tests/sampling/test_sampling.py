"""Batched sampling on tiny random-init models: behaviour, RNG design, completion, interpolation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from sketchrnn import sampling
from sketchrnn.errors import InputError
from sketchrnn.model.mixture import MixtureParams
from sketchrnn.model.presets import preset_kwargs
from sketchrnn.model.sketch_rnn import DecoderOnlySketchRNN, SketchRNN


class Steered(nn.Module):
    """Delegates to a real model, shifting the end-of-sketch logit (random init ends sketches
    after ~3 points; tests want longer ones) and counting decoder steps."""

    def __init__(self, inner: nn.Module, p3_shift: float = -3.0) -> None:
        super().__init__()
        self.inner, self.p3_shift, self.steps = inner, p3_shift, 0
        self.conditional, self.z_dim = inner.conditional, inner.z_dim

    def decode_step(self, inputs, z, state):
        self.steps += 1
        mixture, q_logits, state = self.inner.decode_step(inputs, z, state)
        return mixture, q_logits + torch.tensor([0.0, 0.0, self.p3_shift]), state

    def __getattr__(self, name):  # encode, initial_state, start_token, decode_sequence
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.inner, name)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models gain nothing from intra-op threads, and on a busy 2-core machine OpenMP
    barriers make each nn.LSTM step ~100x slower; restore the setting afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny(cls, cell: str = "lstm", seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return cls(**preset_kwargs("tiny", cls), cell=cell)


@pytest.fixture(scope="module", params=[SketchRNN, DecoderOnlySketchRNN], ids=["vae", "uncond"])
def model(request):
    return Steered(tiny(request.param))


@pytest.fixture(scope="module")
def vae():
    return Steered(tiny(SketchRNN, cell="layer_norm", seed=1))


def same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return len(a) == len(b) and all(
        x.shape == y.shape and np.array_equal(x[:, 2], y[:, 2]) and np.allclose(x, y, atol=1e-5)
        for x, y in zip(a, b))


def test_shapes_and_every_sketch_ends_with_the_pen_lifted(model):
    sketches = sampling.sample(model, 16, max_len=25, seed=0)
    assert len(sketches) == 16 and max(len(s) for s in sketches) > 5
    for s in sketches:
        assert s.dtype == np.float32 and s.ndim == 2 and s.shape[1] == 3 and len(s) <= 25
        assert set(np.unique(s[:, 2])) <= {0.0, 1.0} and np.isfinite(s).all()
        if len(s):
            assert s[-1, 2] == 1.0


def test_max_len_is_respected_when_no_sketch_ends(model):
    never_ends = Steered(model.inner, p3_shift=-1e4)
    sketches = sampling.sample(never_ends, 4, max_len=12, seed=0)
    assert [len(s) for s in sketches] == [12] * 4 and never_ends.steps == 12


def test_loop_stops_as_soon_as_all_sketches_ended(model):
    always_ends = Steered(model.inner, p3_shift=1e4)
    sketches = sampling.sample(always_ends, 8, max_len=50, seed=0)
    assert [s.shape for s in sketches] == [(0, 3)] * 8 and always_ends.steps == 1


def test_seed_gives_identical_output_and_other_seeds_differ(model):
    a = sampling.sample(model, 6, max_len=30, seed=3)
    assert same(a, sampling.sample(model, 6, max_len=30, seed=3))
    assert not same(a, sampling.sample(model, 6, max_len=30, seed=4))


def test_batched_equals_one_at_a_time_on_one_generator_stream(model):
    """The RNG design: each sketch's draws are one block, taken in sketch order."""
    kwargs = {"max_len": 30, "temperature": 0.65}  # varied enough that untrained sketches end apart
    batched = sampling.sample(model, 12, generator=torch.Generator().manual_seed(7), **kwargs)
    g = torch.Generator().manual_seed(7)
    singles = [sampling.sample(model, 1, generator=g, **kwargs)[0] for _ in range(12)]
    assert same(batched, singles)
    assert len({len(s) for s in batched}) > 2  # they did end at different steps


def test_greedy_is_deterministic_and_needs_no_seed(model):
    z = torch.zeros(1, model.z_dim) if model.conditional else None
    a = sampling.sample(model, 3, max_len=20, greedy=True, z=z)
    assert same(a, sampling.sample(model, 3, max_len=20, greedy=True, z=z, seed=123))
    assert same(a[:1], a[1:2]) and same(a[:1], a[2:])  # same z, no noise: the same sketch


def test_100_sketches_together_take_far_fewer_decoder_steps():
    model = Steered(tiny(DecoderOnlySketchRNN))
    together = sampling.sample(model, 100, max_len=25, seed=0)
    batched_steps = model.steps
    model.steps = 0
    for i in range(100):
        sampling.sample(model, 1, max_len=25, seed=i)
    # one step per point of the longest sketch, plus the step that drew its end (unless cut)
    assert batched_steps == min(25, max(len(s) for s in together) + 1)
    assert model.steps > 10 * batched_steps


def test_completion_keeps_the_prefix(model):
    prefix = sampling.sample(Steered(model.inner, -1e4), 1, max_len=6, seed=1)[0]
    prefix[-1, 2] = 0.0
    completed = sampling.sample(model, 5, max_len=20, seed=0, prime=[prefix])
    as_tensors = sampling.as_batch([prefix])  # the (x [B, T, 5], lengths [B]) form
    assert same(completed, sampling.sample(model, 5, max_len=20, seed=0, prime=as_tensors))
    for s in completed:
        assert len(s) >= len(prefix) and np.array_equal(s[: len(prefix) - 1], prefix[:-1])
        assert np.array_equal(s[len(prefix) - 1, :2], prefix[-1, :2])


def test_priming_continues_the_models_own_sketch(model):
    """Greedy decoding primed with the start of a greedy sketch must reproduce the rest of it,
    for one prime (one decode_sequence call) and mixed-length primes (masked steps) alike."""
    endless = Steered(model.inner, p3_shift=-1e4)
    z = torch.randn(1, model.z_dim, generator=torch.Generator().manual_seed(0)) \
        if model.conditional else None
    full = sampling.sample(endless, 1, max_len=16, greedy=True, z=z)[0]  # [16, 3]
    cut = [0, 1, 5, 11]
    primes = [full[:k] for k in cut]
    for k, prime in zip(cut, primes):
        alone = sampling.sample(endless, 1, max_len=16 - k, greedy=True, z=z, prime=[prime])[0]
        assert same([alone], [full])
    together = sampling.sample(endless, len(cut), max_len=16, greedy=True, z=z, prime=primes)
    assert same([s[:15] for s in together], [full[:15]] * len(cut))


def test_conditional_sampling_decodes_the_encoded_sketch(vae):
    sketches = sampling.sample(vae, 3, max_len=20, seed=0)
    z = sampling.encode(vae, sketches)
    assert z.shape == (3, vae.z_dim)
    again = sampling.reconstruct(vae, sketches, max_len=20, seed=5)
    assert same(again, sampling.sample(vae, 3, max_len=20, seed=5, z=z))
    z_sampled = sampling.encode(vae, sketches, sample_z=True, generator=torch.Generator())
    assert not torch.allclose(z, z_sampled)


def test_interpolation_endpoints(vae):
    za, zb = torch.randn(2, 8, generator=torch.Generator().manual_seed(0))
    for method in ("slerp", "lerp"):
        path = sampling.interpolate_z(za, zb, 5, method)
        assert path.shape == (5, 8)
        assert torch.allclose(path[0], za, atol=1e-6) and torch.allclose(path[-1], zb, atol=1e-6)
    e1, e2 = torch.eye(2)
    mid = sampling.interpolate_z(e1, e2, 3, "slerp")[1]  # on the unit circle, not the chord
    assert torch.allclose(mid, torch.tensor([1.0, 1.0]) / math.sqrt(2), atol=1e-6)
    a, b = sampling.sample(vae, 2, max_len=15, seed=2)
    frames = sampling.interpolate(vae, a, b, steps=4, greedy=True, max_len=15)
    assert len(frames) == 4
    pairs = [sampling.as_batch([s]) for s in (a, b)]  # the (x [1, T, 5], lengths [1]) form
    assert same(frames, sampling.interpolate(vae, *pairs, steps=4, greedy=True, max_len=15))
    ends = sampling.sample(vae, 2, z=sampling.encode(vae, [a, b]), greedy=True, max_len=15)
    assert same([frames[0], frames[-1]], ends)


def test_decoder_only_model_is_unconditional():
    model = tiny(DecoderOnlySketchRNN)
    assert len(sampling.sample(model, 4, seed=0)) == 4
    with pytest.raises(InputError, match="unconditional"):
        sampling.sample(model, 1, z=torch.zeros(1, 8))
    with pytest.raises(InputError, match="has no encoder"):
        sampling.encode(model, [np.zeros((3, 3))])


def test_model_mode_is_restored_and_sampling_runs_in_eval():
    model = tiny(SketchRNN, cell="layer_norm")  # recurrent dropout is on in training mode
    model.train()
    a = sampling.sample(model, 4, max_len=20, seed=0)
    assert model.training and same(a, sampling.sample(model, 4, max_len=20, seed=0))


def test_invalid_arguments_are_reported_together(model):
    with pytest.raises(InputError, match="n=0.*max_len=0.*temperature=0"):
        sampling.sample(model, 0, max_len=0, temperature=0)
    with pytest.raises(InputError, match="prime has 2 sketches for n=3"):
        sampling.sample(model, 3, prime=[np.zeros((2, 3))] * 2)


def test_draw_step_matches_the_temperature_adjusted_distribution():
    """Independent reference: softmax(logits / T) frequencies and the bivariate normal with
    covariance T * [[sx^2, rho sx sy], [rho sx sy, sy^2]] (Eq. 9; sigma^2 scaled by T), for the
    paper's rule (the magenta-js rule is checked against the real library in tests/interop)."""
    n, temp = 50_000, 0.5
    gen = torch.Generator().manual_seed(0)
    pi_logits = torch.tensor([1.0, 0.0, -1.0])
    q_logits = torch.tensor([0.5, 0.0, -0.5])
    rows = lambda v: torch.tensor(v).expand(n, 3)  # noqa: E731
    mixture = MixtureParams(rows(pi_logits.tolist()), rows([1.0, -20.0, 20.0]), rows([0.5, 3.0, 0.0]),
                            rows([math.log(0.5), 0.0, 0.0]), rows([math.log(2.0), 0.0, 0.0]),
                            rows([math.atanh(0.6), 0.0, 0.0]))
    u, eps = torch.rand(n, 2, generator=gen), torch.randn(n, 2, generator=gen)
    dx, dy, pen = sampling.draw_step(mixture, q_logits.expand(n, 3), u, eps, temp, style="paper")
    freq = torch.bincount(pen, minlength=3).float() / n
    assert torch.allclose(freq, torch.softmax(q_logits / temp, 0), atol=0.01)
    nearest = (dx[:, None] - torch.tensor([1.0, -20.0, 20.0])).abs().argmin(1)  # far-apart means
    freq = torch.bincount(nearest, minlength=3).float() / n
    assert torch.allclose(freq, torch.softmax(pi_logits / temp, 0), atol=0.01)
    sx, sy, rho = 0.5, 2.0, 0.6
    ref = torch.distributions.MultivariateNormal(
        torch.tensor([1.0, 0.5]),
        temp * torch.tensor([[sx * sx, rho * sx * sy], [rho * sx * sy, sy * sy]]))
    picked = torch.stack([dx, dy], 1)[nearest == 0]
    assert torch.allclose(picked.mean(0), ref.mean, atol=0.02)
    assert torch.allclose(torch.cov(picked.T), ref.covariance_matrix, rtol=0.03, atol=0.01)
    gx, gy, gpen = sampling.draw_step(mixture, q_logits.expand(n, 3), None, None, temp, greedy=True)
    assert (gx == 1.0).all() and (gy == 0.5).all() and (gpen == 0).all()
