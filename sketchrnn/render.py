"""Pictures of sketches: PNG (single and grid), SVG, an animated GIF of the pen, loss curves.

Sketches come in as stroke-3 ``[n, 3]`` arrays of ``(dx, dy, pen_lifted)``, in pixels or in
normalised units alike: every renderer first fits the sketch into its canvas, so the scale factor
never matters here. A sketch starts at the origin with the pen down (the ``data.strokes``
convention, and what S0 means to the decoder). Pillow draws the raster formats (fast, no global
state); matplotlib is used only for loss curves, through the object-oriented API (``Figure`` +
``FigureCanvasAgg``) so that nothing touches pyplot's global figure registry. Every file is
written with ``sketchrnn._io.atomic_write`` (temp file in the target folder, then a rename), so
a reader never sees half a file.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from sketchrnn._io import atomic_write
from sketchrnn.data.strokes import stroke3_to_polylines

BACKGROUND = 255  # white canvas (grayscale)
INK = 0  # black strokes


def _polylines(sketch: np.ndarray) -> list[np.ndarray]:
    """Absolute ``[k, 2]`` float polylines, one per pen-down stroke (empty for an empty sketch)."""
    sketch = np.asarray(sketch, dtype=np.float64).reshape(-1, 3)
    return stroke3_to_polylines(sketch) if len(sketch) else []


def _fit_transform(polylines: list[np.ndarray], size: float, margin: float):
    """``(scale, offset)`` that centres the polylines in a ``size`` box, keeping the aspect."""
    if not polylines:
        return 1.0, np.zeros(2)
    points = np.concatenate(polylines)  # [n, 2]
    lo, hi = points.min(axis=0), points.max(axis=0)
    extent = float((hi - lo).max())
    scale = (size - 2 * margin) / extent if extent > 0 else 1.0
    return scale, (size - (hi - lo) * scale) / 2 - lo * scale


def _fit(polylines: list[np.ndarray], size: float, margin: float) -> list[np.ndarray]:
    scale, offset = _fit_transform(polylines, size, margin)
    return [line * scale + offset for line in polylines]


def _draw(draw: ImageDraw.ImageDraw, lines: list[np.ndarray], width: int, origin=(0, 0)) -> None:
    for line in lines:
        pts = [(float(x) + origin[0], float(y) + origin[1]) for x, y in line]
        if len(pts) == 1:  # a dot: a stroke of one point
            x, y = pts[0]
            r = width / 2
            draw.ellipse((x - r, y - r, x + r, y + r), fill=INK)
        else:
            draw.line(pts, fill=INK, width=width, joint="curve")


def _line_width(size: int) -> int:
    return max(1, round(size / 128))


def render_image(sketch: np.ndarray, size: int = 256, margin: float | None = None) -> Image.Image:
    """A grayscale ``size`` x ``size`` Pillow image of the sketch (black on white)."""
    margin = size * 0.06 if margin is None else margin
    image = Image.new("L", (size, size), BACKGROUND)
    _draw(ImageDraw.Draw(image), _fit(_polylines(sketch), size, margin), _line_width(size))
    return image


def to_png(sketch: np.ndarray, path: str | os.PathLike, size: int = 256) -> Path:
    """Write one sketch as a PNG."""
    image = render_image(sketch, size)
    return atomic_write(path, lambda f: image.save(f, format="PNG"))


def grid_png(
    sketches: Sequence[np.ndarray], path: str | os.PathLike, cols: int | None = None, cell: int = 128
) -> Path:
    """Write many sketches as one PNG grid, row by row (``cols`` defaults to a near-square grid)."""
    n = len(sketches)
    cols = max(1, cols or math.ceil(math.sqrt(max(n, 1))))
    rows = max(1, math.ceil(n / cols))
    image = Image.new("L", (cols * cell, rows * cell), BACKGROUND)
    for i, sketch in enumerate(sketches):
        row, col = divmod(i, cols)
        image.paste(render_image(sketch, cell), (col * cell, row * cell))
    return atomic_write(path, lambda f: image.save(f, format="PNG"))


def to_svg(sketch: np.ndarray, path: str | os.PathLike, size: int = 256) -> Path:
    """Write a sketch as an SVG of ``<polyline>`` elements (hand-written; no matplotlib)."""
    lines = _fit(_polylines(sketch), size, size * 0.06)
    width = size / 128
    body = []
    for line in lines:
        if len(line) == 1:  # a one-point stroke is a dot
            x, y = line[0]
            body.append(f'  <circle cx="{x:.2f}" cy="{y:.2f}" r="{width / 2:.2f}" fill="black"/>')
        else:
            pts = " ".join(f"{x:.2f},{y:.2f}" for x, y in line)
            body.append(f'  <polyline points="{pts}"/>')
    text = "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
            f'viewBox="0 0 {size} {size}">',
            f'  <rect width="{size}" height="{size}" fill="white"/>',
            f'  <g fill="none" stroke="black" stroke-width="{width:.2f}" '
            'stroke-linecap="round" stroke-linejoin="round">',
            *body,
            "  </g>",
            "</svg>",
            "",
        ]
    )
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def to_gif(
    sketch: np.ndarray,
    path: str | os.PathLike,
    size: int = 256,
    fps: int = 20,
    points_per_frame: int = 2,
    hold_s: float = 1.5,
) -> Path:
    """Write an animated GIF of the pen drawing the sketch, ``points_per_frame`` points a frame.

    A red dot marks the pen while it moves; the finished drawing is held for ``hold_s`` seconds.
    """
    sketch = np.asarray(sketch, dtype=np.float64).reshape(-1, 3)
    # Fit once with the whole sketch, so partial drawings do not rescale from frame to frame.
    scale, offset = _fit_transform(_polylines(sketch), size, size * 0.06)
    pen_at = np.cumsum(np.vstack([np.zeros((1, 2)), sketch[:, :2]]), axis=0) * scale + offset
    width = _line_width(size)
    frames = []
    for end in [*range(points_per_frame, len(sketch), points_per_frame), len(sketch)]:
        image = Image.new("RGB", (size, size), (BACKGROUND,) * 3)
        draw = ImageDraw.Draw(image)
        _draw(draw, [line * scale + offset for line in _polylines(sketch[:end])], width)
        if 0 < end < len(sketch):
            x, y = pen_at[end]  # [2]: where the pen is after `end` rows
            r = 1.5 * width + 1
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(220, 30, 30))
        frames.append(image)
    frame_ms = round(1000 / fps)
    durations = [frame_ms] * (len(frames) - 1) + [round(hold_s * 1000)]
    return atomic_write(
        path,
        lambda f: frames[0].save(
            f, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0
        ),
    )


def _series(history: list[dict], key: str, split: str, transform=None) -> tuple[list, list]:
    rows = [r for r in history if r.get("split") == split and r.get(key) is not None]
    steps = [r["step"] for r in rows]
    values = [transform(r) if transform else r[key] for r in rows]
    return steps, values


def _plot_panels(history: list[dict], path, panels: list[tuple[str, str, Any]]) -> Path:
    """One subplot per (key, title, transform) with a train and a valid series each."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    present = [p for p in panels if any(r.get(p[0]) is not None for r in history)] or panels[:1]
    fig = Figure(figsize=(4.2 * len(present), 3.4), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(present), squeeze=False)[0]
    for ax, (key, title, transform) in zip(axes, present):
        for split, style in (("train", "-"), ("valid", "o-")):
            steps, values = _series(history, key, split, transform)
            if steps:
                ax.plot(steps, values, style, label=split, markersize=3)
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        if ax.has_data():
            ax.legend()
    return atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=100))


def plot_losses(history: list[dict], path: str | os.PathLike) -> Path:
    """Plot total loss, reconstruction loss and weighted KL (``kl_weight * kl``), train and valid.

    Panels whose metric never appears (e.g. reconstruction for a classifier) are left out.
    """

    # Valid rows may omit kl_weight: use the latest weight logged at or before their step.
    weights = sorted((r["step"], r["kl_weight"]) for r in history if r.get("kl_weight") is not None)

    def weighted_kl(row: dict) -> float:
        if row.get("kl_weight") is not None:
            return row["kl"] * row["kl_weight"]
        earlier = [w for step, w in weights if step <= row["step"]]
        return row["kl"] * (earlier[-1] if earlier else 1.0)

    return _plot_panels(
        history,
        path,
        [("loss", "total loss", None), ("recon", "reconstruction", None), ("kl", "weighted KL", weighted_kl)],
    )


def plot_accuracy(history: list[dict], path: str | os.PathLike) -> Path:
    """Plot classifier accuracy, train and valid."""
    return _plot_panels(history, path, [("accuracy", "accuracy", None)])
