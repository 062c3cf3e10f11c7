"""What a plugin must provide, group by group: the contracts the core relies on, in one place.

Plugins register through the entry-point groups the built-ins use (``pyproject.toml``)::

    sketchrnn.categories   an object satisfying CategorySource             (e.g. QUICKDRAW)
    sketchrnn.models       a class; its instances satisfy DrawModel or Classifier
    sketchrnn.losses       a class; its instances satisfy DrawLoss or ClassificationLoss

How the core builds and calls them (``registry.py``, ``train/loop.py``, ``train/tasks.py``):

* **Options.** A model or loss class declares its hyperparameters as ``Options``, a subclass of
  ``ComponentOptions`` (pydantic, extra keys forbidden) with a default and
  ``Field(description=...)`` per field::

      class MyModel(nn.Module):
          class Options(ComponentOptions):
              width: int = Field(64, ge=1, description="Hidden size.")

          def __init__(self, *, width: int = 64) -> None: ...

  The ``[draw.model]`` / ``[predict.model]`` / ``[draw.loss]`` / ``[predict.loss]`` keys beside
  ``name`` are validated against it on the driver (a key it does not declare is an error naming the
  valid ones), ``--set draw.model.width=128`` and tune search spaces set them, and
  ``sketchrnn plugins`` lists them. Subclass a built-in's options to extend them (e.g.
  ``sketchrnn.model.sketch_rnn.SketchRNNOptions``); a class without ``Options`` takes none. The
  size presets (``preset = "tiny"``) set the options of theirs a model declares (``enc_hidden``,
  ``dec_hidden``, ``z_dim``, ``n_mixtures``, ``conv_channels``).
* **Model classes** are built as ``cls(**options, **context)``: every option, resolved, plus the
  context arguments the task supplies and the constructor names (``n_categories``). Exactly these
  are stored in every checkpoint (``model_kwargs``) and rebuild the model for ``sample``, so they
  must be plain JSON values. Models are ``torch.nn.Module``s: the loop uses ``parameters()``,
  ``train()``/``eval()``, ``to(device)``; checkpoints use ``state_dict()``.
* **Loss classes** are built as ``cls(**options, **context)`` with the context arguments the
  constructor names: ``n_max`` (``data.max_seq_len``) and ``total_steps`` (``train.steps``, for
  schedules that follow the run's length). A loss may offer ``schedule() -> str``, its effective
  schedule in a few words, which `fit`'s plan shows. A loss returns a dict of scalar tensors: ``"loss"`` is optimised, every other key is logged
  to ``metrics.jsonl`` and averaged in evaluation.
* **Tensors**: ``x [B, T, 5]`` stroke-5 targets ``(dx, dy, p1, p2, p3)`` with ``T = max(lengths) + 1``
  (every sketch ends with an end token), ``lengths [B]`` real points; see docs/architecture.md.

Each protocol is ``runtime_checkable``: ``isinstance(obj, DrawModel)`` checks that the members
exist (not their signatures); ``missing_members(obj, DrawModel)`` names the ones that don't.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from sketchrnn.data.categories import CategorySource
from sketchrnn.model.options import ComponentOptions

if TYPE_CHECKING:
    from collections.abc import Mapping

    from torch import Tensor

    from sketchrnn.model.mixture import MixtureParams

__all__ = [
    "CategorySource", "ComponentOptions", "DrawOutput", "DrawModel", "ConditionalDrawModel", "Classifier",
    "DrawLoss", "ClassificationLoss", "missing_members",
]


@runtime_checkable
class DrawOutput(Protocol):
    """What a draw model's ``forward`` returns and a draw loss reads (e.g. ``SketchRNNOutput``)."""

    mixture: MixtureParams  # every field [B, T, M]: predicts x[:, t] from x[:, :t] (Eq. 3)
    q_logits: Tensor  # [B, T, 3] pen-state logits
    mu: Tensor | None  # [B, Nz]; None without a latent (then no KL term)
    sigma_hat: Tensor | None  # [B, Nz], sigma = exp(sigma_hat / 2)
    z: Tensor | None  # [B, Nz]: sampled in training, mu in eval


@runtime_checkable
class DrawModel(Protocol):
    """A Sketch-RNN-like generator (``task = "draw"``), trained per category and sampled from.

    The sampler drives the decoder one step at a time: ``state`` is opaque to it but must be a
    tensor or a (nested) plain tuple of ``[B, ...]`` tensors, so rows can be masked and selected.
    ``decode_sequence`` over T inputs must end in the same state as T ``decode_step`` calls
    (completion primes the decoder with one, then continues with the other).
    """

    task: str  # "draw"
    conditional: bool  # True: has encode() and its decoder needs z
    z_dim: int  # N_z; 0 for an unconditional model

    def __call__(self, x: Tensor, lengths: Tensor) -> DrawOutput: ...

    def start_token(self, batch_size: int) -> Tensor: ...  # [B, 5]: S_0 = (0, 0, 1, 0, 0)

    def initial_state(self, z: Tensor | None, batch_size: int) -> Any: ...

    def decode_step(self, inputs: Tensor, z: Tensor | None, state: Any,
                    ) -> tuple[MixtureParams, Tensor, Any]: ...  # [B, 5] -> [B, M], [B, 3], state

    def decode_sequence(self, inputs: Tensor, z: Tensor | None, state: Any = None,
                        ) -> tuple[MixtureParams, Tensor, Any]: ...  # [B, T, 5] -> [B, T, M], [B, T, 3]


@runtime_checkable
class ConditionalDrawModel(DrawModel, Protocol):
    """A draw model with an encoder (``conditional = True``): reconstruct, interpolate."""

    def encode(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]: ...  # mu, sigma_hat [B, Nz]


@runtime_checkable
class Classifier(Protocol):
    """The predict model (``task = "predict"``); built with ``n_categories``, labels in
    ``data.categories`` order."""

    task: str  # "predict"

    def __call__(self, x: Tensor, lengths: Tensor) -> Tensor: ...  # logits [B, n_categories]


@runtime_checkable
class DrawLoss(Protocol):
    """``loss(output, x, lengths, step)``; ``step`` (0-based) drives schedules such as KL annealing."""

    def __call__(self, output: DrawOutput, x: Tensor, lengths: Tensor, step: int,
                 ) -> Mapping[str, Tensor]: ...


@runtime_checkable
class ClassificationLoss(Protocol):
    """``loss(logits [B, C], labels [B])``; the built-in also reports ``"accuracy"``."""

    def __call__(self, logits: Tensor, labels: Tensor) -> Mapping[str, Tensor]: ...


def missing_members(obj: Any, protocol: type) -> list[str]:
    """Names ``protocol`` requires that ``obj`` lacks (empty when it conforms), for plugin tests:
    ``assert not missing_members(model, ConditionalDrawModel)``."""
    required: list[str] = []
    for base in protocol.__mro__:
        if base in (object, Protocol) or not getattr(base, "_is_protocol", False):
            continue
        for name in (*getattr(base, "__annotations__", {}), *vars(base)):
            if (name == "__call__" or not name.startswith("_")) and name not in required:
                required.append(name)
    return [name for name in required if not hasattr(obj, name)]
