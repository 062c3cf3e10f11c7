"""Where commands write their files, and one error for a folder that cannot take them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def writing_into(folder: Path, fix: str = "choose another --out folder") -> Iterator[Path]:
    """Turn an OSError while writing into ``folder`` (a file where the folder should be, no
    permission, a full disk, a name too long) into a one-line InputError naming the folder."""
    from sketchrnn.errors import InputError

    try:
        yield folder
    except OSError as e:
        raise InputError(f"cannot write into the output folder {folder}: {e.strerror or e}",
                         fix) from e
