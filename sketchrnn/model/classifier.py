"""The predict model: Sketch-RNN's bidirectional encoder + an MLP head over mu -> category logits.

It reads the same stroke-5 batches as the draw models and is trained on sketches with their tail
cut off. The head reads mu, never a sampled z: the prediction for a sketch is deterministic.
"""

from __future__ import annotations

from torch import Tensor, nn

from sketchrnn.model.encoder import Encoder


class SketchClassifier(nn.Module):
    task = "predict"

    def __init__(self, *, n_categories: int, enc_hidden: int = 256, z_dim: int = 128,
                 cell: str = "lstm", recurrent_dropout: float = 0.1, head_hidden: int = 256,
                 head_dropout: float = 0.1) -> None:
        super().__init__()
        self.n_categories, self.z_dim = n_categories, z_dim
        self.encoder = Encoder(enc_hidden, z_dim, cell=cell, recurrent_dropout=recurrent_dropout,
                               variational=False)
        self.head = nn.Sequential(
            nn.Linear(z_dim, head_hidden),
            nn.GELU(),
            nn.Dropout(head_dropout),
            nn.Linear(head_hidden, n_categories),
        )

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        """``x [B, T, 5]``, ``lengths [B]`` -> ``logits [B, n_categories]``."""
        mu, _ = self.encoder(x, lengths)  # [B, Nz]
        return self.head(mu)
