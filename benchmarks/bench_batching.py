"""Length bucketing: padding share against batch repetition, by pool size, on real sketches.

    python benchmarks/bench_batching.py            # pig, 30 epochs per setting (~10 s)
    python benchmarks/bench_batching.py --quick    # 5 epochs

The training batches come from ``sketchrnn.data.batching.BatchIterator`` (the loop's own code):
each epoch shuffles the training set, cuts it into pools of ``bucket_batches`` batches' worth of
sketches, sorts each pool by length and cuts it into batches. A pool as large as the data set
sorts the whole set (the chunks of 50 batches the library used before: 5,000 sketches);
"random" is no bucketing at all (magenta's uniformly random batches).

Per setting it reports:

* **padding share**: padded positions that hold no real point, ``1 - sum(lengths) / sum(B T)``
  with ``T = max(lengths) + 1`` (every batch carries one end token); compute scales with ``B T``;
* **repeated batches**: the share of an epoch's batches that are the same set of sketches as a
  batch of the epoch before;
* **overlap**: the mean, over an epoch's batches, of the largest share of its sketches found
  together in one batch of the epoch before (1/B-ish for random batches, 1 for repeats);
* **length span**: the mean ``max - min`` length within a batch.

Draw batches (one category) and the predict task's class-balanced batches (the categories
given) are measured alike.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

import _common as C  # noqa: E402

POOLS = (None, 2, 3, 4, 5, 6, 8, 16, 50)  # None: random batches, no bucketing (= a pool of 1)


def epoch_stats(epochs: list[list[np.ndarray]], lengths: np.ndarray) -> dict[str, float]:
    """Padding, repetition, overlap and span over consecutive epochs of index arrays."""
    real = padded = 0
    spans, repeated, overlaps, compared = [], 0, [], 0
    previous: list[np.ndarray] | None = None
    for batches in epochs:
        for b in batches:
            n = lengths[b]
            real += int(n.sum())
            padded += len(b) * (int(n.max()) + 1)
            spans.append(int(n.max() - n.min()))
        if previous is not None:
            where = np.full(int(lengths.shape[0]), -1)
            for j, b in enumerate(previous):
                where[b] = j
            seen = {frozenset(b.tolist()) for b in previous}
            for b in batches:
                compared += 1
                repeated += frozenset(b.tolist()) in seen
                counts = np.bincount(where[b][where[b] >= 0])
                overlaps.append(counts.max() / len(b) if counts.size else 0.0)
        previous = batches
    return {"padding_share": 1 - real / padded, "repeated_share": repeated / max(compared, 1),
            "overlap": float(np.mean(overlaps)) if overlaps else float("nan"),
            "length_span": float(np.mean(spans)), "batches_per_epoch": len(epochs[0])}


def measure(train: Any, batch_size: int, pool: int | None, epochs: int, *, balanced: bool,
            seed: int) -> dict[str, Any]:
    from sketchrnn.data.batching import BatchIterator

    it = BatchIterator(train, batch_size, rng=np.random.default_rng(seed), shuffle=True,
                       bucket=pool is not None, bucket_batches=pool or 1, drop_last=True,
                       balanced=balanced)
    runs = [it.epoch_indices() for _ in range(epochs)]
    used = np.concatenate([np.concatenate(r) for r in runs[:1]])
    return {"pool": "random" if pool is None else pool, **epoch_stats(runs, train.lengths),
            "distinct_in_epoch": len(set(used.tolist())) / len(used)}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="5 epochs per setting")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--draw-category", default="pig")
    p.add_argument("--data-dir", type=Path, default=C.DEFAULT_DATA_DIR)
    p.add_argument("--categories", nargs="+", default=list(C.REAL_CATEGORIES),
                   help="the predict task's categories (class-balanced batches)")
    p.add_argument("--seeds", type=int, default=3, help="repeats with different generators")
    p.add_argument("--out", type=Path, default=C.RESULTS / "batching.json")
    args = p.parse_args(argv)
    epochs = args.epochs or (5 if args.quick else 30)

    from sketchrnn.data.npz import load_npz
    from sketchrnn.data.preprocess import prepare

    files = {f.stem: f for f in C.find_npz(args.data_dir, tuple(args.categories))}
    if args.draw_category not in files:
        raise SystemExit(f"no {args.draw_category}.npz in {args.data_dir}; pass --data-dir")
    sets = {
        f"draw ({args.draw_category})": (prepare({args.draw_category: load_npz(files[args.draw_category])}).train, False),
        f"predict ({len(files)} categories, balanced)": (prepare({k: load_npz(v) for k, v in files.items()}).train, True),
    }
    info = C.machine_info()
    results = []
    for name, (train, balanced) in sets.items():
        rows = []
        for pool in POOLS:
            per_seed = [measure(train, args.batch_size, pool, epochs, balanced=balanced, seed=s)
                        for s in range(args.seeds)]
            row = {k: (per_seed[0][k] if isinstance(per_seed[0][k], str) else float(np.mean([r[k] for r in per_seed])))
                   for k in per_seed[0]}
            rows.append(row)
        results.append({"set": name, "train_sketches": len(train),
                        "mean_length": float(train.lengths.mean()), "rows": rows})
        C.log(C.table(rows, ["pool", "padding_share", "repeated_share", "overlap", "length_span",
                             "batches_per_epoch", "distinct_in_epoch"],
                      title=f"{name}: {len(train)} training sketches, batch {args.batch_size}, "
                            f"{epochs} epochs x {args.seeds} seeds (pool in batches)"))
    C.write_json(args.out, {"machine": info, "args": vars(args) | {"out": str(args.out),
                            "data_dir": str(args.data_dir)}, "epochs": epochs, "results": results})
    C.log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
