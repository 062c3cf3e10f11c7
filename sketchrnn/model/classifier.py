"""The predict model: a sketch encoder that reads every point, and an MLP head -> category logits.

It reads the same stroke-5 batches as the draw models and is trained on sketches with their tail
cut off. The encoder is Sketch-RNN's bidirectional LSTM with three changes that each paid for
themselves on the real data (docs/predict.md has the side-by-side figures):

* input features: stroke-5 plus each point's absolute position (the running sum of the offsets),
  so "where on the page" does not have to be integrated by the LSTM;
* an optional 1-D convolution front end (two layers, kernel 5) that sees local stroke shape;
* pooling over all real points (mean, max and the final step of both directions) instead of the
  final states alone: a classifier of incomplete sketches should not rely on how a sketch ends.

``mu`` (the sketch's deterministic code) is a linear map of the pooled features, and the head
reads mu, never a random z: the prediction for a sketch is deterministic.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from sketchrnn.model.encoder import STROKE_DIM
from sketchrnn.model.lstm import make_lstm
from sketchrnn.model.options import RECURRENT_DROPOUT_HELP, RecurrentOptions

POSITION_SCALE = 0.25  # absolute positions span ~+-8 train-std units; keep them near the offsets' range
CONV_KERNEL = 5


def point_features(x: Tensor) -> Tensor:
    """``x [B, T, 5]`` -> ``[B, T, 7]``: stroke-5 and the absolute pen position after each point."""
    position = torch.cumsum(x[..., :2], dim=1) * POSITION_SCALE
    return torch.cat([x, position], dim=-1)


class ClassifierOptions(RecurrentOptions):
    """``[predict.model]`` options of ``classifier`` (``n_categories`` comes from the task)."""

    enc_hidden: int = Field(256, ge=1, description="Bi-LSTM size per direction.")
    # Off by default: the predict model's settings were chosen on the real data without it, and
    # feature and head dropout already regularise it (docs/predict.md).
    recurrent_dropout: float = Field(0.0, ge=0, lt=1, description=RECURRENT_DROPOUT_HELP)
    z_dim: int = Field(128, ge=1, description="Size of the pooled sketch code mu.")
    head_hidden: int = Field(256, ge=1, description="MLP head width.")
    head_dropout: float = Field(0.3, ge=0, lt=1, description="MLP head dropout.")
    conv_channels: int = Field(96, ge=0, description="Channels of the 1-D convolution front end (0: none).")
    feature_dropout: float = Field(0.2, ge=0, lt=1, description="Dropout on the LSTM input.")


class SketchClassifier(nn.Module):
    task = "predict"
    Options = ClassifierOptions

    def __init__(self, *, n_categories: int, enc_hidden: int = 256, z_dim: int = 128,
                 cell: str = "lstm", recurrent_dropout: float = 0.0, head_hidden: int = 256,
                 head_dropout: float = 0.3, conv_channels: int = 96, feature_dropout: float = 0.2) -> None:
        super().__init__()
        if conv_channels < 0 or not 0.0 <= feature_dropout < 1.0:
            raise ValueError(f"conv_channels {conv_channels} must be >= 0 and feature_dropout "
                             f"{feature_dropout} in [0, 1)")
        self.n_categories, self.z_dim = n_categories, z_dim
        features = STROKE_DIM + 2
        if conv_channels:  # 0: the LSTM reads the point features directly
            self.conv = nn.ModuleList([
                nn.Conv1d(features, 2 * conv_channels // 3, CONV_KERNEL, padding=CONV_KERNEL // 2),
                nn.Conv1d(2 * conv_channels // 3, conv_channels, CONV_KERNEL, padding=CONV_KERNEL // 2),
            ])
            features = conv_channels
        else:
            self.conv = nn.ModuleList()
        self.feature_dropout = feature_dropout
        self.rnn = make_lstm(cell, features, enc_hidden, recurrent_dropout=recurrent_dropout,
                             bidirectional=True)
        self.mu = nn.Linear(3 * 2 * enc_hidden, z_dim)  # pooled mean, max, last -> mu
        self.head = nn.Sequential(
            nn.Linear(z_dim, head_hidden),
            nn.GELU(),
            nn.Dropout(head_dropout),
            nn.Linear(head_hidden, n_categories),
        )

    def encode(self, x: Tensor, lengths: Tensor) -> Tensor:
        """``x [B, T, 5]``, ``lengths [B]`` (>= 1, on the CPU) -> ``mu [B, z_dim]``."""
        lengths_here = lengths.to(x.device)
        real = (torch.arange(x.shape[1], device=x.device) < lengths_here.unsqueeze(1))  # [B, T]
        real = real.unsqueeze(-1).to(x.dtype)  # [B, T, 1]
        h = point_features(x) * real  # padding reads as zeros, so convolutions never see end tokens
        if len(self.conv):
            h = h.transpose(1, 2)  # [B, C, T]
            for conv in self.conv:
                h = F.gelu(conv(h)) * real.transpose(1, 2)
            h = h.transpose(1, 2)
        h = F.dropout(h, self.feature_dropout, self.training).contiguous()
        out = self.rnn.outputs(h, lengths)  # [B, T, 2H], zero at padding
        mean = out.sum(1) / lengths_here.unsqueeze(1).to(out.dtype)
        peak = out.masked_fill(real == 0, float("-inf")).amax(1)
        last = out.gather(1, (lengths_here - 1).view(-1, 1, 1).expand(-1, 1, out.shape[2])).squeeze(1)
        return self.mu(torch.cat([mean, peak, last], -1))

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        """``x [B, T, 5]``, ``lengths [B]`` -> ``logits [B, n_categories]``."""
        return self.head(self.encode(x, lengths))
