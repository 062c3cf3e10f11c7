"""Summary statistics of a category's splits (`sketchrnn data info`)."""

from __future__ import annotations

from typing import Any

import numpy as np


def category_stats(splits: Any, *, max_seq_len: int, min_seq_len: int, clamp: float) -> dict[str, Any]:
    """Per-split sizes and length statistics (before filtering), the kept count, the scale factor."""
    from sketchrnn.data.preprocess import prepare

    rows = []
    for name in ("train", "valid", "test"):
        sketches = getattr(splits, name)
        lengths = np.fromiter(map(len, sketches), dtype=np.int64, count=len(sketches))
        kept = int(np.count_nonzero((lengths >= min_seq_len) & (lengths <= max_seq_len)))
        rows.append(
            {
                "split": name,
                "sketches": int(lengths.size),
                "kept": kept,
                "min": int(lengths.min()) if lengths.size else 0,
                "median": float(np.median(lengths)) if lengths.size else 0.0,
                "mean": float(lengths.mean()) if lengths.size else 0.0,
                "p95": float(np.percentile(lengths, 95)) if lengths.size else 0.0,
                "max": int(lengths.max()) if lengths.size else 0,
            }
        )
    prepared = prepare({"_": splits}, max_seq_len=max_seq_len, min_seq_len=min_seq_len, clamp=clamp)
    return {"splits": rows, "scale": float(prepared.scale)}
