"""Learning-rate schedules and the optimiser choice of the training loop."""

from __future__ import annotations

import pytest
import torch

from sketchrnn.train.loop import make_optimizer
from sketchrnn.train.schedule import learning_rate


def test_cosine_matches_torch_cosine_annealing():
    """Independent reference: torch's CosineAnnealingLR over the same number of steps."""
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=50, eta_min=1e-5)
    for step in range(50):
        ours = learning_rate(step, 3e-3, 0.9999, 1e-5, schedule="cosine", total_steps=50)
        assert ours == pytest.approx(opt.param_groups[0]["lr"], rel=1e-9), step
        opt.step()
        sched.step()
    assert learning_rate(50, 3e-3, 0.9999, 1e-5, schedule="cosine", total_steps=50) == pytest.approx(1e-5)
    assert learning_rate(80, 3e-3, 0.9999, 1e-5, schedule="cosine", total_steps=50) == pytest.approx(1e-5)


def test_exponential_is_magentas_decay():
    assert learning_rate(0, 1e-3, 0.9999, 1e-5) == pytest.approx(1e-3)
    assert learning_rate(1000, 1e-3, 0.9999, 1e-5) == pytest.approx((1e-3 - 1e-5) * 0.9999**1000 + 1e-5)


def test_weight_decay_is_decoupled_and_only_when_asked():
    w = torch.nn.Parameter(torch.ones(3))
    assert type(make_optimizer([w], 1e-3, 0.0)) is torch.optim.Adam
    opt = make_optimizer([w], 0.1, 0.5)
    w.grad = torch.zeros(3)  # no gradient: only the decoupled decay moves the weight
    opt.step()
    torch.testing.assert_close(w.detach(), torch.full((3,), 1 - 0.1 * 0.5))
