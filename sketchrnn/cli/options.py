"""Options shared by several subcommands, and turning them into a validated Config."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

CONFIG_HELP = "TOML or YAML file with [data], [draw.*], [predict.*] sections."
PROGRESS_EVERY = 30.0  # seconds between plain progress lines when the output is not a terminal
RUNS_HELP = "Runs folder written by `sketchrnn fit`: a folder, or a URI such as s3://bucket/runs."


def runs_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """--runs of the commands that read trained models (a folder or an object-storage URI)."""
    return click.option("--runs", "runs_dir", default="runs", show_default=True, help=RUNS_HELP)(func)


@contextmanager
def reading_runs(text: str, jobs: Iterable[str] | None = None, *, writes: Iterable[str] = (),
                 new_checkpoints: bool = False) -> Iterator[Path]:
    """The runs folder ``text`` as a local folder for the block. For a URI, the published
    checkpoints of ``jobs`` (every job when None) are copied down first, what the block wrote
    into the ``writes`` jobs (eval reports; checkpoints too with ``new_checkpoints``) is
    published afterwards, and errors name the URI rather than the temp folder."""
    from sketchrnn.errors import SketchRNNError
    from sketchrnn.storage import open_runs

    with open_runs(text) as store:
        store.pull(jobs, checkpoints_only=True)
        try:
            yield store.local
        except SketchRNNError as exc:
            if store.remote:
                staged, uri = str(store.local), store.text.rstrip("/")
                exc.message = exc.message.replace(staged, uri)
                exc.fix = exc.fix and exc.fix.replace(staged, uri)
                exc.args = (f"{exc.message} ({exc.fix})" if exc.fix else exc.message,)
            raise
        for name in writes:
            store.publish(name, checkpoints=new_checkpoints)


def temperature_style_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """--temperature-style, for every command that draws with a draw model."""
    from sketchrnn.config import DEFAULT_TEMPERATURE_STYLE, TEMPERATURE_STYLES

    return click.option(
        "--temperature-style", type=click.Choice(TEMPERATURE_STYLES), default=DEFAULT_TEMPERATURE_STYLE,
        show_default=True, help="How T tempers pen and mixture choices: magenta-js divides their "
        "logits by 0.5 + 0.5 T (as in the browser), paper by T. Both: sigma * sqrt(T).")(func)


def draw_checkpoint_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """--checkpoint, for every command that uses one draw model (``runs.resolve_draw_checkpoint``)."""
    return click.option(
        "--checkpoint", type=click.Path(path_type=Path), help="A draw checkpoint folder, or best / "
        "latest of the category's job under --runs (default: the sampling rule, latest; "
        "docs/draw_quality.md).")(func)


def progress_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """--progress-every, for the commands that train (``cli.progress.JobTable``)."""
    return click.option(
        "--progress-every", type=click.FloatRange(min=0), default=PROGRESS_EVERY, show_default=True,
        help="Seconds between plain progress lines when the output is not a terminal (a log "
        "file, nohup, CI); a terminal shows a live table instead.")(func)


def config_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--recipe, --config, --set, --data-dir, --cache-dir, --preset, --steps."""
    options = [
        click.option("--recipe", help="A named configuration shipped with sketchrnn (`sketchrnn "
                     "recipes` lists them); --config and --set apply on top."),
        click.option("--config", "config_path", type=click.Path(path_type=Path), help=CONFIG_HELP),
        click.option(
            "--set", "overrides", multiple=True, metavar="KEY=VALUE",
            help="Override a config value, e.g. --set draw.train.lr=5e-4 (repeatable).",
        ),
        click.option("--data-dir", type=click.Path(path_type=Path), help="Use local <category>.npz files."),
        click.option("--cache-dir", type=click.Path(path_type=Path), help="Download cache directory."),
        click.option(
            "--preset", type=click.Choice(["tiny", "small", "paper"]),
            help="Model size preset for every model.",
        ),
        click.option("--steps", type=int, help="Training steps for every model."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def build_config(
    config_path: Path | None,
    overrides: tuple[str, ...],
    *,
    data_dir: Path | None = None,
    cache_dir: Path | None = None,
    preset: str | None = None,
    steps: int | None = None,
    recipe: str | None = None,
) -> Any:
    """Defaults < recipe < file < flags < --set; validated at once, all problems in one message."""
    from sketchrnn.config_sources import (apply_overrides, layered_config, load_recipe, read_config_file,
                                          set_path)

    flags: dict[str, Any] = {}
    if data_dir is not None:
        set_path(flags, "data.data_dir", str(data_dir))
    if cache_dir is not None:
        set_path(flags, "data.cache_dir", str(cache_dir))
    for task in ("draw", "predict"):
        if preset is not None:
            set_path(flags, f"{task}.model.preset", preset)
        if steps is not None:
            set_path(flags, f"{task}.train.steps", steps)
    return layered_config(load_recipe(recipe).config if recipe is not None else {},
                          read_config_file(config_path) if config_path is not None else {},
                          flags, apply_overrides({}, list(overrides)))
