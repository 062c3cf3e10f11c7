"""Sampling through a captured decode step draws exactly what the eager one draws."""

from __future__ import annotations

from unittest import mock

import numpy as np
import torch

from sketchrnn.model.capture import capture_decoding
from sketchrnn.model.sketch_rnn import SketchRNN
from sketchrnn.sampling import sample


def _model() -> SketchRNN:
    torch.manual_seed(0)
    return SketchRNN(enc_hidden=16, dec_hidden=32, z_dim=8, n_mixtures=3).eval()


def _same(a: list[np.ndarray], b: list[np.ndarray]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


def test_captured_sampling_equals_eager(monkeypatch):
    model = _model()
    eager = sample(model, 3, max_len=30, seed=4, temperature=0.5)
    prime = [eager[0][:6]]
    eager_completion = sample(model, 1, max_len=20, seed=5, prime=prime)
    real_compile = torch.compile
    # The "eager" backend traces the step with dynamo as torch.compile does, without code generation.
    monkeypatch.setattr(torch, "compile", lambda fn, **kw: real_compile(fn, backend="eager", dynamic=False))
    captured = capture_decoding(model, "on", "cpu")
    _same(sample(model, 3, max_len=30, seed=4, temperature=0.5), eager)
    _same(sample(model, 1, max_len=20, seed=5, prime=prime), eager_completion)
    assert captured.is_compiled and captured.status == "compiled (default)"
    del model.decode_step  # the eager method again
    _same(sample(model, 3, max_len=30, seed=4, temperature=0.5), eager)


def test_the_captured_step_is_one_graph(monkeypatch):
    # A graph break (dynamo stops at any nn.LSTM module) would split the step and keep the
    # GPU's LSTM call out of the CUDA graph.
    model = _model()
    real_compile = torch.compile
    monkeypatch.setattr(torch, "compile", lambda fn, **kw: real_compile(fn, backend="eager", dynamic=False))
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    capture_decoding(model, "on", "cpu")
    sample(model, 2, max_len=12, seed=0)
    counters = torch._dynamo.utils.counters
    assert sum(counters["graph_break"].values()) == 0, dict(counters["graph_break"])
    assert counters["stats"]["unique_graphs"] >= 1


def test_failing_capture_samples_eagerly(monkeypatch):
    model = _model()
    eager = sample(model, 2, max_len=25, seed=1)
    monkeypatch.setattr(torch, "compile", lambda fn, **kw: mock.Mock(side_effect=RuntimeError("no triton")))
    captured = capture_decoding(model, "auto", "cuda")  # what a GPU without a working compiler gets
    _same(sample(model, 2, max_len=25, seed=1), eager)
    assert captured.status == "eager (fallback: RuntimeError: no triton)"


def test_off_and_auto_on_the_cpu_stay_eager():
    model = _model()
    assert capture_decoding(model, "off", "cpu").status == "eager (compile off)"
    assert not capture_decoding(model, "auto", "cpu").is_compiled


def test_sample_cli_compile_falls_back_and_draws_the_same(tmp_path, monkeypatch, capsys):
    import pytest

    from sketchrnn.checkpoint import CheckpointMeta, save_checkpoint
    from sketchrnn.cli import main as cli_main
    from sketchrnn.config import DataConfig, LossConfig

    kwargs = dict(enc_hidden=16, dec_hidden=32, z_dim=8, n_mixtures=3)
    meta = CheckpointMeta(model="sketch_rnn", model_kwargs=kwargs, task="draw", categories=["pig"],
                          scale=30.0, max_seq_len=40, data=DataConfig(max_seq_len=40), loss=LossConfig())
    ckpt = save_checkpoint(tmp_path / "ckpt", _model(), meta)

    def run(compile_setting: str) -> str:
        out = tmp_path / compile_setting
        with pytest.raises(SystemExit) as done:
            cli_main.main(["sample", "pig", "--checkpoint", str(ckpt), "-n", "2", "--format", "svg",
                           "--out", str(out), "--compile", compile_setting])
        assert done.value.code in (0, None)
        return "".join(p.read_text() for p in sorted(out.glob("*.svg")))

    eager = run("off")
    monkeypatch.setattr(torch, "compile", lambda fn, **kw: mock.Mock(side_effect=RuntimeError("no compiler")))
    capsys.readouterr()
    assert eager and run("on") == eager
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("note: ")]
    assert len(notes) == 1 and "running eagerly (RuntimeError: no compiler)" in notes[0]
