"""`sketchrnn recipes`: the named configurations shipped with sketchrnn, and what they reached."""

from __future__ import annotations

import json

import click


@click.command()
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def recipes(name: str | None, as_json: bool) -> None:
    """List the recipes (`fit --recipe NAME`, `tune --recipe NAME`), or show NAME's configuration.

    A recipe is the lowest layer above the defaults: --config and --set still apply on top.

    \b
    Examples:
      sketchrnn recipes
      sketchrnn recipes quickdraw-cpu
      sketchrnn fit --recipe quickdraw-cpu --categories "alarm clock,face,pig,radio" --workers 2
    """
    from sketchrnn.config_sources import load_recipe, recipe_names

    chosen = [load_recipe(n) for n in ([name] if name else recipe_names())]
    if as_json:
        click.echo(json.dumps([r.model_dump() for r in chosen], indent=2))
        return
    if name:
        import yaml

        recipe = chosen[0]
        click.echo(f"# {recipe.name} v{recipe.version}: {recipe.description}")
        for line in recipe.figures:
            click.echo(f"# {line}")
        click.echo(yaml.safe_dump(recipe.config, sort_keys=False).rstrip())
        return
    from rich.table import Table

    from sketchrnn.cli.console import console

    table = Table(title="sketchrnn recipes (fit --recipe NAME; `sketchrnn recipes NAME` shows one)")
    for col in ("name", "version", "description", "figures"):
        table.add_column(col, overflow="fold")
    for recipe in chosen:
        table.add_row(recipe.name, str(recipe.version), recipe.description, "\n".join(recipe.figures))
    console().print(table)
