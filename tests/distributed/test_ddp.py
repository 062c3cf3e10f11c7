"""DDP as the workers use it, without Ray: disjoint shards, one synchronised step, agreed stop.

Two real processes talk over gloo (torch.multiprocessing), exactly like two CPU Ray Train workers.
The reference is independent of DDP: one process taking the gradient of the same model on each
rank's batch (with that rank's seed, so the same DropConnect masks) and averaging the two (equal
batch sizes: the mean of the two batch means is the mean).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from distributed_helpers import random_walk

from sketchrnn.config import Config
from sketchrnn.data.strokes import stroke3_to_stroke5
from sketchrnn.train.job import load_job_data, make_jobs

MODEL = dict(dec_hidden=16, n_mixtures=3, cell="lstm")  # decoder-only: no sampled z


def _jobs(data_dir: Path | None = None, **train):
    data = {"batch_size": 16}
    if data_dir is not None:
        data["data_dir"] = str(data_dir)
    still = {"scale": 0.0, "drop": 0.0, "rotate": 0.0}
    config = Config.model_validate({"data": data, "draw": {"train": {"steps": 10, **train}, "augment": still},
                                    "predict": {"augment": still}})
    return make_jobs(config, ["cat", "pig"])


def _sketch_keys(batch) -> list[str]:
    return [hashlib.sha1(batch.x[i, : int(n)].numpy().tobytes()).hexdigest()
            for i, n in enumerate(batch.lengths)]


def test_ranks_read_disjoint_shards(sketch_dir):
    from sketchrnn.train.tasks import task_for

    for job in _jobs(sketch_dir):  # a draw job and the class-balanced predict job
        data = load_job_data(job)
        per_epoch = len(data.train) // job.data.batch_size // 2  # full batches per rank
        seen = []
        for rank in (0, 1):
            stream = task_for(job).batch_stream(data.train, seed=0, rank=rank, world_size=2)
            keys = [k for _ in range(per_epoch) for k in _sketch_keys(next(stream))]
            seen.append(set(keys))
            if job.task == "draw":
                assert len(keys) == len(set(keys)), "a rank saw a sketch twice within an epoch"
        assert seen[0] and seen[1] and not seen[0] & seen[1], f"{job.name}: ranks share sketches"


def _batch(seed: int, n: int = 4, steps: int = 41) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    sketches = [random_walk(rng).astype(np.float32) / 12 for _ in range(n)]
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in sketches])])
    x = stroke3_to_stroke5(np.concatenate(sketches), offsets, steps=steps)  # [n, steps, 5]
    return torch.from_numpy(x), torch.from_numpy(np.diff(offsets))


def _rank_seed(rank: int) -> int:
    """Seeds each rank's forward (its DropConnect masks), so the reference can draw the same."""
    return 200 + rank


def _rank_main(rank: int, init_file: str, out: str, recurrent_dropout: float) -> None:
    import torch.distributed as dist

    from sketchrnn.distributed.worker import WorkerHooks
    from sketchrnn.registry import build_loss, build_model

    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    torch.manual_seed(100 + rank)  # different inits on purpose: DDP must start them equal
    model = build_model("sketch_rnn_uncond", **MODEL, recurrent_dropout=recurrent_dropout)
    job = _jobs(eval_every=5)[0]
    worker = WorkerHooks(job, Path(out), rank, 2, torch.device("cpu"), ray_report=False)
    net = worker.hooks().wrap_model(model)
    start = {k: v.detach().clone() for k, v in model.state_dict().items()}
    loss_fn = build_loss("sketch_rnn", n_max=50)
    x, lengths = _batch(seed=rank)
    torch.manual_seed(_rank_seed(rank))
    loss = loss_fn(net(x, lengths), x, lengths, 0)["loss"]
    loss.backward()
    grads = {k: p.grad.detach().clone() for k, p in model.named_parameters()}
    torch.optim.Adam(model.parameters(), lr=1e-2).step()
    row = {"job": job.name, "total": 10, "split": "train", "loss": float(loss.detach())}
    worker.report({**row, "step": 5})  # an evaluation step (eval_every=5)
    stop_at_eval = worker.agree_stop(rank == 0)  # rank 0 alone decided to stop
    worker.report({**row, "step": 6})
    stop_between = worker.agree_stop(False)
    torch.save({"start": start, "grads": grads, "after": model.state_dict(),
                "stop_at_eval": stop_at_eval, "stop_between": stop_between}, f"{out}/rank{rank}.pt")
    dist.destroy_process_group()


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed unavailable")
@pytest.mark.parametrize("recurrent_dropout", [0.0, 0.5])
def test_two_gloo_ranks_take_the_same_step_as_one_process_on_both_batches(tmp_path, recurrent_dropout):
    """With DropConnect each rank draws its own mask: the reference takes each rank's batch with
    that rank's seed (the same masks) and averages the two gradients, as DDP must."""
    from sketchrnn.registry import build_loss, build_model

    mp.start_processes(_rank_main, args=(str(tmp_path / "init"), str(tmp_path), recurrent_dropout),
                       nprocs=2, start_method="spawn", join=True)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))

    for name in r0["start"]:  # DDP broadcast rank 0's weights; one step keeps them identical
        assert torch.equal(r0["start"][name], r1["start"][name]), name
        assert torch.equal(r0["after"][name], r1["after"][name]), name

    reference = build_model("sketch_rnn_uncond", **MODEL, recurrent_dropout=recurrent_dropout)
    reference.load_state_dict(r0["start"])
    for rank in (0, 1):  # equal batch sizes: the mean of the two batch means is the mean
        x, lengths = _batch(seed=rank)
        torch.manual_seed(_rank_seed(rank))
        (build_loss("sketch_rnn", n_max=50)(reference(x, lengths), x, lengths, 0)["loss"] / 2).backward()
    for name, p in reference.named_parameters():
        torch.testing.assert_close(r0["grads"][name], p.grad, rtol=1e-4, atol=1e-6, msg=name)
        torch.testing.assert_close(r1["grads"][name], p.grad, rtol=1e-4, atol=1e-6, msg=name)

    assert r0["stop_at_eval"] and r1["stop_at_eval"], "rank 1 did not learn that rank 0 stopped"
    assert not r0["stop_between"] and not r1["stop_between"]
