"""`sketchrnn sample`, `reconstruct` and `interpolate`: draw with a trained model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from sketchrnn.cli.options import (
    draw_checkpoint_option,
    reading_runs,
    runs_option,
    temperature_style_option,
)
from sketchrnn.config import DEFAULT_TEMPERATURE, MAX_TEMPERATURE, MIN_TEMPERATURE

FORMATS = ("png", "svg", "gif")


def model_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        runs_option,
        draw_checkpoint_option,
        click.option("--out", "out_dir", type=click.Path(path_type=Path),
                     help="Output folder (default: samples/<category>)."),
        click.option("--temperature", type=click.FloatRange(MIN_TEMPERATURE, MAX_TEMPERATURE),
                     default=DEFAULT_TEMPERATURE,
                     show_default=True, help="Randomness of mixture weights, pen states and sigma."),
        click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same sketches."),
        click.option("--format", "formats", default="png,svg,gif", show_default=True,
                     help="Comma-separated: png, svg, gif."),
    ]
    for option in reversed(options):
        func = option(func)
    return temperature_style_option(func)


def _formats(text: str) -> list[str]:
    chosen = [f.strip().lower() for f in text.split(",") if f.strip()]
    bad = [f for f in chosen if f not in FORMATS]
    if bad or not chosen:
        raise click.BadParameter(f"{','.join(bad) or text!r}; choose from {', '.join(FORMATS)}",
                                 param_hint="--format")
    return chosen


def load_draw_model(category: str, runs_dir: str, checkpoint: Path | None
                    ) -> tuple[str, Any, Any]:
    """``(canonical category, model, meta)``; the name is checked as `fit` checks it, so that it
    cannot name a folder outside the output folder."""
    from sketchrnn.cli.fit_cmd import check_trained_category
    from sketchrnn.runs import load_draw_for

    with reading_runs(runs_dir) as local:
        category = check_trained_category(category, local, checkpoint)
        _, model, meta = load_draw_for(category, local, checkpoint)
    return category, model, meta


def output_dir(out_dir: Path | None, category: str, suffix: str = "") -> Path:
    """``--out``, else ``samples/<category slug><suffix>`` in the working directory."""
    from sketchrnn.runs import slug

    return out_dir or Path("samples") / f"{slug(category)}{suffix}"


def write_sketches(sketches: list[Any], out_dir: Path, formats: list[str], stem: str) -> list[Path]:
    """Each sketch in every format, plus one grid PNG; returns the paths written."""
    from sketchrnn import render
    from sketchrnn.cli.outputs import writing_into

    writers = {"png": render.to_png, "svg": render.to_svg, "gif": render.to_gif}
    paths = []
    with writing_into(out_dir):
        for i, sketch in enumerate(sketches):
            for fmt in formats:
                path = out_dir / f"{stem}_{i:03d}.{fmt}"
                writers[fmt](sketch, path)
                paths.append(path)
        grid = out_dir / f"{stem}_grid.png"
        render.grid_png(sketches, grid)
    return paths + [grid]


def _print_summary(title: str, sketches: list[Any], paths: list[Path], seconds: float) -> None:
    from rich.table import Table

    from sketchrnn.cli.console import console

    table = Table(title=title)
    table.add_column("#", justify="right")
    table.add_column("points", justify="right")
    table.add_column("strokes", justify="right")
    for i, s in enumerate(sketches):
        table.add_row(str(i), str(len(s)), str(int(s[:, 2].sum())))
    console().print(table)
    console().print(f"{len(paths)} files in {paths[0].parent} ({seconds:.2f} s)")


@click.command()
@click.argument("category")
@click.option("-n", "count", type=click.IntRange(1, 10_000), default=10, show_default=True,
              help="How many sketches.")
@click.option("--greedy", is_flag=True, help="Most likely strokes instead of random draws.")
@click.option("--compile", "compile_", type=click.Choice(["off", "auto", "on"]), default="off",
              show_default=True, help="Capture the decode step with torch.compile (auto: CUDA graphs "
              "on a GPU only); eager where that fails.")
@model_options
def sample(category: str, count: int, greedy: bool, compile_: str, runs_dir: str,
           checkpoint: Path | None, out_dir: Path | None, temperature: float, seed: int, formats: str,
           temperature_style: str) -> None:
    """Draw new sketches of CATEGORY with its trained draw model (by default its latest
    checkpoint; --checkpoint best picks the one with the lowest valid loss).

    \b
    Examples:
      sketchrnn sample sun -n 10
      sketchrnn sample pig -n 25 --temperature 0.5 --seed 3 --format png
      sketchrnn sample pig --checkpoint best
    """
    import time

    from sketchrnn.data.strokes import denormalise
    from sketchrnn.sampling import sample as draw

    fmts = _formats(formats)
    category, model, meta = load_draw_model(category, runs_dir, checkpoint)
    if compile_ != "off":
        from sketchrnn.model.capture import capture_decoding

        capture_decoding(model, compile_, next(model.parameters()).device)
    start = time.perf_counter()
    sketches = draw(model, count, temperature=temperature, greedy=greedy, seed=seed,
                    max_len=meta.max_seq_len, temperature_style=temperature_style)
    seconds = time.perf_counter() - start
    sketches = [denormalise(s, meta.scale) for s in sketches]
    paths = write_sketches(sketches, output_dir(out_dir, category), fmts, "sample")
    _print_summary(f"{count} samples of {category} (T={temperature})", sketches, paths, seconds)


def _test_sketches(meta: Any, data_dir: Path | None, count: int, seed: int) -> Any:
    """`count` test sketches of the draw model's category, filtered, clamped and normalised as
    its training data was (its own data settings and scale)."""
    import numpy as np

    from sketchrnn.data.batching import make_batch
    from sketchrnn.predict.loading import load_data

    prepared = load_data(meta, data_dir)
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(prepared.test), size=min(count, len(prepared.test)), replace=False)
    return make_batch(prepared.test, idx)


@click.command()
@click.argument("category")
@click.option("-n", "count", type=click.IntRange(1, 1000), default=8, show_default=True)
@click.option("--data-dir", type=click.Path(path_type=Path), help="Folder with <category>.npz.")
@model_options
def reconstruct(category: str, count: int, data_dir: Path | None, runs_dir: str,
                checkpoint: Path | None, out_dir: Path | None, temperature: float, seed: int,
                formats: str, temperature_style: str) -> None:
    """Encode test sketches of CATEGORY and redraw them (originals beside reconstructions).

    \b
    Examples:
      sketchrnn reconstruct pig --data-dir data/ -n 8
    """
    import time

    from sketchrnn import render
    from sketchrnn.data.strokes import denormalise, stroke5_to_stroke3
    from sketchrnn.sampling import encode
    from sketchrnn.sampling import sample as draw

    fmts = _formats(formats)
    category, model, meta = load_draw_model(category, runs_dir, checkpoint)
    if not getattr(model, "conditional", False):
        raise click.UsageError("this model has no encoder; reconstruct needs a conditional model")
    batch = _test_sketches(meta, data_dir, count, seed)
    start = time.perf_counter()
    z = encode(model, (batch.x, batch.lengths))
    sketches = draw(model, len(batch.lengths), temperature=temperature, seed=seed, z=z,
                    max_len=meta.max_seq_len, temperature_style=temperature_style)
    seconds = time.perf_counter() - start
    originals = [denormalise(stroke5_to_stroke3(batch.x[i, : int(n)].numpy()), meta.scale)
                 for i, n in enumerate(batch.lengths)]
    sketches = [denormalise(s, meta.scale) for s in sketches]
    out = output_dir(out_dir, category, "_reconstruct")
    paths = write_sketches(sketches, out, fmts, "reconstruction")
    side_by_side = out / "original_vs_reconstruction.png"
    render.grid_png([s for pair in zip(originals, sketches) for s in pair], side_by_side, cols=2)
    _print_summary(f"{len(sketches)} reconstructions of {category}", sketches, paths + [side_by_side],
                   seconds)


@click.command()
@click.argument("category")
@click.option("--steps", type=click.IntRange(2, 100), default=8, show_default=True)
@click.option("--method", type=click.Choice(["slerp", "lerp"]), default="slerp", show_default=True)
@click.option("--data-dir", type=click.Path(path_type=Path), help="Folder with <category>.npz.")
@model_options
def interpolate(category: str, steps: int, method: str, data_dir: Path | None, runs_dir: str,
                checkpoint: Path | None, out_dir: Path | None, temperature: float, seed: int,
                formats: str, temperature_style: str) -> None:
    """Walk the latent space between two test sketches of CATEGORY.

    \b
    Examples:
      sketchrnn interpolate pig --data-dir data/ --steps 10
    """
    import time

    from sketchrnn.data.strokes import denormalise
    from sketchrnn.sampling import interpolate as walk

    fmts = _formats(formats)
    category, model, meta = load_draw_model(category, runs_dir, checkpoint)
    if not getattr(model, "conditional", False):
        raise click.UsageError("this model has no encoder; interpolate needs a conditional model")
    batch = _test_sketches(meta, data_dir, 2, seed)
    start = time.perf_counter()
    a, b = (batch.x[i : i + 1, : int(batch.lengths[i]) + 1] for i in range(2))
    sketches = walk(model, (a, batch.lengths[:1]), (b, batch.lengths[1:2]), steps=steps,
                    method=method, temperature=temperature, seed=seed, max_len=meta.max_seq_len,
                    temperature_style=temperature_style)
    seconds = time.perf_counter() - start
    sketches = [denormalise(s, meta.scale) for s in sketches]
    out = output_dir(out_dir, category, "_interpolate")
    paths = write_sketches(sketches, out, fmts, "step")
    _print_summary(f"{steps}-step {method} of {category}", sketches, paths, seconds)
