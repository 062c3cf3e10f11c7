"""What an SVG file draws: hidden content (``display``, ``visibility``, as attributes and in
``style``) and ``<use>`` references, checked against geometry worked out by hand from the SVG
rules (SVG 1.1 sections 5.6, 11.5; SVG 2 section 5.6): a ``use`` is drawn as a ``g`` carrying
its transform followed by ``translate(x, y)``, holding a copy of the referenced element that
inherits from the ``use``; ``display: none`` hides a subtree; ``visibility`` is inherited and a
child may set it back to ``visible``; the style attribute overrides presentation attributes."""

from __future__ import annotations

from pathlib import Path

import time

import numpy as np
import pytest

from sketchrnn.data.svg import svg_lines
from sketchrnn.errors import DataError

XLINK = 'xmlns:xlink="http://www.w3.org/1999/xlink"'
KEEP = '<line x1="0" y1="-50" x2="0" y2="-40"/>'  # drawn in every file: from (0,-50) to (0,-40)


def lines_of(tmp_path: Path, body: str) -> list[list[list[float]]]:
    """The drawn polylines as lists, the KEEP line left out."""
    path = tmp_path / "d.svg"
    path.write_text(f'<svg xmlns="http://www.w3.org/2000/svg" {XLINK}>{KEEP}{body}</svg>')
    out = [np.round(line, 9).tolist() for line in svg_lines(path)]
    assert out[0] == [[0, -50], [0, -40]]
    return out[1:]


SEG = [[0.0, 0.0], [10.0, 0.0]]  # <line x2="10"/>


@pytest.mark.parametrize("body", [
    '<line x2="10" display="none"/>',
    '<line x2="10" style="display:none"/>',
    '<line x2="10" style="stroke:red; DISPLAY : None ;fill:none"/>',
    '<line x2="10" style="display: none !important"/>',
    '<g display="none"><line x2="10" display="inline"/></g>',  # none hides the whole subtree
    '<g style="display:none"><g><line x2="10"/></g></g>',
    '<line x2="10" visibility="hidden"/>',
    '<line x2="10" visibility="collapse"/>',
    '<line x2="10" style="visibility:hidden"/>',
    '<g visibility="hidden"><g><line x2="10"/></g></g>',  # inherited through groups
    '<g visibility="hidden"><line x2="10" visibility="inherit"/></g>',
    '<g style="visibility:hidden"><line x2="10" visibility="visible" style="visibility:hidden"/></g>',
    '<line x2="10" display="inline" style="display:none"/>',  # style wins over the attribute
])
def test_hidden_content_draws_nothing(tmp_path, body):
    assert lines_of(tmp_path, body) == []


@pytest.mark.parametrize("body", [
    '<g visibility="hidden"><line x2="10" visibility="visible"/></g>',  # a child may show itself
    '<g visibility="hidden"><g visibility="visible"><line x2="10"/></g></g>',
    '<g style="visibility:hidden"><line x2="10" style="visibility:visible"/></g>',
    '<line x2="10" display="none" style="display:inline"/>',  # style wins over the attribute
    '<line x2="10" visibility="visible"/>',
    '<g display="inline"><line x2="10"/></g>',
])
def test_visible_content_is_drawn(tmp_path, body):
    assert lines_of(tmp_path, body) == [SEG]


def test_the_root_hidden_draws_nothing(tmp_path):
    path = tmp_path / "d.svg"
    path.write_text('<svg xmlns="http://www.w3.org/2000/svg" display="none"><line x2="5"/></svg>')
    with pytest.raises(DataError, match="no drawable elements"):
        svg_lines(path)


def test_use_draws_the_reference_through_its_transform_then_its_x_y(tmp_path):
    # The use is a g with transform="rotate(90) translate(5,7)": (0,0) -> (5,7) -> (-7,5) and
    # (10,0) -> (15,7) -> (-7,15). The original, inside defs, is not drawn itself.
    body = '<defs><line id="l" x2="10"/></defs><use href="#l" x="5" y="7" transform="rotate(90)"/>'
    assert lines_of(tmp_path, body) == [[[-7, 5], [-7, 15]]]


def test_xlink_href_and_href_precedence(tmp_path):
    body = ('<defs><line id="a" x2="10"/><line id="b" y2="10"/></defs>'
            '<use xlink:href="#a" x="1"/>'
            '<use href="#b" xlink:href="#a"/>')  # SVG 2: href wins over xlink:href
    assert lines_of(tmp_path, body) == [[[1, 0], [11, 0]], [[0, 0], [0, 10]]]


def test_a_referenced_group_keeps_its_own_transform_and_is_drawn_in_place_too(tmp_path):
    # The group draws (0,0)-(20,0) in place; the use adds translate(0,100) before it.
    body = ('<g id="g" transform="scale(2)"><line x2="10"/></g>'
            '<use href="#g" y="100"/>')
    assert lines_of(tmp_path, body) == [[[0, 0], [20, 0]], [[0, 100], [20, 100]]]


def test_uses_of_uses_and_symbols_add_up_their_translations(tmp_path):
    body = ('<defs><symbol id="s"><line x2="10"/></symbol>'
            '<use id="u1" href="#s" x="1" y="2"/></defs>'
            '<use href="#u1" x="100" transform="translate(0,1000)"/>')
    assert lines_of(tmp_path, body) == [[[101, 1002], [111, 1002]]]


def test_a_copy_inherits_from_the_use_not_from_the_originals_ancestors(tmp_path):
    body = ('<g visibility="hidden"><line id="l" x2="10"/></g>'
            '<use href="#l"/>'  # visible: inherits from the use
            '<use href="#l" visibility="hidden"/><use href="#l" style="display:none"/>'
            '<g visibility="hidden"><use href="#l"/></g>')
    assert lines_of(tmp_path, body) == [SEG]


def test_a_hidden_original_is_hidden_in_every_copy(tmp_path):
    body = '<defs><line id="l" x2="10" display="none"/></defs><use href="#l"/><use href="#l" x="5"/>'
    assert lines_of(tmp_path, body) == []


def test_a_reference_to_another_file_is_never_read_nor_drawn(tmp_path):
    (tmp_path / "other.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><line id="l" x2="10"/></svg>')
    body = '<use href="other.svg#l"/><use href="file:other.svg#l"/><use xlink:href="http://127.0.0.1:9/x.svg#l"/>'
    assert lines_of(tmp_path, body) == []


@pytest.mark.parametrize("body, words", [
    ('<use href="#nowhere"/>', "refers to '#nowhere', which no element of the file has"),
    ('<g id="a"><line x2="1"/><use href="#a"/></g>', "form a cycle through id='a'"),
    ('<use id="u" href="#u"/>', "form a cycle through id='u'"),
    ('<use id="p" href="#q"/><use id="q" href="#p"/>', "form a cycle"),
])
def test_broken_references_are_one_error_naming_them(tmp_path, body, words):
    with pytest.raises(DataError, match=words.replace("(", r"\(")):
        lines_of(tmp_path, body)


def laughs(leaf: str, levels: int = 9) -> str:
    """A billion-laughs chain of uses: 10 ** levels copies of ``leaf`` in a file of ~100 elements."""
    body = f'<g id="l0">{leaf * 10}</g>'
    for i in range(1, levels):
        body += f'<g id="l{i}">' + f'<use href="#l{i - 1}"/>' * 10 + "</g>"
    return f"<defs>{body}</defs><use href=\"#l{levels - 1}\"/>"


@pytest.mark.parametrize("leaf, words", [
    ("<g/>", "more than 100,000 elements once its <use> references are expanded"),
    ('<line x2="1"/>', "strokes"),  # the stroke limit stops drawn copies first
])
def test_an_exponential_chain_of_uses_is_refused_by_the_size_limits(tmp_path, leaf, words):
    with pytest.raises(DataError, match=words):
        lines_of(tmp_path, laughs(leaf))


def test_a_deep_chain_of_uses_is_refused_by_the_depth_limit(tmp_path):
    body = '<line id="c0" x2="1"/>' + "".join(f'<use id="c{i}" href="#c{i - 1}"/>' for i in range(1, 300))
    with pytest.raises(DataError, match="nested more than 200 deep once its <use> references"):
        lines_of(tmp_path, f'<defs>{body}</defs><use href="#c299"/>')


def test_copies_of_a_long_path_are_refused_by_the_flattening_limit_before_the_work(tmp_path):
    """11 copies of a 100,000-segment path: more segments than the 1,000,000 points a drawing
    may flatten to (each segment is at least one point), refused before flattening them."""
    d = "M0 0" + " l1 1" * 100_000
    body = f'<defs><path id="p" d="{d}"/></defs>' + '<use href="#p"/>' * 11
    with pytest.raises(DataError, match="more than 1,000,000 segments"):
        lines_of(tmp_path, body)


def test_a_big_element_copied_many_times_is_read_once(tmp_path):
    """A 1.2 MB path that draws nothing, copied 10,000 times (4 levels of 10 uses): reading it
    once per copy would take hours; the file is read in seconds."""
    leaf = '<path d="' + "M0 0 " * 240_000 + '"/>'
    started = time.monotonic()
    assert lines_of(tmp_path, laughs(leaf, levels=5).replace(leaf * 10, leaf)) == []
    assert time.monotonic() - started < 120
