"""Parity of fastdse.compat's entropies with dse-dsmi 1.1, and their argument errors.

Every expected value comes from ``dse_dsmi`` itself (fixtures in conftest.py).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

DATASETS = ["uniform256", "blobs", "manifold", "integer"]


# ---------------------------------------------------------------------------
# diffusion spectral entropy
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("sigma", [1, 10, 50])
def test_dse_matches_reference(ref, mine, data, dataset, sigma, assert_parity):
    X = data[dataset]
    for t in (1, 2, 5):
        expected = ref("diffusion_spectral_entropy", X, gaussian_kernel_sigma=sigma, t=t)
        value = mine("diffusion_spectral_entropy", X, gaussian_kernel_sigma=sigma, t=t)
        assert_parity(value, expected)


def test_dse_defaults_and_float_t(ref, mine, data, assert_parity):
    X = data["blobs"]
    assert_parity(mine("diffusion_spectral_entropy", X), ref("diffusion_spectral_entropy", X))
    kwargs = dict(gaussian_kernel_sigma=3.5, t=1.5)
    assert_parity(
        mine("diffusion_spectral_entropy", X, **kwargs),
        ref("diffusion_spectral_entropy", X, **kwargs),
    )


@pytest.mark.parametrize("seed", [0, 7, 12345])
def test_dse_max_n_subsampling(ref, mine, data, seed, assert_parity):
    X = data["blobs"][:130]
    kwargs = dict(gaussian_kernel_sigma=2.0, t=2, max_N=100, random_seed=seed)
    expected = ref("diffusion_spectral_entropy", X, **kwargs)
    assert_parity(mine("diffusion_spectral_entropy", X, **kwargs), expected)
    # the subsample matters: all 130 points give another value
    full = ref("diffusion_spectral_entropy", X, gaussian_kernel_sigma=2.0, t=2)
    assert abs(full - expected) > 1e-6


def test_dse_max_n_none_and_unseeded(ref, mine, data, assert_parity):
    X = data["manifold"][:150]
    assert_parity(
        mine("diffusion_spectral_entropy", X, max_N=None),
        ref("diffusion_spectral_entropy", X, max_N=None),
    )
    # unseeded subsampling cannot be compared value for value; it must stay in range
    # and leave the global random state alone (checked by the `mine` fixture)
    value = mine("diffusion_spectral_entropy", X, max_N=100, random_seed=None)
    assert 0 < value < np.log2(100) + 1e-9


@pytest.mark.parametrize("precision", [np.float16, np.float64])
def test_dse_eigval_cache(ref, mine, data, tmp_path, precision, assert_parity):
    X = data["uniform256"][:200]
    ref_path = str(tmp_path / "ref" / "nested" / "eig.npz")
    my_path = str(tmp_path / "mine" / "nested" / "eig.npz")
    kwargs = dict(gaussian_kernel_sigma=1.0, t=2, eigval_save_precision=precision)

    # first run: computes, saves, and uses the down-cast eigenvalues
    first_ref = ref("diffusion_spectral_entropy", X, eigval_save_path=ref_path, **kwargs)
    first_mine = mine("diffusion_spectral_entropy", X, eigval_save_path=my_path, **kwargs)
    assert_parity(first_mine, first_ref)
    with np.load(ref_path) as a, np.load(my_path) as b:
        assert list(b.keys()) == ["eigvals"]
        assert b["eigvals"].dtype == a["eigvals"].dtype == precision
        np.testing.assert_allclose(b["eigvals"], a["eigvals"], rtol=1e-12, atol=1e-15)

    # cached run: no data needed, the file is read
    cached_ref = ref("diffusion_spectral_entropy", None, eigval_save_path=ref_path, t=2)
    cached_mine = mine("diffusion_spectral_entropy", None, eigval_save_path=my_path, t=2)
    assert_parity(cached_mine, cached_ref)
    # fastdse reads the reference's file too, and ignores data when the file exists
    assert_parity(
        mine("diffusion_spectral_entropy", X[:50], eigval_save_path=ref_path, t=2), cached_ref
    )
    if precision == np.float16:
        plain = ref("diffusion_spectral_entropy", X, gaussian_kernel_sigma=1.0, t=2)
        assert abs(plain - first_ref) > 1e-9  # the down-cast is visible in the value


def test_dse_eigval_cache_without_directory(ref, mine, data, tmp_path, monkeypatch, assert_parity):
    X = data["blobs"][:120]
    expected = ref(
        "diffusion_spectral_entropy", X, eigval_save_path=str(tmp_path / "r" / "e.npz")
    )
    monkeypatch.chdir(tmp_path)
    # the reference crashes here on os.makedirs('')
    with pytest.raises(FileNotFoundError, match="No such file or directory"):
        ref("diffusion_spectral_entropy", X, eigval_save_path="ref_e.npz")
    assert_parity(mine("diffusion_spectral_entropy", X, eigval_save_path="e.bin"), expected)
    assert os.path.isfile(tmp_path / "e.bin")  # written at exactly that path
    assert not os.path.exists(tmp_path / "e.bin.npz")
    # a cached run computes in float64 from the float16 file, like the reference's
    ref_file = str(tmp_path / "r" / "e.npz")
    cached = ref("diffusion_spectral_entropy", None, eigval_save_path=ref_file)
    assert_parity(mine("diffusion_spectral_entropy", None, eigval_save_path="e.bin"), cached)


def test_dse_eigval_cache_is_not_pickled(mine, tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, eigvals=np.array([object()], dtype=object))
    with pytest.raises(ValueError, match="eigval_save_path .* not an .npz archive"):
        mine("diffusion_spectral_entropy", None, eigval_save_path=str(path))


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("bins", [2, 3])
def test_classic_shannon_entropy(ref, mine, data, dataset, bins, assert_parity):
    X = data[dataset]
    kwargs = dict(classic_shannon_entropy=True, num_bins_per_dim=bins)
    assert_parity(
        mine("diffusion_spectral_entropy", X, **kwargs),
        ref("diffusion_spectral_entropy", X, **kwargs),
    )


def test_classic_shannon_entropy_constant_column(ref, mine, data, assert_parity):
    # the reference divides 0 by 0 here (warning silenced); fastdse must not warn
    X = data["blobs"][:, :4].copy()
    X[:, 2] = 3.0
    kwargs = dict(classic_shannon_entropy=True, num_bins_per_dim=3)
    assert_parity(
        mine("diffusion_spectral_entropy", X, **kwargs),
        ref("diffusion_spectral_entropy", X, **kwargs),
    )


def test_classic_shannon_entropy_subsampled(ref, mine, data, assert_parity):
    X = data["integer"]
    kwargs = dict(classic_shannon_entropy=True, num_bins_per_dim=3, max_N=200, random_seed=3)
    assert_parity(
        mine("diffusion_spectral_entropy", X, **kwargs),
        ref("diffusion_spectral_entropy", X, **kwargs),
    )


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("sigma", [1, 10])
def test_matrix_entry_entropy(ref, mine, data, dataset, sigma, assert_parity):
    X = data[dataset][:200]
    kwargs = dict(gaussian_kernel_sigma=sigma, matrix_entry_entropy=True)
    assert_parity(
        mine("diffusion_spectral_entropy", X, **kwargs),
        ref("diffusion_spectral_entropy", X, **kwargs),
    )


@pytest.mark.parametrize("seed", [0, 11])
def test_chebyshev_approx_with_seeded_numpy(ref, mine, data, seed, assert_parity):
    # the reference draws its probes from numpy's global legacy generator
    X = data["manifold"][:200]
    kwargs = dict(gaussian_kernel_sigma=2.0, t=1, chebyshev_approx=True)
    np.random.seed(seed)  # noqa: NPY002 - the reference's global generator
    expected = ref("diffusion_spectral_entropy", X, **kwargs)
    after_ref = np.random.random()  # noqa: NPY002
    np.random.seed(seed)  # noqa: NPY002
    value = mine("diffusion_spectral_entropy", X, **kwargs)
    after_mine = np.random.random()  # noqa: NPY002
    assert_parity(value, expected)
    assert after_mine == after_ref  # the same number of draws


# ---------------------------------------------------------------------------
# adjacency spectral entropy
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("sigma", [1, 10, 50])
def test_adjacency_gaussian(ref, mine, data, dataset, sigma, assert_parity):
    # the non-anisotropic reference kernel keeps the factor 1 / (sigma sqrt(2 pi)),
    # which differs from 1 for every sigma here
    X = data[dataset][:200]
    for anisotropic in (False, True):
        kwargs = dict(gaussian_kernel_sigma=sigma, anisotropic=anisotropic)
        assert_parity(
            mine("adjacency_spectral_entropy", X, **kwargs),
            ref("adjacency_spectral_entropy", X, **kwargs),
        )


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("knn", [1, 3, 10])
def test_adjacency_knn(ref, mine, data, dataset, knn, assert_parity):
    # knn=1 on data without duplicates gives the identity (symmetric: eigvalsh in the
    # reference); larger knn gives a non-symmetric matrix (general eigensolver);
    # integer data has tied distances, which are all kept
    X = data[dataset][:200]
    kwargs = dict(use_knn=True, knn=knn)
    assert_parity(
        mine("adjacency_spectral_entropy", X, **kwargs),
        ref("adjacency_spectral_entropy", X, **kwargs),
    )


@pytest.mark.parametrize("precision", [np.float16, np.float64])
@pytest.mark.parametrize(
    "kwargs",
    [dict(gaussian_kernel_sigma=1.0), dict(anisotropic=True), dict(use_knn=True, knn=5)],
    ids=["gaussian", "anisotropic", "knn"],
)
def test_adjacency_eigval_cache(ref, mine, data, tmp_path, precision, kwargs, assert_parity):
    # With the kNN matrix the eigenvalues are complex; saving keeps their real part.
    # The non-anisotropic Gaussian eigenvalues carry the reference's 1 / (sigma sqrt(2 pi)):
    # it does not change the probabilities, but it changes their float16 rounding
    # (leaving it out fails [gaussian-float16]).
    X = data["manifold"][:150]
    ref_path = str(tmp_path / "r" / "eig.npz")
    my_path = str(tmp_path / "m" / "eig.npz")
    first_ref = ref(
        "adjacency_spectral_entropy", X, eigval_save_path=ref_path,
        eigval_save_precision=precision, **kwargs,
    )
    first_mine = mine(
        "adjacency_spectral_entropy", X, eigval_save_path=my_path,
        eigval_save_precision=precision, **kwargs,
    )
    assert_parity(first_mine, first_ref)
    assert_parity(
        mine("adjacency_spectral_entropy", None, eigval_save_path=my_path),
        ref("adjacency_spectral_entropy", None, eigval_save_path=ref_path),
    )


@pytest.mark.parametrize("kwargs", [dict(), dict(use_knn=True)], ids=["gaussian", "knn"])
def test_adjacency_max_n(ref, mine, data, kwargs, assert_parity):
    X = data["blobs"][:140]
    kwargs = dict(kwargs, gaussian_kernel_sigma=3.0, max_N=110, random_seed=4)
    assert_parity(
        mine("adjacency_spectral_entropy", X, **kwargs),
        ref("adjacency_spectral_entropy", X, **kwargs),
    )



def test_verbose_prints(mine, data, capsys):
    mine("diffusion_spectral_entropy", data["blobs"][:50], verbose=True)
    assert "Diffusion Spectral Entropy" in capsys.readouterr().out



# ---------------------------------------------------------------------------
# bad input: clear errors that name the parameter
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(gaussian_kernel_sigma=0), ValueError, "gaussian_kernel_sigma must be > 0"),
        (dict(gaussian_kernel_sigma="10"), TypeError, "gaussian_kernel_sigma must be a real"),
        (dict(t=0), ValueError, "t must be > 0"),
        (dict(t=np.inf), ValueError, "t must be finite"),
        (dict(t=True), TypeError, "t must be a real number"),
        (dict(max_N=0), ValueError, "max_N must be >= 1"),
        (dict(max_N=2.5), TypeError, "max_N must be an integer"),
        (dict(num_bins_per_dim=0), ValueError, "num_bins_per_dim must be >= 1"),
        (dict(random_seed="a"), TypeError, "random_seed must be an integer"),
        (dict(chebyshev_approx="yes"), TypeError, "chebyshev_approx must be True or False"),
        (dict(classic_shannon_entropy=1), TypeError, "classic_shannon_entropy must be True"),
        (dict(eigval_save_precision=np.int32), ValueError, "eigval_save_precision must be"),
        (dict(eigval_save_precision="nope"), TypeError, "eigval_save_precision must be"),
        (dict(eigval_save_path=3), TypeError, "eigval_save_path must be"),
        (dict(eigval_save_path=""), ValueError, "eigval_save_path must be None or"),
    ],
)
def test_dse_bad_arguments(mine, data, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        mine("diffusion_spectral_entropy", data["blobs"][:20], **kwargs)


@pytest.mark.parametrize(
    "X,exc,match",
    [
        (np.zeros(10), ValueError, "embedding_vectors must be a 2-D array"),
        (np.zeros((0, 3)), ValueError, "embedding_vectors must have at least 1 point \\(rows\\)"),
        (np.array([[0.0, np.nan], [1.0, 2.0]]), ValueError, "embedding_vectors contains 1 NaN"),
        (np.array([["a", "b"]]), TypeError, "embedding_vectors must hold numbers"),
        (None, ValueError, "embedding_vectors may be None only when"),
    ],
)
def test_bad_embeddings(mine, X, exc, match):
    for name in ("diffusion_spectral_entropy", "adjacency_spectral_entropy"):
        with pytest.raises(exc, match=match):
            mine(name, X)


def test_adjacency_bad_arguments(mine, data):
    X = data["blobs"][:8]
    with pytest.raises(ValueError, match=r"knn must be <= the number of points \(8\)"):
        mine("adjacency_spectral_entropy", X, use_knn=True)
    with pytest.raises(ValueError, match="knn must be >= 1"):
        mine("adjacency_spectral_entropy", X, use_knn=True, knn=0)
    with pytest.raises(TypeError, match="anisotropic must be True or False"):
        mine("adjacency_spectral_entropy", X, anisotropic="no")


def test_corrupt_cache_file(mine, tmp_path):
    path = tmp_path / "e.npz"
    path.write_text("not an archive")
    for name in ("diffusion_spectral_entropy", "adjacency_spectral_entropy"):
        with pytest.raises(ValueError, match="exists but is not an .npz archive"):
            mine(name, None, eigval_save_path=str(path))
    np.savez(tmp_path / "k.npz", values=np.ones(3))
    with pytest.raises(ValueError, match="with an 'eigvals' array"):
        mine("diffusion_spectral_entropy", None, eigval_save_path=str(tmp_path / "k.npz"))

