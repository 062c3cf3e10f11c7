"""`sketchrnn import --pretrained`: Google's model for a category, through the download rules.

A local HTTP server on 127.0.0.1 stands in for Google's bucket (SKETCHRNN_MODELS_MIRROR); nothing
here reaches the internet.
"""

from __future__ import annotations

import json
import socket

import pytest

from sketchrnn.interop.pretrained import CACHE_SUBDIR, MODELS_MIRROR_ENV, MODELS_URL, model_url
from sketchrnn.runs import draw_checkpoint, load_draw

from .magenta_js import gen_json
from .test_import import run_cli


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    with socket.socket() as s:  # a closed port: any unplanned download is refused at once
        s.bind(("127.0.0.1", 0))
        monkeypatch.setenv(MODELS_MIRROR_ENV, f"http://127.0.0.1:{s.getsockname()[1]}")
    monkeypatch.setenv("SKETCHRNN_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def bucket(http_folder, monkeypatch):
    monkeypatch.setenv(MODELS_MIRROR_ENV, http_folder.url)
    return http_folder


def test_url_is_googles_pattern(monkeypatch):
    monkeypatch.delenv(MODELS_MIRROR_ENV)
    assert model_url("The Mona Lisa") == f"{MODELS_URL}/the_mona_lisa.gen.json"
    assert MODELS_URL == "https://storage.googleapis.com/quickdraw-models/sketchRNN/large_models"


def test_download_import_then_cached(bucket, tmp_path, capsys):
    (bucket.root / "the_mona_lisa.gen.json").write_text(json.dumps(gen_json(8)))
    code, output = run_cli(capsys, "import", "--pretrained", "The Mona Lisa", "--runs", str(tmp_path / "runs"))
    assert code == 0, output
    assert bucket.requests == ["/the_mona_lisa.gen.json"]
    _, meta = load_draw(draw_checkpoint(tmp_path / "runs", "The Mona Lisa"))
    assert meta.categories == ["The Mona Lisa"] and meta.scale == 40.0
    assert (tmp_path / "cache" / CACHE_SUBDIR / "the_mona_lisa.gen.json").is_file()
    code, output = run_cli(capsys, "import", "--pretrained", "The Mona Lisa", "--runs", str(tmp_path / "runs2"))
    assert code == 0, output
    assert len(bucket.requests) == 1  # the second import reads the cache


@pytest.mark.parametrize("served, words", [
    (None, "HTTP 404"),
    ("{not json", "is not a magenta-js model"),
    (json.dumps(gen_json(8, mode=0)), "is not a magenta-js model"),
])
def test_bad_download_leaves_nothing(served, words, bucket, tmp_path, capsys):
    if served is not None:
        (bucket.root / "cat.gen.json").write_text(served)
    code, output = run_cli(capsys, "import", "--pretrained", "cat", "--runs", str(tmp_path / "runs"))
    assert code == 1 and words in output and len(output.strip().splitlines()) == 1, output
    assert not (tmp_path / "runs").exists()
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]  # no model, no temp file


def test_unreachable_mirror_is_one_line(tmp_path, capsys):
    code, output = run_cli(capsys, "import", "--pretrained", "cat", "--runs", str(tmp_path / "runs"))
    assert code == 1 and "could not reach" in output, output


def test_file_and_pretrained_are_exclusive(tmp_path, capsys):
    code, _ = run_cli(capsys, "import", str(tmp_path / "x.gen.json"), "--pretrained", "cat")
    assert code == 2
