"""Outlier exposure: the loss term against its formula, the fixed category rule, strict reading of
the outlier drawings, the checkpoint record, and one real training run through the library."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from sketchrnn.data.outliers import (EVALUATION_CATEGORIES, SELECTION_CATEGORIES, concat_batches,
                                     match_extent, outlier_role, read_exposure_outliers)
from sketchrnn.errors import CheckpointError, DataError
from sketchrnn.losses.classification import uniform_cross_entropy

MODEL = ["alarm clock", "face", "pig", "radio"]


def test_uniform_cross_entropy_is_the_reference_formula():
    logits = torch.randn(7, 4, dtype=torch.float64) * 3
    z = logits.numpy()
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)  # softmax, written out
    reference = float(np.mean([-np.mean(np.log(row)) for row in p]))
    assert uniform_cross_entropy(logits).item() == pytest.approx(reference, rel=1e-12)
    uniform = torch.full((7, 4), 0.25, dtype=torch.float64)  # torch's soft-target cross-entropy
    assert uniform_cross_entropy(logits).item() == pytest.approx(
        torch.nn.functional.cross_entropy(logits, uniform).item(), rel=1e-12)
    # its minimum, log K, is reached by a uniform prediction and only there
    assert uniform_cross_entropy(torch.zeros(3, 4)).item() == pytest.approx(math.log(4))
    assert uniform_cross_entropy(logits).item() > math.log(4)


@pytest.mark.parametrize("spelling", ["Monkey", "power_outlet", "Power-Outlet", " teapot ",
                                      "SNOWMAN", "cake"])
def test_held_out_categories_are_never_exposure(spelling):
    assert outlier_role(spelling, MODEL) in ("evaluation", "selection")


def test_role_rule():
    assert outlier_role("pig", MODEL) == "inside"
    assert outlier_role("clock", MODEL) == "excluded"  # shares a word with "alarm clock"
    assert outlier_role("smiley face", MODEL) == "excluded"
    assert outlier_role("ant", MODEL) == "exposure"
    assert not set(EVALUATION_CATEGORIES) & set(SELECTION_CATEGORIES)
    assert len(EVALUATION_CATEGORIES) >= 3


def _drawing(k: int, rng: np.random.Generator) -> list:
    xs = rng.integers(0, 255, k).tolist()
    ys = rng.integers(0, 255, k).tolist()
    return [[xs, ys]]


def _write(folder: Path, name: str, sizes: list[int], seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    lines = [json.dumps({"word": name, "drawing": _drawing(k, rng)}) for k in sizes]
    (folder / f"{name}.ndjson").write_text("\n".join(lines) + "\n")


def test_reading_uses_exposure_categories_only(tmp_path):
    for name in ("monkey", "cake", "piano", "power outlet", "clock", "pig"):
        _write(tmp_path, name, [20] * 5)
    _write(tmp_path, "ant", [21] * 3)
    _write(tmp_path, "bee", [22, 23, 4])  # a 4-point drawing is shorter than min_seq_len
    found = read_exposure_outliers(tmp_path, MODEL, min_seq_len=10, max_seq_len=100)
    assert found.categories == ["ant", "bee"]
    # n points give n - 1 stroke-3 rows: only the ant and bee drawings, the short one dropped
    assert sorted(found.sketches.lengths.tolist()) == [20, 20, 20, 21, 22]
    assert (found.sketches.labels == -1).all()
    assert set(found.skipped) == {"monkey", "cake", "piano", "power outlet", "clock", "pig"}


def test_every_real_category_folder_keeps_evaluation_out(tmp_path):
    """The 344-category folder holds every evaluation and selection category: none is used."""
    for name in EVALUATION_CATEGORIES + SELECTION_CATEGORIES + ("ant",):
        _write(tmp_path, name, [15] * 2)
    found = read_exposure_outliers(tmp_path, MODEL, min_seq_len=10, max_seq_len=100)
    assert found.categories == ["ant"]


@pytest.mark.parametrize("line, problem", [
    ('{"word": "ant", "drawing": [[[1, "2"], [3, 4]]]}', "x[1]"),
    ('{"word": "ant", "drawing": [[[1, 2], [3]]]}', "lengths"),
    ('{"word": "ant", "drawing": [[[1, NaN], [3, 4]]]}', "x[1]"),
    ('not json', "not valid JSON"),
])
def test_bad_outlier_line_is_an_error_naming_file_and_line(tmp_path, line, problem):
    _write(tmp_path, "ant", [12] * 2)
    with open(tmp_path / "ant.ndjson", "a") as f:
        f.write(line + "\n")
    with pytest.raises(DataError) as e:
        read_exposure_outliers(tmp_path, MODEL, min_seq_len=10, max_seq_len=100)
    assert "ant.ndjson line 3" in e.value.message and problem in e.value.message


def test_missing_or_empty_outlier_folder_is_an_error(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_exposure_outliers(tmp_path / "nope", MODEL, min_seq_len=10, max_seq_len=100)
    _write(tmp_path, "monkey", [20] * 3)  # only an evaluation category
    with pytest.raises(DataError, match="no drawings of an exposure category"):
        read_exposure_outliers(tmp_path, MODEL, min_seq_len=10, max_seq_len=100)


def test_match_extent_gives_the_reference_median_extent():
    from sketchrnn.data.strokes import SketchSet, extents

    rng = np.random.default_rng(1)
    small = SketchSet.from_list([rng.normal(0, 1, (12, 3)) for _ in range(9)], label=-1)
    big = SketchSet.from_list([rng.normal(0, 9, (12, 3)) for _ in range(5)])
    scaled, factor = match_extent(small, big)
    assert np.median(extents(scaled)) == pytest.approx(np.median(extents(big)))
    assert np.allclose(scaled.points[:, :2], small.points[:, :2] * factor)
    assert np.array_equal(scaled.points[:, 2], small.points[:, 2])


def test_concat_batches_pads_with_end_tokens():
    from sketchrnn.data.batching import make_batch
    from sketchrnn.data.strokes import SketchSet

    rng = np.random.default_rng(0)
    long = SketchSet.from_list([np.c_[rng.normal(size=(9, 2)), np.zeros(9)]] * 2)
    short = SketchSet.from_list([np.c_[rng.normal(size=(3, 2)), np.zeros(3)]], label=-1)
    a, b = make_batch(long, np.arange(2)), make_batch(short, np.arange(1))
    both = concat_batches(a, b)
    assert both.x.shape == (3, 10, 5) and both.labels.tolist() == [0, 0, -1]
    assert both.lengths.tolist() == [9, 9, 3]
    assert torch.equal(both.x[2, :4], b.x[0])
    assert (both.x[2, 4:] == torch.tensor([0, 0, 0, 0, 1.0])).all()


def test_meta_refuses_held_out_outliers_and_old_meta_loads(tmp_path):
    from sketchrnn.checkpoint import CheckpointMeta
    from sketchrnn.checkpoint_meta import read_meta
    from sketchrnn.config import DataConfig, LossConfig

    meta = CheckpointMeta(model="classifier", task="predict", categories=MODEL, scale=30.0,
                          max_seq_len=200, data=DataConfig(), loss=LossConfig())
    (tmp_path / "meta.json").write_text(meta.model_dump_json())
    assert read_meta(tmp_path).outlier_exposure is None  # a checkpoint without the field
    raw = json.loads(meta.model_dump_json())
    for bad in (["ant", "monkey"], ["pig"], ["clock"], ["../x"]):
        raw["outlier_exposure"] = {"weight": 0.5, "categories": bad, "n_sketches": 3,
                                   "source": "x"}
        (tmp_path / "meta.json").write_text(json.dumps(raw))
        with pytest.raises(CheckpointError, match="outlier_exposure"):
            read_meta(tmp_path)
    raw["outlier_exposure"]["categories"] = ["ant"]
    raw["outlier_exposure"]["weight"] = float("nan")
    (tmp_path / "meta.json").write_text(json.dumps(raw).replace("NaN", "1e400"))
    with pytest.raises(CheckpointError, match="outlier_exposure.weight"):
        read_meta(tmp_path)


def test_outlier_exposure_is_on_when_a_folder_is_set():
    from sketchrnn.config import Config

    assert not Config().predict.outliers.enabled  # no folder: the model trains as before
    on = Config.model_validate({"predict": {"outliers": {"data_dir": "others"}}}).predict.outliers
    assert on.enabled and on.weight == 0.5
    off = Config.model_validate({"predict": {"outliers": {"data_dir": "o", "weight": 0}}})
    assert not off.predict.outliers.enabled


def test_training_with_outliers_records_them(tmp_path):
    """A tiny predict job with outlier exposure, through the library as `sketchrnn fit` runs it:
    the outlier term is logged, and the checkpoint records the categories used."""
    from unittest import mock

    from sketchrnn.checkpoint_meta import read_meta
    from sketchrnn.config import validate_config
    from sketchrnn.train import artifacts
    from sketchrnn.train.job import make_jobs
    from sketchrnn.train.loop import fit_job
    from tests.conftest import tiny_runs_module

    tiny = tiny_runs_module()
    data_dir, outliers = tmp_path / "data", tmp_path / "data" / "others"
    outliers.mkdir(parents=True)
    tiny.make_data(data_dir, n_train=30, n_eval=10)
    _write(outliers, "ant", [20] * 6)
    _write(outliers, "monkey", [20] * 6)  # held out: must not be used
    train = {"eval_every": 4, "checkpoint_every": 4, "eval_batches": 1, "device": "cpu",
             "steps": 4}
    config = validate_config({
        "data": {"data_dir": str(data_dir), "batch_size": 12, "max_seq_len": 60, "min_seq_len": 5},
        "predict": {"model": {"name": "classifier", "preset": "tiny", "head_hidden": 16},
                    "train": train, "outliers": {"weight": 0.5, "data_dir": "others",
                                                 "per_batch": 5}},
    })
    (job,) = make_jobs(config, tiny.CATEGORIES, only="predict")
    with mock.patch.object(artifacts.RunContext, "plots", lambda self: None):
        fit_job(job, tmp_path / "runs" / "predict", device=torch.device("cpu"))
    meta = read_meta(tmp_path / "runs" / "predict" / "checkpoints" / "latest")
    assert meta.outlier_exposure.categories == ["ant"]
    assert meta.outlier_exposure.n_sketches == 6 and meta.outlier_exposure.weight == 0.5
    rows = [json.loads(r) for r in (tmp_path / "runs" / "predict" / "metrics.jsonl").open()]
    train_rows = [r for r in rows if r["split"] == "train"]
    assert train_rows and all(r["outlier_ce"] >= math.log(3) - 1e-6 for r in train_rows)
    assert all("outlier_ce" not in r for r in rows if r["split"] == "valid")


def test_a_second_file_of_a_held_out_category_is_held_out(tmp_path):
    """piling.js names its second teapot file teapot-2000: still a teapot, never an outlier."""
    _write(tmp_path, "teapot-2000", [15] * 2)
    _write(tmp_path, "ant", [15] * 2)
    found = read_exposure_outliers(tmp_path, MODEL, min_seq_len=10, max_seq_len=100)
    assert found.categories == ["ant"] and found.skipped == {"teapot-2000": "evaluation"}
