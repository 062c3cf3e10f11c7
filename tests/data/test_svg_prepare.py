"""`sketchrnn data prepare` on SVG drawings the tests write: folders and the TU-Berlin layout,
the simplification checked against hand-worked strokes, malformed and hostile files (one line
naming the file, exit 1, nothing written; or left out with --skip-bad), and a folder trained on
by `fit`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sketchrnn.data.npz import load_npz

from ..interop.test_import import run_cli as run_main

SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="800" height="800">{}</svg>'
SQUARE_STROKE3 = [[255, 0, 0], [0, 255, 0], [-255, 0, 0], [0, -255, 1]]  # worked by hand


def square(transform: str = "", size: float = 100) -> str:
    """A closed square polyline, drawn through a transform: after data prepare's alignment,
    scaling to 255 and RDP it is always the four moves of SQUARE_STROKE3."""
    s = size
    return SVG.format(f'<g transform="{transform}"><polyline points="0,0 {s},0 {s},{s} 0,{s} 0,0"/></g>')


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return folder / name


def good_category(folder: Path, n: int = 3) -> Path:
    transforms = ["", "translate(30,40)", "scale(2.5)", "rotate(90, 50, 50)", "scale(0.5,0.5)"]
    for i in range(n):
        write(folder, f"{i}.svg", square(transforms[i % len(transforms)]))
    return folder


def run_cli(capsys, *args: str) -> tuple[int, list[str]]:
    """The real CLI entry point in this process: exit code and the non-empty output lines."""
    code, output = run_main(capsys, *args)
    return code, [ln for ln in output.splitlines() if ln.strip()]


def test_a_folder_is_a_category_and_transformed_squares_are_the_same_square(tmp_path, capsys):
    good_category(tmp_path / "square", n=5)
    # rotate(90, 50, 50) moves the start (0,0) to (100,0) and turns the first move (100,0)
    # into (0,100): the same square, walked from another corner.
    rotated = [[0, 255, 0], [-255, 0, 0], [0, -255, 0], [255, 0, 1]]
    code, lines = run_cli(capsys, "data", "prepare", str(tmp_path / "square"), "--out",
                          str(tmp_path / "out"))
    assert code == 0, lines
    splits = load_npz(tmp_path / "out" / "square.npz")
    assert splits.sizes() == {"train": 3, "valid": 1, "test": 1}
    sketches = sorted((s.tolist() for s in splits.train + splits.valid + splits.test))
    assert sketches == sorted([SQUARE_STROKE3] * 4 + [rotated])


def test_tu_berlin_layout_gives_one_category_per_subfolder(tmp_path, capsys):
    root = tmp_path / "svg"
    good_category(root / "airplane")
    good_category(root / "alarm clock", n=4)
    (root / "filelist.txt").write_text("airplane/0.svg\n")  # other files are ignored
    code, lines = run_cli(capsys, "data", "prepare", str(root), "--out", str(tmp_path / "out"))
    assert code == 0, lines
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["airplane.npz", "alarm clock.npz"]
    assert sum(load_npz(tmp_path / "out" / "alarm clock.npz").sizes().values()) == 4


def test_files_named_one_by_one_join_their_folders_category(tmp_path, capsys):
    files = [str(p) for p in sorted(good_category(tmp_path / "cat", n=4).iterdir())][:3]
    code, lines = run_cli(capsys, "data", "prepare", *files, "--out", str(tmp_path / "out"))
    assert code == 0, lines
    assert sum(load_npz(tmp_path / "out" / "cat.npz").sizes().values()) == 3


def test_existing_output_is_kept_and_two_folders_of_one_name_collide(tmp_path, capsys):
    good_category(tmp_path / "a" / "cat")
    good_category(tmp_path / "b" / "cat")
    out = tmp_path / "out"
    code, lines = run_cli(capsys, "data", "prepare", str(tmp_path / "a" / "cat"),
                          str(tmp_path / "b" / "cat"), "--out", str(out))
    assert code == 1 and len(lines) == 1 and "would all be written to" in lines[0]
    assert not out.exists()
    out.mkdir()
    (out / "cat.npz").write_bytes(b"mine")
    code, lines = run_cli(capsys, "data", "prepare", str(tmp_path / "a" / "cat"), "--out", str(out))
    assert code == 1 and "already exists" in lines[0] and "--force" in lines[0]
    assert (out / "cat.npz").read_bytes() == b"mine"


def test_a_folder_without_svg_files_is_refused(tmp_path, capsys):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    code, lines = run_cli(capsys, "data", "prepare", str(tmp_path / "empty"), "--out",
                          str(tmp_path / "out"))
    assert code == 1 and len(lines) == 1 and "without .svg files" in lines[0]


LAUGHS = ('<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa">'
          + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
          + ']><svg xmlns="http://www.w3.org/2000/svg"><text>&i;</text><line x2="5"/></svg>')

MALFORMED = [
    ("unclosed", '<svg><path d="M0 0 L1 1"></svg>', "not well-formed XML"),
    ("laughs", LAUGHS, "DOCTYPE"),
    ("rootless", '<html><line x2="3"/></html>', "root element is <html>"),
    ("pathdata", SVG.format('<path d="M 0 0 L 10"/>'), "bad path data at character 10"),
    ("nomove", SVG.format('<path d="L 10 10"/>'), "a moveto (M or m) first"),
    ("letter", SVG.format('<path d="M 0 0 X 5 5"/>'), "found 'X 5 5'"),
    ("nothing", SVG.format("<text>a cat</text><defs><line x2='4'/></defs>"), "no drawable elements"),
    ("huge", SVG.format('<line x2="1e6"/>'), "coordinate 1e+06"),
    ("scaled", SVG.format('<g transform="scale(1e9)"><line x2="1"/></g>'), "after transforms"),
    ("infinite", SVG.format('<path d="M0 0 L 1e999 0"/>'), "expected a finite number"),
    ("percent", SVG.format('<line x2="50%"/>'), "x2='50%' is not a finite length"),
    ("odd", SVG.format('<polyline points="1 2 3"/>'), "points has 3 numbers"),
    ("radius", SVG.format('<circle r="-1"/>'), "r='-1' is negative"),
    ("rotate", SVG.format('<g transform="rotate(1,2)"><line x2="1"/></g>'), "rotate() takes 1 or 3"),
    ("skew", SVG.format('<g transform="skew(3)"><line x2="1"/></g>'), "is not a list of matrix"),
    ("many", SVG.format("<g/>" * 100_001), "more than 100,000 elements"),
    ("deep", SVG.format("<g>" * 201 + "</g>" * 201), "nested more than 200 deep"),
    ("big", SVG.format(" " * (8 * 2**20)), "SVG files of at most 8,388,608 bytes"),
    ("binary", "\x00\x01", "not well-formed XML"),
    ("dangling", SVG.format('<use href="#gone"/><line x2="4"/>'), "no element of the file has"),
    ("cycle", SVG.format('<g id="a"><line x2="4"/><use href="#a"/></g>'), "form a cycle"),
    ("uselaughs", SVG.format('<g id="l0">' + "<g/>" * 10 + "</g>" + "".join(
        f'<g id="l{i}">' + f'<use href="#l{i - 1}"/>' * 10 + "</g>" for i in range(1, 9))
        + '<line x2="4"/>'), "more than 100,000 elements once its <use> references"),
]


@pytest.mark.parametrize("name, text, needle", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_a_malformed_file_is_one_line_naming_it(tmp_path, capsys, name, text, needle):
    folder = good_category(tmp_path / "cat")
    bad = write(folder, f"{name}.svg", text)
    code, lines = run_cli(capsys, "data", "prepare", str(folder), "--out", str(tmp_path / "out"))
    assert code == 1 and len(lines) == 1, lines
    assert lines[0].startswith(f"error: {bad}: ") and needle in lines[0], lines[0]
    assert not (tmp_path / "out").exists()


def test_an_external_entity_is_never_read(tmp_path, capsys):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    text = (f'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'
            '<svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text><line x2="4"/></svg>')
    folder = good_category(tmp_path / "cat")
    bad = write(folder, "xxe.svg", text)
    code, lines = run_cli(capsys, "data", "prepare", str(folder), "--out", str(tmp_path / "out"))
    assert code == 1 and len(lines) == 1, lines
    assert lines[0].startswith(f"error: {bad}: its DOCTYPE has an internal subset")
    assert "TOP-SECRET" not in "".join(lines) and not (tmp_path / "out").exists()


def test_an_external_dtd_is_accepted_but_never_read(tmp_path):
    """Editors write the SVG 1.1 DOCTYPE; it is accepted, and the DTD it names is not read: this
    one, planted, would give the line x2="500" by default and define an entity."""
    from sketchrnn.data.svg import svg_lines

    dtd = tmp_path / "planted.dtd"
    dtd.write_text('<!ATTLIST line x2 CDATA "500"><!ENTITY nbsp "&#160;">')
    path = write(tmp_path, "d.svg", f'<?xml version="1.0"?><!DOCTYPE svg PUBLIC "-//W3C//DTD SVG '
                 f'1.1//EN" "{dtd.as_uri()}"><svg xmlns="http://www.w3.org/2000/svg"><text>&nbsp;'
                 '</text><line y2="10"/></svg>')
    [line] = svg_lines(path)
    np.testing.assert_array_equal(line, [[0, 0], [0, 10]])


def test_skip_bad_leaves_bad_files_out_with_a_line_each(tmp_path, capsys):
    folder = good_category(tmp_path / "cat", n=4)
    bad = [write(folder, f"{name}.svg", text) for name, text, _ in MALFORMED[:6]]
    code, lines = run_cli(capsys, "data", "prepare", str(folder), "--skip-bad", "--out",
                          str(tmp_path / "out"))
    assert code == 0, lines
    skipped = [ln for ln in lines if ln.startswith("skipped ")]
    assert sorted(skipped) == sorted(ln for ln in skipped if any(f"skipped {b}: " in ln for b in bad))
    assert len(skipped) == len(bad)
    assert sum(load_npz(tmp_path / "out" / "cat.npz").sizes().values()) == 4


def circle_sketches(folder: Path, n: int) -> None:
    """Drawings long enough for the default min_seq_len: ellipses, arcs and curves."""
    rng = np.random.default_rng(0)
    for i in range(n):
        rx, ry, rot = rng.uniform(50, 300), rng.uniform(50, 300), rng.uniform(0, 90)
        body = (f'<ellipse cx="400" cy="400" rx="{rx:.1f}" ry="{ry:.1f}" '
                f'transform="rotate({rot:.1f} 400 400)"/>'
                f'<path d="M 300 300 c 50 -80 100 80 150 0 s 100 80 150 0 a 60 40 20 1 1 -300 90"/>')
        write(folder, f"{i}.svg", SVG.format(body))


def test_a_prepared_folder_trains_with_fit(tmp_path):
    circle_sketches(tmp_path / "drawings" / "circle", n=24)  # a category name fit knows
    env = {**os.environ, "COLUMNS": "200", "OMP_NUM_THREADS": "1", "NO_COLOR": "1"}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "sketchrnn", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=600)

    prepared = cli("data", "prepare", "drawings/circle", "--out", "data")
    assert prepared.returncode == 0, prepared.stderr
    fit = cli("fit", "circle", "--only", "draw", "--workers", "0", "--preset", "tiny", "--steps",
              "4", "--data-dir", "data", "--runs", "runs", "--set", "data.batch_size=8",
              "--set", "data.max_seq_len=120")
    assert fit.returncode == 0, fit.stdout[-2000:] + fit.stderr[-2000:]
    assert (tmp_path / "runs" / "draw-circle" / "checkpoints" / "latest" / "meta.json").exists()
