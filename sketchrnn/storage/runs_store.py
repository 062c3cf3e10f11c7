"""`open_runs`: the runs folder a `--runs` value names, local or in object storage."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from sketchrnn.storage.uri import resolve_uri


def is_uri(path: str | os.PathLike[str]) -> bool:
    return "://" in str(path)


class RunsStore:
    """A runs folder on a local (or NFS) filesystem: ``local`` is the folder itself."""

    remote = False

    def __init__(self, text: str, local: Path) -> None:
        self.text, self.local = text, local

    def __enter__(self) -> RunsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Forget the staging folder (nothing to do here)."""

    def check(self) -> None:
        """A StorageError now, before any work, when the folder cannot be used."""

    def job_dir(self, name: str) -> Path:
        return self.local / name

    def where(self, name: str = "") -> str:
        """How to name the folder (or a job in it) to the user."""
        return str(self.local / name) if name else str(self.local)

    def name_of(self, path: Path) -> str:
        """How to name ``path`` (inside ``local``) to the user: for a URI, its place in the store."""
        if not self.remote:
            return str(path)
        rel = Path(path).resolve().relative_to(self.local.resolve()).as_posix()
        return self.where("" if rel == "." else rel)

    def job_names(self) -> list[str]:
        return sorted(p.name for p in self.local.iterdir() if p.is_dir()) if self.local.is_dir() else []

    def read(self, rel: str) -> bytes | None:
        """The bytes of ``rel`` (a path inside the runs folder), None when there is none."""
        try:
            return (self.local / rel).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def mtime(self, rel: str) -> float | None:
        try:
            return (self.local / rel).stat().st_mtime
        except OSError:
            return None

    def read_checkpoint_file(self, checkpoint: str, name: str) -> bytes | None:
        """File ``name`` of the checkpoint folder ``checkpoint`` (e.g. ``draw-pig/checkpoints/latest``)."""
        return self.read(f"{checkpoint}/{name}")

    def pull(self, names: Iterable[str] | None = None, *, checkpoints_only: bool = False,
             checkpoints: bool = True) -> None:
        """Copy jobs (every job when ``names`` is None; a name may be a path such as
        ``tune-x/<trial>/job``) down into ``local``: their plain files unless ``checkpoints_only``,
        their published checkpoints unless not ``checkpoints``."""

    def publish(self, name: str, *, checkpoints: bool = True) -> None:
        """Copy what changed in ``local/<name>`` up (plain files; checkpoints when asked)."""

    def clear(self, name: str) -> None:
        """Delete the stored copy of a job (its lock excepted); `--fresh` clears ``local``."""


def open_runs(text: str | os.PathLike[str]) -> RunsStore:
    """The runs folder ``text`` names (use it as a context manager: a URI's staging folder is
    removed at the end); a one-line StorageError when a URI cannot be used."""
    text = str(text)
    if not is_uri(text):
        return RunsStore(text, Path(text).expanduser())
    fs, root = resolve_uri(text)
    from sketchrnn.storage.objects import ObjectRuns

    store = ObjectRuns(text, fs, root)
    try:
        store.check()
    except BaseException:
        store.close()
        raise
    return store


