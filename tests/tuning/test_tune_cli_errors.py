"""`sketchrnn tune` refuses bad input before Ray starts: one line, exit 1 (usage errors: exit 2)."""

from __future__ import annotations

import importlib.util

import pytest

from tuning_helpers import run_cli


def test_a_broken_space_file_is_one_line_listing_every_problem(tmp_path, sketch_dir):
    space = tmp_path / "bad.yaml"
    space.write_text("predict.train.lrr: {loguniform: [1.0e-4, 1.0e-2]}\n"
                     "predict.model.head_hidden: {uniform: [16, 64]}\n"
                     "predict.train.lr: {loguniform: [0.01, 0.001]}\n"
                     "draw.model.z_dim: {choice: [8, 16]}\n"
                     "data.batch_size: {gaussian: [8, 16]}\n")
    proc = run_cli("tune", "predict", "--categories", "cat,pig", "--space", str(space),
                   "--data-dir", str(sketch_dir), "--runs", str(tmp_path / "runs"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {space}: "), proc.stderr
    for needle in ("did you mean 'predict.train.lr'", "predict.model.head_hidden: is a whole number",
                   "low must be below high", "draw.model.z_dim: belongs to the draw models",
                   "unknown distribution 'gaussian'"):
        assert needle in lines[0]
    assert not (tmp_path / "runs").exists()  # nothing started


def test_usage_errors_exit_2(tmp_path):
    assert run_cli("tune", "draw", "--runs", str(tmp_path)).returncode == 2  # no category
    assert run_cli("tune", "draw", "cat", "pig", "--runs", str(tmp_path)).returncode == 2  # two
    assert run_cli("tune", "predict", "cat", "--runs", str(tmp_path)).returncode == 2  # one class
    proc = run_cli("tune", "predict", "--samples", "0", "--runs", str(tmp_path))
    assert proc.returncode == 2 and "--samples" in proc.stderr


def test_unknown_category_and_bad_config_are_one_line(tmp_path, sketch_dir):
    proc = run_cli("tune", "draw", "no such thing", "--data-dir", str(sketch_dir), "--runs", str(tmp_path))
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    proc = run_cli("tune", "draw", "cat", "--set", "draw.train.lr=-1", "--data-dir", str(sketch_dir))
    assert proc.returncode == 1 and "draw.train.lr" in proc.stderr


@pytest.mark.skipif(importlib.util.find_spec("optuna") is not None, reason="optuna is installed")
def test_optuna_asked_for_but_missing(tmp_path, sketch_dir):
    proc = run_cli("tune", "predict", "--categories", "cat,pig", "--search", "optuna",
                   "--data-dir", str(sketch_dir), "--runs", str(tmp_path))
    assert proc.returncode == 1 and "pip install optuna" in proc.stderr, proc.stderr
