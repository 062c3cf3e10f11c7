"""Which elements of an SVG document draw, and through which transform.

Drawn: the shapes of ``svg_shapes`` inside ``svg``, ``g``, ``a`` and ``switch`` containers, with
every ``transform`` on the way applied (nested ``svg`` elements add their ``x``, ``y``), and
copies of elements of the same file that ``<use href="#id">`` (or ``xlink:href``; ``href`` wins
when both are given) refers to. A ``use`` draws as SVG specifies (SVG 1.1 section 5.6): a ``g``
with the use's ``transform`` followed by ``translate(x, y)``, holding a copy of the referenced
element that inherits from the use, not from the original's ancestors (so what ``defs`` holds
draws through a use; a ``symbol`` draws like a nested ``svg``). A reference to another file or a
URL is never fetched and draws nothing, like ``image``. A reference to a missing id, and a
cycle of references, make the file bad (SVG calls both errors).

Hidden content draws nothing (SVG 1.1 section 11.5): ``display: none`` hides the element and its
subtree; ``visibility: hidden`` (or ``collapse``) is inherited, and a descendant may set
``visible`` again. Both are read from the presentation attribute and from the ``style``
attribute, whose declaration wins (the CSS cascade); style sheets (``<style>``, ``class``) are
not read.

Expanding references can multiply a small file's elements (a "billion laughs" of nested uses),
so the walk counts every element it visits, copies included, against the limits ``svg_xml``
puts on the file itself (``MAX_ELEMENTS``, ``MAX_DEPTH``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from xml.etree.ElementTree import Element

import numpy as np

from sketchrnn.data.svg_shapes import SHAPES
from sketchrnn.data.svg_xml import MAX_DEPTH, MAX_ELEMENTS, SVG_FIX, length, local_name, parse_transform
from sketchrnn.errors import DataError

CONTAINERS = {"svg", "g", "a", "switch"}
XLINK_HREF = "http://www.w3.org/1999/xlink}href"
_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_IMPORTANT = re.compile(r"!\s*important\s*$", re.I)


def _properties(el: Element) -> dict[str, str]:
    """``display`` and ``visibility`` as ``el`` sets them, lower case: the ``style`` attribute's
    declarations override the presentation attributes."""
    props = {name: el.get(name, "").strip().lower() for name in ("display", "visibility")
             if el.get(name) is not None}
    for declaration in _COMMENT.sub("", el.get("style", "")).split(";"):
        name, colon, value = declaration.partition(":")
        if colon and name.strip().lower() in ("display", "visibility"):
            props[name.strip().lower()] = _IMPORTANT.sub("", value).strip().lower()
    return props


def _visibility(props: dict[str, str], inherited: bool) -> bool:
    """``visibility`` is inherited: unset, ``inherit`` or a value CSS would ignore keep the parent's."""
    value = props.get("visibility")
    return {"visible": True, "hidden": False, "collapse": False}.get(value or "", inherited)


def _at_xy(el: Element, where: str) -> np.ndarray:
    """``translate(x, y)`` [3, 3] by ``el``'s ``x`` and ``y`` attributes (default 0)."""
    x, y = (length(el.get(a), a, f"{where}: <{local_name(el.tag)}>", 0.0) for a in "xy")
    return np.array([[1.0, 0.0, x], [0.0, 1.0, y], [0.0, 0.0, 1.0]])


class _Walk:
    """One document's walk: its ids, the references being expanded, the elements visited."""

    def __init__(self, root: Element, where: str) -> None:
        self.where, self.visited = where, 0  # elements visited, copies included
        self.expanding: list[Element] = []  # the referenced elements being copied, outermost first
        self.ids: dict[str, Element] = {}
        for el in root.iter():
            if el.get("id") is not None:
                self.ids.setdefault(el.get("id", ""), el)  # the first of a repeated id, as browsers do

    def element(self, el: Element, ctm: np.ndarray, visible: bool, depth: int,
                instance: bool = False) -> Iterator[tuple[Element, np.ndarray]]:
        """``(shape, its transform [3, 3])`` that ``el`` draws, in document order; ``instance``:
        ``el`` is the copy a ``use`` refers to (a ``symbol`` draws only then, and always)."""
        self.visited += 1
        if self.visited > MAX_ELEMENTS or depth > MAX_DEPTH:
            what = (f"more than {MAX_ELEMENTS:,} elements" if self.visited > MAX_ELEMENTS
                    else f"elements nested more than {MAX_DEPTH} deep")
            raise DataError(f"{self.where}: has {what} once its <use> references are expanded",
                            SVG_FIX)
        tag = local_name(el.tag)
        symbol = instance and tag == "symbol"
        if tag not in CONTAINERS and tag not in SHAPES and tag != "use" and not symbol:
            return
        props = _properties(el)
        if props.get("display") == "none" and not symbol:
            return
        visible, m = _visibility(props, visible), ctm
        if tag == "svg" or symbol:  # a viewport starts at its x, y
            m = m @ _at_xy(el, self.where)
        if el.get("transform") is not None:
            m = m @ parse_transform(el.get("transform", ""), f"{self.where}: <{tag}>")
        if tag in SHAPES:
            if visible:
                yield el, m
        elif tag == "use":
            yield from self.use(el, m, visible, depth)
        else:
            for child in el:
                yield from self.element(child, m, visible, depth + 1)

    def use(self, el: Element, ctm: np.ndarray, visible: bool, depth: int
            ) -> Iterator[tuple[Element, np.ndarray]]:
        """The copy of the element ``el`` refers to, drawn after ``translate(x, y)``."""
        href = (el.get("href") if el.get("href") is not None else el.get(XLINK_HREF, "")).strip()
        if not href.startswith("#"):
            return  # no reference, or another file / a URL: never fetched, nothing drawn
        target = self.ids.get(href[1:])
        if target is None:
            raise DataError(f"{self.where}: a <use> refers to {href[:40]!r}, which no element of "
                            "the file has", SVG_FIX)
        if any(target is t for t in self.expanding):
            raise DataError(f"{self.where}: its <use> references form a cycle through "
                            f"id={href[1:41]!r}", SVG_FIX)
        self.expanding.append(target)
        yield from self.element(target, ctm @ _at_xy(el, self.where), visible, depth + 1,
                                instance=True)
        self.expanding.pop()  # not reached after an error: the walk is over then


def drawn_elements(root: Element, where: str) -> Iterator[tuple[Element, np.ndarray]]:
    """``(shape element, its current transform [3, 3])`` in document order for the document
    whose root ``<svg>`` is ``root`` (its ``x``, ``y`` are not applied: no viewport holds it)."""
    walk = _Walk(root, where)
    props = _properties(root)
    if props.get("display") == "none":
        return
    m = np.eye(3)
    if root.get("transform") is not None:
        m = parse_transform(root.get("transform", ""), f"{where}: <svg>")
    visible = _visibility(props, True)
    for child in root:
        yield from walk.element(child, m, visible, 2)
