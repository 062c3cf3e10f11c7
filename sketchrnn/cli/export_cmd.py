"""`sketchrnn export`: a draw model -> a magenta-js / ml5 model file (.gen.json)."""

from __future__ import annotations

from pathlib import Path

import click

from sketchrnn.cli.options import draw_checkpoint_option, reading_runs, runs_option


@click.command(name="export")
@click.argument("category")
@runs_option
@draw_checkpoint_option
@click.option("--out", "out_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Output file (default: <category>.gen.json); never overwritten.")
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False),
              help="Also report what int16 costs: valid L_R of the float and the exported weights "
                   "on the model's data in this folder (<category>.npz).")
def export_model(category: str, runs_dir: str, checkpoint: Path | None, out_file: Path | None,
                 data_dir: Path | None) -> None:
    """Export CATEGORY's decoder-only draw model for @magenta/sketch and ml5 (.gen.json).

    Weights are stored as int16 (step 3e-4, at most +-10); a VAE or a layer-norm model cannot be
    expressed in the format and is refused.

    \b
    Examples:
      sketchrnn export cat
      sketchrnn export cat --checkpoint best --out web/cat.gen.json
      sketchrnn export cat --data-dir data/    # and the valid L_R before / after int16
    """
    from sketchrnn._io import write_text_atomic
    from sketchrnn.cli.console import console
    from sketchrnn.cli.fit_cmd import check_trained_category
    from sketchrnn.interop.exporting import export_checkpoint
    from sketchrnn.runs import resolve_draw_checkpoint, slug

    with reading_runs(runs_dir) as local:
        category = check_trained_category(category, local, checkpoint)
        path = resolve_draw_checkpoint(category, local, checkpoint)
        text = export_checkpoint(path, category)
        cost = _int16_cost(path, text, data_dir) if data_dir is not None else None
    out_file = out_file or Path(f"{slug(category)}.gen.json")
    if path.is_relative_to(local):  # name it under --runs as given (a URI's files were staged)
        path = f"{runs_dir.rstrip('/')}/{path.relative_to(local).as_posix()}"
    write_text_atomic(out_file, text, overwrite=False)
    console().print(f"exported {path} to {out_file} ({len(text):,} bytes)")
    if cost is not None:
        console().print(f"int16 weights: valid L_R {cost['float']:.5f} -> {cost['int16']:.5f} "
                        f"({cost['int16'] - cost['float']:+.1e}) on {cost['n_sketches']:,} sketches",
                        highlight=False)


def _int16_cost(path: Path, text: str, data_dir: Path) -> dict[str, float]:
    """Measured before the file is written, so that a data problem leaves nothing behind."""
    from sketchrnn.evaluation.quantisation import int16_cost
    from sketchrnn.predict.loading import load_data
    from sketchrnn.runs import load_draw

    model, meta = load_draw(path)
    return int16_cost(model, meta, text, load_data(meta, data_dir).valid)
