"""``sketch_rnn_cyclical``: the Sketch-RNN loss with a cyclical KL schedule (Fu et al. 2019).

The paper's schedule (Eq. 12) raises the KL weight once, ``w_KL (1 - (1 - eta_min) R^step)``. If
the decoder learns to ignore z before the weight is high (posterior collapse, frequent with
strong autoregressive decoders such as a HyperLSTM), a monotone schedule never gives it a reason
to start using z again. Fu et al. ("Cyclical Annealing Schedule: A Simple Approach to Mitigating
KL Vanishing", NAACL 2019) repeat the ramp: in each cycle the weight rises linearly from
``w_KL eta_min`` to ``w_KL`` over the first ``ramp_fraction`` of the cycle, then holds.

Everything else (reconstruction Eq. 9, KL Eq. 10, the ``kl_min`` floor, the returned terms) is the
core ``SketchRNNLoss``; only ``weight(step)`` differs. Its options (``CyclicalKLLoss.Options``) are
the core loss's plus ``cycle_steps`` and ``ramp_fraction`` (``--set draw.loss.cycle_steps=5000``).
Left unset, the cycle length is the paper schedule's time constant ``1 / (1 - R)`` with
``R = kl_decay_rate`` as the core loss resolves it (20,000 steps for 0.99995; when unset, R
follows the run's length): a faster paper schedule means faster cycles.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from sketchrnn.losses.sketch_rnn import SketchRNNLoss, SketchRNNLossOptions


class CyclicalKLLossOptions(SketchRNNLossOptions):
    """``[draw.loss]`` options of ``sketch_rnn_cyclical``."""

    cycle_steps: int | None = Field(
        None, ge=1, description="Steps per KL cycle (unset: 1 / (1 - kl_decay_rate)).")
    ramp_fraction: float = Field(
        0.5, gt=0, le=1, description="Fraction of each cycle over which the KL weight rises.")


class CyclicalKLLoss(SketchRNNLoss):
    """Callable ``(output, x, lengths, step) -> dict`` with ``loss``, like ``SketchRNNLoss``."""

    Options = CyclicalKLLossOptions

    def __init__(self, *, n_max: int = 200, total_steps: int | None = None, cycle_steps: int | None = None,
                 ramp_fraction: float = 0.5, **core: Any) -> None:
        # ``core``: the core loss's own options, whichever its version declares. ``total_steps``
        # (the run's length, which an unset kl_decay_rate follows) is passed on only when given.
        context = {} if total_steps is None else {"total_steps": total_steps}
        super().__init__(n_max=n_max, **context, **core)
        if cycle_steps is None:
            rate = self.kl_decay_rate  # as the core resolved it
            cycle_steps = round(1.0 / (1.0 - rate)) if rate < 1.0 else 1
        if cycle_steps < 1:
            raise ValueError(f"cycle_steps must be >= 1, got {cycle_steps}")
        if not 0.0 < ramp_fraction <= 1.0:
            raise ValueError(f"ramp_fraction must be in (0, 1], got {ramp_fraction}")
        self.cycle_steps, self.ramp_fraction = int(cycle_steps), ramp_fraction

    def schedule(self) -> str:
        """The effective schedule in words (for `fit`'s plan)."""
        return f"KL cycles of {self.cycle_steps} steps"

    def weight(self, step: int) -> float:
        """``w_KL (eta_min + (1 - eta_min) min(tau / ramp_fraction, 1))``, ``tau`` the position in
        the cycle in [0, 1) (Fu et al. 2019, Eq. 5, with the paper's eta_min as the floor)."""
        tau = (max(int(step), 0) % self.cycle_steps) / self.cycle_steps
        rise = min(tau / self.ramp_fraction, 1.0)
        eta = self.kl_weight_start + (1.0 - self.kl_weight_start) * rise
        return self.kl_weight * eta
