"""Sparse kernels against the dense brute force and graphtools (operator/kernel)."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from fastdse.operator.kernel import dense_affinity, sparse_affinity
from fastdse.operator.neighbors import knn_search

RTOL = 1e-12
ATOL = 1e-13


@pytest.fixture
def rng():
    return np.random.default_rng(2024)


def assert_close_sparse(K, Kd):
    assert sp.isspmatrix_csr(K) and K.dtype == np.float64
    Ks = K.toarray()
    # same support and same values
    np.testing.assert_array_equal(Ks > 0, Kd > 0)
    np.testing.assert_allclose(Ks, Kd, rtol=RTOL, atol=ATOL)


def dense_alpha_decay(X, knn, decay, thresh):
    """The alpha-decay kernel from its definition, in plain numpy."""
    D = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    b = np.sort(D, axis=1)[:, knn]
    k = np.exp(-((D / b[:, None]) ** decay))
    k[k < thresh] = 0.0
    return (k + k.T) / 2


@pytest.mark.parametrize("knn,decay,thresh", [(5, 40.0, 1e-4), (10, 2.0, 1e-3), (3, 10.0, 1e-6)])
def test_alpha_decay_matches_dense(rng, knn, decay, thresh):
    X = rng.normal(size=(400, 4))
    K = sparse_affinity(X, knn=knn, decay=decay, thresh=thresh, neighbors="exact")
    Kd = dense_affinity(X, "alpha_decay", knn=knn, decay=decay, thresh=thresh)
    assert_close_sparse(K, Kd)
    assert (K - K.T).nnz == 0 or abs(K - K.T).max() == 0
    np.testing.assert_array_equal(K.diagonal(), 1.0)


def test_alpha_decay_matches_its_definition(rng):
    X = rng.normal(size=(150, 3))
    K = sparse_affinity(X, knn=4, decay=8.0, thresh=1e-3, neighbors="exact")
    np.testing.assert_allclose(K.toarray(), dense_alpha_decay(X, 4, 8.0, 1e-3), rtol=1e-10,
                               atol=1e-12)


@pytest.mark.parametrize("sigma", [0.3, 1.0])
def test_gaussian_matches_dense(rng, sigma):
    X = rng.normal(size=(300, 3))
    K = sparse_affinity(X, "gaussian", sigma=sigma, thresh=1e-4, neighbors="exact")
    Kd = dense_affinity(X, "gaussian", sigma=sigma, thresh=1e-4)
    assert_close_sparse(K, Kd)


@pytest.mark.parametrize("anisotropy", [0.0, 1.0])
def test_graphtools_cross_check(rng, anisotropy):
    graphtools = pytest.importorskip("graphtools")
    X = rng.normal(size=(500, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        G = graphtools.Graph(X, knn=5, decay=40, thresh=1e-4, anisotropy=anisotropy,
                             n_pca=None, random_state=0)
        Kg = sp.csr_matrix(G.kernel)
    K = sparse_affinity(X, knn=5, decay=40.0, thresh=1e-4, neighbors="exact")
    if anisotropy:
        d = np.asarray(K.sum(axis=1)).ravel() ** -anisotropy
        K = sp.csr_matrix(K.multiply(d[:, None]).multiply(d[None, :]))
    K, Kg = K.toarray(), Kg.toarray()
    np.testing.assert_array_equal(K > 0, Kg > 0)  # same support
    # graphtools computes bandwidths in float32 (~6e-8 relative), which decay = 40 and
    # -log(thresh) ~ 9 amplify: measured max relative difference 1.8e-5
    np.testing.assert_allclose(Kg, K, rtol=5e-5, atol=0)


def test_duplicates_give_no_nan_and_join_copies(rng):
    base = rng.normal(size=(30, 3))
    X = np.vstack([base] * 8)  # 7 duplicates each: knn-th neighbour at distance 0
    K = sparse_affinity(X, knn=5, neighbors="exact")
    assert np.all(np.isfinite(K.data))
    # every bandwidth is 0 (clipped to eps): copies of a point are joined with weight 1,
    # everything else is dropped; the dense path agrees (it recomputes the distances of
    # copies from differences: exactly 0)
    same = np.arange(240)[:, None] % 30 == np.arange(240)[None, :] % 30
    np.testing.assert_array_equal(K.toarray(), same.astype(float))
    np.testing.assert_array_equal(dense_affinity(X, "alpha_decay", thresh=1e-4), K.toarray())


def test_constant_data_gives_all_ones():
    X = np.ones((50, 3))
    K = sparse_affinity(X, knn=5, neighbors="exact")
    np.testing.assert_array_equal(K.toarray(), np.ones((50, 50)))


def test_int_and_float32_input_give_the_same_kernel(rng):
    Xi = rng.integers(0, 20, size=(120, 3))
    K1 = sparse_affinity(Xi, knn=5, neighbors="exact")
    K2 = sparse_affinity(Xi.astype(np.float32), knn=5, neighbors="exact")
    K3 = sparse_affinity(Xi.astype(np.float64), knn=5, neighbors="exact")
    assert abs(K1 - K2).max() == 0 and abs(K1 - K3).max() == 0


def test_knn_result_reuse(rng):
    X = rng.normal(size=(200, 3))
    res = knn_search(X, 12, method="exact")
    K1 = sparse_affinity(X, knn=5, knn_result=res)
    K2 = sparse_affinity(X, knn=5, neighbors="exact")
    assert abs(K1 - K2).max() == 0


def test_sparse_affinity_report(rng):
    X = rng.normal(size=(200, 3))
    K, info = sparse_affinity(X, knn=5, neighbors="exact", return_info=True)
    assert info["neighbors"] == "exact" and info["nnz"] == K.nnz
    assert info["max_neighbors"] == 199 and info["truncated_rows"] == 0
    D = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    np.testing.assert_allclose(info["bandwidth"], np.sort(D, axis=1)[:, 5], rtol=1e-12)
    _, info = sparse_affinity(X, "gaussian", sigma=0.5, neighbors="exact", return_info=True)
    assert info["bandwidth"] is None
    _, info = sparse_affinity(X, knn=5, knn_result=knn_search(X, 7, method="exact"),
                              return_info=True)
    assert info["neighbors"] == "precomputed" and "search_seconds" not in info


def test_sparse_affinity_bad_parameters(rng):
    X = rng.normal(size=(20, 2))
    with pytest.raises(ValueError, match="kernel must be one of"):
        sparse_affinity(X, "cosine")
    with pytest.raises(ValueError, match="knn must be <= 19"):
        sparse_affinity(X, knn=20)
    with pytest.raises(TypeError, match="knn must be an integer"):
        sparse_affinity(X, knn=2.0)
    with pytest.raises(ValueError, match="thresh must be > 0 for a sparse kernel"):
        sparse_affinity(X, thresh=0.0)
    with pytest.raises(ValueError, match="thresh must be < 1.0"):
        sparse_affinity(X, thresh=1.0)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        sparse_affinity(X, "gaussian", sigma=-1.0)
    with pytest.raises(ValueError, match="decay must be > 0"):
        sparse_affinity(X, decay=0)
    with pytest.raises(ValueError, match="neighbors must be one of"):
        sparse_affinity(X, neighbors="annoy")
    with pytest.raises(ValueError, match="max_neighbors must be >= 5"):
        sparse_affinity(X, max_neighbors=2)
    with pytest.raises(ValueError, match="knn_result must have at least"):
        sparse_affinity(X, knn=5, knn_result=knn_search(X, 3, method="exact"))


@pytest.mark.pynndescent
def test_pynndescent_kernel_close_to_exact(rng):
    from sklearn.datasets import make_blobs

    X = make_blobs(2000, 10, centers=4, random_state=1)[0]
    Ke = sparse_affinity(X, knn=5, neighbors="exact")
    K, info = sparse_affinity(X, knn=5, neighbors="pynndescent", random_state=0,
                              return_info=True)
    assert info["neighbors"] == "pynndescent"
    rel = np.sqrt(abs(K - Ke).multiply(abs(K - Ke)).sum() / Ke.multiply(Ke).sum())
    assert rel < 1e-2


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), kernel=st.sampled_from(["alpha_decay", "gaussian"]))
def test_row_order_invariance(seed, kernel):
    r = np.random.default_rng(seed)
    X = r.normal(size=(120, 3))
    perm = r.permutation(120)
    K = sparse_affinity(X, kernel, sigma=0.5, neighbors="exact")
    Kp = sparse_affinity(X[perm], kernel, sigma=0.5, neighbors="exact")
    np.testing.assert_allclose(Kp.toarray(), K.toarray()[np.ix_(perm, perm)], rtol=1e-12,
                               atol=1e-13)
