"""`sketchrnn serve` under load: predictions/s and latency with concurrent clients on loopback.

    python benchmarks/bench_serve.py                       # tiny untrained models, 20 clients
    python benchmarks/bench_serve.py --runs runs/ --requests 1000 --complete

A real uvicorn server (in a thread of this process) on a free 127.0.0.1 port; ``--clients``
threads each keep one HTTP/1.1 connection and send their share of ``--requests`` POSTs to
/api/predict (a ~60-point two-stroke sketch, the size of a quick doodle), so the run is bounded
and stops by itself. ``--complete`` asks for the drawn completion too (the decoder loop), and a
final row measures /api/sample. Without ``--runs`` the models are tiny and untrained: the figures
then measure the server and the per-request model overhead, not a full-size model.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
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


def start_server(runs: Path):
    import uvicorn

    from sketchrnn.serve.app import create_app
    from sketchrnn.serve.models import ServeModels

    models = ServeModels.load(runs)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(models), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread, sock.getsockname()[1], models


def doodle() -> list[list[list[float]]]:
    line = [[100 + 6.0 * i, 100 + 40 * (i % 2)] for i in range(30)]
    return [line, [[100 + 6.0 * i, 250.0] for i in range(30)]]


def load(port: int, path: str, body: dict, clients: int, requests: int) -> dict:
    """``requests`` POSTs spread over ``clients`` connections; latency percentiles in ms."""
    payload = json.dumps(body).encode()
    per = [requests // clients + (i < requests % clients) for i in range(clients)]
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        for _ in range(n):
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

    t0 = time.perf_counter()
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
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--complete", action="store_true", help="Also time predict + completion.")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1).")
    ap.add_argument("--json", type=Path, help="Also write the rows here.")
    args = ap.parse_args()
    C.set_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        runs = args.runs or tiny_runs(Path(tmp))
        server, thread, port, models = start_server(runs)
        try:
            category = sorted(models.draw)[0] if models.draw else None
            cases = [("predict", "/api/predict", {"strokes": doodle()}, args.requests)]
            if args.complete and category:
                cases.append(("predict+complete", "/api/predict",
                              {"strokes": doodle(), "complete": True, "category": category},
                              max(args.clients, args.requests // 4)))
            if category:
                cases.append(("sample n=4", "/api/sample", {"category": category, "n": 4},
                              max(args.clients, args.requests // 4)))
            load(port, "/api/predict", {"strokes": doodle()}, 2, 10)  # warm-up
            rows = []
            for name, path, body, n in cases:
                rows.append({"endpoint": name, **load(port, path, body, args.clients, n)})
                C.log(f"{name}: {rows[-1]['req_per_s']:.1f} req/s")
        finally:
            server.should_exit = True
            thread.join(10)
    C.log(C.table(rows, title=f"sketchrnn serve on loopback ({'tiny untrained models' if not args.runs else args.runs}, torch threads {args.threads})"))
    if args.json:
        C.write_json(args.json, {"machine": C.machine_info(), "rows": rows})


if __name__ == "__main__":
    main()
