"""Degrees, anisotropy and the symmetric operator against their definitions."""

import numpy as np
import pytest
import scipy.sparse as sp

from fastdse.operator.kernel import sparse_affinity
from fastdse.operator.normalize import (
    normalize_dense_inplace,
    normalize_sparse,
    top_eigenvectors,
)
from reference import circulant_eigenvalues, regular_polygon


@pytest.fixture
def rng():
    return np.random.default_rng(2024)


def operator_by_definition(K, alpha):
    """``D^-1/2 K_alpha D^-1/2`` and its degrees, in plain numpy on a dense K."""
    d = K.sum(axis=1)
    Ka = K / np.outer(d, d) ** alpha
    da = Ka.sum(axis=1)
    return Ka / np.sqrt(np.outer(da, da)), da


def random_affinity(rng, n=60, density=0.1):
    A = sp.random(n, n, density=density, random_state=rng.integers(2**31), format="csr")
    return sp.csr_matrix(A + A.T + sp.eye(n))


@pytest.mark.parametrize("anisotropy", [0.0, 0.5, 1.0])
def test_normalize_sparse_and_dense_match_the_definition(rng, anisotropy):
    K = random_affinity(rng)
    want, want_deg = operator_by_definition(K.toarray(), anisotropy)
    A, deg = normalize_sparse(K, anisotropy)
    np.testing.assert_allclose(A.toarray(), want, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(deg, want_deg, rtol=1e-13)
    Kd = K.toarray()
    deg_d = normalize_dense_inplace(Kd, anisotropy)
    np.testing.assert_allclose(Kd, want, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(deg_d, want_deg, rtol=1e-13)


@pytest.mark.parametrize("anisotropy", [0.0, 0.5])
def test_circulant_kernel_has_the_closed_form_spectrum(anisotropy):
    # a Gaussian kernel on a regular polygon is circulant: equal degrees, known eigenvalues
    X = regular_polygon(40)
    D = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    K = np.exp(-(D / 0.3) ** 2)
    K[K < 1e-3] = 0.0
    A, _ = normalize_sparse(sp.csr_matrix(K), anisotropy)
    np.testing.assert_allclose(np.linalg.eigvalsh(A.toarray()), circulant_eigenvalues(K[0]),
                               atol=1e-12)


def test_normalize_sparse_in_place(rng):
    K = sparse_affinity(rng.normal(size=(100, 2)), neighbors="exact")
    A, _ = normalize_sparse(K, copy=False)
    assert A is K


def test_normalize_sparse_copies_what_it_cannot_overwrite(rng):
    K = random_affinity(rng).tocoo()
    before = K.toarray()
    A, _ = normalize_sparse(K, copy=False)  # not CSR: a new matrix, K left alone
    assert A is not K and sp.isspmatrix_csr(A)
    np.testing.assert_array_equal(K.toarray(), before)


def test_normalize_sparse_refuses_what_is_not_an_affinity():
    with pytest.raises(TypeError, match="K must be a scipy.sparse matrix"):
        normalize_sparse(np.eye(3))
    with pytest.raises(ValueError, match=r"K must be square; got shape \(2, 3\)"):
        normalize_sparse(sp.csr_matrix(np.ones((2, 3))))
    with pytest.raises(ValueError, match="K must be non-negative"):
        normalize_sparse(sp.csr_matrix(np.array([[1.0, -0.5], [-0.5, 1.0]])))
    with pytest.raises(ValueError, match="positive row sums"):
        normalize_sparse(sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 0.0]])))
    with pytest.raises(ValueError, match="anisotropy must be <= 1"):
        normalize_sparse(sp.eye(3, format="csr"), 2.0)


def test_top_eigenvectors_closed_form():
    # components {0, 2} and {1, 3}: sqrt(degrees) on each, unit norm
    V = top_eigenvectors(np.array([1.0, 4.0, 9.0, 16.0]), np.array([0, 1, 0, 1]))
    want = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 0.0], [0.0, 4.0]])
    np.testing.assert_allclose(V, want / np.sqrt([10.0, 20.0]), rtol=1e-15)


def test_top_eigenvectors_validation():
    with pytest.raises(ValueError, match="same length"):
        top_eigenvectors(np.ones(3), np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match="integer component labels"):
        top_eigenvectors(np.ones(3), np.zeros(3))
