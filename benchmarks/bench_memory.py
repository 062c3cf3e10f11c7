"""Peak memory (RSS) of a paper-size training process on the CPU, and how it grows with the batch
size (25, 50, 100, 200 at N_max 200) and the sequence length (100, 200, 300 at batch 100).

    python benchmarks/bench_memory.py            # paper size, 7 configurations (~5-10 min)
    python benchmarks/bench_memory.py --quick    # small preset, 3 configurations

Each configuration runs in a fresh process: imports, model, Adam, then ``--steps`` training steps
on a batch where every sketch has exactly ``max_seq_len`` points (the worst case a configuration
allows). Reported: RSS after building the model (baseline), peak RSS (``ru_maxrss``) and the
difference, which is what the batch costs. One more run uses real, bucketed QuickDraw batches.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common as C  # noqa: E402


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def worker(batch: int, length: int, steps: int, preset: str, real: bool, data_dir: Path) -> dict[str, Any]:
    import numpy as np
    import torch

    torch.set_flush_denormal(True)
    from sketchrnn.losses.sketch_rnn import SketchRNNLoss
    from sketchrnn.model.sketch_rnn import SketchRNN
    from sketchrnn.train.loop import optimizer_step

    rss_import = _rss_mib()
    sizes = C.preset_sizes(preset)
    torch.manual_seed(0)
    model = SketchRNN(**sizes)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = SketchRNNLoss(n_max=length)
    rng = np.random.default_rng(0)
    if real:
        files = C.find_npz(data_dir)
        sk = [s for f in files for s in C.load_npz_splits(f)["train"]]
        sk, _ = C.normalise(sk, max_len=length)
        it = C.SimpleBatches(sk, batch, bucket=True)
        batches = [next(it) for _ in range(steps)]
    else:
        sk, _ = C.normalise(C.synthetic_sketches(batch, rng, lengths=np.full(batch, length)), max_len=length)
        batches = [C.to_stroke5(sk)] * steps
    rss_base = _rss_mib()
    peak_base = _peak_mib()
    t0 = time.perf_counter()
    for i, (x, lengths) in enumerate(batches):
        out = model(x, lengths)
        terms = loss_fn(out, x, lengths, i)
        optimizer_step(model, opt, terms["loss"], 1.0)
        float(terms["loss"].detach())
    dt = time.perf_counter() - t0
    return {"batch_size": batch, "max_seq_len": length, "real": real, "steps": steps,
            "rss_after_import_mib": rss_import, "rss_model_mib": rss_base,
            "peak_before_steps_mib": peak_base, "peak_rss_mib": _peak_mib(),
            "step_mib": _peak_mib() - rss_base, "s_per_step": dt / steps,
            "params": C.parameter_count(model)}


def spawn(args: argparse.Namespace, batch: int, length: int, real: bool = False) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", str(batch), str(length), "--steps", str(args.steps),
           "--preset", args.preset, "--data-dir", str(args.data_dir)] + (["--real"] if real else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=C.ROOT, env=dict(os.environ))
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return {"batch_size": batch, "max_seq_len": length, "real": real,
            "error": f"exit {proc.returncode}: {proc.stderr.strip().splitlines()[-1:]}"}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--preset", choices=["tiny", "small", "paper"], default=None)
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--data-dir", type=Path, default=C.DEFAULT_DATA_DIR)
    p.add_argument("--out", type=Path, default=C.RESULTS / "memory_cpu.json")
    p.add_argument("--worker", nargs=2, type=int, help=argparse.SUPPRESS)
    p.add_argument("--real", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.preset = args.preset or ("small" if args.quick else "paper")
    if args.worker:
        res = worker(*args.worker, args.steps, args.preset, args.real, args.data_dir)
        print("RESULT " + json.dumps(res), flush=True)
        return
    info = C.machine_info()
    if args.quick:
        configs = [(25, 200), (100, 200), (100, 100)]
    else:
        configs = [(25, 200), (50, 200), (100, 200), (200, 200), (100, 100), (100, 300)]
    C.log(f"bench_memory: {args.preset} preset, {args.steps} steps per config; load {info['loadavg_1_5_15']}")
    rows = []
    for b, length in configs:
        rows.append(spawn(args, b, length))
        r = rows[-1]
        C.log(f"  B={b} N_max={length}: " + (r.get("error") or f"peak {r['peak_rss_mib']:.0f} MiB"))
    if C.find_npz(args.data_dir):
        rows.append(spawn(args, 100, 200, real=True))
        r = rows[-1]
        C.log("  real bucketed B=100: " + (r.get("error") or f"peak {r['peak_rss_mib']:.0f} MiB"))
    C.log(C.table(rows, ["batch_size", "max_seq_len", "real", "rss_model_mib", "peak_rss_mib", "step_mib",
                         "s_per_step"],
                  title="peak RSS of a training process (every sketch N_max points, unless real)"))
    C.write_json(args.out, {"machine": info, "loadavg_end": C.loadavg(), "preset": args.preset, "rows": rows})
    C.log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
