"""Labels from a reference variable: discretize and the scalable spectral clustering."""

import numpy as np
import pytest

from fastdse.cluster import discretize, randomized_pca, spectral_clusters


def _blobs(rng, sizes, d=8, scale=6.0):
    labels = np.repeat(np.arange(len(sizes)), sizes)
    centres = rng.normal(scale=scale, size=(len(sizes), d))
    return centres[labels] + rng.normal(size=(labels.size, d)), labels



def test_spectral_clusters_recovers_blobs_above_dense_cutoff(rng):
    # 3,000 points (ARPACK path) in 5 overlapping-free blobs bridged by a few points
    Y, truth = _blobs(rng, [900, 700, 600, 500, 300], d=5, scale=5.0)
    bridge = np.linspace(Y[0], Y[-1], 40)  # one connected graph
    Y = np.vstack([Y, bridge])
    labels = spectral_clusters(Y, 5, random_state=0)
    assert labels.shape == (Y.shape[0],) and labels.dtype == np.int64
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(truth, labels[: truth.size]) > 0.95
    again = spectral_clusters(Y, 5, random_state=0)
    np.testing.assert_array_equal(labels, again)


def test_embedding_eigenvectors_match_dense(rng):
    # a connected kNN graph above the dense cutoff: ARPACK's top eigenpairs against eigh
    from fastdse.cluster import DENSE_EIGH_MAX_N, _top_eigenvectors
    from fastdse.operator.build import build_sparse_operator

    Y = rng.uniform(size=(DENSE_EIGH_MAX_N + 500, 2))
    A, _, known, _ = build_sparse_operator(Y, knn=10, random_state=0)
    assert known.shape[1] == 1
    V = _top_eigenvectors(A, known, 4, np.random.default_rng(0))
    np.testing.assert_allclose(V.T @ V, np.eye(4), atol=1e-8)
    rayleigh = np.einsum("ij,ij->j", V, A @ V)
    top = np.linalg.eigvalsh(A.toarray())[::-1][:4]
    np.testing.assert_allclose(rayleigh, top, atol=1e-6)


def test_spectral_clusters_groups_many_components(rng):
    # 6 separated blobs, 3 clusters: whole components are grouped, nearest together
    centres = np.array([[0, 0], [3, 0], [100, 0], [103, 0], [0, 100], [3, 100]], float)
    truth = np.repeat(np.arange(6), 30)
    Y = centres[truth] + 0.1 * rng.normal(size=(180, 2))
    labels = spectral_clusters(Y, 3, random_state=0)
    pairs = [labels[truth == k] for k in range(6)]
    assert all(np.unique(p).size == 1 for p in pairs)  # components stay whole
    assert pairs[0][0] == pairs[1][0] and pairs[2][0] == pairs[3][0]
    assert pairs[4][0] == pairs[5][0] and np.unique(labels).size == 3


def test_spectral_clusters_high_dimensional_y_uses_pca(rng):
    Y, truth = _blobs(rng, [300, 300, 300], d=400, scale=1.0)
    labels = spectral_clusters(Y.astype(np.float32), 3, random_state=1)
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(truth, labels) > 0.95


def test_randomized_pca_matches_svd(rng):
    Y = rng.normal(size=(400, 60)) * np.r_[10.0, 8.0, 6.0, 4.0, 2.0, np.full(55, 0.1)]
    S = randomized_pca(Y, 5, random_state=0)
    Yc = Y - Y.mean(axis=0)
    U, s, _ = np.linalg.svd(Yc, full_matrices=False)
    np.testing.assert_allclose(np.abs(S), np.abs(U[:, :5] * s[:5]), rtol=1e-6, atol=1e-8)
    S32 = randomized_pca(Y.astype(np.float32), 5, random_state=0)
    assert S32.dtype == np.float32


@pytest.mark.parametrize(
    "kw,exc,match",
    [
        ({"n_clusters": 1}, ValueError, "n_clusters must be >= 2"),
        ({"n_clusters": 51}, ValueError, "n_clusters must be <= 50"),
        ({"n_clusters": 2, "max_features": 0}, ValueError, "max_features must be >= 1"),
        ({"n_clusters": 2, "neighbors": "kd"}, ValueError, "neighbors must be one of"),
        ({"n_clusters": 2, "knn": 0}, ValueError, "knn must be >= 1"),
    ],
)
def test_spectral_clusters_bad_input(rng, kw, exc, match):
    with pytest.raises(exc, match=match):
        spectral_clusters(rng.normal(size=(50, 3)), **kw)


def test_spectral_clusters_rejects_nan(rng):
    Y = rng.normal(size=(50, 3))
    Y[3, 1] = np.nan
    with pytest.raises(ValueError, match="Y contains 1 NaN"):
        spectral_clusters(Y, 2)


# --------------------------------------------------------------------------- discretize


def test_discrete_labels_are_kept_as_they_are():
    labels = np.array(["b", "a", "b", "c"])
    np.testing.assert_array_equal(discretize(labels), labels)
    ints = np.array([3, 1, 3, 7])
    np.testing.assert_array_equal(discretize(ints), ints)
    assert discretize(ints).dtype == ints.dtype


def test_continuous_1d_is_cut_into_equal_width_bins(rng):
    y = rng.uniform(-3.0, 5.0, size=200)
    bins = discretize(y, n_clusters=4)
    # bin i (1..4) holds the values in the i-th quarter of [min, max]
    width = (y.max() - y.min()) / 4
    for i in range(1, 5):
        lo, hi = y.min() + (i - 1) * width, y.min() + i * width
        inside = y[bins == i]
        assert np.all(inside >= lo - 1e-12) and np.all(inside <= hi + 1e-12)
    assert set(np.unique(bins)) == {1, 2, 3, 4}
    np.testing.assert_array_equal(discretize(np.full(5, 2.5), n_clusters=3), np.ones(5))


def test_continuous_multid_is_spectral_clustering_seeded_from_random_state(rng):
    Y, _ = _blobs(rng, [60, 60, 60], d=3, scale=8.0)
    labels = discretize(Y, n_clusters=3, random_state=4)
    seed = int(np.random.default_rng(4).integers(2**31 - 1))
    np.testing.assert_array_equal(labels, spectral_clusters(Y, 3, random_state=seed))


@pytest.mark.parametrize(
    "Y,kw,exc,match",
    [
        (np.zeros((4, 2)), {"kind": "discrete"}, ValueError, "discrete Y must have one column"),
        (np.array(["a", "b"]), {"kind": "continuous", "n_clusters": 2}, TypeError,
         "must be numeric"),
        (np.arange(4.0), {"kind": "sometimes"}, ValueError, "kind must be one of"),
        (np.arange(4.0), {"n_clusters": 1}, ValueError, "n_clusters must be >= 2"),
        (np.arange(4.0), {"n_clusters": 5}, ValueError, "n_clusters must be <= 4"),
        (np.array([1.0, np.nan]), {"kind": "discrete"}, ValueError,
         r"Y contains 1 NaN or infinite label"),
    ],
)
def test_discretize_bad_input(Y, kw, exc, match):
    with pytest.raises(exc, match=match):
        discretize(Y, **kw)
