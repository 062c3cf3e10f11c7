"""The sampling temperature's default and valid range: one place for the CLI, the web API and
the library (``sampling.sample``), kept free of torch so that CLI options can show them instantly.

The temperature scales the mixture and pen logits and the Gaussian's variance (Sec. 4.2 of Ha &
Eck 2017; see ``sampling.draw_step``). 0.25 draws clean, typical sketches of a trained model; the
range stops at 2, beyond which a draw model's samples are noise, and starts above 0, where the
softmax becomes an argmax (use greedy mode for that).
"""

from __future__ import annotations

DEFAULT_TEMPERATURE = 0.25
MIN_TEMPERATURE = 1e-3
MAX_TEMPERATURE = 2.0
