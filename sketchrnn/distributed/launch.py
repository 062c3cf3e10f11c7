"""`sketchrnn fit --workers N`: every job trains at once, each on its own Ray Train DDP group.

The driver: prepare the jobs (`train.prepare`: locks, --fresh, resume checks, finished jobs
skipped), start (or join) Ray, plan the workers, start one `TorchTrainer`
per job (each in a thread, see trainer.py), and pass the progress hub's rows on until every job
has ended. A job that fails is reported with its reason while the others carry on. Ctrl-C tears
everything down at once; checkpoints are written atomically, so the latest one of every job is
intact and re-running the same command resumes from it.

Nothing here prints: the caller gets the plan (`on_plan`, once Ray is up and before any job
starts), every progress row (`on_row`: `{"job", "status", "step", ...}`, the rows the CLI's live
table takes) and, returned, each job's outcome.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sketchrnn.distributed.packing import local_gpu_memory_gib
from sketchrnn.distributed.planner import Plan, plan, workers_that_fit
from sketchrnn.distributed.storage import absolute_job, log_dir, runs_store
from sketchrnn.train.job import JobSpec
from sketchrnn.train.prepare import prepare_jobs

POLL_S = 0.25
ENV_PREFIX = "SKETCHRNN_"  # forwarded to the workers (e.g. SKETCHRNN_DEBUG)

Row = dict[str, Any]


def run_with_ray(jobs: list[JobSpec], runs_dir: Any, *, workers: int, fresh: bool,
                 address: str | None, gpus_per_worker: float | None,
                 on_plan: Callable[[Plan], None] = lambda p: None,
                 on_row: Callable[[Row], None] = lambda r: None,
                 calibrate: Callable[[Path], dict[str, Any]] | None = None,
                 verbose: bool = False) -> dict[str, Row]:
    """Train `jobs` on Ray with `workers` training processes in all; `calibrate` is the predict
    task's end step (see `train.loop.Hooks`). Ray's own messages go to `<runs_dir>/ray-logs/`,
    or with `verbose` to the terminal (see cluster.py).

    Returns each job's outcome in the order of `jobs`: `status` ("done" or "failed: <reason>"),
    `step`, `best_valid_loss`, `test`, `wall_s`, `attempt` (> 1 after worker failures),
    `resumed_from`, and `skipped` for a job that had finished before (Ray is then not started).
    """
    store = runs_store(runs_dir)  # a path, a URI, or an open `storage.RunsStore`
    jobs = [absolute_job(j) for j in jobs]
    with prepare_jobs(jobs, store, fresh=fresh) as prepared:  # held until every job has ended
        results: dict[str, Row] = dict(prepared.done)
        if prepared.todo:
            results.update(_train(jobs, dict(results), store, workers=workers, address=address,
                                  gpus_per_worker=gpus_per_worker, on_plan=on_plan, on_row=on_row,
                                  calibrate=calibrate, verbose=verbose))
    return {j.name: results[j.name] for j in jobs}


def _train(jobs: list[JobSpec], done: dict[str, Row], store: Any, *, workers: int, address: str | None,
           gpus_per_worker: float | None, on_plan: Callable[[Plan], None],
           on_row: Callable[[Row], None],
           calibrate: Callable[[Path], dict[str, Any]] | None, verbose: bool) -> dict[str, Row]:
    """Train the jobs not in `done` (finished earlier, shown as done); returns their results."""
    import ray

    from sketchrnn.distributed.cluster import ray_session
    from sketchrnn.distributed.trainer import JobRun, build_trainer

    todo = [j for j in jobs if j.name not in done]
    with ray_session(address, log_dir=log_dir(store), verbose=verbose) as session:
        resources = ray.cluster_resources()
        gpus = resources.get("GPU", 0.0)
        the_plan = plan(todo, workers, cluster_cpus=resources.get("CPU", 0.0), cluster_gpus=gpus,
                        gpus_per_worker=gpus_per_worker,
                        gpu_memory_gib=local_gpu_memory_gib() if gpus and gpus_per_worker is None else None)
        on_plan(the_plan)
        hub = progress_hub(ray)
        env = {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIX)}
        by_name = {j.name: j for j in todo}

        def start(name: str) -> JobRun:
            row = the_plan.row(name)
            trainer = build_trainer(by_name[name], store.job_dir(name), workers=row.workers,
                                    cpus_per_worker=row.cpus_per_worker,
                                    gpus_per_worker=row.gpus_per_worker, hub=hub, env=env,
                                    calibrate=calibrate, remote=store if store.remote else None)
            run = JobRun(name, trainer)
            run.start()
            return run

        for name, result in done.items():
            on_row({"job": name, "status": "done", "step": result.get("step"), "total": result.get("step")})
        return Schedule(the_plan, start, on_row, drain=lambda: ray.get(hub.drain.remote()),
                        failure=lambda name: ray.get(hub.failure.remote(name)), logs=session.logs,
                        capacity=lambda row: workers_that_fit(ray.nodes(), row)).run()


def progress_hub(ray: Any) -> Any:
    """The hub actor, on the driver's node like Train's own controllers: wherever else it
    landed, losing that node would take every job's progress (and fit) with it."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from sketchrnn.distributed.hub import ProgressHub

    here = NodeAffinitySchedulingStrategy(node_id=ray.get_runtime_context().get_node_id(), soft=False)
    return ray.remote(num_cpus=0, scheduling_strategy=here)(ProgressHub).remote()


class Schedule:
    """Start jobs while their workers are free (biggest first), feed the table, collect outcomes.

    A job's trainer (and with it its driver thread, Train controller and placement group) is
    built only when the job starts, so however many jobs are queued the driver holds at most
    `plan.workers` workers' worth of them; a queued job is a name in a list. `start(name)`
    returns a run whose `outcome` is set when it ends; `drain()` returns the progress rows
    pushed since the last call, `failure(name)` the reason recorded for a failed job.

    The plan is made from the cluster that was up at the start. Before a queued job starts,
    `capacity(row)` says how many workers of that row's size the live nodes hold now: after a
    node is lost, fewer jobs run at once (the jobs that lost workers retry on what is left
    and are not joined by new ones competing for it); a node that comes back raises it again,
    up to the plan. With nothing running, the next job starts whatever the capacity: Ray then
    waits for resources (an autoscaler may add them) instead of the queue stalling.
    """

    def __init__(self, the_plan: Plan, start: Callable[[str], Any], on_row: Callable[[Row], None], *,
                 drain: Callable[[], list[Row]], failure: Callable[[str], str | None], logs: str,
                 capacity: Callable[[Any], int] | None = None) -> None:
        self.plan, self.start, self.on_row, self.logs = the_plan, start, on_row, logs
        self.drain, self.failure, self.capacity = drain, failure, capacity
        self.queue = the_plan.start_order()
        self.runs: dict[str, Any] = {}
        self.results: dict[str, Row] = {}

    def run(self) -> dict[str, Row]:
        for name in self.queue:
            self._status(name, "queued")
        try:
            while self.queue or self.runs:
                self._start_what_fits()
                for row in self.drain():
                    self.on_row(row)
                self._collect()
                time.sleep(POLL_S)
            for row in self.drain():  # the last rows, under their final status
                self.on_row({**row, "status": self.results[row["job"]]["status"].split(":")[0]})
        except KeyboardInterrupt:
            for name in list(self.runs) + self.queue:
                self._status(name, "interrupted")
            raise
        return self.results

    def _status(self, name: str, status: str) -> None:
        self.on_row({"job": name, "status": status})

    def _start_what_fits(self) -> None:
        while self.queue and self._fits(self.plan.row(self.queue[0])):
            name = self.queue.pop(0)
            self.runs[name] = self.start(name)
            self._status(name, f"starting ({self.plan.row(name).workers} workers)")

    def _fits(self, row: Any) -> bool:
        busy = sum(self.plan.row(name).workers for name in self.runs)
        if busy + row.workers > self.plan.workers:
            return False
        if self.capacity is None or not self.runs:
            return True
        return busy + row.workers <= self.capacity(row)

    def _collect(self) -> None:
        for name, run in list(self.runs.items()):
            if run.outcome is None:
                continue
            del self.runs[name]
            self.results[name] = _finish(run.outcome, self.failure(name), self.logs)
            self._status(name, self.results[name]["status"].split(":")[0])


def _finish(outcome: Row, recorded: str | None, logs: str) -> Row:
    if outcome.get("status") == "done":
        return outcome
    reason = recorded or outcome.get("reason") or "unknown error"
    hint = "" if recorded else f" (worker logs: {logs})"
    return {**outcome, "status": f"failed: {reason}{hint}"}
