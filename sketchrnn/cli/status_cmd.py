"""`sketchrnn status`: every job's step, losses, ETA and state, from the runs folder alone."""

from __future__ import annotations

import json

import click

from sketchrnn.cli.options import runs_option


def _num(value: float | None, fmt: str = "{:.4g}") -> str:
    return "-" if value is None else fmt.format(value)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


@click.command()
@runs_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per job instead of the table.")
def status(runs_dir: str, as_json: bool) -> None:
    """Every job's step, losses, ETA and state (running, done, failed, stale) under --runs.

    Reads only the runs folder (metrics, checkpoints, locks), so it works from any machine that
    can read the folder or bucket, with or without Ray; a stale job resumes with the same
    `sketchrnn fit` command.

    \b
    Examples:
      sketchrnn status
      sketchrnn status --runs s3://my-bucket/runs --json
    """
    from rich.table import Table

    from sketchrnn.cli.console import console
    from sketchrnn.storage import open_runs
    from sketchrnn.train.status import read_status

    with open_runs(runs_dir) as store:
        rows = read_status(store)
    if as_json:
        for row in rows:
            click.echo(json.dumps(row.as_dict()))
        return
    if not rows:
        console().print(f"no jobs under {runs_dir}")
        return
    table = Table(title=f"jobs under {runs_dir}")
    for col in ("job", "state", "step", "loss", "valid", "steps/s", "ETA", "updated", "note"):
        table.add_column(col, justify="left" if col in ("job", "state", "note") else "right",
                         no_wrap=col != "note")
    for r in rows:
        step = "-" if r.step is None else f"{r.step}/{r.total}" if r.total else str(r.step)
        valid = _num(r.valid_loss) if r.accuracy is None else f"{_num(r.valid_loss)} ({r.accuracy:.0%})"
        table.add_row(r.job, r.state, step, _num(r.loss), valid, _num(r.steps_per_s, "{:.2f}"),
                      _duration(r.eta_s), _duration(r.updated_s_ago) + " ago" if r.updated_s_ago is not None
                      else "-", r.note)
    console().print(table)
