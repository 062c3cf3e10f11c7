"""benchmarks/bench_predict_ensemble.py on the tiny trained classifier: each member's figure is the
reference protocol's own (`evaluation.protocol.run_protocol`), an ensemble of one model with
itself is that model, and the softmax is torch's."""

from __future__ import annotations


import numpy as np
import pytest
import torch

from benchmark_scripts import load_script


def _script():
    return load_script("bench_predict_ensemble.py")


def test_members_match_the_reference_protocol_and_a_self_ensemble_is_the_model(tiny_runs, capsys):
    from sketchrnn.evaluation.protocol import Protocol, run_protocol
    from sketchrnn.predict.loading import load_data
    from sketchrnn.predict.predictor import Predictor
    from sketchrnn.runs import predict_checkpoint

    path = predict_checkpoint(tiny_runs)
    predictor = Predictor.from_checkpoint(path)
    reference = run_protocol(predictor.model, load_data(predictor.meta).test, Protocol(runs=3, n=300),
                             len(predictor.categories))["summary"]["accuracy"]
    result = _script().ensemble_protocol([path, path], runs=3, n=300)
    for row in [*result["members"], result["ensemble"]]:
        assert row["accuracy"] == pytest.approx(reference["mean"])
        assert row["accuracy_std"] == pytest.approx(reference["std"])
    assert _script().main([str(path), "--runs", "2", "-n", "100"]) == 0
    assert "ensemble (mean softmax), 2 x 100, cut 0%-50%, seed 0" in capsys.readouterr().out


def test_softmax_is_torchs():
    logits = np.random.default_rng(0).normal(0, 30, size=(50, 7))  # large: the shift matters
    expected = torch.softmax(torch.from_numpy(logits), dim=1).numpy()
    np.testing.assert_allclose(_script().softmax(logits), expected, rtol=1e-12, atol=1e-15)
