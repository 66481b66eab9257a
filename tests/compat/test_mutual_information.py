"""Parity of fastdse.compat's mutual informations with dse-dsmi 1.1, and their errors.

Every expected value comes from ``dse_dsmi`` itself (fixtures in conftest.py).
"""

from __future__ import annotations

import numpy as np
import pytest

# ---------------------------------------------------------------------------
# mutual information
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("sigma,t", [(1, 1), (10, 2), (50, 5)])
def test_dsmi_discrete_labels(ref, mine, data, sigma, t, assert_mi_parity):
    X = data["blobs"]
    y = data["blob_labels"]
    kwargs = dict(gaussian_kernel_sigma=sigma, t=t, num_repetitions=3)
    expected = ref("diffusion_spectral_mutual_information", X, y, **kwargs)
    assert expected[1].shape == (300, 1)
    assert_mi_parity(mine("diffusion_spectral_mutual_information", X, y, **kwargs), expected)


@pytest.mark.parametrize("seed", [0, 5])
@pytest.mark.parametrize("reps", [1, 4])
def test_dsmi_seeds_and_repetitions(ref, mine, data, seed, reps, assert_mi_parity):
    X = data["manifold"]
    y = (data["manifold"][:, 0] > 0).astype(np.int32).reshape(-1, 1)
    kwargs = dict(gaussian_kernel_sigma=5.0, num_repetitions=reps, random_seed=seed)
    assert_mi_parity(
        mine("diffusion_spectral_mutual_information", X, y, **kwargs),
        ref("diffusion_spectral_mutual_information", X, y, **kwargs),
    )


def test_dsmi_unseeded_runs_without_touching_random(mine, data):
    X = data["blobs"][:120]
    y = data["blob_labels"][:120]
    mi, clusters = mine(
        "diffusion_spectral_mutual_information", X, y, random_seed=None, num_repetitions=2
    )
    assert np.isfinite(mi)
    assert clusters.shape == (120, 1)


@pytest.mark.parametrize("n_clusters", [3, 6])
def test_dsmi_continuous_scalar_reference(ref, mine, data, n_clusters, assert_mi_parity):
    X = data["manifold"]
    z = data["manifold"][:, 1]  # float, 1-D: min-max binned
    kwargs = dict(gaussian_kernel_sigma=5.0, n_clusters=n_clusters, num_repetitions=2)
    expected = ref("diffusion_spectral_mutual_information", X, z, **kwargs)
    assert expected[1].shape == (X.shape[0], 1)
    assert_mi_parity(mine("diffusion_spectral_mutual_information", X, z, **kwargs), expected)


def test_dsmi_constant_scalar_reference(ref, mine, data, assert_mi_parity):
    # 0 / 0 in the min-max scaling puts every point in one bin; no warning here
    X = data["blobs"][:100]
    z = np.full(100, 2.5)
    kwargs = dict(gaussian_kernel_sigma=5.0, num_repetitions=2)
    assert_mi_parity(
        mine("diffusion_spectral_mutual_information", X, z, **kwargs),
        ref("diffusion_spectral_mutual_information", X, z, **kwargs),
    )


def test_dsmi_integer_reference_declared_continuous(ref, mine, data, assert_mi_parity):
    X = data["blobs"]
    y = data["blob_labels"]
    kwargs = dict(reference_discrete=False, n_clusters=2, num_repetitions=2)
    assert_mi_parity(
        mine("diffusion_spectral_mutual_information", X, y, **kwargs),
        ref("diffusion_spectral_mutual_information", X, y, **kwargs),
    )


def test_dsmi_float_labels_declared_discrete(ref, mine, data, assert_mi_parity):
    X = data["blobs"]
    y = data["blob_labels"].astype(float) / 2
    kwargs = dict(reference_discrete=True, num_repetitions=2, gaussian_kernel_sigma=4.0)
    assert_mi_parity(
        mine("diffusion_spectral_mutual_information", X, y, **kwargs),
        ref("diffusion_spectral_mutual_information", X, y, **kwargs),
    )


def test_dsmi_multidimensional_reference_spectral_clustering(ref, mine, data, assert_mi_parity):
    X = data["manifold"]
    Z = data["manifold"][:, :3]
    kwargs = dict(gaussian_kernel_sigma=5.0, n_clusters=3, num_repetitions=2)
    expected = ref("diffusion_spectral_mutual_information", X, Z, **kwargs)
    assert expected[1].shape == (X.shape[0],)
    assert_mi_parity(mine("diffusion_spectral_mutual_information", X, Z, **kwargs), expected)


@pytest.mark.parametrize("shape", [(300,), (300, 1)])
def test_dsmi_precomputed_clusters(ref, mine, data, shape, assert_mi_parity):
    X = data["blobs"]
    Z = data["blobs"][:, :2]  # ignored: clusters are given
    clusters = (data["blob_labels"] == 1).astype(int).reshape(shape)
    kwargs = dict(precomputed_clusters=clusters, num_repetitions=2)
    expected = ref("diffusion_spectral_mutual_information", X, Z, **kwargs)
    value = mine("diffusion_spectral_mutual_information", X, Z, **kwargs)
    assert_mi_parity(value, expected)
    assert value[1].shape == shape


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(classic_shannon_entropy=True, num_bins_per_dim=3),
        dict(matrix_entry_entropy=True, gaussian_kernel_sigma=5.0),
    ],
    ids=["cse", "matrix_entry"],
)
def test_dsmi_variants(ref, mine, data, kwargs, assert_mi_parity):
    X = data["integer"]
    y = (data["integer"][:, 0] % 3).reshape(-1, 1)
    kwargs = dict(kwargs, num_repetitions=2)
    assert_mi_parity(
        mine("diffusion_spectral_mutual_information", X, y, **kwargs),
        ref("diffusion_spectral_mutual_information", X, y, **kwargs),
    )


def test_dsmi_chebyshev_with_seeded_numpy(ref, mine, data, assert_mi_parity):
    X = data["blobs"][:150]
    y = data["blob_labels"][:150]
    kwargs = dict(chebyshev_approx=True, num_repetitions=2, gaussian_kernel_sigma=3.0)
    np.random.seed(1)  # noqa: NPY002 - the reference's global generator
    expected = ref("diffusion_spectral_mutual_information", X, y, **kwargs)
    np.random.seed(1)  # noqa: NPY002
    assert_mi_parity(mine("diffusion_spectral_mutual_information", X, y, **kwargs), expected)


def test_dsmi_inner_reseed_above_10000_points(ref, mine, assert_mi_parity):
    # Classes and subsets of more than 10,000 points are subsampled by the inner
    # entropy call, which re-seeds the global random state to 0 and so changes the
    # next repetition's draw. The classic Shannon entropy keeps this cheap.
    rng = np.random.default_rng(3)
    n = 10_060
    X = rng.integers(0, 4, (n, 3))
    y = np.zeros(n, dtype=np.int64)
    y[rng.choice(n, 45, replace=False)] = 1  # class 0 has 10,015 points
    kwargs = dict(classic_shannon_entropy=True, num_bins_per_dim=4, num_repetitions=3)
    for seed in (0, 9):
        expected = ref("diffusion_spectral_mutual_information", X, y, random_seed=seed, **kwargs)
        value = mine("diffusion_spectral_mutual_information", X, y, random_seed=seed, **kwargs)
        assert_mi_parity(value, expected)


@pytest.mark.parametrize(
    "kwargs",
    [dict(gaussian_kernel_sigma=2.0), dict(anisotropic=True), dict(use_knn=True)],
    ids=["gaussian", "anisotropic", "knn"],
)
def test_asmi_discrete_labels(ref, mine, data, kwargs, assert_mi_parity):
    X = data["blobs"]
    y = data["blob_labels"]
    kwargs = dict(kwargs, num_repetitions=2)
    assert_mi_parity(
        mine("adjacency_spectral_mutual_information", X, y, **kwargs),
        ref("adjacency_spectral_mutual_information", X, y, **kwargs),
    )


def test_asmi_continuous_and_clustered_references(ref, mine, data, assert_mi_parity):
    X = data["manifold"]
    for Z, extra in ((data["manifold"][:, 1], {}), (data["manifold"][:, :3], {"use_knn": True})):
        kwargs = dict(extra, n_clusters=3, num_repetitions=2, random_seed=2)
        assert_mi_parity(
            mine("adjacency_spectral_mutual_information", X, Z, **kwargs),
            ref("adjacency_spectral_mutual_information", X, Z, **kwargs),
        )


def test_asmi_precomputed_clusters(ref, mine, data, assert_mi_parity):
    X = data["uniform256"][:200]
    Z = X[:, :5]
    clusters = np.arange(200) % 4
    kwargs = dict(precomputed_clusters=clusters, num_repetitions=2, gaussian_kernel_sigma=1.0)
    assert_mi_parity(
        mine("adjacency_spectral_mutual_information", X, Z, **kwargs),
        ref("adjacency_spectral_mutual_information", X, Z, **kwargs),
    )



# ---------------------------------------------------------------------------
# bad input: clear errors that name the parameter
# ---------------------------------------------------------------------------


def test_dsmi_length_mismatch_raises(ref, mine, data):
    X = data["blobs"]
    y = data["blob_labels"][:250]
    with pytest.raises(IndexError, match="boolean index did not match"):  # the reference's
        ref("diffusion_spectral_mutual_information", X, y, num_repetitions=1)
    for name in ("diffusion_spectral_mutual_information", "adjacency_spectral_mutual_information"):
        with pytest.raises(ValueError, match="reference_vectors must have one row per row"):
            mine(name, X, y)



def test_mi_bad_arguments(mine, data):
    X = data["blobs"][:60]
    y = data["blob_labels"][:60]
    dsmi = "diffusion_spectral_mutual_information"
    asmi = "adjacency_spectral_mutual_information"
    with pytest.raises(ValueError, match="reference_discrete=True needs class labels"):
        mine(dsmi, X, X[:, :2], reference_discrete=True)
    with pytest.raises(TypeError, match="reference_discrete must be True or False"):
        mine(dsmi, X, y, reference_discrete="yes")
    with pytest.raises(ValueError, match="num_repetitions must be >= 1"):
        mine(dsmi, X, y, num_repetitions=0)
    with pytest.raises(ValueError, match="n_clusters must be >= 1"):
        mine(asmi, X, X[:, 0], n_clusters=0)
    with pytest.raises(ValueError, match="precomputed_clusters must hold one label"):
        mine(dsmi, X, X[:, :2], precomputed_clusters=np.zeros(59, dtype=int))
    with pytest.raises(ValueError, match=r"reference_vectors must have shape \(N,\)"):
        mine(dsmi, X, np.zeros((60, 2, 2)))
    with pytest.raises(TypeError, match="continuous reference_vectors must be integer or"):
        mine(dsmi, X, y > 0)
    with pytest.raises(ValueError, match="reference_vectors contains NaN"):
        mine(dsmi, X, np.full(60, np.nan))
    with pytest.raises(ValueError, match="embedding_vectors must be a 2-D array"):
        mine(asmi, X[:, 0], y)
    # ASMI with kNN needs 10 points in every class and class-sized subset
    small = np.zeros(60, dtype=int)
    small[:5] = 1
    with pytest.raises(ValueError, match="knn must be <= the number of points of a class"):
        mine(asmi, X, small, use_knn=True)
