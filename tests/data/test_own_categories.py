"""Categories of your own: a prepared ``<name>.npz`` in the data dir is a category that `fit`,
`sample`, `export` and the driver-side fetch use like any other, whatever its name; an unknown
name without a file is one line and exit 1, and nothing is ever downloaded for it (a local
server that records every request stands in for the bucket)."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from sketchrnn.checkpoint_meta import _plain_name
from sketchrnn.config import DataConfig
from sketchrnn.data.categories import LOCAL_FILES, QUICKDRAW
from sketchrnn.data.names import check_file_stem
from sketchrnn.data.npz import SketchSplits, save_npz
from sketchrnn.errors import DataError, PluginError
from sketchrnn.registry import get_registry
from sketchrnn.train.fetch import fetch_categories
from sketchrnn.train.job import load_splits

from .npz_payloads import plant
from .test_svg_prepare import circle_sketches, good_category, run_cli


@pytest.fixture
def bucket(monkeypatch, tmp_path):
    """A 127.0.0.1 'bucket' as the mirror and an empty cache: the paths it was asked for."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            hits.append(self.path)
            self.send_error(404)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("SKETCHRNN_MIRROR", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("SKETCHRNN_CACHE", str(tmp_path / "cache"))
    yield hits
    server.shutdown()
    server.server_close()


def splits_of(seed: int, n: int = 6) -> SketchSplits:
    """Stroke-3 sketches written with save_npz, read back through the loader under test."""
    rng = np.random.default_rng(seed)

    def sketch() -> np.ndarray:
        s = np.zeros((12, 3), dtype=np.int16)
        s[:, :2] = rng.integers(-20, 20, size=(12, 2))
        s[-1, 2] = 1
        return s

    return SketchSplits(train=[sketch() for _ in range(n)], valid=[sketch()], test=[sketch()])


def test_an_own_name_resolves_only_when_the_data_dir_holds_its_file(tmp_path):
    save_npz(splits_of(0), tmp_path / "armchair.npz")
    source, name = get_registry().resolve_category("armchair", data_dir=tmp_path)
    assert (source, name) == (LOCAL_FILES, "armchair")
    loaded = load_splits("armchair", DataConfig(data_dir=tmp_path))
    reference = np.load(tmp_path / "armchair.npz", allow_pickle=True, encoding="latin1")  # our own file
    assert [s.tolist() for s in loaded.train] == [s.tolist() for s in reference["train"]]
    with pytest.raises(PluginError, match="unknown category 'armchair'.*no --data-dir"):
        get_registry().resolve_category("armchair")
    with pytest.raises(PluginError, match=r"unknown category 'quickdraw:armchair'"):
        get_registry().resolve_category("quickdraw:armchair", data_dir=tmp_path)


def test_a_quickdraw_name_with_a_file_reads_the_file(tmp_path, bucket):
    save_npz(splits_of(1), tmp_path / "cat.npz")
    source, name = get_registry().resolve_category("cat", data_dir=tmp_path)
    assert (source, name) == (QUICKDRAW, "cat")
    loaded = load_splits("cat", DataConfig(data_dir=tmp_path))
    assert [s.tolist() for s in loaded.train] == [s.tolist() for s in splits_of(1).train]
    assert bucket == []


def test_a_planted_own_file_is_refused_and_never_unpickled(tmp_path):
    marker = tmp_path / "ran"
    plant(tmp_path / "armchair.npz", marker)
    with pytest.raises(DataError, match="armchair.npz"):
        load_splits("armchair", DataConfig(data_dir=tmp_path))
    assert not marker.exists()


def test_the_driver_side_fetch_finds_own_files_and_names_missing_ones(tmp_path, bucket):
    save_npz(splits_of(2), tmp_path / "armchair.npz")
    fetch_categories(["armchair"], DataConfig(data_dir=tmp_path))
    with pytest.raises(PluginError, match=f"data dir {tmp_path} has no 'doodad.npz'"):
        fetch_categories(["armchair", "doodad"], DataConfig(data_dir=tmp_path))
    assert bucket == []


@pytest.mark.parametrize("name", ["arm\u00a0chair", "arm\u200bchair", "a:b", " armchair", "../x"])
def test_a_name_refused_as_a_file_name_is_refused_in_checkpoints_too(name):
    """One rule: whatever `data prepare` may write is a name a checkpoint may store."""
    with pytest.raises(DataError):
        check_file_stem(name, "name")
    assert not _plain_name(name)
    assert _plain_name("armchair") and _plain_name("alarm clock")


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200", "OMP_NUM_THREADS": "1", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "sketchrnn", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.e2e
def test_svg_folders_prepare_fit_sample_and_export_an_own_category(tmp_path, bucket):
    circle_sketches(tmp_path / "svg" / "armchair", n=24)  # the TU-Berlin layout
    prepared = cli(tmp_path, "data", "prepare", "svg", "--out", "data")
    assert prepared.returncode == 0, prepared.stderr
    assert "train on them: sketchrnn fit armchair --data-dir data" in prepared.stdout
    assert "note" not in prepared.stderr
    fit = cli(tmp_path, "fit", "armchair", "--preset", "tiny", "--steps", "4", "--workers", "0",
              "--data-dir", "data", "--runs", "runs", "--set", "data.batch_size=8",
              "--set", "data.max_seq_len=120",
              "--set", "draw.model.name=sketch_rnn_uncond")  # the model kind export writes
    assert fit.returncode == 0, fit.stdout[-2000:] + fit.stderr[-2000:]
    sample = cli(tmp_path, "sample", "armchair", "-n", "2", "--runs", "runs", "--out", "out")
    assert sample.returncode == 0, sample.stdout[-2000:] + sample.stderr[-2000:]
    assert len(list((tmp_path / "out").glob("*_00[01].png"))) == 2
    export = cli(tmp_path, "export", "armchair", "--runs", "runs", "--out", "armchair.gen.json")
    assert export.returncode == 0, export.stderr[-2000:]
    assert (tmp_path / "armchair.gen.json").stat().st_size > 0
    assert bucket == []


def test_an_unknown_name_without_a_file_is_one_line_and_downloads_nothing(tmp_path, bucket, capsys):
    good_category(tmp_path / "svg" / "armchair")
    code, lines = run_cli(capsys, "fit", "armchairs", "--data-dir", str(tmp_path / "svg"),
                          "--workers", "0", "--runs", str(tmp_path / "runs"))
    assert code == 1 and len(lines) == 1, lines
    assert f"data dir {tmp_path / 'svg'} has no 'armchairs.npz'" in lines[0]
    assert "sketchrnn data prepare" in lines[0]
    code, lines = run_cli(capsys, "fit", "armchair", "--workers", "0", "--runs", str(tmp_path / "runs"))
    assert code == 1 and len(lines) == 1 and "no --data-dir was given" in lines[0], lines
    code, lines = run_cli(capsys, "sample", "armchair", "--runs", str(tmp_path / "runs"))
    assert code == 1 and len(lines) == 1 and "unknown category 'armchair'" in lines[0], lines
    assert bucket == [] and not (tmp_path / "runs").exists()


def test_data_list_shows_own_files_and_prepare_points_out_a_name_fit_reads_elsewhere(
        tmp_path, capsys):
    good_category(tmp_path / "svg" / "armchair")
    good_category(tmp_path / "svg" / "alarm_clock")  # QuickDraw reads 'alarm clock.npz'
    code, lines = run_cli(capsys, "data", "prepare", str(tmp_path / "svg"), "--out",
                          str(tmp_path / "out"))
    assert code == 0, lines
    notes = [ln for ln in lines if ln.startswith("note ")]
    assert len(notes) == 1 and "`fit alarm_clock` trains on quickdraw:alarm clock" in notes[0], lines
    assert any(ln.startswith("train on them: sketchrnn fit armchair --data-dir") for ln in lines)
    code, lines = run_cli(capsys, "data", "list", "--data-dir", str(tmp_path / "out"))
    assert code == 0
    own = [ln.split() for ln in lines if ln.startswith("local")]
    assert own == [["local", "armchair", "in", "data", "dir"]], lines
