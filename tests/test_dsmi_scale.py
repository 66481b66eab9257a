"""DSMI at scale: approximate mode, parallel runs, scalable clustering of a multi-D Y."""

import joblib
import numpy as np
import pytest

import fastdse
from fastdse import settings as settings_module
from fastdse.cluster import randomized_pca, spectral_clusters


def _blobs(rng, sizes, d=8, scale=6.0):
    labels = np.repeat(np.arange(len(sizes)), sizes)
    centres = rng.normal(scale=scale, size=(len(sizes), d))
    return centres[labels] + rng.normal(size=(labels.size, d)), labels


@pytest.fixture(scope="module")
def mid_blobs():
    # classes of 400-600 points: above the dense fallback of the sparse path (200)
    return _blobs(np.random.default_rng(3), [600, 500, 400])


# --------------------------------------------------------------------------- approx


@pytest.mark.parametrize("t", [1.0, 5.0])
def test_approx_agrees_with_exact(mid_blobs, t):
    Z, labels = mid_blobs
    kw = dict(num_repetitions=3, random_state=0, n_jobs=1)  # n_jobs: same numbers, see below
    exact = fastdse.dsmi(Z, labels, t, mode="exact", **kw)
    approx = fastdse.dsmi(Z, labels, t, mode="approx", **kw)
    assert exact.mode == "exact" and approx.mode == "approx"
    assert approx.stderr > 0
    # different random subsets and probes: the combined stderr of both covers the gap
    both = np.hypot(exact.stderr, approx.stderr)
    assert abs(approx.value - exact.value) <= 0.02 + 3 * both
    # the same subsets are drawn in both modes (seeds per task), so the conditional
    # terms are on identical points: compare them directly
    for e, a in zip(exact.per_class, approx.per_class):
        assert a.conditional == pytest.approx(e.conditional, abs=0.02)
    assert np.all(approx.info["quadrature_bias"] >= 0)


def test_auto_mode_runs_small_classes_exact(mid_blobs, monkeypatch):
    Z, labels = mid_blobs
    res = fastdse.dsmi(Z, labels, mode="auto", num_repetitions=2, random_state=0, n_jobs=1)
    assert res.mode == "exact"  # every class and subset is below AUTO_EXACT_MAX_N
    monkeypatch.setattr(settings_module, "AUTO_EXACT_MAX_N", 450)
    mixed = fastdse.dsmi(Z, labels, mode="auto", num_repetitions=2, random_state=0, n_jobs=1)
    assert mixed.mode == "mixed"  # the 400-point class exact, the others approximate
    assert abs(mixed.value - res.value) <= 0.05 + 3 * np.hypot(mixed.stderr, res.stderr)


def test_approx_parameters_pass_through(mid_blobs):
    Z, labels = mid_blobs
    a = fastdse.dsmi(Z, labels, mode="approx", num_repetitions=2, n_probes=4, n_steps=20,
                     n_deflate=0, neighbors="exact", random_state=0)
    b = fastdse.dsmi(Z, labels, mode="approx", num_repetitions=2, random_state=0)
    assert a.value != b.value
    assert a.stderr > b.stderr  # 4 probes, not 20


# --------------------------------------------------------------------------- parallel


@pytest.fixture(scope="module")
def serial_approx(mid_blobs):
    Z, labels = mid_blobs
    return fastdse.dsmi(Z, labels, [1, 4], mode="approx", num_repetitions=2, random_state=5)


@pytest.mark.parametrize("n_jobs", [1, 2, -1])
def test_n_jobs_gives_the_serial_numbers(mid_blobs, serial_approx, n_jobs):
    Z, labels = mid_blobs
    res = fastdse.dsmi(Z, labels, [1, 4], mode="approx", num_repetitions=2, random_state=5,
                       n_jobs=n_jobs)
    np.testing.assert_array_equal(res.value, serial_approx.value)
    np.testing.assert_array_equal(res.stderr, serial_approx.stderr)
    for a, b in zip(res.per_class, serial_approx.per_class):
        np.testing.assert_array_equal(a.unconditional_reps, b.unconditional_reps)


@pytest.mark.slow
def test_process_backend_gives_the_serial_numbers(mid_blobs, serial_approx):
    Z, labels = mid_blobs
    with joblib.parallel_config(backend="loky", n_jobs=2):
        res = fastdse.dsmi(Z, labels, [1, 4], mode="approx", num_repetitions=2,
                           random_state=5)
    assert res.info["n_jobs"] == 2
    np.testing.assert_array_equal(res.value, serial_approx.value)


def test_generator_seed_is_consumed_once(mid_blobs):
    Z, labels = mid_blobs
    a = fastdse.dsmi(Z, labels, mode="exact", num_repetitions=2,
                     random_state=np.random.default_rng(9))
    b = fastdse.dsmi(Z, labels, mode="exact", num_repetitions=2, random_state=9)
    assert a.value == b.value


# --------------------------------------------------------------------------- clustering


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


def test_multid_y_through_dsmi_and_reuse(rng):
    Y, truth = _blobs(rng, [250, 250, 250], d=3, scale=8.0)
    Z = Y @ rng.normal(size=(3, 6)) + 0.1 * rng.normal(size=(750, 6))
    res = fastdse.dsmi(Z, Y, n_clusters=3, num_repetitions=2, random_state=0)
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(truth, res.clusters) > 0.95
    again = fastdse.dsmi(Z, None, clusters=res.clusters, num_repetitions=2, random_state=0)
    assert again.value == pytest.approx(res.value, abs=0.05 + 3 * np.hypot(res.stderr,
                                                                           again.stderr))


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
