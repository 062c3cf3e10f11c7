"""Atomic file writes: the one way sketchrnn puts a file on disk.

A reader (a web server, `fit --config`, another Ray worker) must never see a half-written file,
and a crash must never leave one behind. So every writer goes through :func:`atomic_write`:
write into a temp file *in the target folder* (same filesystem, so the rename is atomic), fsync
it, optionally check it, then rename it into place. On any failure, Ctrl-C included, the temp
file is removed and the target is untouched.

The temp file is created with mode 0666 filtered by the process umask, like ``open(path, "w")``
(``tempfile.mkstemp`` would make it 0600, unreadable to a web server or the other users of a
shared folder). With ``overwrite=False`` an existing target is never replaced: the final step is
a hard link, which the kernel refuses atomically when the name is taken.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from sketchrnn.errors import OutputExistsError

__all__ = ["atomic_write", "fsync_file", "is_temp_file", "write_bytes_atomic", "write_text_atomic"]

_TEMP_NAME = re.compile(r"^\..+\.\d+\.[0-9a-f]{8}\.tmp$")  # .<name>.<pid>.<8 hex>.tmp, see atomic_write


def atomic_write(
    path: str | os.PathLike[str],
    write: Callable[[IO[bytes]], Any],
    *,
    overwrite: bool = True,
    check: Callable[[Path], Any] | None = None,
) -> Path:
    """Call ``write(file)`` on a temp file beside ``path``, fsync it, then rename it to ``path``.

    ``check(temp_path)``, if given, runs on the complete temp file before the rename (e.g. "does
    the downloaded npz load?"); an exception from it leaves nothing behind. With
    ``overwrite=False`` an existing ``path`` raises :class:`OutputExistsError` and is kept.
    Parent folders are created. Returns ``path``.
    """
    path = Path(path)
    if not overwrite and path.exists():
        raise OutputExistsError(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    # O_EXCL: the name is private to this call; 0o666 & ~umask: the usual permissions.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if check is not None:
            check(tmp)
        _commit(tmp, path, overwrite=overwrite)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def is_temp_file(path: Path) -> bool:
    """Whether `path` is an `atomic_write` temp file: what a killed writer leaves behind."""
    return path.is_file() and _TEMP_NAME.match(path.name) is not None


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes, *, overwrite: bool = True) -> Path:
    """:func:`atomic_write` of ``data``."""
    return atomic_write(path, lambda f: f.write(data), overwrite=overwrite)


def write_text_atomic(path: str | os.PathLike[str], text: str, *, overwrite: bool = True) -> Path:
    """:func:`atomic_write` of ``text`` as UTF-8."""
    return write_bytes_atomic(path, text.encode("utf-8"), overwrite=overwrite)


def fsync_file(path: str | os.PathLike[str]) -> None:
    """Flush a file that was written some other way (e.g. by a library given only a path)."""
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _commit(tmp: Path, path: Path, *, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)  # fails with EEXIST if another writer got there first
    except FileExistsError:
        raise OutputExistsError(path) from None
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        # A file system without hard links: the best we can do is check, then rename.
        if path.exists():
            raise OutputExistsError(path) from None
        os.replace(tmp, path)
        return
    tmp.unlink()


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable; not every platform can open a folder, which is fine."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
