"""Google's bicycle model through the CLI, as a user runs it: `import` the .gen.json, `sample -n
10`, `data prepare --raw` on real raw QuickDraw drawings, then `eval draw`. The test loss that
`eval draw` reports is checked against one computed from the real magenta-js: its `getPDF` at
every step of each test sketch, put through the paper's Eq. 9 in numpy here."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from sketchrnn.data.npz import load_npz

from .magenta_js import magenta_pdf, require_magenta_js
from .test_import import run_cli


SIGMA_MIN = math.exp(-10)  # sketchrnn's documented floor on sigma (model/mixture.py LOG_SIGMA_MIN)


def log_normal_2d(dx, dy, pdf) -> np.ndarray:
    """log N(dx, dy | mu, sigma, corr) of each component: ``[M]`` (Eq. 3 of Ha & Eck 2017).

    Sigma is floored at e^-10 as sketchrnn's losses document: Google's bicycle model puts
    components as narrow as e^-12 on exact zero offsets, where the unbounded density only
    measures how far the mixture-density degeneracy was pushed (its L_s moves by 2%)."""
    sx, sy = np.maximum(pdf["sigmaX"], SIGMA_MIN), np.maximum(pdf["sigmaY"], SIGMA_MIN)
    zx, zy = (dx - pdf["muX"]) / sx, (dy - pdf["muY"]) / sy
    rho = pdf["corr"]
    z = zx**2 + zy**2 - 2 * rho * zx * zy
    return -z / (2 * (1 - rho**2)) - np.log(2 * math.pi * sx * sy) - 0.5 * np.log(1 - rho**2)


def magenta_js_recon_loss(model_file, sketch: np.ndarray, scale: float, n_max: int, tmp_path):
    """Eq. 9 for one stroke-3 sketch ``[n, 3]`` in px: offsets NLL over its n points, pen
    cross-entropy over them and the end token, both / N_max; PDFs from magenta-js."""
    n = len(sketch)
    targets = np.zeros((n + 1, 5))  # stroke-5 in model units, then the end token
    targets[:n, :2] = sketch[:, :2] / scale
    targets[:n, 2], targets[:n, 3] = 1 - sketch[:, 2], sketch[:, 2]
    targets[n, 4] = 1
    inputs = np.concatenate([[[0, 0, 1, 0, 0]], targets[:-1]])  # S_0, then teacher forcing
    pdf = magenta_pdf(model_file, inputs, tmp_path)  # each field [n + 1, M], pen [n + 1, 3]
    offsets = 0.0
    for t in range(n):
        step = {k: v[t].astype(np.float64) for k, v in pdf.items()}
        log_terms = np.log(step["pi"]) + log_normal_2d(targets[t, 0], targets[t, 1], step)
        offsets -= np.logaddexp.reduce(log_terms)
    pen = -np.log((pdf["pen"].astype(np.float64) * targets[:, 2:]).sum(1)).sum()
    return offsets / n_max, pen / n_max


def test_imported_bicycle_samples_and_reports_its_test_loss(magenta_models, tmp_path,
                                                            monkeypatch, capsys):
    require_magenta_js()
    model_file = magenta_models / "bicycle.gen.json"
    raw = magenta_models.parent / "quickdraw" / "raw" / "raw_first100KB_exupery" / "bicycle.ndjson"
    monkeypatch.chdir(tmp_path)
    code, output = run_cli(capsys, "import", str(model_file))
    assert code == 0, output
    code, output = run_cli(capsys, "sample", "bicycle", "-n", "10")
    assert code == 0, output
    assert len(list((tmp_path / "samples" / "bicycle").glob("sample_*.svg"))) == 10
    code, output = run_cli(capsys, "data", "prepare", "--raw", str(raw), "--out", "data")
    assert code == 0, output
    code, output = run_cli(capsys, "eval", "draw", "bicycle", "--data-dir", "data")
    assert code == 0, output
    assert "reconstruction L_R" in output
    reported = json.loads((tmp_path / "runs" / "draw-bicycle" / "eval.json").read_text())["test"]

    info = json.loads(model_file.read_text())[0]
    test = load_npz(tmp_path / "data" / "bicycle.npz").test
    assert reported["n_sketches"] == len(test)  # none filtered: all within 10..max_seq_len
    losses = np.array([magenta_js_recon_loss(model_file, s.astype(np.float64), info["scale_factor"],
                                             info["max_seq_len"], tmp_path) for s in test])
    offsets, pen = losses.mean(axis=0)
    # float32 in torch and in tfjs, summed over ~100 steps: 1e-5 of losses of order 0.1-1
    assert reported["offsets"] == pytest.approx(offsets, rel=1e-4, abs=1e-5)
    assert reported["pen"] == pytest.approx(pen, rel=1e-4, abs=1e-5)
    assert reported["recon"] == pytest.approx(offsets + pen, rel=1e-4, abs=1e-5)
