"""bench_gpu's sections: env, train, smoke, sampling, ddp, compile (each returns its results)."""

from __future__ import annotations

import argparse
import contextlib
import copy
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import numpy as np  # noqa: E402

import _common as C  # noqa: E402
from _gpu_harness import Data, Run, _err, _free_port, build, make_step, set_tf32, sync, time_steps  # noqa: E402


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

    from sketchrnn.config_sources import load_config
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


def section_compile(st: dict[str, Any], run: Run, data: Data, backend: str = "inductor") -> dict[str, Any]:
    import torch

    from sketchrnn.losses import reconstruction as loss_mod  # the loss imports its term at call time

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
                loss_mod.reconstruction_loss = torch.compile(original, dynamic=True, backend=backend)
            else:
                forward = torch.compile(model, dynamic=True, backend=backend)
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
