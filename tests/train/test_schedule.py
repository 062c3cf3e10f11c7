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


# -- schedules that follow train.steps ---------------------------------------------------------

def _draw_job(steps: int, train: dict | None = None, loss: dict | None = None, model: str = "sketch_rnn"):
    from sketchrnn.config import validate_config
    from sketchrnn.train.job import make_jobs

    config = validate_config({"draw": {"model": {"name": model}, "loss": loss or {},
                                       "train": {"steps": steps, **(train or {})}}})
    return make_jobs(config, ["pig"], "draw")[0]


@pytest.mark.parametrize("steps", [2, 137, 1000, 10_000])
def test_unset_lr_decay_reaches_the_floor_at_the_last_step(steps):
    from sketchrnn.train.schedule import lr_at

    train = _draw_job(steps).settings.train
    lr, floor = train.lr, train.min_lr
    assert lr_at(train, 1) == pytest.approx(lr)
    # closed form: (lr - min_lr) d^(steps - 1) = 1% (lr - min_lr)
    assert lr_at(train, steps) == pytest.approx(floor + 0.01 * (lr - floor), rel=1e-9)
    d = 0.01 ** (1 / max(steps - 1, 1))
    mid = steps // 2
    assert lr_at(train, mid) == pytest.approx((lr - floor) * d ** (mid - 1) + floor, rel=1e-9)


def test_cosine_ends_at_min_lr_on_the_last_step_like_torch():
    from sketchrnn.train.schedule import lr_at

    train = _draw_job(60, {"lr": 3e-3, "lr_schedule": "cosine"}).settings.train
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=59, eta_min=train.min_lr)
    for step in range(1, 61):
        assert lr_at(train, step) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-9), step
        opt.step()
        sched.step()
    assert lr_at(train, 60) == pytest.approx(train.min_lr, rel=1e-12)


def test_a_given_lr_decay_wins():
    from sketchrnn.train.schedule import lr_at

    train = _draw_job(1000, {"lr_decay": 0.9999}).settings.train
    assert lr_at(train, 1000) == pytest.approx((1e-3 - 1e-5) * 0.9999**999 + 1e-5, rel=1e-12)


def test_lr_decay_with_the_cosine_schedule_is_a_config_error():
    from sketchrnn.config import validate_config
    from sketchrnn.errors import ConfigError

    with pytest.raises(ConfigError, match="lr_decay 0.999 has no effect with lr_schedule 'cosine'"):
        validate_config({"predict": {"train": {"lr_decay": 0.999}}})  # the predict task is cosine


@pytest.mark.parametrize("steps,fraction", [(100, 0.5), (1000, 0.3), (1000, 0.5), (25_000, 0.4)])
def test_unset_kl_rate_reaches_95_percent_by_the_stated_fraction(steps, fraction):
    import math

    from sketchrnn.train.job import build_job_loss
    from sketchrnn.train.schedule import describe_schedule

    job = _draw_job(steps, loss={"kl_anneal_fraction": fraction})
    loss = build_job_loss(job)
    w_kl, eta_min = loss.kl_weight, loss.kl_weight_start
    by = math.ceil(fraction * steps)  # training step (1-based); the loss sees step - 1
    rate = (0.05 / (1 - eta_min)) ** (1 / (by - 1))  # Eq. 12 solved for R: (1 - eta_min) R^n = 0.05
    assert loss.kl_decay_rate == pytest.approx(rate, rel=1e-12)
    eq12 = lambda n: w_kl * (1 - (1 - eta_min) * rate**n)  # noqa: E731
    assert loss.weight(by - 1) == pytest.approx(eq12(by - 1)) == pytest.approx(0.95 * w_kl)
    assert loss.weight(by - 2) < 0.95 * w_kl - 1e-9
    assert f"KL 95% by step {by}" in describe_schedule(job)
    assert describe_schedule(job).startswith("lr 0.001->")


def test_a_given_kl_rate_wins_and_the_plan_states_when_it_gets_there():
    from sketchrnn.losses.kl import kl_annealed_step, kl_weight
    from sketchrnn.train.job import build_job_loss
    from sketchrnn.train.schedule import describe_schedule

    job = _draw_job(1000, loss={"kl_decay_rate": 0.99995})
    assert build_job_loss(job).kl_decay_rate == 0.99995
    step = next(s for s in range(1, 100_000) if kl_weight(s - 1, kl_decay_rate=0.99995) >= 0.95 * 0.5)
    assert kl_annealed_step(0.99995, 0.01) == step  # closed form == first step by search (~59,900)
    assert f"KL 95% by step {step}" in describe_schedule(job)
    assert "KL" not in describe_schedule(_draw_job(1000, model="sketch_rnn_uncond"))  # no latent
