"""`sketchrnn fit --workers N`: every job trains at once, each on its own Ray Train DDP group.

The driver: start (or join) Ray, skip finished jobs, plan the workers, print the plan, start one
`TorchTrainer` per job (each in a thread, see trainer.py), and feed the live table from the
progress hub until every job has ended. A job that fails is reported with its reason while the
others carry on. Ctrl-C tears everything down at once; checkpoints are written atomically, so
the latest one of every job is intact and re-running the same command resumes from it.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from sketchrnn.distributed.planner import Plan, plan
from sketchrnn.distributed.storage import (
    absolute_job, check_resumable, finished, local_runs_dir, remove_job_dirs, storage_path,
)
from sketchrnn.errors import SketchRNNError
from sketchrnn.train.job import JobSpec

POLL_S = 0.25
ENV_PREFIX = "SKETCHRNN_"  # forwarded to the workers (e.g. SKETCHRNN_DEBUG)
# Defaults for Ray Train (the user's environment wins). Starting many worker processes on a busy
# machine can take longer than Train's 60 s worker-group start timeout.
RAY_ENV = {"RAY_TRAIN_WORKER_GROUP_START_TIMEOUT_S": "600"}
# Only for the private local instance: nothing preempts it, and each job saves one actor process.
RAY_LOCAL_ENV = {"RAY_TRAIN_ENABLE_PREEMPTION_WATCHER": "0"}


def run_with_ray(jobs: list[JobSpec], runs_dir: str | Path, *, workers: int, fresh: bool,
                 address: str | None, gpus_per_worker: float | None) -> list[str]:
    """Train `jobs` on Ray with `workers` training processes in all; returns the failed job names."""
    from sketchrnn.cli.console import console
    from sketchrnn.cli.progress import summary_table

    root = local_runs_dir(runs_dir)
    jobs = [absolute_job(j) for j in jobs]
    if fresh:
        remove_job_dirs(jobs, root)
    check_resumable(jobs, root)
    results: dict[str, dict[str, Any]] = {}
    for job in jobs:
        if (done := finished(job, root / job.name)) is not None:
            results[job.name] = done
    todo = [j for j in jobs if j.name not in results]
    if todo:
        results.update(_train(jobs, dict(results), root, storage_path(runs_dir), workers=workers,
                              address=address, gpus_per_worker=gpus_per_worker))
    results = {j.name: results[j.name] for j in jobs}
    console().line()  # a live table in a pipe does not end its last line
    console().print(summary_table(results))
    failed = [name for name, r in results.items() if r["status"] != "done"]
    for name in failed:
        console().print(f"[red]{name} {results[name]['status']}[/red]")
    for name, r in results.items():
        if int(r.get("attempt", 1)) > 1:
            console().print(f"[yellow]{name}: recovered from {r['attempt'] - 1} worker failure(s); "
                            f"the last attempt resumed from step {r.get('resumed_from', 0)}[/yellow]")
    return failed


def _train(jobs: list[JobSpec], done: dict[str, dict[str, Any]], root: Path, storage: str, *,
           workers: int, address: str | None, gpus_per_worker: float | None) -> dict[str, dict[str, Any]]:
    """Train the jobs not in `done` (finished earlier, shown as done); returns their results."""
    import ray

    from sketchrnn.cli.console import console
    from sketchrnn.cli.progress import JobTable
    from sketchrnn.distributed.hub import ProgressHub
    from sketchrnn.distributed.trainer import JobRun, build_trainer
    from sketchrnn.distributed.worker import supports_agreed_stop

    todo = [j for j in jobs if j.name not in done]
    owned, logs = _connect(address)
    try:
        resources = ray.cluster_resources()
        # Without agreement on early stopping, ranks would wait forever for a rank 0 that stopped.
        caps = {} if supports_agreed_stop() else {
            j.name: 1 for j in todo if j.settings.train.early_stop_patience is not None}
        the_plan = plan(todo, workers, cluster_cpus=resources.get("CPU", 0.0),
                        cluster_gpus=resources.get("GPU", 0.0), gpus_per_worker=gpus_per_worker,
                        max_workers=caps)
        console().print(plan_table(the_plan))
        hub = ray.remote(num_cpus=0)(ProgressHub).remote()
        env = {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIX)}
        by_name = {j.name: j for j in todo}

        def start(name: str) -> JobRun:
            trainer = build_trainer(by_name[name], the_plan.row(name), storage=storage,
                                    job_dir=root / name, hub=hub, env=env)
            run = JobRun(name, trainer)
            run.start()
            return run

        with JobTable([j.name for j in jobs]) as table:
            for name, result in done.items():
                table.update({"job": name, "status": "done", "step": result.get("step"),
                              "total": result.get("step")})
            return _Schedule(the_plan, start, hub, table, logs).run()
    except KeyboardInterrupt:
        console().line()
        console().print("[yellow]interrupted: stopping all jobs; their latest checkpoints are intact, "
                        "run the same command again to resume[/yellow]")
        raise
    finally:
        if owned:
            ray.shutdown()  # the driver owns every controller and worker: they all go with it


class _Schedule:
    """Start jobs while their workers are free (biggest first), feed the table, collect outcomes."""

    def __init__(self, the_plan: Plan, start: Any, hub: Any, table: Any, logs: str) -> None:
        self.plan, self.start, self.hub, self.table, self.logs = the_plan, start, hub, table, logs
        self.queue = the_plan.start_order()
        self.free = the_plan.workers
        self.runs: dict[str, Any] = {}
        self.results: dict[str, dict[str, Any]] = {}

    def run(self) -> dict[str, dict[str, Any]]:
        import ray

        for name in self.queue:
            self.table.set_status(name, "queued")
        try:
            while self.queue or self.runs:
                self._start_what_fits()
                for row in ray.get(self.hub.drain.remote()):
                    self.table.update(row)
                self._collect()
                time.sleep(POLL_S)
            for row in ray.get(self.hub.drain.remote()):  # the last rows, under their final status
                self.table.update({**row, "status": self.results[row["job"]]["status"].split(":")[0]})
        except KeyboardInterrupt:
            for name in list(self.runs) + self.queue:
                self.table.set_status(name, "interrupted")
            raise
        return self.results

    def _start_what_fits(self) -> None:
        while self.queue and self.plan.row(self.queue[0]).workers <= self.free:
            name = self.queue.pop(0)
            self.free -= self.plan.row(name).workers
            self.runs[name] = self.start(name)
            self.table.set_status(name, f"starting ({self.plan.row(name).workers} workers)")

    def _collect(self) -> None:
        import ray

        for name, run in list(self.runs.items()):
            if run.outcome is None:
                continue
            del self.runs[name]
            self.free += self.plan.row(name).workers
            self.results[name] = _finish(run.outcome, ray.get(self.hub.failure.remote(name)), self.logs)
            self.table.set_status(name, self.results[name]["status"].split(":")[0])


def _connect(address: str | None) -> tuple[bool, str]:
    """Join `address` or start a private local Ray (quiet); returns (ours to shut down, logs dir)."""
    import ray

    if ray.is_initialized():  # e.g. a test that started Ray itself
        return False, "the Ray session's logs/ folder"
    for key, value in {**RAY_ENV, **({} if address else RAY_LOCAL_ENV)}.items():
        os.environ.setdefault(key, value)  # read by ray.init, the raylet and Train's controllers
    quiet = dict(logging_level=logging.ERROR, log_to_driver=False)
    if address:
        try:
            ctx = ray.init(address=address, **quiet)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise SketchRNNError(f"cannot join the Ray cluster at {address!r}: {exc}".replace("\n", " "),
                                 "check --address / RAY_ADDRESS, or leave both unset to start a "
                                 "local Ray") from exc
    else:  # "local": never attach to a `ray start` cluster by accident
        ctx = ray.init(address="local", include_dashboard=False, **quiet)
    session = (getattr(ctx, "address_info", None) or {}).get("session_dir")
    return True, f"{session}/logs" if session else "the Ray session's logs/ folder"


def _finish(outcome: dict[str, Any], recorded: str | None, logs: str) -> dict[str, Any]:
    if outcome.get("status") == "done":
        return outcome
    reason = recorded or outcome.get("reason") or "unknown error"
    hint = "" if recorded else f" (worker logs: {logs})"
    return {**outcome, "status": f"failed: {reason}{hint}"}


def plan_table(p: Plan) -> Any:
    """The plan as a rich table: who gets how many workers, and what that means per step."""
    from rich.table import Table

    total_work = sum(r.work for r in p.rows) or 1.0
    how = (f"{len(p.rows)} jobs share {p.workers} workers"
           + (": one worker each, at most "
              f"{p.workers} at a time, biggest first" if p.queued else ""))
    table = Table(title=f"plan: {how}", caption="effective batch = batch x workers (DDP averages "
                  "gradients); lr is kept as configured")
    for col in ("job", "work %", "workers", "batch", "eff. batch", "lr", "CPU/worker", "GPU/worker"):
        table.add_column(col, justify="left" if col == "job" else "right")
    for r in p.rows:
        table.add_row(r.job, f"{100 * r.work / total_work:.0f}", str(r.workers), str(r.batch),
                      str(r.effective_batch), f"{r.effective_lr:g}", f"{r.cpus_per_worker:g}",
                      f"{r.gpus_per_worker:g}")
    return table
