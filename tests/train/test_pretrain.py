"""Pretraining the predict model's encoder on other categories' drawings: which categories the
corpus may hold (the outlier rule, applied here by hand), duplicates kept once, each source's
size matched, the encoder carried over, the checkpoint record, and a real job through the library."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from sketchrnn.data.outliers import EVALUATION_CATEGORIES, SELECTION_CATEGORIES, file_category
from sketchrnn.data.pretrain_corpus import read_pretrain_corpus
from sketchrnn.data.strokes import SketchSet, extents
from sketchrnn.errors import CheckpointError, DataError

MODEL = ["alarm clock", "face", "pig", "radio"]


def _drawings(n: int, k: int, seed: int, span: int = 255) -> list[list]:
    rng = np.random.default_rng(seed)
    return [[[rng.integers(0, span, k).tolist(), rng.integers(0, span, k).tolist()]]
            for _ in range(n)]


def _ndjson(path: Path, drawings: list[list], first_id: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"word": path.stem, "key_id": str(first_id + i), "drawing": d})
             for i, d in enumerate(drawings)]
    path.write_text("\n".join(lines) + "\n")


def _piling(path: Path, drawings: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([{"src": d, "recognized": True} for d in drawings]))


def _npz(path: Path, n: int, seed: int) -> Path:
    from sketchrnn.data.npz import SketchSplits, save_npz

    rng = np.random.default_rng(seed)
    sketches = [np.c_[rng.integers(-50, 50, (20, 2)), np.r_[np.zeros(19), 1]].astype(np.int16)
                for _ in range(n)]
    save_npz(SketchSplits(train=sketches[:-2], valid=sketches[-2:-1], test=sketches[-1:]), path)
    return path


REFERENCE = SketchSet.from_list([np.array([[3.0, 0, 0], [0, 3, 0], [-3, 0, 1]])] * 4)


def _read(folder: Path | None, npz: dict[str, Path] | None = None):
    return read_pretrain_corpus(folder, npz or {}, MODEL, reference=REFERENCE, min_seq_len=5,
                                max_seq_len=100)


def test_corpus_categories_are_the_rule_applied_by_hand(tmp_path):
    """Every held-out and excluded category, and the model's own from any source, stays out."""
    held_out = EVALUATION_CATEGORIES + SELECTION_CATEGORIES
    for i, name in enumerate(held_out + ("clock", "pig", "alarm clock", "ant")):
        _ndjson(tmp_path / "simplified" / f"{name}.ndjson", _drawings(3, 12, i), 100 * i)
    _piling(tmp_path / "piling" / "teapot-2000.json", _drawings(3, 12, 50))  # a second teapot file
    _piling(tmp_path / "piling" / "smiley-face.json", _drawings(3, 12, 51))  # shares "face"
    _piling(tmp_path / "piling" / "power-outlet.json", _drawings(3, 12, 52))
    _piling(tmp_path / "piling" / "bee.json", _drawings(3, 12, 53))
    npz = {"sheep": _npz(tmp_path / "sheep.npz", 6, 1), "Face": _npz(tmp_path / "f.npz", 6, 2)}
    corpus = _read(tmp_path, npz)
    assert corpus.categories == ["ant", "bee", "sheep"]
    assert not set(corpus.categories) & {"cake", "monkey", "snowman", "teapot", "necklace",
                                         "piano", "power outlet", "clock", "smiley face", *MODEL}
    assert corpus.skipped["teapot"] == "evaluation" and corpus.skipped["face"] == "inside"
    assert corpus.skipped["smiley face"] == "excluded" and corpus.skipped["pig"] == "inside"
    # 3 ants + 3 bees + the sheep npz's 6 sketches of all three splits, labelled by sorted name
    assert np.bincount(corpus.sketches.labels).tolist() == [3, 3, 6]
    assert sum(corpus.sources.values()) == 12


@pytest.mark.parametrize("file_name", ["teapot-2000.json", "Power-Outlet.ndjson", "monkey.ndjson",
                                       "snowman_2.json", "piano.ndjson", "cake 12.json"])
def test_file_names_of_held_out_categories_are_held_out(file_name):
    assert file_category(Path(file_name)) in EVALUATION_CATEGORIES + SELECTION_CATEGORIES


def test_the_same_drawing_in_two_files_is_kept_once(tmp_path):
    ants = _drawings(4, 12, 0)
    _ndjson(tmp_path / "simplified" / "ant.ndjson", ants, 0)
    _ndjson(tmp_path / "raw" / "ant.ndjson", _drawings(4, 12, 9), 2)  # ids 2..5: 2 and 3 shared
    _piling(tmp_path / "piling" / "bee.json", _drawings(3, 12, 1) * 2)  # each drawing twice
    corpus = _read(tmp_path)
    assert np.bincount(corpus.sketches.labels).tolist() == [6, 3]


def test_each_source_is_sized_like_the_training_sketches(tmp_path):
    _ndjson(tmp_path / "small" / "ant.ndjson", _drawings(5, 12, 0, span=40), 0)
    _ndjson(tmp_path / "big" / "bee.ndjson", _drawings(5, 12, 1, span=2000), 100)
    corpus = _read(tmp_path)
    for label in (0, 1):
        one = corpus.sketches.subset(corpus.sketches.labels == label)
        assert np.median(extents(one)) == pytest.approx(np.median(extents(REFERENCE)), rel=1e-5)


def test_no_usable_source_is_an_error(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        _read(tmp_path / "nope")
    _ndjson(tmp_path / "monkey.ndjson", _drawings(3, 12, 0))
    with pytest.raises(DataError, match="0 usable categories"):
        _read(tmp_path)
    with pytest.raises(DataError, match="npz"):
        _read(None, {"sheep": tmp_path / "missing.npz"})


def test_copy_encoder_carries_every_weight_but_the_head():
    from sketchrnn.model.classifier import SketchClassifier
    from sketchrnn.train.pretrain import copy_encoder

    torch.manual_seed(0)
    kwargs = dict(enc_hidden=8, z_dim=6, head_hidden=5, conv_channels=6)
    twin, model = SketchClassifier(n_categories=30, **kwargs), SketchClassifier(n_categories=4, **kwargs)
    head_before = {k: v.clone() for k, v in model.head.state_dict().items()}
    copy_encoder(twin, model)
    source = twin.state_dict()
    for name, value in model.state_dict().items():
        if name.startswith("head."):
            assert torch.equal(value, head_before[name.removeprefix("head.")])
        else:
            assert torch.equal(value, source[name]), name
    assert model.head[-1].out_features == 4


def test_meta_refuses_held_out_pretraining_categories(tmp_path):
    from sketchrnn.checkpoint import CheckpointMeta
    from sketchrnn.checkpoint_meta import read_meta
    from sketchrnn.config import DataConfig, LossConfig

    meta = CheckpointMeta(model="classifier", task="predict", categories=MODEL, scale=30.0,
                          max_seq_len=200, data=DataConfig(), loss=LossConfig())
    raw = json.loads(meta.model_dump_json())
    for bad in (["ant", "teapot"], ["pig"], ["smiley face"], ["../x"]):
        raw["pretrained"] = {"categories": bad, "n_sketches": 3, "sources": {"x": 3},
                             "steps": 5, "train_accuracy": 0.5}
        (tmp_path / "meta.json").write_text(json.dumps(raw))
        with pytest.raises(CheckpointError, match="pretrained"):
            read_meta(tmp_path)


def test_pretraining_is_on_when_a_source_is_set():
    from sketchrnn.config import Config

    assert not Config().predict.pretrain.enabled
    on = Config.model_validate({"predict": {"pretrain": {"npz": {"sheep": "s.npz"}}}})
    assert on.predict.pretrain.enabled and on.predict.pretrain.steps == 1000
    off = Config.model_validate({"predict": {"pretrain": {"data_dir": "d", "steps": 0}}})
    assert not off.predict.pretrain.enabled


def test_fit_starts_from_the_pretrained_encoder_and_records_it(tmp_path):
    """A tiny predict job with pretraining, through the library as `sketchrnn fit` runs it: the
    model the loop trains starts with the pretrained twin's encoder, the checkpoint records the
    corpus, and a resumed job keeps the record without pretraining again."""
    from unittest import mock

    from sketchrnn.checkpoint_meta import read_meta
    from sketchrnn.config import validate_config
    from sketchrnn.train import artifacts, pretrain
    from sketchrnn.train.job import make_jobs
    from sketchrnn.train.loop import fit_job
    from sketchrnn.train.tasks import PredictTask
    from tests.conftest import tiny_runs_module

    tiny = tiny_runs_module()
    data_dir = tmp_path / "data"
    tiny.make_data(data_dir, n_train=30, n_eval=10)
    _ndjson(data_dir / "others" / "a" / "ant.ndjson", _drawings(8, 20, 0), 0)
    _ndjson(data_dir / "others" / "b" / "bee.ndjson", _drawings(8, 20, 1), 100)
    _ndjson(data_dir / "others" / "b" / "monkey.ndjson", _drawings(8, 20, 2), 200)  # held out

    def config(steps: int):  # noqa: ANN202
        train = {"eval_every": 2, "checkpoint_every": 2, "eval_batches": 1, "device": "cpu",
                 "steps": steps}
        return validate_config({
            "data": {"data_dir": str(data_dir), "batch_size": 12, "max_seq_len": 60,
                     "min_seq_len": 5},
            "predict": {"model": {"name": "classifier", "preset": "tiny", "head_hidden": 16},
                        "train": train, "pretrain": {"data_dir": "others", "steps": 3}}})

    twins, starts = [], []
    real_copy, real_init = pretrain.copy_encoder, PredictTask.init_model

    def copy(source, target):  # noqa: ANN001, ANN202
        twins.append({k: v.clone() for k, v in source.state_dict().items()})
        real_copy(source, target)

    def init(self, model, *args):  # noqa: ANN001, ANN202
        real_init(self, model, *args)
        starts.append({k: v.clone() for k, v in model.state_dict().items()})

    job_dir = tmp_path / "runs" / "predict"
    with mock.patch.object(artifacts.RunContext, "plots", lambda self: None), \
            mock.patch.object(pretrain, "copy_encoder", copy), \
            mock.patch.object(PredictTask, "init_model", init):
        (job,) = make_jobs(config(2), tiny.CATEGORIES, only="predict")
        fit_job(job, job_dir, device=torch.device("cpu"))
        assert len(twins) == 1 and len(starts) == 1
        encoder = {k for k in starts[0] if not k.startswith("head.")}
        assert encoder and all(torch.equal(starts[0][k], twins[0][k]) for k in encoder)
        assert twins[0]["head.3.weight"].shape[0] == 2 and starts[0]["head.3.weight"].shape[0] == 3
        meta = read_meta(job_dir / "checkpoints" / "latest")
        assert meta.pretrained.categories == ["ant", "bee"]
        assert meta.pretrained.n_sketches == 16 and meta.pretrained.steps == 3
        assert set(meta.pretrained.sources) == {str(data_dir / "others" / "a"),
                                                str(data_dir / "others" / "b")}

        (job,) = make_jobs(config(4), tiny.CATEGORIES, only="predict")
        fit_job(job, job_dir, device=torch.device("cpu"))  # resumes from step 2
    assert len(twins) == 1  # not pretrained again
    assert read_meta(job_dir / "checkpoints" / "latest").pretrained == meta.pretrained
    assert read_meta(job_dir / "checkpoints" / "latest").step == 4


def test_eval_predict_shows_what_the_encoder_was_pretrained_on(capsys):
    from sketchrnn.cli.eval_cmd import _show_other_categories

    record = {"categories": ["ant", "bee"], "n_sketches": 1234, "sources": {"qd/[raw]": 1234},
              "steps": 500, "train_accuracy": 0.25}
    _show_other_categories({"outlier_exposure": None, "pretrained": record})
    out = capsys.readouterr().out.replace("\n", " ")
    assert "pretraining: 500 steps on 1,234 drawings of 2 categories" in out
    assert "qd/[raw] (1,234)" in out and "ant, bee" in out and "25.0%" in out


def test_the_plan_says_the_job_pretrains_first():
    from sketchrnn.config import validate_config
    from sketchrnn.train.job import make_jobs
    from sketchrnn.train.schedule import describe_schedule

    def plan(pretrain: dict) -> str:  # noqa: ANN202
        config = validate_config({"predict": {"train": {"steps": 50}, "pretrain": pretrain}})
        return describe_schedule(make_jobs(config, ["pig", "face"], only="predict")[0])

    assert plan({"data_dir": "raw", "steps": 1200}).startswith(
        "first 1,200 pretraining steps (lr 0.003 cos), lr 0.003->1e-05 cos")
    assert plan({"steps": 1200}).startswith("lr 0.003->")  # no source: no pretraining
