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
       "--set", "data.batch_size=32", "--set", "data.max_seq_len=60",
       # the plugin's own options: not derived from dec_hidden (16 and 4 for the tiny preset)
       "--set", "draw.model.hyper_hidden=12", "--set", "draw.model.hyper_embedding=5",
       "--set", "draw.loss.cycle_steps=7")


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
    # each model and loss lists its own options: name, type, default, description
    hyper = {o["name"]: o for o in rows[("models", "hyper_sketch_rnn")]["options"]}
    assert hyper["hyper_hidden"]["type"] == "int | None" and hyper["hyper_hidden"]["default"] is None
    assert "Hyper LSTM size" in hyper["hyper_hidden"]["description"] and "dec_hidden" in hyper
    assert "head_hidden" not in hyper  # a classifier option is not the draw model's
    cyclical = {o["name"]: o for o in rows[("losses", "sketch_rnn_cyclical")]["options"]}
    assert cyclical["ramp_fraction"]["default"] == 0.5 and "cycle_steps" in cyclical
    assert "options" not in rows[("categories", "shapes")]


def test_fit_trains_the_plugin_model_and_sample_draws_with_it(trained, run_cli) -> None:
    job = trained / "runs" / f"draw-{CATEGORY}"
    meta = json.loads((job / "checkpoints" / "latest" / "meta.json").read_text())
    assert meta["model"] == "hyper_sketch_rnn" and meta["step"] == 20
    assert meta["categories"] == [CATEGORY]
    assert "sketchrnn-shapes" in meta["plugin_versions"]
    rows = [json.loads(line) for line in (job / "metrics.jsonl").read_text().splitlines()]
    valid = [r for r in rows if r["split"] == "valid"]
    assert valid and valid[-1]["kl_weight"] > 0  # the cyclical loss's terms were logged

    # exactly the model's own options are stored (no classifier arguments), with the plugin's
    assert meta["model_kwargs"] == {"enc_hidden": 16, "dec_hidden": 32, "z_dim": 8, "n_mixtures": 3,
                                    "cell": "lstm", "recurrent_dropout": 0.1,
                                    "hyper_hidden": 12, "hyper_embedding": 5}
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
    assert CATEGORY in sample.stdout + sample.stderr  # its category (checked first) or model is unknown


def test_the_plugin_options_rebuild_the_model_and_set_the_cycle(trained) -> None:
    from sketchrnn.checkpoint import load_checkpoint

    job = trained / "runs" / f"draw-{CATEGORY}"
    model, _, _ = load_checkpoint(job / "checkpoints" / "latest")
    assert model.cell.hyper_hidden == 12 and model.cell.embedding == 5
    assert model.cell.embed_scale.weight.shape == (2 * 4 * 5, 12)
    rows = [json.loads(line) for line in (job / "metrics.jsonl").read_text().splitlines()]
    last = [r for r in rows if r["split"] == "train"][-1]
    # Fu et al.'s ramp at the last 0-based step 19 with cycle_steps=7 (ramp_fraction 0.5), by hand;
    # the default cycle (1 / (1 - R) = 20,000 steps) would still be near the start: ~0.006
    tau = (19 % 7) / 7
    assert last["kl_weight"] == pytest.approx(0.5 * (0.01 + 0.99 * min(tau / 0.5, 1.0)), rel=1e-6)


def test_a_misspelled_plugin_option_is_an_error_naming_the_valid_ones(run_cli, tmp_path) -> None:
    result = run_cli("fit", CATEGORY, "--workers", "0", "--preset", "tiny", "--steps", "1",
                     "--set", "draw.model.name=hyper_sketch_rnn", "--set", "draw.model.hyper_sise=12",
                     "--set", "draw.loss.name=sketch_rnn_cyclical", "--set", "draw.loss.cycle_steps=0",
                     cwd=tmp_path, env=SMALL)
    out = result.stdout + result.stderr
    assert result.returncode == 1 and "Traceback" not in out, out
    assert "draw.model.hyper_sise: unknown option (did you mean 'hyper_hidden'?" in out
    assert "hyper_embedding" in out  # the valid options are listed
    assert "draw.loss.cycle_steps: Input should be greater than or equal to 1" in out  # reported together
    assert not (tmp_path / "runs").exists()
