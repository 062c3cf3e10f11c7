"""`sketchrnn plugins`: what is registered, by whom, and whether it loads."""

from __future__ import annotations

import json
from typing import Any

import click


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins(as_json: bool) -> None:
    """List registered models, losses and category sources, with each model's and loss's
    options (set them with --set draw.model.OPTION=VALUE, or in a --config file).

    \b
    Examples:
      sketchrnn plugins
      SKETCHRNN_DISABLE_PLUGIN_AUTOLOAD=1 sketchrnn plugins   # built-ins only
    """
    from sketchrnn.registry import get_registry

    rows = get_registry().listing()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    from rich.table import Table

    from sketchrnn.cli.console import console

    table = Table(title="sketchrnn plugins")
    for col in ("group", "name", "distribution", "status", "options"):
        table.add_column(col, overflow="fold")
    for row in rows:
        status = row["status"]
        style = "green" if status == "ok" else "red"
        table.add_row(row["group"], row["name"], row["distribution"], f"[{style}]{status}[/{style}]",
                      _options_text(row.get("options", [])))
    console().print(table)


def _options_text(options: list[dict[str, Any]]) -> str:
    """One line per option: name (type, default): description."""
    from rich.markup import escape

    return "\n".join(escape(f"{o['name']} ({o['type']}, default {o['default']!r}): {o['description']}")
                     for o in options)
