"""Cross-entropy for the predict model, with the batch accuracy alongside.

Importing this module does not import torch: checkpoint metadata validates its loss options
against ``ClassificationLoss.Options`` without torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from sketchrnn.model.options import ComponentOptions

if TYPE_CHECKING:
    from torch import Tensor


class ClassificationLossOptions(ComponentOptions):
    """``[predict.loss]`` options of ``classification``."""

    label_smoothing: float = Field(0.0, ge=0, lt=1, description="Label smoothing of the cross-entropy.")


class ClassificationLoss:
    """Callable ``(logits [B, C], labels [B]) -> {"loss", "accuracy"}`` (scalar tensors).

    ``labels`` may also be a batch-like object with ``.labels``. Accuracy carries no gradient.
    """

    Options = ClassificationLossOptions

    def __init__(self, *, label_smoothing: float = 0.0) -> None:
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        self.label_smoothing = label_smoothing

    def __call__(self, logits: Tensor, labels: Any) -> dict[str, Tensor]:
        import torch.nn.functional as F

        labels = getattr(labels, "labels", labels).to(logits.device)  # [B]
        loss = F.cross_entropy(logits, labels, label_smoothing=self.label_smoothing)
        accuracy = (logits.detach().argmax(-1) == labels).float().mean()
        return {"loss": loss, "accuracy": accuracy}


def uniform_cross_entropy(logits: Tensor) -> Tensor:
    """Outlier exposure's term (Hendrycks et al. 2019, Eq. 1 with the uniform target): the mean
    over sketches of ``-1/K sum_k log softmax(logits)_k``, the cross-entropy from the uniform
    distribution over the ``K`` categories to the prediction. ``logits [M, K]`` -> scalar; its
    minimum, ``log K``, is reached by a uniform prediction."""
    return -logits.log_softmax(dim=-1).mean(dim=-1).mean()
