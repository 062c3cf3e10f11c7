"""Read ``.npz``/``.npy`` files without running code: only numeric numpy arrays come out.

``np.load(allow_pickle=True)`` runs whatever a file's pickle asks for, so a data file could run
code. Sketch-rnn files need pickle, though: each split is an *object* array of ``[n_i, 3]``
int16 (or float64) arrays. So this module parses the zip's ``.npy`` members itself:

* numeric members (header dtype bool/int/uint/float) are read as raw bytes, like ``np.load``;
* object members are unpickled by :class:`_ArrayUnpickler`, whose ``find_class`` knows only the
  four globals numpy's own ndarray pickles use (``_reconstruct``, ``ndarray``, ``dtype`` and
  ``_codecs.encode`` for bytes in Python 2 era protocol-2 pickles). None of them is handed out:
  each maps to an inert stand-in that records its arguments, and the arrays are rebuilt
  afterwards from plain bytes with ``np.frombuffer``. Any other global, nested object arrays or
  objects that are not arrays of numbers raise a ``DataError``. No numpy or Python constructor
  ever sees attacker-chosen arguments.

Python 2 pickles (the original aaron_sheep, kanji and omniglot files) store bytes as ``str``;
they are read with ``encoding="latin1"``, which maps every byte to one character and back.
"""

from __future__ import annotations

import functools
import io
import math
import os
import pickle
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import numpy as np

from sketchrnn.errors import DataError

# numpy's own array pickles name these globals (numpy.core before numpy 2, numpy._core after).
_RECONSTRUCT = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct")}
_NUMERIC_KINDS = "biuf"  # bool, int, uint, float; complex, strings, records and objects are refused
_DTYPE_CODE = re.compile(r"^(?:[biuf][1248]|O[48]?)$")  # what numpy's dtype pickles spell
# Far above the largest QuickDraw ``.full.npz`` member; stops a zip that claims terabytes.
MAX_MEMBER_BYTES = 8 << 30
# Corrupt bytes surface as whichever error the header parser, zlib or pickle meets first.
# zipfile adds zlib.error (bad deflate data), NotImplementedError (unknown compression) and
# RuntimeError (an encrypted member).
_CORRUPT = (ValueError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, OSError, TypeError,
            AttributeError, IndexError, KeyError, MemoryError, RecursionError, OverflowError,
            zlib.error, struct.error, NotImplementedError, RuntimeError)
_REDO = "recreate it from trusted data, e.g. with `sketchrnn data prepare`"


class _Refused(Exception):
    """Raised inside the unpickler; turned into a DataError naming the file and member."""


class _NdarrayToken:
    """Stands for ``numpy.ndarray`` (only ever passed to ``_reconstruct``, never called)."""


_NDARRAY = _NdarrayToken()


class _DtypeSpec:
    """What ``numpy.dtype(code, align, copy)`` + ``__setstate__`` would build, kept as data."""

    def __init__(self, code: Any = None, align: Any = False, copy: Any = False) -> None:
        if not isinstance(code, str) or not _DTYPE_CODE.match(code):
            raise _Refused(f"dtype {code!r} is not a plain number or object type")
        self.code = code
        self.byteorder = "|"

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) < 5 or state[1] not in ("<", ">", "|", "="):
            raise _Refused(f"unexpected dtype state {_short(state)}")
        if any(part is not None for part in state[2:5]):  # subarray, names, fields
            raise _Refused("structured dtypes are not sketch data")
        self.byteorder = state[1]

    def resolve(self) -> np.dtype:
        return _resolve_dtype(self.code, self.byteorder)


@functools.cache  # one pickle names the same dtype once per sketch: tens of thousands of times
def _resolve_dtype(code: str, byteorder: str) -> np.dtype:
    dtype = np.dtype(code)
    return dtype.newbyteorder(byteorder) if byteorder in "<>" else dtype


class _ArraySpec:
    """What ``_reconstruct(ndarray, ...)`` + ``ndarray.__setstate__`` would build, rebuilt safely."""

    def __init__(self) -> None:
        self.array: np.ndarray | None = None

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 5:
            state = state[1:]  # (version, shape, dtype, is_fortran, data)
        if not isinstance(state, tuple) or len(state) != 4:
            raise _Refused(f"unexpected array state {_short(state)}")
        shape, dtype, fortran, data = state
        if not isinstance(dtype, _DtypeSpec):
            raise _Refused(f"array dtype is a {type(dtype).__name__}")
        self.array = _build_array(_check_shape(shape), dtype.resolve(), bool(fortran), data)


def _reconstruct(cls: Any, shape: Any = None, typecode: Any = None) -> _ArraySpec:
    if cls is not _NDARRAY:
        raise _Refused("_reconstruct of something other than numpy.ndarray")
    return _ArraySpec()


def _latin1_bytes(text: Any, encoding: Any = None) -> bytes:
    """``_codecs.encode(str, "latin1")``: how protocol-2 pickles from Python 3 spell bytes."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _Refused("_codecs.encode used for something other than bytes")
    return text.encode("latin1")


_ALLOWED: dict[tuple[str, str], Any] = {
    **{key: _reconstruct for key in _RECONSTRUCT},
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _DtypeSpec,
    ("_codecs", "encode"): _latin1_bytes,
}


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise _Refused(f"it refers to {module}.{name}, which a data file may not use") from None

    def persistent_load(self, pid: Any) -> Any:
        raise _Refused("it uses persistent ids")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_shape(shape: Any) -> tuple[int, ...]:
    if type(shape) is not tuple or len(shape) > 32:
        raise _Refused(f"array shape {_short(shape)} is not a tuple of sizes")
    for n in shape:  # a loop, not all(...): this runs once per sketch
        if type(n) is not int or n < 0:
            raise _Refused(f"array shape {_short(shape)} is not a tuple of sizes")
    return shape


def _build_array(shape: tuple[int, ...], dtype: np.dtype, fortran: bool, data: Any) -> np.ndarray:
    order = "F" if fortran else "C"
    count = math.prod(shape)
    if dtype.kind == "O":  # an object array: its items must be finished numeric arrays
        if not isinstance(data, list) or len(data) != count:
            raise _Refused(f"object array of shape {shape} holds {_short(type(data).__name__)} data")
        out = np.empty(count, dtype=object)
        for i, item in enumerate(data):
            if not isinstance(item, _ArraySpec) or item.array is None or item.array.dtype == object:
                what = "an object array" if isinstance(item, _ArraySpec) else type(item).__name__
                raise _Refused(f"object array item {i} is {what}, not an array of numbers")
            out[i] = item.array
        return out.reshape(shape, order=order)
    if isinstance(data, str):
        data = data.encode("latin1")  # a Python 2 str read with encoding="latin1"
    if not isinstance(data, bytes | bytearray) or len(data) != count * dtype.itemsize:
        raise _Refused(f"array data does not match shape {shape} and dtype {dtype}")
    # A bytearray copy makes the array writable (as np.load's are) at the cost of one memcpy.
    return np.frombuffer(bytearray(data), dtype=dtype).reshape(shape, order=order)


def _read_header(fp: IO[bytes]) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
    else:
        raise _Refused(f".npy format version {version} is not supported")
    if dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in _NUMERIC_KINDS + "O":
        raise _Refused(f"dtype {dtype} is not a number or object type")
    return shape, fortran, dtype


def read_npy(fp: IO[bytes], size_limit: int = MAX_MEMBER_BYTES) -> np.ndarray:
    """One ``.npy`` stream -> a numeric array or an object array of numeric arrays.

    Raises ``_Refused`` (callers name the file); lets ``ValueError``/``OSError``/``EOFError``
    of a corrupt stream through for the caller to wrap.
    """
    shape, fortran, dtype = _read_header(fp)
    if dtype.kind != "O":
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes > size_limit:
            raise _Refused(f"array of shape {shape} needs {nbytes} bytes, more than the file holds")
        return _build_array(shape, dtype, fortran, fp.read(nbytes))
    result = _ArrayUnpickler(io.BytesIO(fp.read(size_limit + 1)), encoding="latin1").load()
    if not isinstance(result, _ArraySpec) or result.array is None:
        raise _Refused(f"the pickled data is a {type(result).__name__}, not an array")
    if result.array.shape != shape or result.array.dtype != object:
        raise _Refused(f"the pickled array ({result.array.shape}) does not match its header ({shape})")
    return result.array


class SafeNpz:
    """The ``.npy`` members of an open zip, by key (``"train"`` for ``train.npy``), read safely."""

    def __init__(self, zf: zipfile.ZipFile, path: str) -> None:
        self._zf = zf
        self.path = path
        self._members = {info.filename.removesuffix(".npy"): info
                         for info in zf.infolist() if info.filename.endswith(".npy")}

    @property
    def files(self) -> list[str]:
        return list(self._members)

    def __contains__(self, key: str) -> bool:
        return key in self._members

    def __getitem__(self, key: str) -> np.ndarray:
        info = self._members[key]
        if info.file_size > MAX_MEMBER_BYTES:
            raise DataError(f"{self.path}: member {info.filename} claims {info.file_size} bytes",
                            _REDO)
        try:
            with self._zf.open(info) as fp:
                return read_npy(fp, size_limit=info.file_size)
        except _Refused as e:
            raise DataError(f"{self.path}: refused member {info.filename}: {e}; only arrays "
                            "of numbers are loaded", _REDO) from None
        except _CORRUPT as e:
            raise DataError(f"{self.path}: member {info.filename} cannot be read "
                            f"({type(e).__name__}: {_short(str(e))})",
                            "delete it and download or prepare it again") from None


@contextmanager
def open_npz(path: str | os.PathLike[str]) -> Iterator[SafeNpz]:
    """``with open_npz(path) as npz: npz["train"]``: like ``np.load`` of an ``.npz``, minus pickle."""
    path = str(path)
    try:
        zf = zipfile.ZipFile(path)
    except _CORRUPT as e:
        raise DataError(f"{path}: is not a readable .npz (zip) file ({type(e).__name__}: {e})",
                        "delete it and download or prepare it again") from None
    with zf:
        yield SafeNpz(zf, path)


def load_npy(path: str | os.PathLike[str]) -> np.ndarray:
    """A ``.npy`` file, read like one ``.npz`` member."""
    path = str(path)
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fp:
            return read_npy(fp, size_limit=size)
    except _Refused as e:
        raise DataError(f"{path}: refused: {e}; only arrays of numbers are loaded", _REDO) from None
    except _CORRUPT as e:
        raise DataError(f"{path}: cannot be read as .npy ({type(e).__name__}: {_short(str(e))})",
                        "save a numeric array with numpy.save") from None
