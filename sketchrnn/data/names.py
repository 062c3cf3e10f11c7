"""File names made from user-given names (categories, input files): one rule for all of them.

A category name becomes ``<cache>/<name>.npz`` and an input ``pig.ndjson`` becomes
``<out>/pig.npz``. Unchecked, ``../../x`` would write outside the folder, ``.hidden`` would make
a hidden file and a 500-character name fails with an obscure OS error. So a name is one plain
path component: no separators, no leading dot, only printable characters, a sane length. The
same rule checks the category names a checkpoint stores (``checkpoint_meta``), so whatever name
`data prepare` writes can be trained and its model saved.
"""

from __future__ import annotations

from sketchrnn.errors import DataError

MAX_NAME_CHARS = 100  # QuickDraw's longest name is 24 characters


def check_file_stem(name: object, what: str) -> str:
    """``name`` if it is safe as the stem of a file name in a folder, else a ``DataError``.

    ``what`` says where the name came from, e.g. ``"category name"``.
    """
    fix = f"use a plain name of at most {MAX_NAME_CHARS} characters, e.g. 'alarm clock'"
    if not isinstance(name, str) or not name.strip():
        raise DataError(f"{what} {name!r} is empty", fix)
    if len(name) > MAX_NAME_CHARS:
        raise DataError(f"{what} {name[:20]!r}... has {len(name)} characters", fix)
    if name.startswith("."):
        raise DataError(f"{what} {name!r} starts with a dot (a hidden file, or a parent folder)", fix)
    # isprintable: not control, format or unassigned characters, nor spaces other than ' '
    bad = next((c for c in name if c in "/\\:" or not c.isprintable()), None)
    if bad is not None:
        raise DataError(f"{what} {name!r} contains {bad!r}, which is not allowed in a file name", fix)
    if name != name.strip():
        raise DataError(f"{what} {name!r} starts or ends with a space", fix)
    return name
