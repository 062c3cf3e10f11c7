"""A magenta-js model -> a normal draw checkpoint (``runs/draw-<category>/checkpoints/latest``).

The checkpoint is the decoder-only ``sketch_rnn_uncond`` (plain LSTM, 20 mixtures) with the
file's ``scale_factor`` as its data scale and its ``max_seq_len`` as N_max, so ``sample``,
``serve``, ``predict``'s completion and ``eval draw`` use it like a model trained here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sketchrnn.errors import OutputExistsError
from sketchrnn.interop.convert import torch_state
from sketchrnn.interop.magenta_json import N_MIXTURES, MagentaModel

MODEL_NAME = "sketch_rnn_uncond"


def model_kwargs(hidden: int) -> dict[str, Any]:
    """The builder kwargs of the imported model (all of its resolved options)."""
    return {"dec_hidden": hidden, "n_mixtures": N_MIXTURES, "cell": "lstm", "recurrent_dropout": 0.0}


def build_imported(model: MagentaModel) -> Any:
    """The torch model holding ``model``'s weights, in eval mode."""
    import torch

    from sketchrnn.registry import build_model

    net = build_model(MODEL_NAME, **model_kwargs(model.hidden))
    state = {k: torch.from_numpy(v) for k, v in torch_state(model.tensors).items()}
    net.load_state_dict(state, strict=True)
    return net.eval()


def checkpoint_meta(model: MagentaModel, category: str, source: str) -> Any:
    from sketchrnn.checkpoint_meta import CheckpointMeta
    from sketchrnn.config import DataConfig, LossConfig

    return CheckpointMeta(
        model=MODEL_NAME,
        model_kwargs=model_kwargs(model.hidden),
        task="draw",
        categories=[category],
        scale=model.scale_factor,
        max_seq_len=model.max_seq_len,
        data=DataConfig(categories=[category], max_seq_len=model.max_seq_len),
        loss=LossConfig(),
        extra={"imported_from": {"file": source, "format": "magenta-js .gen.json",
                                 "name": model.name}},
    )


def import_model(model: MagentaModel, category: str, runs_dir: Path, source: str) -> Path:
    """Write ``model`` as the draw checkpoint of ``category`` under ``runs_dir``; refuses to
    replace a job that already exists (an OutputExistsError naming it)."""
    from sketchrnn.checkpoint import save_checkpoint
    from sketchrnn.runs import JobDir, draw_job_name

    job = JobDir(Path(runs_dir) / draw_job_name(category))
    if job.root.exists():
        raise OutputExistsError(job.root, "delete that job folder, or import into another --runs "
                                "or under another --category")
    meta = checkpoint_meta(model, category, source)
    net = build_imported(model)  # before anything is written: a bad model writes nothing
    return save_checkpoint(job.latest, net, meta)
