"""`sketchrnn fit`: train draw models (one per category) and the predict model."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from sketchrnn.cli.options import PROGRESS_EVERY, build_config, config_options, progress_option


def _categories(names: tuple[str, ...], categories_opt: str | None, all_categories: bool,
                configured: list[str]) -> list[str]:
    chosen = list(names)
    if categories_opt:
        chosen += [c.strip() for c in categories_opt.split(",") if c.strip()]
    if all_categories:
        chosen += configured
    if not chosen:
        raise click.UsageError("name categories, or use --categories a,b,c or --all-categories")
    return list(dict.fromkeys(chosen))


def check_categories(categories: list[str], data_dir: Path | None = None) -> list[str]:
    """Canonical names; every unknown name is reported in one error. A name no source provides
    is one of your own when ``data_dir`` holds its ``<name>.npz``."""
    from sketchrnn.errors import PluginError, SketchRNNError
    from sketchrnn.registry import get_registry

    canonical, problems = [], []
    for name in categories:
        try:
            canonical.append(get_registry().resolve_category(name, data_dir=data_dir)[1])
        except PluginError as exc:
            problems.append(exc.message + (f" ({exc.fix})" if exc.fix else ""))
    if problems:
        raise SketchRNNError("; ".join(problems), "see `sketchrnn plugins` for category sources")
    return canonical


def check_category_name(category: str) -> str:
    """The canonical name of a category some source provides, else ``category`` itself as a
    category of your own when it is a plain file name (``data/names.py``: the rule by which
    `fit --data-dir` reads ``<name>.npz`` and meta.json stores names), for commands that name a
    category without reading its data (`import`). Otherwise the one-line error."""
    from sketchrnn.data.names import check_file_stem
    from sketchrnn.errors import SketchRNNError

    try:
        return check_categories([category])[0]
    except SketchRNNError:
        if ":" in category:  # source:name: that source does not have it
            raise
    return check_file_stem(category, "category name")


def check_trained_category(category: str, runs_dir: Path, checkpoint: Path | str | None) -> str:
    """The canonical name of a category a command reads a draw model of (`sample`, `export`,
    `eval draw`): a name some source provides, or one of your own (a plain file name) that a
    draw model was trained on; the model's meta then must name it (``runs.load_draw_for``)."""
    from sketchrnn.data.names import check_file_stem
    from sketchrnn.errors import DataError, SketchRNNError
    from sketchrnn.runs import find_draw_checkpoint

    try:
        return check_categories([category])[0]
    except SketchRNNError as unknown:
        try:
            check_file_stem(category, "category name")
        except DataError:
            raise unknown from None
        explicit = checkpoint is not None and Path(checkpoint).exists()
        if not (explicit or find_draw_checkpoint(category, runs_dir)):
            raise
        return category


def fetch_data(categories: list[str], data: Any) -> None:
    """Every category on this machine before training starts (download bars), or one error."""
    from sketchrnn.cli.data_cmd import category_progress
    from sketchrnn.train.fetch import fetch_categories

    with category_progress() as progress:
        fetch_categories(categories, data, progress=progress)


@click.command()
@click.argument("names", nargs=-1)
@click.option("--categories", "categories_opt", help="Comma-separated categories.")
@click.option("--all-categories", is_flag=True, help="Every category in data.categories.")
@click.option("--only", type=click.Choice(["draw", "predict"]), help="Train only one kind of model.")
@click.option("--workers", type=int, default=0, show_default=True,
              help="Total Ray training workers for all jobs; 0 trains in this process, one job after another.")
@click.option("--runs", "runs_dir", default="runs", show_default=True,
              help="Where job folders (checkpoints, metrics, plots) go: a folder, or a URI such as "
              "s3://bucket/runs or gs://bucket/runs.")
@click.option("--fresh", is_flag=True, help="Start over instead of resuming unfinished jobs.")
@click.option("--address", envvar="RAY_ADDRESS", help="Ray cluster to join (default: start a local one).")
@click.option("--gpus-per-worker", type=float, default=None,
              help="GPU share per worker (default: small jobs share a GPU, as the plan table says why; "
                   "0.5 packs two workers per GPU).")
@click.option("--verbose", is_flag=True, help="Show Ray's own messages here (default: only in <runs>/ray-logs/).")
@click.option("--no-tf32", is_flag=True, help="Full fp32 on GPUs (sets train.tf32=false for every model).")
@click.option("--compile", "compile_", type=click.Choice(["off", "auto", "on"]), default=None,
              help="Capture the training forward with torch.compile (train.compile for every model).")
@progress_option
@config_options
def fit(names: tuple[str, ...], categories_opt: str | None, all_categories: bool, only: str | None,
        workers: int, runs_dir: str, fresh: bool, address: str | None,
        gpus_per_worker: float | None, verbose: bool, no_tf32: bool, compile_: str | None,
        progress_every: float, **config_kw: Any) -> None:
    """Train one draw model per category and the predict model over all of them.

    \b
    Examples:
      sketchrnn fit --all-categories --workers 8
      sketchrnn fit pig --workers 0 --data-dir data/ --preset tiny --steps 300
      sketchrnn fit --categories "alarm clock,face,pig,radio" --workers 2 --data-dir data/
      sketchrnn fit sun --config my.toml --set draw.train.lr=5e-4
      sketchrnn fit pig --workers 2 --runs s3://my-bucket/runs
    """
    if workers < 0:
        raise click.BadParameter("must be >= 0", param_hint="--workers")
    switches = [f"{task}.train.{key}={value}" for task in ("draw", "predict")
                for key, value in (("tf32", "false" if no_tf32 else None), ("compile", compile_)) if value]
    from sketchrnn.storage import open_runs

    with open_runs(runs_dir) as store:  # a bad URI, bucket or endpoint fails here, in seconds
        _fit(names, categories_opt, all_categories, only, workers, store, fresh, address,
             gpus_per_worker, verbose, progress_every,
             {**config_kw, "overrides": (*switches, *config_kw["overrides"])})


def _fit(names: tuple[str, ...], categories_opt: str | None, all_categories: bool, only: str | None,
         workers: int, store: Any, fresh: bool, address: str | None, gpus_per_worker: float | None,
         verbose: bool, progress_every: float, config_kw: dict[str, Any]) -> None:
    config = build_config(**config_kw)
    categories = check_categories(_categories(names, categories_opt, all_categories, config.data.categories),
                                  config.data.data_dir)
    from sketchrnn.train.job import make_jobs

    jobs = make_jobs(config, categories, only)
    if only == "predict" and len(categories) < 2:
        raise click.UsageError("the predict model needs at least two categories")
    if len(categories) < 2:  # a classifier over one category learns nothing
        jobs = [j for j in jobs if j.task != "predict"]
    fetch_data(categories, config.data)  # before Ray starts: a missing category fails in seconds
    from sketchrnn.predict.calibration import calibrate

    if workers == 0:
        failed = run_in_process(jobs, store, fresh=fresh, calibrate=calibrate,
                                progress_every=progress_every)
    else:
        failed = run_on_ray(jobs, store, workers=workers, fresh=fresh, address=address,
                            gpus_per_worker=gpus_per_worker, calibrate=calibrate, verbose=verbose,
                            progress_every=progress_every)
    if failed:
        raise click.exceptions.Exit(1)
    draw_jobs = [j for j in jobs if j.task == "draw"]
    store.pull([j.name for j in jobs])  # a bucket: what the Ray workers published
    judge_draw_checkpoints([j.categories[0] for j in draw_jobs], store.local)
    for job in draw_jobs:  # the judged figures are in the checkpoints' meta
        store.publish(job.name)


def judge_draw_checkpoints(categories: list[str], runs_dir: Path) -> None:
    """Where a draw job's best and latest checkpoints differ, judge both by their samples so that
    sampling uses the better one (docs/draw_quality.md); one line each."""
    from sketchrnn.cli.console import console
    from sketchrnn.errors import SketchRNNError
    from sketchrnn.evaluation.checkpoint_choice import measure_draw_checkpoints
    from sketchrnn.runs import draw_job_name

    for category in categories:
        try:
            result = measure_draw_checkpoints(category, runs_dir)
        except SketchRNNError as e:
            console().print(f"{draw_job_name(category)}: checkpoints not judged ({e})")
            continue
        if result is not None:
            best, latest = result["best"], result["latest"]
            console().print(f"{draw_job_name(category)}: sample FID best (step {best['step']:,}) "
                            f"{best['fid']:.3f}, latest (step {latest['step']:,}) "
                            f"{latest['fid']:.3f}; sampling uses {result['chosen']}")


def run_in_process(jobs: list[Any], store: Any, *, fresh: bool, calibrate: Any = None,
                   progress_every: float = PROGRESS_EVERY) -> list[str]:
    """Train each job here, one after another, in the runs folder `store` (a RunsStore, or a
    local path); returns the names of jobs that failed."""
    from sketchrnn.cli.console import console
    from sketchrnn.cli.progress import JobTable, print_summary, schedule_table
    from sketchrnn.storage import RunsStore, open_runs
    from sketchrnn.train.prepare import prepare_jobs

    store = store if isinstance(store, RunsStore) else open_runs(store)
    with prepare_jobs(jobs, store, fresh=fresh) as prepared:
        results: dict[str, dict[str, Any]] = dict(prepared.done)
        if prepared.todo:
            console().print(schedule_table(prepared.todo, job_schedules(prepared.todo)))
        with JobTable([j.name for j in jobs], every=progress_every) as table:
            for name, done in prepared.done.items():
                table.update({"job": name, "status": "done", "step": done.get("step"),
                              "total": done.get("step")})
            for job in prepared.todo:
                results[job.name] = _fit_here(job, store, table, calibrate)
    return print_summary({j.name: results[j.name] for j in jobs})


def _fit_here(job: Any, store: Any, table: Any, calibrate: Any) -> dict[str, Any]:
    """Train one job in this process; its summary row (a known failure is a row, not a raise)."""
    from sketchrnn.errors import SketchRNNError
    from sketchrnn.train.loop import Hooks, fit_job, pick_device

    device = pick_device(job.settings.train.device)
    start = time.perf_counter()
    table.set_status(job.name, "running")
    try:
        final = fit_job(job, store.job_dir(job.name), device=device,
                        hooks=Hooks(report=table.update, calibrate=calibrate,
                                    publish=lambda: store.publish(job.name)))
    except (SketchRNNError, FloatingPointError) as exc:
        table.set_status(job.name, "failed")
        return {"status": f"failed: {exc}"}
    table.set_status(job.name, "done")
    return {**final, "status": "done", "wall_s": time.perf_counter() - start}


def job_schedules(jobs: list[Any]) -> dict[str, str]:
    """Each job's effective lr and KL schedules in words, for the plan."""
    from sketchrnn.train.schedule import describe_schedule

    return {job.name: describe_schedule(job) for job in jobs}


def ray_logs_line(log_dir: Path, verbose: bool) -> str:
    """Where Ray's own messages went, in one line."""
    from sketchrnn.distributed.cluster import LOG_LINK

    where = f"Ray's logs: {log_dir / LOG_LINK}/"
    return where if verbose else f"{where} (--verbose shows them here)"


def run_on_ray(jobs: list[Any], runs_dir: Any, *, workers: int, fresh: bool, address: str | None,
               gpus_per_worker: float | None, calibrate: Any = None, verbose: bool = False,
               progress_every: float = PROGRESS_EVERY) -> list[str]:
    """Train every job at once on Ray: the plan, then the live table, then the summary."""
    from contextlib import ExitStack

    from sketchrnn.cli.console import console
    from sketchrnn.cli.progress import JobTable, plan_table, print_summary
    from sketchrnn.distributed.launch import run_with_ray
    from sketchrnn.distributed.storage import log_dir, runs_store

    runs_dir = runs_store(runs_dir)

    live: list[JobTable] = []

    schedules = job_schedules(jobs)

    def on_plan(plan: Any) -> None:  # Ray is up; the live table starts below the plan
        console().print(plan_table(plan, schedules))
        console().print(ray_logs_line(log_dir(runs_dir), verbose), highlight=False)
        live.append(stack.enter_context(JobTable([j.name for j in jobs], every=progress_every)))

    try:
        with ExitStack() as stack:
            results = run_with_ray(jobs, runs_dir, workers=workers, fresh=fresh, address=address,
                                   gpus_per_worker=gpus_per_worker, on_plan=on_plan,
                                   on_row=lambda row: live[0].update(row), calibrate=calibrate,
                                   verbose=verbose)
    except KeyboardInterrupt:
        console().line()
        console().print("[yellow]interrupted: stopping all jobs; their latest checkpoints are intact, "
                        "run the same command again to resume[/yellow]")
        raise
    console().line()  # a live table in a pipe does not end its last line
    return print_summary(results)
