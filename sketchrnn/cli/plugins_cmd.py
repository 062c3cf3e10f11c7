"""`sketchrnn plugins`: what is registered, by whom, and whether it loads."""

from __future__ import annotations

import json

import click


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins(as_json: bool) -> None:
    """List registered models, losses and category sources.

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
    for col in ("group", "name", "distribution", "status"):
        table.add_column(col, overflow="fold")
    for row in rows:
        status = row["status"]
        style = "green" if status == "ok" else "red"
        table.add_row(row["group"], row["name"], row["distribution"], f"[{style}]{status}[/{style}]")
    console().print(table)
