"""Fixtures for evaluation tests; the tiny runs directory is shared with tests/predict."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)  # the test machine is shared: no thread oversubscription

MODULE = "sketchrnn_tests_tiny_runs"


def tiny_runs_module():
    if MODULE not in sys.modules:
        path = Path(__file__).parents[1] / "predict" / "tiny_runs.py"
        spec = importlib.util.spec_from_file_location(MODULE, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[MODULE] = module
        spec.loader.exec_module(module)
    return sys.modules[MODULE]


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory) -> Path:
    return tiny_runs_module().build(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="session")
def tiny_data(tiny_runs) -> Path:
    return tiny_runs_module()._CACHE["data"]
