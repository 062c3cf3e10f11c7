"""The ``shapes`` category source: registration, names, determinism, and that shapes look like shapes.

Shape checks use geometry computed here from the absolute points, independent of how the
generator builds them: closed curves end near their start, circles keep a near-constant radius,
squares and triangles turn sharply at 4 and 3 corners, spirals wind outwards and stay open.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("sketchrnn_shapes") is None,
    reason="sketchrnn-shapes is not installed (pip install ./plugins/sketchrnn-shapes)",
)

CATEGORIES = ["shape-circle", "shape-square", "shape-triangle", "shape-star", "shape-spiral"]


@pytest.fixture
def source(monkeypatch):
    from sketchrnn_shapes.source import SEED_ENV, SIZES_ENV, ShapesSource

    monkeypatch.delenv(SIZES_ENV, raising=False)
    monkeypatch.delenv(SEED_ENV, raising=False)
    return ShapesSource(sizes=(300, 40, 30))


def _points(sketch: np.ndarray) -> np.ndarray:
    return np.cumsum(sketch[:, :2].astype(float), axis=0)  # row 0 places the first point


def _single_stroke(sketches: list[np.ndarray]) -> list[np.ndarray]:
    return [s for s in sketches if s[:, 2].sum() == 1]


def _sharp_turns(points: np.ndarray, degrees: float = 55.0) -> int:
    d = np.diff(points, axis=0)
    d = d[np.linalg.norm(d, axis=1) > 0]
    heading = np.arctan2(d[:, 1], d[:, 0])
    turn = np.abs((np.diff(heading) + np.pi) % (2 * np.pi) - np.pi)
    return int((turn > np.radians(degrees)).sum())


def test_registered_and_resolvable_without_clashing_with_quickdraw() -> None:
    from sketchrnn.registry import get_registry, reset_registry

    reset_registry()
    registry = get_registry()
    assert registry.entries("categories")["shapes"].distribution == "sketchrnn-shapes"
    assert registry.load("categories", "shapes").names() == CATEGORIES
    assert registry.resolve_category("shape-circle")[1] == "shape-circle"
    assert registry.resolve_category("Shape_Circle")[1] == "shape-circle"
    assert registry.resolve_category("shapes:shape circle")[1] == "shape-circle"
    source, name = registry.resolve_category("circle")  # still QuickDraw's, and not ambiguous
    assert (source.name, name) == ("quickdraw", "circle")


@pytest.mark.parametrize("category", CATEGORIES)
def test_splits_are_deterministic_int16_stroke3(source, category: str) -> None:
    from sketchrnn.data.npz import SketchSplits

    a, b = source.load(category), source.load(category)
    assert isinstance(a, SketchSplits)
    assert (len(a.train), len(a.valid), len(a.test)) == (300, 40, 30)
    for split in ("train", "valid", "test"):
        for x, y in zip(getattr(a, split), getattr(b, split)):
            assert x.dtype == np.int16 and x.ndim == 2 and x.shape[1] == 3
            np.testing.assert_array_equal(x, y)
    assert not any(np.array_equal(x, y) for x, y in zip(a.train, a.valid))  # splits differ
    lengths = np.array([len(s) for s in a.train])
    assert lengths.min() >= 10 and lengths.max() <= 80  # within the core's default filter
    rows = np.concatenate(a.train)
    assert set(np.unique(rows[:, 2])) == {0, 1} and all(s[-1, 2] == 1 for s in a.train)
    assert 10 < np.abs(rows[1:, :2]).mean() < 60  # QuickDraw-like pixel steps


def test_sizes_and_seed_from_the_environment(source, monkeypatch) -> None:
    from sketchrnn.errors import DataError
    from sketchrnn_shapes.source import SEED_ENV, SIZES_ENV

    base = source.load("shape-star")
    monkeypatch.setenv(SIZES_ENV, "50,5,7")
    small = source.load("shape-star")
    assert (len(small.train), len(small.valid), len(small.test)) == (50, 5, 7)
    monkeypatch.setenv(SEED_ENV, "1")
    other = source.load("shape-star")
    assert not np.array_equal(other.train[0], small.train[0])
    monkeypatch.setenv(SIZES_ENV, "50,5")
    with pytest.raises(DataError, match="three positive integers"):
        source.load("shape-star")
    assert len(base.train) == 300


@pytest.mark.parametrize("category", ["shape-circle", "shape-square", "shape-triangle", "shape-star"])
def test_closed_shapes_end_near_their_start(source, category: str) -> None:
    sketches = _single_stroke(source.load(category).train)
    assert len(sketches) > 100
    gaps = []
    for s in sketches:
        p = _points(s)
        diagonal = np.linalg.norm(p.max(0) - p.min(0))
        gaps.append(np.linalg.norm(p[-1] - p[0]) / diagonal)
    assert np.median(gaps) < 0.15 and np.max(gaps) < 0.35


def test_circles_are_round_and_polygons_have_their_corners(source) -> None:
    for s in _single_stroke(source.load("shape-circle").train)[:100]:
        p = _points(s)
        r = np.linalg.norm(p - (p.max(0) + p.min(0)) / 2, axis=1)
        assert r.std() / r.mean() < 0.2
    for category, corners in (("shape-square", 4), ("shape-triangle", 3)):
        turns = [_sharp_turns(_points(s)) for s in _single_stroke(source.load(category).train)]
        assert np.median(turns) == corners, category


def test_spirals_wind_outwards_and_stay_open(source) -> None:
    for s in source.load("shape-spiral").train[:100]:
        p = _points(s)
        centre = (p.max(0) + p.min(0)) / 2
        r = np.linalg.norm(p - centre, axis=1)
        inner, outer = sorted([r[: len(r) // 4].mean(), r[-len(r) // 4 :].mean()])
        assert outer > 2 * inner  # one end in the middle, the other outside
        assert np.linalg.norm(p[-1] - p[0]) > 0.3 * np.linalg.norm(p.max(0) - p.min(0))


def test_drawing_styles_vary_the_stroke_count(source) -> None:
    counts = {c: np.bincount([int(s[:, 2].sum()) for s in source.load(c).train]) for c in CATEGORIES}
    assert np.count_nonzero(counts["shape-square"]) >= 3  # 1, 2 or 4 strokes
    assert np.count_nonzero(counts["shape-triangle"]) >= 3  # 1, 2 or 3
    assert counts["shape-spiral"].argmax() == 1 and np.count_nonzero(counts["shape-spiral"]) == 1


def test_the_core_preprocessing_keeps_them(source) -> None:
    from sketchrnn.data.preprocess import prepare

    data = prepare({"shape-triangle": source.load("shape-triangle")}, max_seq_len=200, min_seq_len=10,
                   clamp=1000.0)
    assert len(data.train) == 300 and 5 < data.scale < 100


def test_unknown_names_are_refused(source) -> None:
    from sketchrnn.errors import DataError

    assert source.canonical_name("circle") is None  # bare QuickDraw names stay QuickDraw's
    with pytest.raises(DataError, match="shape-circle"):
        source.load("hexagon")
