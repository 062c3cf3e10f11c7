"""Older configuration keys read as their current equivalents, so configs, recipes, ``--set``
flags and checkpoints written before a setting moved keep their meaning."""

from __future__ import annotations

from typing import Any

# Before augmentation was per task it was `data.augment_<key>`, shared by both tasks: such a
# config (or --set) still means the same thing, the value going to every task that does not set
# its own. Checkpoints stored it with their data settings; it plays no part in using a model.
LEGACY_AUGMENT_KEYS = {"augment_scale": "scale", "augment_drop": "drop", "augment_rotate": "rotate"}
TASKS = ("draw", "predict")


def migrate_legacy_augment(data: dict[str, Any]) -> dict[str, Any]:
    """``data.augment_*`` -> ``<task>.augment.*`` for each task that does not set the key itself."""
    section = data.get("data")
    if not isinstance(section, dict) or not LEGACY_AUGMENT_KEYS.keys() & section.keys():
        return data
    section = dict(section)
    moved = {new: section.pop(old) for old, new in LEGACY_AUGMENT_KEYS.items() if old in section}
    data = {**data, "data": section}
    for task in TASKS:
        given = data.get(task, {})
        if not isinstance(given, dict):
            continue  # reported by validation
        augment = given.get("augment", {})
        if isinstance(augment, dict):
            data[task] = {**given, "augment": {**moved, **augment}}
    return data


def drop_legacy_augment(data_settings: Any) -> Any:
    """A checkpoint's stored data settings without the old shared augmentation keys."""
    if isinstance(data_settings, dict):
        return {k: v for k, v in data_settings.items() if k not in LEGACY_AUGMENT_KEYS}
    return data_settings
