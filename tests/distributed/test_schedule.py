"""The launcher's queue (`launch.Schedule`) with many jobs: a recorded trace of every trainer it
starts and every one that ends, checked against the plan's worker count. No Ray: each job is
a fake run that ends after a few polls."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sketchrnn.distributed import launch
from sketchrnn.distributed.launch import Schedule
from sketchrnn.distributed.planner import plan
from test_planner import jobs_for


class FakeRun:
    def __init__(self, polls: int) -> None:
        self.polls_left, self.outcome = polls, None

    def poll(self) -> None:
        self.polls_left -= 1
        if self.polls_left <= 0 and self.outcome is None:
            self.outcome = {"status": "done", "wall_s": 0.0}


class Trace:
    """What the schedule did, in order: ("start" | "end", job, trainers alive afterwards)."""

    def __init__(self, polls: dict[str, int]) -> None:
        self.polls, self.events, self.alive = polls, [], {}

    def start(self, name: str) -> FakeRun:
        self.alive[name] = FakeRun(self.polls[name])
        self.events.append(("start", name, len(self.alive)))
        return self.alive[name]

    def drain(self) -> list[dict]:  # called once per poll: the runs advance
        for name, run in list(self.alive.items()):
            run.poll()
            if run.outcome is not None:
                del self.alive[name]
                self.events.append(("end", name, len(self.alive)))
        return []

    def most_alive(self) -> int:
        return max(alive for _, _, alive in self.events)


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.setattr(launch, "POLL_S", 0.0)


def run_schedule(the_plan, polls: dict[str, int]) -> tuple[Trace, dict, list[dict]]:
    trace, rows = Trace(polls), []
    results = Schedule(the_plan, trace.start, rows.append, drain=trace.drain, failure=lambda name: None,
                       logs="logs").run()
    return trace, results, rows


def test_twelve_jobs_on_two_workers_never_hold_more_than_two_trainers():
    categories = [f"c{i:02d}" for i in range(12)]
    jobs = [j for j in jobs_for(categories) if j.task == "draw"]
    the_plan = plan(jobs, 2, cluster_cpus=2, cluster_gpus=0, gpus_per_worker=None)
    assert the_plan.queued
    trace, results, rows = run_schedule(the_plan, {j.name: 1 + i % 4 for i, j in enumerate(jobs)})

    assert trace.most_alive() == 2  # both workers busy, never a third trainer
    assert [e[1] for e in trace.events if e[0] == "start"] == the_plan.start_order()
    assert sorted(e[1] for e in trace.events if e[0] == "end") == sorted(j.name for j in jobs)
    assert all(r["status"] == "done" for r in results.values()) and len(results) == 12
    # a job starts only once an earlier one has ended
    for i, (kind, name, alive) in enumerate(trace.events):
        if kind == "start" and i >= 2:
            assert trace.events[i - 1][0] == "end", trace.events[: i + 1]
    assert [r["job"] for r in rows if r["status"] == "queued"] == the_plan.start_order()


def test_several_hundred_jobs_queue_the_same_way():
    categories = [f"c{i:03d}" for i in range(345)]
    jobs = [j for j in jobs_for(categories) if j.task == "draw"]
    the_plan = plan(jobs, 8, cluster_cpus=8, cluster_gpus=0, gpus_per_worker=None)
    trace, results, _ = run_schedule(the_plan, {j.name: 1 + i % 7 for i, j in enumerate(jobs)})
    assert trace.most_alive() == 8 and len(results) == 345
    assert all(r["status"] == "done" for r in results.values())


def test_a_job_with_more_workers_waits_until_they_are_all_free():
    jobs = jobs_for(["cat", "pig", "sun"])  # 3 draw jobs + predict
    the_plan = plan(jobs, 4, cluster_cpus=4, cluster_gpus=0, gpus_per_worker=None)
    assert {r.job: r.workers for r in the_plan.rows} == {"draw-cat": 1, "draw-pig": 1, "draw-sun": 1, "predict": 1}
    # fewer workers than 2 per job: give predict 3 of 4 by hand to see it wait for them
    rows = [replace(r, workers=3) if r.job == "predict" else r for r in the_plan.rows]
    bigger = replace(the_plan, rows=rows, queued=True)
    trace, results, _ = run_schedule(bigger, {"predict": 2, "draw-cat": 5, "draw-pig": 1, "draw-sun": 1})
    workers = {r.job: r.workers for r in rows}
    busy = 0
    for kind, name, _ in trace.events:
        busy += workers[name] if kind == "start" else -workers[name]
        assert busy <= 4, trace.events
    assert len(results) == 4
