"""Several small jobs per GPU: the planner's default GPU share, on fake cluster resources."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
import torch
from rich.console import Console

from sketchrnn.cli.progress import plan_table
from sketchrnn.config import Config
from sketchrnn.distributed.packing import FIGURES, choose_packing, job_load, parameter_count
from sketchrnn.distributed.planner import plan
from sketchrnn.registry import build_model
from sketchrnn.train.job import make_jobs
from sketchrnn.train.tasks import task_for

SIX = ["bicycle", "clock", "hand", "spider", "sun"]  # five draw jobs + predict: the six-job fit
H200_GIB = 141.0


def jobs_for(preset: str, batch: int = 100, max_seq_len: int = 200):
    config = Config.model_validate({
        "data": {"batch_size": batch, "max_seq_len": max_seq_len},
        "draw": {"model": {"preset": preset}}, "predict": {"model": {"preset": preset}},
    })
    return make_jobs(config, SIX)


def six_job_plan(preset: str, batch: int = 100, gpus: float = 1, memory: float | None = H200_GIB,
                 gpus_per_worker: float | None = None):
    return plan(jobs_for(preset, batch), 6, cluster_cpus=16, cluster_gpus=gpus,
                gpus_per_worker=gpus_per_worker, gpu_memory_gib=memory)


def per_gpu(p) -> int:
    share = {r.gpus_per_worker for r in p.rows}
    assert len(share) == 1 and all(r.workers == 1 for r in p.rows)  # a shared GPU holds whole jobs
    return int(1 // share.pop())


@pytest.mark.parametrize("preset, expected", [("tiny", 6), ("small", 6), ("paper", 3)])
def test_small_jobs_share_a_gpu(preset, expected):
    # paper size at batch 100: the H200 ran one job at 5.56 useful TFLOP/s of the 22.1 it reaches
    # on this model when full (docs/benchmarks.md), a quarter: three fit.
    assert per_gpu(six_job_plan(preset)) == expected


def test_big_jobs_get_a_whole_gpu():
    assert per_gpu(six_job_plan("paper", batch=1000)) == 1
    assert {r.gpus_per_worker for r in six_job_plan("paper", batch=1000).rows} == {1.0}


def test_jobs_spread_over_every_gpu_before_sharing_one():
    p = six_job_plan("tiny", gpus=3)
    assert per_gpu(p) == 2  # 6 jobs on 3 GPUs: two each, no GPU idle


@pytest.mark.parametrize("memory", [2.0, 4.0, 8.0, 16.0, 24.0, 80.0])
@pytest.mark.parametrize("preset, batch", [("tiny", 1000), ("small", 300), ("paper", 100), ("paper", 300)])
def test_never_packs_more_than_memory_allows(memory, preset, batch):
    unlimited = replace(FIGURES, full_gpu_flops=1e30)  # compute never limits: memory must
    jobs = jobs_for(preset, batch)
    packing = choose_packing(jobs, 1, memory, unlimited)
    worst = max(job_load(j, unlimited).memory_gib for j in jobs)
    assert packing.jobs_per_gpu == 1 or packing.jobs_per_gpu * worst <= 0.9 * memory
    if packing.jobs_per_gpu < 6:  # one more job would not have fitted
        assert (packing.jobs_per_gpu + 1) * worst > 0.9 * memory


def test_memory_estimate_covers_the_measured_peaks():
    # Measured on an H200 with real bucketed batches (docs/benchmarks.md): 0.57 GiB allocated at
    # batch 100 and 4.76 GiB at batch 1000 (paper size, fp32); 0.79 and 6.83 padded to 200.
    # The estimate is the worst case (every batch padded to max_seq_len + 1) and must not be lower.
    assert job_load(jobs_for("paper", 100)[0]).memory_gib >= 0.79
    assert job_load(jobs_for("paper", 1000)[0]).memory_gib >= 6.83


def test_parameter_count_matches_the_built_model():
    for job in jobs_for("small"):
        model = build_model(job.settings.model.name, **task_for(job).model_kwargs())
        assert parameter_count(job) == sum(p.numel() for p in model.parameters())
    assert parameter_count(jobs_for("paper")[0]) == 2_190_203  # the paper model's published size


def test_explicit_gpus_per_worker_wins():
    p = six_job_plan("tiny", gpus_per_worker=1.0)
    assert {r.gpus_per_worker for r in p.rows} == {1.0}
    assert p.gpu_reason == "--gpus-per-worker 1, as given"
    assert {r.gpus_per_worker for r in six_job_plan("paper", gpus_per_worker=0.5).rows} == {0.5}


def test_unknown_gpu_memory_assumes_a_small_gpu():
    p = six_job_plan("paper", batch=500, memory=None)
    assert "assumed" in p.gpu_reason
    assert per_gpu(p) * job_load(jobs_for("paper", 500)[0]).memory_gib <= 0.9 * FIGURES.default_gpu_memory_gib


def test_cpu_clusters_and_cpu_jobs_get_no_reason():
    assert plan(jobs_for("tiny"), 2, cluster_cpus=4, cluster_gpus=0, gpus_per_worker=None).gpu_reason is None


def test_plan_table_prints_why():
    out = io.StringIO()
    Console(file=out, width=200).print(plan_table(six_job_plan("paper"), {}))
    text = out.getvalue()
    assert "3 jobs per GPU" in text and "GiB" in text and "batch 100" in text
    assert "0.3333" in text  # the GPU/worker column


def test_parameter_count_needs_no_memory():
    # Built on the meta device: a model far too big for this machine is counted, not allocated.
    config = Config.model_validate({"draw": {"model": {"dec_hidden": 40_000}}})
    job = make_jobs(config, ["cat"], only="draw")[0]
    assert parameter_count(job) > 6e9
    assert torch.empty(0).device.type == "cpu"  # the default device is restored
