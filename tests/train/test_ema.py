"""The average of the weights (`train.ema_decay`): its update rule against torch's own averaging
(`AveragedModel` with the same warm-up), and tiny real jobs: what is saved, validated and resumed."""

from __future__ import annotations

import json
from pathlib import Path
from unittest import mock

import pytest
import torch
from safetensors.torch import load_file

from sketchrnn.config import validate_config
from sketchrnn.errors import CheckpointError, ConfigError
from sketchrnn.train import artifacts, loop
from sketchrnn.train.ema import WeightEMA, decay_at, start_ema
from sketchrnn.train.job import build_job_loss, load_job_data, make_jobs
from sketchrnn.train.schedule import describe_schedule
from sketchrnn.train.tasks import DrawTask

BASE_KEYS = {"optimizer", "step", "best", "bad_evals"}  # train_state without an average


def _warmup(decay: float, t: int) -> float:
    """TensorFlow ExponentialMovingAverage's decay with num_updates = t, written out here."""
    return min(decay, (1 + t) / (10 + t))


# --- the update rule ---------------------------------------------------------------------------

def test_decay_warms_up_then_stays_at_the_configured_value():
    assert decay_at(0.999, 0) == pytest.approx(0.1)  # first update: 0.1 ema + 0.9 w
    assert decay_at(0.999, 1) == pytest.approx(2 / 11)
    assert decay_at(0.999, 90) == pytest.approx(91 / 100)
    assert decay_at(0.5, 8) == pytest.approx(0.5)  # 9/18 = 0.5: the cap and the warm-up meet
    assert decay_at(0.5, 100) == 0.5


def test_update_matches_torch_averaged_model_over_real_optimiser_steps():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 2))
    decay = 0.3  # reached at t = 3: both the warm-up and the cap are exercised

    def avg_fn(averaged, current, num_averaged):  # noqa: ANN001, ANN202
        d = _warmup(decay, int(num_averaged) - 1)  # AveragedModel counts the initial copy as 1
        return d * averaged + (1 - d) * current

    reference = torch.optim.swa_utils.AveragedModel(model, avg_fn=avg_fn, use_buffers=False)
    reference.update_parameters(model)  # the first call copies: the average starts at the init
    ema = WeightEMA(model, decay)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    first = {k: v.clone() for k, v in ema.model.state_dict().items()}
    for step in range(8):
        x = torch.randn(16, 4)
        optimizer.zero_grad()
        model(x).pow(2).mean().backward()
        optimizer.step()
        if step == 0:  # the first update, by hand: 0.1 of the init and 0.9 of the new weights
            expected = {k: 0.1 * first[k] + 0.9 * v for k, v in model.named_parameters()}
        ema.update(model)
        reference.update_parameters(model)
        if step == 0:
            for k, p in ema.model.named_parameters():
                torch.testing.assert_close(p, expected[k].detach())
    assert ema.updates == 8
    for (name, ours), theirs in zip(ema.model.named_parameters(), reference.module.parameters()):
        torch.testing.assert_close(ours, theirs, rtol=1e-6, atol=1e-7, msg=name)
        assert not torch.allclose(ours, dict(model.named_parameters())[name])  # an average, not a copy
    for ours, current in zip(ema.model.buffers(), model.buffers()):  # batch-norm statistics copied
        assert torch.equal(ours, current)


def test_a_checkpoint_without_an_average_starts_one_from_its_weights():
    model = torch.nn.Linear(3, 2)
    ema = start_ema(model, 0.9, {"step": 5})
    assert ema is not None and ema.updates == 0
    assert all(torch.equal(a, b) for a, b in zip(ema.model.parameters(), model.parameters()))


def test_a_checkpoint_with_an_average_trains_on_from_its_raw_weights_even_with_ema_off():
    saved, raw = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    state = {"ema": {"updates": 7, "raw_weights": raw.state_dict()}}
    model = torch.nn.Linear(3, 2)
    model.load_state_dict(saved.state_dict())
    ema = start_ema(model, 0.9, state)
    assert ema is not None and ema.updates == 7
    assert torch.equal(ema.model.weight, saved.weight) and torch.equal(model.weight, raw.weight)
    model.load_state_dict(saved.state_dict())
    assert start_ema(model, 0.0, state) is None and torch.equal(model.weight, raw.weight)


def test_a_bad_average_entry_is_a_checkpoint_error():
    with pytest.raises(CheckpointError, match="'ema'.*--fresh"):
        start_ema(torch.nn.Linear(3, 2), 0.9, {"ema": {"updates": 1}})
    with pytest.raises(CheckpointError, match="'ema'"):
        start_ema(torch.nn.Linear(3, 2), 0.9, {"ema": {"updates": 1, "raw_weights": {"x": torch.ones(1)}}})


# --- configuration and plan --------------------------------------------------------------------

@pytest.mark.parametrize("value", [1.0, -0.1, 1.5])
def test_ema_decay_outside_0_1_is_refused_on_one_line(value):
    with pytest.raises(ConfigError) as info:
        validate_config({"draw": {"train": {"ema_decay": value}}})
    assert "ema_decay" in str(info.value) and "\n" not in str(info.value)


def test_the_plan_shows_the_average_when_on():
    def plan(decay: float) -> str:
        config = validate_config({"draw": {"train": {"steps": 100, "ema_decay": decay}}})
        return describe_schedule(make_jobs(config, ["cat"], only="draw")[0])

    assert "EMA 0.999" in plan(0.999)
    assert "EMA" not in plan(0.0)


# --- tiny real jobs ----------------------------------------------------------------------------

def _job(tmp_path: Path, **train):  # noqa: ANN202
    from tests.conftest import tiny_runs_module

    data = tmp_path / "data"
    if not (data / "circle.npz").exists():
        tiny_runs_module().make_data(data, n_train=40, n_eval=10)
    config = validate_config({
        "data": {"data_dir": str(data), "batch_size": 8, "max_seq_len": 60, "min_seq_len": 5},
        # no dropout: a resumed run and a straight one then compute the same steps
        "draw": {"model": {"name": "sketch_rnn_uncond", "dec_hidden": 8, "n_mixtures": 2,
                           "recurrent_dropout": 0.0},
                 "train": {"eval_batches": 2, "device": "cpu", "lr": 0.01, **train}},
    })
    return make_jobs(config, ["circle"], only="draw")[0]


def _fit_recording(job, job_dir: Path, hooks: loop.Hooks | None = None) -> list[dict[str, torch.Tensor]]:  # noqa: ANN001
    """Run the job; returns the model's weights before the first optimiser step and after each."""
    weights: list[dict[str, torch.Tensor]] = []
    real_step = loop.optimizer_step

    def step(model, *args):  # noqa: ANN001, ANN202
        if not weights:
            weights.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        real_step(model, *args)
        weights.append({k: v.detach().clone() for k, v in model.state_dict().items()})

    with mock.patch.object(artifacts.RunContext, "plots", lambda self: None), \
            mock.patch.object(loop, "optimizer_step", step):
        loop.fit_job(job, job_dir, device=torch.device("cpu"), hooks=hooks)
    return weights


def _replayed_average(weights: list[dict[str, torch.Tensor]], decay: float) -> dict[str, torch.Tensor]:
    average = dict(weights[0])
    for t, current in enumerate(weights[1:]):
        d = _warmup(decay, t)
        average = {k: d * average[k] + (1 - d) * current[k] for k in average}
    return average


def _evaluate(job, weights: dict[str, torch.Tensor], step: int) -> float:  # noqa: ANN001
    """The valid loss of `weights`, computed as evaluation does but outside the loop."""
    from sketchrnn.registry import build_model

    task = DrawTask(job)
    model = build_model(job.settings.model.name, **task.model_kwargs())
    model.load_state_dict(weights)
    return task.evaluate(model, build_job_loss(job), load_job_data(job).valid, step=step - 1,
                         device=torch.device("cpu"), limit=job.settings.train.eval_batches)["loss"]


def test_checkpoint_holds_the_average_and_train_state_the_raw_weights(tmp_path):
    decay, steps = 0.2, 6  # the cap binds from t = 2
    job = _job(tmp_path, steps=steps, eval_every=steps, checkpoint_every=steps, ema_decay=decay)
    job_dir = tmp_path / "runs" / job.name
    weights = _fit_recording(job, job_dir)
    assert len(weights) == steps + 1
    latest = job_dir / "checkpoints" / "latest"
    saved = load_file(str(latest / "model.safetensors"))
    state = torch.load(latest / "train_state.pt", weights_only=True)
    assert set(state) == BASE_KEYS | {"ema"} and state["ema"]["updates"] == steps
    raw = state["ema"]["raw_weights"]
    assert saved.keys() == raw.keys() == weights[-1].keys()
    for k in raw:
        assert torch.equal(raw[k], weights[-1][k])
    assert any(not torch.allclose(saved[k], raw[k]) for k in raw)
    average = _replayed_average(weights, decay)
    for k in saved:
        torch.testing.assert_close(saved[k], average[k], rtol=1e-5, atol=1e-6, msg=k)
    # the valid loss recorded is the average's, not the raw weights'
    rows = [json.loads(line) for line in (job_dir / "metrics.jsonl").read_text().splitlines()]
    (valid,) = [r for r in rows if r["split"] == "valid"]
    averaged_loss, raw_loss = _evaluate(job, saved, steps), _evaluate(job, raw, steps)
    assert abs(valid["loss"] - averaged_loss) < 1e-6 < 1e-5 < abs(valid["loss"] - raw_loss)
    best = load_file(str(job_dir / "checkpoints" / "best" / "model.safetensors"))
    assert all(torch.equal(best[k], saved[k]) for k in saved)


def test_resumed_job_continues_the_raw_weights_and_the_average_exactly(tmp_path):
    steps, decay = 8, 0.5
    batch_stream = DrawTask.batch_stream

    def by_step(self, data_set, *, seed, rank, world_size):  # noqa: ANN001, ANN202
        # The loop reseeds the data at a resume (seed + start step); batches indexed by the
        # global step give a straight run and a resumed one the same data.
        step = seed - self.job.settings.train.seed
        while True:
            yield next(batch_stream(self, data_set, seed=1000 + step, rank=rank, world_size=world_size))
            step += 1

    def stop_after(step: int) -> loop.Hooks:
        seen: list[int] = []
        return loop.Hooks(report=lambda row: seen.append(int(row["step"])),
                          should_stop=lambda: seen[-1] >= step)

    settings = dict(steps=steps, eval_every=steps // 2, checkpoint_every=steps // 2, ema_decay=decay)
    runs = {}
    with mock.patch.object(DrawTask, "batch_stream", by_step):
        for name, halves in (("straight", [None]), ("resumed", [stop_after(steps // 2), None])):
            job = _job(tmp_path, **settings)
            job_dir = tmp_path / name / job.name
            recorded = [_fit_recording(job, job_dir, hooks) for hooks in halves]
            runs[name] = (job_dir / "checkpoints" / "latest", recorded)
    assert len(runs["resumed"][1][0]) == steps // 2 + 1  # the first half stopped at step 4
    (straight, _), (resumed, _) = runs["straight"], runs["resumed"]
    state_a = torch.load(straight / "train_state.pt", weights_only=True)
    state_b = torch.load(resumed / "train_state.pt", weights_only=True)
    assert state_a["step"] == state_b["step"] == steps
    assert state_a["ema"]["updates"] == state_b["ema"]["updates"] == steps
    for k, v in state_a["ema"]["raw_weights"].items():
        torch.testing.assert_close(state_b["ema"]["raw_weights"][k], v, msg=k)
    average_a = load_file(str(straight / "model.safetensors"))
    average_b = load_file(str(resumed / "model.safetensors"))
    for k, v in average_a.items():
        torch.testing.assert_close(average_b[k], v, msg=k)
    # the straight run's average is the replay of its own raw weights (not a fresh restart)
    replay = _replayed_average(runs["straight"][1][0], decay)
    for k, v in replay.items():
        torch.testing.assert_close(average_b[k], v, rtol=1e-5, atol=1e-6, msg=k)


def test_off_adds_nothing_and_saves_the_trained_weights(tmp_path):
    steps = 4
    job = _job(tmp_path, steps=steps, eval_every=steps, checkpoint_every=steps)
    assert job.settings.train.ema_decay == 0
    job_dir = tmp_path / "runs" / job.name
    weights = _fit_recording(job, job_dir)
    latest = job_dir / "checkpoints" / "latest"
    assert set(torch.load(latest / "train_state.pt", weights_only=True)) == BASE_KEYS
    saved = load_file(str(latest / "model.safetensors"))
    assert saved.keys() == weights[-1].keys()
    assert all(torch.equal(saved[k], weights[-1][k]) for k in saved)
