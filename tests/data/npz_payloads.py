"""Planted-payload ``.npz`` files: each runs code (creates a marker file) when unpickled.

Used by the loader's unit tests and the CLI tests. ``np.load(allow_pickle=True)`` is the
independent reference that proves each payload is live.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np


class OpenPayload:
    """Unpickling calls ``open(marker, "w")``: the marker file appears."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


class ExecPayload(OpenPayload):
    """Unpickling calls ``exec(...)``, which writes the marker."""

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').close()",))


def sketch(n: int = 5, seed: int = 0, dtype=np.int16) -> np.ndarray:
    rng = np.random.default_rng(seed)
    s = np.zeros((n, 3), dtype=dtype)
    s[:, :2] = rng.integers(-300, 300, size=(n, 2))
    s[-1, 2] = 1
    return s


def object_array(items: list) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = item
    return out


def _npy_bytes(arr: np.ndarray, protocol: int) -> bytes:
    """An object-array ``.npy`` member pickled with ``protocol`` (numpy itself always uses 3)."""
    fp = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        fp, {"descr": "|O", "fortran_order": False, "shape": arr.shape})
    pickle.dump(arr, fp, protocol=protocol)
    return fp.getvalue()


def plant(path: Path, marker: Path, style: str = "open") -> Path:
    """A sketch-rnn shaped npz whose train split hides a payload among real sketches.

    ``style``: "open"/"exec" (numpy's own protocol-3 pickle), "protocol2" (the GLOBAL opcode
    of Python 2 era files), "whole" (the split itself is the payload).
    """
    payload = ExecPayload(marker) if style == "exec" else OpenPayload(marker)
    good = object_array([sketch(5, 1), sketch(7, 2)])
    members = {"valid": good, "test": good}
    if style == "whole":
        members["train"] = payload
    else:
        members["train"] = object_array([sketch(4, 3), payload, sketch(6, 4)])
    with zipfile.ZipFile(path, "w") as zf:
        for key, arr in members.items():
            if style == "whole" and key == "train":
                fp = io.BytesIO()
                np.lib.format.write_array_header_1_0(
                    fp, {"descr": "|O", "fortran_order": False, "shape": ()})
                pickle.dump(arr, fp, protocol=3)
                zf.writestr(f"{key}.npy", fp.getvalue())
            else:
                zf.writestr(f"{key}.npy", _npy_bytes(arr, 2 if style == "protocol2" else 3))
    return path


STYLES = ("open", "exec", "protocol2", "whole")
