"""An exponential moving average (EMA) of a model's weights (``train.ema_decay``).

The optimiser trains the raw weights; the average, a shadow copy updated after every step, is
what a job validates, saves as ``model.safetensors``, samples from and calibrates. The decay
warms up as TensorFlow's ``ExponentialMovingAverage(num_updates=t)`` does,
``d_t = min(decay, (1 + t) / (10 + t))`` with ``t`` the updates made so far, so that a short
run's average is not dominated by the random initial weights.

A checkpoint saved with the average holds it in ``model.safetensors`` and, in ``train_state``
under ``"ema"``, the raw weights and the update count, so that a resumed job trains on from the
raw weights and averages on from the saved average.
"""

from __future__ import annotations

import copy
from typing import Any

import torch

from sketchrnn.errors import CheckpointError

STATE_KEY = "ema"  # train_state entry: {"updates": int, "raw_weights": {name: tensor}}


def decay_at(decay: float, updates: int) -> float:
    """The decay of update number ``updates`` (0-based): ``min(decay, (1 + t) / (10 + t))``."""
    return min(decay, (1.0 + updates) / (10.0 + updates))


class WeightEMA:
    """A shadow copy of ``model`` whose parameters follow ``ema = d_t ema + (1 - d_t) w`` and
    whose buffers (e.g. normalisation statistics) are copied from ``model`` at each update."""

    def __init__(self, model: torch.nn.Module, decay: float, updates: int = 0) -> None:
        self.decay, self.updates = decay, updates
        self.model = copy.deepcopy(model)  # starts at model's current weights
        self.model.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        """One step of the average towards ``model``'s current weights (after an optimiser step)."""
        weight = 1.0 - decay_at(self.decay, self.updates)
        averaged = [p.detach() for p in self.model.parameters()]
        current = [p.detach() for p in model.parameters()]
        torch._foreach_lerp_(averaged, current, weight)  # ema + (1 - d)(w - ema), one kernel per group
        for shadow, buffer in zip(self.model.buffers(), model.buffers(), strict=True):
            shadow.copy_(buffer)
        self.updates += 1

    def state_dict(self, model: torch.nn.Module) -> dict[str, Any]:
        """The ``train_state`` entry: ``model``'s raw weights (plain tensors, so that
        ``torch.load(weights_only=True)`` reads them) and the update count."""
        raw = {k: v.detach() for k, v in model.state_dict().items()}
        return {"updates": self.updates, "raw_weights": raw}


def start_ema(model: torch.nn.Module, decay: float,
              train_state: dict[str, Any] | None) -> WeightEMA | None:
    """The average a job keeps (None when ``decay`` is 0), and ``model`` set to the weights
    training continues from.

    ``model`` holds fresh weights, or a checkpoint's saved ones with its ``train_state``. Saved
    with an average, those are the average: it carries on from them and its update count, and
    ``model`` gets the raw weights back (also with ``decay`` 0: training continues from the raw
    weights). Saved without one, the average starts from the weights as they are."""
    saved = (train_state or {}).get(STATE_KEY)
    if saved is not None:
        try:  # the checkpoint is untrusted: a bad entry is an error, not a traceback
            ema = WeightEMA(model, decay, int(saved["updates"])) if decay > 0 else None
            model.load_state_dict(saved["raw_weights"], strict=True)
            return ema
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise CheckpointError(f"the latest checkpoint's train_state entry {STATE_KEY!r} is "
                                  f"unusable: {str(e).splitlines()[0]}",
                                  "train this job again with --fresh") from e
    return WeightEMA(model, decay) if decay > 0 else None
