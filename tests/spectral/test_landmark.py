"""mode="landmark": coarse operators on m << n landmarks vs dense spectra and closed forms."""


import numpy as np
import pytest

from fastdse.entropy import dse_from_measure
from fastdse.operator.build import build_sparse_operator
from fastdse.operator.kernel import dense_affinity
from fastdse.operator.normalize import normalize_dense_inplace
from fastdse.spectral.landmark import _operator_from_labels, landmark_measure
from reference import circulant_eigenvalues, entropy_bits, regular_polygon

METHODS = ["operator", "nystrom"]


def dense_operator(X, knn=5, decay=40.0, thresh=1e-4):
    """Reference: the dense alpha-decay operator of the exact path."""
    K = dense_affinity(X, "alpha_decay", knn=knn, decay=decay, thresh=thresh)
    normalize_dense_inplace(K)
    return K


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(7)
    k, per = 4, 100
    centres = np.repeat(np.eye(k, 6) * 100.0, per, axis=0)
    return centres + rng.normal(size=(k * per, 6)), k


@pytest.fixture(scope="module")
def cloud():
    X = np.random.default_rng(3).normal(size=(300, 4))
    A, d, V, _ = build_sparse_operator(X, knn=5, neighbors="exact")
    lam = np.linalg.eigvalsh(dense_operator(X))
    return A, d, V, lam


# --- the operator itself ------------------------------------------------------------------


def test_operator_equals_graphtools_formula_for_a_given_partition(rng):
    # graphtools' build_landmark_op, written out densely: P_mn P_nm with row-normalised
    # landmark-to-point and point-to-landmark kernel sums
    X = rng.normal(size=(120, 3))
    K = dense_affinity(X, "alpha_decay", knn=5, decay=40.0, thresh=1e-4)
    labels = rng.integers(0, 15, size=120)
    C = np.eye(15)[labels]
    pmn = C.T @ K
    pnm = pmn.T / pmn.T.sum(axis=1, keepdims=True)
    pmn = pmn / pmn.sum(axis=1, keepdims=True)
    expected = np.sort(np.linalg.eigvals(pmn @ pnm).real)
    A = K.copy()
    d = normalize_dense_inplace(A)
    np.testing.assert_allclose(_operator_from_labels(A, d, labels), expected, atol=1e-12)


def test_one_landmark_per_point_gives_the_squared_spectrum():
    # m = n limit: the landmark operator is P^2 itself; closed-form circulant spectrum
    n, sigma = 40, 0.3
    X = regular_polygon(n)
    lam = circulant_eigenvalues(np.exp(-np.linalg.norm(X - X[0], axis=1) ** 2 / (2 * sigma**2)))
    A = dense_affinity(X, "gaussian", sigma=sigma)
    d = normalize_dense_inplace(A)
    np.testing.assert_allclose(_operator_from_labels(A, d, np.arange(n)), np.sort(lam**2),
                               atol=1e-12)


def test_pairs_of_polygon_vertices_closed_form():
    # landmarks = pairs of adjacent vertices of a 2m-gon: the coarse Fourier mode j mixes the
    # fine modes j and j + m with weights cos^2(pi j / n) and sin^2(pi j / n)
    n, sigma = 60, 0.25
    m = n // 2
    X = regular_polygon(n)
    row = np.exp(-np.linalg.norm(X - X[0], axis=1) ** 2 / (2 * sigma**2))
    jj = np.arange(n)
    lam = np.array([np.sum(row * np.cos(2 * np.pi * jj * k / n)) for k in range(n)]) / row.sum()
    j = np.arange(m)
    c2 = np.cos(np.pi * j / n) ** 2
    expected = np.sort(c2 * lam[j] ** 2 + (1 - c2) * lam[j + m] ** 2)
    A = dense_affinity(X, "gaussian", sigma=sigma)
    d = normalize_dense_inplace(A)
    np.testing.assert_allclose(_operator_from_labels(A, d, np.arange(n) // 2), expected,
                               atol=1e-12)


# --- the measure --------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("m", [2, 40, 299])
def test_nodes_interlace_with_the_exact_spectrum(cloud, method, m):
    # Ritz values of A^2 on an r-dimensional subspace: lam2[k + n - r] <= mu_k <= lam2[k]
    A, d, V, lam = cloud
    n = lam.size
    mu_measure = landmark_measure(A, d, n_landmarks=m, method=method, random_state=0)
    r = mu_measure.info["atoms"]
    assert 1 <= r <= m and mu_measure.n == n and mu_measure.info["missing"] == n - r
    mu = np.sort(mu_measure.nodes**2)[::-1]
    lam2 = np.sort(lam**2)[::-1]
    assert np.all(mu <= lam2[:r] + 1e-10)
    assert np.all(mu >= lam2[n - r:] - 1e-10)
    assert mu[0] == pytest.approx(1.0, abs=1e-10)  # sqrt(degrees) is kept exactly
    assert mu_measure.info["captured_fraction_t2"] == pytest.approx(
        mu.sum() / np.sum(lam**2), rel=1e-10)


@pytest.mark.parametrize("method", METHODS)
def test_n_minus_one_landmarks_approach_the_exact_dse(cloud, method):
    A, d, V, lam = cloud
    mu = landmark_measure(A, d, n_landmarks=lam.size - 1, method=method, random_state=0)
    ts = np.array([1.0, 2.0, 10.0, 50.0])
    exact = [entropy_bits(lam, t) for t in ts]
    got = dse_from_measure(mu, ts)[0]
    # all but one |lambda| are bracketed by interlacing: the entropies agree closely
    assert mu.info["atoms"] == lam.size - 1
    np.testing.assert_allclose(got, exact, atol=5e-3)


@pytest.mark.parametrize("method", METHODS)
def test_separated_blobs_give_k_unit_eigenvalues_and_log2_k(blobs, method):
    X, k = blobs
    A, d, V, info = build_sparse_operator(X, knn=5, neighbors="exact")
    assert info["n_components"] == k
    mu = landmark_measure(A, d, n_landmarks=30, method=method, known_vectors=V,
                          random_state=1)
    np.testing.assert_allclose(mu.nodes[-k:], 1.0, atol=1e-10)
    assert mu.nodes[-k - 1] < 1.0 - 1e-3
    lam = np.linalg.eigvalsh(dense_operator(X))
    t = 1e5
    assert entropy_bits(lam, t) == pytest.approx(np.log2(k), abs=1e-9)  # the reference
    assert dse_from_measure(mu, np.array([t]))[0][0] == pytest.approx(np.log2(k), abs=1e-9)


def test_default_known_vectors_follow_the_components(blobs):
    X, k = blobs
    A, d, V, _ = build_sparse_operator(X, knn=5, neighbors="exact")
    mu = landmark_measure(A, d, n_landmarks=30, method="nystrom", random_state=1)
    assert mu.info["known_vectors"] == k
    np.testing.assert_allclose(mu.nodes[-k:], 1.0, atol=1e-10)
    # an empty (n, 0) block means none known: none are computed either
    none = landmark_measure(A, d, n_landmarks=30, method="nystrom", random_state=1,
                            known_vectors=np.empty((len(d), 0)))
    assert none.info["known_vectors"] == 0


@pytest.mark.parametrize("method", METHODS)
def test_same_seed_same_measure(cloud, method):
    A, d, V, _ = cloud
    a = landmark_measure(A, d, n_landmarks=50, method=method, random_state=11)
    b = landmark_measure(A, d, n_landmarks=50, method=method, random_state=11)
    c = landmark_measure(A, d, n_landmarks=50, method=method,
                         random_state=np.random.default_rng(11))
    d_ = landmark_measure(A, d, n_landmarks=50, method=method,
                          random_state=np.random.default_rng(11))
    np.testing.assert_array_equal(a.nodes, b.nodes)
    np.testing.assert_array_equal(c.nodes, d_.nodes)


def test_measure_is_honest_about_missing_eigenvalues(cloud):
    A, d, V, lam = cloud
    mu = landmark_measure(A, d, n_landmarks=40, random_state=0)
    assert mu.method == "landmark" and mu.n_probes == 0
    assert mu.weights.sum() == mu.info["atoms"] == 40 and mu.n == 300
    assert mu.info["missing"] == 260 and "left out" in mu.info["note"]
    # the top-of-spectrum DSE underestimates the full one at t = 1
    assert dse_from_measure(mu, np.array([1.0]))[0][0] < entropy_bits(lam, 1.0) - 0.5


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"n_landmarks": 300}, ValueError, r"n_landmarks must be <= 299 .*n=300.*got 300"),
        ({"n_landmarks": 1000}, ValueError, r"n_landmarks must be <= 299.*got 1000"),
        ({"n_landmarks": 1}, ValueError, r"n_landmarks must be >= 2; got 1"),
        ({"n_landmarks": 2.5}, TypeError, r"n_landmarks must be an integer"),
        ({"n_landmarks": 10, "method": "kmeans"}, ValueError,
         r"method must be one of 'operator', 'nystrom'; got 'kmeans'"),
        ({"n_landmarks": 10, "n_svd": 0}, ValueError, r"n_svd must be >= 1; got 0"),
        ({"n_landmarks": 10, "random_state": -1}, ValueError,
         r"random_state must be a non-negative integer"),
        # the known vectors are checked as the SLQ path checks them
        ({"n_landmarks": 10, "known_vectors": np.ones((5, 1))}, ValueError,
         r"known_vectors must have shape \(n, c\) with n=300 rows; got shape \(5, 1\)"),
        ({"n_landmarks": 10, "known_vectors": np.full((300, 1), np.nan)}, ValueError,
         r"known_vectors contains NaN or infinite values"),
        ({"n_landmarks": 10, "known_vectors": np.ones((300, 1))}, ValueError,
         r"known_vectors must have orthonormal columns \(U\^T U = I\); got max deviation"),
    ],
)
def test_bad_arguments(cloud, kwargs, exc, match):
    A, d, _, _ = cloud
    with pytest.raises(exc, match=match):
        landmark_measure(A, d, **kwargs)


def test_bad_operator_and_degrees(cloud):
    A, d, _, _ = cloud
    with pytest.raises(ValueError, match=r"A must be a square matrix; got shape \(300, 299\)"):
        landmark_measure(A[:, :-1], d, n_landmarks=10)
    with pytest.raises(ValueError, match=r"degrees must have shape \(300,\)"):
        landmark_measure(A, d[:-1], n_landmarks=10)
    with pytest.raises(ValueError, match="degrees must be positive"):
        landmark_measure(A, -d, n_landmarks=10)
