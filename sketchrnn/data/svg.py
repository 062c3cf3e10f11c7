"""SVG drawings -> stroke-3: one file is one drawing, a folder of files is one category.

What is drawn (``svg_tree``): ``path`` (every command), ``polyline``, ``polygon``, ``line``,
``rect``, ``circle`` and ``ellipse`` (``svg_shapes``), inside ``svg``, ``g``, ``a`` and ``switch``
containers, and copies of them that ``<use>`` elements refer to in the same file, with every
``transform`` on the way applied. Each subpath of a path, and each other shape, is one pen
stroke, in document order. Not drawn: what is hidden (``display="none"``, ``visibility="hidden"``,
also in ``style``), and what only draws when referenced or is not a line drawing (``defs``,
``symbol``, ``clipPath``, ``mask``, ``marker``, ``pattern``, ``text``, ``image``, ...). The root's
``viewBox`` is not applied: the next step aligns and rescales every drawing anyway.

Curves are flattened at the tolerance ``svg_geometry`` states (1/1000 of the drawing's larger
side), then the drawing goes through the simplification raw QuickDraw drawings get
(``ndjson.raw_to_simplified``: aligned to the top-left, larger side scaled to 255, resampled at
1 px, RDP with epsilon 2, rounded), so SVG drawings and QuickDraw's look alike to a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from xml.etree.ElementTree import Element

import numpy as np

from sketchrnn.data.bounds import check_sizes
from sketchrnn.data.ndjson import drawing_to_stroke3, raw_to_simplified
from sketchrnn.data.npz import SketchSplits
from sketchrnn.data.splits import check_fractions, split_sketches
from sketchrnn.data.svg_geometry import MAX_FLAT_POINTS, Subpath, flatten
from sketchrnn.data.svg_shapes import SHAPES
from sketchrnn.data.svg_tree import drawn_elements
from sketchrnn.data.svg_xml import SVG_FIX, local_name, read_svg_root
from sketchrnn.errors import DataError


def svg_lines(path: Path) -> list[np.ndarray]:
    """The drawing of one SVG file as polylines ``[k, 2]`` in root user units (transforms
    applied, curves flattened), one per stroke; ``DataError`` naming the file and the problem."""
    path = Path(path)
    try:
        root = read_svg_root(path)
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror})", "check the path") from None
    subpaths: list[Subpath] = []
    shapes: dict[Element, list[Subpath]] = {}  # each element parsed once, however often <use> copies it
    segments = 0
    for n, (el, m) in enumerate(drawn_elements(root, str(path)), start=1):
        if el not in shapes:
            name = local_name(el.tag)
            where = f"{path}: <{name}> #{n}" + (f" id={el.get('id')[:30]!r}" if el.get("id") else "")
            shapes[el] = SHAPES[name](el, where)
        segments += sum(map(len, shapes[el]))
        if segments > MAX_FLAT_POINTS:  # each segment flattens to at least one point: refuse now
            raise DataError(f"{path}: its shapes (with the copies <use> makes) have more than "
                            f"{MAX_FLAT_POINTS:,} segments, the most points a drawing may flatten "
                            "to", "simplify the drawing")
        subpaths += [[seg.transformed(m) for seg in sub] for sub in shapes[el]]
        check_sizes(0, len(subpaths), str(path))
    if not subpaths:
        raise DataError(f"{path}: no drawable elements (path, polyline, polygon, line, rect, circle "
                        "or ellipse that draws something)", SVG_FIX)
    return flatten(subpaths, str(path))


def svg_to_stroke3(path: Path) -> np.ndarray:
    """One SVG file -> stroke-3 ``[n, 3]`` int64 after the raw QuickDraw simplification."""
    simplified = raw_to_simplified([line.T for line in svg_lines(path)])  # each [2, k]
    check_sizes(sum(len(x) for x, _ in simplified), len(simplified), str(path))
    return drawing_to_stroke3(simplified)  # >= 1 row: the resampling keeps 2 points a stroke


def svg_to_splits(
    files: Sequence[Path], name: str, *, valid_frac: float = 0.1, test_frac: float = 0.1,
    seed: int = 0, skip_bad: bool = False,
) -> tuple[SketchSplits, list[str]]:
    """One category's SVG files -> ``(splits, problems)``. A bad file stops everything with its
    ``DataError``, unless ``skip_bad``: then it is left out and its one-line problem returned."""
    check_fractions(valid_frac, test_frac)
    sketches, problems = [], []
    for file in sorted(files):
        try:
            sketches.append(svg_to_stroke3(file))
        except DataError as exc:
            if not skip_bad:
                raise
            problems.append(exc.message)
    return split_sketches(sketches, name, valid_frac=valid_frac, test_frac=test_frac,
                          seed=seed), problems
