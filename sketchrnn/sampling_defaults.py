"""The sampling temperature's default and valid range: one place for the CLI, the web API and
the library (``sampling.sample``), kept free of torch so that CLI options can show them instantly.

The temperature scales the mixture and pen logits and the Gaussian's variance (Sec. 4.2 of Ha &
Eck 2017; see ``sampling.draw_step``). 0.25 draws clean, typical sketches of a trained model; the
range stops at 2, beyond which a draw model's samples are noise, and starts above 0, where the
softmax becomes an argmax (use greedy mode for that).

Two conventions (``TEMPERATURE_STYLES``) turn one temperature T into those two factors:
"paper" divides the logits by T; "magenta-js" (@magenta/sketch's ``getPDF``) divides them by
``0.5 + 0.5 T``. Both multiply sigma by ``sqrt(T)``. With "magenta-js" a model samples here as it
does in the browser at the same T.
"""

from __future__ import annotations

DEFAULT_TEMPERATURE = 0.25
MIN_TEMPERATURE = 1e-3
MAX_TEMPERATURE = 2.0
TEMPERATURE_STYLES = ("paper", "magenta-js")


def temperature_factors(temperature: float, style: str = "paper") -> tuple[float, float]:
    """``(logit divisor, variance factor)`` for pi and pen logits and for sigma^2."""
    if style == "paper":
        return temperature, temperature
    if style == "magenta-js":
        return 0.5 + 0.5 * temperature, temperature
    raise ValueError(f"unknown temperature style {style!r}; use one of {TEMPERATURE_STYLES}")
