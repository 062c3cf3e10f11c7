"""`sketchrnn tune draw CATEGORY` / `sketchrnn tune predict`: a Ray Tune sweep over a search space."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from sketchrnn.cli.options import build_config, config_options, progress_option

TOP = 10  # trials shown in the results table
COLOURS = {"done": "green", "failed": "red", "stopped early": "cyan", "not started": "dim"}


def _categories(task: str, names: tuple[str, ...], categories_opt: str | None, configured: list[str],
                data_dir: Path | None = None) -> list[str]:
    from sketchrnn.cli.fit_cmd import check_categories
    from sketchrnn.train.tasks import task_class

    cls = task_class(task)
    chosen = list(names) + [c.strip() for c in (categories_opt or "").split(",") if c.strip()]
    if cls.per_category and len(chosen) != 1:
        raise click.UsageError(f"`tune {task}` tunes the {task} model of one category: name exactly one")
    chosen = list(dict.fromkeys(chosen or configured))
    if len(chosen) < cls.min_categories:
        raise click.UsageError(f"the {task} model needs at least {cls.min_categories} categories")
    return check_categories(chosen, data_dir)


@click.command()
@click.argument("task", type=click.Choice(["draw", "predict"]))
@click.argument("names", nargs=-1, metavar="[CATEGORY]...")
@click.option("--categories", "categories_opt", help="Comma-separated categories (predict: default data.categories).")
@click.option("--space", "space_path", type=click.Path(path_type=Path),
              help="Search-space file (default: the <task>.yaml that ships with sketchrnn; the run prints its path).")
@click.option("--samples", type=int, default=10, show_default=True, help="Trials to run.")
@click.option("--max-concurrent", type=int, help="Trials at a time (default: as many as the cluster fits).")
@click.option("--workers-per-trial", type=int, default=1, show_default=True, help="Ray Train workers (DDP) per trial.")
@click.option("--gpus-per-worker", type=float, default=None, help="GPU share per worker (default 1 when GPUs exist).")
@click.option("--time-budget", type=float, help="Stop the whole sweep after this many seconds.")
@click.option("--search", type=click.Choice(["auto", "random", "optuna"]), default="auto", show_default=True,
              help="auto: Optuna when installed, else random sampling.")
@click.option("--runs", "runs_dir", default="runs", show_default=True,
              help="The sweep folder goes under it (e.g. runs/tune-predict/): a local or NFS folder, "
                   "or a URI such as s3://bucket/runs.")
@click.option("--fresh", is_flag=True, help="Start the sweep over instead of resuming it.")
@click.option("--address", envvar="RAY_ADDRESS", help="Ray cluster to join (default: start a local one).")
@click.option("--verbose", is_flag=True, help="Show Ray's own messages here (default: only in the sweep's ray-logs/).")
@progress_option
@config_options
def tune(task: str, names: tuple[str, ...], categories_opt: str | None, space_path: Path | None,
         samples: int, max_concurrent: int | None, workers_per_trial: int, gpus_per_worker: float | None,
         time_budget: float | None, search: str, runs_dir: str, fresh: bool, address: str | None,
         verbose: bool, progress_every: float, **config_kw: Any) -> None:
    """Search hyperparameters of the draw model of CATEGORY, or of the predict model.

    Each trial trains with Ray Train like `fit` does; ASHA stops poor trials early on the
    validation metric (draw: loss, predict: accuracy). Re-running the same command resumes an
    interrupted sweep. The best configuration is written as a config file for `fit --config`.

    \b
    Examples:
      sketchrnn tune draw pig --steps 2000 --samples 20 --data-dir data/
      sketchrnn tune predict --categories cat,pig,sun --space my-space.yaml --time-budget 3600
      sketchrnn fit pig --config runs/tune-draw-pig/best.yaml --steps 20000
      sketchrnn tune draw pig --runs s3://my-bucket/runs   # the sweep in a bucket
    """
    for name, value, low in (("--samples", samples, 1), ("--max-concurrent", max_concurrent, 1),
                             ("--workers-per-trial", workers_per_trial, 1)):
        if value is not None and value < low:
            raise click.BadParameter(f"must be >= {low}", param_hint=name)
    if time_budget is not None and time_budget <= 0:
        raise click.BadParameter("must be > 0 seconds", param_hint="--time-budget")
    from sketchrnn.storage import open_runs

    with open_runs(runs_dir) as store:  # a bad URI, bucket or endpoint fails here, in seconds
        spec = _sweep_spec(task, names, categories_opt, space_path, store, config_kw,
                           samples=samples, max_concurrent=max_concurrent,
                           workers_per_trial=workers_per_trial, gpus_per_worker=gpus_per_worker,
                           time_budget_s=time_budget, search=search, fresh=fresh, address=address)
        _run(spec, verbose, progress_every)


def _sweep_spec(task: str, names: tuple[str, ...], categories_opt: str | None, space_path: Path | None,
                store: Any, config_kw: dict[str, Any], **options: Any) -> Any:
    """The checked SweepSpec (the data fetched first: a missing category fails in seconds)."""
    from sketchrnn.config_sources import set_path
    from sketchrnn.tuning.space import load_default_space, load_space
    from sketchrnn.tuning.sweep import SweepSpec

    config = build_config(**config_kw)
    categories = _categories(task, names, categories_opt, config.data.categories, config.data.data_dir)
    from sketchrnn.cli.fit_cmd import fetch_data

    fetch_data(categories, config.data)  # before Ray starts: a missing category fails in seconds
    base = config.model_dump(mode="json", exclude_unset=True)  # keeps --preset meaning what it says
    for key in ("data_dir", "cache_dir"):  # trials run elsewhere (another cwd, another node)
        if (value := getattr(config.data, key)) is not None:
            set_path(base, f"data.{key}", str(Path(value).expanduser().resolve()))
    space = load_space(space_path, task, base) if space_path else load_default_space(task, base)
    train = getattr(config, task).train
    return SweepSpec(task=task, categories=categories, base=base, space=space, steps=train.steps,
                     eval_every=train.eval_every, seed=train.seed, runs_dir=store.local, store=store,
                     device=train.device, **options)


def _run(spec: Any, verbose: bool, progress_every: float) -> None:
    from sketchrnn.cli.console import console
    from sketchrnn.cli.fit_cmd import ray_logs_line
    from sketchrnn.cli.progress import JobTable
    from sketchrnn.distributed.cluster import ray_session
    from sketchrnn.distributed.storage import log_dir
    from sketchrnn.errors import SketchRNNError
    from sketchrnn.tuning.report import (best_row, fetch_results, plot_trials, publish_results, summarise,
                                         write_best)
    from sketchrnn.tuning.sweep import prepare_sweep, run_sweep

    prepared = prepare_sweep(spec)
    out = console()
    # Ray's logs are files on this machine: beside a local sweep, else in a local folder
    logs = spec.sweep_dir if spec.remote is None else log_dir(spec.remote) / spec.name
    # a bad --address fails here, before anything is shown
    with ray_session(spec.address, log_dir=logs, verbose=verbose):
        out.print(f"{'resuming' if prepared[1] else 'starting'} sweep {spec.name_of(spec.sweep_dir)}: "
                  f"{spec.samples} trials of {spec.steps} steps, {len(spec.space.params)} parameters from "
                  f"{spec.space.source}, search {prepared[0]}")
        out.print(ray_logs_line(logs, verbose), highlight=False)
        with JobTable([], every=progress_every) as table:
            run = run_sweep(spec, prepared, sink=table.update)
    out.line()
    fetch_results(spec)
    rows = summarise(run, spec)
    out.print(results_table(spec, run, rows))
    for r in rows:
        if r.error:
            out.print(f"[red]ERROR {r.trial_id}: {r.error}[/red]", highlight=False)
    plot = plot_trials(rows, run.metric, run.mode, spec.sweep_dir / "trials.png",
                       f"{spec.name}: {run.metric} per trial")
    best = best_row(rows, run.mode)
    if best is not None:
        fetch_results(spec, best)
        config_path, info_path = write_best(spec, run, best)
        step, value = best.best(run.mode) or (0, 0.0)
        out.print(f"best: trial {best.trial_id}, {run.metric} {value:.4g} at step {step}")
        out.print(f"best config: {spec.name_of(config_path)}  (details and checkpoint: {info_path.name})")
    publish_results(spec)
    out.print(f"plot: {spec.name_of(plot)}")
    if run.interrupted:
        out.print("[yellow]interrupted: finished trials are saved; run the same command again to resume "
                  "the others[/yellow]")
        raise click.exceptions.Exit(130)
    if best is None:
        errors = [r.error for r in rows if r.error]
        raise SketchRNNError(f"no trial of {spec.name} reached an evaluation"
                             + (f": {errors[0]}" if errors else ""),
                             f"see the trial folders under {spec.name_of(spec.sweep_dir)}")


def results_table(spec: Any, run: Any, rows: list[Any]) -> Any:
    """The best trials (status, metric, parameters), then every failed one."""
    from rich.table import Table

    from sketchrnn.tuning.report import format_value

    counts: dict[str, int] = {}
    for r in rows:
        counts[r.status] = counts.get(r.status, 0) + 1
    how = ", ".join(f"{n} {s}" for s, n in counts.items())
    table = Table(title=f"{spec.name}: {len(rows)} trials ({how}); search {run.search}, ASHA on "
                        f"{run.metric} ({run.mode}){', resumed' if run.resumed else ''}")
    for col in ("#", "trial", "status", "steps", f"best {run.metric}", "at step"):
        table.add_column(col, justify="left" if col in ("trial", "status") else "right")
    paths = [p.path for p in spec.space.params]
    for path in paths:
        table.add_column(path.split(".", 1)[1] if path.count(".") > 1 else path, justify="right")
    ranked = [r for r in rows if r.status != "failed"]
    shown = ranked[:TOP] + [r for r in rows if r.status == "failed"]
    if len(ranked) > TOP:
        table.caption = f"the best {TOP} of {len(ranked)} trials; every trial: {spec.name_of(spec.sweep_dir)}"
    for i, r in enumerate(shown, 1):
        step, value = r.best(run.mode) or ("-", float("nan"))
        status = f"[{COLOURS.get(r.status, 'yellow')}]{'ERROR' if r.status == 'failed' else r.status}[/]"
        table.add_row(str(i), r.trial_id, status, format_value(r.last_step if r.last_step is not None else "-"),
                      format_value(value), str(step), *[format_value(r.params.get(p, "-")) for p in paths])
    return table
