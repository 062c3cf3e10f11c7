"""A draw checkpoint -> a magenta-js ``.gen.json`` model (what @magenta/sketch and ml5 load).

magenta-js runs the unconditional decoder only: zero initial state, the previous point as the
only input. Our ``sketch_rnn_uncond`` with the plain LSTM cell is exactly that model. A VAE's
decoder is conditioned on z (its initial state and every input), so running it without z is a
different model: it is refused rather than silently changed. The full VAE (encoder and decoder)
has a browser layout too, read by magenta-demos' ``sketch_rnn.js``; that library is published on
no package registry, so no test could run it, and an exporter nobody can check is not offered. The layer-norm cell has no place in
the format (magenta-js runs ``tf.basicLSTMCell``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sketchrnn.errors import CheckpointError
from sketchrnn.interop.convert import magenta_tensors
from sketchrnn.interop.importing import MODEL_NAME
from sketchrnn.interop.magenta_json import MagentaModel, dumps_model

DECODER_ONLY_FIX = ("train a decoder-only model (`--set draw.model.name=sketch_rnn_uncond`, plain "
                    "LSTM cell) to run it in magenta-js")


def exportable(meta: Any, where: Path, category: str | None = None) -> None:
    """A CheckpointError naming what magenta-js's format cannot hold in the model ``meta``
    describes (or, given ``category``, when the model draws another one)."""
    if meta.task != "draw":
        raise CheckpointError(f"{where} holds a {meta.task} model; only draw models export",
                              "pass a draw model's checkpoint (runs/draw-<category>/checkpoints/latest)")
    if meta.model == "sketch_rnn":
        raise CheckpointError(f"{where} is a VAE (sketch_rnn): export writes the decoder-only model "
                              "of magenta-js's unconditional SketchRNN, and a VAE's decoder needs its "
                              "latent z; the full VAE layout (magenta-demos' sketch_rnn.js) is not "
                              "offered because that library is on no package registry, so the "
                              "export could not be tested against it", DECODER_ONLY_FIX)
    if meta.model != MODEL_NAME:
        raise CheckpointError(f"{where} holds a {meta.model!r} model; magenta-js runs only "
                              f"{MODEL_NAME!r}", DECODER_ONLY_FIX)
    cell = meta.model_kwargs.get("cell", "lstm")
    if cell != "lstm":
        raise CheckpointError(f"{where} uses the {cell!r} LSTM cell; magenta-js runs TensorFlow's "
                              "basic LSTM cell (no layer norm)", DECODER_ONLY_FIX)
    if len(meta.categories) != 1:
        raise CheckpointError(f"{where} draws {len(meta.categories)} categories; a magenta-js "
                              "model draws one", "export a single-category draw model")
    if category is not None and meta.categories != [category]:
        raise CheckpointError(f"{where} draws {meta.categories[0]!r}, not {category!r}",
                              f"name the category it draws, e.g. {meta.categories[0]!r}, or pass "
                              "another --checkpoint")


def to_magenta(model: Any, meta: Any, name: str) -> MagentaModel:
    """The magenta-js model of a decoder-only torch ``model`` (float weights, not yet quantised)."""
    state = {k: v.detach().cpu().double().numpy() for k, v in model.state_dict().items()}
    tensors = magenta_tensors(state, model.n_mixtures)
    return MagentaModel(name=name, max_seq_len=meta.max_seq_len, scale_factor=float(meta.scale),
                        tensors=tensors)


def export_checkpoint(path: Path, category: str) -> str:
    """The ``.gen.json`` text of ``category``'s draw checkpoint at ``path``; CheckpointError for
    what the format cannot hold (the model kind, the cell, > 20 mixtures, weights beyond +-10)."""
    from sketchrnn.checkpoint_meta import read_meta
    from sketchrnn.runs import load_draw

    from sketchrnn.interop.pretrained import model_name

    exportable(read_meta(path), Path(path), category)
    model, meta = load_draw(Path(path))
    return dumps_model(to_magenta(model, meta, model_name(category)))
