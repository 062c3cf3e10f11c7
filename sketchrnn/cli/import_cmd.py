"""`sketchrnn import`: a magenta-js model (.gen.json, or Google's pretrained one) -> a draw
checkpoint under --runs."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(name="import")
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--pretrained", metavar="CATEGORY",
              help="Download Google's published model for CATEGORY (into the sketch cache) instead.")
@click.option("--category", help="Category it draws (default: the model's own name); a name no "
              "source provides is a category of your own, as in `fit NAME --data-dir DIR`.")
@click.option("--runs", "runs_dir", default="runs", show_default=True,
              help="Runs folder (or URI) to write runs/draw-<category>/ into.")
def import_model(file: Path | None, pretrained: str | None, category: str | None, runs_dir: str) -> None:
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
    from sketchrnn.cli.fit_cmd import check_categories, check_category_name
    from sketchrnn.errors import DataError
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
    try:
        canonical = check_category_name(category or pretrained or model.name.replace("_", " "))
    except DataError as bad:  # a model's own name is untrusted text: ask for one instead
        raise bad if category else DataError(f"the model's {bad.message}", "pass --category NAME") from None
    from sketchrnn.cli.options import reading_runs
    from sketchrnn.runs import draw_job_name

    job = draw_job_name(canonical)
    with reading_runs(runs_dir, [job], writes=[job], new_checkpoints=True) as local:
        path = write_checkpoint(model, canonical, local, source=file.name)
    if path.is_relative_to(local):  # name it under --runs as given (a URI's files were staged)
        path = f"{runs_dir.rstrip('/')}/{path.relative_to(local).as_posix()}"
    console().print(f"imported {file.name} ({model.hidden} LSTM units, scale "
                    f"{model.scale_factor:g}) as the {canonical!r} draw model: {path}")
