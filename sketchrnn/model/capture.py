"""Fewer kernel launches: run a function through ``torch.compile``, or eagerly where that fails.

A Sketch-RNN step (and each decode step of sampling) is hundreds of small kernels whose launch
cost, not their arithmetic, sets the time on a GPU (docs/benchmarks.md, "GPU (H200)").
``torch.compile(mode="reduce-overhead")`` fuses them and replays them as CUDA graphs, which
needs fixed shapes: the training loop pads batches to a few bucket lengths first
(``train/runtime.py``), a sampling call keeps one batch size throughout.

``compile`` settings, everywhere: ``off`` (eager), ``auto`` (CUDA graphs on a GPU, eager on the
CPU, where there are no launches to save), ``on`` (compile on any device: inductor's fused
kernels on the CPU). Whatever goes wrong (no ``torch.compile``, no compiler for this platform,
an error while tracing) the call runs eagerly from then on: one log line, never a crash. An
error the eager function raises too is the caller's, and comes out as it would without capture.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch

COMPILE_SETTINGS = ("off", "auto", "on")
log = logging.getLogger(__name__)


def compile_mode(setting: str, device: torch.device | str) -> str | None:
    """The ``torch.compile`` mode for ``setting`` on ``device``; None: stay eager."""
    if setting not in COMPILE_SETTINGS:
        raise ValueError(f"compile setting {setting!r}: use one of {', '.join(COMPILE_SETTINGS)}")
    if setting == "off":
        return None
    if torch.device(device).type == "cuda":
        return "reduce-overhead"  # CUDA graphs: a captured step is one launch
    return "default" if setting == "on" else None


class Captured:
    """``fn`` compiled with ``mode`` (None: eager); after one failed compiled call, ``fn`` itself.

    ``backend`` other than inductor (e.g. "aot_eager": traced forward and backward, no code
    generation) is for tests. ``status`` says which ran and why, for the run's metadata: "eager (compile off)",
    "compiled (reduce-overhead)", or "eager (fallback: <error>)".
    """

    def __init__(self, fn: Callable[..., Any], mode: str | None, what: str, *,
                 backend: str = "inductor") -> None:
        self.eager, self.what = fn, what
        self.compiled: Callable[..., Any] | None = None
        self.status = "eager (compile off)"
        if mode is None:
            return
        compile_fn = getattr(torch, "compile", None)
        if compile_fn is None:
            self._fall_back("torch.compile is not available in this torch")
            return
        try:
            options = {"mode": mode} if backend == "inductor" else {}  # modes are inductor's
            self.compiled = compile_fn(fn, backend=backend, dynamic=False, **options)
            self.status = f"compiled ({mode})"
        except Exception as exc:  # noqa: BLE001 - e.g. no dynamo on this Python
            self._fall_back(_one_line(exc))

    @property
    def is_compiled(self) -> bool:
        return self.compiled is not None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.compiled is not None:
            try:
                return self.compiled(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - compile-time errors surface at the first call
                self._fall_back(_one_line(exc))
        return self.eager(*args, **kwargs)

    def _fall_back(self, reason: str) -> None:
        self.compiled = None
        self.status = f"eager (fallback: {reason})"
        log.info("%s: torch.compile unavailable here, running eagerly (%s)", self.what, reason)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def capture_decoding(model: torch.nn.Module, setting: str, device: torch.device | str, *,
                     backend: str = "inductor") -> Captured:
    """Capture a draw model's ``decode_step`` (the sampling loop's body: one LSTM step and the
    mixture head) for ``setting``; ``sampling.sample`` then calls it unchanged. Returns the
    capture (its ``status``); ``del model.decode_step`` restores the eager method.

    With CUDA graphs, a replay overwrites the previous replay's outputs: each step is marked as
    a new one and its state is copied out, since it is fed to the next step (the mixture and pen
    outputs are consumed before the next replay).
    """
    eager = type(model).decode_step.__get__(model)  # the class's method, even if already captured
    mode = compile_mode(setting, device)
    captured = Captured(_traceable_step(model) or eager, mode, f"{type(model).__name__}.decode_step",
                        backend=backend)
    graphs = mode == "reduce-overhead"

    def decode_step(inputs: torch.Tensor, z: torch.Tensor | None, state: Any) -> Any:
        if graphs and captured.is_compiled:
            torch.compiler.cudagraph_mark_step_begin()
        mixture, q_logits, new_state = captured(inputs, z, state)  # [n, M], [n, 3], (h, c)
        if graphs and captured.is_compiled:
            new_state = tuple(t.clone() for t in new_state)
        return mixture, q_logits, new_state

    decode_step.capture = captured  # type: ignore[attr-defined]
    model.decode_step = decode_step  # type: ignore[method-assign]
    return captured


def _traceable_step(model: torch.nn.Module) -> Callable[..., Any] | None:
    """The decode step of a draw model whose decoder runs a plain ``nn.LSTM``, in a form dynamo
    traces whole: Dynamo graph-breaks at any ``nn.LSTM`` module it meets (even to read its
    weights), which splits the step into pieces and keeps the GPU path's cuDNN call out of the
    graph. Here the weights are closure variables and the cell is ``torch.lstm_cell``, the same
    math as ``PlainLSTM.step`` on the CPU. None for any other decoder: its own step is compiled."""
    decoder = getattr(model, "decoder", None)
    lstm = getattr(getattr(decoder, "rnn", None), "lstm", None)
    if not isinstance(lstm, torch.nn.LSTM) or lstm.bidirectional or lstm.num_layers != 1:
        return None
    weights = (lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0)

    def step(inputs: torch.Tensor, z: torch.Tensor | None, state: Any) -> Any:
        h, c = torch.lstm_cell(decoder._inputs(inputs, z), tuple(state), *weights)  # [n, H] each
        mixture, q_logits = decoder._head(h)  # Eq. 5-8
        return mixture, q_logits, (h, c)

    return step
