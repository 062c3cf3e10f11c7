"""Evaluating a draw model: test-split losses as in the paper's tables, and recognisability.

* **Losses** (Ha & Eck 2017, Table 1 reports L_R and L_KL on the test set): full test sketches,
  no augmentation; ``z`` is *sampled* from q(z | S) with a seeded generator, as magenta's eval
  graph does (its encoder always samples), not the mean our model takes in eval mode.
  ``total = L_R + w_KL * max(L_KL, KL_min)`` with the job's final KL weight (annealing done).
* **Recognisability**: the share of unconditional samples (temperature 0.25 by default) that the
  predict model assigns to the draw model's own category. Samples are turned into pixels with the
  draw model's scale and normalised with the predict model's, exactly as a user's sketch would be.
* **Sample quality**: FID and improved precision/recall (``fid.py``) of the samples against the
  real test sketches of the category, in the predict model's pooled features; beside them the
  real valid sketches against the same test sketches: the floor a perfect model would reach with
  that many real sketches. Recognisability alone passes a model that draws one good sketch over
  and over; these do not (its recall is ~0, its FID the whole spread of the real features).
  Beside them, the share of the category's real valid and test sketches the same predict model
  names correctly: the judge's own ceiling, which samples as good as real drawings would reach.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from sketchrnn.config import DEFAULT_TEMPERATURE, DEFAULT_TEMPERATURE_STYLE
from sketchrnn.data.strokes import SketchSet
from sketchrnn.evaluation.fid import DEFAULT_K, compare_features


@torch.inference_mode()
def test_losses(model: Any, test: SketchSet, *, kl_weight: float, kl_min: float, n_max: int,
                seed: int = 0, batch_size: int = 256) -> dict[str, float]:
    """Mean ``recon`` (= ``offsets`` + ``pen``), ``kl``, ``total`` over the test split.

    A decoder-only model has no latent, hence no KL term: its ``total`` is ``recon`` and its
    ``kl_weight`` is reported as 0, as its training loss does.
    """
    from sketchrnn.data.batching import make_batch
    from sketchrnn.losses.sketch_rnn import SketchRNNLoss
    from sketchrnn.model.encoder import reparameterize
    from sketchrnn.model.sketch_rnn import SketchRNNOutput

    conditional = bool(getattr(model, "conditional", False))
    if not conditional:
        kl_weight, kl_min = 0.0, 0.0
    loss_fn = SketchRNNLoss(n_max=n_max, kl_weight=kl_weight, kl_weight_start=1.0, kl_min=kl_min)
    generator = torch.Generator().manual_seed(seed)
    model.eval()
    order = np.argsort(test.lengths, kind="stable")
    totals: dict[str, float] = {}
    for start in range(0, len(order), batch_size):
        batch = make_batch(test, order[start : start + batch_size])
        x, lengths = batch.x, batch.lengths  # [B, T, 5], [B]
        mu = sigma_hat = z = None
        if conditional:
            mu, sigma_hat = model.encode(x, lengths)  # [B, Nz] each
            z = reparameterize(mu, sigma_hat, generator)  # Eq. 2, as magenta evaluates
        inputs = torch.cat([model.start_token(len(x)).unsqueeze(1), x[:, :-1]], 1)  # [B, T, 5]
        mixture, q_logits, _ = model.decode_sequence(inputs, z)
        terms = loss_fn(SketchRNNOutput(mixture, q_logits, mu, sigma_hat, z), x, lengths, step=0)
        for key in ("recon", "offsets", "pen", "kl"):
            totals[key] = totals.get(key, 0.0) + float(terms[key]) * len(x)
    out = {k: v / len(test) for k, v in totals.items()}
    out["total"] = out["recon"] + kl_weight * max(out["kl"], kl_min)  # over the split's means
    out.update(kl_weight=kl_weight, kl_min=kl_min, conditional=conditional,
               n_sketches=len(test))
    return out


def recognisability(draw_model: Any, draw_meta: Any, predictor: Any, category: str, *,
                    n: int = 100, temperature: float = DEFAULT_TEMPERATURE, seed: int = 0,
                    temperature_style: str = DEFAULT_TEMPERATURE_STYLE) -> tuple[dict[str, Any], list[np.ndarray]]:
    """Share of ``n`` unconditional samples the predict model labels ``category``.

    ``recognised``: the top category is ``category``; ``recognised_in_distribution``: and the
    OOD verdict says it is one of the known categories. Empty samples count as not recognised.
    """
    from sketchrnn.data.strokes import denormalise
    from sketchrnn.predict.inference import normalise
    from sketchrnn.sampling import sample

    if category not in predictor.categories:
        from sketchrnn.errors import InputError

        raise InputError(f"the predict model does not know {category!r} (it knows "
                         f"{', '.join(predictor.categories)})",
                         "train the predict model with this category, or evaluate another one")
    samples = sample(draw_model, n, temperature=temperature, seed=seed,
                     max_len=draw_meta.max_seq_len, temperature_style=temperature_style)
    pixels = [denormalise(s, draw_meta.scale) for s in samples]
    usable = [i for i, s in enumerate(pixels) if len(s) >= 1]
    target = predictor.categories.index(category)
    top = np.full(n, -1)
    inside = np.zeros(n, dtype=bool)
    if usable:
        units = [normalise(pixels[i], predictor.meta) for i in usable]
        _, probs, scores = predictor.predict_normalised(units)
        top[usable] = probs.argmax(axis=1)
        if predictor.calibration:
            name = predictor.calibration["ood_score"]
            inside[usable] = scores[name] >= float(predictor.calibration["ood_threshold"])
        else:
            inside[usable] = True
    counts = np.bincount(top[top >= 0], minlength=len(predictor.categories))
    return {
        "n": n, "temperature": temperature, "temperature_style": temperature_style, "seed": seed,
        "recognised": float((top == target).mean()),
        "recognised_in_distribution": float(((top == target) & inside).mean()),
        "assigned": {c: int(k) for c, k in zip(predictor.categories, counts)},
        "empty_samples": int(n - len(usable)),
        "mean_points": float(np.mean([len(s) for s in pixels])),
    }, pixels


def sample_quality(predictor: Any, category: str, pixels: list[np.ndarray], *,
                   k: int = DEFAULT_K, data_dir: Any = None) -> dict[str, Any]:
    """FID / precision / recall of the samples ``pixels`` (stroke-3, pixels) against the real
    test sketches of ``category`` from the predict model's own data, with the real valid
    sketches' figures as the floor (``quality_against_real``). Precision is over all samples,
    empty ones counting as unrealistic."""
    from sketchrnn.predict.inference import normalise
    from sketchrnn.predict.loading import load_data

    data = load_data(predictor.meta, data_dir)  # predict-model units, its length filter
    label = predictor.categories.index(category)
    real = {name: split.subset(np.flatnonzero(split.labels == label))
            for name, split in (("valid", data.valid), ("test", data.test))}
    generated = SketchSet.from_list([normalise(p, predictor.meta) for p in pixels if len(p)])
    out = quality_against_real(predictor.model, generated, real["valid"], real["test"], k=k)
    # An empty sample has no features, so FID and recall leave it out; it is no realistic sketch
    # either, so precision counts it as one outside the real manifold.
    out["generated"]["precision"] *= len(generated) / len(pixels)
    out["empty_samples"] = len(pixels) - len(generated)
    out["real_recognised"] = {name: named_share(predictor.model, split, label)
                              for name, split in real.items()}
    return out


def named_share(model: Any, sketches: SketchSet, label: int) -> float:
    """Share of ``sketches`` (complete, in the classifier's units) whose top class is ``label``;
    NaN for an empty set."""
    from sketchrnn.predict.inference import classify

    if not len(sketches):
        return float("nan")
    return float((classify(model, sketches).argmax(axis=1) == label).mean())


def quality_against_real(model: Any, generated: SketchSet, valid: SketchSet, test: SketchSet,
                         *, k: int = DEFAULT_K) -> dict[str, Any]:
    """``generated`` and ``valid`` each against ``test``, all in the classifier's units:
    ``{"generated": {fid, precision, recall, ...}, "floor": {...}, "k", "features"}``."""
    from sketchrnn.predict.inference import embed

    test_features = embed(model, test)  # [n_test, D]
    generated_features, valid_features = embed(model, generated), embed(model, valid)
    return {"k": k, "features": f"predict model's pooled code ({test_features.shape[1]}-d)",
            "generated": compare_features(test_features, generated_features, k),
            "floor": compare_features(test_features, valid_features, k)}
