"""The reconstruction loss L_R = L_s + L_p (Eq. 9 of Ha & Eck 2017), vectorised over [B, T, M].

* Offsets ``L_s = -1/N_max sum_{t < length} log p(dx_t, dy_t)``: the mixture log-density in log
  space (``mixture.log_prob``), over the real points only.
* Pen ``L_p = -1/N_max sum_{t <= length} log q(p_t)``: cross-entropy of the pen logits against the
  one-hot pen state, over the real points plus the first end token (the model must learn to stop).

Both are divided by ``N_max`` (the configured max sequence length, not the batch's T) and averaged
over the batch, as in the paper.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from sketchrnn.model.mixture import MixtureParams, log_prob


def reconstruction_loss(mixture: MixtureParams, q_logits: Tensor, x: Tensor, lengths: Tensor,
                        n_max: int) -> dict[str, Tensor]:
    """``mixture [B, T, M]``, ``q_logits [B, T, 3]``, targets ``x [B, T, 5]``, ``lengths [B]`` ->
    ``{"offsets": L_s, "pen": L_p}`` (scalars)."""
    t = torch.arange(x.shape[1], device=x.device)  # [T]
    lengths = lengths.to(x.device).unsqueeze(1)  # [B, 1]
    log_p = log_prob(mixture, x[..., 0], x[..., 1])  # [B, T]
    offsets = -torch.where(t < lengths, log_p, torch.zeros_like(log_p)).sum(1) / n_max  # [B]
    pen_target = x[..., 2:].argmax(-1)  # [B, T]: 0 pen down, 1 pen up, 2 end
    ce = F.cross_entropy(q_logits.flatten(0, 1), pen_target.flatten(), reduction="none")
    ce = ce.view_as(pen_target)  # [B, T]
    pen = torch.where(t <= lengths, ce, torch.zeros_like(ce)).sum(1) / n_max  # [B]
    return {"offsets": offsets.mean(), "pen": pen.mean()}
