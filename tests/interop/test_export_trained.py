"""Models trained here by `sketchrnn fit` (tiny and small presets, decoder-only, plain LSTM),
exported, in the real @magenta/sketch.

* Against our model with the int16 weights (the exported file read back): the same network, so
  only float32 arithmetic differs (tfjs and torch agree to ~2e-6); tolerance 1e-4.
* Against the float model: every weight moves by at most half an int16 step (1.5e-4) and the
  3 or 10 components are padded to 20 exactly. The rounding errors of a layer's weights add up
  with random signs, so outputs move by a few 1e-4 (measured: at most 3e-4 for both presets);
  tolerance 1e-3 for means, sigmas and correlations, 2e-3 relative for the summed weights.
* The cost of int16 in the loss, as `export --data-dir` reports it: the valid L_R of the float
  model and of the exported file (read back by the importer) differ by less than 1e-3 nats
  (docs/magenta_js.md gives measured figures).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sketchrnn.interop.importing import build_imported
from sketchrnn.interop.magenta_json import read_model

from .magenta_js import assert_same_pdf, magenta_pdf, require_magenta_js, stroke_inputs, torch_pdf
from .test_import import run_cli

N_FORMAT = 20  # magenta-js's fixed number of mixture components


def fit(preset: str, data_dir: Path, cwd: Path) -> None:
    env = {**os.environ, "COLUMNS": "200", "OMP_NUM_THREADS": "1", "NO_COLOR": "1"}
    args = ["fit", "pig", "--only", "draw", "--workers", "0", "--preset", preset, "--steps", "3",
            "--data-dir", str(data_dir), "--runs", "runs", "--set", "draw.model.name=sketch_rnn_uncond",
            "--set", "data.batch_size=8", "--set", "data.max_seq_len=80",
            "--set", "draw.train.eval_batches=1"]
    result = subprocess.run([sys.executable, "-m", "sketchrnn", *args], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def padded_source(n_mixtures: int) -> np.ndarray:
    """Which of our components each of the 20 exported ones copies: ``[20]`` (the first
    ``20 % M`` components get one copy more), e.g. 3 -> 7, 7, 6 copies."""
    copies = [N_FORMAT // n_mixtures + (j < N_FORMAT % n_mixtures) for j in range(n_mixtures)]
    return np.repeat(np.arange(n_mixtures), copies)


@pytest.mark.parametrize("preset", ["tiny", "small"])
def test_a_trained_model_runs_alike_in_magenta_js(preset, shared_quickdraw, tmp_path, capsys):
    require_magenta_js()
    from sketchrnn.evaluation.draw_eval import test_losses
    from sketchrnn.predict.loading import load_data
    from sketchrnn.runs import draw_checkpoint, load_draw

    fit(preset, shared_quickdraw, tmp_path)
    out = tmp_path / "pig.gen.json"
    code, output = run_cli(capsys, "export", "pig", "--runs", str(tmp_path / "runs"), "--out", str(out),
                           "--data-dir", str(shared_quickdraw))
    assert code == 0, output
    reported = re.search(r"int16 weights: valid L_R (\S+) -> (\S+) \(\S+\) on (\d+) sketches", output)
    assert reported, output
    model, meta = load_draw(draw_checkpoint(tmp_path / "runs", "pig"))
    assert meta.model_kwargs["cell"] == "lstm"
    quantised = build_imported(read_model(out))
    inputs = stroke_inputs(seed=2)
    theirs = magenta_pdf(out, inputs, tmp_path)
    assert_same_pdf(torch_pdf(quantised, inputs), theirs, 1e-4)

    ours, source = torch_pdf(model, inputs), padded_source(model.n_mixtures)
    summed = np.stack([theirs["pi"][:, source == j].sum(-1) for j in range(model.n_mixtures)], -1)
    np.testing.assert_allclose(summed, ours["pi"], rtol=2e-3, atol=1e-5)
    for key in ("muX", "muY", "sigmaX", "sigmaY", "corr"):  # measured: at most 3e-4
        np.testing.assert_allclose(theirs[key], ours[key][:, source], rtol=1e-3, atol=1e-3, err_msg=key)
    np.testing.assert_allclose(theirs["pen"], ours["pen"], rtol=1e-3, atol=1e-4)

    valid = load_data(meta, shared_quickdraw).valid
    before, after = (test_losses(m, valid, kl_weight=0.0, kl_min=0.0, n_max=meta.max_seq_len)["recon"]
                     for m in (model, quantised))
    assert abs(after - before) < 1e-3, (before, after)  # measured: 4e-5 (tiny), 7e-5 (small)
    assert (float(reported[1]), float(reported[2])) == pytest.approx((before, after), abs=1e-5)
    assert int(reported[3]) == len(valid)
    assert json.loads(out.read_text())[0]["scale_factor"] == pytest.approx(meta.scale)
