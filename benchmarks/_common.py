"""Shared helpers for the benchmarks: machine facts, fp32 GEMM peak, the FLOP model, real or
synthetic sketches with the real length distribution, stroke-5 batches, tables and JSON.

Needs torch and numpy only (and the model/loss modules of sketchrnn, which need nothing else), so
that ``bench_gpu.py`` runs on a machine where sketchrnn's other dependencies (pydantic, ray) are
missing. The library's own data pipeline is used where a benchmark measures it (bench_data,
bench_train's bucketed variant); the helpers here are for padding-to-N_max and for the GPU box.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from _flops import (  # noqa: F401 - re-exported: the scripts call them as C.<name>
    lstm_step_flops, median, model_flops, train_flops, FLOP_FORMULA, LSTM_GEMM_SHAPES, CONTEXT_GEMM_SHAPES, gemm_gflops, gemm_peak,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DEFAULT_DATA_DIR = Path("data/quickdraw")  # the four real categories' sketch-rnn npz files
REAL_CATEGORIES = ("alarm clock", "face", "pig", "radio")

# Points per sketch (stroke-3 length) of the 8,800 real sketches in alarm clock, face, pig and
# radio (train + valid + test of their sketch-rnn files): counts for lengths 23, 24, ..., 151.
# Mean 69.2, median 66, p95 115, max 151. Used to give synthetic sketches a realistic distribution.
REAL_LENGTH_MIN = 23
REAL_LENGTH_COUNTS = (
    18, 18, 24, 32, 28, 21, 24, 36, 22, 20, 42, 49, 51, 72, 109, 80, 87, 102, 106, 118, 134, 101,
    118, 158, 123, 128, 146, 164, 146, 148, 147, 143, 150, 163, 157, 140, 172, 152, 158, 159, 157,
    134, 129, 136, 135, 138, 126, 138, 142, 136, 143, 125, 107, 109, 108, 106, 112, 111, 100, 101,
    103, 81, 74, 99, 86, 66, 88, 76, 88, 82, 65, 60, 66, 63, 51, 59, 55, 57, 50, 49, 55, 41, 41,
    35, 40, 39, 51, 38, 30, 28, 28, 27, 30, 25, 33, 25, 17, 27, 20, 14, 20, 16, 20, 19, 22, 14, 21,
    5, 20, 11, 11, 8, 5, 10, 5, 6, 7, 5, 6, 8, 6, 4, 4, 7, 7, 3, 4, 3, 2,
)
REAL_OFFSET_STD = 44.0  # raw-unit std of (dx, dy) in those files (40-56 per category)
REAL_PEN_LIFT = 0.11  # fraction of points after which the pen lifts


# --------------------------------------------------------------------------------------------
# Machine facts, output
# --------------------------------------------------------------------------------------------

def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, timeout=10)
        return out.stdout.strip() or None
    except Exception:  # noqa: BLE001 - no git there is fine
        return None


def machine_info() -> dict[str, Any]:
    import torch

    info = {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "host_cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "loadavg_1_5_15": loadavg(),
        "git_commit": git_commit(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["gpu_count"] = torch.cuda.device_count()
        info["cuda"] = torch.version.cuda
        info["cudnn"] = torch.backends.cudnn.version()
    return info


def log(*args: Any) -> None:
    print(*args, flush=True)


def write_json(path: str | Path, obj: Any) -> Path:
    """Atomic write (a partial result is never a half-written file)."""
    from sketchrnn._io import write_text_atomic

    return write_text_atomic(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, Path):
        return str(obj)
    return repr(obj)


def fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
            return f"{v:.{digits}g}"
        return f"{v:,.{digits}g}" if abs(v) >= 1000 else f"{v:.{digits}g}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def table(rows: list[dict[str, Any]], columns: list[str] | None = None, title: str | None = None) -> str:
    """A plain-text (Markdown-compatible) table."""
    if not rows:
        return f"{title or ''}\n(no rows)"
    columns = columns or list(dict.fromkeys(k for r in rows for k in r))
    cells = [[fmt(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = []
    if title:
        lines.append(title)
    lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths)) + " |")
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        lines.append("| " + " | ".join(v.rjust(w) for v, w in zip(row, widths)) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Sketches: real files, synthetic ones, preprocessing, stroke-5 batches (self-contained)
# --------------------------------------------------------------------------------------------

def real_lengths() -> np.ndarray:
    """The 8,800 real lengths, expanded from the embedded histogram."""
    return np.repeat(np.arange(REAL_LENGTH_MIN, REAL_LENGTH_MIN + len(REAL_LENGTH_COUNTS)),
                     REAL_LENGTH_COUNTS)


def sample_lengths(n: int, rng: np.random.Generator) -> np.ndarray:
    counts = np.asarray(REAL_LENGTH_COUNTS, dtype=np.float64)
    return REAL_LENGTH_MIN + rng.choice(len(counts), size=n, p=counts / counts.sum())


def synthetic_sketches(n: int, rng: np.random.Generator, lengths: np.ndarray | None = None) -> list[np.ndarray]:
    """``n`` int16 stroke-3 sketches with the real length distribution, raw-unit offsets (std ~44,
    like the npz files) and pen lifts on ~11% of points, the last point always lifted."""
    lengths = sample_lengths(n, rng) if lengths is None else lengths
    out = []
    for length in lengths:
        s = np.empty((int(length), 3), dtype=np.int16)
        s[:, :2] = np.clip(np.rint(rng.normal(0.0, REAL_OFFSET_STD, (int(length), 2))), -1000, 1000)
        s[:, 2] = rng.random(int(length)) < REAL_PEN_LIFT
        s[-1, 2] = 1
        out.append(s)
    return out


def load_npz_splits(path: str | Path) -> dict[str, list[np.ndarray]]:
    """``{"train", "valid", "test"}`` lists of stroke-3 arrays from a sketch-rnn npz, read without
    running code from it (``safe_npz`` needs numpy only), unvalidated."""
    from sketchrnn.data.safe_npz import open_npz

    with open_npz(path) as f:
        return {k: list(f[k]) for k in ("train", "valid", "test") if k in f}


def find_npz(data_dir: str | Path | None, categories: tuple[str, ...] = REAL_CATEGORIES) -> list[Path]:
    if data_dir is None:
        return []
    d = Path(data_dir)
    return [d / f"{c}.npz" for c in categories if (d / f"{c}.npz").is_file()]


def normalise(sketches: list[np.ndarray], max_len: int = 200, clamp: float = 1000.0,
              scale: float | None = None) -> tuple[list[np.ndarray], float]:
    """Paper preprocessing (self-contained): drop sketches longer than ``max_len``, clamp offsets,
    divide by the std of all offsets. Returns float32 stroke-3 arrays and the scale."""
    kept = [np.asarray(s, dtype=np.float32) for s in sketches if 2 <= len(s) <= max_len]
    for s in kept:
        np.clip(s[:, :2], -clamp, clamp, out=s[:, :2])
    if scale is None:
        scale = float(np.concatenate([s[:, :2] for s in kept]).std())
    for s in kept:
        s[:, :2] /= scale
    return kept, scale


def to_stroke5(sketches: list[np.ndarray], pad_to: int | None = None):
    """Stroke-3 float arrays -> ``(x [B, T, 5], lengths [B])`` torch tensors with the Batch
    contract: ``T = (pad_to or max length) + 1``, end tokens ``(0, 0, 0, 0, 1)`` after each sketch."""
    import torch

    lengths = np.array([len(s) for s in sketches], dtype=np.int64)
    n_max = int(pad_to if pad_to is not None else lengths.max())
    x = np.zeros((len(sketches), n_max + 1, 5), dtype=np.float32)
    x[:, :, 4] = 1.0
    for i, s in enumerate(sketches):
        n = len(s)
        x[i, :n, :2] = s[:, :2]
        x[i, :n, 3] = s[:, 2]
        x[i, :n, 2] = 1.0 - s[:, 2]
        x[i, :n, 4] = 0.0
    return torch.from_numpy(x), torch.from_numpy(lengths)


class SimpleBatches:
    """Endless batches from float stroke-3 sketches (self-contained; for padding to N_max, for
    machines without the library's data pipeline). ``bucket``: sort by length within chunks of
    ``bucket_chunk`` batches so each batch is padded to its own, similar, longest sketch."""

    def __init__(self, sketches: list[np.ndarray], batch_size: int, *, seed: int = 0,
                 pad_to: int | None = None, bucket: bool = False, bucket_chunk: int = 50) -> None:
        self.sketches, self.batch_size, self.pad_to = sketches, batch_size, pad_to
        self.bucket, self.bucket_chunk = bucket, bucket_chunk
        self.rng = np.random.default_rng(seed)
        self._queue: list[np.ndarray] = []

    def _epoch(self) -> list[np.ndarray]:
        n, b = len(self.sketches), self.batch_size
        order = self.rng.permutation(n)
        if self.bucket:
            lengths = np.array([len(s) for s in self.sketches])
            chunk = b * self.bucket_chunk
            parts = [order[i:i + chunk] for i in range(0, n, chunk)]
            order = np.concatenate([p[np.argsort(lengths[p], kind="stable")] for p in parts])
        batches = [order[i:i + b] for i in range(0, n - b + 1, b)]
        self.rng.shuffle(batches)
        return batches

    def __iter__(self):
        return self

    def __next__(self):
        if not self._queue:
            self._queue = self._epoch()
            if not self._queue:
                raise ValueError(f"fewer sketches ({len(self.sketches)}) than one batch ({self.batch_size})")
        idx = self._queue.pop()
        return to_stroke5([self.sketches[i] for i in idx], self.pad_to)


def preset_sizes(preset: str = "paper") -> dict[str, int]:
    """The Sketch-RNN sizes of a library preset: only what ``SketchRNN`` accepts (a preset also
    sizes other models, e.g. the classifier's ``conv_channels``). Without an importable library,
    the paper's sizes."""
    try:
        from sketchrnn.model.presets import preset_kwargs
        from sketchrnn.model.sketch_rnn import SketchRNN
    except Exception:  # noqa: BLE001
        if preset != "paper":
            raise
        return dict(enc_hidden=256, dec_hidden=512, z_dim=128, n_mixtures=20)
    return preset_kwargs(preset, SketchRNN)


def parameter_count(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())


def set_threads(n: int | None) -> None:
    import torch

    if n:
        torch.set_num_threads(n)


def python_exe() -> str:
    return sys.executable


# --------------------------------------------------------------------------------------------
# Proposed library changes, as patches on one model instance (measured before anyone edits the
# library; the same code is given as diffs in docs/benchmarks.md)
# --------------------------------------------------------------------------------------------

def patch_encoder_unpacked(model: Any) -> None:
    """Encoder final states from two unpacked ``torch.lstm`` calls (the oneDNN kernel on CPU,
    cuDNN on GPU) instead of one packed call: the forward direction over ``x``, the backward one
    over ``x`` reversed within each length (``reverse_padded``); each direction's ``h`` is its
    output at ``t = length - 1``. Same parameters, same math as packing (float rounding aside);
    the kernels also run the few padding steps after each sketch, which nobody reads.

    Why: on the CPU a packed ``nn.LSTM`` runs step by step without oneDNN, and the backward of
    each step's slice of the packed input allocates and zero-fills a gradient the size of the
    whole input: O(T^2) memory traffic (``SliceBackward0`` / ``fill_`` in the profile)."""
    import types

    import torch

    from sketchrnn.model.lstm import reverse_padded

    enc = model.encoder
    lstm = enc.rnn.lstm  # the bidirectional nn.LSTM inside PlainLSTM
    hidden = lstm.hidden_size

    def forward(self, x, lengths):
        lengths = lengths.to(x.device)
        idx = (lengths - 1).view(-1, 1, 1).expand(-1, 1, hidden)  # [B, 1, H]
        weights = lstm._flat_weights
        per_dir = len(weights) // 2
        zeros = x.new_zeros(1, x.shape[0], hidden)
        hs = []
        for d in range(2):
            inp = x if d == 0 else reverse_padded(x, lengths)
            out, _, _ = torch.lstm(inp, (zeros, zeros), weights[d * per_dir:(d + 1) * per_dir],
                                   lstm.bias, 1, 0.0, self.training, False, True)  # [B, T, H]
            hs.append(out.gather(1, idx).squeeze(1))
        h = torch.cat(hs, -1)  # [B, 2H]: cat(h_fwd, h_bwd), as the packed path
        mu = self.mu(h)
        sigma_hat = self.sigma_hat(h) if self.sigma_hat is not None else None
        return mu, sigma_hat

    enc.forward = types.MethodType(forward, enc)


def patch_decoder_step_cell(model: Any) -> None:
    """One decoder step (sampling) through ``torch.lstm_cell`` with the nn.LSTM's own weights
    instead of ``nn.LSTM`` on a length-1 sequence: same math, no per-call RNN set-up."""
    import types

    import torch

    rnn = model.decoder.rnn  # PlainLSTM
    lstm = rnn.lstm

    def step(self, x, state):
        h, c = torch.lstm_cell(x, state, lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0,
                               lstm.bias_hh_l0)
        return h, (h, c)

    rnn.step = types.MethodType(step, rnn)
