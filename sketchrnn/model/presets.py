"""Size presets: tiny (tests, smoke runs), small (a laptop), paper (Ha & Eck 2017 / magenta).

conv_channels sizes the predict model's convolution front end (not in the paper).
"""

from __future__ import annotations

import inspect
from typing import Any

from sketchrnn.errors import ConfigError

PRESETS: dict[str, dict[str, int]] = {
    "tiny": dict(enc_hidden=16, dec_hidden=32, z_dim=8, n_mixtures=3, conv_channels=8),
    "small": dict(enc_hidden=128, dec_hidden=256, z_dim=64, n_mixtures=10, conv_channels=96),
    "paper": dict(enc_hidden=256, dec_hidden=512, z_dim=128, n_mixtures=20, conv_channels=96),
}


def accepted_kwargs(model_cls: type, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The subset of ``kwargs`` that ``model_cls.__init__`` accepts (all of them if it takes **kwargs)."""
    params = inspect.signature(model_cls.__init__).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return dict(kwargs)
    return {k: v for k, v in kwargs.items() if k in params and k != "self"}


def preset_kwargs(name: str, model_cls: type | None = None) -> dict[str, Any]:
    """The preset's sizes, filtered to what ``model_cls`` accepts (e.g. the classifier has no
    dec_hidden / n_mixtures, the decoder-only model no enc_hidden / z_dim)."""
    if name not in PRESETS:
        raise ConfigError(f"unknown model preset {name!r}", f"use one of: {', '.join(PRESETS)}")
    kwargs = dict(PRESETS[name])
    return kwargs if model_cls is None else accepted_kwargs(model_cls, kwargs)
