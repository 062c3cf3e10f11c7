"""`sketchrnn serve` under load: predict and predict+complete latency at 1, 20 and 200 clients.

    python benchmarks/bench_serve.py                       # tiny untrained models
    python benchmarks/bench_serve.py --runs runs/ --clients 1,20,200 --json out.json

The server is a real `sketchrnn serve` process on a free 127.0.0.1 port (its own process, so the
client threads here do not share its GIL); all traffic stays on loopback. For each endpoint and
client count, ``clients`` threads each keep one HTTP/1.1 connection and send their share of a
fixed number of POSTs (a ~60-point two-stroke sketch, the size of a quick doodle), so every run is
bounded in count; a case also stops sending after ``--max-seconds``. Rows give the median and
p95 latency and the throughput. ``--threads`` is passed to `serve --threads` (torch threads per
model call). Without ``--runs`` the models are tiny and untrained: the figures then measure the
server and the per-request model overhead, not a full-size model.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common as C  # noqa: E402


def tiny_runs(root: Path) -> Path:
    """A classifier over two categories and a draw model for each, untrained (no data needed)."""
    from sketchrnn.config import DataConfig, LossConfig
    from sketchrnn.checkpoint import CheckpointMeta, save_checkpoint
    from sketchrnn.model.presets import PRESETS
    from sketchrnn.registry import build_model

    tiny, cats = PRESETS["tiny"], ["circle", "square"]
    kwargs = {"n_categories": 2, "enc_hidden": tiny["enc_hidden"], "z_dim": tiny["z_dim"]}
    save_checkpoint(root / "predict/checkpoints/best", build_model("classifier", **kwargs),
                    CheckpointMeta(model="classifier", model_kwargs=kwargs, task="predict",
                                   categories=cats, scale=30.0, max_seq_len=60,
                                   data=DataConfig(max_seq_len=60), loss=LossConfig()))
    for cat in cats:
        save_checkpoint(root / f"draw-{cat}/checkpoints/best", build_model("sketch_rnn", **tiny),
                        CheckpointMeta(model="sketch_rnn", model_kwargs=dict(tiny), task="draw",
                                       categories=[cat], scale=30.0, max_seq_len=60,
                                       data=DataConfig(max_seq_len=60), loss=LossConfig()))
    return root


def start_server(runs: Path, threads: int | None) -> tuple[subprocess.Popen, int]:
    """`sketchrnn serve --port 0` in a subprocess; returns it and the port it announced."""
    cmd = [sys.executable, "-m", "sketchrnn", "serve", "--runs", str(runs), "--port", "0"]
    cmd += ["--threads", str(threads)] if threads else []
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    for line in proc.stderr:
        found = re.search(r"serving on http://127\.0\.0\.1:(\d+)/", line)
        if found:
            threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep draining
            return proc, int(found.group(1))
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise SystemExit(f"`sketchrnn serve` did not start: {' '.join(cmd)}")


def doodle() -> list[list[list[float]]]:
    line = [[100 + 6.0 * i, 100 + 40 * (i % 2)] for i in range(30)]
    return [line, [[100 + 6.0 * i, 250.0] for i in range(30)]]


def load(port: int, path: str, body: dict, clients: int, requests: int,
         max_seconds: float = 120.0) -> dict:
    """``requests`` POSTs spread over ``clients`` connections (no new ones after
    ``max_seconds``); latency percentiles in ms."""
    payload = json.dumps(body).encode()
    per = [requests // clients + (i < requests % clients) for i in range(clients)]
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        for _ in range(n):
            if time.perf_counter() - t_start > max_seconds:
                break
            t0 = time.perf_counter()
            conn.request("POST", path, payload, {"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - t0)
            if response.status != 200:
                with lock:
                    failures[0] += 1
        conn.close()
        with lock:
            latencies.extend(mine)

    t_start = t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, per))
    wall = time.perf_counter() - t0
    ms = sorted(x * 1000 for x in latencies)

    def pct(q: float) -> float:
        return ms[min(len(ms) - 1, int(q * len(ms)))]

    return {"requests": len(ms), "clients": clients, "failed": failures[0], "wall_s": wall,
            "req_per_s": len(ms) / wall, "p50_ms": pct(0.5), "p95_ms": pct(0.95),
            "p99_ms": pct(0.99), "max_ms": ms[-1]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=Path, help="A trained runs directory (default: tiny models).")
    ap.add_argument("--clients", default="1,20,200", help="Comma-separated client counts.")
    ap.add_argument("--requests", type=int, default=400,
                    help="POSTs per case (at least 2 per client; completions: half).")
    ap.add_argument("--max-seconds", type=float, default=60.0, help="Per case, at most.")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads per model call (default: serve's own default).")
    ap.add_argument("--json", type=Path, help="Also write the rows here.")
    args = ap.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        runs = args.runs or tiny_runs(Path(tmp))
        proc, port = start_server(runs, args.threads)
        try:
            category = sorted(p.name.removeprefix("draw-") for p in runs.glob("draw-*"))[0]
            cases = [("predict", {"strokes": doodle()}, 1.0),
                     ("predict+complete", {"strokes": doodle(), "complete": True,
                                           "category": category.replace("_", " ")}, 0.5)]
            load(port, "/api/predict", {"strokes": doodle()}, 2, 10)  # warm-up
            rows = []
            for name, body, share in cases:
                for clients in counts:
                    n = max(2 * clients, int(args.requests * share)) if clients > 1 else \
                        max(20, int(args.requests * share / 8))
                    row = load(port, "/api/predict", body, clients, n, args.max_seconds)
                    rows.append({"endpoint": name, **row})
                    C.log(f"{name} x{clients}: p50 {row['p50_ms']:.0f} ms, p95 "
                          f"{row['p95_ms']:.0f} ms, {row['req_per_s']:.1f} req/s")
        finally:
            proc.terminate()
            proc.wait(10)
    what = "tiny untrained models" if not args.runs else args.runs
    C.log(C.table(rows, title=f"sketchrnn serve on loopback ({what}, serve --threads "
                               f"{args.threads or 'default'})"))
    if args.json:
        C.write_json(args.json, {"machine": C.machine_info(), "rows": rows})


if __name__ == "__main__":
    main()
