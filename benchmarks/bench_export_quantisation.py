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

    from sketchrnn.evaluation.draw_eval import test_losses
    from sketchrnn.interop.exporting import exportable, to_magenta
    from sketchrnn.interop.importing import build_imported
    from sketchrnn.interop.magenta_json import dumps_model, parse_model
    from sketchrnn.predict.loading import load_data
    from sketchrnn.runs import load_draw

    torch.set_num_threads(1)
    model, meta = load_draw(args.checkpoint)
    exportable(meta, args.checkpoint)
    text = dumps_model(to_magenta(model, meta, "benchmark"))
    quantised = build_imported(parse_model(json.loads(text), "exported"))
    data = load_data(meta, args.data_dir)
    rows = []
    for split in ("valid", "test"):
        before, after = (test_losses(m, getattr(data, split), kl_weight=0.0, kl_min=0.0,
                                     n_max=meta.max_seq_len)["recon"] for m in (model, quantised))
        rows.append((split, len(getattr(data, split)), before, after))
    print(f"{args.checkpoint}: {meta.model} {meta.model_kwargs}, {len(text):,} bytes exported")
    print(f"{'split':6} {'sketches':>8} {'L_R float':>10} {'L_R int16':>10} {'change':>10}")
    for split, n, before, after in rows:
        print(f"{split:6} {n:8d} {before:10.5f} {after:10.5f} {after - before:+10.2e}")


if __name__ == "__main__":
    main()
