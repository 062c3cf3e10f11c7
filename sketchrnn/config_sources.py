"""Where a configuration comes from, and in which order the sources apply.

``defaults < recipe < --config file < flags (--data-dir, --preset, --steps) < --set``: each source
is a raw mapping (read without running code, size and nesting bounded), old keys are migrated in
each source on its own (so that a later source's old key still beats an earlier source's new
one), the sources are merged, and ``config.validate_config`` checks the result, reporting every
problem at once.

Recipes are named, versioned configurations shipped as package data (``recipes/<name>.yaml``):
``version``, a one-line ``description``, the ``figures`` they reached (with the command that
measured them, in the docs) and a ``config`` mapping validated like any --config file.
"""

from __future__ import annotations

import importlib.resources
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sketchrnn.config import Config, validate_config
from sketchrnn.config_migrations import migrate_legacy_augment
from sketchrnn.errors import ConfigError

RECIPES_DIR = "recipes"  # package data: sketchrnn/recipes/<name>.yaml


# Config files are a few kB. PyYAML's time grows with the square of the number of unclosed
# brackets (5,000 take 13 s) and it recurses once per level, so deeper flow nesting is refused
# before parsing, as are files too big to be a config.
MAX_CONFIG_BYTES = 1 << 20
MAX_FLOW_NESTING = 64


def _check_yaml_nesting(text: str, where: str) -> None:
    depth = peak = 0
    for char in text:
        if char in "[{":
            depth += 1
            peak = max(peak, depth)
        elif char in "]}":
            depth = max(depth - 1, 0)
    if peak > MAX_FLOW_NESTING:
        raise ConfigError(f"{where} nests [ or {{ {peak} levels deep", f"use at most {MAX_FLOW_NESTING}")


def read_config_file(path: Path) -> dict[str, Any]:
    """Read a TOML or YAML file into a dict (no validation yet)."""
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist", "pass an existing .toml or .yaml file")
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise ConfigError(f"config file {path} is {path.stat().st_size} bytes, too big for a config",
                          f"keep it under {MAX_CONFIG_BYTES} bytes")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8 text: {exc}", "save it as UTF-8") from None
    try:
        if path.suffix == ".toml":
            if sys.version_info >= (3, 11):
                import tomllib
            else:  # pragma: no cover - Python 3.10
                import tomli as tomllib
            data = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            import yaml

            _check_yaml_nesting(text, f"config file {path}")
            data = yaml.safe_load(text) or {}
        else:
            raise ConfigError(f"config file {path} has an unknown suffix", "use .toml, .yaml or .yml")
    except ConfigError:
        raise
    except Exception as exc:  # the parsers' own errors carry line numbers
        raise ConfigError(f"config file {path} is not valid: {exc}".replace("\n", " "), "fix its syntax")
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top", "use section.key = value")
    return data


def set_path(data: dict[str, Any], key: str, value: Any) -> None:
    """data["a"]["b"]["c"] = value for key "a.b.c", creating sections as needed."""
    node = data
    parts = key.strip().split(".")
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"config key {key!r}: {part} is not a section", "check the key path")
        node = child
    node[parts[-1]] = value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `section.key=value` overrides; values are parsed as YAML scalars (1e-3, true, [a, b])."""
    import yaml

    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r} is not key=value", "write e.g. --set draw.train.steps=500")
        _check_yaml_nesting(raw, f"--set {key.strip()}")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        except RecursionError:  # block nesting ("- - - ...") has no brackets to count
            raise ConfigError(f"--set {key.strip()}: the value is nested too deeply",
                              "give a plain value or a short list") from None
        set_path(data, key, value)
    return data


class Recipe(BaseModel):
    """One recipe file. ``config`` is validated against ``Config`` when the recipe is loaded."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="The file's stem, as given to `fit --recipe`.")
    version: int = Field(ge=1, description="Raised whenever the configuration changes.")
    description: str = Field(min_length=1, max_length=200, description="One line for `recipes`.")
    figures: list[str] = Field(default_factory=list, description="What it reached, and where.")
    config: dict[str, Any] = Field(default_factory=dict, description="A --config mapping.")


def recipe_names() -> list[str]:
    """Every shipped recipe, sorted."""
    folder = importlib.resources.files("sketchrnn").joinpath(RECIPES_DIR)
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_recipe(name: str) -> Recipe:
    """The recipe called ``name``, its config validated; ConfigError naming the known ones."""
    names = recipe_names()
    if name not in names:
        raise ConfigError(f"unknown recipe {name!r}", f"use one of: {', '.join(names)} "
                          "(`sketchrnn recipes` lists them)")
    resource = importlib.resources.files("sketchrnn").joinpath(RECIPES_DIR).joinpath(f"{name}.yaml")
    with importlib.resources.as_file(resource) as path:
        raw = read_config_file(path)
    try:
        recipe = Recipe.model_validate({"name": name, **raw})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"recipe {name!r} is not valid: {problems}", "fix the recipe file") from None
    validate_config(migrate_legacy_augment(recipe.config))
    return recipe


def merge_layers(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``, section by section. A section that names another component
    (``name``) than ``base`` replaces it whole: the first model's options do not fit the second."""
    if "name" in over and "name" in base and over["name"] != base["name"]:
        return dict(over)
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_layers(merged[key], value)
        else:
            merged[key] = value
    return merged


def layered_config(*layers: dict[str, Any]) -> Config:
    """Validate the merge of raw config mappings, lowest precedence first (each migrated alone)."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged = merge_layers(merged, migrate_legacy_augment(layer))
    return validate_config(merged)


def load_config(path: Path | None = None, overrides: list[str] | tuple[str, ...] = (),
                recipe: str | None = None) -> Config:
    """The config the CLI uses: defaults < recipe < file < --set overrides."""
    return layered_config(load_recipe(recipe).config if recipe else {},
                          read_config_file(path) if path is not None else {},
                          apply_overrides({}, list(overrides)))
