"""FID and improved precision/recall against independent references: closed forms of the
Frechet distance, numpy's general eigen-solver on ``S_a S_b``, and brute-force loops over
hand-made point sets whose answers are worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sketchrnn.evaluation.fid import (
    compare_features, fid, frechet_distance, gaussian_stats, knn_radii, precision_recall)


def _random_cov(rng: np.random.Generator, d: int, rank: int | None = None) -> np.ndarray:
    a = rng.normal(size=(d, rank or d))
    return a @ a.T / d


def _reference_frechet(mu_a, cov_a, mu_b, cov_b) -> float:
    """tr((A B)^1/2) from the eigenvalues of the non-symmetric product A B (numpy's general
    ``eig``), which are those of A^1/2 B A^1/2: real and >= 0 up to rounding."""
    eig = np.linalg.eigvals(cov_a @ cov_b)
    trace_sqrt = np.sqrt(np.clip(eig.real, 0, None)).sum()
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_sqrt)


def test_frechet_distance_of_1d_gaussians_is_the_closed_form():
    # W2^2(N(m1, s1^2), N(m2, s2^2)) = (m1 - m2)^2 + (s1 - s2)^2
    got = frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([-2.0]), np.array([[0.25]]))
    assert got == pytest.approx(9.0 + (2.0 - 0.5) ** 2, rel=1e-12)


def test_frechet_distance_of_diagonal_gaussians_is_the_closed_form():
    rng = np.random.default_rng(0)
    var_a, var_b = rng.uniform(0.1, 3, 12), rng.uniform(0.1, 3, 12)
    mu_a, mu_b = rng.normal(size=12), rng.normal(size=12)
    expected = np.sum((mu_a - mu_b) ** 2) + np.sum((np.sqrt(var_a) - np.sqrt(var_b)) ** 2)
    assert frechet_distance(mu_a, np.diag(var_a), mu_b, np.diag(var_b)) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("d, rank_b", [(5, None), (32, None), (32, 8)])
def test_frechet_distance_matches_numpy_eig_reference(d, rank_b):
    rng = np.random.default_rng(d)
    cov_a, cov_b = _random_cov(rng, d), _random_cov(rng, d, rank_b)  # rank_b: singular
    mu_a, mu_b = rng.normal(size=d), rng.normal(size=d)
    got = frechet_distance(mu_a, cov_a, mu_b, cov_b)
    assert got == pytest.approx(_reference_frechet(mu_a, cov_a, mu_b, cov_b), rel=1e-7, abs=1e-9)
    assert got == pytest.approx(frechet_distance(mu_b, cov_b, mu_a, cov_a), rel=1e-7)  # symmetric


def test_fid_of_feature_sets():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6))
    assert fid(x, x) == pytest.approx(0.0, abs=1e-9)
    shift = np.arange(6.0)
    assert fid(x, x + shift) == pytest.approx(shift @ shift, rel=1e-9)  # same covariance
    mu, cov = gaussian_stats(x)
    np.testing.assert_allclose(cov, np.cov(x.T), rtol=1e-12)
    y = rng.normal(size=(200, 6))
    assert fid(x, y) == pytest.approx(_reference_frechet(mu, cov, y.mean(0), np.cov(y.T)), rel=1e-7)


def test_one_sketch_repeated_pays_the_whole_spread():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(400, 4)) * [1, 2, 3, 4]
    copies = np.repeat(real[:1], 500, axis=0)  # zero covariance
    expected = np.sum((real.mean(0) - real[0]) ** 2) + np.trace(np.cov(real.T))
    assert fid(real, copies) == pytest.approx(expected, rel=1e-9)


def _brute_precision_recall(real, generated, k):
    """The paper's definition, one point at a time."""
    def radius(points, i):
        d = sorted(math.dist(points[i], q) for j, q in enumerate(points) if j != i)
        return d[k - 1]

    def inside(p, centres):
        return any(math.dist(p, c) <= radius(centres, j) for j, c in enumerate(centres))

    precision = sum(inside(g, real) for g in generated) / len(generated)
    recall = sum(inside(r, generated) for r in real) / len(real)
    return precision, recall


def test_precision_recall_on_a_hand_made_line():
    # Real points 0..4 on a line, k = 1: every real ball has radius 1, covering [-1, 5].
    # Generated 0.5, 1.5 and 20: two of three inside -> precision 2/3. Generated radii (k = 1):
    # 1 (0.5 <-> 1.5), 1 and 18.5 (20 -> 1.5); the ball around 20 reaches down to 1.5, so the
    # real points 2, 3 and 4 are inside it as well as 0 and 1 -> recall 1.
    real = np.array([[0.0], [1.0], [2.0], [3.0], [4.0]])
    generated = np.array([[0.5], [1.5], [20.0]])
    assert precision_recall(real, generated, k=1) == pytest.approx((2 / 3, 1.0))
    # Without the outlier's wide ball: generated 0.5, 1.5, 1.0 (radii 0.5): covers [0, 2] -> real
    # 0, 1, 2 inside: recall 3/5; all three generated lie inside the real balls: precision 1.
    assert precision_recall(real, np.array([[0.5], [1.5], [1.0]]), k=1) == pytest.approx((1.0, 0.6))
    np.testing.assert_allclose(knn_radii(real, k=2), [4.0, 1.0, 1.0, 1.0, 4.0])  # squared


@pytest.mark.parametrize("k", [1, 3, 5])
def test_precision_recall_matches_brute_force(k):
    rng = np.random.default_rng(k)
    real = rng.normal(size=(60, 3))
    generated = rng.normal(size=(45, 3)) * 0.5 + 1.5  # narrower and shifted: both below 1
    got = precision_recall(real, generated, k=k)
    assert got == pytest.approx(_brute_precision_recall(real, generated, k))
    assert 0 < got[0] < 1 and 0 < got[1] < 1


def test_repeated_point_has_no_recall():
    rng = np.random.default_rng(3)
    real = rng.normal(size=(200, 8))
    precision, recall = precision_recall(real, np.repeat(real[:1] + 1e-3, 500, axis=0), k=3)
    assert precision == 1.0 and recall == 0.0  # realistic, but covers nothing


def test_compare_features_and_bad_input():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(50, 3)), rng.normal(size=(40, 3))
    out = compare_features(a, b, k=3)
    assert out["n_real"] == 50 and out["n_generated"] == 40 and out["k"] == 3
    assert (out["precision"], out["recall"]) == precision_recall(a, b, 3)
    assert out["fid"] == fid(a, b)
    with pytest.raises(ValueError, match="n >= 4"):
        precision_recall(a, b[:3], k=3)
    with pytest.raises(ValueError, match="differ in size"):
        fid(a, rng.normal(size=(40, 4)))
    with pytest.raises(ValueError, match="non-finite"):
        fid(a, np.full((40, 3), np.nan))
