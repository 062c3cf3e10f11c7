"""Test-only fault injection for `sketchrnn fit --workers N`; the shipped worker has none.

A test puts this folder first on PYTHONPATH, so every Python process of its run (the CLI, the
local Ray cluster's workers) imports this module at start-up, and it wraps
`WorkerHooks.report`. With ``SKETCHRNN_FAULT_INJECT=<job>:<step>`` (read when the step comes, as
the workers receive the driver's SKETCHRNN_ variables after start-up), rank 0 of that job dies
at that step, once: a marker file in the job folder keeps the retry alive.
"""

from __future__ import annotations

import os

FAULT_ENV = "SKETCHRNN_FAULT_INJECT"
FAULT_MARKER = ".fault_injected"


def _install() -> None:
    try:
        from sketchrnn.distributed import worker
    except ImportError:  # a process without sketchrnn (e.g. one of Ray's own)
        return
    original = worker.WorkerHooks.report

    def report(self, row):  # type: ignore[no-untyped-def]
        job, _, step = os.environ.get(FAULT_ENV, "").rpartition(":")
        if self.rank == 0 and job == self.job.name and step == str(row.get("step")):
            marker = self.job_dir / FAULT_MARKER
            if not marker.exists():
                marker.write_text(f"killed by {FAULT_ENV} at pid {os.getpid()}\n", encoding="utf-8")
                os._exit(17)
        return original(self, row)

    worker.WorkerHooks.report = report


_install()
