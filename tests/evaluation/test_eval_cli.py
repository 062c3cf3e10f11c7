"""`sketchrnn eval predict` and `eval draw` end to end on the tiny trained runs (in-process CLI):
results JSON beside the model, plots, OOD AUROC from an ndjson category, seeded numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from sketchrnn.cli import main as cli_main


@pytest.fixture
def cli(monkeypatch):
    monkeypatch.setitem(cli_main.COMMANDS, "eval", ("sketchrnn.cli.eval_cmd", "eval_group"))

    def invoke(*args: str) -> str:
        result = CliRunner().invoke(cli_main.cli, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    return invoke


@pytest.fixture(scope="module")
def ood_dir(tmp_path_factory):
    """A held-out category as QuickDraw *simplified* ndjson (0-255 canvas): random scribbles."""
    folder = tmp_path_factory.mktemp("ood")
    rng = np.random.default_rng(0)
    lines = []
    for _ in range(25):
        xy = np.clip(np.cumsum(rng.normal(0, 30, (20, 2)), 0) + 128, 0, 255).astype(int)
        lines.append(json.dumps({"word": "squiggle", "drawing": [xy.T.tolist()]}))
    (folder / "squiggle.ndjson").write_text("\n".join(lines) + "\n")
    return folder


def test_eval_predict_writes_results_beside_the_model(cli, tiny_runs, ood_dir):
    args = ["eval", "predict", "--runs", str(tiny_runs), "--n-runs", "2", "-n", "30",
            "--ood-category", "squiggle", "--ood-file", str(ood_dir / "squiggle.ndjson"), "--json"]
    out = json.loads(cli(*args))
    root = tiny_runs / "predict"
    assert out["paths"]["json"] == str(root / "eval.json")
    assert json.loads((root / "eval.json").read_text()) == out
    for plot in ("confusion", "accuracy_by_cut"):
        assert (root / f"eval_{plot}.png").stat().st_size > 0
    assert len(out["runs"]) == 2 and np.sum(out["confusion"]) == 60
    assert [r["cut"] for r in out["accuracy_by_cut"]][-1] == 0.9
    ood = out["ood"]
    assert ood["n_ood"] == 25 and set(ood["auroc"]) == {"msp", "max_logit", "energy"}
    assert ood["stretch"] != 1.0 and "stretched" in ood["note"]  # 0-255 canvas -> data extent
    again = json.loads(cli(*args))
    assert again["summary"] == out["summary"] and again["ood"]["auroc"] == ood["auroc"]


def test_eval_predict_tables(cli, tiny_runs):
    text = cli("eval", "predict", "--runs", str(tiny_runs), "--n-runs", "2", "-n", "20")
    assert "accuracy by cut fraction" in text and "accuracy" in text


def test_eval_draw_losses_and_recognisability(cli, tiny_runs):
    out = json.loads(cli("eval", "draw", "circle", "--runs", str(tiny_runs), "-n", "6", "--json"))
    test = out["test"]
    assert test["recon"] == pytest.approx(test["offsets"] + test["pen"])
    assert test["total"] == pytest.approx(
        test["recon"] + test["kl_weight"] * max(test["kl"], test["kl_min"]))
    assert test["kl_weight"] == 0.5  # the job's configured w_KL, stated with the numbers
    recog = out["recognisability"]
    assert recog["n"] == 6 and 0 <= recog["recognised"] <= 1 and recog["temperature"] == 0.25
    assert sum(recog["assigned"].values()) + recog["empty_samples"] == 6
    assert (tiny_runs / "draw-circle" / "eval.json").is_file()
    again = json.loads(cli("eval", "draw", "circle", "--runs", str(tiny_runs), "-n", "6",
                           "--json"))
    assert again["test"] == test and again["recognisability"] == recog
