"""`--temperature-style magenta-js`: the tempered distribution is the one @magenta/sketch samples.

Reference: the real library's ``getPDF(state, T)`` (pi and pen at logits / (0.5 + 0.5 T),
sigma * sqrt(T)) in node, against ``sampling.choice_probs`` and the sampler's sigma factor on the
same imported model and strokes.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from sketchrnn.errors import InputError
from sketchrnn.interop.importing import build_imported
from sketchrnn.interop.magenta_json import read_model
from sketchrnn.sampling import choice_probs, sample
from sketchrnn.sampling import temperature_factors

from .magenta_js import gen_json, magenta_pdf, stroke_inputs

T = 0.4


def _ours(net, inputs, style):
    with torch.no_grad():
        mix, q_logits, _ = net.decode_sequence(torch.as_tensor(inputs, dtype=torch.float32)[None], None)
    pi, pen = choice_probs(mix, q_logits, T, style)
    sigma_x = mix.log_sigma_x.exp() * math.sqrt(temperature_factors(T, style)[1])
    return pi[0].numpy(), pen[0].numpy(), sigma_x[0].numpy()


def test_magenta_js_style_is_getpdf(tmp_path):
    path = tmp_path / "m.gen.json"
    path.write_text(json.dumps(gen_json(16, amplitude=12000)))
    net, inputs = build_imported(read_model(path)), stroke_inputs()
    theirs = magenta_pdf(path, inputs, tmp_path, temperature=T)
    pi, pen, sigma_x = _ours(net, inputs, "magenta-js")
    for ours, key in ((pi, "pi"), (pen, "pen"), (sigma_x, "sigmaX")):
        np.testing.assert_allclose(ours, theirs[key], rtol=1e-4, atol=1e-5, err_msg=key)
    paper_pi, _, _ = _ours(net, inputs, "paper")  # the other convention is sharper at T < 1
    assert np.abs(paper_pi - theirs["pi"]).max() > 1e-2


def test_sample_takes_the_style(tmp_path):
    path = tmp_path / "m.gen.json"
    path.write_text(json.dumps(gen_json(16, amplitude=12000)))
    net = build_imported(read_model(path))
    a = sample(net, 16, max_len=20, temperature=T, seed=0, temperature_style="magenta-js")
    b = sample(net, 16, max_len=20, temperature=T, seed=0, temperature_style="paper")  # same noise
    assert any(x.shape != y.shape or not np.allclose(x, y) for x, y in zip(a, b))
    with pytest.raises(InputError, match="temperature_style"):
        sample(net, 1, temperature_style="browser")
