"""SVG's drawing elements -> subpaths in the element's own coordinates.

``path``, ``polyline``, ``polygon``, ``line``, ``rect`` (rounded corners included), ``circle`` and
``ellipse``, as SVG 1.1 chapter 9 defines them: the basic shapes become the path their chapter
gives, so they go through the one path builder. Missing coordinates default to 0; a zero width,
height or radius draws nothing; a negative one is an error (SVG calls it one).
"""

from __future__ import annotations

from collections.abc import Callable
from xml.etree.ElementTree import Element

from sketchrnn.data.svg_geometry import Subpath
from sketchrnn.data.svg_path import parse_path, path_from_commands
from sketchrnn.data.svg_xml import SVG_FIX, length, numbers
from sketchrnn.errors import DataError

Commands = list[tuple[str, list[float]]]


def _get(el: Element, name: str, where: str, *, positive: bool = False) -> float:
    value = length(el.get(name), name, where, default=0.0)
    if positive and value < 0:
        raise DataError(f"{where}: {name}={el.get(name)!r} is negative", SVG_FIX)
    return value


def _path(el: Element, where: str) -> list[Subpath]:
    return parse_path(el.get("d", ""), where)  # no d: draws nothing


def _points(el: Element, where: str, *, close: bool) -> list[Subpath]:
    values = numbers(el.get("points", ""), "points", where)
    if len(values) % 2:
        raise DataError(f"{where}: points has {len(values)} numbers, not x, y pairs", SVG_FIX)
    pairs = [values[i : i + 2] for i in range(0, len(values), 2)]
    if len(pairs) < 2:
        return []
    return path_from_commands([("M", pairs[0])] + [("L", p) for p in pairs[1:]]
                              + ([("Z", [])] if close else []))


def _line(el: Element, where: str) -> list[Subpath]:
    return path_from_commands([("M", [_get(el, "x1", where), _get(el, "y1", where)]),
                               ("L", [_get(el, "x2", where), _get(el, "y2", where)])])


def _rect(el: Element, where: str) -> list[Subpath]:
    x, y = _get(el, "x", where), _get(el, "y", where)
    w, h = _get(el, "width", where, positive=True), _get(el, "height", where, positive=True)
    if w == 0 or h == 0:
        return []
    rx = _get(el, "rx", where, positive=True) if el.get("rx") is not None else None
    ry = _get(el, "ry", where, positive=True) if el.get("ry") is not None else None
    rx, ry = (rx if rx is not None else ry or 0.0), (ry if ry is not None else rx or 0.0)
    rx, ry = min(rx, w / 2), min(ry, h / 2)  # SVG 1.1 section 9.2: clamp to half the sides
    if rx == 0 or ry == 0:
        return path_from_commands([("M", [x, y]), ("L", [x + w, y]), ("L", [x + w, y + h]),
                                   ("L", [x, y + h]), ("Z", [])])
    def corner(ex: float, ey: float) -> tuple[str, list[float]]:
        return ("A", [rx, ry, 0, 0, 1, ex, ey])
    return path_from_commands([
        ("M", [x + rx, y]), ("L", [x + w - rx, y]), corner(x + w, y + ry),
        ("L", [x + w, y + h - ry]), corner(x + w - rx, y + h), ("L", [x + rx, y + h]),
        corner(x, y + h - ry), ("L", [x, y + ry]), corner(x + rx, y), ("Z", []),
    ])


def _ellipse(el: Element, where: str) -> list[Subpath]:
    cx, cy = _get(el, "cx", where), _get(el, "cy", where)
    if el.tag.endswith("circle"):
        rx = ry = _get(el, "r", where, positive=True)
    else:
        rx, ry = _get(el, "rx", where, positive=True), _get(el, "ry", where, positive=True)
    if rx == 0 or ry == 0:
        return []
    return path_from_commands([("M", [cx + rx, cy]), ("A", [rx, ry, 0, 0, 1, cx - rx, cy]),
                               ("A", [rx, ry, 0, 0, 1, cx + rx, cy]), ("Z", [])])


SHAPES: dict[str, Callable[[Element, str], list[Subpath]]] = {
    "path": _path,
    "polyline": lambda el, where: _points(el, where, close=False),
    "polygon": lambda el, where: _points(el, where, close=True),
    "line": _line,
    "rect": _rect,
    "circle": _ellipse,
    "ellipse": _ellipse,
}
