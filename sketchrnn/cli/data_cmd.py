"""`sketchrnn data`: download, inspect and prepare sketch data."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click


@click.group()
def data() -> None:
    """Download, inspect and prepare QuickDraw data and drawings of your own (ndjson, SVG).

    \b
    Examples:
      sketchrnn data list
      sketchrnn data download pig "alarm clock"
      sketchrnn data info pig --data-dir data/
      sketchrnn data prepare bicycle.ndjson clock.ndjson --out data/
      sketchrnn data prepare my_drawings/cat/ --out data/
    """


def _download_bars():  # type: ignore[no-untyped-def]
    """Rich download progress bars on stderr, gone once done."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    from sketchrnn.cli.console import err_console

    return Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
        console=err_console(), transient=True,
    )


@contextmanager
def category_progress() -> Iterator[Callable[[str, int, int | None], None]]:
    """A (category, done, total) callback drawing one bar per category that downloads; nothing
    is drawn (not even an empty line) when nothing downloads."""
    progress = _download_bars()
    tasks: dict[str, Any] = {}

    def update(category: str, done: int, total: int | None) -> None:
        if not tasks:
            progress.start()
        if category not in tasks:
            tasks[category] = progress.add_task(category, total=None)
        progress.update(tasks[category], completed=done, total=total)

    try:
        yield update
    finally:
        if tasks:
            progress.stop()


def _progress_bar(label: str):  # type: ignore[no-untyped-def]
    """A rich progress bar and the (done, total) callback that feeds it."""
    progress = _download_bars()
    task = progress.add_task(label, total=None)

    def update(done: int, total: int | None) -> None:
        progress.update(task, completed=done, total=total)

    return progress, update


@data.command(name="list")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Mark what this folder holds instead of the cache.")
@click.option("--cache-dir", type=click.Path(path_type=Path), help="Download cache (default: $SKETCHRNN_CACHE or the user cache).")
def list_categories(data_dir: Path | None, cache_dir: Path | None) -> None:
    """Every category of every installed source, and which are already here.

    A category marked `cached` (or `in data dir` with --data-dir) trains without a download;
    `generated` ones are made on the fly and need no file.

    \b
    Examples:
      sketchrnn data list
      sketchrnn data list --data-dir data/ | grep "in data dir"
    """
    from sketchrnn.cli.console import console
    from sketchrnn.data.download import resolve_cache_dir
    from sketchrnn.registry import get_registry

    here_mark = "in data dir" if data_dir is not None else "cached"
    rows, here = [], 0
    listed = [(key, s, s.names()) for key, s in get_registry().category_sources().items()]
    if data_dir is not None:
        listed.append(_own_categories(data_dir))
    for source_name, source, names in listed:
        for name in names:
            if not hasattr(source, "locate"):
                mark = "generated"
            elif source.locate(name, data_dir=data_dir, cache_dir=cache_dir) is not None:
                mark = here_mark
            else:
                mark = ""
            here += mark != ""
            rows.append(f"{source_name:<10} {name:<28} {mark}".rstrip())
    out = console()
    for row in rows:
        out.print(row, highlight=False, markup=False)
    where = data_dir if data_dir is not None else resolve_cache_dir(cache_dir)
    out.print(f"{here} of {len(rows)} categories need no download ({here_mark}: {where})",
              highlight=False, markup=False)


def _own_categories(data_dir: Path) -> tuple[str, Any, list[str]]:
    """The local-files source (name and object) and the names of ``data_dir``'s files that no source provides."""
    from sketchrnn.data.categories import LOCAL_FILES
    from sketchrnn.registry import get_registry

    names = LOCAL_FILES.names_in(data_dir)
    return LOCAL_FILES.name, LOCAL_FILES, [n for n in names if get_registry().resolve_category(n, data_dir=data_dir)[0]
                         is LOCAL_FILES]


@data.command()
@click.argument("categories", nargs=-1, required=True)
@click.option("--cache-dir", type=click.Path(path_type=Path), help="Where to keep the files.")
@click.option("--full", is_flag=True, help="Fetch <name>.full.npz (the full-size set).")
def download(categories: tuple[str, ...], cache_dir: Path | None, full: bool) -> None:
    """Download sketch-rnn .npz files from the QuickDraw bucket into the cache.

    \b
    Examples:
      sketchrnn data download pig "alarm clock"
      SKETCHRNN_MIRROR=http://mirror.local/quickdraw sketchrnn data download sun
    """
    from sketchrnn.cli.console import console
    from sketchrnn.data.download import download_category
    from sketchrnn.registry import get_registry

    names = [get_registry().resolve_category(c)[1] for c in categories]  # all names checked first
    for name in names:
        progress, update = _progress_bar(name)
        with progress:
            path = download_category(name, cache_dir=cache_dir, full=full, progress=update)
        console().print(f"[green]downloaded[/green] {name} -> {path}")


@data.command()
@click.argument("category")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Folder with <category>.npz.")
@click.option("--cache-dir", type=click.Path(path_type=Path), help="Download cache.")
@click.option("--max-seq-len", type=int, default=200, show_default=True, help="Length filter.")
@click.option("--no-download", is_flag=True, help="Fail instead of downloading a missing file.")
def info(category: str, data_dir: Path | None, cache_dir: Path | None, max_seq_len: int,
         no_download: bool) -> None:
    """Split sizes, length statistics and the scale factor of a category.

    \b
    Examples:
      sketchrnn data info pig --data-dir data/
    """
    from rich.table import Table

    from sketchrnn.cli.console import console
    from sketchrnn.config import DataConfig
    from sketchrnn.data.stats import category_stats
    from sketchrnn.train.job import load_splits

    cfg = DataConfig(data_dir=data_dir, cache_dir=cache_dir, max_seq_len=max_seq_len,
                     download=not no_download)
    splits = load_splits(category, cfg)
    stats = category_stats(splits, max_seq_len=cfg.max_seq_len, min_seq_len=cfg.min_seq_len,
                           clamp=cfg.clamp)
    table = Table(title=f"{category}  ({splits.source})")
    for col in ("split", "sketches", "kept", "min", "median", "mean", "p95", "max"):
        table.add_column(col, justify="right" if col != "split" else "left")
    for row in stats["splits"]:
        table.add_row(row["split"], f"{row['sketches']:,}", f"{row['kept']:,}", str(row["min"]),
                      f"{row['median']:g}", f"{row['mean']:.1f}", f"{row['p95']:g}", str(row["max"]))
    console().print(table)
    console().print(f"scale factor (train offset std): {stats['scale']:.4f}")


@data.command()
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("data"),
              show_default=True, help="Folder for the <category>.npz files.")
@click.option("--raw", is_flag=True, help="ndjson inputs are raw (simplify as Google did: RDP 2.0).")
@click.option("--valid-frac", type=float, default=0.1, show_default=True)
@click.option("--test-frac", type=float, default=0.1, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--force", is_flag=True, help="Replace .npz files that already exist.")
@click.option("--skip-bad", is_flag=True,
              help="Leave out SVG files that cannot be read, with a warning line each.")
def prepare(sources: tuple[Path, ...], out_dir: Path, raw: bool, valid_frac: float,
            test_frac: float, seed: int, force: bool, skip_bad: bool) -> None:
    """Convert QuickDraw .ndjson files or SVG drawings into sketch-rnn .npz splits.

    An .ndjson (or piling.js .json) file becomes <out>/<name>.npz, <name> being the file name
    without .ndjson or .json. SVG drawings are one file each: a folder of .svg files becomes
    <out>/<folder name>.npz, a folder of such folders one .npz per subfolder (the TU-Berlin
    layout), and .svg files named one by one join their folder's category. SVG curves are
    flattened to 1/1000 of the drawing's size, then simplified as raw QuickDraw drawings are.
    Existing files are kept unless --force is given.

    \b
    Examples:
      sketchrnn data prepare bicycle.ndjson clock.ndjson hand.ndjson --out data/
      sketchrnn data prepare raw/sun.ndjson --raw --out data/
      sketchrnn data prepare my_drawings/cat/ --out data/
      sketchrnn data prepare tu-berlin/svg/ --skip-bad --out data/
      sketchrnn fit sun --data-dir data/ --workers 0
    """
    from rich.markup import escape

    from sketchrnn.cli.console import console, err_console
    from sketchrnn.data.prepare import collect_inputs, plan_outputs, prepare_files
    from sketchrnn.errors import InputError, OutputExistsError

    if not (0 < valid_frac < 1 and 0 < test_frac < 1 and valid_frac + test_frac < 1):
        raise InputError(
            f"--valid-frac {valid_frac} and --test-frac {test_frac} leave a split empty",
            "use fractions in (0, 1) that sum to less than 1",
        )
    missing = [str(p) for p in sources if not p.exists()]
    if missing:
        raise InputError(f"input file(s) not found: {', '.join(missing)}", "check the paths")
    plan = plan_outputs(collect_inputs(sources), out_dir, force=force)

    def warn(problem: str) -> None:
        err_console().print(f"[yellow]skipped[/yellow] {escape(problem)}", highlight=False,
                            soft_wrap=True)

    try:
        results = prepare_files(plan, raw=raw, valid_frac=valid_frac, test_frac=test_frac,
                                seed=seed, force=force, skip_bad=skip_bad, on_skipped=warn)
    except OutputExistsError as e:  # created by someone else since the plan was made
        raise OutputExistsError(e.path, "pass --force to replace it") from None
    for (src, dst), splits in zip(plan, results):
        console().print(
            f"[green]prepared[/green] {src} -> {dst}  "
            f"train {len(splits.train):,} / valid {len(splits.valid):,} / test {len(splits.test):,}",
            highlight=False,
        )
    _say_how_to_train([src.stem for src, _ in plan], [dst for _, dst in plan], out_dir)


def _say_how_to_train(names: list[str], outputs: list[Path], out_dir: Path) -> None:
    """The `fit` command for the written files, and a note for each name `fit` reads elsewhere."""
    from rich.markup import escape

    from sketchrnn.cli.console import console, err_console

    trainable = []
    for name, dst in zip(names, outputs):
        meant = _fit_reads_elsewhere(name, dst)
        if meant is None:
            trainable.append(name)
        else:
            err_console().print(f"[yellow]note[/yellow] `fit {escape(name)}` trains on "
                                f"{escape(meant)}, not on {escape(str(dst))}; rename the input to "
                                "train on this file", highlight=False, soft_wrap=True)
    if trainable:
        command = shlex.join(["sketchrnn", "fit", *trainable, "--data-dir", str(out_dir)])
        console().print(f"train on them: {escape(command)}", highlight=False, soft_wrap=True)


def _fit_reads_elsewhere(name: str, dst: Path) -> str | None:
    """None when `fit NAME --data-dir <dst's folder>` trains on ``dst``; else what it trains on
    (a source's category of that name: generated ones, or a QuickDraw spelling of another file)."""
    from sketchrnn.registry import get_registry

    source, canonical = get_registry().resolve_category(name, data_dir=dst.parent)
    found = source.locate(canonical, data_dir=dst.parent) if hasattr(source, "locate") else None
    if found is not None and found.resolve() == dst.resolve():
        return None
    return f"{source.name}:{canonical}" + (f" ({found})" if found is not None else "")
