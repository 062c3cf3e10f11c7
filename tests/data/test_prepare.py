"""`data prepare`: never overwrites unasked, refuses colliding outputs, never writes a file the
loader rejects. Runs the real CLI; outputs are checked with load_npz and raw bytes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sketchrnn.data.npz import SketchSplits, load_npz, save_npz
from sketchrnn.data.prepare import output_stem, plan_outputs
from sketchrnn.errors import DataError

SQUARE = [[[0, 50, 50, 0, 0], [0, 0, 50, 50, 0]]]


def drawings_file(path: Path, n: int = 10, drawing=None) -> Path:
    rng = np.random.default_rng(len(path.name))
    lines = []
    for _ in range(n):
        d = drawing or [[rng.integers(0, 255, 6).tolist(), rng.integers(0, 255, 6).tolist()]]
        lines.append(json.dumps({"word": "x", "drawing": d}))
    path.write_text("\n".join(lines) + "\n")
    return path


def prepare(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "400"}
    return subprocess.run([sys.executable, "-m", "sketchrnn", "data", "prepare", *args],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_an_existing_output_is_kept_without_force(tmp_path):
    src = drawings_file(tmp_path / "pig.ndjson")
    out = tmp_path / "out"
    out.mkdir()
    (out / "pig.npz").write_bytes(b"precious")
    msg = one_line_error(prepare(str(src), "--out", str(out), cwd=tmp_path))
    assert "pig.npz" in msg and "already exists" in msg and "--force" in msg
    assert (out / "pig.npz").read_bytes() == b"precious"
    result = prepare(str(src), "--out", str(out), "--force", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sum(load_npz(out / "pig.npz").sizes().values()) == 10
    assert sorted(p.name for p in out.iterdir()) == ["pig.npz"]  # no temp files left


def test_only_known_suffixes_are_stripped(tmp_path):
    a = drawings_file(tmp_path / "monkey.v1.ndjson")
    b = drawings_file(tmp_path / "monkey.v2.ndjson", n=12)
    result = prepare(str(a), str(b), "--out", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sum(load_npz(tmp_path / "out" / "monkey.v1.npz").sizes().values()) == 10
    assert sum(load_npz(tmp_path / "out" / "monkey.v2.npz").sizes().values()) == 12
    assert output_stem(Path("cake.JSON")) == "cake" and output_stem(Path("pig.txt")) == "pig.txt"


@pytest.mark.parametrize("names", [("a/pig.ndjson", "b/pig.ndjson"), ("pig.ndjson", "pig.json"),
                                   ("pig.ndjson", "Pig.ndjson")])
def test_colliding_outputs_are_refused_before_anything_is_written(tmp_path, names):
    paths = []
    for name in names:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        paths.append(str(drawings_file(tmp_path / name)))
    msg = one_line_error(prepare(*paths, "--out", "out", cwd=tmp_path))
    assert "would all be written to" in msg and all(p in msg for p in paths)
    assert not (tmp_path / "out").exists()


def test_a_hidden_file_name_is_refused(tmp_path):
    src = drawings_file(tmp_path / ".hidden.ndjson")
    msg = one_line_error(prepare(str(src), "--out", "out", cwd=tmp_path))
    assert ".hidden" in msg and "dot" in msg
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("coordinate, needle", [
    (1e39, "1e+39"), ("1", "'1'"), (True, "True"), (None, "None"), (10**400, "1000000"),
])
def test_values_the_loader_would_reject_are_refused(tmp_path, coordinate, needle):
    """1e39 would become inf in float32; strings and booleans were coerced silently."""
    good = drawings_file(tmp_path / "good.ndjson")
    bad = tmp_path / "bad.ndjson"
    lines = good.read_text().splitlines()
    lines[3] = json.dumps({"drawing": [[[0, 10, coordinate], [0, 5, 7]]]})
    bad.write_text("\n".join(lines) + "\n")
    msg = one_line_error(prepare(str(good), str(bad), "--out", "out", cwd=tmp_path))
    assert "bad.ndjson line 4" in msg and needle in msg and "x[2]" in msg
    assert not (tmp_path / "out").exists()  # not even good.npz: inputs are converted first


@pytest.mark.parametrize("n", [1, 2])
def test_too_few_drawings_for_three_splits_are_refused(tmp_path, n):
    src = drawings_file(tmp_path / "few.ndjson", n=n)
    msg = one_line_error(prepare(str(src), "--out", "out", cwd=tmp_path))
    assert "cannot fill train, valid and test" in msg
    assert not (tmp_path / "out").exists()


def test_three_drawings_fill_every_split(tmp_path):
    src = drawings_file(tmp_path / "three.ndjson", n=3)
    assert prepare(str(src), "--out", "out", cwd=tmp_path).returncode == 0
    assert load_npz(tmp_path / "out" / "three.npz").sizes() == {"train": 1, "valid": 1, "test": 1}


def test_save_npz_refuses_what_load_npz_would_refuse(tmp_path):
    s = np.array([[1.0, 2.0, 0.0], [1e39, 0.0, 1.0]])  # inf once stored as float32
    for splits in (SketchSplits(train=[s], valid=[s], test=[s], source="x"),
                   SketchSplits(train=[s[:1]], valid=[], test=[s[:1]], source="x")):
        with pytest.raises(DataError):
            save_npz(splits, tmp_path / "x.npz")
    assert list(tmp_path.iterdir()) == []


def test_plan_reports_every_problem_at_once(tmp_path):
    (tmp_path / "pig.npz").write_bytes(b"x")
    with pytest.raises(DataError) as info:
        plan_outputs([Path("pig.ndjson"), Path(".x.ndjson"), Path("a/c.ndjson"), Path("b/c.json")],
                     tmp_path)
    msg = str(info.value)
    assert "pig.npz already exists" in msg and "'.x'" in msg and "c.npz" in msg and "--force" in msg
