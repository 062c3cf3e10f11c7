"""Start-up device settings of a training process: TF32, capture with torch.compile, bucketing."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from unittest import mock

import pytest
import torch

from sketchrnn.data.batching import Batch
from sketchrnn.losses.sketch_rnn import SketchRNNLoss
from sketchrnn.model import capture
from sketchrnn.model.capture import Captured, compile_mode
from sketchrnn.model.sketch_rnn import SketchRNN
from sketchrnn.train import artifacts, runtime
from sketchrnn.train.loop import fit_job

sys.path.insert(0, str(Path(__file__).parent))
from test_checkpoint_schedule import _job  # noqa: E402 - a tiny draw job on random walks


@pytest.fixture
def tf32_flags():
    """Restore torch's TF32 flags whatever a test sets."""
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def flags() -> tuple[bool, bool]:
    return torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32


@pytest.mark.parametrize("enabled", [True, False])
def test_tf32_is_set_on_gpus_that_have_it(tf32_flags, enabled):
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = not enabled
    with mock.patch.object(torch.cuda, "get_device_capability", return_value=(9, 0)):
        applied = runtime.apply_tf32(enabled, torch.device("cuda"))
    assert flags() == (enabled, enabled) and applied["tf32"] is enabled


def test_tf32_left_alone_on_older_gpus_and_the_cpu(tf32_flags):
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = False, True  # torch's defaults
    with mock.patch.object(torch.cuda, "get_device_capability", return_value=(7, 0)):
        assert runtime.apply_tf32(True, torch.device("cuda"))["tf32"] is False
    assert runtime.apply_tf32(True, torch.device("cpu"))["tf32"] is False
    assert runtime.apply_tf32(False, torch.device("cpu"))["tf32"] is False
    assert flags() == (False, True)


def test_compile_settings_per_device():
    assert compile_mode("off", "cuda") is None and compile_mode("off", "cpu") is None
    assert compile_mode("auto", "cuda") == "reduce-overhead" and compile_mode("auto", "cpu") is None
    assert compile_mode("on", "cuda") == "reduce-overhead" and compile_mode("on", "cpu") == "default"
    with pytest.raises(ValueError, match="off, auto, on"):
        compile_mode("always", "cpu")


def test_no_torch_compile_runs_eagerly(monkeypatch, caplog):
    monkeypatch.delattr(torch, "compile")
    with caplog.at_level(logging.INFO, logger=capture.__name__):
        f = Captured(lambda a: a * 2, "default", "job-x")
    assert f(torch.ones(2)).tolist() == [2.0, 2.0]
    assert not f.is_compiled and "not available" in f.status
    assert len(caplog.records) == 1 and "job-x" in caplog.records[0].getMessage()


def test_compile_failing_at_wrap_or_first_call_falls_back_once(monkeypatch, caplog):
    monkeypatch.setattr(torch, "compile", mock.Mock(side_effect=RuntimeError("no dynamo here")))
    assert Captured(torch.neg, "default", "a").status.startswith("eager (fallback: RuntimeError: no dynamo")

    broken = mock.Mock(side_effect=RuntimeError("inductor\nfailed"))
    monkeypatch.setattr(torch, "compile", lambda fn, **kw: broken)
    caplog.clear()  # the line about "a"
    with caplog.at_level(logging.INFO, logger=capture.__name__):
        f = Captured(torch.neg, "reduce-overhead", "b")
        assert f.is_compiled
        first, second = f(torch.ones(1)), f(torch.ones(1))
    assert first.tolist() == second.tolist() == [-1.0]
    assert broken.call_count == 1 and not f.is_compiled  # never tried again
    assert f.status == "eager (fallback: RuntimeError: inductor failed)"
    assert len([r for r in caplog.records if r.name == capture.__name__]) == 1


def test_an_error_of_the_function_itself_is_not_swallowed():
    def bad(a):
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        Captured(bad, None, "c")(1)


def _batch(lengths: list[int], seed: int = 0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    t = max(lengths) + 1
    x = torch.zeros(len(lengths), t, 5)
    x[..., 4] = 1.0
    for i, n in enumerate(lengths):
        x[i, :n, :2] = torch.randn(n, 2, generator=g)
        pen = torch.randint(0, 2, (n,), generator=g)
        x[i, :n, 2], x[i, :n, 3], x[i, :n, 4] = 1.0 - pen, pen.float(), 0.0
    return Batch(x, torch.tensor(lengths), torch.zeros(len(lengths), dtype=torch.long))


def test_buckets_cover_every_length_up_to_n_max():
    assert runtime.bucket_lengths(200) == [51, 101, 151, 201]
    for t in (2, 51, 52, 200, 201):
        padded = runtime.pad_to_bucket(_batch([t - 1]), runtime.bucket_lengths(200))
        assert padded.x.shape[1] in (51, 101, 151, 201) and padded.x.shape[1] >= t
        assert bool((padded.x[0, t:] == torch.tensor([0.0, 0, 0, 0, 1])).all())  # end tokens


def _loss_and_grads(model, batch, forward=None):
    model.zero_grad()
    out = (forward or model)(batch.x, batch.lengths)
    terms = SketchRNNLoss(n_max=60)(out, batch.x, batch.lengths, 0)
    terms["loss"].backward()
    return float(terms["loss"].detach()), [p.grad.clone() for p in model.parameters()]


def test_padding_to_a_bucket_keeps_the_loss_and_gradients():
    torch.manual_seed(0)
    model = SketchRNN(enc_hidden=16, dec_hidden=32, z_dim=8, n_mixtures=3).eval()  # eval: z = mu
    batch = _batch([23, 9, 17, 4])
    padded = runtime.pad_to_bucket(batch, runtime.bucket_lengths(60))
    assert padded.x.shape[1] == 31 != batch.x.shape[1]
    loss, grads = _loss_and_grads(model, batch)
    loss_p, grads_p = _loss_and_grads(model, padded)
    assert loss_p == pytest.approx(loss, rel=1e-6)
    for g, gp in zip(grads, grads_p):
        torch.testing.assert_close(gp, g, rtol=1e-5, atol=1e-7)


def test_traced_and_bucketed_step_matches_eager():
    # aot_eager traces forward and backward as torch.compile does, without inductor's code
    # generation (minutes on this CPU); the padded batch goes through the traced graph.
    torch.manual_seed(0)
    model = SketchRNN(enc_hidden=16, dec_hidden=32, z_dim=8, n_mixtures=3).eval()
    batch = _batch([23, 9, 17, 4], seed=1)
    traced = Captured(model, "default", "t", backend="aot_eager")
    loss, grads = _loss_and_grads(model, batch)
    loss_c, grads_c = _loss_and_grads(model, runtime.pad_to_bucket(batch, runtime.bucket_lengths(60)), traced)
    assert traced.is_compiled, traced.status
    assert loss_c == pytest.approx(loss, rel=1e-5)
    for g, gc in zip(grads, grads_c):
        torch.testing.assert_close(gc, g, rtol=1e-4, atol=1e-6)


def test_fit_records_the_runtime_and_survives_a_failing_compile(tmp_path, monkeypatch, tf32_flags):
    job = _job(tmp_path, steps=4, eval_every=4, checkpoint_every=4, compile="on")
    monkeypatch.setattr(torch, "compile", lambda fn, **kw: mock.Mock(side_effect=RuntimeError("no C++ compiler")))
    before = flags()
    with mock.patch.object(artifacts.RunContext, "plots", lambda self: None):
        final = fit_job(job, tmp_path / "runs" / job.name, device=torch.device("cpu"))
    assert final["step"] == 4 and final["runtime"]["tf32"] is False and flags() == before
    meta = json.loads((tmp_path / "runs" / job.name / "checkpoints" / "latest" / "meta.json").read_text())
    assert meta["extra"]["runtime"]["compile"] == "eager (fallback: RuntimeError: no C++ compiler)"
    assert meta["extra"]["runtime"]["tf32_note"] == "not a CUDA device"


def test_fit_switches_set_every_model_and_set_still_wins(monkeypatch):
    from click.testing import CliRunner

    from sketchrnn.cli import fit_cmd

    seen: list = []
    monkeypatch.setattr(fit_cmd, "fetch_data", lambda categories, data: None)
    monkeypatch.setattr(fit_cmd, "run_in_process", lambda jobs, *a, **k: seen.extend(jobs) or [])
    args = ["cat", "pig", "--no-tf32", "--compile", "auto", "--set", "predict.train.compile=off"]
    result = CliRunner().invoke(fit_cmd.fit, args)
    assert result.exit_code == 0, result.output
    settings = {j.name: (j.settings.train.tf32, j.settings.train.compile) for j in seen}
    assert settings == {"draw-cat": (False, "auto"), "draw-pig": (False, "auto"), "predict": (False, "off")}
    CliRunner().invoke(fit_cmd.fit, ["cat"])
    assert (seen[-1].settings.train.tf32, seen[-1].settings.train.compile) == (True, "off")  # defaults


def test_padding_to_a_bucket_keeps_the_classifier_logits():
    from sketchrnn.model.classifier import SketchClassifier

    torch.manual_seed(0)
    model = SketchClassifier(n_categories=3, enc_hidden=16, z_dim=8, head_hidden=16, conv_channels=8).eval()
    batch = _batch([23, 9, 17, 4])
    padded = runtime.pad_to_bucket(batch, runtime.bucket_lengths(60))
    with torch.no_grad():
        torch.testing.assert_close(model(padded.x, padded.lengths), model(batch.x, batch.lengths))


def _denormal_survives() -> bool:
    """The reference: a float32 denormal (1e-40) multiplied by 1 survives unless FTZ/DAZ is on."""
    return (torch.tensor([1e-40], dtype=torch.float32) * 1.0).item() != 0.0


def test_fit_flushes_denormals_while_training_and_restores_the_callers_setting(tmp_path):
    torch.set_flush_denormal(False)
    seen: list[bool] = []
    job = _job(tmp_path, steps=2, eval_every=2, checkpoint_every=2)
    with mock.patch.object(artifacts.RunContext, "plots", lambda self: None), \
            mock.patch.object(runtime, "apply_tf32", lambda *a: seen.append(_denormal_survives()) or {}):
        fit_job(job, tmp_path / "runs" / job.name, device=torch.device("cpu"))
    assert seen == [False]  # flushed while training: the speed-up docs/benchmarks.md measures
    assert _denormal_survives() and not runtime.flushing_denormals()  # the caller's setting back
    torch.set_flush_denormal(True)
    try:
        with runtime.denormals_flushed(False):  # a caller that flushes keeps flushing
            assert not _denormal_survives() and runtime.flushing_denormals()
        assert not _denormal_survives()
    finally:
        torch.set_flush_denormal(False)
