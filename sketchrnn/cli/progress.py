"""What `fit` and `tune` show: the Ray plan, one live row per training job (step/total, loss
terms or accuracy, steps/s, ETA, status) or, when the output is not a terminal, plain progress
lines at a steady interval, and the final summary."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.console import Group
from rich.live import Live
from rich.table import Table

from sketchrnn.cli.console import console
from sketchrnn.cli.options import PROGRESS_EVERY

_TERMS = ("loss", "recon", "kl", "accuracy")


def _fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class JobTable:
    """Feeds on report rows (`{"job", "step", "total", "split", "loss", ...}`).

    On a terminal: a live table, redrawn in place. Anywhere else (a log file, nohup, CI), where
    a live table would show nothing until the end: one plain line per running job every
    ``every`` seconds (job, step/total, losses, steps/s, ETA), a line at each status change, and
    the table once at the end.
    """

    def __init__(self, jobs: list[str], *, every: float = PROGRESS_EVERY,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rows: dict[str, dict[str, Any]] = {j: {"status": "pending"} for j in jobs}
        self.every, self._clock = every, clock
        self._live = (Live(self.render(), console=console(), refresh_per_second=4, transient=False)
                      if console().is_terminal else None)
        self._printed_at: float | None = None  # plain mode: when the last progress lines went out
        self._printed_step: dict[str, Any] = {}

    def __enter__(self) -> JobTable:
        if self._live is not None:
            self._live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._live is None:
            console().print(self.render())
            return
        self._live.update(self.render())
        self._live.__exit__(*exc)

    def update(self, row: dict[str, Any]) -> None:
        state = self.rows.setdefault(row["job"], {})
        status = row.get("status", "running")
        changed = state.get("status") != status
        state["status"] = status
        for key, value in row.items():
            if key == "split" or key == "job":
                continue
            if key in _TERMS and row.get("split") in ("valid", "test"):
                state[f"{row['split']}_{key}"] = value
            else:
                state[key] = value
        self._refresh(row["job"] if changed else None)

    def set_status(self, job: str, status: str) -> None:
        state = self.rows.setdefault(job, {})
        changed = state.get("status") != status
        state["status"] = status
        self._refresh(job if changed else None)

    def _refresh(self, status_changed: str | None) -> None:
        if self._live is not None:
            self._live.update(self.render())
            return
        if status_changed is not None and self.rows[status_changed]["status"] != "running":
            self._say(self.line(status_changed))
        now = self._clock()
        if self._printed_at is not None and now - self._printed_at < self.every:
            return
        moved = [job for job, s in self.rows.items() if s.get("status") == "running"
                 and s.get("step") is not None and s.get("step") != self._printed_step.get(job)]
        if moved:
            self._printed_at = now
            for job in moved:
                self._printed_step[job] = self.rows[job]["step"]
                self._say(self.line(job))

    def line(self, job: str) -> str:
        """One job's progress as a plain line, e.g. "draw-pig: step 120/1000, loss 1.23, ...,
        2.4 steps/s, ETA 0:06:14" (a finished or failed job: its status)."""
        s = self.rows[job]
        step, total, rate = s.get("step"), s.get("total"), s.get("steps_per_s")
        if s.get("status") != "running" or step is None:
            return f"{job}: {s.get('status', '')}" + (f" at step {step}/{total}" if step is not None else "")
        terms = [f"{name} {_num(s[key])}" for name, key in (
            ("loss", "loss"), ("recon", "recon"), ("kl", "kl"), ("accuracy", "accuracy"),
            ("valid loss", "valid_loss"), ("valid accuracy", "valid_accuracy")) if s.get(key) is not None]
        eta = (total - step) / rate if total and rate else None
        return ", ".join([f"{job}: step {step}/{total}", *terms, f"{_num(rate, 3)} steps/s",
                          f"ETA {_fmt_eta(eta)}"])

    @staticmethod
    def _say(text: str) -> None:
        console().print(f"{time.strftime('%H:%M:%S')} {text}", highlight=False, markup=False,
                        soft_wrap=True)

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
