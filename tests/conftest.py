"""Shared fixtures: the real data folder (when present) and fake installed plugins."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SKETCHRNN_SHARED_DATA", REPO.parent / "shared" / "data"))
QUICKDRAW_NPZ = SHARED_DATA / "quickdraw"


@pytest.fixture
def shared_quickdraw() -> Path:
    if not (QUICKDRAW_NPZ / "pig.npz").exists():
        pytest.skip(f"real QuickDraw data not found at {QUICKDRAW_NPZ} (set SKETCHRNN_SHARED_DATA)")
    return QUICKDRAW_NPZ


@pytest.fixture
def install_fake_dist(tmp_path, monkeypatch):
    """Make a distribution look installed: a dist-info folder with entry points, on sys.path."""
    from sketchrnn.registry import reset_registry

    def install(name: str, entry_points: dict[str, dict[str, str]], modules: dict[str, str] | None = None,
                version: str = "1.0") -> None:
        root = tmp_path / f"site-{name}"
        info = root / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        lines = []
        for group, eps in entry_points.items():
            lines.append(f"[{group}]")
            lines += [f"{k} = {v}" for k, v in eps.items()]
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
        for mod, source in (modules or {}).items():
            (root / f"{mod}.py").write_text(source)
        monkeypatch.syspath_prepend(str(root))
        reset_registry()

    yield install
    reset_registry()
    for mod in [m for m in sys.modules if m.startswith("fake_")]:
        del sys.modules[mod]
