"""`sketchrnn data list`: every category of every installed source, marked when already here."""

from __future__ import annotations

import os
import subprocess
import sys

from sketchrnn_shapes.shapes import SHAPES


def data_list(*args: str, cache) -> dict[str, tuple[str, str]]:
    """category -> (source, mark) from the real CLI's output."""
    env = {**os.environ, "SKETCHRNN_CACHE": str(cache), "COLUMNS": "200"}
    proc = subprocess.run([sys.executable, "-m", "sketchrnn", "data", "list", *args],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    rows = {}
    for line in proc.stdout.splitlines()[:-1]:  # the last line is the summary
        source, rest = line[:10].strip(), line[11:]
        rows[rest[:28].strip()] = (source, rest[28:].strip())
    return rows


def test_lists_all_345_quickdraw_categories_and_the_plugin_shapes(tmp_path):
    rows = data_list(cache=tmp_path)
    quickdraw = [name for name, (source, _) in rows.items() if source == "quickdraw"]
    assert len(quickdraw) == 345  # Google's QuickDraw has 345 categories
    assert {"alarm clock", "The Eiffel Tower", "pig", "zigzag"} <= set(quickdraw)
    assert {name: rows[name] for name in SHAPES} == {name: ("shapes", "generated") for name in SHAPES}
    assert all(mark == "" for source, mark in rows.values() if source == "quickdraw")  # empty cache


def test_marks_what_the_cache_or_the_data_dir_holds(tmp_path):
    cache, data = tmp_path / "cache", tmp_path / "data"
    cache.mkdir()
    data.mkdir()
    (cache / "sun.npz").write_bytes(b"")
    (data / "pig.npz").write_bytes(b"")
    (data / "alarm clock.full.npz").write_bytes(b"")  # the full-size file counts too
    cached = {n for n, (s, mark) in data_list(cache=cache).items() if mark == "cached"}
    assert cached == {"sun"}
    in_dir = {n for n, (s, mark) in data_list("--data-dir", str(data), cache=cache).items() if mark == "in data dir"}
    assert in_dir == {"pig", "alarm clock"}
