"""What `fit` shows: the Ray plan, one live row per training job (step/total, loss terms or
accuracy, steps/s, ETA, status), and the final summary."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.live import Live
from rich.table import Table

from sketchrnn.cli.console import console

_TERMS = ("loss", "recon", "kl", "accuracy")


def _fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class JobTable:
    """Feeds on report rows (`{"job", "step", "total", "split", "loss", ...}`)."""

    def __init__(self, jobs: list[str]) -> None:
        self.rows: dict[str, dict[str, Any]] = {j: {"status": "pending"} for j in jobs}
        self._live = Live(self.render(), console=console(), refresh_per_second=4, transient=False)

    def __enter__(self) -> JobTable:
        self._live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._live.update(self.render())
        self._live.__exit__(*exc)

    def update(self, row: dict[str, Any]) -> None:
        state = self.rows.setdefault(row["job"], {})
        state["status"] = row.get("status", "running")
        for key, value in row.items():
            if key == "split" or key == "job":
                continue
            if key in _TERMS and row.get("split") in ("valid", "test"):
                state[f"{row['split']}_{key}"] = value
            else:
                state[key] = value
        self._live.update(self.render())

    def set_status(self, job: str, status: str) -> None:
        self.rows.setdefault(job, {})["status"] = status
        self._live.update(self.render())

    def render(self) -> Group:
        table = Table(expand=False)
        for col in ("job", "step", "loss", "recon", "kl", "valid", "steps/s", "ETA", "status"):
            table.add_column(col, justify="left" if col in ("job", "status") else "right")
        for job, s in self.rows.items():
            step, total = s.get("step"), s.get("total")
            rate = s.get("steps_per_s")
            eta = (total - step) / rate if step is not None and total and rate else None
            valid = s.get("valid_accuracy", s.get("valid_loss"))
            table.add_row(
                job,
                f"{step}/{total}" if step is not None else "-",
                _num(s.get("loss")), _num(s.get("recon")), _num(s.get("kl", s.get("accuracy"))),
                _num(valid), _num(rate, 2), _fmt_eta(eta), _status(s.get("status", "")),
            )
        return Group(table)


def _num(value: Any, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def _status(status: str) -> str:
    colour = {"done": "green", "failed": "red", "running": "cyan", "pending": "dim"}.get(
        status.split(":")[0], "yellow"
    )
    return f"[{colour}]{status}[/{colour}]"


def summary_table(results: dict[str, dict[str, Any]]) -> Table:
    """Final per-job summary: status, steps, best valid loss, test metrics, wall time."""
    table = Table(title="summary")
    for col in ("job", "status", "steps", "best valid loss", "test loss", "test accuracy", "wall s"):
        table.add_column(col, justify="left" if col in ("job", "status") else "right")
    for job, r in results.items():
        test = r.get("test") or {}
        table.add_row(
            job, _status(r.get("status", "")), str(r.get("step", "-")), _num(r.get("best_valid_loss")),
            _num(test.get("loss")), _num(test.get("accuracy")), _num(r.get("wall_s"), 3),
        )
    return table


def print_summary(results: dict[str, dict[str, Any]]) -> list[str]:
    """The summary table, then one line per failed job and per job that recovered from worker
    failures; returns the names of the failed jobs."""
    out = console()
    out.print(summary_table(results))
    failed = [name for name, r in results.items() if r["status"] != "done"]
    for name in failed:
        out.print(f"[red]{name} {results[name]['status']}[/red]")
    for name, r in results.items():
        if int(r.get("attempt", 1)) > 1:
            out.print(f"[yellow]{name}: recovered from {r['attempt'] - 1} worker failure(s); "
                      f"the last attempt resumed from step {r.get('resumed_from', 0)}[/yellow]")
    return failed


def plan_table(p: Any, schedules: dict[str, str]) -> Table:
    """A `distributed.planner.Plan` as a table: who gets how many workers, what that means per
    step, and each job's effective schedules (``schedules``: job -> `train.schedule.describe_schedule`)."""
    total_work = sum(r.work for r in p.rows) or 1.0
    how = (f"{len(p.rows)} jobs share {p.workers} workers"
           + (": one worker each, at most "
              f"{p.workers} at a time, biggest first" if p.queued else ""))
    caption = "effective batch = batch x workers (DDP averages gradients); lr is kept as configured"
    if p.gpu_reason:
        caption += f"\nGPU/worker: {p.gpu_reason}"
    table = Table(title=f"plan: {how}", caption=caption)
    for col in ("job", "work %", "workers", "batch", "eff. batch", "CPU/worker", "GPU/worker", "schedule"):
        table.add_column(col, justify="left" if col in ("job", "schedule") else "right")
    for r in p.rows:
        table.add_row(r.job, f"{100 * r.work / total_work:.0f}", str(r.workers), str(r.batch),
                      str(r.effective_batch), f"{r.cpus_per_worker:g}", f"{r.gpus_per_worker:g}",
                      schedules.get(r.job, "-"))
    return table


def schedule_table(jobs: list[Any], schedules: dict[str, str]) -> Table:
    """The plan of `fit --workers 0`: the jobs one after another here, with their steps, batch
    and effective schedules."""
    table = Table(title=f"plan: {len(jobs)} job(s) one after another in this process")
    for col in ("job", "steps", "batch", "schedule"):
        table.add_column(col, justify="right" if col in ("steps", "batch") else "left")
    for job in jobs:
        table.add_row(job.name, str(job.settings.train.steps), str(job.data.batch_size),
                      schedules.get(job.name, "-"))
    return table
