"""The ``shapes`` category source: five procedurally drawn categories, offline and deterministic.

Names carry a ``shape-`` prefix because QuickDraw already has ``circle``, ``square``,
``triangle`` and ``star``: the registry refuses a bare name that two sources provide, so
unprefixed names would make ``sketchrnn fit circle`` fail for everybody who installs this plugin.
``shape_circle`` / ``Shape Circle`` spell the same category (``canonical_name``).

Split sizes: ``SKETCHRNN_SHAPES_SIZES=train,valid,test`` (read at load time, so a Ray job's
runtime_env can set it), else the source's ``sizes`` attribute (default 2000/200/200). The seed:
``SKETCHRNN_SHAPES_SEED``, else ``seed`` (0). Each split has its own random stream seeded by
(seed, category, split), so the valid and test sets do not change when the train size does.
"""

from __future__ import annotations

import os
import re
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from sketchrnn_shapes.generate import to_strokes
from sketchrnn_shapes.shapes import SHAPES

SIZES_ENV = "SKETCHRNN_SHAPES_SIZES"
SEED_ENV = "SKETCHRNN_SHAPES_SEED"
SPLITS = ("train", "valid", "test")


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "-", name.strip().lower())


def generate(category: str, n: int, *, seed: int = 0, split: str = "train") -> list[np.ndarray]:
    """``n`` int16 stroke-3 sketches ``[len, 3]`` of ``category``; same arguments, same sketches."""
    make, size, max_rotation = SHAPES[category]
    rng = np.random.default_rng([seed, zlib.crc32(category.encode()), SPLITS.index(split)])
    return to_strokes(make(n, rng), rng, size=size, max_rotation=max_rotation)


class ShapesSource:
    """Circle, square, triangle, star and spiral, drawn as a person would (see ``shapes.py``)."""

    name = "shapes"

    def __init__(self, sizes: tuple[int, int, int] = (2000, 200, 200), seed: int = 0) -> None:
        self.sizes, self.seed = sizes, seed

    def names(self) -> list[str]:
        return list(SHAPES)

    def canonical_name(self, name: str) -> str | None:
        """``shape_circle`` -> ``shape-circle``; None for anything else (never a bare ``circle``)."""
        key = _key(name)
        return key if key in SHAPES else None

    def describe(self, category: str) -> str:
        return f"procedural hand-drawn {self._canonical(category)[6:]} (sketchrnn-shapes, generated offline)"

    def settings(self) -> tuple[tuple[int, int, int], int]:
        """(train, valid, test) sizes and seed, environment first; DataError when malformed."""
        from sketchrnn.errors import DataError

        sizes, seed = self.sizes, self.seed
        raw = os.environ.get(SIZES_ENV, "").strip()
        if raw:
            try:
                parsed = tuple(int(v) for v in raw.split(","))
            except ValueError:
                parsed = ()
            if len(parsed) != 3 or min(parsed) < 1:
                raise DataError(f"{SIZES_ENV}={raw!r} is not three positive integers",
                                f"write e.g. {SIZES_ENV}=2000,200,200 (train,valid,test)")
            sizes = parsed  # type: ignore[assignment]
        raw_seed = os.environ.get(SEED_ENV, "").strip()
        if raw_seed:
            try:
                seed = int(raw_seed)
            except ValueError:
                raise DataError(f"{SEED_ENV}={raw_seed!r} is not an integer", f"write e.g. {SEED_ENV}=0") from None
        return sizes, seed

    def load(self, category: str, *, data_dir: Path | None = None, cache_dir: Path | None = None,
             download: bool = True, progress: Any = None) -> Any:
        """Generate the splits. ``data_dir``, ``cache_dir``, ``download`` and ``progress`` are
        accepted for the protocol and ignored: nothing is read, written or downloaded."""
        from sketchrnn.data.npz import SketchSplits

        name = self._canonical(category)
        sizes, seed = self.settings()
        splits = {split: generate(name, n, seed=seed, split=split) for split, n in zip(SPLITS, sizes)}
        return SketchSplits(**splits, source=f"sketchrnn-shapes:{name} (seed {seed})")

    def _canonical(self, category: str) -> str:
        name = self.canonical_name(category)
        if name is None:
            from sketchrnn.errors import DataError

            raise DataError(f"unknown shapes category {category!r}", f"use one of: {', '.join(SHAPES)}")
        return name


# What the ``sketchrnn.categories`` entry point ``shapes`` resolves to.
SHAPES_SOURCE = ShapesSource()
