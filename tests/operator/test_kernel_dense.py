"""The dense (exact) kernel's distances where the Gram form cancels (operator/kernel).

Reference: the definition with direct coordinate differences (numpy broadcasting; the
squares summed in long double), on clouds built to cancel: a tight cluster (spread 1e-6)
far (1e3-1e6) from the other points, so the Gram form ``|x|^2 + |y|^2 - 2 x.y`` of its
pairs would keep no digit.
"""

import math

import numpy as np
import pytest

import fastdse
from fastdse._numba import dense as dense_jit
from fastdse.operator.kernel import (
    GRAM_REL_TOL,
    dense_affinity,
    gram_recompute_ratio,
    pairwise_sqdist_inplace_gram,
)
from reference import entropy_bits

TS = [1, 2, 5, 20, 100]
CLOUDS = [(d, offset) for d in (1, 3, 50) for offset in (1e3, 1e6)]


def cancelling_cloud(rng, d, offset, n_bulk=60, n_tight=40):
    """Points of spread 1 at the origin and a cluster of spread 1e-6 at ``offset``, shuffled."""
    bulk = rng.normal(size=(n_bulk, d))
    tight = offset + 1e-6 * rng.normal(size=(n_tight, d))
    X = np.vstack([bulk, tight])
    return X[rng.permutation(len(X))]


def brute_sqdist(X):
    """Squared distances from coordinate differences, summed in long double."""
    diff = (X[:, None, :] - X[None, :, :]).astype(np.longdouble)
    return (diff * diff).sum(-1)


def brute_kernel(X, kernel, knn=5, decay=40.0, sigma=1.0, thresh=0.0):
    """Either kernel from its definition on ``brute_sqdist`` (float64 from there on)."""
    D2 = brute_sqdist(X).astype(np.float64)
    if kernel == "gaussian":
        K = np.exp(-D2 / (2 * sigma * sigma))
        K[K < thresh] = 0.0
        return K
    D = np.sqrt(D2)
    b = np.maximum(np.sort(D, axis=1)[:, knn], np.finfo(float).eps)
    with np.errstate(over="ignore"):  # (d / b)^decay beyond float64: an affinity of 0
        K = np.exp(-((D / b[:, None]) ** decay))
    K[K < thresh] = 0.0
    return (K + K.T) / 2


def brute_dse(X, kernel, **kw):
    """DSE at ``TS`` of the brute-force kernel: eigenvalues of D^-1/2 K D^-1/2."""
    K = brute_kernel(X, kernel, **kw)
    deg = K.sum(1)
    lam = np.linalg.eigvalsh(K / np.sqrt(np.outer(deg, deg)))
    return np.array([entropy_bits(lam, t) for t in TS])


@pytest.mark.parametrize("d,offset", CLOUDS)
def test_squared_distances_match_direct_differences(rng, d, offset):
    X = cancelling_cloud(rng, d, offset)
    D2 = pairwise_sqdist_inplace_gram(X)
    ref = brute_sqdist(X)
    np.testing.assert_array_equal(np.diag(D2), 0.0)
    # every entry to the tolerance the criterion promises; the cluster's own pairs
    # (recomputed) to the rounding of a sum of d squares
    err = np.abs(D2 - ref) / np.where(ref > 0, ref, 1.0)
    assert float(err.max()) <= GRAM_REL_TOL
    tight = np.abs(X[:, 0]) > offset / 2
    assert float(err[np.ix_(tight, tight)].max()) <= (d + 2) * np.finfo(float).eps


def test_duplicates_at_zero_and_near_duplicates_at_their_distance():
    base = np.array([[1e3, -2.0, 0.5], [0.0, 1.0, 3.0], [5.0, 5.0, 5.0]])
    near = base[0].copy()
    near[0] = np.nextafter(near[0], np.inf)  # one ulp (1.1e-13) away
    X = np.vstack([base, base[0], near])
    D2 = pairwise_sqdist_inplace_gram(X)
    assert D2[0, 3] == 0.0 and D2[3, 0] == 0.0
    ulp = near[0] - base[0, 0]
    assert D2[0, 4] == ulp * ulp and D2[4, 3] == ulp * ulp


def test_recompute_ratio_follows_its_error_bound():
    eps = np.finfo(float).eps
    for d in (1, 4, 100):
        assert gram_recompute_ratio(d) == pytest.approx((2 + math.sqrt(d)) * eps / GRAM_REL_TOL)
    # small enough that the Gram form is kept wherever it is not cancelling
    assert gram_recompute_ratio(1000) < 1e-3


def test_ordinary_data_keep_the_gram_form(rng):
    """No pair of 10-d Gaussian points is close enough to be recomputed."""
    X = rng.normal(size=(400, 10))
    Xc = X - X.mean(0)
    sq = np.einsum("ij,ij->i", Xc, Xc)
    ratio = brute_sqdist(X).astype(float) / (sq[:, None] + sq[None])
    np.fill_diagonal(ratio, np.inf)
    assert ratio.min() > 10 * gram_recompute_ratio(10)


@pytest.mark.parametrize("d,offset", CLOUDS)
@pytest.mark.parametrize("thresh", [0.0, 1e-4])
@pytest.mark.parametrize("sigma", [3e-6, 1.0])
def test_gaussian_matches_direct_differences(rng, d, offset, thresh, sigma):
    X = cancelling_cloud(rng, d, offset)
    K, deg = dense_affinity(X, "gaussian", sigma=sigma, thresh=thresh, return_degrees=True)
    ref = brute_kernel(X, "gaussian", sigma=sigma, thresh=thresh)
    np.testing.assert_allclose(K, ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(deg, ref.sum(1), rtol=1e-12)


@pytest.mark.parametrize("d,offset", CLOUDS)
@pytest.mark.parametrize("knn,decay,thresh", [(5, 40.0, 1e-4), (3, 10.0, 0.0)])
def test_alpha_decay_matches_direct_differences(rng, d, offset, knn, decay, thresh):
    """Distances and bandwidths (the knn-th neighbour distance) both from differences."""
    X = cancelling_cloud(rng, d, offset)
    K = dense_affinity(X, "alpha_decay", knn=knn, decay=decay, thresh=thresh)
    ref = brute_kernel(X, "alpha_decay", knn=knn, decay=decay, thresh=thresh)
    np.testing.assert_array_equal(K > 0, ref > 0)
    np.testing.assert_allclose(K, ref, rtol=1e-10, atol=1e-14)


def test_parallel_and_serial_passes_agree(rng):
    """The row-parallel kernels write each row from its own thread: same bits as serial."""
    X = cancelling_cloud(rng, 3, 1e4, n_bulk=300, n_tight=300)
    Xc = X - X.mean(0)
    sq = np.einsum("ij,ij->i", Xc, Xc)
    ratio = gram_recompute_ratio(3)
    G = Xc @ Xc.T
    assert G.size >= 200_000  # the size that runs the parallel version by default
    a, b = G.copy(), G.copy()
    dense_jit.gram_to_sqdist_inplace.parallel(a, sq, X, ratio)
    dense_jit.gram_to_sqdist_inplace.serial(b, sq, X, ratio)
    np.testing.assert_array_equal(a, b)
    a, b = G.copy(), G.copy()
    deg_a = dense_jit.gaussian_from_gram_inplace.parallel(a, sq, X, ratio, 2e-12, 0.0)
    deg_b = dense_jit.gaussian_from_gram_inplace.serial(b, sq, X, ratio, 2e-12, 0.0)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(deg_a, deg_b)


def two_scales(n=151, seed=3086052821):
    """Spread 1 at the origin and spread 1e-3 at 1e3, in 1-d (tests/test_robustness.py)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 1))
    X[n // 2:] = 1e-3 * X[n // 2:]
    X[n // 2:, 0] += 1e3
    return X[rng.permutation(n)]


@pytest.mark.parametrize("kernel,kw", [
    ("alpha_decay", {"thresh": 1e-4}), ("alpha_decay", {"thresh": 0.0}),
    ("gaussian", {"sigma": 1e-3, "thresh": 1e-4}), ("gaussian", {"sigma": 1e-3, "thresh": 0.0})])
def test_dse_of_two_scales_matches_brute_force(kernel, kw):
    X = two_scales()
    value = fastdse.dse(X, TS, mode="exact", kernel=kernel, **kw).value
    np.testing.assert_allclose(value, brute_dse(X, kernel, **kw), rtol=0, atol=1e-9)


KERNEL_ARGS = [("alpha_decay", {"thresh": 1e-4}), ("gaussian", {"sigma": 3e-6, "thresh": 0.0})]


@pytest.mark.parametrize("d,offset", CLOUDS)
@pytest.mark.parametrize("kernel,kw", KERNEL_ARGS)
def test_dse_of_cancelling_clouds_matches_brute_force(rng, d, offset, kernel, kw):
    X = cancelling_cloud(rng, d, offset)
    value = fastdse.dse(X, TS, mode="exact", kernel=kernel, **kw).value
    np.testing.assert_allclose(value, brute_dse(X, kernel, **kw), rtol=0, atol=1e-9)


@pytest.mark.parametrize("kernel,kw", KERNEL_ARGS)
def test_dse_with_repeated_rows_matches_brute_force(rng, kernel, kw):
    """Repeated rows take the weighted dense path (the operator on the distinct points)."""
    X = cancelling_cloud(rng, 3, 1e5)
    X = np.vstack([X, X[:30], X[:10]])
    res = fastdse.dse(X, TS, mode="exact", kernel=kernel, **kw)
    np.testing.assert_allclose(res.value, brute_dse(X, kernel, **kw), rtol=0, atol=1e-9)
