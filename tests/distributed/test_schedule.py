"""The launcher's queue (`launch.Schedule`) with many jobs: a recorded trace of every trainer it
starts and every one that ends, checked against the plan's worker count. No Ray: each job is
a fake run that ends after a few polls."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sketchrnn.distributed import launch
from sketchrnn.distributed.launch import Schedule
from sketchrnn.distributed.planner import plan, workers_that_fit
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


def test_after_a_node_is_lost_fewer_jobs_run_at_once_and_none_stalls():
    """Two one-CPU nodes, 8 queued jobs: node_b goes after the second job ends. From then on the
    live nodes hold one worker, so the schedule runs one job at a time instead of starting a
    second trainer that could only wait for the lost CPU."""
    jobs = [j for j in jobs_for([f"c{i}" for i in range(8)]) if j.task == "draw"]
    the_plan = plan(jobs, 2, cluster_cpus=2, cluster_gpus=0, gpus_per_worker=None)
    node = {"Alive": True, "Resources": {"CPU": 1.0, "node_a": 1.0}}
    nodes = [node, dict(node, Resources={"CPU": 1.0, "node_b": 1.0})]
    trace = Trace({j.name: 2 for j in jobs})
    ended = []

    def drain() -> list[dict]:
        rows = trace.drain()
        ended[:] = [e for e in trace.events if e[0] == "end"]
        if len(ended) >= 2:
            nodes[1]["Alive"] = False  # the GCS has declared node_b dead
        return rows

    results = Schedule(the_plan, trace.start, lambda row: None, drain=drain, failure=lambda name: None,
                       logs="logs", capacity=lambda row: workers_that_fit(nodes, row)).run()
    assert len(results) == 8 and all(r["status"] == "done" for r in results.values())
    lost_at = [i for i, e in enumerate(trace.events) if e[0] == "end"][1]
    assert trace.most_alive() == 2  # both nodes in use before the loss
    assert max(alive for kind, _, alive in trace.events[lost_at:] if kind == "start") == 1, trace.events


@pytest.mark.parametrize(("cpus", "gpus", "expected"), [
    (1.0, 0.0, 3),    # node_a 1 + node_b 2; the dead node's 4 CPUs do not count
    (0.5, 0.0, 6),    # fractions: 2 + 4
    (2.0, 0.0, 1),    # node_a cannot hold one; CPUs of two nodes do not add up to a worker
    (1.0, 0.5, 2),    # GPUs bind: node_b's one GPU holds two half-GPU workers, node_a has none
])
def test_workers_that_fit_counts_node_by_node(cpus, gpus, expected):
    nodes = [{"Alive": True, "Resources": {"CPU": 1.0}},
             {"Alive": True, "Resources": {"CPU": 2.0, "GPU": 1.0}},
             {"Alive": False, "Resources": {"CPU": 4.0, "GPU": 4.0}}]
    the_plan = plan(jobs_for(["cat"])[:1], 1, cluster_cpus=3, cluster_gpus=0, gpus_per_worker=None)
    row = replace(the_plan.rows[0], cpus_per_worker=cpus, gpus_per_worker=gpus)
    assert workers_that_fit(nodes, row) == expected
