"""`sketchrnn predict`: which category is this (incomplete) sketch, or none of them; and its end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from sketchrnn.cli.options import reading_runs, runs_option, temperature_style_option
from sketchrnn.config import DEFAULT_TEMPERATURE, MAX_TEMPERATURE, MIN_TEMPERATURE


def _from_test(category: str, cut: float, index: int, predictor: Any,
               data_dir: Path | None) -> Any:
    """Test sketch ``index`` of CATEGORY with ``cut`` of its tail removed, as a RawSketch in
    pixels (so it goes through exactly the path a user's file does)."""
    import numpy as np

    from sketchrnn.errors import InputError
    from sketchrnn.data.tail_cut import cut_tails
    from sketchrnn.predict.inputs import RawSketch
    from sketchrnn.predict.loading import load_data

    names = {c.lower(): c for c in predictor.categories}
    if category.lower() not in names:
        raise InputError(f"--from-test {category!r}: the predict model knows "
                         f"{', '.join(predictor.categories)}", "choose one of those categories")
    category = names[category.lower()]
    data = load_data(predictor.meta, data_dir)
    members = np.flatnonzero(data.test.labels == predictor.categories.index(category))
    if not 0 <= index < len(members):
        raise InputError(f"--index {index} is out of range: the {category!r} test split has "
                         f"{len(members)} sketches", f"use 0..{len(members) - 1}")
    sketch = cut_tails(data.test, members[index : index + 1], np.array([cut])).sketch(0)
    source = f"test:{category}[{index}] cut {cut:.0%}"
    return RawSketch(predictor.to_pixels(sketch).astype(np.float64), "data", source)


def _write_completion(prediction: Any, raw_px: Any, runs_dir: Path, out_dir: Path, stem: str,
                      seed: int, temperature: float, temperature_style: str) -> dict[str, Any] | None:
    from sketchrnn import render
    from sketchrnn.cli.outputs import writing_into
    from sketchrnn.predict.predictor import complete
    from sketchrnn.runs import find_draw_checkpoint, load_draw

    category = prediction.prediction
    if category is None:
        prediction.notes.append("no completion: the sketch is not one of the known categories")
        return None
    path = find_draw_checkpoint(category, runs_dir)
    if path is None:
        prediction.notes.append(f"no completion: no draw model for {category!r} under {runs_dir} "
                                f"(train one: sketchrnn fit {category!r} --only draw)")
        return None
    model, meta = load_draw(path)
    full = complete(model, meta, raw_px, seed=seed, temperature=temperature,
                    temperature_style=temperature_style)
    with writing_into(out_dir):
        out_dir.mkdir(parents=True, exist_ok=True)
        png = render.to_png(full, out_dir / f"{stem}_completion.png")
        gif = render.to_gif(full, out_dir / f"{stem}_completion.gif")
        given = render.to_png(raw_px, out_dir / f"{stem}_input.png")
    return {"category": category, "checkpoint": str(path), "png": str(png), "gif": str(gif),
            "input_png": str(given), "points": int(len(full)), "seed": seed,
            "temperature": temperature, "temperature_style": temperature_style}


def _show(prediction: Any) -> None:
    from rich.table import Table

    from sketchrnn.cli.console import console

    table = Table(title=f"{prediction.source} ({prediction.points} points)")
    table.add_column("#", justify="right")
    table.add_column("category")
    table.add_column("probability", justify="right")
    table.add_column("")
    for i, row in enumerate(prediction.top, start=1):
        p = row["probability"]
        table.add_row(str(i), row["category"], f"{p:.1%}", "█" * round(20 * p))
    console().print(table)
    score = prediction.score
    limit = "" if score["threshold"] is None else f" (threshold {score['threshold']:.3f})"
    style = "green" if prediction.in_distribution else "yellow"
    console().print(f"[{style}]verdict: {prediction.verdict}[/{style}]  "
                    f"{score['name']} {score['value']:.3f}{limit}, calibration T={prediction.calibration_T:.2f}")
    if prediction.completion:
        c = prediction.completion
        console().print(f"completion by the {c['category']!r} draw model: {c['png']}, {c['gif']}")
    for note in prediction.notes:
        console().print(f"[dim]note: {note}[/dim]")


@click.command()
@click.argument("sketch_file", required=False, type=click.Path(path_type=Path))
@click.option("--from-test", "from_test", metavar="CATEGORY",
              help="Use a test sketch of CATEGORY instead of a file.")
@click.option("--cut", type=click.FloatRange(0.0, 0.95), default=0.3, show_default=True,
              help="With --from-test: fraction of the sketch's tail to cut off.")
@click.option("--index", type=click.IntRange(min=0), default=0, show_default=True,
              help="Which sketch of the file (or of the test split).")
@click.option("--top", "top_k", type=click.IntRange(1, 100), default=3, show_default=True)
@runs_option
@click.option("--checkpoint", type=click.Path(path_type=Path),
              help="The predict checkpoint (default: the predict job's best under --runs).")
@click.option("--data-dir", type=click.Path(path_type=Path),
              help="Data folder, if not the one the model was trained from (for --from-test and "
                   "calibration).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path),
              help="Folder for the completion (default: beside the input; predictions/ for "
                   "--from-test).")
@click.option("--no-complete", is_flag=True, help="Skip drawing the completion.")
@click.option("--recalibrate", is_flag=True, help="Refit temperature and OOD threshold first.")
@click.option("--temperature", type=click.FloatRange(MIN_TEMPERATURE, MAX_TEMPERATURE),
              default=DEFAULT_TEMPERATURE,
              show_default=True, help="Sampling temperature of the completion.")
@temperature_style_option
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the completion.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (for machines).")
def predict(sketch_file: Path | None, from_test: str | None, cut: float, index: int, top_k: int,
            runs_dir: str, checkpoint: Path | None, data_dir: Path | None, out_dir: Path | None,
            no_complete: bool, recalibrate: bool, temperature: float, temperature_style: str,
            seed: int, as_json: bool) -> None:
    """Classify an incomplete SKETCH_FILE, say when it is none of the known categories, and draw
    the rest with the predicted category's draw model (PNG + GIF).

    SKETCH_FILE: QuickDraw .ndjson, .json ([dx, dy, pen] rows, or strokes of [x, y] points),
    or a stroke-3 .npy/.npz, in pixels. A model without calibration is calibrated on its valid
    split first (stored in the checkpoint).

    \b
    Examples:
      sketchrnn predict my_sketch.json
      sketchrnn predict --from-test pig --cut 0.4 --index 7
      sketchrnn predict drawing.ndjson --index 2 --json --no-complete
    """
    import json

    from sketchrnn.predict.inputs import read_sketch

    if (sketch_file is None) == (from_test is None):
        raise click.UsageError("give a SKETCH_FILE or --from-test CATEGORY (one of them)")
    raw = read_sketch(sketch_file, index) if sketch_file is not None else None  # before torch

    from sketchrnn.predict.predictor import Predictor
    from sketchrnn.runs import predict_checkpoint

    # --recalibrate's result is kept in a local runs folder only (a URI's copy is read-only here)
    with reading_runs(runs_dir) as local:
        path = predict_checkpoint(local, checkpoint)
        predictor = Predictor.from_checkpoint(path, recalibrate=recalibrate, data_dir=data_dir)
        if raw is None:
            raw = _from_test(from_test, cut, index, predictor, data_dir)
        prediction, sketch = predictor.predict(raw, top_k=top_k)
        if not no_complete:
            if sketch_file is not None:
                stem = sketch_file.stem + (f"_{index}" if raw.count > 1 else "")
                default_out = sketch_file.parent
            else:
                stem = f"{from_test.replace(' ', '_')}_test{index}_cut{round(100 * cut)}"
                default_out = Path("predictions")
            prediction.completion = _write_completion(
                prediction, predictor.to_pixels(sketch), local, out_dir or default_out, stem, seed,
                temperature, temperature_style)
    if as_json:
        click.echo(json.dumps(prediction.to_dict(), indent=2))
    else:
        _show(prediction)
