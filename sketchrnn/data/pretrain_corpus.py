"""Every real drawing we hold of other categories, labelled by category: the pretraining corpus.

The predict model's encoder can learn what strokes look like from drawings of hundreds of other
categories before it learns the model's own few (``train.pretrain``). Which categories may be
used is the outlier rule (``data.outliers.outlier_role``), so there is one place for it: only
*exposure* categories; never the model's own (not even from another source: pretraining must not
add data of the model's categories), never an evaluation or selection category, never one that
shares a word with the model's own.

Sources: every QuickDraw ``.ndjson`` (simplified or raw) and piling.js ``.json`` file under a
folder, searched recursively, the category taken from the file name (``outliers.file_category``),
and sketch-rnn ``.npz`` files given with their category. The same drawing in several files
(QuickDraw's raw and simplified files share ``key_id``s) is kept once. Each source folder (or npz
file) is one drawing style (simplified 0-255, raw pixels): it is rescaled as a set to the model's
training sketches' median extent (``outliers.match_extent``), so size tells nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sketchrnn.data.outliers import (MAX_OUTLIER_FILES, canonical, file_category, match_extent,
                                     outlier_role, quickdraw_stroke3)
from sketchrnn.data.strokes import SketchSet
from sketchrnn.errors import DataError

DRAWING_SUFFIXES = (".ndjson", ".json")
FIX = ("set predict.pretrain.data_dir to a folder of QuickDraw <category>.ndjson / .json files "
       "(searched recursively), or leave it unset for no pretraining")


@dataclass
class PretrainCorpus:
    """Labelled sketches in model units (label = index in ``categories``) and where they came from."""

    sketches: SketchSet
    categories: list[str]  # sorted canonical names
    sources: dict[str, int]  # source folder or npz file -> drawings used
    skipped: dict[str, str]  # category -> its role (held out, excluded, the model's own)


def read_pretrain_corpus(folder: Path | None, npz: dict[str, Path], categories: list[str], *,
                         reference: SketchSet, min_seq_len: int, max_seq_len: int) -> PretrainCorpus:
    """The corpus for a model of ``categories`` (see module docstring); ``reference`` is the
    model's training split in model units. A ``DataError`` for a missing source or no drawings."""
    groups: dict[str, dict[str, list[np.ndarray]]] = {}  # source -> category -> stroke-3 in px
    skipped: dict[str, str] = {}
    seen: set[str] = set()
    for path in _drawing_files(folder) if folder is not None else []:
        name = file_category(path)
        role = outlier_role(name, categories)
        if role != "exposure":
            skipped[name] = role
            continue
        sketches = _read_new(path, seen)
        groups.setdefault(str(path.parent), {}).setdefault(name, []).extend(sketches)
    for name, path in sorted(npz.items()):
        role = outlier_role(name, categories)
        if role != "exposure":
            skipped[canonical(name)] = role
            continue
        groups[str(path)] = {canonical(name): _read_npz(path)}
    return _label(groups, skipped, reference, min_seq_len, max_seq_len, folder)


def _drawing_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise DataError(f"pretraining folder {folder} does not exist", FIX)
    files = sorted(p for p in folder.rglob("*") if p.suffix in DRAWING_SUFFIXES and p.is_file())
    if len(files) > MAX_OUTLIER_FILES:
        raise DataError(f"pretraining folder {folder} has {len(files)} drawing files, more than "
                        f"{MAX_OUTLIER_FILES}", "point predict.pretrain.data_dir at one data set")
    return files


def _read_new(path: Path, seen: set[str]) -> list[np.ndarray]:
    """The drawings of ``path`` not read before (by ``key_id``, else content), as stroke-3 px."""
    from sketchrnn.data.ndjson import read_keyed_drawings

    fresh = []
    for key, drawing in read_keyed_drawings(path, raw=True):
        if key not in seen:
            seen.add(key)
            fresh.append(quickdraw_stroke3(drawing))
    return fresh


def _read_npz(path: Path) -> list[np.ndarray]:
    """All splits of a sketch-rnn ``.npz`` (read without unpickling), as stroke-3 float64."""
    from sketchrnn.data.npz import SPLITS, load_npz

    if not path.is_file():
        raise DataError(f"pretraining npz {path} does not exist",
                        "fix the path in predict.pretrain.npz (relative to data.data_dir)")
    splits = load_npz(path)
    return [np.asarray(s, np.float64) for split in SPLITS for s in splits.split(split)]


def _label(groups: dict[str, dict[str, list[np.ndarray]]], skipped: dict[str, str],
           reference: SketchSet, min_seq_len: int, max_seq_len: int,
           folder: Path | None) -> PretrainCorpus:
    """Length-filtered, per-source rescaled, labelled sketches."""
    names = sorted({n for per in groups.values() for n, s in per.items()
                    if any(min_seq_len <= len(x) <= max_seq_len for x in s)})
    index = {n: i for i, n in enumerate(names)}
    sets, sources = [], Counter()
    for source, per in sorted(groups.items()):
        kept = [(x, index[n]) for n, s in sorted(per.items()) for x in s
                if min_seq_len <= len(x) <= max_seq_len]
        if not kept:
            continue
        raw = SketchSet.from_list([x for x, _ in kept], label=np.array([y for _, y in kept]))
        sets.append(match_extent(raw, reference)[0])
        sources[source] += len(kept)
    if len(names) < 2:
        raise DataError(f"pretraining sources ({folder}) hold drawings of {len(names)} usable "
                        f"categories of {min_seq_len}..{max_seq_len} points, need 2 or more", FIX)
    return PretrainCorpus(SketchSet.concat(sets), names, dict(sources), skipped)
