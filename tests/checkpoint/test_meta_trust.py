"""Checkpoint metadata is untrusted input: planted bad meta.json files give one clear line, exit 1.

Each case edits the meta.json of a real saved checkpoint the way an attacker or a corrupt copy
would, then runs the real CLI (its error boundary) on it: `sample` for a draw model, `predict`
for a predict model.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sketchrnn.checkpoint import CheckpointMeta, save_checkpoint
from sketchrnn.cli import main as cli_main
from sketchrnn.config import DataConfig, LossConfig
from sketchrnn.model.presets import PRESETS
from sketchrnn.predict.calibration import CALIBRATION_T
from sketchrnn.registry import build_model

TINY = dict(PRESETS["tiny"])
CLASSIFIER = {"n_categories": 2, "enc_hidden": TINY["enc_hidden"], "z_dim": TINY["z_dim"],
              "head_hidden": 16}


def _save(folder: Path, task: str) -> Path:
    torch.manual_seed(0)
    if task == "draw":
        name, kwargs, categories = "sketch_rnn", TINY, ["pig"]
    else:
        name, kwargs, categories = "classifier", CLASSIFIER, ["pig", "sun"]
    meta = CheckpointMeta(model=name, model_kwargs=dict(kwargs), task=task,
                          categories=categories, scale=30.0, max_seq_len=40,
                          data=DataConfig(max_seq_len=40), loss=LossConfig(),
                          extra={"calibration": {CALIBRATION_T: 1.0}})
    return save_checkpoint(folder, build_model(name, **kwargs), meta)


def _plant(path: Path, edit) -> None:
    raw = json.loads((path / "meta.json").read_text())
    edit(raw)
    (path / "meta.json").write_text(json.dumps(raw))


def _run(capsys, *args: str) -> str:
    """The CLI's real entry point in this process: returns the one error line (exit code 1)."""
    with pytest.raises(SystemExit) as exit_info:
        cli_main.main(list(args))
    err = capsys.readouterr().err
    assert exit_info.value.code == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "unexpected" not in lines[0], err
    return lines[0]


def _set(*keys_value):
    *keys, value = keys_value

    def edit(raw):
        node = raw
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    return edit


def _both_lengths(value):
    def edit(raw):
        raw["max_seq_len"] = value
        raw["data"]["max_seq_len"] = value
    return edit


DRAW_CASES = {
    # field named in the message, edit
    "huge max_seq_len": ("max_seq_len", _both_lengths(10**8)),
    "max_seq_len as text": ("max_seq_len", _set("max_seq_len", "40")),
    "max_seq_len disagrees with data": ("max_seq_len", _set("max_seq_len", 50)),
    "huge scale": ("scale", _set("scale", 1e308)),
    "infinite scale": ("scale", _set("scale", float("inf"))),
    "NaN scale": ("scale", _set("scale", float("nan"))),
    "scale above the clamp": ("scale", _set("scale", 5000.0)),
    "negative min length": ("min_seq_len", _set("data", "min_seq_len", -1)),
    "unknown task": ("task", _set("task", "paint")),
    "no categories": ("categories", _set("categories", [])),
    "category that walks folders": ("not a plain name", _set("categories", ["../../evil"])),
    "category with a control character": ("not a plain name", _set("categories", ["pi\ng"])),
    "unknown field": ("surprise", _set("surprise", 1)),
    "old format without data settings": ("format 1", lambda raw: (raw.update(format_version=1),
                                                                  raw.pop("data"))),
    "weights of another size": ("shape mismatch", _set("model_kwargs", "dec_hidden", 48)),
    # Built as described, this model would need ~640 GB: the shapes are compared first.
    "enormous model": ("shape mismatch", _set("model_kwargs", "dec_hidden", 200_000)),
}


@pytest.mark.parametrize("case", sorted(DRAW_CASES))
def test_planted_draw_meta_is_one_line_exit_1(tmp_path, capsys, monkeypatch, case):
    monkeypatch.chdir(tmp_path)
    field, edit = DRAW_CASES[case]
    path = _save(tmp_path / "ckpt", "draw")
    _plant(path, edit)
    line = _run(capsys, "sample", "pig", "--checkpoint", str(path), "-n", "1", "--format", "png",
                "--out", str(tmp_path / "out"))
    assert str(path) in line and field in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("text, problem", [
    ("[" * 100_000 + "]" * 100_000, "Invalid JSON"),
    ('{"extra": ' + "[" * 100_000 + "]" * 100_000 + "}", "not valid JSON"),
    ('{"extra": "' + "x" * 10_000_001 + '"}', "more than metadata needs"),
])
def test_hostile_json_is_one_line_exit_1(tmp_path, capsys, text, problem):
    path = _save(tmp_path / "ckpt", "draw")
    (path / "meta.json").write_text(text)
    line = _run(capsys, "sample", "pig", "--checkpoint", str(path), "-n", "1",
                "--out", str(tmp_path / "out"))
    assert str(path / "meta.json") in line and problem in line


def test_predict_meta_with_more_categories_than_outputs(tmp_path, capsys):
    path = _save(tmp_path / "ckpt", "predict")
    _plant(path, _set("categories", ["pig", "sun", "cat"]))
    sketch = tmp_path / "s.json"
    sketch.write_text("[[10, 0, 0], [0, 10, 1]]")
    line = _run(capsys, "predict", str(sketch), "--checkpoint", str(path), "--no-complete")
    assert str(path / "meta.json") in line and "3 names" in line and "2 outputs" in line


T = CALIBRATION_T
CALIBRATION_CASES = {
    "NaN T": (f"{T} nan", {T: float("nan")}),
    "T as text": (f"{T} '1'", {T: "1"}),
    "zero T": (f"{T} 0", {T: 0}),
    "NaN T under its old name": (f"{T} nan", {"temperature": float("nan")}),
    "infinite threshold": ("ood_threshold inf", {T: 1.0, "ood_threshold": 1e999}),
    "unknown score": ("ood_score 'oracle'", {T: 1.0, "ood_score": "oracle"}),
    "huge extent": ("typical_extent_px 1e+308", {T: 1.0, "typical_extent_px": 1e308}),
}


@pytest.mark.parametrize("case", sorted(CALIBRATION_CASES))
def test_planted_calibration_is_one_line_exit_1(tmp_path, capsys, case):
    """The calibration record is meta too: its T divides every logit."""
    problem, record = CALIBRATION_CASES[case]
    path = _save(tmp_path / "ckpt", "predict")
    _plant(path, _set("extra", "calibration", record))
    sketch = tmp_path / "s.json"
    sketch.write_text("[[10, 0, 0], [0, 10, 1]]")
    line = _run(capsys, "predict", str(sketch), "--checkpoint", str(path), "--no-complete")
    assert str(path / "meta.json") in line and problem in line and "--recalibrate" in line


def test_untouched_checkpoints_still_load(tmp_path):
    from sketchrnn.checkpoint import load_checkpoint

    for task in ("draw", "predict"):
        model, meta, _ = load_checkpoint(_save(tmp_path / task, task))
        assert meta.task == task and not model.training


def test_reading_meta_does_not_import_torch(tmp_path):
    """The meta is plain data: reading it (e.g. to list or skip jobs) never pays torch's import."""
    path = _save(tmp_path / "ckpt", "predict")
    code = ("import sys; from sketchrnn.checkpoint_meta import read_meta; "
            f"m = read_meta({str(path)!r}); "
            "print(m.task, m.categories, m.data.clamp, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         timeout=60).stdout.split()
    assert out == ["predict", "['pig',", "'sun']", "1000.0", "False"]
