"""Batched sampling on the CPU: points/s for n = 1, 10, 100, 1000 sketches drawn together, and
time(100 together) / time(1) (target <= 2x), at paper size.

    python benchmarks/bench_sampling.py            # paper size, fixed length 100 (~1-2 min)
    python benchmarks/bench_sampling.py --quick    # small preset, length 20, n <= 100

The model is untrained, so left alone its sketches would end after a few points. The end-of-sketch
logit is pinned very low (output bias), so every sketch runs exactly ``--length`` decode steps and n
is the only thing that changes; the cost of one step does not depend on the weights' values.
The time inside ``decode_step`` (the LSTM step + output layer) and ``draw_step`` (mixture sampling)
is measured by wrapping them, to show what dominates at n = 1.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common as C  # noqa: E402


def measure(model, n: int, length: int, reps: int, sampling) -> dict[str, Any]:
    import torch

    times, inner = [], {"decode_step": 0.0, "draw_step": 0.0}
    orig_decode, orig_draw = model.decode_step, sampling.draw_step

    def decode_step(*a, **k):
        t0 = time.perf_counter()
        r = orig_decode(*a, **k)
        inner["decode_step"] += time.perf_counter() - t0
        return r

    def draw_step(*a, **k):
        t0 = time.perf_counter()
        r = orig_draw(*a, **k)
        inner["draw_step"] += time.perf_counter() - t0
        return r

    points = 0
    for r in range(reps):
        t0 = time.perf_counter()
        sk = sampling.sample(model, n, max_len=length, temperature=0.65, seed=r)
        times.append(time.perf_counter() - t0)
        points = sum(len(s) for s in sk)
    # one more, instrumented (not in the timings)
    model.decode_step, sampling.draw_step = decode_step, draw_step
    try:
        t0 = time.perf_counter()
        sampling.sample(model, n, max_len=length, temperature=0.65, seed=0)
        t_inst = time.perf_counter() - t0
    finally:
        del model.decode_step
        sampling.draw_step = orig_draw
    noise_s = None
    try:
        t0 = time.perf_counter()
        sampling._draw_noise(n, length, model.z_dim, torch.Generator().manual_seed(0))
        noise_s = time.perf_counter() - t0
    except Exception:  # noqa: BLE001 - a private helper that may change
        pass
    t = C.median(times)
    return {"n": n, "length": length, "reps": reps, "s": t, "s_min": min(times), "points": points,
            "points_per_s": points / t, "sketches_per_s": n / t, "ms_per_step": 1e3 * t / length,
            "share_decode_step": inner["decode_step"] / t_inst, "share_draw_step": inner["draw_step"] / t_inst,
            "share_noise_draw": (noise_s / t_inst) if noise_s is not None else None}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--preset", choices=["tiny", "small", "paper"], default=None)
    p.add_argument("--length", type=int, default=None, help="decode steps per sketch (fixed)")
    p.add_argument("--ns", default=None, help="comma list of n (default 1,10,100,1000)")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--no-experiments", action="store_true", help="library code only")
    p.add_argument("--out", type=Path, default=C.RESULTS / "sampling_cpu.json")
    args = p.parse_args(argv)
    preset = args.preset or ("small" if args.quick else "paper")
    length = args.length or (20 if args.quick else 100)
    ns = [int(v) for v in (args.ns or ("1,10,100" if args.quick else "1,10,100,1000")).split(",")]

    import torch

    torch.set_flush_denormal(True)
    C.set_threads(args.threads)
    from sketchrnn import sampling
    from sketchrnn.model.sketch_rnn import SketchRNN

    sizes = C.preset_sizes(preset)
    torch.manual_seed(0)
    model = SketchRNN(**sizes)
    with torch.no_grad():
        model.decoder.output.bias[2] = -1e4  # q_logits come first: index 2 is p3 (end of sketch)
    info = C.machine_info()
    C.log(f"bench_sampling: {preset} preset, fixed length {length}, n in {ns}, "
          f"{torch.get_num_threads()} threads, load {info['loadavg_1_5_15']}")
    models = {"library": model}
    if not args.no_experiments:  # proposed change: decoder step through torch.lstm_cell
        patched = copy.deepcopy(model)
        C.patch_decoder_step_cell(patched)
        models["lstm_cell step"] = patched
    for m in models.values():
        sampling.sample(m, 2, max_len=5, seed=0)  # warm-up
    rows = []
    for n in ns:  # variants interleaved per n, so that load drift hits both alike
        reps = 5 if n <= 10 else 3 if n <= 100 else 1
        for name, m in models.items():
            rows.append({"variant": name, **measure(m, n, length, reps, sampling)})
            C.log(f"  {name} n={n}: {rows[-1]['s']:.3f} s, {rows[-1]['points_per_s']:,.0f} points/s")
    ratios = {}
    for name in models:
        by_n = {r["n"]: r for r in rows if r["variant"] == name}
        ratios[name] = by_n[100]["s"] / by_n[1]["s"] if 1 in by_n and 100 in by_n else None
    C.log(C.table(rows, ["variant", "n", "s", "points_per_s", "sketches_per_s", "ms_per_step",
                         "share_decode_step", "share_draw_step", "share_noise_draw"],
                  title=f"Batched sampling, {preset} preset, {length} points per sketch"))
    for name, ratio in ratios.items():
        C.log(f"{name}: time(100 together) / time(1) = {ratio:.2f} (target <= 2)" if ratio else "")
    C.write_json(args.out, {"machine": info, "loadavg_end": C.loadavg(), "preset": preset, "sizes": sizes,
                            "length": length, "rows": rows, "time100_over_time1": ratios,
                            "note": "end token disabled via the output bias: every sketch is `length` points"})
    C.log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
