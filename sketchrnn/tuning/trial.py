"""One trial of a sweep: a Ray Tune function trainable that runs one Ray Train job.

With Train V2 a trainer cannot be handed to `Tuner` any more; each trial is a function that
builds a `TorchTrainer` and calls `fit()` (Ray's "Hyperparameter Tuning with Ray Tune" guide).
The trial's training workers run the same per-worker function as `sketchrnn fit --workers N`
(`distributed.worker.train_fn`), so a trial trains exactly like a fit job would.

How the metrics reach Tune: the worker calls `ray.train.report` at every evaluation step (rank 0
with its validation row). A Train run callback, `ValidReport` (Ray's `TuneReportCallback` with
our metric names), runs in the Train controller and forwards rank 0's row to this trial's Tune
session, where ASHA sees it. When ASHA stops the trial, Tune ends this trial's actor; the Train
controller and its workers are owned by it and go with it.

Resume: the Train run is named after the trial id (its folder is `<sweep>/<trial id>/job`), so
a trial restarted by `Tuner.restore` finds its own job folder and the training loop carries on
from `checkpoints/latest`.

A sweep on object storage (`setup["runs"]`, the sweep's URI): the trial's folder
`<sweep>/<trial id>` is a runs folder of its own whose one job is `job`; the trial copies that
job's published files down, and it trains exactly as a `fit` job in a bucket does (each worker
stages and rank 0 publishes: distributed.worker; Ray Train's storage is the bucket).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sketchrnn.tuning.space import SearchSpace

JOB_DIR = "job"  # the trial's job folder inside its Tune trial folder
HUB_NAME = "sketchrnn-tune-hub"  # named ProgressHub actor the driver starts for the sweep
TERMS = ("loss", "recon", "kl", "accuracy")


def valid_metrics(row: dict[str, Any]) -> dict[str, Any] | None:
    """A worker's report row as Tune metrics (`valid_loss`, ...), or None for a train row."""
    if row.get("split") != "valid":
        return None
    out = {f"valid_{k}": row[k] for k in TERMS if isinstance(row.get(k), (int, float))}
    out["step"] = int(row["step"])
    return out


def final_valid_metrics(job_dir: Path) -> dict[str, Any] | None:
    """The validation metrics a finished job's latest checkpoint recorded, as Tune metrics."""
    from sketchrnn.checkpoint_meta import read_meta_if_present
    from sketchrnn.runs import JobDir

    meta = read_meta_if_present(JobDir(job_dir).latest)
    if meta is None:
        return None
    row = {k.removeprefix("valid_"): v for k, v in meta.metrics.items() if k.startswith("valid_")}
    return valid_metrics({**row, "split": "valid", "step": meta.step}) if row else None


def make_valid_report(trial_id: str) -> Any:
    """The Train run callback (it runs in the Train controller) for one trial.

    It forwards rank 0's validation rows to the trial's Tune session, and once tells the driver
    (through the progress hub) the controller's own actor handle. Why: when Tune stops a trial
    early (ASHA, time budget), it ends the trial actor, and the Train controller it owns dies
    with it before it can release its workers' placement group; Train's own cleaner for that
    case needs the Ray dashboard's state API. The driver instead aborts the run through this
    handle as soon as Tune stops the trial (events.py), which frees the CPUs for the next trial.
    """
    import ray
    from ray.tune.integration.ray_train import TuneReportCallback

    class ValidReport(TuneReportCallback):
        announced = False

        def after_report(self, run_context: Any, metrics: list[dict[str, Any]], checkpoint: Any) -> None:
            if not self.announced:
                self.announced = True
                _announce_controller(trial_id, ray.get_runtime_context().current_actor)
            converted = valid_metrics(metrics[0]) if metrics else None
            if converted is not None:  # rank 0 validates; other ranks' rows are train rows
                super().after_report(run_context, [converted], checkpoint)

    return ValidReport()


def _announce_controller(trial_id: str, controller: Any) -> None:
    import ray

    try:
        hub = ray.get_actor(HUB_NAME)
    except ValueError:
        return
    hub.push.remote({"job": trial_id, "split": "controller", "controller": controller})


def run_trial(params: dict[str, Any], *, setup: dict[str, Any]) -> None:
    """Tune's trainable: `params` is one sample of the space, `setup` the sweep's fixed settings.

    `setup` holds: task, categories, base (raw config dict), space (as_json), sweep_dir, workers,
    cpus_per_worker, gpus_per_worker, max_failures, env, runs (the sweep's URI, or None).
    """
    import contextlib

    import ray.tune

    from sketchrnn.config import validate_config
    from sketchrnn.errors import SketchRNNError
    from sketchrnn.train.job import JobSpec
    from sketchrnn.tuning.space import parse_space

    trial_id = ray.tune.get_context().get_trial_id()
    task = setup["task"]
    space: SearchSpace = parse_space(setup["space"], task, base=setup["base"])
    try:  # the space was checked on the driver, but a combination can still be invalid
        config = validate_config(space.apply(setup["base"], params))
    except SketchRNNError as exc:
        raise TrialFailed(str(exc)) from None
    job = JobSpec(name=trial_id, task=task, categories=list(setup["categories"]), data=config.data,
                  settings=getattr(config, task))
    with contextlib.ExitStack() as stack:
        remote = None
        job_dir = Path(setup["sweep_dir"]) / trial_id / JOB_DIR
        if setup.get("runs"):  # object storage: this trial's staging copy of its job folder
            from sketchrnn.storage import join_uri, open_runs

            remote = stack.enter_context(open_runs(join_uri(setup["runs"], trial_id)))
            remote.pull([JOB_DIR])
            job_dir = remote.job_dir(JOB_DIR)
        _train_trial(job, job_dir, setup, remote)


def _train_trial(job: Any, job_dir: Path, setup: dict[str, Any], remote: Any) -> None:
    """Train the trial's job in `job_dir` (the staging copy when `remote`, the trial's runs
    folder on object storage, is given), or hand Tune the result of a finished one."""
    import ray
    import ray.tune

    from sketchrnn.distributed.trainer import MAX_FAILURES, build_trainer, failure_reason
    from sketchrnn.train.prepare import finished

    if finished(job, job_dir) is not None:
        # Restored after an interruption that came between its last step and Tune's bookkeeping:
        # Tune still needs a result with the sweep's metric, so hand it the recorded final one.
        final = final_valid_metrics(job_dir)
        if final is not None:
            ray.tune.report(final)
        return
    try:
        hub = ray.get_actor(HUB_NAME)
    except ValueError:  # no hub (e.g. a test calling this directly): no failure memory, no live rows
        hub = None
    trainer = build_trainer(
        job, job_dir, workers=int(setup["workers"]), cpus_per_worker=float(setup["cpus_per_worker"]),
        gpus_per_worker=float(setup.get("gpus_per_worker", 0.0)), hub=hub, env=setup.get("env", {}),
        max_failures=int(setup.get("max_failures", MAX_FAILURES)), callbacks=[make_valid_report(job.name)],
        remote=remote,
    )
    try:
        result = trainer.fit()
    except Exception as exc:  # noqa: BLE001 - one readable line for the results table
        raise TrialFailed(failure_reason(exc)) from None
    outcome = getattr(result, "return_value", None) or {}
    if outcome.get("status") == "failed":  # a failure the worker knew retrying cannot fix
        raise TrialFailed(str(outcome.get("reason", "training failed")))


class TrialFailed(RuntimeError):
    """A trial's training failed; the message is the first worker's own error, on one line."""


def trial_dirname(trial: Any) -> str:
    """Tune trial folders named by trial id alone: stable across restores, short in tables."""
    return str(trial.trial_id)
