"""OOD detection measured on the held-out *evaluation* categories, by how much is drawn.

The evaluation categories (``data.outliers.EVALUATION_CATEGORIES``) are never trained on (the rule
keeps them out of outlier exposure) and never used to choose the OOD score or threshold (the
calibration uses the *selection* categories). For each one found under the data folder:

* AUROC of every score (in-distribution = positive): all test sketches vs all its drawings, both
  with a random 0-50% of the tail cut (the protocol's cut range, seeded);
* AUROC of the chosen score by cut: both sides cut by exactly ``c`` for ``c`` in 0%, 10%, ..., 50%
  (an outlier that is 30% drawn is harder to tell);
* the share of its drawings flagged at the stored threshold.

And on the in-distribution side: the share of real test sketches wrongly flagged "none of these"
at the threshold, and the synthetic outliers (shuffled points, scribbles) as an extra check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sketchrnn.data.strokes import SketchSet
from sketchrnn.data.tail_cut import cut_tails

OOD_CUTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
SEED_STREAM = 10_009  # the second key of this section's generators (the protocol seed is first)


def heldout_ood(predictor: Any, test: SketchSet, protocol: Any, data_dir: Path | None,
                limit: int | None = None) -> dict[str, Any]:
    """The section described in the module docstring; ``data_dir``: where the drawings are;
    ``limit``: the first that many drawings of each category (all when None)."""
    from sketchrnn.data.outliers import EVALUATION_CATEGORIES
    from sketchrnn.evaluation.ood import has_ood_data, load_ood
    from sketchrnn.predict.calibration import synthetic_outliers

    cal = predictor.calibration or {}
    chosen, threshold = cal.get("ood_score", "msp"), cal.get("ood_threshold")
    extent = typical_extent(predictor, test)
    rng = np.random.default_rng([protocol.seed, SEED_STREAM])
    scores = _Scorer(predictor, protocol, rng)
    inside = scores.random_cut(test)
    inside_by_cut = {c: scores.exact_cut(test, c)[chosen] for c in OOD_CUTS}
    flagged = (lambda s: float((s[chosen] < threshold).mean())) if threshold is not None else \
        (lambda s: None)
    categories, missing = {}, []
    for name in EVALUATION_CATEGORIES:
        if data_dir is None or not has_ood_data(name, Path(data_dir)):
            missing.append(name)
            continue
        ood = load_ood(name, predictor.meta, typical_extent_px=extent, data_dir=Path(data_dir),
                       limit=limit)
        outside = scores.random_cut(ood.sketches)
        categories[name] = {
            "source": ood.source, "n": len(ood.sketches), "stretch": ood.stretch,
            "auroc": {k: _auroc(inside[k], outside[k]) for k in inside},
            "auroc_by_cut": {f"{c:.1f}": _auroc(inside_by_cut[c],
                                                 scores.exact_cut(ood.sketches, c)[chosen])
                             for c in OOD_CUTS},
            "flagged": flagged(outside),
        }
    synthetic = synthetic_outliers(test, rng)
    exposure, pretrained = predictor.meta.outlier_exposure, predictor.meta.pretrained
    return {
        "chosen_score": chosen, "threshold": threshold,
        "chosen_on": cal.get("ood_score_chosen_on", "synthetic"),
        "selection_categories": cal.get("ood_selection_categories", []),
        "flagged_in_distribution": flagged(inside), "n_in_distribution": len(test),
        "categories": categories, "missing": missing,
        "min_auroc": min((c["auroc"][chosen] for c in categories.values()), default=None),
        "synthetic_auroc": {kind: _auroc(inside[chosen], scores.random_cut(s)[chosen])
                            for kind, s in synthetic.items()},
        "outlier_exposure": None if exposure is None else exposure.model_dump(),
        "pretrained": None if pretrained is None else pretrained.model_dump(),
    }


class _Scorer:
    """Every OOD score of a set of sketches after a cut (random in the protocol's range, or exact)."""

    def __init__(self, predictor: Any, protocol: Any, rng: np.random.Generator) -> None:
        self.predictor, self.protocol, self.rng = predictor, protocol, rng

    def random_cut(self, sketches: SketchSet) -> dict[str, np.ndarray]:
        fractions = self.rng.uniform(self.protocol.cut_min, self.protocol.cut_max, len(sketches))
        return self._scores(cut_tails(sketches, np.arange(len(sketches)), fractions))

    def exact_cut(self, sketches: SketchSet, c: float) -> dict[str, np.ndarray]:
        return self._scores(cut_tails(sketches, np.arange(len(sketches)), np.full(len(sketches), c)))

    def _scores(self, sketches: SketchSet) -> dict[str, np.ndarray]:
        from sketchrnn.predict.calibration import ood_scores
        from sketchrnn.predict.inference import classify

        return ood_scores(classify(self.predictor.model, sketches), self.predictor.calibration_T)


def _auroc(inside: np.ndarray, outside: np.ndarray) -> float:
    from sketchrnn.evaluation.metrics import auroc

    return float(auroc(inside, outside))


def typical_extent(predictor: Any, test: SketchSet) -> float:
    """The training data's median extent in pixels (stored with the calibration; else the test
    split's), to which simplified OOD drawings are stretched."""
    extent = (predictor.calibration or {}).get("typical_extent_px")
    if extent is None:
        from sketchrnn.data.strokes import extents

        extent = float(np.median(extents(test)) * predictor.meta.scale)
    return float(extent)
