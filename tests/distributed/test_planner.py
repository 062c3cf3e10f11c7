"""The planner: how `--workers N` is split across jobs (pure function, no Ray)."""

from __future__ import annotations

import pytest

from sketchrnn.config import Config
from sketchrnn.distributed.planner import plan
from sketchrnn.errors import ConfigError
from sketchrnn.train.job import make_jobs


def jobs_for(categories: list[str], *, steps: int = 100, batch: int = 100, device: str = "auto"):
    config = Config.model_validate({
        "data": {"batch_size": batch},
        "draw": {"train": {"steps": steps, "device": device}},
        "predict": {"train": {"steps": steps, "device": device}},
    })
    return make_jobs(config, categories)


def test_every_job_gets_a_worker_and_the_rest_go_to_the_biggest():
    jobs = jobs_for(["cat", "pig", "sun"])  # 3 draw jobs + predict over 3 categories
    p = plan(jobs, 5, cluster_cpus=5, cluster_gpus=0, gpus_per_worker=None)
    workers = {r.job: r.workers for r in p.rows}
    assert workers == {"draw-cat": 1, "draw-pig": 1, "draw-sun": 1, "predict": 2}
    assert sum(workers.values()) == 5 and not p.queued


def test_split_is_proportional_to_work():
    jobs = jobs_for(["cat", "pig", "sun"])
    # predict has 3x the data of each draw job: with 12 workers it gets half of them.
    p = plan(jobs, 12, cluster_cpus=12, cluster_gpus=0, gpus_per_worker=None)
    workers = {r.job: r.workers for r in p.rows}
    assert workers["predict"] == 6 and all(workers[f"draw-{c}"] == 2 for c in ("cat", "pig", "sun"))


def test_train_sizes_and_steps_weigh_in():
    jobs = jobs_for(["cat", "pig"])
    sizes = {"draw-cat": 1000, "draw-pig": 9000, "predict": 10_000}
    p = plan(jobs, 5, cluster_cpus=8, cluster_gpus=0, gpus_per_worker=None, train_sizes=sizes)
    workers = {r.job: r.workers for r in p.rows}
    assert workers == {"draw-cat": 1, "draw-pig": 2, "predict": 2}


def test_batch_and_lr_rule():
    jobs = jobs_for(["cat", "pig"], batch=64)
    p = plan(jobs, 4, cluster_cpus=4, cluster_gpus=0, gpus_per_worker=None)
    configured = {job.name: job.settings.train.lr for job in jobs}  # draw 1e-3, predict 3e-3
    for r in p.rows:
        assert r.batch == 64 and r.effective_batch == 64 * r.workers
        assert r.effective_lr == r.lr == configured[r.job]


def test_fewer_workers_than_jobs_queues_biggest_first():
    jobs = jobs_for(["cat", "pig", "sun"])
    p = plan(jobs, 2, cluster_cpus=2, cluster_gpus=0, gpus_per_worker=None)
    assert p.queued and all(r.workers == 1 for r in p.rows)
    assert p.start_order()[0] == "predict"
    assert all(r.cpus_per_worker == 1 for r in p.rows)


def test_cpus_are_shared_whole_or_fractional():
    jobs = jobs_for(["cat", "pig", "sun"])
    roomy = plan(jobs, 4, cluster_cpus=16, cluster_gpus=0, gpus_per_worker=None)
    assert {r.cpus_per_worker for r in roomy.rows} == {4.0} and roomy.rows[0].threads == 4
    tight = plan(jobs, 5, cluster_cpus=2, cluster_gpus=0, gpus_per_worker=None)
    assert {r.cpus_per_worker for r in tight.rows} == {0.4} and tight.rows[0].threads == 1
    assert sum(r.cpus_per_worker * r.workers for r in tight.rows) <= 2


def test_caps_send_spare_workers_elsewhere():
    jobs = jobs_for(["cat", "pig", "sun"])
    p = plan(jobs, 6, cluster_cpus=6, cluster_gpus=0, gpus_per_worker=None, max_workers={"predict": 1})
    workers = {r.job: r.workers for r in p.rows}
    assert workers["predict"] == 1 and sum(workers.values()) == 6


def test_gpus_default_to_one_per_worker_and_cap_jobs():
    jobs = jobs_for(["cat", "pig"], batch=1000)  # big jobs: one per GPU (small ones pack, see test_gpu_packing)
    p = plan(jobs, 6, cluster_cpus=32, cluster_gpus=2, gpus_per_worker=None)
    assert {r.gpus_per_worker for r in p.rows} == {1.0}
    assert all(r.workers <= 2 for r in p.rows)  # a job can never need more GPUs than exist
    # Shared GPUs pack jobs, not ranks: NCCL refuses two ranks of one job on the same GPU.
    half = plan(jobs, 6, cluster_cpus=32, cluster_gpus=2, gpus_per_worker=0.5)
    assert {r.workers for r in half.rows} == {1} and {r.gpus_per_worker for r in half.rows} == {0.5}


def test_cpu_device_jobs_get_no_gpu():
    jobs = jobs_for(["cat", "pig"], device="cpu")
    p = plan(jobs, 3, cluster_cpus=4, cluster_gpus=2, gpus_per_worker=None)
    assert {r.gpus_per_worker for r in p.rows} == {0.0}


@pytest.mark.parametrize("kwargs, words", [
    (dict(workers=0), "--workers 0"),
    (dict(gpus_per_worker=1.0), "no GPUs"),
    (dict(gpus_per_worker=-1.0), "negative"),
    (dict(cluster_cpus=0), "no CPUs"),
])
def test_impossible_plans_say_why(kwargs, words):
    args = dict(workers=4, cluster_cpus=4, cluster_gpus=0, gpus_per_worker=None) | kwargs
    with pytest.raises(ConfigError, match=words):
        plan(jobs_for(["cat", "pig"]), args.pop("workers"), **args)


def test_cuda_jobs_without_gpus_fail_before_anything_starts():
    with pytest.raises(ConfigError, match="cuda"):
        plan(jobs_for(["cat"], device="cuda"), 2, cluster_cpus=4, cluster_gpus=0, gpus_per_worker=None)
