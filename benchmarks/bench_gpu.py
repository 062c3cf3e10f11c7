"""GPU benchmark, made to run once on a CUDA machine (e.g. one H200) in about eight minutes.
    PYTHONPATH=. python3 benchmarks/bench_gpu.py --out benchmarks/results/gpu.json \
        [--data-dir DIR_WITH_NPZ] [--budget-s 480] [--sections capture,pack,latency]
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
    pack      the six-job fit's throughput at 1, 2, 3, 6 jobs (processes) per GPU, summed
    capture   paper size, batch 100: eager vs captured (CUDA graphs, bucketed), fp32 vs TF32,
              validation loss after --val-steps steps
    latency   `sample -n 1` of 200 points and serve's "finish it", eager vs captured, GPU and CPU
(pack, capture, latency: _gpu_fill.py)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import _common as C  # noqa: E402
from _gpu_fill import fill_settings, section_capture, section_latency, section_pack  # noqa: E402
from _gpu_harness import Data, Run, settings  # noqa: E402
from _gpu_sections import (  # noqa: E402
    section_compile, section_ddp, section_env, section_sampling, section_smoke, section_train,
)


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
    p.add_argument("--sections", default="env,train,smoke,sampling,ddp,compile,pack,capture,latency")
    p.add_argument("--pack-jobs", type=lambda t: [int(k) for k in t.split(",")], default=None,
                   help="jobs per GPU in the pack section (default 1,2,3,6; 1,2 with --dry-run)")
    p.add_argument("--val-steps", type=int, default=None,
                   help="capture section: steps before the validation loss (default 2000; 6 with --dry-run)")
    p.add_argument("--latency-preset", choices=["tiny", "small", "paper"], default=None,
                   help="model size of the latency section (default paper; tiny with --dry-run)")
    p.add_argument("--latency-points", type=int, default=None,
                   help="points per sketch in the latency section (default 200; 20 with --dry-run)")
    p.add_argument("--compile-backend", default=None,
                   help="torch.compile backend of compile, capture and latency (default inductor; aot_eager with "
                        "--dry-run: traced like torch.compile, without minutes of CPU code generation)")
    args = p.parse_args(argv)
    if args.budget_s is None:
        args.budget_s = 1200.0 if args.dry_run else 480.0
    if args.latency_preset is None:
        args.latency_preset = "tiny" if args.dry_run else "paper"
    if args.compile_backend is None:
        args.compile_backend = "aot_eager" if args.dry_run else "inductor"
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
    fs = fill_settings(st, args)
    run.result["fill_settings"] = fs
    plan = [
        ("env", lambda: section_env(st, run), 10),
        ("train", lambda: section_train(st, run, data), 30),
        ("smoke", lambda: section_smoke(st, run, data, args), 20),
        ("sampling", lambda: section_sampling(st, run), 15),
        ("ddp", lambda: section_ddp(st, run, data), 20),
        ("compile", lambda: section_compile(st, run, data, args.compile_backend), 60),
        ("pack", lambda: section_pack(st, run, data, fs), 30),
        ("capture", lambda: section_capture(st, run, data, fs, args.compile_backend), 30),
        ("latency", lambda: section_latency(st, run, fs, args.compile_backend), 20),
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
