"""`sketchrnn eval predict` and `eval draw` end to end on the tiny trained runs (in-process CLI):
results JSON beside the model, plots, OOD AUROC from an ndjson category, seeded numbers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from sketchrnn.cli import main as cli_main
from sketchrnn.data.npz import load_npz


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
    quality = out["sample_quality"]
    assert quality["k"] == 3  # empty samples have no features: they are counted apart
    assert quality["generated"]["n_generated"] + quality["empty_samples"] == 6
    inside = quality["generated"]["precision"] * 6  # empty samples count as outside
    assert inside == pytest.approx(round(inside)) and round(inside) <= quality["generated"]["n_generated"]
    assert quality["generated"]["n_real"] == quality["floor"]["n_real"] == 30  # test circles
    assert quality["floor"]["n_generated"] == 30  # the valid circles, judged like samples
    again = json.loads(cli("eval", "draw", "circle", "--runs", str(tiny_runs), "-n", "6",
                           "--json"))
    assert again["test"] == test and again["recognisability"] == recog
    assert again["sample_quality"] == quality
    from sketchrnn.runs import recorded_sample_fid  # recorded for the sampling rule

    fid, settings = recorded_sample_fid(Path(out["checkpoint"]))
    assert fid == quality["generated"]["fid"]
    assert settings["n"] == 6 and settings["k"] == 3 and settings["seed"] == 0


def test_eval_draw_fails_a_model_that_draws_one_sketch_over_and_over(cli, tiny_runs, tiny_data,
                                                                      monkeypatch):
    from sketchrnn import sampling
    from sketchrnn.runs import load_draw_for

    _, _, meta = load_draw_for("circle", tiny_runs)
    one = np.asarray(load_npz(tiny_data / "circle.npz").train[0], np.float32)
    one[:, :2] /= meta.scale  # a real circle, in the draw model's units
    monkeypatch.setattr(sampling, "sample", lambda model, n, **kw: [one.copy() for _ in range(n)])
    out = json.loads(cli("eval", "draw", "circle", "--runs", str(tiny_runs), "-n", "60", "--json"))
    assert out["recognisability"]["recognised"] == 1.0  # every copy is a good circle...
    quality = out["sample_quality"]
    assert quality["generated"]["recall"] == 0.0  # ...and together they cover no other circle
    assert quality["generated"]["fid"] > 10 * quality["floor"]["fid"]
    assert quality["floor"]["recall"] > 0.5


def test_eval_draw_table_and_too_few_samples(cli, tiny_runs):
    text = cli("eval", "draw", "circle", "--runs", str(tiny_runs), "-n", "8", "--k", "2")
    assert "real valid (floor)" in text and "recall" in text and "k=2" in text
    real = json.loads((tiny_runs / "draw-circle" / "eval.json").read_text())["sample_quality"]["real_recognised"]
    assert f"names 'circle': valid {real['valid']:.1%}, test {real['test']:.1%}" in " ".join(text.split())
    result = CliRunner().invoke(cli_main.cli, ["eval", "draw", "circle", "--runs", str(tiny_runs),
                                               "-n", "3"])
    assert result.exit_code == 2 and "--k 3" in result.output


def test_eval_draw_prints_why_sample_quality_was_skipped_verbatim(cli, tiny_runs, monkeypatch):
    """The reason holds brackets ("[n >= 4, d]"); the console must not read them as markup."""
    from sketchrnn.evaluation import draw_eval

    def too_few(*args, **kwargs):
        raise ValueError("generated features must be [n >= 4, d], got shape (2, 8)")

    monkeypatch.setattr(draw_eval, "sample_quality", too_few)
    text = " ".join(cli("eval", "draw", "circle", "--runs", str(tiny_runs), "-n", "6").split())
    assert "sample quality: skipped (generated features must be [n >= 4, d], got shape (2, 8)" \
        in text
