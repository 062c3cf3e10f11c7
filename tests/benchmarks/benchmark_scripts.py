"""Loading a script of benchmarks/ as a module, for the tests of this folder."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def load_script(file_name: str) -> ModuleType:
    """``benchmarks/<file_name>`` imported fresh under its own stem."""
    path = BENCHMARKS / file_name
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
