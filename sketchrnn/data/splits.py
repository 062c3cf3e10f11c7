"""Drawings of one category -> shuffled train / valid / test splits, none empty (every input
format's last step before ``save_npz``)."""

from __future__ import annotations

import numpy as np

from sketchrnn.data.npz import SketchSplits
from sketchrnn.errors import DataError


def check_fractions(valid_frac: float, test_frac: float) -> None:
    if not (0 < valid_frac < 1 and 0 < test_frac < 1 and valid_frac + test_frac < 1):
        raise DataError(f"valid_frac {valid_frac} and test_frac {test_frac} leave a split empty",
                        "use fractions in (0, 1) that sum to less than 1")


def split_sketches(sketches: list[np.ndarray], name: str, *, valid_frac: float = 0.1,
                   test_frac: float = 0.1, seed: int = 0) -> SketchSplits:
    """Stroke-3 sketches -> splits in a seeded random order; ``name`` is the source, for messages."""
    check_fractions(valid_frac, test_frac)
    if not sketches:
        raise DataError(f"{name}: no drawings with at least two points", "check the input file")
    order = np.random.default_rng(seed).permutation(len(sketches)).tolist()
    # Every split gets at least one sketch: the loader refuses files with an empty split.
    n_valid, n_test = max(1, round(len(order) * valid_frac)), max(1, round(len(order) * test_frac))
    if len(order) - n_valid - n_test < 1:
        raise DataError(f"{name}: {len(order)} drawing(s) cannot fill train, valid and test",
                        "use at least 3 drawings with two or more points each")
    valid, test, train = order[:n_valid], order[n_valid : n_valid + n_test], order[n_valid + n_test :]
    return SketchSplits(
        train=[sketches[i] for i in train], valid=[sketches[i] for i in valid],
        test=[sketches[i] for i in test], source=name,
    )
