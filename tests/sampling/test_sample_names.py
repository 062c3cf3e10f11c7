"""The drawing commands check the category name as `fit` does and write only into their output
folder: `sample .. --checkpoint DIR` once wrote into the working directory, and a 500-character
name gave "unexpected OSError"."""

from __future__ import annotations

from pathlib import Path

import pytest

from sketchrnn.cli import main as cli_main

COMMANDS = ("sample", "reconstruct", "interpolate")


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "work" / "inner"
    folder.mkdir(parents=True)
    monkeypatch.chdir(folder)
    return folder


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def _run(capsys, *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        cli_main.main(list(args))
    return exit_info.value.code, capsys.readouterr().err


def _one_line_error(code: int, err: str) -> str:
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and lines[0].startswith("error: "), err
    assert "unexpected" not in lines[0], err
    return lines[0]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("name", ["..", ".", "../escape", "x" * 500])
def test_bad_names_are_refused_and_nothing_is_written(tmp_path, pig, workdir, capsys, command,
                                                     name):
    before = _files(tmp_path)
    line = _one_line_error(*_run(capsys, command, name, "--checkpoint", str(pig)))
    assert "unknown category" in line
    assert _files(tmp_path) == before


def test_the_name_must_be_the_checkpoints_category(pig, workdir, capsys):
    line = _one_line_error(*_run(capsys, "sample", "cat", "--checkpoint", str(pig)))
    assert str(pig) in line and "'pig'" in line and "'cat'" in line


def test_sample_writes_only_into_its_output_folder(tmp_path, pig, workdir, capsys):
    before = _files(tmp_path)
    code, err = _run(capsys, "sample", "Pig", "--checkpoint", str(pig), "-n", "2",
                     "--format", "png")
    assert code == 0, err
    new = _files(tmp_path) - before
    assert new and all(p.parent == workdir / "samples" / "pig" for p in new)


def test_an_unwritable_output_folder_is_one_line(tmp_path, pig, workdir, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    line = _one_line_error(*_run(capsys, "sample", "pig", "--checkpoint", str(pig), "-n", "1",
                                 "--format", "png", "--out", str(blocker / "sub")))
    assert str(blocker / "sub") in line and "--out" in line


def test_eval_draw_checks_the_name(tmp_path, pig, workdir, capsys):
    before = _files(tmp_path)
    line = _one_line_error(*_run(capsys, "eval", "draw", "..", "--checkpoint", str(pig)))
    assert "unknown category" in line and _files(tmp_path) == before


def test_predict_completion_into_an_unwritable_folder_is_one_line(tmp_path, tiny_runs, capsys):
    import json

    import numpy as np

    t = np.linspace(0, 1.2 * np.pi, 14)  # the first 60% of a circle, as absolute [x, y] points
    sketch = tmp_path / "circle.json"
    sketch.write_text(json.dumps([np.round(np.stack([np.cos(t), np.sin(t)], 1) * 110)
                                  .astype(int).tolist()]))
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    line = _one_line_error(*_run(capsys, "predict", str(sketch), "--runs", str(tiny_runs),
                                 "--out", str(blocker / "sub")))
    assert str(blocker / "sub") in line and "--out" in line
