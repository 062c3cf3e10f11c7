"""What the sample-quality figures of `eval draw` say about models that draw real sketches.

For every category of the predict model under --runs: one recognised real train sketch repeated
n times (a model that draws one perfect sketch), n different real train sketches (a model that
draws real variety), and the floor (real valid vs real test), each as FID / precision / recall
against the real test sketches in the predict model's pooled features
(``evaluation.draw_eval.sample_quality``). Prints one row per category and writes a JSON file.

    OMP_NUM_THREADS=1 python benchmarks/bench_sample_quality_floor.py --runs runs --out floor.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="JSON file for the figures.")
    parser.add_argument("-n", type=int, default=500)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--quick", action="store_true", help="50 sketches instead of -n.")
    args = parser.parse_args()
    if args.quick:
        args.n = 50

    import numpy as np

    from sketchrnn.evaluation.draw_eval import sample_quality
    from sketchrnn.predict.inference import normalise
    from sketchrnn.predict.predictor import Predictor
    from sketchrnn.runs import predict_checkpoint
    from sketchrnn.train.job import load_splits

    predictor = Predictor.from_checkpoint(predict_checkpoint(args.runs), data_dir=args.data_dir)
    data = predictor.meta.data if args.data_dir is None else \
        predictor.meta.data.model_copy(update={"data_dir": args.data_dir})
    rows = {}
    for label, category in enumerate(predictor.categories):
        train = [np.asarray(s, np.float64) for s in load_splits(category, data).train][: args.n]
        _, probs, _ = predictor.predict_normalised([normalise(s, predictor.meta) for s in train])
        first = int(np.flatnonzero(probs.argmax(1) == label)[0])  # a sketch the judge recognises
        one = sample_quality(predictor, category, [train[first]] * args.n, k=args.k,
                             data_dir=args.data_dir)
        many = sample_quality(predictor, category, train, k=args.k, data_dir=args.data_dir)
        rows[category] = {"one_sketch_repeated": one["generated"], "real_train": many["generated"],
                          "floor": one["floor"]}
        show = lambda d: f"FID {d['fid']:7.3f}  P {d['precision']:6.1%}  R {d['recall']:6.1%}"  # noqa: E731
        print(f"{category:>12}  one x{args.n}: {show(one['generated'])} | {len(train)} train: "
              f"{show(many['generated'])} | floor: {show(one['floor'])}", flush=True)
    args.out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
