"""Sample quality on real sketches: a model that draws one perfect alarm clock 500 times passes
recognisability-style checks (every sample is realistic) but must fail FID and recall, while a
model that draws the real training sketches must come out near the real valid-vs-test floor.

The feature extractor is the tiny trained classifier of the test session (its pooled code); the
sketches are the real QuickDraw alarm clocks."""

from __future__ import annotations

import numpy as np
import pytest

from sketchrnn.data.npz import load_npz
from sketchrnn.data.strokes import SketchSet
from sketchrnn.evaluation.draw_eval import quality_against_real
from sketchrnn.predict.inference import normalise
from sketchrnn.predict.predictor import Predictor
from sketchrnn.runs import predict_checkpoint


def test_one_sketch_drawn_500_times_fails_and_real_sketches_pass(tiny_runs, shared_quickdraw):
    predictor = Predictor.from_checkpoint(predict_checkpoint(tiny_runs))
    splits = load_npz(shared_quickdraw / "alarm clock.npz")

    def units(sketches):
        return SketchSet.from_list([normalise(np.asarray(s, np.float64), predictor.meta)
                                    for s in sketches])

    test, valid = units(splits.test), units(splits.valid)
    copies = quality_against_real(predictor.model, units([splits.train[0]] * 500), valid, test)
    floor = copies["floor"]
    assert floor["n_generated"] == 200 and floor["n_real"] == 200  # valid vs test, as a model
    one = copies["generated"]
    assert one["n_generated"] == 500
    assert one["precision"] > 0.9  # each copy is a real alarm clock: realistic...
    assert one["recall"] < 0.02  # ...but covers (almost) none of the real test sketches
    assert one["fid"] > 10 * floor["fid"]

    drawn = quality_against_real(predictor.model, units(splits.train[:500]), valid, test)
    real = drawn["generated"]  # a "model" that draws real, varied alarm clocks
    assert real["recall"] > floor["recall"] - 0.1 and real["precision"] > floor["precision"] - 0.1
    assert real["fid"] < 2 * floor["fid"]


def test_empty_samples_count_against_precision_only(tiny_runs, tiny_data):
    from sketchrnn.evaluation.draw_eval import sample_quality

    predictor = Predictor.from_checkpoint(predict_checkpoint(tiny_runs))
    circles = [np.asarray(s, np.float64) for s in load_npz(tiny_data / "circle.npz").train[:20]]
    full = sample_quality(predictor, "circle", circles)
    padded = sample_quality(predictor, "circle", circles + [np.zeros((0, 3))] * 5)
    assert padded["empty_samples"] == 5 and full["empty_samples"] == 0
    assert padded["generated"]["precision"] == pytest.approx(full["generated"]["precision"] * 20 / 25)
    assert padded["generated"]["recall"] == full["generated"]["recall"]
    assert padded["generated"]["fid"] == full["generated"]["fid"]
    assert padded["floor"] == full["floor"]


def test_real_sketches_recognised_is_the_share_a_user_would_get_from_predict(tiny_runs, tiny_data):
    """The judge's ceiling beside the samples' share: each real test/valid circle given to
    `Predictor.predict` one by one, as `sketchrnn predict` does, named circle or not."""
    from sketchrnn.evaluation.draw_eval import sample_quality
    from sketchrnn.predict.inputs import RawSketch

    predictor = Predictor.from_checkpoint(predict_checkpoint(tiny_runs))
    splits = load_npz(tiny_data / "circle.npz")
    quality = sample_quality(predictor, "circle", [np.asarray(s, np.float64) for s in splits.train[:20]])
    for name, sketches in (("valid", splits.valid), ("test", splits.test)):
        named = [predictor.predict(RawSketch(np.asarray(s, np.float64), "data", f"{name} {i}"))[0].top[0]["category"]
                 for i, s in enumerate(sketches)]
        expected = np.mean([c == "circle" for c in named])
        assert quality["real_recognised"][name] == pytest.approx(expected)
    assert 0 < quality["real_recognised"]["test"] <= 1
