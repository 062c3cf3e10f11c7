"""The check every draw model passes, built-in or plugin: stepping the decoder one point at a
time (as the sampler does) gives exactly the outputs of teacher forcing, also after priming it
with a prefix (as completion does)."""

from __future__ import annotations

from typing import Any

import torch


def assert_steps_match_teacher_forcing(model: Any, x: torch.Tensor, out: Any) -> None:
    """``out``: ``model(x, lengths)`` in eval mode, for stroke-5 ``x [B, T, 5]`` with T > 4."""
    batch = x.shape[0]
    inputs = torch.cat([model.start_token(batch).unsqueeze(1), x[:, :-1]], 1)  # [B, T, 5]
    state = model.initial_state(out.z, batch)
    for t in range(x.shape[1]):
        mixture, q_logits, state = model.decode_step(inputs[:, t], out.z, state)
        torch.testing.assert_close(q_logits, out.q_logits[:, t], rtol=1e-5, atol=1e-5)
        for got, want in zip(mixture, out.mixture):
            torch.testing.assert_close(got, want[:, t], rtol=1e-5, atol=1e-5)
    # priming with a prefix, then stepping, continues exactly where teacher forcing goes
    _, _, primed = model.decode_sequence(inputs[:, :4], out.z)
    _, q_logits, _ = model.decode_step(inputs[:, 4], out.z, primed)
    torch.testing.assert_close(q_logits, out.q_logits[:, 4], rtol=1e-5, atol=1e-5)
