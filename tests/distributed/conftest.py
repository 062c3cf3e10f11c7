"""Fixtures for the distributed tests: synthetic QuickDraw categories in a temp folder."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the test modules import distributed_helpers
from distributed_helpers import write_categories  # noqa: E402


@pytest.fixture(scope="module")
def sketch_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """cat, pig, sun: 240 training sketches each."""
    return write_categories(tmp_path_factory.mktemp("quickdraw"), ["cat", "pig", "sun"])
