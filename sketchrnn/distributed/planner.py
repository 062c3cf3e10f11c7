"""Split `--workers N` across the jobs of one `sketchrnn fit`.

Rules, and why:

* **Every job gets at least one worker; the rest go where the work is.** A job's work is
  ``training-set size x steps``: DDP does not shorten a job (the step count is fixed), it
  feeds each step ``workers`` times more sketches, so extra workers pay off most on the jobs
  with the most data to get through. The predict job trains on every category at once, so it
  is the biggest and gets the spare workers first. Spare workers are handed out one at a time
  to the job with the most work per worker (the "highest averages" apportionment), which keeps
  the split proportional and never takes a job's only worker.
* **Fewer workers than jobs: queue, don't fail.** Each job then trains on one worker and at most
  N run at once; the others wait for a free worker, biggest first (longest-job-first keeps the
  total wall time short). `--workers N` thus always means "N training processes at a time".
* **Learning rate: keep the configured per-worker batch and lr.** DDP averages gradients, so one
  step is an Adam update on ``batch x workers`` sketches at the configured lr: the effective
  batch grows and its gradient gets less noisy, not larger. The linear scaling rule
  (Goyal et al. 2017) is for SGD; Adam already divides by the gradient's RMS, and a 5x lr on
  the paper's LSTM with grad clipping at 1.0 diverges without warmup. The decay schedule is per
  step and stays as configured.
* **CPUs: share the cluster evenly.** Each worker gets ``cluster_cpus / N`` CPUs, rounded down to
  whole CPUs when there are enough (they become torch threads), or a fraction when N is larger
  than the CPU count, so that all N start at once instead of some queueing behind the others.
* **GPUs:** ``gpus_per_worker`` for jobs whose device is not ``cpu``; by default a fraction
  ``1 / k`` that packs ``k`` small jobs per GPU (packing.py says how k is chosen and why); a job never gets more workers than the cluster has GPUs for, or it could never
  be scheduled. A fraction (0.5) packs several *jobs* onto one GPU, each on a single worker:
  two ranks of one DDP job on the same GPU are refused by NCCL ("duplicate GPU").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sketchrnn.distributed.packing import choose_packing
from sketchrnn.errors import ConfigError
from sketchrnn.train.job import JobSpec


@dataclass(frozen=True)
class PlanRow:
    job: str
    task: str
    workers: int
    batch: int  # per worker
    effective_batch: int  # batch x workers: sketches per optimizer step
    lr: float
    effective_lr: float  # == lr: see the module docstring
    cpus_per_worker: float
    gpus_per_worker: float
    work: float  # training-set size x steps, in the units of `train_sizes`

    @property
    def threads(self) -> int:
        return torch_threads(self.cpus_per_worker)


def torch_threads(cpus_per_worker: float) -> int:
    """torch intra-op threads for one worker: its whole CPUs, at least one."""
    return max(1, int(cpus_per_worker))


@dataclass(frozen=True)
class Plan:
    rows: list[PlanRow]
    workers: int  # N: training processes at a time, over all jobs
    queued: bool  # fewer workers than jobs: jobs wait for a free worker, biggest first
    gpu_reason: str | None = None  # why each worker gets its GPU share, for the plan table

    def row(self, job: str) -> PlanRow:
        for r in self.rows:
            if r.job == job:
                return r
        raise KeyError(job)

    def start_order(self) -> list[str]:
        """Job names in the order they should be started: biggest work first."""
        return [r.job for r in sorted(self.rows, key=lambda r: -r.work)]


def plan(jobs: Sequence[JobSpec], workers: int, *, cluster_cpus: float, cluster_gpus: float,
         gpus_per_worker: float | None, train_sizes: Mapping[str, int] | None = None,
         max_workers: Mapping[str, int] | None = None, gpu_memory_gib: float | None = None) -> Plan:
    """Workers, batch, lr and resources per job.

    ``train_sizes`` maps job name -> training sketches; by default each category counts as one
    unit (QuickDraw categories all have 70,000 training sketches). ``max_workers`` caps single
    jobs (e.g. at 1 for jobs that cannot run DDP). ``gpu_memory_gib`` (one GPU's) bounds how
    many jobs share a GPU when ``gpus_per_worker`` is None.
    """
    if not jobs:
        raise ConfigError("nothing to train", "name at least one category")
    if workers < 1:
        raise ConfigError(f"--workers {workers} is not enough for Ray training",
                          "use --workers 1 or more, or --workers 0 to train in this process")
    if cluster_cpus <= 0:
        raise ConfigError("the Ray cluster has no CPUs", "start it with CPUs, e.g. `ray start --num-cpus 4`")
    gpw, gpu_reason = _gpus_per_worker(jobs, gpus_per_worker, cluster_gpus, gpu_memory_gib)
    caps = {j.name: _cap(j, gpw, cluster_gpus, max_workers) for j in jobs}
    work = {j.name: float((train_sizes or {}).get(j.name, len(j.categories))) * j.settings.train.steps
            for j in jobs}

    queued = workers < len(jobs)
    count = {j.name: 1 for j in jobs}
    spare = 0 if queued else workers - len(jobs)
    while spare > 0:
        open_jobs = [j.name for j in jobs if count[j.name] < caps[j.name]]
        if not open_jobs:
            break  # every job is at its cap: the rest of the workers would sit idle
        best = max(open_jobs, key=lambda name: work[name] / count[name])  # first wins ties
        count[best] += 1
        spare -= 1

    running = min(workers, sum(count.values()))
    cpus = cluster_cpus / running
    cpus = float(math.floor(cpus)) if cpus >= 1 else math.floor(cpus * 100) / 100
    rows = []
    for j in jobs:
        n, batch, lr = count[j.name], j.data.batch_size, j.settings.train.lr
        rows.append(PlanRow(
            job=j.name, task=j.task, workers=n, batch=batch, effective_batch=batch * n,
            lr=lr, effective_lr=lr, cpus_per_worker=max(cpus, 0.01),
            gpus_per_worker=0.0 if j.settings.train.device == "cpu" else gpw, work=work[j.name],
        ))
    return Plan(rows=rows, workers=workers, queued=queued, gpu_reason=gpu_reason)


def _gpus_per_worker(jobs: Sequence[JobSpec], requested: float | None, cluster_gpus: float,
                     gpu_memory_gib: float | None) -> tuple[float, str | None]:
    wants_cuda = [j.name for j in jobs if j.settings.train.device == "cuda"]
    on_gpu = [j for j in jobs if j.settings.train.device != "cpu"]
    reason = f"--gpus-per-worker {requested:g}, as given" if requested is not None else None
    if requested is None and cluster_gpus >= 1 and on_gpu:
        packing = choose_packing(on_gpu, cluster_gpus, gpu_memory_gib)
        requested, reason = packing.gpus_per_worker, packing.reason
    elif requested is None:  # no GPU job, or less than one GPU in all
        requested = 1.0 if cluster_gpus >= 1 else max(cluster_gpus, 0.0)
    if requested < 0:
        raise ConfigError(f"--gpus-per-worker {requested} is negative", "use 0, a fraction like 0.5, or 1")
    if requested > 0 and cluster_gpus <= 0:
        raise ConfigError(f"--gpus-per-worker {requested} but the Ray cluster has no GPUs",
                          "drop --gpus-per-worker, or join a cluster with GPUs via --address")
    if wants_cuda and requested == 0:
        raise ConfigError(f"{', '.join(wants_cuda)}: train.device is 'cuda' but no GPU is available "
                          "to the workers", "set train.device to 'auto' or 'cpu', or use a cluster with GPUs")
    if requested > cluster_gpus:
        raise ConfigError(f"--gpus-per-worker {requested} is more than the cluster's {cluster_gpus:g} GPUs",
                          f"use at most {cluster_gpus:g}")
    return float(requested), reason


def _cap(job: JobSpec, gpw: float, cluster_gpus: float, max_workers: Mapping[str, int] | None) -> int:
    cap = (max_workers or {}).get(job.name, 1 << 30)
    if gpw > 0 and job.settings.train.device != "cpu":
        cap = min(cap, 1 if gpw < 1 else max(1, int(cluster_gpus // gpw)))
    return max(1, cap)


def workers_that_fit(nodes: Sequence[Mapping[str, Any]], row: PlanRow) -> int:
    """How many workers of `row`'s size the live nodes hold (`ray.nodes()` entries: `Alive`,
    `Resources`), counted node by node: a worker's CPUs and GPU share come from one node."""
    needs = {k: v for k, v in (("CPU", row.cpus_per_worker), ("GPU", row.gpus_per_worker)) if v > 0}
    total = 0
    for node in nodes:
        if node.get("Alive") and needs:
            have = node.get("Resources") or {}
            total += min(math.floor(float(have.get(k, 0.0)) / v + 1e-9) for k, v in needs.items())
    return total
