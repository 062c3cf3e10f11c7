"""The plugin through the real CLI: listed, trained on, sampled from; and the core without it.

One small training run serves every test here (module fixture): tiny preset, 20 steps, small
splits and short sequences keep it to seconds on two CPU cores.
"""

from __future__ import annotations

import importlib.util
import json

import pytest

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("sketchrnn_shapes") is None,
    reason="sketchrnn-shapes is not installed (pip install ./plugins/sketchrnn-shapes)",
)

CATEGORY = "shape-square"
SMALL = {"SKETCHRNN_SHAPES_SIZES": "200,50,50"}
NO_PLUGINS = {"SKETCHRNN_DISABLE_PLUGIN_AUTOLOAD": "1"}
FIT = ("fit", CATEGORY, "--workers", "0", "--preset", "tiny", "--steps", "20", "--runs", "runs",
       "--set", "draw.model.name=hyper_sketch_rnn", "--set", "draw.loss.name=sketch_rnn_cyclical",
       "--set", "data.batch_size=32", "--set", "data.max_seq_len=60")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A runs folder with one hyper_sketch_rnn job trained on shape-square by `sketchrnn fit`."""
    import os
    import subprocess
    import sys

    cwd = tmp_path_factory.mktemp("shapes-cli")
    env = {**os.environ, "COLUMNS": "200", "OMP_NUM_THREADS": "1", **SMALL}
    result = subprocess.run([sys.executable, "-m", "sketchrnn", *FIT], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return cwd


def test_plugins_lists_its_entries_with_the_distribution(run_cli, tmp_path) -> None:
    result = run_cli("plugins", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = {(r["group"], r["name"]): r for r in json.loads(result.stdout)}
    for key in (("categories", "shapes"), ("models", "hyper_sketch_rnn"), ("losses", "sketch_rnn_cyclical")):
        assert rows[key]["distribution"].startswith("sketchrnn-shapes "), rows[key]
        assert rows[key]["status"] == "ok", rows[key]
    assert rows[("categories", "quickdraw")]["status"] == "ok"  # the built-ins are unaffected


def test_fit_trains_the_plugin_model_and_sample_draws_with_it(trained, run_cli) -> None:
    job = trained / "runs" / f"draw-{CATEGORY}"
    meta = json.loads((job / "checkpoints" / "latest" / "meta.json").read_text())
    assert meta["model"] == "hyper_sketch_rnn" and meta["step"] == 20
    assert meta["categories"] == [CATEGORY]
    assert "sketchrnn-shapes" in meta["plugin_versions"]
    rows = [json.loads(line) for line in (job / "metrics.jsonl").read_text().splitlines()]
    valid = [r for r in rows if r["split"] == "valid"]
    assert valid and valid[-1]["kl_weight"] > 0  # the cyclical loss's terms were logged

    result = run_cli("sample", CATEGORY, "--runs", "runs", "-n", "3", "--format", "png",
                     "--out", "out", "--seed", "1", cwd=trained)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.name for p in (trained / "out").iterdir()) == [
        "sample_000.png", "sample_001.png", "sample_002.png", "sample_grid.png"]


def test_without_the_plugin_the_core_still_works(trained, run_cli, tmp_path) -> None:
    listed = run_cli("plugins", "--json", cwd=tmp_path, env=NO_PLUGINS)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert rows and {r["distribution"].split()[0] for r in rows} == {"sketchrnn"}
    assert all(r["status"] == "ok" for r in rows)

    # The plugin's category and model are now unknown: one clean line and exit 1, no traceback.
    fit = run_cli("fit", CATEGORY, "--workers", "0", "--steps", "1", cwd=tmp_path, env=NO_PLUGINS)
    assert fit.returncode == 1 and "Traceback" not in fit.stderr
    assert f"unknown category '{CATEGORY}'" in fit.stdout + fit.stderr
    sample = run_cli("sample", CATEGORY, "--runs", "runs", "-n", "1", "--format", "png",
                     "--out", "out-disabled", cwd=trained, env=NO_PLUGINS)
    assert sample.returncode == 1 and "Traceback" not in sample.stderr
    assert "hyper_sketch_rnn" in sample.stdout + sample.stderr
