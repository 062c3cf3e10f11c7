"""Length bucketing: batches of similar length, drawn at random (the rule and its default).

Each epoch's shuffled order is cut into pools of ``bucket_batches`` batches' worth of sketches;
only inside a pool are sketches sorted by length before the pool is cut into batches. A batch is
padded to its own longest sketch, so sorting saves padding; a small pool keeps batches random.
Sorting whole 5,000-sketch chunks (the old rule) saved the most padding but, on a 1,800-sketch
category, gave nearly the same batches every epoch.

Measured on pig (1,800 sketches, batch 100; ``benchmarks/bench_batching.py``, docs/benchmarks.md):
a pool of 4 batches pads 16% of the positions (random batches 41%, whole-set sorting 4%), and a
batch shares at most 24% of its sketches with any batch of the epoch before (random 10%,
whole-set sorting 92%). 4 is the largest pool that keeps that overlap under a quarter.

Torch- and numpy-free at import, so the config can show the default.
"""

from __future__ import annotations

from typing import Any

BUCKET_BATCHES = 4  # batches' worth of sketches per pool (see above)


def bucket_by_length(order: Any, lengths: Any, pool: int) -> Any:
    """``order`` (a permutation of sketch indices, numpy) sorted by ``lengths`` within
    consecutive pools of ``pool`` entries; the pools keep their place."""
    import numpy as np

    pool_id = np.arange(len(order)) // max(pool, 1)  # [n]
    return order[np.lexsort((lengths[order], pool_id))]
