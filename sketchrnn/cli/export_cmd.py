"""`sketchrnn export`: a draw model -> a magenta-js / ml5 model file (.gen.json)."""

from __future__ import annotations

from pathlib import Path

import click

from sketchrnn.cli.options import draw_checkpoint_option


@click.command(name="export")
@click.argument("category")
@click.option("--runs", "runs_dir", type=click.Path(path_type=Path), default=Path("runs"),
              show_default=True, help="Runs directory written by `sketchrnn fit`.")
@draw_checkpoint_option
@click.option("--out", "out_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Output file (default: <category>.gen.json); never overwritten.")
def export_model(category: str, runs_dir: Path, checkpoint: Path | None, out_file: Path | None) -> None:
    """Export CATEGORY's decoder-only draw model for @magenta/sketch and ml5 (.gen.json).

    Weights are stored as int16 (step 3e-4, at most +-10); a VAE or a layer-norm model cannot be
    expressed in the format and is refused.

    \b
    Examples:
      sketchrnn export cat
      sketchrnn export cat --checkpoint best --out web/cat.gen.json
    """
    from sketchrnn._io import write_text_atomic
    from sketchrnn.cli.console import console
    from sketchrnn.cli.fit_cmd import check_categories
    from sketchrnn.interop.exporting import export_checkpoint
    from sketchrnn.runs import resolve_draw_checkpoint, slug

    (category,) = check_categories([category])
    path = resolve_draw_checkpoint(category, runs_dir, checkpoint)
    out_file = out_file or Path(f"{slug(category)}.gen.json")
    text = export_checkpoint(path, category)
    write_text_atomic(out_file, text, overwrite=False)
    console().print(f"exported {path} to {out_file} ({len(text):,} bytes)")
