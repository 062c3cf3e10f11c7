"""Evaluation figures: the confusion matrix and accuracy against the cut fraction.

Matplotlib's object-oriented API only (``Figure`` + ``FigureCanvasAgg``), never pyplot, so no
global figure state; files are written to a temp file and renamed into place.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from sketchrnn._io import atomic_write


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: str | os.PathLike) -> Path:
    return atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=110))


def plot_confusion(confusion: np.ndarray, categories: list[str], path: str | os.PathLike,
                   title: str = "confusion (row-normalised)") -> Path:
    """Rows = true category, columns = predicted; cells show the row share and the count."""
    cm = np.asarray(confusion, dtype=np.float64)
    share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    k = len(categories)
    fig = _figure(1.2 * k + 2.2, 1.1 * k + 1.6)
    ax = fig.subplots()
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(k):
        for j in range(k):
            color = "white" if share[i, j] > 0.6 else "black"
            ax.text(j, i, f"{share[i, j]:.1%}\n{int(cm[i, j])}", ha="center", va="center",
                    fontsize=8, color=color)
    ax.set_xticks(range(k), categories, rotation=30, ha="right")
    ax.set_yticks(range(k), categories)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, shrink=0.8)
    return _save(fig, path)


def plot_accuracy_by_cut(rows: list[dict[str, float]], path: str | os.PathLike,
                         reference: float | None = None) -> Path:
    """Accuracy (%) against the fraction of the tail cut off; ``reference`` as a dashed line."""
    fig = _figure(5.0, 3.4)
    ax = fig.subplots()
    cuts = [100 * r["cut"] for r in rows]
    ax.plot(cuts, [100 * r["accuracy"] for r in rows], "o-", label="test accuracy")
    if reference is not None:
        ax.axhline(100 * reference, ls="--", color="gray", label="protocol mean (cut 0-50%)")
    ax.set_xlabel("% of the sketch cut off (tail)")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(min(50.0, min(100 * r["accuracy"] for r in rows) - 5), 100.5)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    return _save(fig, path)
