"""Fixtures for the tuning tests: synthetic categories (the distributed tests' generator)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the test modules import tuning_helpers
from tuning_helpers import helpers  # noqa: E402


@pytest.fixture(scope="module")
def sketch_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """cat, pig, sun: 120 training sketches each."""
    return helpers().write_categories(tmp_path_factory.mktemp("quickdraw"), ["cat", "pig", "sun"], n_train=120)
