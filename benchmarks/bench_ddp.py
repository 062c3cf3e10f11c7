"""Data-parallel training on the CPU with torch.distributed (gloo): is it worth it on 2 cores?

    python benchmarks/bench_ddp.py            # paper size (~3-5 min)
    python benchmarks/bench_ddp.py --quick    # small preset

Configurations, all on real bucketed QuickDraw batches (the library's ``batch_stream`` with
``shard=(rank, world)``, as the Ray workers use it):

    1 proc x 2 threads, batch 100            the default single-process run
    1 proc x 1 thread,  batch 100            what one core does alone
    2 procs x 1 thread, batch 50 per rank    DDP, same global batch (strong scaling)
    2 procs x 1 thread, batch 100 per rank   DDP, global batch 200 (weak scaling)

plus the time of one allreduce of all gradients (a flat fp32 buffer, params x 4 bytes) over gloo.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common as C  # noqa: E402


def _worker(rank: int, world: int, port: int, cfg: dict[str, Any], q) -> None:
    import numpy as np
    import torch

    torch.set_num_threads(cfg["threads"])
    torch.set_flush_denormal(True)
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    from sketchrnn.data.batching import Augment, batch_stream
    from sketchrnn.data.npz import load_npz
    from sketchrnn.data.preprocess import prepare
    from sketchrnn.losses.sketch_rnn import SketchRNNLoss
    from sketchrnn.model.sketch_rnn import SketchRNN
    from sketchrnn.train.loop import optimizer_step

    if world > 1:
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        files = C.find_npz(cfg["data_dir"])
        data = prepare({f.stem: load_npz(f) for f in files}, max_seq_len=200)
        stream = batch_stream(data.train, cfg["batch"], rng=np.random.default_rng(0), bucket=True,
                              drop_last=True, augment=Augment(), shard=(rank, world))
        torch.manual_seed(0)
        model = SketchRNN(**cfg["sizes"])
        net = DDP(model) if world > 1 else model
        loss_fn = SketchRNNLoss(n_max=200)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)

        def step(i: int) -> int:
            b = next(stream)
            out = net(b.x, b.lengths)
            terms = loss_fn(out, b.x, b.lengths, i)
            optimizer_step(model, opt, terms["loss"], 1.0)
            float(terms["loss"].detach())
            return int(b.lengths.sum())

        for i in range(cfg["warmup"]):
            step(i)
        if world > 1:
            dist.barrier()
        t0 = time.perf_counter()
        points = sum(step(cfg["warmup"] + i) for i in range(cfg["steps"]))
        dt = time.perf_counter() - t0
        allreduce_ms = None
        n_params = sum(p.numel() for p in model.parameters())
        if world > 1:
            flat = torch.zeros(n_params)
            for _ in range(2):
                dist.all_reduce(flat)
            t1 = time.perf_counter()
            for _ in range(5):
                dist.all_reduce(flat)
            allreduce_ms = 1e3 * (time.perf_counter() - t1) / 5
        res = {"rank": rank, "s": dt, "steps": cfg["steps"], "points": points, "allreduce_ms": allreduce_ms,
               "params": n_params}
        if world > 1:
            gathered: list[Any] = [None] * world
            dist.all_gather_object(gathered, res)
            if rank == 0:
                q.put(gathered)
        else:
            q.put([res])
    finally:
        if world > 1:
            dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_config(world: int, threads: int, batch: int, args: argparse.Namespace, sizes: dict[str, int]) -> dict[str, Any]:
    import torch.multiprocessing as mp

    cfg = {"threads": threads, "batch": batch, "sizes": sizes, "data_dir": str(args.data_dir),
           "warmup": args.warmup, "steps": args.steps}
    ctx = mp.get_context("spawn")
    q = ctx.SimpleQueue()
    mp.start_processes(_worker, args=(world, _free_port(), cfg, q), nprocs=world, join=True, start_method="spawn")
    ranks = q.get()
    wall = max(r["s"] for r in ranks)
    points = sum(r["points"] for r in ranks)
    return {"config": f"{world} proc x {threads} thread, batch {batch}/rank", "world": world, "threads": threads,
            "batch_per_rank": batch, "global_batch": batch * world, "s_per_step": wall / args.steps,
            "real_points_per_s": points / wall, "allreduce_ms": ranks[0]["allreduce_ms"],
            "grad_mb": ranks[0]["params"] * 4 / 1e6}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--preset", choices=["tiny", "small", "paper"], default=None)
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--data-dir", type=Path, default=C.DEFAULT_DATA_DIR)
    p.add_argument("--out", type=Path, default=C.RESULTS / "ddp_cpu.json")
    args = p.parse_args(argv)
    preset = args.preset or ("small" if args.quick else "paper")
    args.steps = args.steps or (2 if args.quick else 4)
    sizes = C.preset_sizes(preset)
    info = C.machine_info()
    C.log(f"bench_ddp: {preset} preset, {args.steps} steps; load {info['loadavg_1_5_15']}")
    rows = []
    for world, threads, batch in ((1, 2, 100), (1, 1, 100), (2, 1, 50), (2, 1, 100)):
        try:
            rows.append(run_config(world, threads, batch, args, sizes))
            C.log(f"  {rows[-1]['config']}: {rows[-1]['s_per_step']:.3f} s/step, "
                  f"{rows[-1]['real_points_per_s']:,.0f} points/s")
        except Exception as exc:  # noqa: BLE001
            rows.append({"config": f"{world} x {threads}, batch {batch}", "error": repr(exc)})
            C.log(f"  {world} x {threads}: FAILED {exc!r}")
    C.log(C.table(rows, ["config", "global_batch", "s_per_step", "real_points_per_s", "allreduce_ms", "grad_mb"],
                  title="CPU data parallelism (gloo)"))
    C.write_json(args.out, {"machine": info, "loadavg_end": C.loadavg(), "preset": preset, "rows": rows})
    C.log(f"wrote {args.out}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
