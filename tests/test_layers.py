"""Imports point down the layers (docs/architecture.md draws them); lazy imports count too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sketchrnn"

# Low to high; a module may import its own layer and any layer below it.
LAYERS = [
    {"errors", "_io"},
    {"data"},
    {"model", "losses"},
    {"config", "config_migrations", "config_sources", "registry", "interfaces", "sampling", "checkpoint", "checkpoint_meta",
     "render", "runs", "metrics", "export", "interop", "storage"},
    {"train"},
    {"distributed", "tuning"},
    {"predict", "evaluation"},
    {"serve"},
    {"cli", "__main__"},
]
LAYER_OF = {name: i for i, names in enumerate(LAYERS) for name in names}


def _top_level_name(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def _imported_sketchrnn_parts(tree: ast.AST):
    """(line, first part after 'sketchrnn.') for every absolute import of a sketchrnn module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "sketchrnn" and len(parts) > 1:
                yield node.lineno, parts[1]


def _modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if _top_level_name(p) != "__init__")


def test_every_module_has_a_layer():
    unplaced = {_top_level_name(p) for p in _modules()} - set(LAYER_OF)
    assert not unplaced, f"add {sorted(unplaced)} to LAYERS here and to docs/architecture.md"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path: Path):
    source_layer = LAYER_OF[_top_level_name(path)]
    upward = [
        f"line {line}: sketchrnn.{target}"
        for line, target in _imported_sketchrnn_parts(ast.parse(path.read_text()))
        if LAYER_OF.get(target, -1) > source_layer
    ]
    assert not upward, f"{path.relative_to(PACKAGE)} imports a higher layer: {upward}"


def test_the_check_catches_an_upward_import(tmp_path):
    # The rule itself: a data module importing the CLI would be reported.
    tree = ast.parse("def f():\n    from sketchrnn.cli.console import console\n")
    found = list(_imported_sketchrnn_parts(tree))
    assert found == [(2, "cli")] and LAYER_OF["cli"] > LAYER_OF["data"]
