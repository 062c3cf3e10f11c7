"""Reference-protocol accuracy of an ensemble of predict models, beside each member's.

    python benchmarks/bench_predict_ensemble.py RUNS_A/predict/checkpoints/best RUNS_B/... [...]

Every member classifies the same protocol sketches (10 runs x 10,000 test sketches, tails cut
0-50%, seed 0: ``sketchrnn.evaluation.protocol``); the ensemble's answer is the top class of the
mean of the members' softmax outputs (temperature 1). The members must share their categories,
in the same order; the test split is the first member's data. The package trains and serves one
model per task: this measures what an ensemble would be worth (docs/predict.md).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``[n, K]`` logits."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def ensemble_protocol(checkpoints: list[Path], runs: int = 10, n: int = 10_000) -> dict[str, Any]:
    """``{"members": [{"checkpoint", "accuracy", "accuracy_std"}], "ensemble": {...}}``."""
    from sketchrnn.data.tail_cut import cut_tails
    from sketchrnn.evaluation.metrics import mean_std
    from sketchrnn.evaluation.protocol import Protocol, draw_run
    from sketchrnn.predict.inference import classify
    from sketchrnn.predict.loading import load_data
    from sketchrnn.predict.predictor import Predictor

    members = [Predictor.from_checkpoint(path) for path in checkpoints]
    first = members[0]
    for path, member in zip(checkpoints, members):
        if member.categories != first.categories:
            raise SystemExit(f"error: {path} has categories {member.categories}, not "
                             f"{first.categories}; an ensemble needs the same categories in order")
    test = load_data(first.meta).test
    protocol = Protocol(runs=runs, n=n)
    accuracy: list[list[float]] = [[] for _ in range(len(members) + 1)]  # members..., ensemble
    for run in range(protocol.runs):
        idx, fractions = draw_run(test, protocol, run)
        sketches = cut_tails(test, idx, fractions)
        probs = [softmax(classify(m.model, sketches)) for m in members]  # [n, K] each
        for i, p in enumerate([*probs, np.mean(probs, axis=0)]):
            accuracy[i].append(float((p.argmax(axis=1) == sketches.labels).mean()))
    rows = [{"accuracy": s["mean"], "accuracy_std": s["std"]} for s in map(mean_std, accuracy)]
    return {"protocol": f"{runs} x {n:,}, cut 0%-50%, seed 0",
            "members": [{"checkpoint": str(p), **r} for p, r in zip(checkpoints, rows)],
            "ensemble": rows[-1]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", type=Path, help="Predict checkpoint folders.")
    parser.add_argument("--runs", type=int, default=10, help="Protocol runs (default 10).")
    parser.add_argument("-n", type=int, default=10_000, help="Sketches per run (default 10,000).")
    parser.add_argument("--json", action="store_true", help="Print the record as JSON.")
    args = parser.parse_args(argv)
    result = ensemble_protocol(args.checkpoints, args.runs, args.n)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for row in result["members"]:
        print(f"{100 * row['accuracy']:.2f}% +- {100 * row['accuracy_std']:.2f}%  {row['checkpoint']}")
    e = result["ensemble"]
    print(f"{100 * e['accuracy']:.2f}% +- {100 * e['accuracy_std']:.2f}%  ensemble (mean softmax), "
          f"{result['protocol']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
