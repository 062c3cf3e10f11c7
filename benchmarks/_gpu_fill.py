"""bench_gpu's sections on filling a GPU (issue "Fill the GPU"): pack, capture, latency.

    pack      the six-job fit's throughput on one GPU: k = 1, 2, 3, 6 training processes at once
              (what Ray's fractional GPUs give: one process per job), sketches/s summed, and the
              memory each process holds on the device (nvidia-smi: context included)
    capture   paper size, batch 100: step time eager vs captured (torch.compile reduce-overhead,
              batches padded to the library's bucket lengths), fp32 vs TF32, and the validation
              loss after N steps of each (same init, same batches)
    latency   `sample -n 1` of 200 points and serve's "finish it" (predictor.complete), eager vs
              the decode step captured, on the GPU and on the CPU
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import numpy as np  # noqa: E402

import _common as C  # noqa: E402
from _gpu_harness import Data, Run, _err, build, make_step, set_tf32, sync, time_steps  # noqa: E402
from _gpu_sections import C_repad  # noqa: E402


def fill_settings(st: dict[str, Any], args: Any) -> dict[str, Any]:
    """Sizes of these sections: tiny and short in a dry run, the issue's on a GPU."""
    if st["dry"]:
        return dict(pack_ks=args.pack_jobs or [1, 2], pack_steps=3, val_steps=args.val_steps or 6, capture_batch=8,
                    latency_points=args.latency_points or 20, latency_reps=2, latency_sizes=C.preset_sizes(args.latency_preset))
    return dict(pack_ks=args.pack_jobs or [1, 2, 3, 6], pack_steps=100, val_steps=args.val_steps or 2000,
                capture_batch=100, latency_points=args.latency_points or 200, latency_reps=5,
                latency_sizes=C.preset_sizes(args.latency_preset))


# --------------------------------------------------------------------------------------------
# pack
# --------------------------------------------------------------------------------------------

def _pack_worker(rank: int, st: dict[str, Any], fs: dict[str, Any], batches, ready, go, q) -> None:
    import torch

    torch.set_num_threads(1)
    set_tf32(False)
    model, loss_fn, opt = build(st["sizes"], st["device"], st["n_max"], seed=rank)
    step = make_step(model, loss_fn, opt, st["device"])
    for i in range(st["warmup"]):
        step(batches[i % len(batches)], i)
    sync(st["device"])
    ready.put(rank)
    go.wait()
    res = time_steps(step, batches, 0, fs["pack_steps"], st["device"])
    q.put({"rank": rank, **{k: res[k] for k in ("s", "sketches", "sketches_per_s", "ms_per_step")},
           **({"peak_mem_gib": res["peak_mem_gib"]} if "peak_mem_gib" in res else {})})


def _process_memory_gib() -> dict[int, float]:
    """Device memory per process as nvidia-smi sees it (CUDA context and allocator cache included)."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-compute-apps=pid,used_memory",
                              "--format=csv,noheader,nounits"], capture_output=True, text=True,
                             timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    rows = [line.split(",") for line in out.strip().splitlines() if "," in line]
    return {int(pid): float(mib) / 1024 for pid, mib in rows}


def _guarded(run: Run, rows: list[dict[str, Any]], key: dict[str, Any], label: str, fn) -> None:
    """Append ``fn()``'s row to ``rows``, or the error: one failing case must not lose the rest."""
    try:
        rows.append({**key, **fn()})
    except Exception as exc:  # noqa: BLE001
        rows.append({**key, "error": _err(exc)})
        run.log(f"  {label}: FAILED {exc!r}")


def _pack_once(k: int, ctx, st: dict[str, Any], fs: dict[str, Any], batches, run: Run) -> dict[str, Any]:
    """k training processes on one device at once; their throughput summed."""
    ready, q, go = ctx.SimpleQueue(), ctx.SimpleQueue(), ctx.Event()
    procs = [ctx.Process(target=_pack_worker, args=(r, st, fs, batches, ready, go, q)) for r in range(k)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get()
    memory = _process_memory_gib() if st["device"] == "cuda" else {}  # all warmed up, none timing
    go.set()
    per_job = [q.get() for _ in procs]
    for p in procs:
        p.join()
    mine = [memory[p.pid] for p in procs if p.pid in memory]
    row = {"sketches_per_s_sum": sum(r["sketches_per_s"] for r in per_job),
           "ms_per_step_mean": float(np.mean([r["ms_per_step"] for r in per_job])),
           "process_mem_gib_max": max(mine) if mine else None,
           "peak_alloc_gib_max": max((r.get("peak_mem_gib", 0) for r in per_job), default=None),
           "per_job": per_job}
    run.log(f"  pack k={k}: {row['sketches_per_s_sum']:,.0f} sketches/s summed, "
            f"{row['ms_per_step_mean']:.2f} ms/step each, process memory {row['process_mem_gib_max']}")
    return row


def section_pack(st: dict[str, Any], run: Run, data: Data, fs: dict[str, Any]) -> dict[str, Any]:
    import torch.multiprocessing as mp

    ctx = mp.get_context("spawn")
    batches = [(x.clone(), n.clone()) for x, n in data.batches(st["batch_sizes"][0], 16)]  # unpinned
    rows: list[dict[str, Any]] = []
    for k in fs["pack_ks"]:
        if run.left() < 30:
            rows.append({"jobs_per_gpu": k, "skipped": "budget"})
            continue
        _guarded(run, rows, {"jobs_per_gpu": k}, f"pack k={k}",
                 lambda k=k: _pack_once(k, ctx, st, fs, batches, run))
        run.save_partial("pack", {"rows": rows})
    one = next((r["sketches_per_s_sum"] for r in rows if r.get("jobs_per_gpu") == 1 and "error" not in r
                and "skipped" not in r), None)
    for r in rows:
        if one and "sketches_per_s_sum" in r:
            r["speedup_vs_one_job"] = r["sketches_per_s_sum"] / one
    run.log(C.table([r for r in rows if "sketches_per_s_sum" in r],
                    ["jobs_per_gpu", "sketches_per_s_sum", "speedup_vs_one_job", "ms_per_step_mean",
                     "process_mem_gib_max", "peak_alloc_gib_max"],
                    title=f"jobs per GPU (batch {st['batch_sizes'][0]}, fp32, one process per job)"))
    return {"rows": rows, "batch_size": st["batch_sizes"][0], "target": "k=6 >= 3x k=1"}


# --------------------------------------------------------------------------------------------
# capture
# --------------------------------------------------------------------------------------------

def _valid_loss(model, loss_fn, batches, device: str) -> float:
    import torch

    model.eval()
    total = count = 0.0
    with torch.no_grad():
        for x, lengths in batches:
            x = x.to(device)
            terms = loss_fn(model(x, lengths), x, lengths.to(device), 10**6)  # KL weight annealed
            total += float(terms["loss"]) * len(lengths)
            count += len(lengths)
    model.train()
    return total / count


def _reset_dynamo() -> None:
    import torch

    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()


def _dynamo_stats() -> dict[str, Any]:
    """Graphs compiled and graph breaks: a capture that recompiles per batch shows here."""
    import torch

    counters = torch._dynamo.utils.counters
    return {"unique_graphs": counters["stats"].get("unique_graphs", 0),
            "graph_breaks": sum(counters["graph_break"].values()),
            "break_reasons": sorted(counters["graph_break"])[:5]}


def _split(data: Data, bs: int, n_valid_batches: int = 10):
    cut = int(0.9 * len(data.train))
    valid = C.SimpleBatches(data.train[cut:], bs, seed=99, bucket=True)
    n_valid = min(n_valid_batches, max(1, (len(data.train) - cut) // bs))
    return data.train[:cut], [next(valid) for _ in range(n_valid)]


def _capture_variant(name: str, tf32: bool, captured: bool, st: dict[str, Any], use, valid, n: int,
                     backend: str, run: Run) -> dict[str, Any]:
    """N steps of one variant from the same init; timed over the first 200 after warm-up."""
    from sketchrnn.model.capture import Captured, compile_mode

    set_tf32(tf32)
    try:
        model, loss_fn, opt = build(st["sizes"], st["device"], st["n_max"])
        forward = None
        if captured:
            _reset_dynamo()
            forward = Captured(model, compile_mode("on", st["device"]), name, backend=backend)
        step = make_step(model, loss_fn, opt, st["device"], forward=forward)
        t0 = time.perf_counter()
        for i in range(min(len(use), 8)):  # warm-up: compiles every bucket seen early
            step(use[i], i)
        sync(st["device"])
        warm_s = time.perf_counter() - t0
        res = time_steps(step, use, 0, min(n, 200), st["device"])
        for i in range(min(n, 200), n):  # the rest of the N steps, untimed
            step(use[i % len(use)], i)
        res.update(warmup_and_compile_s=warm_s, status=forward.status if forward is not None else "eager",
                   dynamo=_dynamo_stats() if captured else None,
                   valid_loss=_valid_loss(model, loss_fn, valid, st["device"]))
    finally:
        set_tf32(False)
    run.log(f"  capture {name:14s}: {res['ms_per_step']:.2f} ms/step, valid loss after {n} steps "
            f"{res['valid_loss']:.4f} ({res['status']}, warm-up {warm_s:.1f} s)")
    return res


def section_capture(st: dict[str, Any], run: Run, data: Data, fs: dict[str, Any],
                    backend: str) -> dict[str, Any]:
    from sketchrnn.train.runtime import bucket_lengths

    bs, n = fs["capture_batch"], fs["val_steps"]
    train, valid = _split(data, bs)
    stream = C.SimpleBatches(train, bs, seed=0, bucket=True)
    batches = [next(stream) for _ in range(min(n, 400))]  # reused in order, the same for every variant
    buckets = bucket_lengths(st["n_max"])
    bucketed = [(C_repad(x, next(b for b in buckets if b >= x.shape[1])), lengths) for x, lengths in batches]
    out: dict[str, Any] = {"batch_size": bs, "steps": n, "buckets": buckets, "runs": []}
    for name, tf32, captured in [("eager fp32", False, False), ("eager tf32", True, False),
                                 ("captured fp32", False, True), ("captured tf32", True, True)]:
        if run.left() < 30:
            out["runs"].append({"variant": name, "skipped": "budget"})
            continue
        _guarded(run, out["runs"], {"variant": name}, f"capture {name}", lambda: _capture_variant(
            name, tf32, captured, st, bucketed if captured else batches, valid, n, backend, run))
        run.save_partial("capture", out)
    ok = {r["variant"]: r for r in out["runs"] if "valid_loss" in r}
    if "eager fp32" in ok:
        for r in ok.values():
            r["valid_loss_vs_fp32_pct"] = 100 * (r["valid_loss"] / ok["eager fp32"]["valid_loss"] - 1)
    run.log(C.table(list(ok.values()), ["variant", "ms_per_step", "valid_loss", "valid_loss_vs_fp32_pct",
                                        "warmup_and_compile_s", "status"],
                    title=f"paper step, batch {bs}: eager vs captured, fp32 vs TF32"))
    return out


# --------------------------------------------------------------------------------------------
# latency
# --------------------------------------------------------------------------------------------

def _latency(fn, reps: int, device: str) -> dict[str, float]:
    fn()  # warm-up (and capture)
    times = []
    for _ in range(reps):
        sync(device)
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return {"median_s": float(np.median(times)), "min_s": float(min(times))}


def _latency_cases(model, device: str, points: int, reps: int, meta) -> list[dict[str, Any]]:
    from sketchrnn.predict.predictor import complete
    from sketchrnn.sampling import sample

    prime = np.array([[0, 0, 0], [30, 5, 0], [10, 40, 1], [-20, 5, 0], [5, -30, 1]], dtype=np.float32)
    cases = {
        "sample -n 1": lambda: sample(model, 1, max_len=points, seed=0, device=device),
        "serve finish it": lambda: complete(model, meta, prime, seed=0, max_new=points),
    }
    return [{"case": name, **_latency(fn, reps, device)} for name, fn in cases.items()]


def _latency_variant(label: str, device: str, captured: bool, st: dict[str, Any], fs: dict[str, Any],
                     backend: str, run: Run) -> list[dict[str, Any]]:
    import torch

    from sketchrnn.model.capture import capture_decoding

    set_tf32(False)
    torch.manual_seed(0)
    model, _, _ = build(fs["latency_sizes"], device, st["n_max"])
    model.eval()
    with torch.no_grad():  # never end: every sketch is exactly `points` long
        model.decoder.output.bias[2] = -1e4
    # what predictor.complete reads of a checkpoint's meta (a plain object: no pydantic needed)
    meta = SimpleNamespace(scale=30.0, max_seq_len=fs["latency_points"], data=SimpleNamespace(clamp=1000.0))
    capture = capture_decoding(model, "on" if captured else "off", device, backend=backend)
    cases = _latency_cases(model, device, fs["latency_points"], fs["latency_reps"], meta)
    for r in cases:
        r.update(status=capture.status)
        run.log(f"  latency {label:14s} {r['case']:16s}: {1e3 * r['median_s']:.1f} ms ({r['status']})")
    return cases


def section_latency(st: dict[str, Any], run: Run, fs: dict[str, Any], backend: str) -> dict[str, Any]:
    points = fs["latency_points"]
    devices = ["cuda", "cpu"] if st["device"] == "cuda" else ["cpu"]
    rows = []
    for device in devices:
        for captured in (False, True):
            label = f"{device} {'captured' if captured else 'eager'}"
            if run.left() < 20:
                rows.append({"variant": label, "skipped": "budget"})
                continue
            _guarded(run, rows, {"variant": label}, f"latency {label}",
                     lambda: {"cases": _latency_variant(label, device, captured, st, fs, backend, run)})
            run.save_partial("latency", {"rows": rows})
    flat = [{"variant": r["variant"], **c} for r in rows for c in r.get("cases", [])]
    run.log(C.table(flat, ["variant", "case", "median_s", "min_s", "status"],
                    title=f"{points}-point latency, one sketch"))
    return {"rows": flat, "failed": [r for r in rows if "cases" not in r], "points": points,
            "sizes": fs["latency_sizes"], "target": "sample -n 1 <= 0.1 s on GPU"}

