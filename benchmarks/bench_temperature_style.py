"""Which temperature rule draws more recognisable sketches: "paper" (pen and mixture logits / T)
or "magenta-js" (/ (0.5 + 0.5 T)); both multiply sigma by sqrt(T).

For every draw model under --runs: n unconditional samples (seed, T) per style, judged by the
predict model of the same runs folder (``evaluation.draw_eval.recognisability``), plus a grid of
the first 36 samples per style. Prints one row per category and style and writes a JSON file.

    OMP_NUM_THREADS=1 python benchmarks/bench_temperature_style.py --runs runs --out styles
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="Folder for grids and styles.json.")
    parser.add_argument("-n", type=int, default=500)
    parser.add_argument("--temperature", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--categories", nargs="*", help="Default: every category the predict model knows.")
    args = parser.parse_args()

    from sketchrnn.config import TEMPERATURE_STYLES
    from sketchrnn.errors import CheckpointError
    from sketchrnn.evaluation.draw_eval import recognisability
    from sketchrnn.predict.predictor import Predictor
    from sketchrnn.render import grid_png
    from sketchrnn.runs import load_draw_for, predict_checkpoint

    args.out.mkdir(parents=True, exist_ok=True)
    predictor = Predictor.from_checkpoint(predict_checkpoint(args.runs), data_dir=args.data_dir)
    rows = []
    for category in args.categories or predictor.categories:
        try:
            path, model, meta = load_draw_for(category, args.runs)
        except CheckpointError as e:  # a runs folder may lack some draw models
            print(f"{category:12s} skipped: {e.message}", flush=True)
            continue
        for style in TEMPERATURE_STYLES:
            start = time.perf_counter()
            result, pixels = recognisability(model, meta, predictor, category, n=args.n,
                                             temperature=args.temperature, seed=args.seed,
                                             temperature_style=style)
            slug = category.replace(" ", "_")
            grid_png(pixels[:36], args.out / f"{slug}-{style}.png", cell=96)
            result.update(category=category, step=meta.step, wall_s=time.perf_counter() - start)
            rows.append(result)
            print(f"{category:12s} {style:10s} step {meta.step:6d} recognised {result['recognised']:.1%} "
                  f"in-dist {result['recognised_in_distribution']:.1%} mean points "
                  f"{result['mean_points']:.0f} ({result['wall_s']:.0f} s)", flush=True)
    (args.out / "styles.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
