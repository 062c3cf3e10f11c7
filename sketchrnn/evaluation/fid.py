"""Distances between a set of real and a set of generated sketches, given their features.

Plain numpy on feature matrices ``[n, d]`` (``sketchrnn.predict.inference.embed`` gives the
predict model's pooled code for a set of sketches), so the numbers can be checked against
closed forms and brute force, and any benchmark can call them:

* **FID** (Heusel et al. 2017): the Frechet distance between Gaussians fitted to both sets,
  ``|mu_r - mu_g|^2 + tr(S_r) + tr(S_g) - 2 tr((S_r^1/2 S_g S_r^1/2)^1/2)``. Fidelity and
  diversity in one number: a model that draws one sketch over and over has ``S_g = 0`` and pays
  the whole ``tr(S_r)``. It is biased upwards by small sets, so compare figures at equal sizes.
* **Improved precision and recall** (Kynkaanniemi et al. 2019): each set's manifold is the union
  of balls around its points, each ball reaching that point's k-th nearest neighbour in its own
  set. *Precision*: the share of generated points inside the real manifold (are the samples
  realistic?); *recall*: the share of real points inside the generated manifold (is every kind of
  real sketch drawn?). Repeating one sketch gives balls of radius 0: recall near 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DEFAULT_K = 3  # the paper's choice: k = 3 balances the estimate's noise and its reach
_ROW_BLOCK = 1024  # rows of the distance matrix held at once: memory O(block x n)


def _features(name: str, x: np.ndarray, min_rows: int) -> np.ndarray:
    """``x`` as float64 ``[n, d]``; ValueError for the wrong shape, too few rows or non-finite
    values (a NaN feature would make every comparison false and every figure silently wrong)."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or len(a) < min_rows:
        raise ValueError(f"{name} features must be [n >= {min_rows}, d], got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} features hold non-finite values")
    return a


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``[d]`` and sample covariance ``[d, d]`` (ddof=1) of ``features [n, d]``."""
    x = _features("the", features, 2)
    return x.mean(axis=0), np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    """Symmetric square root of a positive semi-definite matrix; rounding's tiny negative
    eigenvalues are taken as 0."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(mu_a: np.ndarray, cov_a: np.ndarray, mu_b: np.ndarray,
                     cov_b: np.ndarray) -> float:
    """Squared 2-Wasserstein (Frechet) distance between N(mu_a, cov_a) and N(mu_b, cov_b).

    ``tr((A B)^1/2)`` is computed as ``tr((A^1/2 B A^1/2)^1/2)``: the same eigenvalues, but of a
    symmetric PSD matrix, so ``eigh`` applies and singular covariances (fewer points than
    dimensions) need no regularising epsilon.
    """
    mu_a, mu_b = np.asarray(mu_a, np.float64), np.asarray(mu_b, np.float64)
    cov_a, cov_b = np.asarray(cov_a, np.float64), np.asarray(cov_b, np.float64)
    root_a = _sqrt_psd(cov_a)
    cross = np.linalg.eigvalsh(root_a @ cov_b @ root_a)  # eigenvalues of A^1/2 B A^1/2
    trace_sqrt = float(np.sqrt(np.clip(cross, 0.0, None)).sum())
    diff = mu_a - mu_b
    value = float(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * trace_sqrt)
    return max(value, 0.0)  # equal sets give -1e-12 from rounding; the distance is never < 0


def fid(real: np.ndarray, generated: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to ``real [n, d]`` and ``generated [m, d]``."""
    r, g = _pair(real, generated, 2)
    return frechet_distance(*gaussian_stats(r), *gaussian_stats(g))


def _pair(real: np.ndarray, generated: np.ndarray, min_rows: int) -> tuple[np.ndarray, np.ndarray]:
    r = _features("real", real, min_rows)
    g = _features("generated", generated, min_rows)
    if r.shape[1] != g.shape[1]:
        raise ValueError(f"real and generated features differ in size: {r.shape[1]} vs "
                         f"{g.shape[1]}")
    return r, g


def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``[len(a), len(b)]`` squared Euclidean distances (``|a|^2 + |b|^2 - 2 a.b``, >= 0)."""
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return np.clip(d, 0.0, None)


def knn_radii(features: np.ndarray, k: int = DEFAULT_K) -> np.ndarray:
    """Squared distance from every point to its k-th nearest neighbour in the same set (itself
    excluded): ``[n]``. Duplicates are neighbours at distance 0."""
    x = _features("the", features, k + 1)
    radii = np.empty(len(x))
    for start in range(0, len(x), _ROW_BLOCK):
        block = _squared_distances(x[start : start + _ROW_BLOCK], x)  # [b, n]
        # Index 0 of each sorted row is the point itself (distance 0), so index k is the k-th
        # other point, as in the paper's reference code.
        radii[start : start + len(block)] = np.partition(block, k, axis=1)[:, k]
    return radii


def _inside(points: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """``[len(points)]`` bool: inside at least one ball ``|p - c|^2 <= r^2``."""
    out = np.empty(len(points), dtype=bool)
    for start in range(0, len(points), _ROW_BLOCK):
        block = _squared_distances(points[start : start + _ROW_BLOCK], centres)  # [b, n]
        out[start : start + len(block)] = (block <= radii[None, :]).any(axis=1)
    return out


def precision_recall(real: np.ndarray, generated: np.ndarray,
                     k: int = DEFAULT_K) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019) of ``generated`` against
    ``real``, both ``[n, d]`` with more than ``k`` points each."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    r, g = _pair(real, generated, k + 1)
    precision = float(_inside(g, r, knn_radii(r, k)).mean())
    recall = float(_inside(r, g, knn_radii(g, k)).mean())
    return precision, recall


def compare_features(real: np.ndarray, generated: np.ndarray,
                     k: int = DEFAULT_K) -> dict[str, Any]:
    """``{"fid", "precision", "recall", "k", "n_real", "n_generated"}`` of two feature sets: the
    one call for reports and benchmarks."""
    precision, recall = precision_recall(real, generated, k)
    return {"fid": fid(real, generated), "precision": precision, "recall": recall, "k": k,
            "n_real": int(len(real)), "n_generated": int(len(generated))}
