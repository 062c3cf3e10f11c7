"""Mixture density, KL, reconstruction and the full losses against independent references."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torch import distributions as D

from sketchrnn.losses.classification import ClassificationLoss
from sketchrnn.losses.kl import kl_divergence, kl_floor, kl_weight
from sketchrnn.losses.reconstruction import reconstruction_loss
from sketchrnn.losses.sketch_rnn import SketchRNNLoss
from sketchrnn.model.mixture import MixtureParams, bounded, log_prob
from sketchrnn.model.presets import preset_kwargs
from sketchrnn.model.sketch_rnn import SketchRNN, SketchRNNOutput


def random_params(shape: tuple[int, ...], m: int, *, log_sigma=(-2.0, 1.0), rho_hat=2.0, seed=0,
                  dtype=torch.float64) -> MixtureParams:
    g = torch.Generator().manual_seed(seed)

    def u(lo, hi):
        return lo + (hi - lo) * torch.rand(*shape, m, generator=g, dtype=dtype)

    return MixtureParams(
        pi_logits=u(-3, 3), mu_x=u(-2, 2), mu_y=u(-2, 2), log_sigma_x=u(*log_sigma),
        log_sigma_y=u(*log_sigma), rho_hat=u(-rho_hat, rho_hat),
    )


def reference_log_prob(p: MixtureParams, dx: torch.Tensor, dy: torch.Tensor) -> torch.Tensor:
    """torch.distributions: a categorical mixture of full-covariance bivariate normals."""
    sx, sy, rho = p.log_sigma_x.exp(), p.log_sigma_y.exp(), torch.tanh(p.rho_hat)
    cov = torch.stack([torch.stack([sx * sx, rho * sx * sy], -1),
                       torch.stack([rho * sx * sy, sy * sy], -1)], -2)  # [..., M, 2, 2]
    mix = D.MixtureSameFamily(D.Categorical(logits=p.pi_logits),
                              D.MultivariateNormal(torch.stack([p.mu_x, p.mu_y], -1), covariance_matrix=cov))
    return mix.log_prob(torch.stack([dx, dy], -1))


def test_log_prob_matches_torch_distributions() -> None:
    p = random_params((6, 9), 5)
    g = torch.Generator().manual_seed(1)
    dx, dy = (2.0 * torch.randn(6, 9, generator=g, dtype=torch.float64) for _ in range(2))
    torch.testing.assert_close(log_prob(p, dx, dy), reference_log_prob(p, dx, dy), rtol=1e-10, atol=1e-10)


def test_log_prob_matches_at_moderately_extreme_points() -> None:
    # narrow (sigma ~ 7e-3), strongly correlated (|rho| up to 0.9993) components, far-off points
    p = random_params((4, 5), 3, log_sigma=(-5.0, -3.0), rho_hat=4.0, seed=2)
    g = torch.Generator().manual_seed(3)
    dx, dy = (20.0 * torch.randn(4, 5, generator=g, dtype=torch.float64) for _ in range(2))
    want = reference_log_prob(p, dx, dy)
    assert want.min() < -1e4  # really in the tails
    torch.testing.assert_close(log_prob(p, dx, dy), want, rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("rho_hat", [-50.0, 50.0, 0.0])
@pytest.mark.parametrize("log_sigma", [-50.0, 50.0, 0.0])
def test_log_prob_is_finite_for_extreme_inputs(log_sigma: float, rho_hat: float) -> None:
    m = 3
    p = MixtureParams(*(torch.zeros(2, m) for _ in range(6)))
    p = p._replace(log_sigma_x=torch.full((2, m), log_sigma), log_sigma_y=torch.full((2, m), log_sigma),
                   rho_hat=torch.full((2, m), rho_hat), mu_x=torch.tensor([[0.0, 1.0, -1.0]] * 2))
    p = p.map(lambda t: t.clone().requires_grad_())
    dx = torch.tensor([1e6, 0.0], requires_grad=True)
    dy = torch.tensor([-1e6, 0.0], requires_grad=True)
    lp = log_prob(p, dx, dy)
    assert torch.isfinite(lp).all()
    lp.sum().backward()
    for t in [*p, dx, dy]:
        assert torch.isfinite(t.grad).all()
    log_sx, log_sy, rho_hat = bounded(p.map(torch.Tensor.detach))  # what the sampler reads
    assert all(torch.isfinite(torch.exp(v)).all() for v in (log_sx, log_sy))
    assert (rho_hat.abs() <= 10.0).all()  # |rho| <= tanh(10): the documented bound


def test_kl_matches_torch_distributions() -> None:
    g = torch.Generator().manual_seed(0)
    mu, sigma_hat = torch.randn(5, 8, generator=g), torch.randn(5, 8, generator=g)
    want = D.kl_divergence(D.Normal(mu, torch.exp(sigma_hat / 2)), D.Normal(0.0, 1.0)).mean(-1)
    torch.testing.assert_close(kl_divergence(mu, sigma_hat), want)
    assert kl_divergence(torch.zeros(2, 3), torch.zeros(2, 3)).abs().max() == 0


def test_kl_weight_anneals() -> None:
    assert kl_weight(0) == pytest.approx(0.5 * (1 - 0.99))
    assert kl_weight(1) == pytest.approx(0.5 * (1 - 0.99 * 0.99995))
    assert kl_weight(1000) == pytest.approx(0.5 * (1 - 0.99 * 0.99995**1000))
    assert kl_weight(100000) == pytest.approx(0.5 * (1 - 0.99 * 0.99995**100000))
    assert kl_weight(100000) > 0.49  # it really reaches w_KL, not stuck at the start value
    assert kl_weight(10, kl_weight=1.0, kl_weight_start=1.0) == 1.0


def _output(b: int, t: int, m: int, *, mu=None, sigma_hat=None, seed=0) -> SketchRNNOutput:
    g = torch.Generator().manual_seed(seed)
    mixture = MixtureParams(*(torch.randn(b, t, m, generator=g) * 0.5 for _ in range(6)))
    return SketchRNNOutput(mixture, torch.randn(b, t, 3, generator=g), mu, sigma_hat, None)


def _strokes(lengths: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.zeros(len(lengths), max(lengths) + 1, 5)
    for b, n in enumerate(lengths):
        x[b, :n, :2] = torch.randn(n, 2)
        x[b, :n, 2 + torch.arange(n) % 2] = 1.0
        x[b, n:, 4] = 1.0
    return x, torch.tensor(lengths)


def test_kl_floor_in_the_loss() -> None:
    x, lengths = _strokes([3, 5])
    zeros = torch.zeros(2, 4)
    out = _output(2, 6, 2, mu=zeros, sigma_hat=zeros)  # KL = 0 < kl_min
    terms = SketchRNNLoss(kl_min=0.2)(out, x, lengths, step=1000)
    assert terms["kl"] == 0
    assert terms["kl_weight"] == pytest.approx(kl_weight(1000))
    torch.testing.assert_close(terms["loss"], terms["recon"] + kl_weight(1000) * 0.2)
    assert kl_floor(torch.tensor(0.5), 0.2) == 0.5


def test_reconstruction_masks_and_n_max() -> None:
    x, lengths = _strokes([3, 5])
    out = _output(2, 6, 2)
    base = reconstruction_loss(out.mixture, out.q_logits, x, lengths, n_max=10)
    # hand-computed: sums over t < length (offsets) and t <= length (pen), / n_max, batch mean
    lp = log_prob(out.mixture, x[..., 0], x[..., 1])
    ce = -F.log_softmax(out.q_logits, -1).gather(-1, x[..., 2:].argmax(-1, keepdim=True))[..., 0]
    want_off = -(lp[0, :3].sum() + lp[1, :5].sum()) / 10 / 2
    want_pen = (ce[0, :4].sum() + ce[1, :6].sum()) / 10 / 2
    torch.testing.assert_close(base["offsets"], want_off)
    torch.testing.assert_close(base["pen"], want_pen)
    # changing what lies beyond the masks changes nothing; at the masks' edges it does
    t = torch.arange(x.shape[1])
    beyond_offsets = (t >= lengths[:, None]).unsqueeze(-1)  # [B, T, 1]
    beyond_pen = (t > lengths[:, None]).unsqueeze(-1)
    mix = out.mixture.map(lambda f: torch.where(beyond_offsets, f + 7.0, f))
    q = torch.where(beyond_pen, torch.full_like(out.q_logits, 100.0), out.q_logits)
    masked = reconstruction_loss(mix, q, x, lengths, n_max=10)
    torch.testing.assert_close(masked["offsets"], base["offsets"])
    torch.testing.assert_close(masked["pen"], base["pen"])
    edge = (t == lengths[:, None] - 1).unsqueeze(-1)  # the last real point counts in L_s
    mix = out.mixture.map(lambda f: torch.where(edge, f + 7.0, f))
    assert reconstruction_loss(mix, out.q_logits, x, lengths, n_max=10)["offsets"] != base["offsets"]
    q = out.q_logits.clone()
    q[0, 3] = 100.0  # the first end token counts in the pen loss
    assert reconstruction_loss(out.mixture, q, x, lengths, n_max=10)["pen"] != base["pen"]
    doubled = reconstruction_loss(out.mixture, out.q_logits, x, lengths, n_max=20)
    torch.testing.assert_close(doubled["offsets"], base["offsets"] / 2)
    torch.testing.assert_close(doubled["pen"], base["pen"] / 2)


def test_loss_terms_batch_object_and_decoder_only() -> None:
    x, lengths = _strokes([3, 5])
    g = torch.Generator().manual_seed(0)
    mu, sigma_hat = torch.randn(2, 4, generator=g), torch.randn(2, 4, generator=g)
    loss = SketchRNNLoss(n_max=8, kl_min=0.0)
    terms = loss(_output(2, 6, 2, mu=mu, sigma_hat=sigma_hat), SimpleNamespace(x=x, lengths=lengths), step=7)
    assert set(terms) == {"loss", "recon", "offsets", "pen", "kl", "kl_weight"}
    torch.testing.assert_close(terms["kl"], kl_divergence(mu, sigma_hat).mean())
    torch.testing.assert_close(terms["recon"], terms["offsets"] + terms["pen"])
    torch.testing.assert_close(terms["loss"], terms["recon"] + loss.weight(7) * terms["kl"])
    uncond = loss(_output(2, 6, 2), x, lengths, 7)
    assert uncond["kl"] == 0 and torch.equal(uncond["loss"], uncond["recon"])


def test_classification_loss() -> None:
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 3.0]])
    labels = torch.tensor([0, 2, 2])
    terms = ClassificationLoss()(logits, labels)
    torch.testing.assert_close(terms["loss"], F.cross_entropy(logits, labels))
    assert terms["accuracy"] == pytest.approx(2 / 3)
    smooth = ClassificationLoss(label_smoothing=0.1)(logits, SimpleNamespace(labels=labels))
    torch.testing.assert_close(smooth["loss"], F.cross_entropy(logits, labels, label_smoothing=0.1))


def test_loss_falls_when_overfitting_one_batch() -> None:
    torch.manual_seed(0)
    model = SketchRNN(**preset_kwargs("tiny", SketchRNN), recurrent_dropout=0.0)
    x, lengths = _strokes([6, 9, 4, 8])
    loss_fn = SketchRNNLoss(n_max=10)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for step in range(100):
        terms = loss_fn(model(x, lengths), x, lengths, step)
        opt.zero_grad()
        terms["loss"].backward()
        opt.step()
        losses.append(terms["loss"].item())
    assert all(math.isfinite(v) for v in losses)
    assert sum(losses[-10:]) / 10 < 0.5 * sum(losses[:10]) / 10
