"""`sketchrnn import`: a magenta-js model (.gen.json, or Google's pretrained one) -> a draw
checkpoint under --runs."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(name="import")
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--pretrained", metavar="CATEGORY",
              help="Download Google's published model for CATEGORY (into the sketch cache) instead.")
@click.option("--category", help="Category it draws (default: the model's own name).")
@click.option("--runs", "runs_dir", type=click.Path(path_type=Path), default=Path("runs"),
              show_default=True, help="Runs directory to write runs/draw-<category>/ into.")
def import_model(file: Path | None, pretrained: str | None, category: str | None, runs_dir: Path) -> None:
    """Import a magenta-js / ml5 sketch-rnn model FILE (.gen.json) as a draw model.

    The model becomes runs/draw-<category>/checkpoints/latest, which `sample`, `serve`,
    `predict`'s completion and `eval draw` use like a model trained here. With --pretrained,
    Google's model for that category is downloaded first (SKETCHRNN_MODELS_MIRROR: a copy of
    their folder; SKETCHRNN_CACHE: where it is kept).

    \b
    Examples:
      sketchrnn import bicycle.gen.json
      sketchrnn import my_cat.gen.json --category cat --runs runs
      sketchrnn import --pretrained "the mona lisa"
    """
    from sketchrnn.cli.console import console
    from sketchrnn.cli.fit_cmd import check_categories
    from sketchrnn.interop.importing import import_model as write_checkpoint
    from sketchrnn.interop.magenta_json import read_model

    if (file is None) == (pretrained is None):
        raise click.UsageError("give either FILE or --pretrained CATEGORY")
    if pretrained is not None:
        from sketchrnn.interop.pretrained import fetch_pretrained

        (pretrained,) = check_categories([pretrained])
        file, model = fetch_pretrained(pretrained)
    else:
        model = read_model(file)
    (canonical,) = check_categories([category or pretrained or model.name.replace("_", " ")])
    path = write_checkpoint(model, canonical, runs_dir, source=file.name)
    console().print(f"imported {file.name} ({model.hidden} LSTM units, scale "
                    f"{model.scale_factor:g}) as the {canonical!r} draw model: {path}")
