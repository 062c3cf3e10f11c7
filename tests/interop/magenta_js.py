"""Helpers for the interop tests: run the real @magenta/sketch in node, and our model alike.

The node harness (tests/interop/node) is installed by `.ci/run` (`npm ci`); the tests that need it
skip, saying how to install it, only when node or the package is missing.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

NODE_DIR = Path(__file__).parent / "node"
NODE = shutil.which("node")


def require_magenta_js() -> None:
    if NODE is None:
        pytest.skip("node is not installed (apt-get install -y nodejs npm)")
    if not (NODE_DIR / "node_modules" / "@magenta" / "sketch").is_dir():
        pytest.skip(f"@magenta/sketch is not installed (cd {NODE_DIR} && npm ci)")


def magenta_pdf(model_file: Path, inputs: np.ndarray, tmp_path: Path,
                temperature: float = 1.0) -> dict[str, np.ndarray]:
    """magenta-js's getPDF(state, temperature) after each of ``inputs [T, 5]`` (model units):
    fields ``[T, 20]``, pen ``[T, 3]``."""
    require_magenta_js()
    inputs_file, out_file = tmp_path / "inputs.json", tmp_path / "pdf.json"
    inputs_file.write_text(json.dumps(inputs.tolist()))
    subprocess.run([NODE, str(NODE_DIR / "pdf.js"), str(model_file), str(inputs_file), str(out_file),
                    repr(temperature)],
                   check=True, cwd=NODE_DIR, capture_output=True, timeout=120)
    steps = json.loads(out_file.read_text())["steps"]
    return {k: np.array([s[k] for s in steps]) for k in steps[0]}


def torch_pdf(net: torch.nn.Module, inputs: np.ndarray) -> dict[str, np.ndarray]:
    """The same PDF from our model: teacher-forced ``inputs [T, 5]``, temperature 1."""
    with torch.no_grad():
        x = torch.as_tensor(inputs, dtype=torch.float32).unsqueeze(0)  # [1, T, 5]
        mix, q_logits, _ = net.decode_sequence(x, None)
    return {"pi": mix.pi_logits.softmax(-1)[0].numpy(), "muX": mix.mu_x[0].numpy(),
            "muY": mix.mu_y[0].numpy(), "sigmaX": mix.log_sigma_x.exp()[0].numpy(),
            "sigmaY": mix.log_sigma_y.exp()[0].numpy(), "corr": mix.rho_hat.tanh()[0].numpy(),
            "pen": q_logits.softmax(-1)[0].numpy()}


def stroke_inputs(n: int = 24, seed: int = 0) -> np.ndarray:
    """S_0 then ``n - 1`` stroke-5 points of plausible size (model units). ``[n, 5]``"""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 5))
    x[0, 2] = 1.0
    x[1:, :2] = rng.normal(0, 1.0, (n - 1, 2))
    lifted = rng.random(n - 1) < 0.2
    x[1:, 2], x[1:, 3] = ~lifted, lifted
    return x


def gen_json(hidden: int, *, seed: int = 0, scale: float = 40.0, max_seq_len: int = 150,
             shapes: list | None = None, mode: int = 2, amplitude: int = 6000) -> list:
    """A small magenta-js model file's content, written here from the format's description
    (independent of sketchrnn's writer): random int16 codes, base64 little-endian."""
    rng = np.random.default_rng(seed)
    shapes = shapes or [[hidden, 123], [123], [5, 4 * hidden], [hidden, 4 * hidden], [4 * hidden]]
    weights = [base64.b64encode(rng.integers(-amplitude, amplitude, size=int(np.prod(s)))
                                .astype("<i2").tobytes()).decode() for s in shapes]
    info = {"mode": mode, "version": 6, "max_seq_len": max_seq_len, "name": "sheep",
            "scale_factor": scale}
    return [info, shapes, weights]


def assert_same_pdf(ours: dict[str, np.ndarray], theirs: dict[str, np.ndarray], tol: float) -> None:
    for key in ("pi", "muX", "muY", "sigmaX", "sigmaY", "corr", "pen"):
        np.testing.assert_allclose(ours[key], theirs[key], rtol=tol, atol=tol, err_msg=key)
