"""What exporting to magenta-js costs: valid and test L_R of a draw model before and after the
int16 round trip (``sketchrnn export`` then ``sketchrnn import``), and the largest weight change.

    python benchmarks/bench_export_quantisation.py runs/draw-pig/checkpoints/latest --data-dir data/quickdraw

The checkpoint must be exportable (decoder-only, plain LSTM). The data are the model's own
(its meta's data settings and scale), so the figures are the ones `eval draw` reports.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--data-dir", type=Path)
    args = parser.parse_args()

    import torch

    from sketchrnn.evaluation.quantisation import int16_cost
    from sketchrnn.interop.exporting import exportable, to_magenta
    from sketchrnn.interop.magenta_json import dumps_model
    from sketchrnn.predict.loading import load_data
    from sketchrnn.runs import load_draw

    torch.set_num_threads(1)
    model, meta = load_draw(args.checkpoint)
    exportable(meta, args.checkpoint)
    text = dumps_model(to_magenta(model, meta, "benchmark"))
    data = load_data(meta, args.data_dir)
    rows = [(split, int16_cost(model, meta, text, getattr(data, split))) for split in ("valid", "test")]
    print(f"{args.checkpoint}: {meta.model} {meta.model_kwargs}, {len(text):,} bytes exported")
    print(f"{'split':6} {'sketches':>8} {'L_R float':>10} {'L_R int16':>10} {'change':>10}")
    for split, cost in rows:
        print(f"{split:6} {cost['n_sketches']:8d} {cost['float']:10.5f} {cost['int16']:10.5f} "
              f"{cost['int16'] - cost['float']:+10.2e}")


if __name__ == "__main__":
    main()
