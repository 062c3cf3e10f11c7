"""`sketchrnn data prepare`: QuickDraw drawing files -> one sketch-rnn ``.npz`` each.

Every output is planned before anything is converted or written, so a problem with any of them
(two inputs that would write the same file, a file that already exists, a name that is not a
plain file name) stops the whole run with one message listing all of them, and nothing is
overwritten unless ``force`` says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from sketchrnn.data.names import check_file_stem
from sketchrnn.data.ndjson import ndjson_to_splits
from sketchrnn.data.npz import SketchSplits, save_npz
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


def plan_outputs(sources: Iterable[Path], out_dir: Path, *, force: bool = False) -> list[tuple[Path, Path]]:
    """``(input, output)`` pairs; a ``DataError`` listing every collision, existing output and
    unusable name at once."""
    problems: list[str] = []
    by_output: dict[str, list[Path]] = {}
    outputs: dict[str, Path] = {}
    for src in sources:
        try:
            dst = out_dir / f"{output_stem(src)}.npz"
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
    plan: list[tuple[Path, Path]], *, raw: bool = False, valid_frac: float = 0.1,
    test_frac: float = 0.1, seed: int = 0, force: bool = False,
) -> list[SketchSplits]:
    """Convert every input first (any bad input stops the run before a file is written), then
    write each output atomically; existing files are replaced only with ``force``."""
    converted = [ndjson_to_splits(src, raw=raw, valid_frac=valid_frac, test_frac=test_frac,
                                  seed=seed) for src, _ in plan]
    for splits, (_, dst) in zip(converted, plan):
        save_npz(splits, dst, overwrite=force)
    return converted


def prepare_ndjson(
    src: Path, dst: Path, *, raw: bool = False, valid_frac: float = 0.1, test_frac: float = 0.1,
    seed: int = 0, overwrite: bool = False,
) -> SketchSplits:
    """One input to one output (the library form of `data prepare SRC`)."""
    return prepare_files([(Path(src), Path(dst))], raw=raw, valid_frac=valid_frac,
                         test_frac=test_frac, seed=seed, force=overwrite)[0]
