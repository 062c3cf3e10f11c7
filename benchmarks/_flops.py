"""The FLOP model of Sketch-RNN training and the GEMM throughput it is compared with."""

from __future__ import annotations

import statistics
import time
from typing import Any


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


# --------------------------------------------------------------------------------------------
# FLOP model and GEMM peak
# --------------------------------------------------------------------------------------------

def lstm_step_flops(input_size: int, hidden: int) -> int:
    """Matmul FLOPs of one LSTM step for one sequence: ``[x, h] [I + H] x [I + H, 4H]``, 2 per MAC."""
    return 2 * 4 * hidden * (input_size + hidden)


def model_flops(enc_hidden: int = 256, dec_hidden: int = 512, z_dim: int = 128, n_mixtures: int = 20,
                stroke_dim: int = 5) -> dict[str, int]:
    """Forward matmul FLOPs of Sketch-RNN, per real point and per sketch (elementwise work ignored).

    per point:  encoder 2 directions x 4 gates: 2 * 2*4*He*(5 + He)
                decoder (input 5 + Nz):         2*4*Hd*(5 + Nz + Hd)
                output layer (6M + 3 outputs):  2*Hd*(6M + 3)
    per sketch: mu and sigma_hat 2 * 2*(2He)*Nz, initial state 2*Nz*(2Hd)
    Training = 3 x forward (backward = grads of inputs + grads of weights, each ~ one forward).
    """
    enc = 2 * lstm_step_flops(stroke_dim, enc_hidden)
    dec = lstm_step_flops(stroke_dim + z_dim, dec_hidden)
    out = 2 * dec_hidden * (6 * n_mixtures + 3)
    per_sketch = 2 * (2 * (2 * enc_hidden) * z_dim) + 2 * z_dim * (2 * dec_hidden)
    fwd = enc + dec + out
    return {"encoder_per_point": enc, "decoder_per_point": dec, "output_per_point": out,
            "forward_per_point": fwd, "train_per_point": 3 * fwd,
            "forward_per_sketch": per_sketch, "train_per_sketch": 3 * per_sketch}


def train_flops(flops: dict[str, int], real_points: int, sketches: int) -> int:
    """Useful training FLOPs of one step: real points only (no padding, no end token)."""
    return flops["train_per_point"] * real_points + flops["train_per_sketch"] * sketches


FLOP_FORMULA = (
    "train FLOPs/step = 3 x [sum(lengths) x (2*2*4*He*(5+He) + 2*4*Hd*(5+Nz+Hd) + 2*Hd*(6M+3))"
    " + B x (2*2*2He*Nz + 2*Nz*2Hd)]; real points only (padding and the end token not counted)"
)

LSTM_GEMM_SHAPES = ((100, 1024, 2048),)  # [100 x 1024] x [1024 x 2048]: the reference "peak"
CONTEXT_GEMM_SHAPES = ((100, 645, 2048), (100, 512, 2048), (100, 261, 1024), (2000, 1024, 2048))


def gemm_gflops(m: int, k: int, n: int, *, seconds: float = 1.0, device: str = "cpu",
                dtype: Any = None, chunks: int = 5) -> dict[str, float]:
    """fp32 (or ``dtype``) ``[m x k] x [k x n]`` throughput: best and median over ``chunks`` timed
    chunks of about ``seconds / chunks`` each, after a warm-up."""
    import torch

    dtype = dtype or torch.float32
    a = torch.randn(m, k, device=device, dtype=dtype)
    b = torch.randn(k, n, device=device, dtype=dtype)
    out = torch.empty(m, n, device=device, dtype=dtype)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    for _ in range(3):
        torch.mm(a, b, out=out)
    sync()
    t0 = time.perf_counter()
    torch.mm(a, b, out=out)
    sync()
    one = max(time.perf_counter() - t0, 1e-7)
    reps = max(1, int(seconds / chunks / one))
    rates = []
    for _ in range(chunks):
        sync()
        t0 = time.perf_counter()
        for _ in range(reps):
            torch.mm(a, b, out=out)
        sync()
        dt = time.perf_counter() - t0
        rates.append(2.0 * m * k * n * reps / dt / 1e9)
    return {"shape": f"[{m}x{k}]x[{k}x{n}]", "best_gflops": max(rates), "median_gflops": median(rates)}


def gemm_peak(seconds: float = 1.0, device: str = "cpu", context: bool = False) -> dict[str, Any]:
    """The reference peak: best fp32 GFLOP/s of ``[100 x 1024] x [1024 x 2048]`` (an LSTM-like
    shape); ``context`` adds other shapes for reference."""
    shapes = LSTM_GEMM_SHAPES + (CONTEXT_GEMM_SHAPES if context else ())
    results = [gemm_gflops(m, k, n, seconds=seconds, device=device) for m, k, n in shapes]
    return {"peak_gflops": results[0]["best_gflops"], "shapes": results}
