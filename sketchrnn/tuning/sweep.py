"""The driver of `sketchrnn tune`: start (or resume) a Ray Tune sweep whose trials are Train jobs.

Layout of one sweep (`--runs runs` -> `runs/tune-predict/`)::

    runs/tune-predict/
      sweep.json              what this sweep is (task, categories, base config, space, options)
      tuner.pkl, experiment_state-*.json, ...   Ray Tune's own state (what `Tuner.restore` reads)
      <trial id>/             Tune's trial folder (params.json, result.json, progress.csv)
        job/                  the trial's job folder, exactly like a `fit` job's (checkpoints, plots)
      best.yaml, best.json, trials.png          written by the CLI at the end (report.py)

Resume: re-running the same command finds Tune's state (`Tuner.can_restore`) and restores it:
finished trials stay finished, trials cut off by the interruption run again and their training
loops resume from their own `checkpoints/latest`, errored trials get one more go (a worker lost
with the driver looks like an error). A re-run with different settings would mix two sweeps in
one table, so it is refused unless `--fresh` starts over.

Search: random sampling (Tune's BasicVariantGenerator, seeded) needs nothing extra; Optuna's TPE
(`OptunaSearch`) is used when optuna is installed (`--search auto`) or asked for. Early stopping:
ASHA on the validation metric, with time measured in training steps (`step`), not in reports, so
that a resumed trial, whose Tune iteration count restarts at 1, is still compared at the right
rung. Rungs start at max(eval_every, steps / 10) and grow 3x. A trial ASHA stops has its Train
run aborted by the driver (events.py), which frees its workers for the next trial.

Where the sweep lives: a local path (or NFS mounted alike on every node), or a prefix in object
storage (`--runs s3://...`, `spec.store`). There, Tune keeps its state and trial folders in the
bucket itself (`RunConfig(storage_path, storage_filesystem)`, as `fit`'s Train runs do); each
trial stages its job folder and publishes it like a `fit` job (trial.py); sweep.json and what
the CLI writes at the end are written in the local staging copy and uploaded whole, one PUT each.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from sketchrnn._io import write_text_atomic
from sketchrnn.errors import ConfigError, SketchRNNError
from sketchrnn.tuning.space import SearchSpace
from sketchrnn.tuning.trial import HUB_NAME

TRIAL_CPU = 0.01  # the trial function only waits on trainer.fit(); Tune refuses zero resources
REDUCTION_FACTOR = 3
ENV_PREFIX = "SKETCHRNN_"


@dataclass
class SweepSpec:
    """Everything one `sketchrnn tune` invocation asks for (plain values, checked by the CLI)."""

    task: str
    categories: list[str]
    base: dict[str, Any]  # raw config dict (exclude_unset dump), paths absolute
    space: SearchSpace
    steps: int
    eval_every: int
    seed: int
    runs_dir: Path
    samples: int = 10
    max_concurrent: int | None = None
    workers_per_trial: int = 1
    gpus_per_worker: float | None = None
    time_budget_s: float | None = None
    search: str = "auto"
    device: str = "auto"
    fresh: bool = False
    address: str | None = None
    store: Any = None  # the runs folder (`storage.RunsStore`), `runs_dir` being its local copy

    @property
    def remote(self) -> Any:
        """The runs folder when it is on object storage, else None."""
        return self.store if self.store is not None and self.store.remote else None

    def name_of(self, path: Path) -> str:
        """How to name a path of the sweep to the user: for object storage, its URI."""
        return self.remote.name_of(path) if self.remote is not None else str(path)

    def experiment(self) -> tuple[str, Any]:
        """Where Tune keeps the sweep: (path, filesystem), as `Tuner.can_restore` takes them."""
        if self.remote is None:
            return str(self.sweep_dir), None
        return f"{self.remote.root}/{self.name}", self.remote.fs

    @property
    def task_class(self) -> Any:
        """The task's class (train.tasks): its metric and direction, its job name."""
        from sketchrnn.train.tasks import task_class

        return task_class(self.task)

    @property
    def name(self) -> str:
        return f"tune-{self.task_class.job_name(self.categories)}"

    @property
    def sweep_dir(self) -> Path:
        return Path(self.runs_dir).expanduser().resolve() / self.name

    def identity(self) -> dict[str, Any]:
        """What must not change between a sweep and its resumption (saved as sweep.json)."""
        return {"task": self.task, "categories": self.categories, "base": self.base,
                "space": self.space.as_json(), "samples": self.samples, "search": self.search,
                "max_concurrent": self.max_concurrent, "time_budget_s": self.time_budget_s}


@dataclass
class SweepRun:
    """What `run_sweep` hands back: Tune's results plus what the driver saw."""

    results: Any  # ray.tune.ResultGrid
    metric: str
    mode: str
    search: str  # "random" or "optuna"
    resumed: bool
    statuses: dict[str, str] = field(default_factory=dict)  # trial id -> Tune status at the end
    max_concurrent: int = 1
    cpus_per_worker: float = 1.0

    @property
    def interrupted(self) -> bool:
        return any(s in ("RUNNING", "PENDING", "PAUSED") for s in self.statuses.values())


def resolve_search(search: str) -> str:
    import importlib.util

    has_optuna = importlib.util.find_spec("optuna") is not None
    if search == "optuna" and not has_optuna:
        raise ConfigError("--search optuna needs the optuna package", "pip install optuna, or use --search random")
    return "optuna" if search == "optuna" or (search == "auto" and has_optuna) else "random"


def prepare_dir(spec: SweepSpec) -> bool:
    """`--fresh`, the settings check and sweep.json; returns whether there is a sweep to resume."""
    from ray.tune import Tuner

    path, remote = spec.sweep_dir, spec.remote
    if spec.fresh and remote is not None:
        remote.clear(spec.name)
    if spec.fresh and path.exists():
        shutil.rmtree(path)
    saved = path / "sweep.json"
    identity = json.loads(json.dumps(spec.identity()))  # as it reads back from the file
    text = remote.read(f"{spec.name}/sweep.json") if remote is not None else (
        saved.read_bytes() if saved.exists() else None)
    if text is not None:
        before = json.loads(text)
        changed = sorted(k for k in set(before) | set(identity) if before.get(k) != identity.get(k))
        if changed:
            raise SketchRNNError(f"the sweep in {path} was started with other settings ({', '.join(changed)})",
                                 "re-run it with the same options to resume, add --fresh to start over, "
                                 "or use another --runs folder")
    write_text_atomic(saved, json.dumps(identity, indent=1) + "\n")  # half a file would not read back
    if remote is not None:
        remote.publish(spec.name, checkpoints=False)
    where, fs = spec.experiment()
    return Tuner.can_restore(where, storage_filesystem=fs)


def prepare_sweep(spec: SweepSpec) -> tuple[str, bool]:
    """Everything that can fail before Ray starts: (search algorithm, whether to resume)."""
    search = resolve_search(spec.search)
    return search, prepare_dir(spec)


def run_sweep(spec: SweepSpec, prepared: tuple[str, bool],
              sink: Callable[[dict[str, Any]], None] | None = None) -> SweepRun:
    """Run (or resume) the sweep to its end, or until interrupted; progress rows go to `sink`.

    Joins `spec.address` (or starts a local Ray) unless the caller already has.
    """
    import ray

    search, resumable = prepared
    from sketchrnn.distributed.cluster import ray_session

    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # with verbose=0: Tune prints nothing itself
    with ray_session(spec.address):
        hub = _start_hub()
        k, cpus, gpus = plan_resources(spec, ray.cluster_resources())
        results = _tuner(spec, search, resumable, k, cpus, gpus, hub, sink).fit()
        from sketchrnn.tuning.events import LIVE

        metric, mode = spec.task_class.metric, spec.task_class.mode
        return SweepRun(results=results, metric=metric, mode=mode, search=search, resumed=resumable,
                        statuses=dict(LIVE.statuses), max_concurrent=k, cpus_per_worker=cpus)


def plan_resources(spec: SweepSpec, resources: dict[str, float]) -> tuple[int, float, float]:
    """(concurrent trials, CPUs per worker, GPUs per worker): the cluster shared evenly.

    Same rule as `fit`'s planner: whole CPUs per worker when there are enough, else a fraction,
    so that every concurrent trial can start at once.
    """
    cpus, gpus_total, w = resources.get("CPU", 0.0), resources.get("GPU", 0.0), spec.workers_per_trial
    if cpus <= 0:
        raise ConfigError("the Ray cluster has no CPUs", "start it with CPUs, e.g. `ray start --num-cpus 4`")
    gpw = spec.gpus_per_worker
    if gpw is None:
        gpw = 1.0 if gpus_total >= 1 and spec.device != "cpu" else 0.0
    if spec.device == "cuda" and gpw <= 0:
        raise ConfigError(f"{spec.task}.train.device is 'cuda' but no GPU is available to the trials",
                          "set it to 'auto' or 'cpu', or join a cluster with GPUs via --address")
    if gpw > 0 and gpw * w > gpus_total:
        raise ConfigError(f"a trial needs {gpw * w:g} GPUs but the cluster has {gpus_total:g}",
                          "lower --workers-per-trial or --gpus-per-worker")
    by_resources = int(gpus_total // (gpw * w)) if gpw > 0 else int(cpus // w)
    k = spec.max_concurrent or max(1, by_resources)
    k = max(1, min(k, spec.samples))
    per_worker = (cpus - k * TRIAL_CPU) / (k * w)
    per_worker = float(math.floor(per_worker)) if per_worker >= 1 else math.floor(per_worker * 100) / 100
    return k, max(per_worker, 0.01), gpw


def _start_hub() -> Any:
    import ray

    from sketchrnn.distributed.hub import ProgressHub

    return ray.remote(num_cpus=0)(ProgressHub).options(name=HUB_NAME, get_if_exists=True).remote()


def _tuner(spec: SweepSpec, search: str, resumable: bool, k: int, cpus: float, gpus: float, hub: Any,
           sink: Any) -> Any:
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    from sketchrnn.distributed.storage import ray_storage
    from sketchrnn.distributed.trainer import MAX_FAILURES
    from sketchrnn.storage import join_uri
    from sketchrnn.tuning.events import LIVE, SweepEvents
    from sketchrnn.tuning.trial import run_trial, trial_dirname

    setup = {"task": spec.task, "categories": spec.categories, "base": spec.base,
             "space": spec.space.as_json(), "sweep_dir": str(spec.sweep_dir),
             "workers": spec.workers_per_trial, "cpus_per_worker": cpus, "gpus_per_worker": gpus,
             "max_failures": MAX_FAILURES,
             "runs": join_uri(spec.remote.text, spec.name) if spec.remote is not None else None,
             "env": {k_: v for k_, v in os.environ.items() if k_.startswith(ENV_PREFIX)}}
    trainable = tune.with_resources(tune.with_parameters(run_trial, setup=setup), {"cpu": TRIAL_CPU})
    LIVE.reset(sink, hub)
    if resumable:  # the saved run config brings its own SweepEvents, which reaches LIVE
        where, fs = spec.experiment()
        return tune.Tuner.restore(where, trainable, resume_unfinished=True, resume_errored=True,
                                  storage_filesystem=fs)
    metric, mode = spec.task_class.metric, spec.task_class.mode
    grace = max(spec.eval_every, spec.steps // 10)
    # stop_last_trials=False: a trial that survives every rung ends by itself (its loop writes the
    # test metrics) instead of being stopped by Tune at its last report.
    scheduler = ASHAScheduler(time_attr="step", max_t=spec.steps, grace_period=min(grace, spec.steps),
                              reduction_factor=REDUCTION_FACTOR, stop_last_trials=False)
    return tune.Tuner(
        trainable,
        param_space=spec.space.to_tune(),
        tune_config=tune.TuneConfig(
            metric=metric, mode=mode, num_samples=spec.samples, search_alg=_search_alg(search, spec.seed, k),
            max_concurrent_trials=k if search == "optuna" else None, scheduler=scheduler,
            time_budget_s=spec.time_budget_s, trial_dirname_creator=trial_dirname,
        ),
        run_config=tune.RunConfig(
            name=spec.name, **ray_storage(spec.remote, spec.sweep_dir), verbose=0,
            failure_config=tune.FailureConfig(max_failures=0),  # Train retries workers inside a trial
            callbacks=[SweepEvents(spec.steps)],
        ),
    )


def _search_alg(search: str, seed: int, k: int) -> Any:
    """Seeded, so that a sweep is repeatable. Tune ignores `max_concurrent_trials` when it is given
    a BasicVariantGenerator (it only wraps Searchers in a ConcurrencyLimiter), so the random
    search takes the limit itself; Optuna gets it through the TuneConfig."""
    if search == "optuna":
        from ray.tune.search.optuna import OptunaSearch

        return OptunaSearch(seed=seed)
    from ray.tune.search import BasicVariantGenerator

    return BasicVariantGenerator(random_state=seed, max_concurrent=k)
