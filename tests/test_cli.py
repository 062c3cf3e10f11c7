"""The real CLI in a subprocess: help, exit codes, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sketchrnn.cli.main import COMMANDS


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "sketchrnn", *args], capture_output=True, text=True, cwd=cwd,
        env=full_env, timeout=300,
    )


def test_help_lists_every_command_with_a_description():
    result = run_cli("--help")
    assert result.returncode == 0, result.stderr
    for name in COMMANDS:
        line = next((ln for ln in result.stdout.splitlines() if ln.strip().startswith(name + " ")), None)
        assert line is not None and len(line.split()) > 1, f"{name} missing from --help"


def test_help_does_not_import_torch_or_ray():
    code = (
        "import sys\nfrom sketchrnn.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('torch' in sys.modules, 'ray' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert out.strip().splitlines()[-1] == "False False"


@pytest.mark.parametrize("command", ["fit", "sample", "reconstruct", "interpolate", "plugins",
                                     "data list", "data download", "data info", "data prepare"])
def test_every_command_has_help_with_examples(command):
    result = run_cli(*command.split(), "--help")
    assert result.returncode == 0, result.stderr
    assert "Examples:" in result.stdout


def test_unknown_command_is_a_usage_error():
    result = run_cli("fitt")
    assert result.returncode == 2
    assert "Did you mean 'fit'" in result.stderr


def test_known_error_is_one_line_with_exit_1(tmp_path):
    result = run_cli("fit", "piig", "--data-dir", str(tmp_path))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "piig" in lines[0] and "'pig'" in lines[0]
    assert "Traceback" not in result.stderr


def test_invalid_config_values_reported_together(tmp_path):
    result = run_cli("fit", "pig", "--set", "draw.train.lr=-1", "--set", "data.batch_size=0")
    assert result.returncode == 1
    assert "draw.train.lr" in result.stderr and "data.batch_size" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_debug_shows_traceback(tmp_path):
    result = run_cli("--debug", "fit", "piig")
    assert result.returncode == 1 and "Traceback" in result.stderr


def test_plugins_lists_builtins():
    result = run_cli("plugins")
    assert result.returncode == 0, result.stderr
    for name in ("sketch_rnn", "sketch_rnn_uncond", "classifier", "classification", "quickdraw"):
        assert name in result.stdout
    assert "error" not in result.stdout


def test_data_info_on_real_data(shared_quickdraw):
    result = run_cli("data", "info", "pig", "--data-dir", str(shared_quickdraw))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "1,800" in out and "200" in out and "scale factor" in out
