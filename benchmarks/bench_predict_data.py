"""How the predict model's accuracy grows with training sketches per category (is it data-bound?).

    python benchmarks/bench_predict_data.py                 # 0.25, 0.5, 1 x 2,500 steps (~35 min)
    python benchmarks/bench_predict_data.py --quick         # 0.5, 1 x 100 steps: checks that it runs

Trains the predict model (the library's classifier, its default regularisation, the augmentation of
docs/predict.md) on a class-balanced random subset of each category's train split, the same steps
and cosine schedule for every subset, on one thread, and prints valid accuracy with a random 0-50%
tail cut (4 seeded passes over the 800 valid sketches), side by side. The subsets are nested draws
of one seeded permutation, so a larger subset contains every smaller one.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import torch
import torch.nn.functional as F

from sketchrnn.config import DataConfig
from sketchrnn.data.batching import Augment, batch_stream
from sketchrnn.data.preprocess import prepare
from sketchrnn.data.strokes import SketchSet
from sketchrnn.model.classifier import SketchClassifier
from sketchrnn.predict.inference import classify, cut_tails
from sketchrnn.train.job import load_splits
from sketchrnn.train.loop import make_optimizer, optimizer_step
from sketchrnn.train.schedule import learning_rate

import _common as C  # noqa: E402

CATEGORIES = ["alarm clock", "face", "pig", "radio"]


def nested_subset(train: SketchSet, fraction: float, seed: int = 0) -> SketchSet:
    """The first ``fraction`` of each class under one seeded permutation per class."""
    rng = np.random.default_rng(seed)
    keep = np.zeros(len(train), dtype=bool)
    for c in np.unique(train.labels):
        members = rng.permutation(np.flatnonzero(train.labels == c))
        keep[members[: max(1, int(round(len(members) * fraction)))]] = True
    return train.subset(keep)


def train_and_score(train: SketchSet, valid: SketchSet, steps: int, seed: int = 0) -> tuple[float, float]:
    """Valid accuracy (mean of 4 cut passes) after ``steps`` steps, and the wall seconds."""
    torch.manual_seed(seed)
    model = SketchClassifier(n_categories=len(CATEGORIES), enc_hidden=128, z_dim=128, head_dropout=0.3)
    lr, weight_decay = 3e-3, 0.05  # the predict defaults (sketchrnn.config.PREDICT_DEFAULTS)
    optimizer = make_optimizer(model.parameters(), lr, weight_decay)
    stream = batch_stream(train, 100, rng=np.random.default_rng(seed), augment=Augment(0.2, 0.15, 15),
                          truncate=(0.0, 0.5), balanced=True)
    t0 = time.perf_counter()
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, lr, 1.0, 1e-5, schedule="cosine", total_steps=steps)
        batch = next(stream)
        loss = F.cross_entropy(model(batch.x, batch.lengths), batch.labels, label_smoothing=0.05)
        optimizer_step(model, optimizer, loss, 1.0)
    wall = time.perf_counter() - t0
    accuracies = []
    for rep in range(4):
        rng = np.random.default_rng([seed, rep])
        cut = cut_tails(valid, np.arange(len(valid)), rng.uniform(0.0, 0.5, len(valid)))
        accuracies.append(float((classify(model, cut).argmax(1) == cut.labels).mean()))
    return float(np.mean(accuracies)), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fractions", default="0.25,0.5,1", help="comma-separated shares of the train split")
    parser.add_argument("--steps", type=int, default=2500)
    parser.add_argument("--quick", action="store_true", help="fractions 0.5,1 and 100 steps")
    parser.add_argument("--data-dir", type=Path, default=C.DEFAULT_DATA_DIR)
    parser.add_argument("--out", type=Path, default=C.RESULTS / "predict_data_cpu.json")
    args = parser.parse_args()
    if args.quick:
        args.fractions, args.steps = "0.5,1", 100
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    config = DataConfig(categories=CATEGORIES, data_dir=args.data_dir)
    data = prepare({c: load_splits(c, config) for c in CATEGORIES})
    rows = []
    print(f"{'per category':>12} {'train sketches':>14} {'valid acc (cut 0-50%)':>22} {'wall s':>8}")
    for fraction in (float(f) for f in args.fractions.split(",")):
        train = nested_subset(data.train, fraction)
        accuracy, wall = train_and_score(train, data.valid, args.steps)
        per_class = len(train) // len(CATEGORIES)
        rows.append({"fraction": fraction, "per_category": per_class, "steps": args.steps,
                     "valid_accuracy": accuracy, "wall_s": wall})
        print(f"{per_class:>12} {len(train):>14} {accuracy:>21.2%} {wall:>8.0f}", flush=True)
    C.write_json(args.out, {"machine": C.machine_info(), "rows": rows})


if __name__ == "__main__":
    main()
