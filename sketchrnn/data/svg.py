"""SVG drawings -> stroke-3: one file is one drawing, a folder of files is one category.

What is drawn: ``path`` (every command), ``polyline``, ``polygon``, ``line``, ``rect``, ``circle``
and ``ellipse`` (``svg_shapes``), inside ``svg``, ``g``, ``a`` and ``switch`` containers, with
every ``transform`` on the way applied (nested ``svg`` elements add their ``x``, ``y``). Each
subpath of a path, and each other shape, is one pen stroke, in document order. Not drawn: what
is hidden (``display="none"``, also in ``style``), and what only draws when referenced or is not
a line drawing (``defs``, ``symbol``, ``use``, ``clipPath``, ``mask``, ``marker``, ``pattern``,
``text``, ``image``, ...). The root's ``viewBox`` is not applied: the next step aligns and
rescales every drawing anyway.

Curves are flattened at the tolerance ``svg_geometry`` states (1/1000 of the drawing's larger
side), then the drawing goes through the simplification raw QuickDraw drawings get
(``ndjson.raw_to_simplified``: aligned to the top-left, larger side scaled to 255, resampled at
1 px, RDP with epsilon 2, rounded), so SVG drawings and QuickDraw's look alike to a model.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from xml.etree.ElementTree import Element

import numpy as np

from sketchrnn.data.bounds import check_sizes
from sketchrnn.data.ndjson import drawing_to_stroke3, raw_to_simplified
from sketchrnn.data.npz import SketchSplits
from sketchrnn.data.splits import check_fractions, split_sketches
from sketchrnn.data.svg_geometry import Subpath, flatten
from sketchrnn.data.svg_shapes import SHAPES
from sketchrnn.data.svg_xml import SVG_FIX, length, local_name, parse_transform, read_svg_root
from sketchrnn.errors import DataError

CONTAINERS = {"svg", "g", "a", "switch"}
_HIDDEN = re.compile(r"(?:^|;)\s*display\s*:\s*none\s*(?:;|$)", re.I)


def _visible(el: Element) -> bool:
    return el.get("display", "").strip() != "none" and not _HIDDEN.search(el.get("style", ""))


def _drawn_elements(el: Element, ctm: np.ndarray, where: str) -> Iterator[tuple[Element, np.ndarray]]:
    """``(shape element, its current transform [3, 3])`` in document order below container ``el``."""
    for child in el:
        tag = local_name(child.tag)
        if (tag not in CONTAINERS and tag not in SHAPES) or not _visible(child):
            continue
        m = ctm
        if tag == "svg":  # a nested viewport starts at its x, y
            x, y = (length(child.get(a), a, f"{where}: <svg>", 0.0) for a in ("x", "y"))
            m = m @ np.array([[1, 0, x], [0, 1, y], [0, 0, 1]])
        if child.get("transform") is not None:
            m = m @ parse_transform(child.get("transform", ""), f"{where}: <{tag}>")
        if tag in SHAPES:
            yield child, m
        else:
            yield from _drawn_elements(child, m, where)


def svg_lines(path: Path) -> list[np.ndarray]:
    """The drawing of one SVG file as polylines ``[k, 2]`` in root user units (transforms
    applied, curves flattened), one per stroke; ``DataError`` naming the file and the problem."""
    path = Path(path)
    try:
        root = read_svg_root(path)
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror})", "check the path") from None
    root_m = np.eye(3)
    if root.get("transform") is not None:
        root_m = parse_transform(root.get("transform", ""), f"{path}: <svg>")
    subpaths: list[Subpath] = []
    for n, (el, m) in enumerate(_drawn_elements(root, root_m, str(path)), start=1):
        name = local_name(el.tag)
        where = f"{path}: <{name}> #{n}" + (f" id={el.get('id')[:30]!r}" if el.get("id") else "")
        subpaths += [[seg.transformed(m) for seg in sub] for sub in SHAPES[name](el, where)]
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
