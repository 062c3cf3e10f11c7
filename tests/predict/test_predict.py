"""`sketchrnn predict` on a tiny trained model: output format, determinism, OOD verdict,
completion files, the --from-test path, and the calibration stored in the checkpoint."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from sketchrnn.checkpoint import read_meta
from sketchrnn.cli import main as cli_main
from sketchrnn.checkpoint import update_meta
from sketchrnn.predict.calibration import read_calibration
from sketchrnn.predict.inputs import RawSketch
from sketchrnn.predict.predictor import Predictor

KEYS = {"source", "points", "top", "prediction", "in_distribution", "verdict", "score",
        "calibration_T", "calibrated", "categories", "notes", "completion"}


@pytest.fixture
def cli(monkeypatch):
    monkeypatch.setitem(cli_main.COMMANDS, "predict", ("sketchrnn.cli.predict_cmd", "predict"))

    def invoke(*args: str):
        result = CliRunner().invoke(cli_main.cli, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    return invoke


@pytest.fixture
def circle_file(tmp_path):
    """The first 60% of a circle, as absolute [x, y] points."""
    t = np.linspace(0, 1.2 * np.pi, 14)
    points = np.round(np.stack([np.cos(t), np.sin(t)], 1) * 110).astype(int).tolist()
    path = tmp_path / "circle.json"
    path.write_text(json.dumps([points]))
    return path


def test_json_output_and_completion_files(cli, tiny_runs, circle_file):
    out = json.loads(cli("predict", str(circle_file), "--runs", str(tiny_runs), "--json"))
    assert set(out) == KEYS
    assert [row["category"] for row in out["top"]][0] == out["prediction"] == "circle"
    assert out["in_distribution"] and out["verdict"] == "circle" and out["calibrated"]
    probs = [row["probability"] for row in out["top"]]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-9
    assert set(out["score"]) == {"name", "value", "threshold"}
    completion = out["completion"]  # the circle draw model exists in the tiny runs
    for key in ("png", "gif", "input_png"):
        assert completion[key].startswith(str(circle_file.parent)) and \
            (circle_file.parent / completion[key].split("/")[-1]).stat().st_size > 0
    assert completion["points"] >= out["points"]  # the user's strokes, then what was drawn


def test_prediction_is_deterministic(cli, tiny_runs, circle_file, tmp_path):
    args = ["predict", str(circle_file), "--runs", str(tiny_runs), "--json"]
    first, second = json.loads(cli(*args)), json.loads(cli(*args))
    assert first == second
    png = (tmp_path / "circle_completion.png").read_bytes()
    cli(*args)
    assert (tmp_path / "circle_completion.png").read_bytes() == png  # seeded completion


def test_rich_output_names_the_verdict(cli, tiny_runs, circle_file):
    text = cli("predict", str(circle_file), "--runs", str(tiny_runs), "--no-complete")
    assert "verdict: circle" in text and "probability" in text


def test_from_test_cuts_a_test_sketch(cli, tiny_runs, tiny_data, tmp_path):
    out = json.loads(cli("predict", "--from-test", "zigzag", "--cut", "0.5", "--index", "2",
                         "--runs", str(tiny_runs), "--data-dir", str(tiny_data), "--json",
                         "--no-complete"))
    assert out["source"] == "test:zigzag[2] cut 50%" and out["completion"] is None


def test_random_scribble_is_out_of_distribution(tiny_runs, tmp_path):
    """The verdict follows the stored score and threshold: with the threshold set between a real
    circle's score and a scribble's, the scribble is "not one of" the categories and gets no
    prediction, the circle keeps its category."""
    checkpoint = tmp_path / "ckpt"
    shutil.copytree(tiny_runs / "predict" / "checkpoints" / "best", checkpoint)
    predictor = Predictor.from_checkpoint(checkpoint)
    rng = np.random.default_rng(0)
    scribble = np.concatenate([rng.normal(0, 60, (40, 2)), (rng.random((40, 1)) < 0.3)], 1)
    t = np.linspace(0, 2 * np.pi, 24)
    circle = np.diff(np.stack([np.cos(t), np.sin(t)], 1) * 120, axis=0)
    circle = np.concatenate([circle, np.zeros((len(circle), 1))], 1)
    raw = {k: RawSketch(v, "data", k) for k, v in (("scribble", scribble), ("circle", circle))}
    name = predictor.calibration["ood_score"]
    value = {k: predictor.predict(r)[0].score["value"] for k, r in raw.items()}
    assert value["circle"] > value["scribble"], "the tiny model cannot tell these apart"
    record = {**predictor.calibration, "ood_threshold": (value["circle"] + value["scribble"]) / 2}
    update_meta(checkpoint, extra={"calibration": record})
    predictor = Predictor.from_checkpoint(checkpoint)
    garbage, _ = predictor.predict(raw["scribble"])
    assert not garbage.in_distribution and garbage.prediction is None
    assert garbage.verdict == "not one of: circle, square, zigzag"
    assert garbage.score["name"] == name
    real, _ = predictor.predict(raw["circle"])
    assert real.in_distribution and real.prediction == "circle"


def test_calibration_is_stored_with_the_model(tiny_runs):
    record = read_calibration(read_meta(tiny_runs / "predict" / "checkpoints" / "best"))
    assert record is not None
    assert 0.05 <= record["calibration_T"] <= 20
    assert record["nll_valid"] <= record["nll_valid_t1"] + 1e-12  # T=1 is one of the candidates
    assert record["ood_score"] in record["ood_auroc_synthetic"]
    assert record["typical_extent_px"] > 0


def test_missing_calibration_is_fitted_on_demand(tiny_runs, tiny_data, tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(tiny_runs / "predict", runs / "predict")
    best = runs / "predict" / "checkpoints" / "best"
    update_meta(best, extra={"calibration": None})
    assert read_calibration(read_meta(best)) is None
    predictor = Predictor.from_checkpoint(best, data_dir=tiny_data)
    assert predictor.calibration is not None
    assert read_calibration(read_meta(best)) == predictor.calibration


def test_canvas255_drawings_are_stretched_to_the_data_extent(tiny_runs):
    predictor = Predictor.from_checkpoint(tiny_runs / "predict" / "checkpoints" / "best")
    strokes = np.array([[100.0, 0, 0], [0, 100, 1]])
    as_data, _ = predictor.to_model_units(RawSketch(strokes, "data", "a"))
    as_canvas, notes = predictor.to_model_units(RawSketch(strokes, "canvas255", "b"))
    stretch = predictor.calibration["typical_extent_px"] / 255
    np.testing.assert_allclose(as_canvas[:, :2], as_data[:, :2] * stretch, rtol=1e-5)
    np.testing.assert_allclose(as_data[:, :2], strokes[:, :2] / predictor.meta.scale, rtol=1e-5)
    assert "stretched" in notes[0]


def test_checkpoints_calibrated_before_the_rename_still_read():
    """The calibration record's T was stored as "temperature"; it now reads as calibration_T."""
    from types import SimpleNamespace

    from sketchrnn.predict.calibration import CALIBRATION_T, read_calibration

    old = {"temperature": 1.7, "ood_score": "msp", "ood_threshold": 0.5}
    record = read_calibration(SimpleNamespace(extra={"calibration": old}))
    assert record[CALIBRATION_T] == 1.7 and "temperature" not in record
    assert read_calibration(SimpleNamespace(extra={"calibration": {"ood_score": "msp"}})) is None
