"""`sketchrnn export`: our draw models in the real @magenta/sketch give the PDF our model gives.

The reference is magenta-js run in node on the exported file. A model whose weights lie on the
int16 grid (``q * 10 / 32767``, forget-gate bias folded) exports without loss, so magenta-js must
match it to float32 rounding (2e-6; the test allows 1e-4). A model with fewer than 20 components
is padded with copies whose pi logits are lowered by log(copies): the only loss is quantising that
shift (half a step, 1.5e-4 in a logit), so the summed weights match to 1e-3.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from sketchrnn.checkpoint import CheckpointMeta, read_meta, save_checkpoint
from sketchrnn.config import DataConfig, LossConfig
from sketchrnn.interop.convert import FORGET_BIAS
from sketchrnn.interop.importing import build_imported
from sketchrnn.interop.magenta_json import read_model
from sketchrnn.registry import build_model
from sketchrnn.runs import draw_checkpoint, draw_job_name

from .magenta_js import assert_same_pdf, magenta_pdf, stroke_inputs, torch_pdf
from .test_import import run_cli

STEP = 10.0 / 32767  # one int16 step of the format


def _on_grid(model: torch.nn.Module, seed: int = 0) -> None:
    """Put every weight on the int16 grid the format stores (the forget-gate block of bias_ih is
    on the grid after magenta-js's forget bias of 1.0 is taken out); bias_hh is zero."""
    gen = torch.Generator().manual_seed(seed)
    hidden = model.decoder.dec_hidden
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.randint(-4000, 4000, p.shape, generator=gen) * STEP)
            if name.endswith("bias_hh_l0"):
                p.zero_()
            if name.endswith("bias_ih_l0"):
                p[hidden:2 * hidden] += FORGET_BIAS


def _save(runs: Path, category: str, model_name: str = "sketch_rnn_uncond", **kwargs) -> torch.nn.Module:
    kwargs = {"dec_hidden": 16, "n_mixtures": 20, "cell": "lstm", "recurrent_dropout": 0.0, **kwargs}
    model = build_model(model_name, **kwargs).eval()
    if model_name == "sketch_rnn_uncond" and kwargs["cell"] == "lstm":
        _on_grid(model)
    meta = CheckpointMeta(model=model_name, model_kwargs=kwargs, task="draw", categories=[category],
                          scale=25.5, max_seq_len=80, data=DataConfig(max_seq_len=80), loss=LossConfig())
    save_checkpoint(runs / draw_job_name(category) / "checkpoints" / "latest", model, meta)
    return model


def _export(capsys, runs: Path, category: str, out: Path) -> tuple[int, str]:
    return run_cli(capsys, "export", category, "--runs", str(runs), "--out", str(out))


def test_export_matches_magenta_js(tmp_path, capsys):
    model = _save(tmp_path / "runs", "cat")
    code, output = _export(capsys, tmp_path / "runs", "cat", tmp_path / "cat.gen.json")
    assert code == 0, output
    info = json.loads((tmp_path / "cat.gen.json").read_text())[0]
    assert info == {"mode": 2, "version": 6, "max_seq_len": 80, "name": "cat", "scale_factor": 25.5}
    inputs = stroke_inputs()
    assert_same_pdf(torch_pdf(model, inputs), magenta_pdf(tmp_path / "cat.gen.json", inputs, tmp_path), 1e-4)


def test_fewer_mixtures_are_padded_exactly(tmp_path, capsys):
    model = _save(tmp_path / "runs", "cat", n_mixtures=3)
    assert _export(capsys, tmp_path / "runs", "cat", tmp_path / "cat.gen.json")[0] == 0
    inputs = stroke_inputs()
    ours, theirs = torch_pdf(model, inputs), magenta_pdf(tmp_path / "cat.gen.json", inputs, tmp_path)
    source = np.repeat(np.arange(3), [7, 7, 6])  # 20 = 7 + 7 + 6 copies of the 3 components
    summed = np.stack([theirs["pi"][:, source == j].sum(-1) for j in range(3)], -1)
    np.testing.assert_allclose(summed, ours["pi"], rtol=1e-3, atol=1e-6)
    for key in ("muX", "muY", "sigmaX", "sigmaY", "corr"):
        np.testing.assert_allclose(theirs[key], ours[key][:, source], rtol=1e-4, atol=1e-4, err_msg=key)
    np.testing.assert_allclose(theirs["pen"], ours["pen"], rtol=1e-4, atol=1e-4)


def test_round_trip(tmp_path, capsys):
    model = _save(tmp_path / "runs", "cat")
    with torch.no_grad():  # off the grid: import(export(model)) is within half an int16 step
        for p in model.parameters():
            p.add_(torch.rand(p.shape) * STEP)
    path = draw_checkpoint(tmp_path / "runs", "cat")
    save_checkpoint(path, model, read_meta(path))
    first = tmp_path / "first.gen.json"
    assert _export(capsys, tmp_path / "runs", "cat", first)[0] == 0
    back = build_imported(read_model(first)).state_dict()
    for name, value in model.state_dict().items():
        if name.endswith("bias_ih_l0"):  # torch's two biases are summed into one
            value = value + model.state_dict()[name.replace("ih", "hh")]
        if not name.endswith("bias_hh_l0"):
            torch.testing.assert_close(back[name], value, rtol=0, atol=STEP / 2 + 1e-6)
    runs2 = tmp_path / "runs2"
    assert run_cli(capsys, "import", str(first), "--runs", str(runs2))[0] == 0
    second = tmp_path / "second.gen.json"
    assert _export(capsys, runs2, "cat", second)[0] == 0
    assert second.read_bytes() == first.read_bytes()


@pytest.mark.parametrize("model_name, kwargs, words", [
    ("sketch_rnn", {"enc_hidden": 8, "z_dim": 4}, "full VAE layout (magenta-demos"),
    ("sketch_rnn_uncond", {"cell": "layer_norm"}, "'layer_norm' LSTM cell"),
    ("sketch_rnn_uncond", {"n_mixtures": 21}, "21 mixture components"),
])
def test_what_the_format_cannot_hold(model_name, kwargs, words, tmp_path, capsys):
    _save(tmp_path / "runs", "cat", model_name, **kwargs)
    code, output = _export(capsys, tmp_path / "runs", "cat", tmp_path / "cat.gen.json")
    assert code == 1 and words in output and len(output.strip().splitlines()) == 1, output
    assert not (tmp_path / "cat.gen.json").exists()


def test_weight_beyond_ten_names_the_tensor(tmp_path, capsys):
    model = _save(tmp_path / "runs", "cat")
    with torch.no_grad():
        model.decoder.rnn.lstm.weight_hh_l0[3, 2] = 12.5
    path = draw_checkpoint(tmp_path / "runs", "cat")
    save_checkpoint(path, model, read_meta(path))
    code, output = _export(capsys, tmp_path / "runs", "cat", tmp_path / "cat.gen.json")
    assert code == 1 and "tensor W_hh" in output and "12.5" in output, output
    assert not (tmp_path / "cat.gen.json").exists()


def test_existing_output_is_kept(tmp_path, capsys):
    _save(tmp_path / "runs", "cat")
    (tmp_path / "cat.gen.json").write_text("mine")
    code, output = _export(capsys, tmp_path / "runs", "cat", tmp_path / "cat.gen.json")
    assert code == 1 and "already exists" in output
    assert (tmp_path / "cat.gen.json").read_text() == "mine"


def test_checkpoint_of_another_category_is_refused(tmp_path, capsys):
    _save(tmp_path / "runs", "pig")
    path = draw_checkpoint(tmp_path / "runs", "pig")
    code, output = run_cli(capsys, "export", "cat", "--checkpoint", str(path), "--out", str(tmp_path / "x.gen.json"))
    assert code == 1 and "draws 'pig', not 'cat'" in output, output
    assert not (tmp_path / "x.gen.json").exists()
