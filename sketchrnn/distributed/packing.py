"""How many jobs share one GPU when `--gpus-per-worker` is not given.

A Sketch-RNN step at batch 100 is hundreds of small sequential kernels: one paper-size job keeps
an H200 busy about a quarter of the time and uses under 2 GiB of its memory. Several jobs on one
GPU fill the gaps, so the planner packs them, as many as three limits allow:

* **memory**: every job's worst case (the model, its gradients and Adam's two moments, the
  activations of a batch padded to ``max_seq_len + 1``, and a CUDA context per process) must fit
  in 90% of the GPU's memory;
* **compute**: the jobs' summed share of the GPU's compute stays at or under one, where a job's
  share is its useful FLOPs per step over what the GPU does in one latency-bound step when full;
* **spreading**: no more per GPU than an even spread of the jobs needs (3 jobs on 2 GPUs: 2 per
  GPU), so no GPU sits idle while another is shared; and at most ``MAX_JOBS_PER_GPU``.

All jobs get the same fraction ``1 / k``, from the biggest job. Every measured figure these
estimates rest on is in ``FIGURES`` (docs/benchmarks.md, "GPU (H200)" and "Packing jobs on a GPU").
"""

from __future__ import annotations

import math
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from sketchrnn.train.job import JobSpec


@dataclass(frozen=True)
class GpuFigures:
    # Paper size, batch 100, fp32, one H200: a latency-bound step (docs/benchmarks.md, "GPU (H200)").
    latency_bound_step_s: float = 14.07e-3
    # Useful FLOP/s the same GPU reached on this model when full (paper size, batch 1000, fp32).
    full_gpu_flops: float = 22.1e12
    # Mean padded length / (max_seq_len + 1) of real bucketed batches (mean T 69 at N_max 200).
    typical_fill: float = 69 / 201
    # GPU activation bytes over the shape formula's (`activation_floats_per_point`): the formula
    # matches the CPU's measured 12,500 floats per padded point; the H200 measured 16,280
    # (0.57 GiB at batch 100, mean T 69 -> 4.76 GiB at batch 1000, mean T 76).
    gpu_activation_factor: float = 1.29
    # A CUDA context plus the caching allocator's slack per process: an estimate, not yet
    # measured (bench_gpu.py's "pack" section records each process's memory).
    cuda_context_gib: float = 0.5
    # Assumed when the GPU's memory cannot be read on the driver (the smallest common size).
    default_gpu_memory_gib: float = 16.0
    usable_memory: float = 0.9  # of the GPU's memory: headroom for fragmentation


FIGURES = GpuFigures()
MAX_JOBS_PER_GPU = 6  # the six-job fit (five draw models + predict) on one GPU


@dataclass(frozen=True)
class JobLoad:
    """One job's estimated footprint on a GPU."""

    memory_gib: float
    compute_share: float  # of one GPU, at the latency-bound step time
    label: str  # e.g. "paper-size sketch_rnn, batch 100"


@dataclass(frozen=True)
class Packing:
    jobs_per_gpu: int
    gpus_per_worker: float
    reason: str


def model_shapes(job: JobSpec) -> dict[str, int]:
    """The sizes that drive memory and FLOPs (0 where the model has no such part)."""
    kw = job.settings.model.build_kwargs()
    return {k: int(kw.get(k, 0) or 0) for k in ("enc_hidden", "dec_hidden", "z_dim", "n_mixtures",
                                                 "conv_channels")}


def activation_floats_per_point(s: dict[str, int]) -> int:
    """Floats kept for the backward pass per sketch and time step: an LSTM keeps ~11 x hidden
    (4 gate pre-activations, 4 activations, c, tanh(c), h); the encoder has two directions; the
    mixture head's 6M + 3 outputs pass through ~10 elementwise ops in the loss (Eq. 9)."""
    head = 6 * s["n_mixtures"] + 3 if s["dec_hidden"] else 0
    return (11 * s["dec_hidden"] + 22 * s["enc_hidden"] + 10 * head + 5 + s["z_dim"]
            + 2 * s["conv_channels"])


def flops_per_point(s: dict[str, int]) -> float:
    """Useful training FLOPs per sketch and time step (forward 2 per multiply-add, backward twice
    the forward): the LSTMs' gate matmuls and the mixture head."""
    dec, enc = s["dec_hidden"], s["enc_hidden"]
    enc_in = s["conv_channels"] or 7  # the classifier's conv front end, else the point features
    forward = 2 * (4 * dec * (dec + 5 + s["z_dim"]) + 2 * 4 * enc * (enc + enc_in)
                   + dec * (6 * s["n_mixtures"] + 3))
    return 3.0 * forward


def parameter_count(job: JobSpec) -> int:
    """The model's exact parameter count, built on torch's meta device (no memory, no compute)."""
    import torch

    from sketchrnn.registry import build_model
    from sketchrnn.train.tasks import task_for

    with torch.device("meta"):
        model = build_model(job.settings.model.name, **task_for(job).model_kwargs())
    return sum(p.numel() for p in model.parameters())


def job_load(job: JobSpec, figures: GpuFigures = FIGURES) -> JobLoad:
    shapes = model_shapes(job)
    batch, t_max = job.data.batch_size, job.data.max_seq_len + 1
    params = parameter_count(job)
    weights = params * 4 * 4  # fp32 weights, gradients, Adam's m and v
    activations = batch * t_max * activation_floats_per_point(shapes) * 4 * figures.gpu_activation_factor
    memory = figures.cuda_context_gib + (weights + activations) / 2**30
    step_flops = batch * figures.typical_fill * t_max * flops_per_point(shapes)
    share = step_flops / (figures.latency_bound_step_s * figures.full_gpu_flops)
    label = f"{job.settings.model.name} of {params / 1e6:.2f} M parameters, batch {batch}"
    return JobLoad(memory, share, label)


def choose_packing(jobs: Sequence[JobSpec], cluster_gpus: float, gpu_memory_gib: float | None,
                   figures: GpuFigures = FIGURES) -> Packing:
    """Jobs per GPU and the GPU fraction each worker asks Ray for, with the reason in words."""
    memory = gpu_memory_gib or figures.default_gpu_memory_gib
    loads = [job_load(j, figures) for j in jobs]
    biggest = max(loads, key=lambda load: (load.memory_gib, load.compute_share))
    busiest = max(loads, key=lambda load: load.compute_share)
    by_memory = int(memory * figures.usable_memory // biggest.memory_gib)
    by_compute = int(1 // busiest.compute_share) if busiest.compute_share > 0 else MAX_JOBS_PER_GPU
    by_spread = math.ceil(len(jobs) / max(int(cluster_gpus), 1))
    limits = {"memory": by_memory, "compute": by_compute, "the job count": by_spread,
              "the cap": MAX_JOBS_PER_GPU}
    limit = min(limits, key=lambda name: limits[name])  # the first of equal limits names it
    k = max(1, limits[limit])
    known = "" if gpu_memory_gib else " (assumed)"
    compute = (f"~{100 * busiest.compute_share:.0f}% of its compute" if busiest.compute_share <= 1
               else "more than its whole compute")
    reason = (f"{k} job{'s' if k > 1 else ''} per GPU: each ~{biggest.memory_gib:.1f} GiB of "
              f"{memory:.0f} GiB{known} and {compute} ({busiest.label}); limited by {limit}")
    at_once = k * max(int(cluster_gpus), 1)
    if at_once < len(jobs):
        reason += f"; {at_once} of {len(jobs)} jobs at a time, the others wait for a GPU share"
    return Packing(k, math.floor(10_000 / k) / 10_000, reason)


def local_gpu_memory_gib() -> float | None:
    """The first GPU's memory as this machine's nvidia-smi reports it (no CUDA context is made);
    None without one."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=10, check=True).stdout
        return float(out.split()[0]) / 1024  # MiB
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None
