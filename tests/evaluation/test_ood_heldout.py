"""OOD score and threshold chosen on real held-out selection categories; `eval predict` measured on
the held-out evaluation categories, by cut, against an independent recomputation."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from sketchrnn.cli import main as cli_main
from sketchrnn.data.outliers import EVALUATION_CATEGORIES
from sketchrnn.predict.calibration import SCORE_NAMES, fit_calibration, ood_scores


def pairwise_auroc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(s+ > s-) + P(s+ = s-) / 2 by counting every pair (the definition, not ranks)."""
    diff = pos[:, None] - neg[None, :]
    return float((diff > 0).mean() + (diff == 0).mean() / 2)


def test_score_is_chosen_on_real_selection_outliers_not_synthetic():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 400)
    logits = rng.normal(0, 1, (400, 3))
    logits[np.arange(400), labels] += 4  # confident, correct
    # Synthetic outliers: all logits small (energy separates them best); real ones: large but
    # flat logits (high energy, low max probability: only msp separates them).
    synthetic = rng.normal(-3, 0.3, (300, 3))
    real = rng.normal(5, 0.1, (300, 3))
    record = fit_calibration(logits, labels, synthetic, selection_logits=real)
    t = record["calibration_T"]
    inside, outside = ood_scores(logits, t), ood_scores(real, t)
    expected = max(SCORE_NAMES, key=lambda k: pairwise_auroc(inside[k], outside[k]))
    assert record["ood_score"] == expected == "msp"
    assert record["ood_score_chosen_on"] == "selection"
    for k in SCORE_NAMES:
        assert record["ood_auroc_selection"][k] == pytest.approx(
            pairwise_auroc(inside[k], outside[k]))
    assert record["ood_auroc_synthetic"]["energy"] > record["ood_auroc_synthetic"]["msp"]
    # threshold: at most 5% of the valid sketches flagged, and Youden's J no worse than at 5%
    flagged_valid = (inside["msp"] < record["ood_threshold"]).mean()
    assert flagged_valid <= 0.05 + 1e-9
    j = (outside["msp"] < record["ood_threshold"]).mean() - flagged_valid
    at5 = np.quantile(inside["msp"], 0.05)
    assert j >= (outside["msp"] < at5).mean() - (inside["msp"] < at5).mean() - 1e-9
    without = fit_calibration(logits, labels, synthetic)
    assert without["ood_score"] in ("max_logit", "energy")  # both separate the synthetic ones
    assert without["ood_score_chosen_on"] == "synthetic"
    assert without["ood_quantile"] == 0.05


def _scribbles(folder, name: str, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(n):
        xy = np.clip(np.cumsum(rng.normal(0, 30, (20, 2)), 0) + 128, 0, 255).astype(int)
        lines.append(json.dumps({"word": name, "drawing": [xy.T.tolist()]}))
    (folder / f"{name}.ndjson").write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def evaluated(tiny_runs, tiny_data, tmp_path_factory):
    """A copy of the tiny runs and data, with two evaluation and one selection category added,
    recalibrated, then `eval predict --json` run on it."""
    root = tmp_path_factory.mktemp("heldout")
    runs, data = root / "runs", root / "data"
    shutil.copytree(tiny_runs, runs)
    shutil.copytree(tiny_data, data)
    _scribbles(data, "monkey", 30, 1)
    _scribbles(data, "cake", 25, 2)
    _scribbles(data, "piano", 25, 3)
    from sketchrnn.predict.calibration import calibrate

    record = calibrate(runs, data_dir=data)
    runner_args = ["eval", "predict", "--runs", str(runs), "--data-dir", str(data),
                   "--n-runs", "1", "-n", "30"]
    return runs, data, record, runner_args


@pytest.fixture
def cli(monkeypatch):
    monkeypatch.setitem(cli_main.COMMANDS, "eval", ("sketchrnn.cli.eval_cmd", "eval_group"))
    monkeypatch.setenv("COLUMNS", "250")  # the tables and lines unwrapped

    def invoke(*args: str) -> str:
        result = CliRunner().invoke(cli_main.cli, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    return invoke


def test_calibration_uses_selection_categories_only(evaluated):
    _, _, record, _ = evaluated
    assert record["ood_score_chosen_on"] == "selection"
    assert record["ood_selection_categories"] == ["piano"]
    assert record["n_selection"] == 25


def test_eval_predict_held_out_categories_by_cut(evaluated, cli):
    from sketchrnn.data.tail_cut import cut_tails
    from sketchrnn.evaluation.ood import load_ood
    from sketchrnn.predict.inference import classify
    from sketchrnn.predict.loading import load_data
    from sketchrnn.predict.predictor import Predictor
    from sketchrnn.runs import predict_checkpoint

    runs, data, record, args = evaluated
    section = json.loads(cli(*args, "--json"))["ood_heldout"]
    assert set(section["categories"]) == {"monkey", "cake"}
    assert set(section["missing"]) == set(EVALUATION_CATEGORIES) - {"monkey", "cake"}
    assert section["chosen_on"] == "selection" and section["selection_categories"] == ["piano"]
    assert section["outlier_exposure"] is None
    assert 0 <= section["flagged_in_distribution"] <= 1
    # By cut: recomputed independently (exact cuts are deterministic), pair counting for AUROC.
    predictor = Predictor.from_checkpoint(predict_checkpoint(runs), data_dir=data)
    test = load_data(predictor.meta, data).test
    ood = load_ood("monkey", predictor.meta, typical_extent_px=record["typical_extent_px"],
                   data_dir=data)
    chosen, t = record["ood_score"], record["calibration_T"]

    def score(sketches, c):
        cut = cut_tails(sketches, np.arange(len(sketches)), np.full(len(sketches), c))
        return ood_scores(classify(predictor.model, cut), t)[chosen]

    for c in ("0.0", "0.3", "0.5"):
        expected = pairwise_auroc(score(test, float(c)), score(ood.sketches, float(c)))
        assert section["categories"]["monkey"]["auroc_by_cut"][c] == pytest.approx(expected)
    assert section["min_auroc"] == min(v["auroc"][chosen] for v in section["categories"].values())


def test_eval_predict_shows_held_out_table_and_outliers(evaluated, cli):
    *_, args = evaluated
    out = cli(*args)
    assert "held-out categories" in out and "│ monkey" in out and "│ cake" in out
    assert "outlier exposure: none" in out and "flagged 'none of these'" in out
    assert "pretraining: none" in out


def test_ood_limit_takes_the_first_drawings(evaluated, cli):
    *_, args = evaluated
    section = json.loads(cli(*args, "--ood-limit", "7", "--json"))["ood_heldout"]
    assert {c["n"] for c in section["categories"].values()} == {7}
