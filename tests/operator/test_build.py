"""The sparse operator of a point cloud against the dense path (operator/build)."""

import numpy as np
import pytest

from fastdse.operator.build import build_sparse_operator, operator_from_settings
from fastdse.operator.kernel import dense_affinity, sparse_affinity
from fastdse.operator.normalize import normalize_dense_inplace, normalize_sparse
from fastdse.settings import Settings

RTOL = 1e-12
ATOL = 1e-13


@pytest.fixture
def rng():
    return np.random.default_rng(2024)


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


def test_operator_of_duplicates_has_no_nan(rng):
    base = rng.normal(size=(30, 3))
    X = np.vstack([base] * 8)  # 7 duplicates each: knn-th neighbour at distance 0
    A, deg, V, info = build_sparse_operator(X, neighbors="exact")
    assert np.all(np.isfinite(A.data)) and np.all(deg > 0)


def test_operator_of_constant_data():
    X = np.ones((50, 3))
    A, deg, V, info = build_sparse_operator(X, neighbors="exact")
    np.testing.assert_allclose(A.toarray(), np.full((50, 50), 1 / 50))
    assert V.shape == (50, 1)


def test_disconnected_blobs_give_two_known_vectors(rng):
    X = np.vstack([rng.normal(size=(100, 2)), rng.normal(size=(80, 2)) + 100.0])
    A, deg, V, info = build_sparse_operator(X, neighbors="exact")
    assert info["n_components"] == 2 and V.shape == (180, 2)
    np.testing.assert_allclose(V.T @ V, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(A @ V, V, atol=1e-12)
    assert np.all(V[:100, 0] > 0) and np.all(V[100:, 0] == 0)
    lam = np.linalg.eigvalsh(A.toarray())
    assert np.sum(lam > 1 - 1e-10) == 2


@pytest.mark.parametrize("kernel", ["alpha_decay", "gaussian"])
def test_settings_build_the_same_operator(rng, kernel):
    X = rng.normal(size=(200, 3))
    arguments = {"mode": "approx", "kernel": kernel, "knn": 4, "decay": 20.0, "sigma": None,
                 "thresh": None, "anisotropy": 0.5, "neighbors": "exact", "n_probes": 10,
                 "n_steps": 10, "n_deflate": "auto", "n_landmarks": 10,
                 "landmark_method": "operator", "n_jobs": None, "progress": False, "verbose": 0}
    settings = Settings.from_arguments(arguments)
    resolved = settings.resolve(200, precomputed=False, dense_affinity=False)
    A, deg, V, info = operator_from_settings(X, settings, resolved, np.random.default_rng(0))
    # the defaults a graph resolves: sigma 10, thresh 1e-4 for both sparse kernels
    B, deg_b, V_b, info_b = build_sparse_operator(X, kernel=kernel, knn=4, decay=20.0,
                                                  anisotropy=0.5, neighbors="exact")
    assert info["sigma"] == 10.0 and info["thresh"] == 1e-4
    assert (A != B).nnz == 0  # the same numbers bit for bit
    np.testing.assert_array_equal(deg, deg_b)
    np.testing.assert_array_equal(V, V_b)


def test_anisotropy_out_of_range(rng):
    X = rng.normal(size=(20, 2))
    with pytest.raises(ValueError, match="anisotropy must be <= 1"):
        build_sparse_operator(X, anisotropy=2.0, neighbors="exact")
