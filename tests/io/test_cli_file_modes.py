"""Files the CLI writes (through temp file + rename) get the modes a plain `open` would give:
under umask 022 others can read them (a web server, a teammate), not 0600 like a temp file."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import torch

from sketchrnn.checkpoint import CheckpointMeta, save_checkpoint
from sketchrnn.config import DataConfig, LossConfig
from sketchrnn.model.presets import PRESETS
from sketchrnn.registry import build_model


def run_under_umask_022(*args: str, cwd: Path) -> Path:
    """`sketchrnn ARGS` in a subprocess under umask 022; returns the reference file it would
    get from a plain open() in the same umask."""
    code = ("import os, sys\nopen('reference', 'w').close()\n"
            "from sketchrnn.cli.main import main\nmain(sys.argv[1:])\n")
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200"}, timeout=300,
                          preexec_fn=lambda: os.umask(0o022))
    assert proc.returncode == 0, proc.stderr
    return cwd / "reference"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_sample_outputs_are_readable_by_others(tmp_path):
    torch.manual_seed(0)
    meta = CheckpointMeta(model="sketch_rnn", model_kwargs=dict(PRESETS["tiny"]), task="draw",
                          categories=["pig"], scale=30.0, max_seq_len=20,
                          data=DataConfig(max_seq_len=20), loss=LossConfig())
    ckpt = save_checkpoint(tmp_path / "pig", build_model("sketch_rnn", **PRESETS["tiny"]), meta)
    reference = run_under_umask_022("sample", "pig", "--checkpoint", str(ckpt), "-n", "1",
                                    "--format", "png,svg", "--out", "out", cwd=tmp_path)
    written = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert {p.suffix for p in written} >= {".png", ".svg"}
    assert mode(reference) == 0o644
    assert {p.name: mode(p) for p in written} == {p.name: 0o644 for p in written}


def test_prepared_npz_is_readable_by_others(tmp_path):
    square = {"word": "x", "drawing": [[[0, 50, 50, 0, 0], [0, 0, 50, 50, 0]]]}
    (tmp_path / "pig.ndjson").write_text("\n".join(json.dumps(square) for _ in range(10)) + "\n")
    reference = run_under_umask_022("data", "prepare", "pig.ndjson", "--out", "data", cwd=tmp_path)
    assert mode(tmp_path / "data" / "pig.npz") == mode(reference) == 0o644
