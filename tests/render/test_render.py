"""Renderers write real files whose pixels / elements are where the strokes are."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from sketchrnn import render

# Sketches start at the origin, pen down (data.strokes convention). Two horizontal strokes, one
# above the other; the pen-up move between them is a diagonal through the centre, NOT drawn.
TWO_LINES = np.array([[100, 0, 1], [-100, 100, 0], [100, 0, 1]], dtype=np.float32)
SQUARE = np.array([[10, 0, 0], [0, 10, 0], [-10, 0, 0], [0, -10, 1]], np.float32)


def _no_temp_files(directory) -> bool:
    return not [p for p in directory.iterdir() if p.name.startswith(".")]


def test_png_has_ink_on_strokes_and_none_on_pen_up_moves(tmp_path):
    path = render.to_png(TWO_LINES, tmp_path / "s.png", size=256)
    image = np.asarray(Image.open(path).convert("L"))
    assert image.shape == (256, 256)
    margin = round(256 * 0.06)
    # The drawing is 100 x 100 and fitted to the canvas: the strokes are its top and bottom rows.
    assert image[margin, 128] < 128 and image[256 - margin - 1, 128] < 128
    assert image[128, 128] == 255  # centre of the pen-up diagonal: blank
    assert image[128, 5] == 255 and (image < 128).sum() > 200
    assert _no_temp_files(tmp_path)


def test_the_first_row_is_drawn_from_the_origin(tmp_path):
    image = np.asarray(Image.open(render.to_png(np.array([[100.0, 0.0, 1.0]]), tmp_path / "o.png")))
    assert image[128, 128] < 128  # the one-segment sketch is a line through the centre


def test_normalised_and_pixel_units_render_the_same(tmp_path):
    a = np.asarray(Image.open(render.to_png(SQUARE, tmp_path / "a.png")))
    scaled = SQUARE.copy()
    scaled[:, :2] /= 37.5
    b = np.asarray(Image.open(render.to_png(scaled, tmp_path / "b.png")))
    assert (a != b).mean() < 0.01


def test_grid_png_lays_out_cells(tmp_path):
    path = render.grid_png([SQUARE, TWO_LINES, SQUARE], tmp_path / "g.png", cols=2, cell=64)
    image = np.asarray(Image.open(path).convert("L"))
    assert image.shape == (128, 128)
    for row, col in [(0, 0), (0, 1), (1, 0)]:
        assert (image[row * 64:(row + 1) * 64, col * 64:(col + 1) * 64] < 128).any()
    assert (image[64:, 64:] == 255).all()  # fourth cell empty


def test_empty_sketch_renders_blank(tmp_path):
    image = np.asarray(Image.open(render.to_png(np.zeros((0, 3)), tmp_path / "e.png")))
    assert (image == 255).all()


def test_svg_is_xml_with_one_polyline_per_stroke(tmp_path):
    path = render.to_svg(TWO_LINES, tmp_path / "s.svg")
    root = ET.parse(path).getroot()
    polylines = root.findall(".//{http://www.w3.org/2000/svg}polyline")
    assert len(polylines) == 2
    assert all(len(p.get("points").split()) == 2 for p in polylines)


def test_gif_animates_the_pen_and_holds_the_last_frame(tmp_path):
    rng = np.random.default_rng(0)
    sketch = np.concatenate([rng.normal(0, 10, (30, 2)), (rng.random((30, 1)) < 0.2)], axis=1)
    path = render.to_gif(sketch, tmp_path / "s.gif", size=96, fps=10, points_per_frame=3,
                         hold_s=2.0)
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames >= 5
        gif.seek(gif.n_frames - 1)
        assert gif.info["duration"] == 2000
    assert _no_temp_files(tmp_path)


def test_failed_write_leaves_previous_file_and_no_temp(tmp_path, monkeypatch):
    target = render.to_png(SQUARE, tmp_path / "s.png")
    before = target.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", boom)
    with pytest.raises(OSError):
        render.to_png(TWO_LINES, target)
    assert target.read_bytes() == before and _no_temp_files(tmp_path)


HISTORY = [
    {"step": s, "split": "train", "loss": 1 / s, "recon": 0.8 / s, "kl": 0.5, "kl_weight": s / 10}
    for s in range(1, 11)
] + [{"step": s, "split": "valid", "loss": 1.2 / s, "recon": 1 / s, "kl": 0.4, "kl_weight": 0.5}
     for s in (5, 10)]


def test_plot_losses_and_accuracy_write_pngs(tmp_path):
    path = render.plot_losses(HISTORY, tmp_path / "losses.png")
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width > 3 * image.height / 2  # three panels
    rows = [{"step": s, "split": split, "loss": 1 / s, "accuracy": 1 - 1 / s}
            for s in (1, 2, 3) for split in ("train", "valid")]
    with Image.open(render.plot_accuracy(rows, tmp_path / "acc.png")) as image:
        assert image.format == "PNG"
    with Image.open(render.plot_losses(rows, tmp_path / "cls.png")) as image:
        assert image.width < image.height * 2  # only the total-loss panel
    assert _no_temp_files(tmp_path)


def test_plotting_uses_no_pyplot_figures(tmp_path):
    render.plot_losses(HISTORY, tmp_path / "losses.png")
    import sys

    if "matplotlib.pyplot" in sys.modules:
        assert sys.modules["matplotlib.pyplot"].get_fignums() == []
