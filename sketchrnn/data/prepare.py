"""`sketchrnn data prepare`: drawing files -> one sketch-rnn ``.npz`` per category.

Inputs: a QuickDraw ``.ndjson`` (or piling.js ``.json``) file is one category, named after the
file. SVG drawings are one file per drawing, grouped by folder: a folder of ``.svg`` files is one
category named after the folder; a folder without ``.svg`` files but with subfolders of them (the
TU-Berlin layout, ``svg/<category>/<n>.svg``) gives one category per subfolder; ``.svg`` files
named one by one join the category of the folder they are in.

Every output is planned before anything is converted or written, so a problem with any of them
(two inputs that would write the same file, a file that already exists, a name that is not a
plain file name) stops the whole run with one message listing all of them, and nothing is
overwritten unless ``force`` says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sketchrnn.data.names import check_file_stem
from sketchrnn.data.ndjson import ndjson_to_splits
from sketchrnn.data.npz import SketchSplits, save_npz
from sketchrnn.data.svg import svg_to_splits
from sketchrnn.errors import DataError

INPUT_SUFFIXES = (".ndjson", ".json")  # the only parts of an input name that are dropped


def output_stem(src: Path) -> str:
    """``pig.ndjson`` -> ``pig``, ``monkey.v1.ndjson`` -> ``monkey.v1``; other names kept whole."""
    name = src.name
    for suffix in INPUT_SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    return check_file_stem(name, f"output name for {src}:")


@dataclass(frozen=True)
class PrepareInput:
    """What one output is made from: a QuickDraw file, or one category's SVG files."""

    source: str  # what the user named (file or folder), for messages
    stem: str  # the output is <out>/<stem>.npz
    files: tuple[Path, ...]
    svg: bool = False

    @classmethod
    def drawings_file(cls, path: Path) -> PrepareInput:
        return cls(str(path), output_stem(path), (path,))

    def __str__(self) -> str:
        return self.source


def _is_svg(path: Path) -> bool:
    return path.suffix.lower() == ".svg" and path.is_file()


def _svg_category(folder: Path, files: Sequence[Path], source: str) -> PrepareInput:
    name = check_file_stem(folder.resolve().name, f"category name of {source}:")
    return PrepareInput(source, name, tuple(sorted(files)), svg=True)


def _folder_inputs(folder: Path) -> list[PrepareInput]:
    """A category folder of SVG files, or a parent folder of such folders."""
    svgs = [p for p in folder.iterdir() if _is_svg(p)]
    if svgs:
        return [_svg_category(folder, svgs, str(folder))]
    categories = [_svg_category(sub, files, str(sub)) for sub in sorted(folder.iterdir())
                  if sub.is_dir() and (files := [p for p in sub.iterdir() if _is_svg(p)])]
    if not categories:
        raise DataError(f"{folder}: a folder without .svg files or subfolders of them",
                        "give SVG files, a folder of them (one category), or a folder of such "
                        "folders (one category each)")
    return categories


def collect_inputs(sources: Iterable[Path]) -> list[PrepareInput]:
    """What each output is made from, in the order given (module docstring: files and folders)."""
    inputs: list[PrepareInput] = []
    loose: dict[Path, list[Path]] = {}  # SVG files named one by one, by their folder
    for src in map(Path, sources):
        if src.is_dir():
            inputs += _folder_inputs(src)
        elif src.suffix.lower() == ".svg":
            loose.setdefault(src.resolve().parent, []).append(src)
        else:
            inputs.append(PrepareInput.drawings_file(src))
    for folder, files in loose.items():
        inputs.append(_svg_category(folder, files, f"{files[0].parent / '*.svg'}"))
    return inputs


def plan_outputs(sources: Iterable[Path | PrepareInput], out_dir: Path, *,
                 force: bool = False) -> list[tuple[PrepareInput, Path]]:
    """``(input, output)`` pairs; a ``DataError`` listing every collision, existing output and
    unusable name at once. A plain path is a QuickDraw drawings file."""
    problems: list[str] = []
    by_output: dict[str, list[PrepareInput]] = {}
    outputs: dict[str, Path] = {}
    for src in sources:
        try:
            src = src if isinstance(src, PrepareInput) else PrepareInput.drawings_file(Path(src))
            dst = out_dir / f"{src.stem}.npz"
        except DataError as e:
            problems.append(e.message)
            continue
        key = dst.name.casefold()  # pig and Pig are one file on macOS and Windows
        by_output.setdefault(key, []).append(src)
        outputs[key] = dst
    exist = [outputs[k] for k, srcs in by_output.items() if len(srcs) == 1 and outputs[k].exists()]
    problems += [f"{', '.join(map(str, srcs))} would all be written to {outputs[k]}"
                 for k, srcs in by_output.items() if len(srcs) > 1]
    if exist and not force:
        problems.append(f"{', '.join(map(str, exist))} already exist{'s' if len(exist) == 1 else ''}")
    if problems:
        raise DataError("data prepare: " + "; ".join(problems),
                        "rename inputs so that each gets its own <name>.npz"
                        + ("; pass --force to replace existing files" if exist else ""))
    return [(srcs[0], outputs[k]) for k, srcs in by_output.items()]


def prepare_files(
    plan: list[tuple[PrepareInput, Path]], *, raw: bool = False, valid_frac: float = 0.1,
    test_frac: float = 0.1, seed: int = 0, force: bool = False, skip_bad: bool = False,
    on_skipped: Callable[[str], None] | None = None,
) -> list[SketchSplits]:
    """Convert every input first (any bad input stops the run before a file is written), then
    write each output atomically; existing files are replaced only with ``force``.

    ``raw`` concerns QuickDraw files (SVG drawings are always simplified as raw ones are). With
    ``skip_bad``, a bad SVG file is left out and its one-line problem passed to ``on_skipped``.
    """
    converted = []
    for src, _ in plan:
        if src.svg:
            splits, problems = svg_to_splits(src.files, src.source, valid_frac=valid_frac,
                                             test_frac=test_frac, seed=seed, skip_bad=skip_bad)
            for problem in problems:
                if on_skipped is not None:
                    on_skipped(problem)
        else:
            splits = ndjson_to_splits(src.files[0], raw=raw, valid_frac=valid_frac,
                                      test_frac=test_frac, seed=seed)
        converted.append(splits)
    for splits, (_, dst) in zip(converted, plan):
        save_npz(splits, dst, overwrite=force)
    return converted


def prepare_ndjson(
    src: Path, dst: Path, *, raw: bool = False, valid_frac: float = 0.1, test_frac: float = 0.1,
    seed: int = 0, overwrite: bool = False,
) -> SketchSplits:
    """One input to one output (the library form of `data prepare SRC`)."""
    return prepare_files([(PrepareInput.drawings_file(Path(src)), Path(dst))], raw=raw,
                         valid_frac=valid_frac, test_frac=test_frac, seed=seed, force=overwrite)[0]
