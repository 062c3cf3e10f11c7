"""Data pipeline cost: loading + preprocessing one full QuickDraw category (70,000 / 2,500 / 2,500
sketches, target about one second), and the cost of one training batch.

    python benchmarks/bench_data.py            # full-size category (~30 s)
    python benchmarks/bench_data.py --quick    # 7,000 / 250 / 250

The full sketch-rnn files are not available offline, so a file of the official layout is
synthesised: the 2,200 real pig sketches (train + valid + test of pig.npz in --data-dir)
resampled with replacement into 70,000 / 2,500 / 2,500, int16 stroke-3 object arrays (each a
distinct copy, so the pickle inside the file does not share repeated sketches), written with
``np.savez_compressed`` (as the official files are) and ``np.savez`` to temporary files.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

import _common as C  # noqa: E402


def _np_load(path: Path) -> dict[str, list[np.ndarray]]:
    with np.load(path, allow_pickle=True) as f:
        return {k: list(f[k]) for k in ("train", "valid", "test")}


def synthesise(src: Path, dst: Path, sizes: tuple[int, int, int], seed: int = 0, compressed: bool = True) -> int:
    splits = C.load_npz_splits(src)
    pool = [s for k in ("train", "valid", "test") for s in splits[k]]
    rng = np.random.default_rng(seed)
    arrays = {}
    for name, n in zip(("train", "valid", "test"), sizes):
        idx = rng.integers(0, len(pool), size=n)
        a = np.empty(n, dtype=object)
        a[:] = [pool[i].copy() for i in idx]  # distinct objects: pickle must not share repeats
        arrays[name] = a
    (np.savez_compressed if compressed else np.savez)(dst, **arrays)
    return dst.stat().st_size


def timed(fn, reps: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return C.median(times), out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--data-dir", type=Path, default=C.DEFAULT_DATA_DIR)
    p.add_argument("--category", default="pig")
    p.add_argument("--reps", type=int, default=None)
    p.add_argument("--batches", type=int, default=None, help="batches timed per batching mode")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--out", type=Path, default=C.RESULTS / "data_cpu.json")
    args = p.parse_args(argv)
    sizes = (7_000, 250, 250) if args.quick else (70_000, 2_500, 2_500)
    reps = args.reps or (2 if args.quick else 3)
    n_batches = args.batches or (50 if args.quick else 300)

    from sketchrnn.data.batching import Augment, BatchIterator, make_batch
    from sketchrnn.data.npz import load_npz
    from sketchrnn.data.preprocess import prepare

    info = C.machine_info()
    src = args.data_dir / f"{args.category}.npz"
    C.log(f"bench_data: {args.category} resampled to {sizes}; load {info['loadavg_1_5_15']}")
    result: dict[str, Any] = {"machine": info, "sizes": sizes, "source": str(src)}
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for compressed in (True, False):
            path = Path(tmp) / f"{args.category}{'' if compressed else '_uncompressed'}.npz"
            size = synthesise(src, path, sizes, compressed=compressed)
            # numpy with pickle, for reference: safe here only because this script wrote the file
            t_np, _ = timed(lambda: _np_load(path), reps)
            t_load, splits = timed(lambda: load_npz(path), reps)
            t_prep, data = timed(lambda: prepare({args.category: splits}, max_seq_len=200), reps)
            points = len(data.train.points) + len(data.valid.points) + len(data.test.points)
            rows.append({"file": "savez_compressed" if compressed else "savez", "MB": size / 1e6,
                         "np.load_s": t_np, "load_npz_s": t_load, "prepare_s": t_prep,
                         "total_s": t_load + t_prep, "sketches": sum(sizes), "points": points})
            C.log(f"  {rows[-1]['file']}: load_npz {t_load:.3f} s + prepare {t_prep:.3f} s = {t_load + t_prep:.3f} s")
        result["load"] = rows
        C.log(C.table(rows, title="load + preprocess one category (median of "
                                  f"{reps}; target about 1 s)"))

        train = data.train
        brows = []
        modes = {
            "bucketed + augment (training)": dict(bucket=True, augment=Augment(0.15, 0.1)),
            "bucketed, no augment (eval)": dict(bucket=True, augment=None),
            "unbucketed + augment": dict(bucket=False, augment=Augment(0.15, 0.1)),
        }
        for name, kw in modes.items():
            it = BatchIterator(train, args.batch_size, rng=0, shuffle=True, drop_last=True, bucket=kw["bucket"])
            t0 = time.perf_counter()
            index_lists = it.epoch_indices()
            t_epoch = time.perf_counter() - t0
            rng = np.random.default_rng(1)
            t0 = time.perf_counter()
            total_T = 0
            for idx in index_lists[:n_batches]:
                b = make_batch(train, idx, rng=rng, augment=kw["augment"])
                total_T += b.x.shape[1]
            dt = time.perf_counter() - t0
            k = min(n_batches, len(index_lists))
            brows.append({"mode": name, "batch_size": args.batch_size, "ms_per_batch": 1e3 * dt / k,
                          "batches_per_s": k / dt, "mean_T": total_T / k,
                          "epoch_index_ms": 1e3 * t_epoch, "batches_per_epoch": len(index_lists)})
        result["batching"] = brows
        C.log(C.table(brows, title="batching cost (make_batch; one epoch's index lists timed apart)"))
    result["loadavg_end"] = C.loadavg()
    C.write_json(args.out, result)
    C.log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
