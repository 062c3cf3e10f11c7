"""Malformed inputs through the real CLI (a subprocess): exit 1, one line on stderr, no traceback.

The input is validated before torch is imported or a checkpoint is looked for, so these runs
are quick and need no trained model.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

# The real entry point; registers the commands in case sketchrnn/cli/main.py does not yet.
LAUNCH = ("from sketchrnn.cli import main as m; "
          "m.COMMANDS.setdefault('predict', ('sketchrnn.cli.predict_cmd', 'predict')); "
          "m.COMMANDS.setdefault('eval', ('sketchrnn.cli.eval_cmd', 'eval_group')); m.main()")


def run_cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", LAUNCH, *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def _write(tmp_path, name: str, content) -> str:
    path = tmp_path / name
    if isinstance(content, np.ndarray):
        np.save(path, content)
    else:
        path.write_text(content)
    return str(path)


CASES = {
    "empty": ("empty.json", "", "the file is empty"),
    "one point": ("one.json", "[[[3, 4]]]", "only one point"),
    "nan": ("nan.json", "[[1, 2, 0], [NaN, 0, 1]]", "NaN"),
    "wrong nesting": ("nest.json", '[[1, 2, 0], ["a", 2]]', "not [dx, dy, pen]"),
    "a million points": ("huge.npy", np.ones((10**6, 3), np.int8), "1,000,000 points"),
    "unknown extension": ("sketch.svg", "<svg/>", "unknown extension '.svg'"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_input_is_one_line_exit_1(tmp_path, case):
    name, content, problem = CASES[case]
    path = _write(tmp_path, name, content)
    result = run_cli("predict", path, "--runs", str(tmp_path / "runs"))
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and path in lines[0] and problem in lines[0]
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_missing_model_is_one_line_with_how_to_train(tmp_path):
    path = _write(tmp_path, "ok.json", "[[10, 0, 0], [0, 10, 1]]")
    result = run_cli("predict", path, "--runs", str(tmp_path / "runs"))
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "no trained model 'predict'" in result.stderr and "sketchrnn fit" in result.stderr


def test_file_and_from_test_together_is_a_usage_error(tmp_path):
    path = _write(tmp_path, "ok.json", "[[10, 0, 0], [0, 10, 1]]")
    result = run_cli("predict", path, "--from-test", "pig")
    assert result.returncode == 2 and "Traceback" not in result.stderr
