"""Options: the base of every model's and loss's own pydantic options class (simonw/llm style).

A registered model or loss class declares ``Options``, a subclass of ``ComponentOptions``; the
config validates the ``[draw.model]`` / ``[predict.loss]`` / ... keys against it (unknown keys are
errors), ``sketchrnn plugins`` lists its fields, and a checkpoint stores exactly its values.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ComponentOptions(BaseModel):
    """Extra keys forbidden; give every field a default and ``Field(description=...)``."""

    model_config = ConfigDict(extra="forbid")


class NoOptions(ComponentOptions):
    """The options of a class that declares none: it takes none."""


def options_class(cls: Any) -> type[BaseModel]:
    """The pydantic options model a model or loss class declares as ``Options`` (else none)."""
    options = getattr(cls, "Options", None)
    return options if isinstance(options, type) and issubclass(options, BaseModel) else NoOptions


Cell = Literal["lstm", "layer_norm"]
CELL_HELP = "lstm: fused fast path; layer_norm: the paper's layer-normalised LSTM (slower)."
RECURRENT_DROPOUT_HELP = ("Recurrent regularisation, a drop probability. lstm: DropConnect on the "
                          "recurrent weights, one mask per batch; layer_norm: dropout on the cell "
                          "candidate at every step (the paper's).")


class RecurrentOptions(ComponentOptions):
    """What every LSTM-based built-in takes: the cell kind and its recurrent dropout."""

    cell: Cell = Field("lstm", description=CELL_HELP)
    recurrent_dropout: float = Field(0.1, ge=0, lt=1, description=RECURRENT_DROPOUT_HELP)
