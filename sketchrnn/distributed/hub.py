"""The progress hub: a tiny Ray actor between the training workers and the driver's live table.

Why an actor and not `ray.train.report` metrics: in Train V2 the reported metrics go to each run's
controller, and `trainer.fit()` hands them back only when the run ends; a live table over several
concurrent runs needs them while they train. Rank 0 of every job pushes rows here (fire and
forget, throttled), and the driver drains them a few times a second.

The hub also remembers failures that a retry cannot fix (bad data, a NaN loss): the worker
records the reason and raises, Ray Train tears the worker group down (no rank is left waiting in
a collective), and the retry sees the record and returns at once instead of failing again.
"""

from __future__ import annotations

from typing import Any


class ProgressHub:
    """Plain class; the launcher turns it into an actor with `ray.remote(num_cpus=0)`."""

    def __init__(self) -> None:
        self._latest: dict[tuple[str, str], dict[str, Any]] = {}  # (job, split) -> newest row
        self._order: list[tuple[str, str]] = []
        self._failures: dict[str, str] = {}
        self._starts: dict[str, int] = {}

    def push(self, row: dict[str, Any]) -> None:
        """Keep only the newest row per job and split: memory stays bounded however fast rows come."""
        key = (str(row.get("job")), str(row.get("split", "status")))
        if key not in self._latest:
            self._order.append(key)
        self._latest[key] = row

    def started(self, job: str) -> int:
        """Rank 0 of `job` began an attempt; returns the attempt number (1 = first)."""
        self._starts[job] = self._starts.get(job, 0) + 1
        attempt = self._starts[job]
        status = "running" if attempt == 1 else f"running (retry {attempt - 1})"
        self.push({"job": job, "split": "status", "status": status})
        return attempt

    def drain(self) -> list[dict[str, Any]]:
        """Rows pushed since the last drain, oldest key first."""
        rows = [self._latest[k] for k in self._order]
        self._latest, self._order = {}, []
        return rows

    def fail(self, job: str, reason: str) -> None:
        self._failures.setdefault(job, reason)

    def failure(self, job: str) -> str | None:
        return self._failures.get(job)
