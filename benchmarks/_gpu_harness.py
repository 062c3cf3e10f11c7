"""bench_gpu's harness: settings, data, model/step builders, timing and the run log."""

from __future__ import annotations

import argparse
import contextlib
import socket
import sys
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import numpy as np  # noqa: E402

import _common as C  # noqa: E402


# --------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------

def settings(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    dry = args.dry_run or not torch.cuda.is_available()
    if dry:
        return dict(device="cpu", dry=True, sizes=dict(enc_hidden=16, dec_hidden=32, z_dim=8, n_mixtures=3),
                    smoke_sizes=dict(enc_hidden=16, dec_hidden=32, z_dim=8, n_mixtures=3),
                    batch_sizes=[8, 16], warmup=1, steps=2, n_max=200,
                    sample_ns=[1, 10, 100], sample_len=10, smoke_steps=40, smoke_batch=16,
                    gemm=[(64, 256, 512)], ddp_steps=2, n_train=600)
    return dict(device="cuda", dry=False, sizes=C.preset_sizes("paper"),
                smoke_sizes=dict(enc_hidden=128, dec_hidden=256, z_dim=64, n_mixtures=10),
                batch_sizes=[100, 1000], warmup=5, steps=args.steps, n_max=200,
                sample_ns=[1, 10, 100, 1000, 10000], sample_len=100, smoke_steps=args.smoke_steps,
                smoke_batch=100, gemm=[(8192, 8192, 8192), (100, 1024, 2048), (1000, 1024, 2048)],
                ddp_steps=20, n_train=7200)


def set_tf32(on: bool) -> dict[str, Any]:
    """TF32 for matmuls and cuDNN (convolutions and RNNs), through the legacy flags only (mixing
    them with the newer fp32_precision API is an error in recent torch)."""
    import torch

    torch.backends.cuda.matmul.allow_tf32 = on
    torch.backends.cudnn.allow_tf32 = on
    return {"matmul.allow_tf32": torch.backends.cuda.matmul.allow_tf32,
            "cudnn.allow_tf32": torch.backends.cudnn.allow_tf32}


def sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------

class Data:
    """Normalised float32 stroke-3 sketches: train (for batches) and their source."""

    def __init__(self, args: argparse.Namespace, st: dict[str, Any]) -> None:
        files = C.find_npz(args.data_dir) if args.data_dir else []
        rng = np.random.default_rng(0)
        if files:
            raw = [s for f in files for s in C.load_npz_splits(f)["train"]]
            self.source = "npz: " + ", ".join(f.name for f in files)
            self.files = files
        else:
            raw = C.synthetic_sketches(st["n_train"], rng)
            self.source = f"synthetic ({st['n_train']} sketches, real length histogram)"
            self.files = []
        self.raw = raw
        self.train, self.scale = C.normalise(raw, max_len=st["n_max"])
        lengths = np.array([len(s) for s in self.train])
        self.info = {"source": self.source, "train_sketches": len(self.train),
                     "mean_length": float(lengths.mean()), "max_length": int(lengths.max())}

    def batches(self, batch_size: int, n: int, *, pad_to: int | None = None, seed: int = 0):
        """``n`` bucketed batches ``(x, lengths)`` (pinned when CUDA is there), generated once."""
        import torch

        it = C.SimpleBatches(self.train, batch_size, seed=seed, pad_to=pad_to, bucket=True)
        out = []
        for _ in range(n):
            x, lengths = next(it)
            if torch.cuda.is_available():
                x = x.pin_memory()
            out.append((x, lengths))
        return out

    def write_npz(self, folder: Path, category: str = "pig") -> Path:
        """A sketch-rnn npz of the raw data for the real loop (when there is no --data-dir)."""
        path = folder / f"{category}.npz"
        raw = self.raw
        n = len(raw)
        split = {"train": raw[: int(0.8 * n)], "valid": raw[int(0.8 * n): int(0.9 * n)], "test": raw[int(0.9 * n):]}
        arrays = {}
        for k, v in split.items():
            a = np.empty(len(v), dtype=object)
            a[:] = [np.asarray(s, dtype=np.int16) for s in v]
            arrays[k] = a
        np.savez(path, **arrays)
        return path


# --------------------------------------------------------------------------------------------
# Model and step
# --------------------------------------------------------------------------------------------

def build(sizes: dict[str, int], device: str, n_max: int, seed: int = 0):
    import torch

    from sketchrnn.losses.sketch_rnn import SketchRNNLoss
    from sketchrnn.model.sketch_rnn import SketchRNN

    torch.manual_seed(seed)
    model = SketchRNN(**sizes).to(device)
    model.train()
    loss_fn = SketchRNNLoss(n_max=n_max)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    return model, loss_fn, opt


def make_step(model, loss_fn, opt, device: str, *, autocast: Any = None, metrics_sync: bool = True,
              lengths_on_cpu: bool = False, loss_call=None, forward=None):
    """One step as ``fit_job`` does it: batch to device, forward, loss, zero_grad, backward,
    clip_grad_norm_(1.0), Adam, then ``float()`` of every term (one host sync each)."""
    import torch

    from sketchrnn.train.loop import optimizer_step

    loss_call = loss_fn if loss_call is None else loss_call
    forward = model if forward is None else forward  # (a module's truth value calls len())
    device_type = "cuda" if device.startswith("cuda") else "cpu"

    def step(batch, i: int):
        x = batch[0].to(device, non_blocking=True)  # [B, T, 5]
        lengths_dev = batch[1].to(device, non_blocking=True)  # [B]
        lengths_model = batch[1] if lengths_on_cpu else lengths_dev
        ctx = torch.autocast(device_type, dtype=autocast) if autocast is not None else contextlib.nullcontext()
        with ctx:
            out = forward(x, lengths_model)
            terms = loss_call(out, x, lengths_dev, i)
        optimizer_step(model, opt, terms["loss"], 1.0)
        if metrics_sync:
            return {k: float(v.detach()) for k, v in terms.items()}["loss"]
        return terms["loss"].detach()

    return step


def time_steps(step, batches, warmup: int, steps: int, device: str) -> dict[str, Any]:
    import torch

    for i in range(warmup):
        step(batches[i % len(batches)], i)
    sync(device)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    points = sketches = 0
    losses = []
    t0 = time.perf_counter()
    for i in range(steps):
        b = batches[(warmup + i) % len(batches)]
        losses.append(step(b, warmup + i))
        points += int(b[1].sum())
        sketches += int(b[1].shape[0])
    sync(device)
    dt = time.perf_counter() - t0
    losses = [float(v) for v in losses]
    res = {"steps": steps, "s": dt, "points": points, "sketches": sketches, "ms_per_step": 1e3 * dt / steps, "steps_per_s": steps / dt,
           "real_points_per_s": points / dt, "sketches_per_s": sketches / dt,
           "mean_T": float(np.mean([b[0].shape[1] for b in batches])), "last_loss": losses[-1],
           "finite": bool(np.all(np.isfinite(losses)))}
    if device.startswith("cuda"):
        res["peak_mem_gib"] = torch.cuda.max_memory_allocated() / 2**30
    return res



# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------

class Run:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args, self.t0 = args, time.perf_counter()
        self.result: dict[str, Any] = {"partial": True, "sections": {}, "errors": {}, "skipped": []}

    def left(self) -> float:
        return self.args.budget_s - (time.perf_counter() - self.t0)

    def log(self, msg: str) -> None:
        print(f"[{time.perf_counter() - self.t0:6.1f}s] {msg}", flush=True)

    def save_partial(self, name: str, value: Any) -> None:
        self.result["sections"][name] = value
        self.save()

    def save(self) -> None:
        self.result["elapsed_s"] = time.perf_counter() - self.t0
        C.write_json(self.args.out, self.result)

    def section(self, name: str, fn, *, min_left: float) -> None:
        if self.left() < min_left:
            self.result["skipped"].append(name)
            self.log(f"== {name}: skipped ({self.left():.0f} s left of the budget)")
            self.save()
            return
        self.log(f"== {name}")
        t0 = time.perf_counter()
        try:
            value = fn()
            self.result["sections"][name] = value
            if name == "env":
                self.result["env"] = value
        except Exception as exc:  # noqa: BLE001 - one failing section must not lose the rest
            self.result["errors"][name] = _err(exc)
            self.log(f"== {name}: FAILED {exc!r}")
        self.result.setdefault("section_s", {})[name] = time.perf_counter() - t0
        self.save()


def _err(exc: BaseException) -> str:
    tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return ("".join(tb[-3:]))[-1500:]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
