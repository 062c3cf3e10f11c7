"""Where sketches come from: the ``CategorySource`` protocol and the built-in QuickDraw source.

A category source turns a category name into ``SketchSplits``. The built-in one is registered
through the same ``sketchrnn.categories`` entry point a plugin would use (``quickdraw =
"sketchrnn.data.categories:QUICKDRAW"``), so a third-party source (a private sketch set, a
different bucket) only has to provide an object with this shape.

Lookup order for QuickDraw, and why:

1. ``data_dir`` given: ``<data_dir>/<name>.npz``, then ``<name>.full.npz``. Nothing else. A user
   who points at a folder wants *that* data; silently downloading or using a cached copy would
   train on something else without telling them.
2. Otherwise the cache (same two names), then a download into it (``download=True``).

Categories of your own (``LocalFilesSource``): a name that no registered source provides is a
category when the data dir holds ``<name>.npz`` (what ``sketchrnn data prepare`` writes). It is
not an entry point, since its names exist only in a folder the caller chooses: the registry
falls back to it when given that folder. It never downloads.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Protocol, runtime_checkable

from sketchrnn.data.download import (
    MIRROR_ENV,
    ProgressCallback,
    category_url,
    download_category,
    file_name,
    resolve_cache_dir,
)
from sketchrnn.data.names import check_file_stem
from sketchrnn.data.npz import SketchSplits, load_npz
from sketchrnn.data.quickdraw_names import QUICKDRAW_NAMES
from sketchrnn.errors import DataError


@runtime_checkable
class CategorySource(Protocol):
    """A named collection of sketch categories that can load any of them as ``SketchSplits``.

    * ``name``: the registry name (``"quickdraw"``).
    * ``names()``: every category this source can load, canonical spelling; the registry
      validates config names against it before anything heavy starts.
    * ``load(category, *, data_dir, cache_dir, download, progress)``: the train/valid/test
      splits. ``data_dir`` means "use only this folder"; ``cache_dir`` overrides where
      downloads are kept; ``download=False`` forbids network access; ``progress(done, total)``
      receives byte counts while downloading. Raises ``DataError`` with a fix on any problem.
    * ``describe(category)``: one line for listings (what it is, where it comes from).

    Optional, for sources that read files or download (QuickDraw has both):

    * ``fetch(category, *, data_dir, cache_dir, download, progress) -> Path``: put the category
      on this machine without loading it; ``fit`` calls it on the driver before training starts.
    * ``locate(category, *, data_dir, cache_dir) -> Path | None``: where it already is, if it
      is (``sketchrnn data list`` marks those).
    """

    name: str

    def names(self) -> list[str]: ...

    def load(
        self,
        category: str,
        *,
        data_dir: Path | None = None,
        cache_dir: Path | None = None,
        download: bool = True,
        progress: ProgressCallback | None = None,
    ) -> SketchSplits: ...

    def describe(self, category: str) -> str: ...


def _key(name: str) -> str:
    """Spelling-insensitive key: case, '_', '-' and runs of spaces don't matter."""
    return re.sub(r"[\s_\-]+", " ", name.strip().lower())


class QuickDrawSource:
    """Google's QuickDraw sketch-rnn files: 345 categories, 70,000 / 2,500 / 2,500 sketches each."""

    name = "quickdraw"

    def __init__(self) -> None:
        self._by_key = {_key(n): n for n in QUICKDRAW_NAMES}

    def names(self) -> list[str]:
        return list(QUICKDRAW_NAMES)

    def canonical_name(self, category: str) -> str | None:
        """The canonical spelling of `category`, or None when QuickDraw has no such category."""
        return self._by_key.get(_key(category))

    def canonical(self, category: str) -> str:
        """Map ``alarm_clock`` / ``Alarm Clock`` to ``"alarm clock"``; DataError if unknown."""
        found = self._by_key.get(_key(category))
        if found is not None:
            return found
        close = difflib.get_close_matches(_key(category), list(self._by_key), n=3, cutoff=0.6)
        hint = (
            "did you mean " + " or ".join(repr(self._by_key[k]) for k in close) + "?"
            if close
            else "use one of QuickDraw's 345 category names, e.g. 'cat' or 'alarm clock'"
        )
        raise DataError(f"unknown QuickDraw category {category!r}", hint)

    def describe(self, category: str) -> str:
        name = self.canonical(category)
        return f"QuickDraw '{name}' (Google, CC BY 4.0): {category_url(name)}"

    def load(
        self,
        category: str,
        *,
        data_dir: Path | None = None,
        cache_dir: Path | None = None,
        download: bool = True,
        progress: ProgressCallback | None = None,
    ) -> SketchSplits:
        path = self.fetch(category, data_dir=data_dir, cache_dir=cache_dir, download=download,
                          progress=progress)
        try:
            return load_npz(path)
        except DataError as e:
            if data_dir is not None:
                raise
            # Downloads are validated before they get their name, so this file was put there
            # by hand or damaged on disk; deleting it lets the next run re-download.
            raise DataError(e.message, f"delete {path} to download it again") from e

    def locate(self, category: str, *, data_dir: Path | None = None,
               cache_dir: Path | None = None) -> Path | None:
        """The category's file if it is already on this machine (in ``data_dir`` when given,
        else in the cache), without reading it; None otherwise."""
        name = self.canonical(category)
        folder = Path(data_dir).expanduser() if data_dir is not None else resolve_cache_dir(cache_dir)
        return _first_existing(folder, name)

    def fetch(self, category: str, *, data_dir: Path | None = None, cache_dir: Path | None = None,
              download: bool = True, progress: ProgressCallback | None = None) -> Path:
        """The category's file on this machine, downloaded into the cache if needed; not loaded.

        ``fit`` calls this on the driver for every category before any training starts, so a
        missing file fails in seconds and the workers find each file in place.
        """
        name = self.canonical(category)
        if data_dir is not None:
            return self._local_file(name, Path(data_dir).expanduser())
        cache = resolve_cache_dir(cache_dir)
        cached = _first_existing(cache, name)
        if cached is not None:
            return cached
        if not download:
            raise DataError(
                f"QuickDraw category '{name}' is not in the cache {cache} and downloading is off",
                f"download {category_url(name)} into {cache}, pass --data-dir DIR with "
                f"'{file_name(name)}', or set {MIRROR_ENV} and allow downloads",
            )
        return download_category(name, cache_dir=cache, progress=progress)

    def _local_file(self, name: str, data_dir: Path) -> Path:
        found = _first_existing(data_dir, name)
        if found is not None:
            return found
        looked = " and ".join(f"'{data_dir / f}'" for f in _candidates(name))
        missing = "" if data_dir.is_dir() else f" (the folder {data_dir} does not exist)"
        raise DataError(
            f"no data for QuickDraw category '{name}': looked for {looked}{missing}",
            f"put '{file_name(name)}' from {category_url(name)} there, "
            f"or drop --data-dir to download it into the cache",
        )


class LocalFilesSource:
    """Categories of your own: ``<data_dir>/<name>.npz`` for names no registered source has."""

    name = "local"

    def names(self) -> list[str]:
        return []  # its names are the files of a data dir: see ``names_in``

    def names_in(self, data_dir: Path) -> list[str]:
        """The category names ``data_dir`` holds files for (``x.npz`` and ``x.full.npz`` -> x)."""
        folder = Path(data_dir).expanduser()
        if not folder.is_dir():
            return []
        stems = {p.name[: -len(".full.npz")] if p.name.endswith(".full.npz") else p.stem
                 for p in folder.iterdir() if p.suffix == ".npz" and p.is_file()}
        return sorted(s for s in stems if _is_plain(s))

    def canonical_name(self, category: str, data_dir: Path | None) -> str | None:
        """``category`` itself when ``data_dir`` holds its file, else None."""
        if data_dir is None or not _is_plain(category):
            return None
        return category if self.locate(category, data_dir=data_dir) is not None else None

    def describe(self, category: str) -> str:
        return f"your own '{category}' (<data dir>/{file_name(category)}, e.g. from `sketchrnn data prepare`)"

    def locate(self, category: str, *, data_dir: Path | None = None,
               cache_dir: Path | None = None) -> Path | None:
        if data_dir is None:
            return None
        return _first_existing(Path(data_dir).expanduser(), check_file_stem(category, "category name"))

    def fetch(self, category: str, *, data_dir: Path | None = None, cache_dir: Path | None = None,
              download: bool = True, progress: ProgressCallback | None = None) -> Path:
        """The category's file in ``data_dir``; never a download (there is nothing to download)."""
        found = self.locate(category, data_dir=data_dir)
        if found is not None:
            return found
        where = "no --data-dir was given" if data_dir is None else f"{data_dir} has no '{file_name(category)}'"
        raise DataError(f"no data for your own category '{category}': {where}",
                        f"make it with `sketchrnn data prepare DRAWINGS --out DIR` and pass --data-dir DIR")

    def load(self, category: str, *, data_dir: Path | None = None, cache_dir: Path | None = None,
             download: bool = True, progress: ProgressCallback | None = None) -> SketchSplits:
        return load_npz(self.fetch(category, data_dir=data_dir))


def _is_plain(name: str) -> bool:
    try:
        check_file_stem(name, "category name")
    except DataError:
        return False
    return True


def _candidates(name: str) -> tuple[str, str]:
    """The file names accepted for a category, in order of preference."""
    return file_name(name), file_name(name, full=True)


def _first_existing(folder: Path, name: str) -> Path | None:
    for candidate in _candidates(name):
        path = folder / candidate
        if path.is_file():
            return path
    return None


# The instance the ``sketchrnn.categories`` entry point ``quickdraw`` resolves to.
QUICKDRAW = QuickDrawSource()
# The registry's fallback for names no source provides (``Registry.resolve_category``).
LOCAL_FILES = LocalFilesSource()
