"""Fixtures shared by the tests of the sparse spectral measure (lanczos, deflation)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse

from fastdse._util.threads import compute_threads
from fastdse.operator.kernel import dense_affinity
from fastdse.operator.normalize import normalize_dense_inplace


@pytest.fixture(scope="module")
def one_thread():
    """Run a module's tests on one thread (the test machine is shared)."""
    with compute_threads(1):
        yield


@pytest.fixture(scope="module")
def blob_operator(one_thread):
    """Alpha-decay operator of three Gaussian blobs (n = 900), its eigenvalues, sqrt(degree).

    Returns ``(A, lam, u)``: ``A`` CSR, ``lam`` from dense eigvalsh, ``u`` the
    normalised eigenvector of eigenvalue 1 as an (n, 1) array.
    """
    rng = np.random.default_rng(7)
    n, centers, dim, spread = 900, 3, 6, 6.0
    X = np.concatenate(
        [rng.normal(size=(n // centers, dim)) + spread * rng.normal(size=dim)
         for _ in range(centers)]
    )
    K = dense_affinity(X, "alpha_decay", knn=5, decay=40, thresh=1e-4)
    deg = normalize_dense_inplace(K, 0.0)
    lam = np.linalg.eigvalsh(K)
    u = np.sqrt(deg)
    return scipy.sparse.csr_matrix(K), lam, (u / np.linalg.norm(u))[:, None]
