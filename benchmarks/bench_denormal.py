"""Denormals in the LSTM backward: how many there are and what flushing them saves, on this CPU.

    python benchmarks/bench_denormal.py            # paper-size decoder and encoder LSTMs (~2 min)
    python benchmarks/bench_denormal.py --quick

``torch.set_flush_denormal(True)`` sets FTZ/DAZ in the calling thread's MXCSR only. Threads
inherit the setting when they are created, so an OpenMP pool started before the call keeps
computing with denormals. Each case runs in a fresh process with flush:

    off     never set
    early   set before torch runs anything multi-threaded (what fit_job does as its first line)
    late    set after a multi-threaded op has started the OpenMP pool

for 1 and 2 threads, forward + backward of a paper-size LSTM over T steps with the loss on
the last 10 steps only, so the gradient has to travel back through the whole sequence (as it
does from the late points of a long sketch to its first ones). Reported: ms per fwd+bwd
and the share of denormal values in the input gradient.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

TINY = 1.1754943508222875e-38  # smallest normal float32


def worker(flush: str, threads: int, kind: str, T: int, reps: int) -> dict[str, Any]:
    import torch

    torch.set_num_threads(threads)
    if flush == "early":
        torch.set_flush_denormal(True)
    elif flush == "late":
        a = torch.randn(512, 512)
        for _ in range(3):
            a = torch.tanh(a @ a)
        torch.set_flush_denormal(True)
    torch.manual_seed(0)
    inp, hid = (133, 512) if kind == "decoder" else (5, 256)
    lstm = torch.nn.LSTM(inp, hid, batch_first=True, bidirectional=kind == "encoder")
    x = torch.randn(100, T, inp, requires_grad=True)

    def once() -> float:
        t0 = time.perf_counter()
        out, _ = lstm(x)
        out[:, -10:].sum().backward()  # loss at the end: its gradient travels back through all T steps
        return time.perf_counter() - t0

    once()
    times = [once() for _ in range(reps)]
    g = x.grad.abs()
    denormal = float(((g > 0) & (g < TINY)).float().mean())
    zero = float((g == 0).float().mean())
    return {"flush": flush, "threads": threads, "kind": kind, "T": T, "ms": 1e3 * C.median(times),
            "denormal_share_dx": denormal, "zero_share_dx": zero}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--rounds", type=int, default=None)
    p.add_argument("--ts", default=None, help="comma list of sequence lengths (default 50,200)")
    p.add_argument("--kinds", default=None, help="decoder,encoder (default both)")
    p.add_argument("--out", type=Path, default=C.RESULTS / "denormal_cpu.json")
    p.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        f, th, kind, T, reps = args.worker
        print("RESULT " + json.dumps(worker(f, int(th), kind, int(T), int(reps))), flush=True)
        return
    rounds = args.rounds or (1 if args.quick else 3)
    Ts = [int(t) for t in (args.ts or ("200" if args.quick else "50,200")).split(",")]
    kinds = (args.kinds or ("decoder" if args.quick else "decoder,encoder")).split(",")
    reps = 1 if args.quick else 2
    info = C.machine_info()
    C.log(f"bench_denormal: {rounds} rounds; load {info['loadavg_1_5_15']}")
    results = []
    for r in range(rounds):
        for kind in kinds:
            for T in Ts:
                for threads in (1, 2):
                    for flush in ("off", "early", "late"):
                        cmd = [sys.executable, __file__, "--worker", flush, str(threads), kind, str(T), str(reps)]
                        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=C.ROOT)
                        line = next((s for s in proc.stdout.splitlines() if s.startswith("RESULT ")), None)
                        if line is None:
                            C.log(f"  FAILED {cmd}: {proc.stderr[-300:]}")
                            continue
                        results.append(json.loads(line[7:]))
        C.log(f"  round {r + 1}/{rounds} done; load {C.loadavg()}")
    rows = []
    for kind in kinds:
        for T in Ts:
            for threads in (1, 2):
                cell = {f: C.median([x["ms"] for x in results if (x["kind"], x["T"], x["threads"], x["flush"])
                                     == (kind, T, threads, f)]) for f in ("off", "early", "late")}
                den = next((x["denormal_share_dx"] for x in results if (x["kind"], x["T"], x["threads"], x["flush"])
                            == (kind, T, threads, "off")), None)
                rows.append({"lstm": kind, "T": T, "threads": threads, "off_ms": cell["off"],
                             "early_ms": cell["early"], "late_ms": cell["late"],
                             "off/early": cell["off"] / cell["early"], "off/late": cell["off"] / cell["late"],
                             "denormal_share_dx(off)": den})
    C.log(C.table(rows, title="LSTM fwd+bwd, batch 100, median ms (fresh process per case)"))
    C.write_json(args.out, {"machine": info, "loadavg_end": C.loadavg(), "rows": rows, "results": results})
    C.log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
