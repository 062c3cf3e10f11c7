"""`sketchrnn import`: magenta-js models -> draw checkpoints that compute what magenta-js computes.

The reference is the real @magenta/sketch run in node on the same file and the same strokes
(``getPDF`` after ``update``), never our own output. Both sides run in float32 with the same
dequantised weights; they differ only in summation order (tfjs's matMul vs torch's), so the
PDFs agree to 2e-6 (relative) over 24 steps of a 512-unit LSTM; the tests allow 1e-4.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sketchrnn.cli.main import main
from sketchrnn.interop.importing import build_imported
from sketchrnn.interop.magenta_json import read_model
from sketchrnn.runs import draw_checkpoint, load_draw

from .magenta_js import assert_same_pdf, gen_json, magenta_pdf, stroke_inputs, torch_pdf

TOL = 1e-4


def _write(tmp_path: Path, content: object, name: str = "sheep.gen.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(content))
    return path


def run_cli(capsys, *args: str) -> tuple[int, str]:
    """The real CLI entry point (its error boundary included): exit code and all output."""
    try:
        main(list(args))
        code = 0
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out + out.err


def _import(capsys, path: Path, runs: Path, *extra: str) -> tuple[int, str]:
    return run_cli(capsys, "import", str(path), "--runs", str(runs), *extra)


def test_small_model_matches_magenta_js(tmp_path, capsys):
    path = _write(tmp_path, gen_json(16))
    code, output = _import(capsys, path, tmp_path / "runs")
    assert code == 0, output
    net, meta = load_draw(draw_checkpoint(tmp_path / "runs", "sheep"))
    assert meta.scale == 40.0 and meta.max_seq_len == 150 and meta.categories == ["sheep"]
    inputs = stroke_inputs()
    assert_same_pdf(torch_pdf(net, inputs), magenta_pdf(path, inputs, tmp_path), TOL)


@pytest.mark.parametrize("name", ["bicycle", "sheep"])
def test_google_models_match_magenta_js(name, magenta_models, tmp_path):
    path = magenta_models / f"{name}.gen.json"
    model = read_model(path)
    assert model.hidden == 512
    inputs = stroke_inputs(seed=1)
    assert_same_pdf(torch_pdf(build_imported(model), inputs), magenta_pdf(path, inputs, tmp_path), TOL)


def test_imported_model_samples(tmp_path, monkeypatch, capsys):
    path = _write(tmp_path, gen_json(8))
    assert _import(capsys, path, tmp_path / "runs", "--category", "pig")[0] == 0
    monkeypatch.chdir(tmp_path)
    code, output = run_cli(capsys, "sample", "pig", "-n", "2", "--runs", "runs", "--format", "svg")
    assert code == 0, output
    assert len(list((tmp_path / "samples" / "pig").glob("*.svg"))) == 2


def test_existing_job_is_not_replaced(tmp_path, capsys):
    path = _write(tmp_path, gen_json(8))
    assert _import(capsys, path, tmp_path / "runs")[0] == 0
    before = (draw_checkpoint(tmp_path / "runs", "sheep") / "model.safetensors").read_bytes()
    code, output = _import(capsys, _write(tmp_path, gen_json(8, seed=5), "other.gen.json"), tmp_path / "runs")
    assert code == 1 and "already exists" in output
    assert (draw_checkpoint(tmp_path / "runs", "sheep") / "model.safetensors").read_bytes() == before


def _truncated(tmp_path):
    text = json.dumps(gen_json(8))
    return (tmp_path / "t.gen.json").write_text(text[: len(text) // 2]) and tmp_path / "t.gen.json"


def _bad_base64_length(tmp_path):
    content = gen_json(8)
    content[2][3] = content[2][3][:-4]
    return _write(tmp_path, content)


def _bad_base64_chars(tmp_path):
    content = gen_json(8)
    content[2][1] = "!" + content[2][1][1:]
    return _write(tmp_path, content)


def _vae_layout(tmp_path):  # a VAE file: another mode and more tensors
    content = gen_json(8, mode=0)
    return _write(tmp_path, content)


def _seven_tensors(tmp_path):
    content = gen_json(8)
    content[1] += [[8], [8]]
    content[2] += ["AAAA", "AAAA"]
    return _write(tmp_path, content)


def _wrong_shapes(tmp_path):
    return _write(tmp_path, gen_json(8, shapes=[[8, 123], [123], [5, 32], [8, 32], [31]]))


def _huge_hidden(tmp_path):
    content = gen_json(8)
    content[1][0] = [10**9, 123]
    return _write(tmp_path, content)


@pytest.mark.parametrize("make, words", [
    (lambda p: (p / "x.gen.json").write_text("not json") and p / "x.gen.json", "not a readable JSON"),
    (_truncated, "not a readable JSON"),
    (lambda p: _write(p, {"a": 1}), "expected [info, shapes, weights]"),
    (_bad_base64_length, "base64 characters"),
    (_bad_base64_chars, "not valid base64"),
    (_vae_layout, "mode 0"),
    (_seven_tensors, "7 tensors"),
    (_wrong_shapes, "tensor shapes"),
    (_huge_hidden, "LSTM size"),
    (lambda p: _write(p, gen_json(8, scale=float("inf"))), "scale_factor"),
    (lambda p: _write(p, gen_json(8, scale=float("nan"))), "scale_factor nan"),  # JSON's NaN
    (lambda p: _write(p, gen_json(8, max_seq_len=float("nan"))), "max_seq_len nan"),
])
def test_bad_files_give_one_line_and_write_nothing(make, words, tmp_path, capsys):
    code, output = _import(capsys, make(tmp_path), tmp_path / "runs")
    assert code == 1, output
    assert words in output and len(output.strip().splitlines()) == 1, output
    assert not (tmp_path / "runs").exists()


def test_oversized_file_is_refused_unread(tmp_path, capsys, monkeypatch):
    import sketchrnn.interop.magenta_json as magenta_json

    monkeypatch.setattr(magenta_json, "MAX_FILE_BYTES", 1000)
    code, output = _import(capsys, _write(tmp_path, gen_json(8)), tmp_path / "runs")
    assert code == 1 and "more than a magenta-js model holds" in output, output
    assert not (tmp_path / "runs").exists()


def test_an_own_category_name_is_accepted_as_fit_accepts_it(tmp_path, monkeypatch, capsys):
    """A name no source provides is a category of your own (what `fit NAME --data-dir` trains
    from NAME.npz); the imported model then samples under that name."""
    path = _write(tmp_path, gen_json(8))
    code, output = _import(capsys, path, tmp_path / "runs", "--category", "my armchair")
    assert code == 0, output
    _, meta = load_draw(draw_checkpoint(tmp_path / "runs", "my armchair"))
    assert meta.categories == ["my armchair"]
    monkeypatch.chdir(tmp_path)
    code, output = run_cli(capsys, "sample", "my armchair", "-n", "1", "--runs", "runs", "--format", "svg")
    assert code == 0, output
    assert len(list((tmp_path / "samples").rglob("*.svg"))) == 1


def test_a_known_name_is_still_spelled_canonically(tmp_path, capsys):
    path = _write(tmp_path, gen_json(8))
    assert _import(capsys, path, tmp_path / "runs", "--category", "Alarm_Clock")[0] == 0
    _, meta = load_draw(draw_checkpoint(tmp_path / "runs", "alarm clock"))
    assert meta.categories == ["alarm clock"]


@pytest.mark.parametrize("name, words", [
    ("../armchair", "starts with a dot"),
    ("arm/chair", "contains '/'"),
    (" armchair", "starts or ends with a space"),
    ("arm\u200bchair", "not allowed in a file name"),
    ("x" * 101, "101 characters"),
    ("quickdraw:armchair", "unknown category 'quickdraw:armchair'"),
])
def test_a_name_that_cannot_be_a_file_name_is_one_line_and_writes_nothing(name, words, tmp_path, capsys):
    code, output = _import(capsys, _write(tmp_path, gen_json(8)), tmp_path / "runs", "--category", name)
    assert code == 1, output
    assert words in output and len(output.strip().splitlines()) == 1, output
    assert not (tmp_path / "runs").exists()


def test_a_model_whose_own_name_is_no_file_name_asks_for_category(tmp_path, capsys):
    content = gen_json(8)
    content[0]["name"] = "../../etc"
    code, output = _import(capsys, _write(tmp_path, content), tmp_path / "runs")
    assert code == 1 and "--category" in output and len(output.strip().splitlines()) == 1, output
    assert not (tmp_path / "runs").exists()
