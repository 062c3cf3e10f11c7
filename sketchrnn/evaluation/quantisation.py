"""What magenta-js's int16 weights cost a draw model: L_R of the float model and of the weights
the exported file holds (read back as magenta-js reads them), on the same sketches."""

from __future__ import annotations

import json
from typing import Any


def int16_cost(model: Any, meta: Any, exported: str, sketches: Any) -> dict[str, float]:
    """``{"float", "int16", "n_sketches"}``: the mean L_R of ``model`` and of the model in the
    ``.gen.json`` text ``exported``, on ``sketches`` (a normalised ``SketchSet``)."""
    from sketchrnn.evaluation.draw_eval import test_losses
    from sketchrnn.interop.importing import build_imported
    from sketchrnn.interop.magenta_json import parse_model

    quantised = build_imported(parse_model(json.loads(exported), "exported"))
    before, after = (test_losses(m, sketches, kl_weight=0.0, kl_min=0.0,
                                 n_max=meta.max_seq_len)["recon"] for m in (model, quantised))
    return {"float": before, "int16": after, "n_sketches": len(sketches)}
