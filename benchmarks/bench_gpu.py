"""GPU benchmark, made to run once on a CUDA machine (e.g. one H200) in about four minutes.

    PYTHONPATH=. python3 benchmarks/bench_gpu.py --out benchmarks/results/gpu.json \
        [--data-dir DIR_WITH_NPZ] [--budget-s 240]
    python benchmarks/bench_gpu.py --dry-run     # CPU, tiny sizes, a few steps: tests this script

Needs torch and numpy only: the model, loss and sampling modules of sketchrnn import nothing else.
The smoke test uses the real training loop (``sketchrnn.train.loop.fit_job``) when the machine can
import it (pydantic, sketchrnn installed for its entry points); otherwise a replica of its step
(same model, loss, Adam, lr decay, clip 1.0) and the JSON says which ran and why.

Data: ``--data-dir`` with sketch-rnn npz files (e.g. the four real ones copied into the repo), or
synthetic sketches whose lengths follow the real QuickDraw histogram embedded in ``_common.py``.

Sections (each guarded: an error is recorded and the next section runs; the JSON is rewritten
after every section; a section is skipped once ``--budget-s`` is spent):

    env       versions, GPU, fp32 / tf32 / bf16 GEMM throughput
    train     paper size, batch 100 and 1000: fp32 (cuDNN LSTM, TF32 off), fp32 padded to 200,
              fp32 without per-step host syncs, TF32, bf16 autocast; real points/s, steps/s, ms/step
    smoke     a few hundred steps of the real loop (small preset): the loss must fall
    sampling  batched sampling at n = 1, 10, 100, 1000, 10000 (fixed length), time(100)/time(1)
    ddp       DDP step time with world size 1 and with every GPU (1 GPU: world size 1 only)
    compile   torch.compile of the loss, then of the whole forward, where time is left
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import socket
import sys
import tempfile
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
    return dict(device="cuda", dry=False, sizes=C.paper_kwargs(),
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
        opt.zero_grad(set_to_none=True)
        terms["loss"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
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
# Sections
# --------------------------------------------------------------------------------------------

def section_env(st: dict[str, Any], run: Run) -> dict[str, Any]:
    import torch

    out: dict[str, Any] = {"machine": C.machine_info(), "settings": {k: v for k, v in st.items()}}
    gemms = []
    for dtype_name, tf32 in (("fp32", False), ("tf32", True), ("bf16", False)):
        set_tf32(tf32)
        dtype = torch.bfloat16 if dtype_name == "bf16" else torch.float32
        for m, k, n in st["gemm"]:
            r = C.gemm_gflops(m, k, n, seconds=0.5 if not st["dry"] else 0.1, device=st["device"], dtype=dtype)
            gemms.append({"dtype": dtype_name, **r})
    set_tf32(False)
    out["gemm"] = gemms
    run.log(C.table([{"dtype": g["dtype"], "shape": g["shape"], "best TFLOP/s": g["best_gflops"] / 1e3}
                     for g in gemms], title="GEMM throughput"))
    return out


TRAIN_VARIANTS = {
    # name: (tf32, autocast, metrics_sync, lengths_on_cpu, pad_to_nmax, patch)
    "fp32": (False, None, True, False, False, None),
    "fp32_pad200": (False, None, True, False, True, None),
    "fp32_nosync": (False, None, False, True, False, None),
    "fp32_enc_unpacked": (False, None, True, False, False, "encoder_unpacked"),
    "tf32": (True, None, True, False, False, None),
    "bf16_autocast": (True, "bf16", True, False, False, None),
}


def section_train(st: dict[str, Any], run: Run, data: Data) -> dict[str, Any]:
    import torch

    flops = C.model_flops(**st["sizes"])
    out: dict[str, Any] = {"flops": flops, "flop_formula": C.FLOP_FORMULA, "data": data.info, "runs": []}
    fp32_peak = max((g["best_gflops"] for g in run.result.get("env", {}).get("gemm", []) if g["dtype"] == "fp32"),
                    default=None)
    rows = []
    for bs in st["batch_sizes"]:
        n_batches = max(8, st["warmup"] + st["steps"])
        batches = data.batches(bs, n_batches)
        padded = None
        first_losses: dict[str, float] = {}
        for name, (tf32, ac, msync, lcpu, pad, patch) in TRAIN_VARIANTS.items():
            if run.left() < 15:
                out["runs"].append({"variant": name, "batch_size": bs, "skipped": "budget"})
                continue
            try:
                set_tf32(tf32)
                model, loss_fn, opt = build(st["sizes"], st["device"], st["n_max"])
                if patch == "encoder_unpacked":
                    C.patch_encoder_unpacked(model)
                if pad:
                    padded = padded or [(C_repad(x, st["n_max"] + 1), lengths) for x, lengths in batches]
                use = padded if pad else batches
                step = make_step(model, loss_fn, opt, st["device"],
                                 autocast=torch.bfloat16 if ac == "bf16" else None,
                                 metrics_sync=msync, lengths_on_cpu=lcpu)
                first_losses[name] = float(step(use[0], 0))  # same init + batch for every variant
                res = time_steps(step, use, st["warmup"], st["steps"], st["device"])
                useful = C.train_flops(flops, res["points"], res["sketches"])
                res["useful_tflops"] = useful / res["s"] / 1e12
                if fp32_peak:
                    res["pct_of_fp32_gemm"] = 100 * useful / res["s"] / 1e9 / fp32_peak
                res.update(variant=name, batch_size=bs, first_step_loss=first_losses[name],
                           first_loss_diff_vs_fp32=(first_losses[name] - first_losses["fp32"])
                           if "fp32" in first_losses else None)
                out["runs"].append(res)
                rows.append(res)
                run.log(f"  train {name:14s} B={bs:5d}: {res['ms_per_step']:8.2f} ms/step "
                        f"{res['real_points_per_s']:12,.0f} points/s")
                del model, opt
            except Exception as exc:  # noqa: BLE001 - record and go on
                out["runs"].append({"variant": name, "batch_size": bs, "error": _err(exc)})
                run.log(f"  train {name} B={bs}: FAILED {exc!r}")
            finally:
                set_tf32(False)
                run.save_partial("train", out)
    run.log(C.table(rows, ["variant", "batch_size", "ms_per_step", "steps_per_s", "real_points_per_s",
                           "useful_tflops", "mean_T", "peak_mem_gib", "first_loss_diff_vs_fp32"],
                    title="GPU training throughput (real points only)"))
    return out


def C_repad(x, t_total: int):
    import torch

    if x.shape[1] >= t_total:
        return x
    pad = x.new_zeros(x.shape[0], t_total - x.shape[1], 5)
    pad[..., 4] = 1.0
    y = torch.cat([x, pad], 1)
    return y.pin_memory() if torch.cuda.is_available() else y


def section_smoke(st: dict[str, Any], run: Run, data: Data, args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"steps": st["smoke_steps"]}
    try:
        out.update(_smoke_real_loop(st, run, data, args))
        out["path"] = "sketchrnn.train.loop.fit_job"
    except Exception as exc:  # noqa: BLE001
        out["real_loop_error"] = _err(exc)
        run.log(f"  real loop unavailable ({type(exc).__name__}: {str(exc)[:200]}); running the step replica")
        out.update(_smoke_replica(st, run, data))
        out["path"] = "replica of fit_job's step (model, loss, Adam, lr decay, clip 1.0)"
    losses = out.get("losses", [])
    if len(losses) >= 20:
        k = max(5, len(losses) // 10)
        first, last = float(np.mean(losses[:k])), float(np.mean(losses[-k:]))
        out.update(first_mean=first, last_mean=last, loss_falls=bool(last < first - 0.1))
    run.log(f"  smoke ({out['path']}): loss {out.get('first_mean')} -> {out.get('last_mean')}, "
            f"falls: {out.get('loss_falls')}, {out.get('steps_per_s', 0):.1f} steps/s")
    return out


def _smoke_real_loop(st, run, data: Data, args) -> dict[str, Any]:
    import torch

    import pydantic  # noqa: F401 - fail fast where the loop cannot be imported

    from sketchrnn.config import load_config
    from sketchrnn.registry import get_registry
    from sketchrnn.train.job import make_jobs
    from sketchrnn.train.loop import Hooks, fit_job

    tmp = Path(tempfile.mkdtemp(prefix="bench_gpu_smoke_"))
    if data.files:
        data_dir, category = data.files[0].parent, data.files[0].stem
    else:
        data_dir, category = tmp / "data", "pig"
        data_dir.mkdir()
        data.write_npz(data_dir, category)
    get_registry().resolve_category(category)  # raises where sketchrnn is not installed
    preset = "tiny" if st["dry"] else "small"
    n = st["smoke_steps"]
    cfg = load_config(overrides=[
        f"data.data_dir={data_dir}", "data.download=false", f"data.batch_size={st['smoke_batch']}",
        f"draw.model.preset={preset}", f"draw.train.steps={n}", f"draw.train.device={st['device']}",
        f"draw.train.eval_every={max(n // 2, 1)}", f"draw.train.checkpoint_every={n}",
    ])
    job = make_jobs(cfg, [category], only="draw")[0]
    rows: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    final = fit_job(job, tmp / "runs" / job.name, device=torch.device(st["device"]),
                    hooks=Hooks(report=rows.append, should_stop=lambda: run.left() < 0), resume=False)
    dt = time.perf_counter() - t0
    train = [r for r in rows if r.get("split") == "train"]
    return {"losses": [float(r["loss"]) for r in train], "steps_per_s": len(train) / dt,
            "category": category, "preset": preset, "final": {k: v for k, v in final.items() if k != "train"}}


def _smoke_replica(st, run, data: Data) -> dict[str, Any]:
    model, loss_fn, opt = build(st["smoke_sizes"], st["device"], st["n_max"], seed=0)
    step = make_step(model, loss_fn, opt, st["device"])
    it = C.SimpleBatches(data.train, st["smoke_batch"], seed=1, bucket=True)
    losses = []
    t0 = time.perf_counter()
    for i in range(st["smoke_steps"]):
        if run.left() < 0:
            break
        lr = (1e-3 - 1e-5) * 0.9999**i + 1e-5  # the loop's decay
        for g in opt.param_groups:
            g["lr"] = lr
        losses.append(float(step(next(it), i)))
    dt = time.perf_counter() - t0
    return {"losses": losses, "steps_per_s": len(losses) / dt, "sizes": st["smoke_sizes"]}


def section_sampling(st: dict[str, Any], run: Run) -> dict[str, Any]:
    import torch

    from sketchrnn import sampling

    set_tf32(False)
    model, _, _ = build(st["sizes"], st["device"], st["n_max"])
    model.eval()
    with torch.no_grad():  # never end: every sketch runs sample_len steps, so n is the only variable
        model.decoder.output.bias[2] = -1e4
    L = st["sample_len"]
    rows = []
    patched = copy.deepcopy(model)
    C.patch_decoder_step_cell(patched)  # proposed: decoder step through torch.lstm_cell
    for m in (model, patched):
        sampling.sample(m, 2, max_len=4, seed=0, device=st["device"])  # warm-up
    for n, variant in [(n, v) for n in st["sample_ns"] for v in ("library", "lstm_cell step")]:
        if variant != "library" and n not in (1, 100, st["sample_ns"][-1]):
            continue
        model_v = model if variant == "library" else patched
        if run.left() < 10:
            rows.append({"n": n, "variant": variant, "skipped": "budget"})
            continue
        try:
            reps = 3 if n <= 100 else 1
            times = []
            for r in range(reps):
                sync(st["device"])
                t0 = time.perf_counter()
                sk = sampling.sample(model_v, n, max_len=L, temperature=0.65, seed=r, device=st["device"])
                sync(st["device"])
                times.append(time.perf_counter() - t0)
            t = float(np.median(times))
            points = sum(len(s) for s in sk)
            noise_s = None
            with contextlib.suppress(Exception):  # a private helper: may change
                t0 = time.perf_counter()
                sampling._draw_noise(n, L, model.z_dim, torch.Generator().manual_seed(0))
                noise_s = time.perf_counter() - t0
            rows.append({"variant": variant, "n": n, "max_len": L, "s": t, "points": points,
                         "points_per_s": points / t, "ms_per_decode_step": 1e3 * t / L, "noise_s": noise_s})
            run.log(f"  sample {variant:14s} n={n:6d}: {t:.3f} s, {points / t:12,.0f} points/s "
                    f"(noise draw {noise_s} s)")
        except Exception as exc:  # noqa: BLE001
            rows.append({"variant": variant, "n": n, "error": _err(exc)})
            run.log(f"  sample {variant} n={n}: FAILED {exc!r}")
    ratio = {}
    for variant in ("library", "lstm_cell step"):
        by_n = {r["n"]: r for r in rows if "s" in r and r["variant"] == variant}
        ratio[variant] = by_n[100]["s"] / by_n[1]["s"] if 1 in by_n and 100 in by_n else None
    run.log(C.table([r for r in rows if "s" in r], ["variant", "n", "s", "points_per_s", "ms_per_decode_step",
                                                     "noise_s"],
                    title=f"sampling (fixed length {L}); time(100)/time(1) = {ratio}"))
    return {"fixed_length": L, "rows": rows, "time100_over_time1": ratio,
            "note": "end token disabled (output bias), so every sketch is sample_len points"}


def _ddp_worker(rank: int, world: int, port: int, st: dict[str, Any], batches, q) -> None:
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    dev = st["device"]
    backend = "nccl" if dev == "cuda" else "gloo"
    if dev == "cuda":
        torch.cuda.set_device(rank)
        dev = f"cuda:{rank}"
    dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        set_tf32(False)
        model, loss_fn, opt = build(st["sizes"], dev, st["n_max"])
        net = DDP(model, device_ids=[rank] if dev.startswith("cuda") else None)
        step = make_step(model, loss_fn, opt, dev, forward=net)
        mine = batches[rank::world] or batches
        res = time_steps(step, mine, 2, st["ddp_steps"], dev)
        # the gradient allreduce alone: one flat fp32 buffer of all parameters
        flat = torch.zeros(sum(p.numel() for p in model.parameters()), device=dev)
        for _ in range(3):
            dist.all_reduce(flat)
        sync(dev)
        t0 = time.perf_counter()
        for _ in range(10):
            dist.all_reduce(flat)
        sync(dev)
        res["allreduce_ms"] = 1e3 * (time.perf_counter() - t0) / 10
        res["grad_mb"] = flat.numel() * 4 / 1e6
        if rank == 0:
            q.put(res)
    finally:
        dist.destroy_process_group()


def section_ddp(st: dict[str, Any], run: Run, data: Data) -> dict[str, Any]:
    import torch
    import torch.multiprocessing as mp

    n_dev = torch.cuda.device_count() if st["device"] == "cuda" else 2
    worlds = sorted({1, n_dev})
    batches = [(x.clone(), lengths.clone()) for x, lengths in data.batches(st["batch_sizes"][0], 16)]  # unpinned
    rows = []
    for world in worlds:
        if run.left() < 20:
            rows.append({"world_size": world, "skipped": "budget"})
            continue
        try:
            port = _free_port()
            if world == 1:  # in this process: no spawn cost, same code path
                import queue

                q: Any = queue.Queue()
                _ddp_worker(0, 1, port, st, batches, q)
            else:
                ctx = mp.get_context("spawn")
                q = ctx.SimpleQueue()
                mp.start_processes(_ddp_worker, args=(world, port, st, batches, q), nprocs=world,
                                   join=True, start_method="spawn")
            res = q.get()
            res["world_size"] = world
            rows.append(res)
            run.log(f"  ddp world {world}: {res['ms_per_step']:.2f} ms/step, allreduce {res['allreduce_ms']:.3f} ms "
                    f"({res['grad_mb']:.1f} MB)")
        except Exception as exc:  # noqa: BLE001
            rows.append({"world_size": world, "error": _err(exc)})
            run.log(f"  ddp world {world}: FAILED {exc!r}")
    note = ("one GPU: world size 1 only (DDP wrapper + allreduce on one rank); multi-GPU scaling is "
            "not measured here" if st["device"] == "cuda" and n_dev == 1 else f"world sizes {worlds}")
    return {"rows": rows, "note": note, "per_rank_batch": st["batch_sizes"][0]}


def section_compile(st: dict[str, Any], run: Run, data: Data) -> dict[str, Any]:
    import torch

    from sketchrnn.losses import reconstruction
    from sketchrnn.losses import sketch_rnn as loss_mod

    bs = st["batch_sizes"][0]
    batches = data.batches(bs, max(8, st["warmup"] + st["steps"]))
    out: dict[str, Any] = {"batch_size": bs, "runs": []}
    original = loss_mod.reconstruction_loss
    for name in ("compile_loss", "compile_forward"):
        need = 60 if name == "compile_loss" else 90
        if run.left() < need:
            out["runs"].append({"variant": name, "skipped": f"budget (< {need} s left)"})
            continue
        try:
            set_tf32(True)
            torch._dynamo.reset()
            model, loss_fn, opt = build(st["sizes"], st["device"], st["n_max"])
            forward = None
            if name == "compile_loss":
                loss_mod.reconstruction_loss = torch.compile(reconstruction.reconstruction_loss, dynamic=True)
            else:
                forward = torch.compile(model, dynamic=True)
            step = make_step(model, loss_fn, opt, st["device"], forward=forward)
            t0 = time.perf_counter()
            for i in range(min(len(batches), 6)):  # compile + recompiles for the first shapes
                step(batches[i], i)
            sync(st["device"])
            compile_s = time.perf_counter() - t0
            res = time_steps(step, batches, 0, st["steps"], st["device"])
            res.update(variant=name + "+tf32", batch_size=bs, warmup_and_compile_s=compile_s)
            out["runs"].append(res)
            run.log(f"  {name}: {res['ms_per_step']:.2f} ms/step ({compile_s:.1f} s compile+warm-up)")
        except Exception as exc:  # noqa: BLE001
            out["runs"].append({"variant": name, "error": _err(exc)})
            run.log(f"  {name}: FAILED {exc!r}")
        finally:
            loss_mod.reconstruction_loss = original
            set_tf32(False)
            run.save_partial("compile", out)
    return out


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


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=C.RESULTS / "gpu.json")
    p.add_argument("--data-dir", type=Path, default=None, help="folder with sketch-rnn npz files")
    p.add_argument("--budget-s", type=float, default=None,
                   help="skip remaining sections after this many seconds (default 240; 1200 with --dry-run)")
    p.add_argument("--steps", type=int, default=30, help="timed training steps per variant")
    p.add_argument("--smoke-steps", type=int, default=300)
    p.add_argument("--dry-run", "--quick", dest="dry_run", action="store_true",
                   help="CPU, tiny sizes, a few steps (tests the script)")
    p.add_argument("--sections", default="env,train,smoke,sampling,ddp,compile")
    args = p.parse_args(argv)
    if args.budget_s is None:
        args.budget_s = 1200.0 if args.dry_run else 240.0
    run = Run(args)
    run.log(f"bench_gpu: out={args.out} budget={args.budget_s:.0f}s data_dir={args.data_dir}")
    import torch

    st = settings(args)
    run.result["settings"] = {k: v for k, v in st.items()}
    run.log(f"torch {torch.__version__}, device {st['device']}"
            + (f" ({torch.cuda.get_device_name(0)})" if st["device"] == "cuda" else " (dry run)"))
    if st["device"] == "cpu":
        torch.set_flush_denormal(True)
    data = Data(args, st)
    run.result["data"] = data.info
    run.log(f"data: {data.info}")
    wanted = [s.strip() for s in args.sections.split(",") if s.strip()]
    plan = [
        ("env", lambda: section_env(st, run), 10),
        ("train", lambda: section_train(st, run, data), 30),
        ("smoke", lambda: section_smoke(st, run, data, args), 20),
        ("sampling", lambda: section_sampling(st, run), 15),
        ("ddp", lambda: section_ddp(st, run, data), 20),
        ("compile", lambda: section_compile(st, run, data), 60),
    ]
    for name, fn, min_left in plan:
        if name in wanted:
            run.section(name, fn, min_left=min_left)
    run.result["partial"] = False
    run.save()
    errors = run.result["errors"]
    run.log(f"done in {time.perf_counter() - run.t0:.0f} s; sections failed: {list(errors) or 'none'}; "
            f"skipped: {run.result['skipped'] or 'none'}; wrote {args.out}")


if __name__ == "__main__":
    main()
