"""magenta-js's ``.gen.json`` model files: read (untrusted) and write, numpy only.

The layout, as ``@magenta/sketch`` (``sketch_rnn/model.ts``, ``instantiateFromJSON``) reads it::

    [info, shapes, weights]
    info     {"mode": 2, "version": 6, "name": ..., "max_seq_len": ..., "scale_factor": ...}
    shapes   [[H, 123], [123], [5, 4H], [H, 4H], [4H]]
    weights  five base64 strings of little-endian int16, w = 10 * q / 32767:
             output_w [H, 123], output_b [123], W_xh [5, 4H], W_hh [H, 4H], bias [4H]

magenta-js takes ``H`` from ``shapes[0][0]``, hard-codes 20 mixtures (123 = 3 + 6 * 20) and
ignores ``mode``; Google's decoder-only (".gen") files all carry ``mode`` 2, which is what we
accept and write, so a VAE file (other tensors, another mode) is refused by name.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sketchrnn.errors import CheckpointError

GEN_MODE = 2  # Google's decoder-only (.gen.json) models
FORMAT_VERSION = 6  # the version Google's published files carry
N_MIXTURES = 20  # magenta-js: NMIXTURE = 20, fixed
N_OUT = 3 + 6 * N_MIXTURES  # pen logits, then pi, mu_x, mu_y, sigma_x, sigma_y, rho (20 each)
MAX_WEIGHT = 10.0  # w = MAX_WEIGHT * q / 32767
INT16_MAX = 32767
MAX_HIDDEN = 2048  # Google's models use 512; this keeps a hostile file's tensors bounded
MAX_FILE_BYTES = 64_000_000  # a 2048-unit model is ~47 MB of base64
MAX_NAME = 100
TENSORS = ("output_w", "output_b", "W_xh", "W_hh", "bias")
FIX = "pass a decoder-only model file (.gen.json) as @magenta/sketch loads it"


@dataclass(frozen=True)
class MagentaModel:
    """A decoder-only magenta-js model: its info and float32 tensors (already dequantised)."""

    name: str
    max_seq_len: int
    scale_factor: float
    tensors: dict[str, np.ndarray]  # TENSORS -> float32 arrays of the shapes in the docstring

    @property
    def hidden(self) -> int:
        return self.tensors["W_hh"].shape[0]


def expected_shapes(hidden: int) -> list[list[int]]:
    return [[hidden, N_OUT], [N_OUT], [5, 4 * hidden], [hidden, 4 * hidden], [4 * hidden]]


def read_model(path: str | Path) -> MagentaModel:
    """Read and validate ``path``; a CheckpointError naming the file and the problem."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size <= MAX_FILE_BYTES:
            data = json.loads(path.read_bytes())
    except (OSError, UnicodeDecodeError, RecursionError, ValueError) as e:  # JSONDecodeError: ValueError
        raise CheckpointError(f"{path} is not a readable JSON model file: {str(e)[:120]}", FIX) from e
    if size > MAX_FILE_BYTES:
        raise CheckpointError(f"{path} is {size:,} bytes, more than a magenta-js model holds "
                              f"({MAX_FILE_BYTES:,} at most)", FIX)
    return parse_model(data, str(path))


def parse_model(data: Any, where: str) -> MagentaModel:
    """``[info, shapes, weights]`` (parsed JSON) -> MagentaModel, every part checked."""
    if not (isinstance(data, list) and len(data) == 3):
        raise CheckpointError(f"{where} is not a magenta-js model: expected [info, shapes, weights], "
                              f"got {type(data).__name__}"
                              + (f" of {len(data)} items" if isinstance(data, list) else ""), FIX)
    info, shapes, weights = data
    name, max_seq_len, scale_factor = _info(info, where)
    if not (isinstance(shapes, list) and len(shapes) == len(TENSORS) and isinstance(weights, list)
            and len(weights) == len(TENSORS)):
        count = len(shapes) if isinstance(shapes, list) else "no"
        raise CheckpointError(f"{where} has {count} tensors, not the {len(TENSORS)} of a decoder-only "
                              "model (a VAE model file has more)", FIX)
    hidden = shapes[0][0] if isinstance(shapes[0], list) and shapes[0] else None
    if not (type(hidden) is int and 1 <= hidden <= MAX_HIDDEN):
        raise CheckpointError(f"{where}: LSTM size {hidden!r} is not an integer in 1..{MAX_HIDDEN}", FIX)
    expected = expected_shapes(hidden)
    if shapes != expected:
        raise CheckpointError(f"{where}: tensor shapes {json.dumps(shapes)[:120]} are not those of a "
                              f"{hidden}-unit decoder with {N_MIXTURES} mixtures "
                              f"{json.dumps(expected)}", FIX)
    tensors = {name_: _decode(text, shape, name_, where)
               for name_, text, shape in zip(TENSORS, weights, expected)}
    return MagentaModel(name, max_seq_len, scale_factor, tensors)


def _info(info: Any, where: str) -> tuple[str, int, float]:
    if not isinstance(info, dict):
        raise CheckpointError(f"{where}: info is {type(info).__name__}, not an object", FIX)
    mode, version = info.get("mode"), info.get("version")
    if mode != GEN_MODE or type(mode) is not int:
        raise CheckpointError(f"{where}: mode {mode!r} is not {GEN_MODE}, the decoder-only (.gen) "
                              "model (a VAE file has another mode)", FIX)
    if type(version) is not int:
        raise CheckpointError(f"{where}: version {version!r} is not an integer", FIX)
    name, max_seq_len, scale = info.get("name"), info.get("max_seq_len"), info.get("scale_factor")
    if not (isinstance(name, str) and 0 < len(name) <= MAX_NAME):
        raise CheckpointError(f"{where}: name {str(name)[:60]!r} is not a 1-{MAX_NAME} character "
                              "string", FIX)
    if not (type(max_seq_len) is int and 10 <= max_seq_len <= 10_000):
        raise CheckpointError(f"{where}: max_seq_len {max_seq_len!r} is not an integer in "
                              "10..10000", FIX)
    if not (type(scale) in (int, float) and math.isfinite(scale) and 0 < scale <= 1000):
        raise CheckpointError(f"{where}: scale_factor {scale!r} is not a number in (0, 1000]", FIX)
    return name, max_seq_len, float(scale)


def _decode(text: Any, shape: list[int], name: str, where: str) -> np.ndarray:
    count = math.prod(shape)
    b64_len = 4 * math.ceil(2 * count / 3)
    if not isinstance(text, str) or len(text) != b64_len:
        got = len(text) if isinstance(text, str) else type(text).__name__
        raise CheckpointError(f"{where}: {name} {shape} needs {b64_len} base64 characters, got "
                              f"{got}", FIX)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise CheckpointError(f"{where}: {name} is not valid base64: {e}", FIX) from e
    if len(raw) != 2 * count:
        raise CheckpointError(f"{where}: {name} decodes to {len(raw)} bytes, not {2 * count}", FIX)
    q = np.frombuffer(raw, dtype="<i2").reshape(shape)
    return (MAX_WEIGHT * q.astype(np.float32) / INT16_MAX).astype(np.float32)


def quantise(w: np.ndarray, name: str) -> np.ndarray:
    """float weights -> int16 codes, ``q = round(w * 32767 / 10)``; a CheckpointError naming the
    tensor when a weight is not finite or outside +-10 (the format cannot hold it)."""
    w = np.asarray(w, dtype=np.float64)
    if not np.isfinite(w).all():
        raise CheckpointError(f"tensor {name} has non-finite weights", "export a model that trained "
                              "without diverging")
    peak = float(np.abs(w).max(initial=0.0))
    if peak > MAX_WEIGHT:
        raise CheckpointError(f"tensor {name} has a weight of magnitude {peak:.4g}, beyond the "
                              f"+-{MAX_WEIGHT:g} the magenta-js format holds",
                              "the model cannot be exported to magenta-js without changing it")
    return np.clip(np.rint(w * INT16_MAX / MAX_WEIGHT), -INT16_MAX, INT16_MAX).astype("<i2")


def dumps_model(model: MagentaModel, *, version: int = FORMAT_VERSION) -> str:
    """The ``.gen.json`` text of ``model`` (deterministic: the same model gives the same bytes)."""
    info = {"mode": GEN_MODE, "version": version, "max_seq_len": model.max_seq_len,
            "name": model.name, "scale_factor": model.scale_factor}
    shapes = expected_shapes(model.hidden)
    weights = []
    for name, shape in zip(TENSORS, shapes):
        tensor = model.tensors[name]
        if list(tensor.shape) != shape:
            raise ValueError(f"{name} has shape {list(tensor.shape)}, expected {shape}")
        weights.append(base64.b64encode(quantise(tensor, name).tobytes()).decode("ascii"))
    return json.dumps([info, shapes, weights], separators=(",", ":"))
