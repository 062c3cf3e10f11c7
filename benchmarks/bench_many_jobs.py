"""Many jobs on a small Ray cluster: driver memory and Ray's per-job overhead vs job count.

    python benchmarks/bench_many_jobs.py --jobs 4 16 48 --workers 2        # local Ray, 2 CPUs
    python benchmarks/bench_many_jobs.py --jobs 100 --workers 2 --steps 4  # 100+ categories
    python benchmarks/bench_many_jobs.py --quick                           # 2 jobs: does it run

For each job count N: N synthetic categories (tiny npz files in a temp folder), one draw job
each (`--preset tiny`, a few steps), trained by the real launcher (`run_with_ray`, what `fit
--workers W` calls) on a private local Ray. Measured:

* **driver memory**: the driver process's RSS, sampled every 0.5 s (peak) and at the end;
  Ray's own daemons (GCS, raylet) are other processes and not counted;
* **what the driver holds at once**: its threads, the trainers' threads and Ray's placement
  groups (`ray.util.placement_group_table()`), sampled every 0.5 s: queued jobs cost nothing;
* **the load**: a fresh `import torch, ray.train.torch` timed once per N (the yardstick), and
  the load average;
* **per-job overhead**: a job's wall time in the launcher minus the same job trained in this
  process (`fit --workers 0`'s loop, measured once per N); split into *start-up* (trainer built
  -> rank 0 inside the train function: controller actor, placement group, worker process,
  imports) and the rest (Train's setup and teardown, reporting, the controller's exit).

Prints a table and writes JSON to benchmarks/results/many_jobs.json (machine, load average).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

SETS = {"data.batch_size": 16, "data.max_seq_len": 60, "draw.train.eval_batches": 1}


def write_category(path: Path, rng: np.random.Generator, n_train: int = 64, n_eval: int = 16) -> None:
    def split(n: int) -> np.ndarray:
        out = np.empty(n, dtype=object)
        for i, sketch in enumerate(C.synthetic_sketches(n, rng)):
            sketch = sketch[:60].copy()
            sketch[-1, 2] = 1  # still ends with the pen up
            out[i] = sketch
        return out

    np.savez_compressed(path, train=split(n_train), valid=split(n_eval), test=split(n_eval))


def make_jobs(data_dir: Path, n: int, steps: int) -> list[Any]:
    from sketchrnn.config import Config
    from sketchrnn.data.categories import QUICKDRAW
    from sketchrnn.train.job import make_jobs as jobs_for

    rng = np.random.default_rng(0)
    names = QUICKDRAW.names()[:n]  # synthetic sketches under real names (at most 345)
    for name in names:
        write_category(data_dir / f"{name}.npz", rng)
    config = Config.model_validate({
        "data": {"data_dir": str(data_dir), "batch_size": 16, "max_seq_len": 60},
        "draw": {"model": {"preset": "tiny"},
                 "train": {"steps": steps, "eval_every": steps, "checkpoint_every": steps, "eval_batches": 1}},
    })
    return [j for j in jobs_for(config, names) if j.task == "draw"]


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Sampler(threading.Thread):
    """Every 0.5 s: the driver's RSS, threads, trainer threads and live placement groups."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[dict[str, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        import ray
        from ray.util import placement_group_table

        from sketchrnn.distributed.trainer import JobRun

        while not self.stop.wait(0.5):
            groups = 0
            if ray.is_initialized():
                try:
                    groups = sum(1 for g in placement_group_table().values() if g.get("state") == "CREATED")
                except Exception:  # noqa: BLE001 - Ray shutting down between the check and the call
                    pass
            trainers = sum(1 for t in threading.enumerate() if isinstance(t, JobRun))
            self.samples.append({"rss_mib": rss_mib(), "threads": threading.active_count(),
                                 "trainer_threads": trainers, "placement_groups": groups})

    def most(self, key: str) -> float:
        return max((s[key] for s in self.samples), default=0)


def import_yardstick_s() -> float:
    """A fresh `python -c "import torch, ray.train.torch"`: what every Train worker process pays
    before it does anything, so per-job overhead measured under load can be read in its units."""
    import subprocess

    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch, ray.train.torch"], check=True)
    return time.perf_counter() - start


def train_in_process(job: Any, runs: Path) -> float:
    """The same job's wall time without Ray: what is left of a Ray job's time is Ray's."""
    import torch

    from sketchrnn.train.loop import Hooks, fit_job

    start = time.perf_counter()
    fit_job(job, runs / "in-process" / job.name, device=torch.device("cpu"), hooks=Hooks())
    return time.perf_counter() - start


def one_count(n: int, workers: int, steps: int, tmp: Path) -> dict[str, Any]:
    from sketchrnn.distributed.launch import run_with_ray

    data, runs = tmp / f"data{n}", tmp / f"runs{n}"
    data.mkdir()
    jobs = make_jobs(data, n, steps)
    train_s = min(train_in_process(job, tmp) for job in jobs[:2])  # the first pays torch's warm-up
    yardstick = import_yardstick_s()
    started: dict[str, float] = {}
    ended: list[str] = []

    def on_row(row: dict[str, Any]) -> None:
        status = str(row.get("status", ""))
        if status.startswith("starting"):
            started[row["job"]] = time.time()
        elif status in ("done", "failed") and row["job"] not in ended and "step" not in row:
            ended.append(row["job"])  # a line per job: a run cut short still gives its rate
            C.log(f"  {len(ended)}/{n} jobs ended at {time.perf_counter() - t0:.0f} s "
                  f"({row['job']} {status}), driver RSS {rss_mib():.0f} MiB, load {(C.loadavg() or ['?'])[0]}")

    rss_before = rss_mib()
    sampler = Sampler()
    sampler.start()
    t0 = time.perf_counter()
    results = run_with_ray(jobs, runs, workers=workers, fresh=False, address=None, gpus_per_worker=None,
                           on_row=on_row)
    wall = time.perf_counter() - t0
    sampler.stop.set()
    sampler.join()
    failed = [name for name, r in results.items() if r["status"] != "done"]
    startup = [_first_attempt(runs / name)["time"] - started[name] for name in results if name not in failed]
    walls = [r["wall_s"] for name, r in results.items() if name not in failed]
    return {
        "jobs": n, "workers": workers, "steps": steps, "failed": len(failed), "wall_s": wall,
        "jobs_per_min": 60 * n / wall, "train_in_process_s": train_s,
        "job_wall_s_median": statistics.median(walls), "startup_s_median": statistics.median(startup),
        "overhead_s_median": statistics.median(walls) - train_s, "import_yardstick_s": yardstick,
        "load_1min_after": (C.loadavg() or [None])[0],
        "driver_rss_mib_before": rss_before, "driver_rss_mib_peak": sampler.most("rss_mib"),
        "driver_rss_mib_end": rss_mib(), "threads_max": sampler.most("threads"),
        "trainer_threads_max": sampler.most("trainer_threads"),
        "placement_groups_max": sampler.most("placement_groups"),
    }


def _first_attempt(job_dir: Path) -> dict[str, Any]:
    return json.loads((job_dir / "attempts.jsonl").read_text().splitlines()[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, nargs="+", default=[4, 16])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--out", default=str(C.RESULTS / "many_jobs.json"))
    ap.add_argument("--quick", action="store_true", help="2 jobs of 2 steps: checks that it runs")
    args = ap.parse_args()
    if args.quick:
        args.jobs, args.steps = [2], 2
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    info = C.machine_info()
    rows = []
    with tempfile.TemporaryDirectory(prefix="sk-many-") as tmp:
        for n in args.jobs:
            C.log(f"{n} jobs on {args.workers} workers ...")
            rows.append(one_count(n, args.workers, args.steps, Path(tmp)))
            C.log(json.dumps(rows[-1]))
    print(C.table(rows, ["jobs", "wall_s", "jobs_per_min", "train_in_process_s", "job_wall_s_median",
                         "startup_s_median", "overhead_s_median", "import_yardstick_s", "driver_rss_mib_before",
                         "driver_rss_mib_peak", "trainer_threads_max", "placement_groups_max", "threads_max"],
                  title="many jobs on a local Ray"))
    C.write_json(args.out, {"machine": info, "load_after": C.loadavg(), "args": vars(args), "rows": rows})


if __name__ == "__main__":
    main()
