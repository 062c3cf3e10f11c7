"""Training throughput on the CPU at paper size, as real points/s and as a share of this machine's
fp32 GEMM peak, with the variants side by side in one run.

    python benchmarks/bench_train.py            # paper size, all variants, profile (~10-15 min)
    python benchmarks/bench_train.py --quick    # small preset, 1 round, a few steps (~1 min)

Variants (each runs in a fresh subprocess, so flush-denormal is set before any thread exists;
variants are interleaved round by round so that load drift hits them alike):

    naive       every batch padded to N_max = 200 points, no flush-denormal (the reference port)
    flush       the same with torch.set_flush_denormal(True) set at process start
    flush_late  the same, flush set only after torch already ran a multi-threaded op
    per_batch   padded to each batch's own longest sketch, random batches (no bucketing), flush
    bucketed    the training loop's batches: length bucketing + per-batch padding + augmentation, flush
    no_dropconnect  bucketed without DropConnect on the recurrent weights (recurrent_dropout 0;
                the others use the model's default 0.1): what the regularisation costs

plus optional experiments (``--experiments``) that patch the library in the worker process only, to
measure proposed changes before anyone edits library code (see docs/benchmarks.md).

One step is what ``sketchrnn.train.loop.fit_job`` does per step (batch, forward, loss, zero_grad,
backward, clip_grad_norm_ 1.0, Adam, float() of every loss term), without eval/checkpoints.
FLOPs are counted on real points only (``_common.FLOP_FORMULA``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common as C  # noqa: E402
from _train_profile import apply_experiment, compiled_loss, profile_steps  # noqa: E402

VARIANTS: dict[str, dict[str, Any]] = {
    "naive": dict(pad_to_nmax=True, flush="off", bucket=False,
                  what="padded to N_max, no flush-denormal"),
    "flush": dict(pad_to_nmax=True, flush="early", bucket=False,
                  what="padded to N_max, flush-denormal at start"),
    "flush_late": dict(pad_to_nmax=True, flush="late", bucket=False,
                       what="padded to N_max, flush set after threads started"),
    "per_batch": dict(pad_to_nmax=False, flush="early", bucket=False,
                      what="own-max padding, random batches, flush"),
    "bucketed": dict(pad_to_nmax=False, flush="early", bucket=True,
                     what="bucketing + own-max padding, flush (the loop)"),
    "no_dropconnect": dict(pad_to_nmax=False, flush="early", bucket=True, recurrent_dropout=0.0,
                           what="bucketed, recurrent_dropout 0 (no DropConnect mask)"),
}
DEFAULT_VARIANTS = ("naive", "flush", "flush_late", "per_batch", "bucketed")

# Experiments: the bucketed variant plus one patch each (see _train_profile.apply_experiment).
EXPERIMENTS: dict[str, str] = {
    "threads1": "bucketed, 1 thread instead of 2",
    "enc_onednn": "bucketed, encoder on the oneDNN LSTM kernel (reverse within lengths) instead of packed",
    "enc_onednn_noflush": "enc_onednn without flush-denormal (what flushing is worth after the encoder change)",
    "loss_compiled": "bucketed, reconstruction loss through torch.compile (inductor C++)",
    "no_clip": "bucketed, without clip_grad_norm_ (shows its cost only; changes results)",
}


# --------------------------------------------------------------------------------------------
# Worker (one variant, one fresh process)
# --------------------------------------------------------------------------------------------

def _worker(args: argparse.Namespace) -> dict[str, Any]:
    import torch  # noqa: E402 - flush must be set before anything starts threads

    name = args.worker
    spec = dict(VARIANTS.get(name, VARIANTS["bucketed"]))
    if name in EXPERIMENTS:
        spec["experiment"] = name
    if name == "enc_onednn_noflush":
        spec["flush"] = "off"
    if name == "threads1":
        torch.set_num_threads(1)
    elif args.threads:
        torch.set_num_threads(args.threads)
    if spec["flush"] == "early":
        torch.set_flush_denormal(True)
    elif spec["flush"] == "late":  # start the OpenMP pool first, as a process that already trained would
        a = torch.randn(512, 512)
        for _ in range(3):
            a = torch.tanh(a @ a)
        torch.set_flush_denormal(True)
    else:
        torch.set_flush_denormal(False)

    load0 = C.loadavg()
    stream, info = _batches(args, bucket=spec["bucket"])
    pad = args.n_max if spec["pad_to_nmax"] else None

    from sketchrnn.losses.sketch_rnn import SketchRNNLoss
    from sketchrnn.model.sketch_rnn import SketchRNN

    sizes = C.preset_sizes(args.preset)
    torch.manual_seed(0)
    options = {"recurrent_dropout": spec["recurrent_dropout"]} if "recurrent_dropout" in spec else {}
    model = SketchRNN(**sizes, cell=args.cell, **options)
    model.train()
    loss_fn = SketchRNNLoss(n_max=args.n_max)
    clip = not spec.get("experiment") == "no_clip"
    if spec.get("experiment"):
        apply_experiment(spec["experiment"], model)
    if spec.get("experiment") == "loss_compiled":
        loss_fn = compiled_loss(args.n_max)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    gemm_before = C.gemm_peak(seconds=args.gemm_s)
    step_fn = _make_step(model, loss_fn, opt, pad, clip=clip)
    for i in range(args.warmup):
        step_fn(stream, i)
    rows = []
    c_total0 = time.process_time()
    for i in range(args.steps):
        rows.append(step_fn(stream, args.warmup + i))  # times next(stream) as the data phase
    cpu_total = time.process_time() - c_total0
    gemm_after = C.gemm_peak(seconds=args.gemm_s)

    profile = None
    if args.profile_steps:  # the driver asks for it (bucketed and enc_onednn, last round)
        profile = profile_steps(model, step_fn, stream, args.profile_steps, args.warmup + args.steps)
    return {
        "variant": name, "spec": spec, "sizes": sizes, "cell": args.cell, "threads": torch.get_num_threads(),
        "batch_size": args.batch_size, "n_max": args.n_max, "data": info,
        "params": C.parameter_count(model), "rows": rows, "cpu_s": cpu_total,
        "gemm_before": gemm_before, "gemm_after": gemm_after,
        "loadavg_before": load0, "loadavg_after": C.loadavg(), "profile": profile,
    }


def _batches(args: argparse.Namespace, *, bucket: bool):
    """Endless training batches ``(x, lengths)`` from the real npz files through the library's
    pipeline (load_npz -> prepare -> batch_stream with the loop's augmentation)."""
    import numpy as np

    files = C.find_npz(args.data_dir, tuple(args.categories))
    if not files:
        raise SystemExit(f"no npz files for {args.categories} in {args.data_dir}; pass --data-dir")
    from sketchrnn.data.batching import Augment, batch_stream
    from sketchrnn.data.npz import load_npz
    from sketchrnn.data.preprocess import prepare

    data = prepare({p.stem: load_npz(p) for p in files}, max_seq_len=args.n_max)
    train = data.train
    lengths = train.lengths
    stream = batch_stream(train, args.batch_size, rng=np.random.default_rng(0), shuffle=True,
                          bucket=bucket, drop_last=True, augment=Augment(scale=0.15, drop=0.1))
    info = {"files": [p.name for p in files], "train_sketches": len(train),
            "mean_length": float(lengths.mean()), "max_length": int(lengths.max())}
    return ((b.x, b.lengths) for b in stream), info


def _repad(x, t_total: int):
    """Pad ``x [B, T, 5]`` with end tokens to ``[B, t_total, 5]`` (the reference port's layout)."""
    import torch

    if x.shape[1] >= t_total:
        return x
    pad = x.new_zeros(x.shape[0], t_total - x.shape[1], 5)
    pad[..., 4] = 1.0
    return torch.cat([x, pad], 1)


def _make_step(model, loss_fn, opt, pad: int | None, *, clip: bool = True):
    """One training step as fit_job does it, timed per phase."""
    import torch

    perf, cpu = time.perf_counter, time.process_time

    def step(batch, i: int) -> dict[str, float]:
        t0, c0 = perf(), cpu()
        x, lengths = batch
        if pad is not None:
            x = _repad(x, pad + 1)
        t1 = perf()
        out = model(x, lengths)
        t2 = perf()
        terms = loss_fn(out, x, lengths, i)
        t3 = perf()
        opt.zero_grad(set_to_none=True)
        terms["loss"].backward()
        t4 = perf()
        if clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        t5 = perf()
        metrics = {k: float(v) for k, v in terms.items()}
        t6 = perf()
        return {"data": t1 - t0, "forward": t2 - t1, "loss": t3 - t2, "backward": t4 - t3,
                "optimizer": t5 - t4, "metrics": t6 - t5, "total": t6 - t0, "cpu": cpu() - c0,
                "points": int(lengths.sum()), "sketches": int(lengths.shape[0]), "T": int(x.shape[1]),
                "loss_value": metrics["loss"]}

    return _with_data_timing(step)


def _with_data_timing(step):
    """Wrap ``step`` so that ``fn(stream, i)`` times ``next(stream)`` as part of the data phase."""

    def fn(batch_or_stream, i):
        if hasattr(batch_or_stream, "__next__"):
            t0 = time.perf_counter()
            batch = next(batch_or_stream)
            dt = time.perf_counter() - t0
        else:
            batch, dt = batch_or_stream, 0.0
        row = step(batch, i)
        row["data"] += dt
        row["total"] += dt
        return row

    return fn


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------

def _spawn(args: argparse.Namespace, variant: str, profile: bool) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", variant, "--steps", str(args.steps), "--warmup",
           str(args.warmup), "--batch-size", str(args.batch_size), "--n-max", str(args.n_max),
           "--preset", args.preset, "--cell", args.cell, "--data-dir", str(args.data_dir),
           "--gemm-s", str(args.gemm_s), "--profile-steps", str(args.profile_steps if profile else 0),
           "--categories", *args.categories]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=C.ROOT,
                          timeout=args.worker_timeout)
    wall = time.perf_counter() - t0
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            res = json.loads(line[len("RESULT "):])
            res["process_wall_s"] = wall
            return res
    err = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
    return {"variant": variant, "error": f"exit {proc.returncode}: " + " | ".join(err)}


def _summarise(results: list[dict[str, Any]], flops: dict[str, int]) -> list[dict[str, Any]]:
    by_variant: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        by_variant.setdefault(r["variant"], []).append(r)
    out = []
    for name, runs in by_variant.items():
        ok = [r for r in runs if "error" not in r]
        if not ok:
            out.append({"variant": name, "error": runs[0]["error"]})
            continue
        rows = [row for r in ok for row in r["rows"]]
        total = sum(row["total"] for row in rows)
        points = sum(row["points"] for row in rows)
        sketches = sum(row["sketches"] for row in rows)
        useful = C.train_flops(flops, points, sketches)
        padded_points = sum(row["sketches"] * row["T"] for row in rows)
        peak = max(max(r["gemm_before"]["peak_gflops"], r["gemm_after"]["peak_gflops"]) for r in ok)
        gflops = useful / total / 1e9
        per_round = []
        for r in ok:
            t = sum(row["total"] for row in r["rows"])
            per_round.append(sum(row["points"] for row in r["rows"]) / t)
        phase = {k: sum(row[k] for row in rows) / total for k in
                 ("data", "forward", "loss", "backward", "optimizer", "metrics")}
        out.append({
            "variant": name, "what": ok[0]["spec"].get("what") or EXPERIMENTS.get(name, ""),
            "steps": len(rows), "s_per_step": total / len(rows),
            "real_points_per_s": points / total, "points_per_s_rounds": per_round,
            "mean_T": sum(row["T"] for row in rows) / len(rows),
            "padding_share": 1 - points / padded_points,
            "useful_gflops": gflops, "peak_gflops": peak, "pct_of_peak": 100 * gflops / peak,
            "data_share": phase["data"], "phase_share": phase,
            "cpu_util": sum(r["cpu_s"] for r in ok) / total,
            "threads": ok[0]["threads"], "loadavg": [r["loadavg_before"] for r in ok],
        })
    base = next((s for s in out if s["variant"] == "naive" and "error" not in s), None)
    for s in out:
        if base and "error" not in s:
            s["speedup_vs_naive"] = s["real_points_per_s"] / base["real_points_per_s"]
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small preset, batch 32, 1 round, 2 steps")
    p.add_argument("--preset", choices=["tiny", "small", "paper"], default=None)
    p.add_argument("--cell", choices=["lstm", "layer_norm"], default="lstm")
    p.add_argument("--steps", type=int, default=None, help="timed steps per variant per round")
    p.add_argument("--warmup", type=int, default=None, help="untimed steps first")
    p.add_argument("--rounds", type=int, default=None, help="variant interleavings")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--n-max", type=int, default=200)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--variants", default=",".join(DEFAULT_VARIANTS))
    p.add_argument("--experiments", default="", help=f"comma list of: {', '.join(EXPERIMENTS)}; or 'all'")
    p.add_argument("--data-dir", type=Path, default=C.DEFAULT_DATA_DIR)
    p.add_argument("--categories", nargs="+", default=list(C.REAL_CATEGORIES))
    p.add_argument("--profile-steps", type=int, default=None)
    p.add_argument("--no-profile", dest="profile", action="store_false")
    p.add_argument("--gemm-s", type=float, default=1.0, help="seconds per GEMM peak measurement")
    p.add_argument("--worker-timeout", type=float, default=3600)
    p.add_argument("--out", type=Path, default=C.RESULTS / "train_cpu.json")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    quick = args.quick
    args.preset = args.preset or ("small" if quick else "paper")
    args.batch_size = args.batch_size or (32 if quick else 100)
    args.steps = args.steps or (2 if quick else 4)
    args.warmup = args.warmup if args.warmup is not None else (1 if quick else 2)
    args.rounds = args.rounds or (1 if quick else 2)
    args.profile_steps = args.profile_steps if args.profile_steps is not None else (1 if quick else 3)
    if quick:
        args.gemm_s = min(args.gemm_s, 0.3)

    if args.worker:
        res = _worker(args)
        print("RESULT " + json.dumps(res, default=C._json_default), flush=True)
        return

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    variants = [v for v in args.variants.split(",") if v]
    experiments = list(EXPERIMENTS) if args.experiments == "all" else [e for e in args.experiments.split(",") if e]
    unknown = [v for v in variants + experiments if v not in VARIANTS and v not in EXPERIMENTS]
    if unknown:
        p.error(f"unknown variant(s) {unknown}; known: {', '.join([*VARIANTS, *EXPERIMENTS])}")
    info = C.machine_info()
    C.log(f"bench_train: preset={args.preset} batch={args.batch_size} N_max={args.n_max} "
          f"steps={args.steps}+{args.warmup} warm-up x {args.rounds} rounds; load {info['loadavg_1_5_15']}")
    peak0 = C.gemm_peak(seconds=max(args.gemm_s, 0.5), context=True)
    C.log(C.table([{"shape": s["shape"], "best GFLOP/s": s["best_gflops"], "median": s["median_gflops"]}
                   for s in peak0["shapes"]], title="fp32 GEMM (driver process, before)"))
    sizes = C.preset_sizes(args.preset)
    flops = C.model_flops(**sizes)
    C.log(f"FLOPs: {C.FLOP_FORMULA}\n  per real point: forward {flops['forward_per_point']:,} "
          f"(encoder {flops['encoder_per_point']:,}, decoder {flops['decoder_per_point']:,}, "
          f"output {flops['output_per_point']:,}); training x3 = {flops['train_per_point']:,}")

    results: list[dict[str, Any]] = []
    order = variants + experiments
    for rnd in range(args.rounds):
        for v in order:
            profile = args.profile and v in ("bucketed", "enc_onednn") and rnd == args.rounds - 1
            C.log(f"  round {rnd + 1}/{args.rounds}: {v} ...")
            res = _spawn(args, v, profile)
            results.append(res)
            if "error" in res:
                C.log(f"    FAILED: {res['error']}")
            else:
                rows = res["rows"]
                t = sum(r["total"] for r in rows)
                C.log(f"    {t / len(rows):.3f} s/step, {sum(r['points'] for r in rows) / t:,.0f} real points/s, "
                      f"peak {res['gemm_before']['peak_gflops']:.0f}/{res['gemm_after']['peak_gflops']:.0f} "
                      f"GFLOP/s, load {res['loadavg_before']}")
            C.write_json(args.out, {"partial": True, "machine": info, "results": results})
    peak1 = C.gemm_peak(seconds=max(args.gemm_s, 0.5))
    summary = _summarise(results, flops)
    cols = ["variant", "s_per_step", "real_points_per_s", "useful_gflops", "pct_of_peak",
            "speedup_vs_naive", "mean_T", "padding_share", "data_share", "cpu_util"]
    C.log("")
    C.log(C.table(summary, cols, title=f"Training throughput, {args.preset} preset, batch {args.batch_size}, "
                                        f"{torch.get_num_threads()} threads (real points only)"))
    C.log("\nphase shares of step time (data = next(batch) + padding):")
    C.log(C.table([{"variant": s["variant"], **{k: v for k, v in s.get("phase_share", {}).items()}}
                   for s in summary if "error" not in s]))
    profiles = {r["variant"]: r["profile"] for r in results if r.get("profile")}
    for pname, prof in profiles.items():
        C.log(f"\nprofile of {pname} ({prof['steps']} steps under torch.profiler; profiler overhead included):")
        C.log(C.table([{"region": k, "s_per_step": v} for k, v in prof["labelled_s_per_step"].items()]
                      + [{"region": f"phase:{k}", "s_per_step": v} for k, v in prof["phases_s_per_step"].items()]))
        C.log(C.table(prof["top_self_ops"][:15], title="top ops by self CPU time"))
        C.log(C.table(prof["top_backward_nodes"], title="backward nodes (incl. children)"))
    out = {"partial": False, "machine": info, "loadavg_end": C.loadavg(), "args": vars(args) | {"out": str(args.out), "data_dir": str(args.data_dir)},
           "flops": flops, "flop_formula": C.FLOP_FORMULA, "gemm_driver_before": peak0,
           "gemm_driver_after": peak1, "summary": summary, "profiles": profiles, "results": results}
    C.write_json(args.out, out)
    C.log(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
