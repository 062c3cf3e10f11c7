"""Reading an SVG file as untrusted XML, and the attribute syntaxes (lengths, points, transforms).

Entities are refused: a DOCTYPE with an internal subset (the only place a file can declare an
entity, hence the "billion laughs" and external entities that pull a file or URL into the
drawing) stops the parse when expat reaches it, and so would any entity declaration. The plain
DOCTYPE many editors write (``<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "...svg11.dtd">``)
is accepted: expat never fetches an external DTD (parameter entity parsing is off), and an
entity it would define (``&nbsp;``) is skipped. This is defusedxml's policy, stricter (no
internal subset at all) and without the dependency. The file size, element count and nesting
depth are bounded before the work they cost is done. Python's expat builds an ``xml.etree``
tree; no text content is kept (nothing drawn comes from it).
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
import xml.parsers.expat as expat
from pathlib import Path

import numpy as np

from sketchrnn.errors import DataError

MAX_SVG_BYTES = 8 * 2**20  # TU-Berlin's sketches are 10-100 KB
MAX_ELEMENTS = 100_000
MAX_DEPTH = 200  # nested groups
SVG_FIX = "fix or remove the file, or pass --skip-bad to leave bad files out"

# Absolute units in px (CSS: 96 px per inch); relative ones (%, em) need a viewport: refused.
_UNITS = {"": 1.0, "px": 1.0, "in": 96.0, "cm": 96 / 2.54, "mm": 96 / 25.4, "pt": 4 / 3,
          "pc": 16.0}
_LENGTH = re.compile(r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([a-z%]*)\s*$", re.I)
_NUMBERS = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_TRANSFORM = re.compile(r"\s*,?\s*(matrix|translate|scale|rotate|skewX|skewY)\s*\(([^()]*)\)")
_TRANSFORM_ARGS = {"matrix": (6,), "translate": (1, 2), "scale": (1, 2), "rotate": (1, 3),
                   "skewX": (1,), "skewY": (1,)}


class _TreeReader:
    """expat's callbacks: elements into an ``xml.etree`` tree, counted; entities refused."""

    def __init__(self, where: str) -> None:
        self.where, self.count, self.depth = where, 0, 0
        self.builder = ET.TreeBuilder()

    def doctype(self, name: str, system: str | None, public: str | None, internal: int) -> None:
        if internal:
            raise DataError(f"{self.where}: its DOCTYPE has an internal subset, which is refused "
                            "(it can declare entities that expand without bound or read other "
                            "files)", "remove the [...] part of the <!DOCTYPE ...>; SVG needs none")

    def entity(self, name: str, *_: object) -> None:
        raise DataError(f"{self.where}: declares the entity {name!r}, which is refused", SVG_FIX)

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        self.count, self.depth = self.count + 1, self.depth + 1
        if self.count > MAX_ELEMENTS or self.depth > MAX_DEPTH:
            what = (f"more than {MAX_ELEMENTS:,} elements" if self.count > MAX_ELEMENTS
                    else f"elements nested more than {MAX_DEPTH} deep")
            raise DataError(f"{self.where}: has {what}", SVG_FIX)
        self.builder.start(tag, attrs)

    def end(self, tag: str) -> None:
        self.depth -= 1
        self.builder.end(tag)


def read_svg_root(path: Path) -> ET.Element:
    """The root ``<svg>`` element of the file at ``path``; ``DataError`` naming the file otherwise.

    Tags and attribute names come as ``namespace}local`` (``local_name`` strips the namespace).
    """
    size = path.stat().st_size
    if size > MAX_SVG_BYTES:
        raise DataError(f"{path}: {size:,} bytes; SVG files of at most {MAX_SVG_BYTES:,} bytes are "
                        "read", "simplify or split the drawing")
    reader, parser = _TreeReader(str(path)), expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)  # no external DTD
    parser.StartDoctypeDeclHandler, parser.EntityDeclHandler = reader.doctype, reader.entity
    parser.StartElementHandler, parser.EndElementHandler = reader.start, reader.end
    try:
        parser.Parse(path.read_bytes(), True)
        root = reader.builder.close()
    except expat.ExpatError as exc:
        raise DataError(f"{path}: not well-formed XML ({exc})", SVG_FIX) from None
    if local_name(root.tag) != "svg":
        raise DataError(f"{path}: the root element is <{local_name(root.tag)}>, not <svg>", SVG_FIX)
    return root


def local_name(tag: object) -> str:
    """``http://www.w3.org/2000/svg}path`` -> ``path`` (files with and without the namespace)."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def length(value: str | None, what: str, where: str, default: float | None = None) -> float:
    """A length attribute in px (absolute units converted); ``DataError`` for anything else."""
    if value is None:
        if default is None:
            raise DataError(f"{where}: has no {what} attribute", SVG_FIX)
        return default
    m = _LENGTH.match(value)
    if m is None or m.group(2).lower() not in _UNITS or not math.isfinite(float(m.group(1))):
        raise DataError(f"{where}: {what}={value[:40]!r} is not a finite length in px, in, cm, "
                        "mm, pt or pc", SVG_FIX)
    return float(m.group(1)) * _UNITS[m.group(2).lower()]


def numbers(text: str, what: str, where: str) -> list[float]:
    """A list of numbers separated by white space or commas (``points``, transform arguments)."""
    parts = [p for p in re.split(r"[\s,]+", text.strip()) if p]
    if not all(_NUMBERS.fullmatch(p) for p in parts):
        bad = next(p for p in parts if not _NUMBERS.fullmatch(p))
        raise DataError(f"{where}: {what} holds {bad[:20]!r}, not a number", SVG_FIX)
    values = [float(p) for p in parts]
    if not all(map(math.isfinite, values)):
        raise DataError(f"{where}: {what} holds a number too large to be finite", SVG_FIX)
    return values


def parse_transform(text: str, where: str) -> np.ndarray:
    """A ``transform`` attribute -> its affine matrix ``[3, 3]`` (the list applies right to left)."""
    m, pos, end = np.eye(3), 0, len(text.rstrip())
    while pos < end:
        step = _TRANSFORM.match(text, pos)
        if step is None:
            raise DataError(f"{where}: transform {text[:60]!r} is not a list of matrix, translate, "
                            f"scale, rotate, skewX or skewY at character {pos}", SVG_FIX)
        name = step.group(1)
        args = numbers(step.group(2), f"transform {name}", where)
        if len(args) not in _TRANSFORM_ARGS[name]:
            raise DataError(f"{where}: {name}() takes {' or '.join(map(str, _TRANSFORM_ARGS[name]))}"
                            f" numbers, not {len(args)}", SVG_FIX)
        m, pos = m @ _one_transform(name, args), step.end()
    return m


def _one_transform(name: str, a: list[float]) -> np.ndarray:
    """One transform function as a matrix ``[3, 3]`` (SVG 1.1 section 7.6)."""
    if name == "matrix":
        return np.array([[a[0], a[2], a[4]], [a[1], a[3], a[5]], [0, 0, 1]])
    if name == "translate":
        return np.array([[1, 0, a[0]], [0, 1, a[1] if len(a) > 1 else 0.0], [0, 0, 1]])
    if name == "scale":
        return np.diag([a[0], a[1] if len(a) > 1 else a[0], 1.0])
    if name in ("skewX", "skewY"):
        t = math.tan(math.radians(a[0]))
        return np.array([[1, t, 0], [0, 1, 0], [0, 0, 1]]) if name == "skewX" else \
            np.array([[1, 0, 0], [t, 1, 0], [0, 0, 1]])
    c, s = math.cos(math.radians(a[0])), math.sin(math.radians(a[0]))
    rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    if len(a) == 1:
        return rot
    there = np.array([[1, 0, a[1]], [0, 1, a[2]], [0, 0, 1]])  # rotate about (cx, cy)
    back = np.array([[1, 0, -a[1]], [0, 1, -a[2]], [0, 0, 1]])
    return there @ rot @ back
