"""Size presets: tiny (tests, smoke runs), small (a laptop), paper (Ha & Eck 2017 / magenta).

conv_channels sizes the predict model's convolution front end (not in the paper).
"""

from __future__ import annotations

from typing import Any

from sketchrnn.errors import ConfigError
from sketchrnn.model.options import options_class

PRESETS: dict[str, dict[str, int]] = {
    "tiny": dict(enc_hidden=16, dec_hidden=32, z_dim=8, n_mixtures=3, conv_channels=8),
    "small": dict(enc_hidden=128, dec_hidden=256, z_dim=64, n_mixtures=10, conv_channels=96),
    "paper": dict(enc_hidden=256, dec_hidden=512, z_dim=128, n_mixtures=20, conv_channels=96),
}


def preset_kwargs(name: str, model_cls: type | None = None) -> dict[str, Any]:
    """The preset's sizes; with ``model_cls``, only the options it declares (e.g. the classifier
    has no dec_hidden / n_mixtures, the decoder-only model no enc_hidden / z_dim)."""
    if name not in PRESETS:
        raise ConfigError(f"unknown model preset {name!r}", f"use one of: {', '.join(PRESETS)}")
    kwargs = dict(PRESETS[name])
    if model_cls is None:
        return kwargs
    declared = options_class(model_cls).model_fields
    return {k: v for k, v in kwargs.items() if k in declared}
