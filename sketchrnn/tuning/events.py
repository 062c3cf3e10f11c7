"""What the driver learns while a sweep runs: a Ray Tune callback (imports ray.tune: import lazily).

Tune calls these hooks in the driver, in the thread that runs `Tuner.fit()`, so nothing here needs
a lock or a thread of its own. The callback

* turns trial events and validation results into progress rows (`{"job": trial id, ...}`, the
  rows the CLI's live table takes) and hands them to `sink`;
* drains the progress hub a few times a second, where rank 0 of every trial pushes its training
  rows (Tune itself only hears of a trial at evaluation steps);
* remembers each trial's last status as Tune saw it at the end of a controller step. After an
  interruption (Ctrl-C) Tune stops the live trials and marks them TERMINATED; this snapshot,
  taken before that, still says RUNNING, which is how the CLI tells "interrupted" apart from
  "finished" or "stopped early by ASHA";
* aborts the Train run of every trial Tune is done with (see `_release`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ray.tune import Callback

from sketchrnn.tuning.trial import TERMS

DRAIN_S = 0.5
ABORT_TIMEOUT_S = 30


class Live:
    """The driver's side of the callback: where rows go, the hub, and the statuses seen.

    Tune pickles its run config (callbacks included) into the sweep's `tuner.pkl` and a restored
    sweep runs the unpickled copy. So the callback itself carries nothing of this process; it
    reaches the current driver's sink and hub through the module-level `LIVE`.
    """

    def __init__(self) -> None:
        self.reset(None, None)

    def reset(self, sink: Callable[[dict[str, Any]], None] | None, hub: Any) -> None:
        self.sink, self.hub = sink, hub
        self.statuses: dict[str, str] = {}
        self.controllers: dict[str, Any] = {}  # trial id -> its Train controller (trial.py)
        self.ended: set[str] = set()  # trials Tune has finished with: late rows must not revive them
        self.last_drain = 0.0

    def emit(self, row: dict[str, Any]) -> None:
        if self.sink is not None:
            self.sink(row)


LIVE = Live()


class SweepEvents(Callback):
    def __init__(self, steps: int) -> None:
        self.steps = steps

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        LIVE.ended.discard(trial.trial_id)
        LIVE.emit({"job": trial.trial_id, "status": "starting", "total": self.steps})

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        row = {"job": trial.trial_id, "split": "valid", "status": "running"}
        row.update({k: result[f"valid_{k}"] for k in TERMS if f"valid_{k}" in result})
        if "step" in result:
            row["step"] = result["step"]
        LIVE.emit(row)

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        step = (trial.last_result or {}).get("step")
        done = step is not None and step >= self.steps
        _release(trial.trial_id)
        LIVE.emit({"job": trial.trial_id, "status": "done" if done else "stopped early"})

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        _release(trial.trial_id)
        LIVE.emit({"job": trial.trial_id, "status": "failed"})

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        LIVE.statuses = {t.trial_id: t.status for t in trials}
        now = time.monotonic()
        if now - LIVE.last_drain >= DRAIN_S:
            LIVE.last_drain = now
            _drain()


def _drain() -> None:
    if LIVE.hub is None:
        return
    import ray

    for row in ray.get(LIVE.hub.drain.remote()):
        if row.get("split") == "controller":
            LIVE.controllers[row["job"]] = row["controller"]
        elif row.get("split") == "train" and row["job"] not in LIVE.ended:  # valid rows come from Tune
            LIVE.emit({k: v for k, v in row.items() if k != "status"})


def _release(trial_id: str) -> None:
    """Abort the trial's Train run if it is still going (Tune stopped it): frees its workers.

    A run that ended by itself is already shut down (abort is then a no-op, or the controller is
    gone); either way nothing here may stop the sweep, so errors are ignored.
    """
    _drain()
    LIVE.ended.add(trial_id)
    controller = LIVE.controllers.pop(trial_id, None)
    if controller is None:
        return
    import ray

    try:  # `abort` is what Train's own Ctrl-C handler calls: workers down, placement group removed
        ray.get(controller.abort.remote(), timeout=ABORT_TIMEOUT_S)
    except Exception:  # noqa: BLE001 - already finished, already dead, or stuck: move on
        pass
