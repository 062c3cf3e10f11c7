"""The Sketch-RNN training loss: ``L_R + w_KL eta_step max(L_KL, KL_min)`` (Eq. 9-12, Ha & Eck 2017).

For the decoder-only model (no latent, ``output.mu is None``) the loss is L_R alone.

Importing this module does not import torch (the terms are imported where they are computed):
checkpoint metadata validates its loss options against ``SketchRNNLoss.Options`` without torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from sketchrnn.model.options import ComponentOptions

if TYPE_CHECKING:
    from torch import Tensor


class SketchRNNLossOptions(ComponentOptions):
    """``[draw.loss]`` options of ``sketch_rnn`` (``n_max`` comes from ``data.max_seq_len``)."""

    kl_weight: float = Field(0.5, ge=0, description="w_KL, the final KL weight (Eq. 12).")
    kl_weight_start: float = Field(0.01, ge=0, le=1, description="Annealing start, fraction of w_KL.")
    kl_decay_rate: float | None = Field(
        None, gt=0, le=1, description="Annealing rate R per step (magenta: 0.99995). Unset: chosen "
        "so that the weight reaches 95% of w_KL at kl_anneal_fraction of train.steps.")
    kl_anneal_fraction: float = Field(
        0.5, gt=0, le=1, description="Fraction of the run by which the KL weight reaches 95% of "
        "w_KL (when kl_decay_rate is unset).")
    kl_min: float = Field(0.2, ge=0, description="KL floor (kl_tolerance).")


class SketchRNNLoss:
    """Callable ``(output, x, lengths, step) -> dict`` of scalar tensors:

    ``loss`` (what is optimised; the only term with a gradient), and for logging ``recon`` =
    ``offsets`` + ``pen``, ``kl`` (batch mean, before the floor) and ``kl_weight`` (this step's
    annealed weight; 0 without a latent). ``x`` may instead be a batch-like object with ``.x`` and
    ``.lengths``: ``loss(output, batch, step=step)``.
    """

    Options = SketchRNNLossOptions

    def __init__(self, *, n_max: int = 200, total_steps: int | None = None, kl_weight: float = 0.5,
                 kl_weight_start: float = 0.01, kl_decay_rate: float | None = None,
                 kl_anneal_fraction: float = 0.5, kl_min: float = 0.2) -> None:
        from sketchrnn.losses.kl import MAGENTA_KL_DECAY_RATE, kl_decay_rate_for

        if n_max < 1:
            raise ValueError(f"n_max must be >= 1, got {n_max}")
        self.n_max = n_max
        self.kl_weight, self.kl_weight_start, self.kl_min = kl_weight, kl_weight_start, kl_min
        if kl_decay_rate is None:  # follow the run's length (``total_steps``, given by the loop)
            kl_decay_rate = MAGENTA_KL_DECAY_RATE if total_steps is None else kl_decay_rate_for(
                total_steps, kl_weight_start=kl_weight_start, fraction=kl_anneal_fraction)
        self.kl_decay_rate = kl_decay_rate

    def schedule(self) -> str:
        """The effective annealing in words, e.g. "KL 95% by step 500" (for `fit`'s plan)."""
        from sketchrnn.losses.kl import KL_ANNEALED, kl_annealed_step

        step = kl_annealed_step(self.kl_decay_rate, self.kl_weight_start)
        share = f"KL {100 * KL_ANNEALED:.0f}%"
        return f"{share} never (R = {self.kl_decay_rate:g})" if step is None else f"{share} by step {step}"

    def weight(self, step: int) -> float:
        """The annealed KL weight at ``step`` (Eq. 12)."""
        from sketchrnn.losses.kl import kl_weight

        return kl_weight(step, kl_weight=self.kl_weight, kl_weight_start=self.kl_weight_start,
                         kl_decay_rate=self.kl_decay_rate)

    def __call__(self, output: Any, x: Any, lengths: Tensor | None = None,
                 step: int = 0) -> dict[str, Tensor]:
        import torch

        from sketchrnn.losses.kl import kl_divergence, kl_floor
        from sketchrnn.losses.reconstruction import reconstruction_loss

        if hasattr(x, "x") and hasattr(x, "lengths"):  # a Batch
            if lengths is not None:
                raise TypeError("with a batch, pass the step by keyword: loss(output, batch, step=step)")
            x, lengths = x.x, x.lengths
        if lengths is None:
            raise TypeError("SketchRNNLoss needs lengths [B] (or a batch with .x and .lengths)")
        terms = reconstruction_loss(output.mixture, output.q_logits, x, lengths, self.n_max)
        recon = terms["offsets"] + terms["pen"]  # L_R (Eq. 9)
        if output.mu is None:  # decoder-only: no latent, no KL
            kl = torch.zeros((), device=recon.device, dtype=recon.dtype)
            weight = torch.zeros_like(kl)
            loss = recon
        else:
            kl = kl_divergence(output.mu, output.sigma_hat).mean()  # L_KL (Eq. 10), batch mean
            weight = torch.tensor(self.weight(step), device=recon.device, dtype=recon.dtype)
            loss = recon + weight * kl_floor(kl, self.kl_min)  # Eq. 12
        logged = {"recon": recon, "offsets": terms["offsets"], "pen": terms["pen"], "kl": kl,
                  "kl_weight": weight}
        return {"loss": loss, **{k: v.detach() for k, v in logged.items()}}
