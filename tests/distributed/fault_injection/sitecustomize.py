"""Test-only fault injection for `sketchrnn fit --workers N`; the shipped worker has none.

A test puts this folder first on PYTHONPATH, so every Python process of its run (the CLI, the
local Ray cluster's workers) imports this module at start-up, and it wraps
`WorkerHooks.report`. With ``SKETCHRNN_FAULT_INJECT=<job>:<step>`` (read when the step comes, as
the workers receive the driver's SKETCHRNN_ variables after start-up), rank 0 of that job dies
at that step, once: a marker file in the job folder keeps the retry alive.

With ``SKETCHRNN_FAULT_HOLD=<step>:<file>``, rank 0 of every job stops before reporting that step
until `<file>` exists, after touching `<job>/.held`: a test can then kill a driver or a node
while every job is known to be mid-run, past its first checkpoint.
"""

from __future__ import annotations

import os
import time

FAULT_ENV = "SKETCHRNN_FAULT_INJECT"
FAULT_MARKER = ".fault_injected"
HOLD_ENV = "SKETCHRNN_FAULT_HOLD"
HOLD_MARKER = ".held"


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
        hold_step, _, release = os.environ.get(HOLD_ENV, "").partition(":")
        if self.rank == 0 and hold_step == str(row.get("step")):
            (self.job_dir / HOLD_MARKER).touch()
            while not os.path.exists(release):
                time.sleep(0.1)
        return original(self, row)

    worker.WorkerHooks.report = report


_install()
