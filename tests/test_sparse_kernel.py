import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from fastdse.operator.build import build_sparse_operator
from fastdse.operator.kernel import TruncationWarning, dense_affinity, sparse_affinity
from fastdse.operator.neighbors import knn_search
from fastdse.operator.normalize import (
    normalize_dense_inplace,
    normalize_sparse,
    top_eigenvectors,
)

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


@pytest.mark.parametrize("knn,decay,thresh", [(5, 40.0, 1e-4), (10, 2.0, 1e-3), (3, 10.0, 1e-6)])
def test_alpha_decay_matches_dense(rng, knn, decay, thresh):
    X = rng.normal(size=(400, 4))
    K = sparse_affinity(X, knn=knn, decay=decay, thresh=thresh, neighbors="exact")
    Kd = dense_affinity(X, "alpha_decay", knn=knn, decay=decay, thresh=thresh)
    assert_close_sparse(K, Kd)
    assert (K - K.T).nnz == 0 or abs(K - K.T).max() == 0
    np.testing.assert_array_equal(K.diagonal(), 1.0)


@pytest.mark.parametrize("sigma", [0.3, 1.0])
def test_gaussian_matches_dense(rng, sigma):
    X = rng.normal(size=(300, 3))
    K = sparse_affinity(X, "gaussian", sigma=sigma, thresh=1e-4, neighbors="exact")
    Kd = dense_affinity(X, "gaussian", sigma=sigma, thresh=1e-4)
    assert_close_sparse(K, Kd)


@pytest.mark.parametrize("kernel", ["alpha_decay", "gaussian"])
@pytest.mark.parametrize("anisotropy", [0.0, 0.5, 1.0])
def test_normalized_operator_matches_dense(rng, kernel, anisotropy):
    X = rng.normal(size=(250, 3))
    A, deg, V, info = build_sparse_operator(X, kernel=kernel, sigma=0.5, thresh=1e-4,
                                            anisotropy=anisotropy, neighbors="exact")
    Kd = dense_affinity(X, kernel, knn=5, decay=40.0, sigma=0.5, thresh=1e-4)
    dd = normalize_dense_inplace(Kd, anisotropy)
    np.testing.assert_allclose(A.toarray(), Kd, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(deg, dd, rtol=1e-12)
    assert info["n_components"] == V.shape[1]
    np.testing.assert_allclose(A @ V, V, atol=1e-12)
    # normalize_sparse on the kernel gives the same operator
    K = sparse_affinity(X, kernel, sigma=0.5, thresh=1e-4, neighbors="exact")
    A2, deg2 = normalize_sparse(K, anisotropy)
    np.testing.assert_allclose(A2.toarray(), A.toarray(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(deg2, deg, rtol=1e-12)
    assert K.data.max() == 1.0  # copy=True left K alone


def test_normalize_sparse_in_place(rng):
    K = sparse_affinity(rng.normal(size=(100, 2)), neighbors="exact")
    A, _ = normalize_sparse(K, copy=False)
    assert A is K


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


def test_duplicates_give_no_nan(rng):
    base = rng.normal(size=(30, 3))
    X = np.vstack([base] * 8)  # 7 duplicates each: knn-th neighbour at distance 0
    K = sparse_affinity(X, knn=5, neighbors="exact")
    assert np.all(np.isfinite(K.data))
    # every bandwidth is 0 (clipped to eps): copies of a point are joined with weight 1,
    # everything else is dropped. (The dense path's Gram distances leave ~1e-8 of rounding
    # between copies, so it is not the reference here.)
    same = np.arange(240)[:, None] % 30 == np.arange(240)[None, :] % 30
    np.testing.assert_array_equal(K.toarray(), same.astype(float))
    A, deg, V, info = build_sparse_operator(X, neighbors="exact")
    assert np.all(np.isfinite(A.data)) and np.all(deg > 0)


def test_constant_data():
    X = np.ones((50, 3))
    K = sparse_affinity(X, knn=5, neighbors="exact")
    np.testing.assert_array_equal(K.toarray(), np.ones((50, 50)))
    A, deg, V, info = build_sparse_operator(X, neighbors="exact")
    np.testing.assert_allclose(A.toarray(), np.full((50, 50), 1 / 50))
    assert V.shape == (50, 1)


def test_int_and_float32_input(rng):
    Xi = rng.integers(0, 20, size=(120, 3))
    K1 = sparse_affinity(Xi, knn=5, neighbors="exact")
    K2 = sparse_affinity(Xi.astype(np.float32), knn=5, neighbors="exact")
    K3 = sparse_affinity(Xi.astype(np.float64), knn=5, neighbors="exact")
    assert abs(K1 - K2).max() == 0 and abs(K1 - K3).max() == 0


def test_disconnected_blobs_give_two_known_vectors(rng):
    X = np.vstack([rng.normal(size=(100, 2)), rng.normal(size=(80, 2)) + 100.0])
    A, deg, V, info = build_sparse_operator(X, neighbors="exact")
    assert info["n_components"] == 2 and V.shape == (180, 2)
    np.testing.assert_allclose(V.T @ V, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(A @ V, V, atol=1e-12)
    assert np.all(V[:100, 0] > 0) and np.all(V[100:, 0] == 0)
    lam = np.linalg.eigvalsh(A.toarray())
    assert np.sum(lam > 1 - 1e-10) == 2


def test_top_eigenvectors_validation():
    with pytest.raises(ValueError, match="same length"):
        top_eigenvectors(np.ones(3), np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match="integer component labels"):
        top_eigenvectors(np.ones(3), np.zeros(3))


def test_knn_result_reuse(rng):
    X = rng.normal(size=(200, 3))
    res = knn_search(X, 12, method="exact")
    K1 = sparse_affinity(X, knn=5, knn_result=res)
    K2 = sparse_affinity(X, knn=5, neighbors="exact")
    assert abs(K1 - K2).max() == 0


def test_truncation_warning_wide_gaussian(rng):
    X = rng.uniform(size=(2000, 4))
    with pytest.warns(TruncationWarning, match=r"dropped an estimated .*smaller sigma"):
        K, info = sparse_affinity(X, "gaussian", sigma=10.0, neighbors="exact",
                                  return_info=True)
    assert info["truncated_rows"] == 2000
    assert info["dropped_mass_fraction"] > 0.3
    # the estimate agrees with the truth computed densely
    Kd = dense_affinity(X, "gaussian", sigma=10.0, thresh=1e-4)
    K_row = sp.csr_matrix(K)
    true_frac = 1 - K_row.sum() / Kd.sum()
    assert abs(true_frac - info["dropped_mass_fraction"]) < 0.05


def test_no_truncation_warning_narrow_gaussian(rng):
    X = rng.uniform(size=(2000, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        K, info = sparse_affinity(X, "gaussian", sigma=0.03, neighbors="exact",
                                  return_info=True)
    assert info["truncated_rows"] == 0
    Kd = dense_affinity(X, "gaussian", sigma=0.03, thresh=1e-4)
    assert_close_sparse(K, Kd)


def test_bad_parameters(rng):
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
    with pytest.raises(ValueError, match="anisotropy must be <= 1"):
        build_sparse_operator(X, anisotropy=2.0, neighbors="exact")
    with pytest.raises(ValueError, match="knn_result must have at least"):
        sparse_affinity(X, knn=5, knn_result=knn_search(X, 3, method="exact"))
    with pytest.raises(TypeError, match="K must be a scipy.sparse matrix"):
        normalize_sparse(np.eye(3))


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


def test_approximate_neighbours_get_exact_bandwidths_from_the_radius_pass(rng):
    from fastdse.operator.neighbors import knn_search

    X = rng.uniform(size=(700, 256))  # concentrated distances: every row is widened
    exact, info_exact = sparse_affinity(X, "alpha_decay", knn=5, decay=40, neighbors="exact",
                                        return_info=True)
    # an "approximate" search that missed each point's three nearest neighbours
    idx, dist = knn_search(X, 24, method="exact")
    approx = (np.hstack([idx[:, :1], idx[:, 4:]]), np.hstack([dist[:, :1], dist[:, 4:]]))
    assert np.all(approx[1][:, 5] > dist[:, 5])  # its 5th-neighbour bandwidths are too wide
    K, info = sparse_affinity(X, "alpha_decay", knn=5, decay=40, knn_result=approx,
                              return_info=True)
    assert info["exact_bandwidth_rows"] == 700
    # values to rounding (the radius lists' distances come from the Gram
    # expansion, the exact path's bandwidths from differences: ~1e-15 apart, ^40 in the kernel)
    assert ((K != 0) != (exact != 0)).nnz == 0  # the same entries
    np.testing.assert_allclose(K.toarray(), exact.toarray(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(info["bandwidth"], info_exact["bandwidth"], rtol=1e-14)


@pytest.mark.parametrize("density", [0.002, 0.05])
def test_symmetrize_half_equals_scipys_sum_bit_for_bit(rng, density):
    from fastdse._numba import sparse as _sparse_jit

    n = 400
    A = sp.random(n, n, density=density, random_state=3, format="csr")
    A.data[::7] = 0.0  # explicit zeros: scipy's sum drops entries that add to 0
    lengths = np.diff(A.indptr)
    starts = 3 * A.indptr[:-1]  # rows with gaps between them, each in shuffled order
    idx = np.full(3 * A.nnz + 1, -1, dtype=np.int32)
    val = np.full(3 * A.nnz + 1, np.nan)
    for i in range(n):
        row = slice(A.indptr[i], A.indptr[i + 1])
        perm = rng.permutation(lengths[i])
        idx[starts[i]:starts[i] + lengths[i]] = A.indices[row][perm]
        val[starts[i]:starts[i] + lengths[i]] = A.data[row][perm]
    ptr, ind, dat = _sparse_jit.compact_sorted_rows(starts, lengths, idx, val)
    K = sp.csr_matrix((dat, ind, ptr), shape=(n, n))
    assert K.has_sorted_indices and (K != A).nnz == 0
    ref = (A + A.T).tocsr()
    ref.data *= 0.5
    ref.sort_indices()
    sym_ptr, sym_ind, sym_dat = _sparse_jit.symmetrize_half(ptr, ind, dat)
    np.testing.assert_array_equal(sym_ptr, ref.indptr)
    np.testing.assert_array_equal(sym_ind, ref.indices)
    np.testing.assert_array_equal(sym_dat, ref.data)  # the same floats, not just close
