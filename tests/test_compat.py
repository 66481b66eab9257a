"""Parity of fastdse.compat with the reference package dse-dsmi 1.1.

Every expected value comes from ``dse_dsmi`` itself. Importing ``dse_dsmi`` calls
``warnings.filterwarnings("ignore")`` and the reference re-seeds the global
``random`` module, so both are contained in fixtures: the import runs inside
``warnings.catch_warnings()`` and every reference call restores ``random``'s state
and runs with warnings ignored (the reference divides 0 by 0 on constant
columns). fastdse.compat runs under the suite's ``filterwarnings = error``.
"""

from __future__ import annotations

import inspect
import os
import random
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

from fastdse import compat

RTOL = 1e-9
# Values below this many bits are sums of n terms of order eps * log2(1 / eps)
# (the reference adds eps to every probability) plus the term of a probability
# within a few ulps of 1, whose rounding alone moves the value by ~1e-16 bits.
# For those (and only those) an absolute tolerance of 1e-13 bits is used.
EPS_DOMINATED = 1e-9
EPS_ATOL = 1e-13

PUBLIC = [
    "diffusion_spectral_entropy",
    "adjacency_spectral_entropy",
    "diffusion_spectral_mutual_information",
    "adjacency_spectral_mutual_information",
]


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def _single_threaded():
    """One BLAS and one numba thread: the matrices here are small, and threaded
    BLAS on a busy machine makes a 300 x 300 eigvalsh take seconds."""
    numba = pytest.importorskip("numba")
    threadpoolctl = pytest.importorskip("threadpoolctl")
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        with threadpoolctl.threadpool_limits(limits=1):
            yield
    finally:
        numba.set_num_threads(previous)


@pytest.fixture(scope="module")
def ref_module():
    with warnings.catch_warnings():  # undoes its global filterwarnings("ignore")
        import dse_dsmi
    return dse_dsmi


@pytest.fixture
def ref(ref_module):
    """Call a reference function with warnings ignored and ``random`` state restored."""

    def call(name, *args, **kwargs):
        state = random.getstate()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return getattr(ref_module, name)(*args, **kwargs)
        finally:
            random.setstate(state)

    return call


@pytest.fixture
def mine():
    """Call a compat function and check it left the global ``random`` state alone."""

    def call(name, *args, **kwargs):
        state = random.getstate()
        out = getattr(compat, name)(*args, **kwargs)
        assert random.getstate() == state
        return out

    return call


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(20240601)
    uniform = rng.uniform(0, 1, (320, 256))
    centers = rng.normal(scale=6.0, size=(3, 10))
    blob_labels = rng.integers(0, 3, 300)
    blobs = centers[blob_labels] + rng.normal(size=(300, 10))
    # a noisy 2-D swiss roll embedded linearly in 20 dimensions
    s = rng.uniform(1.5 * np.pi, 4.5 * np.pi, 260)
    h = rng.uniform(0, 10, 260)
    roll = np.column_stack([s * np.cos(s), h, s * np.sin(s)])
    manifold = roll @ rng.normal(size=(3, 20)) + 0.05 * rng.normal(size=(260, 20))
    integer = rng.integers(0, 6, (240, 5))
    return {
        "uniform256": uniform,
        "blobs": blobs,
        "manifold": manifold,
        "integer": integer,
        "blob_labels": blob_labels,
    }


DATASETS = ["uniform256", "blobs", "manifold", "integer"]


def assert_parity(value, expected):
    assert type(value) is type(expected)
    atol = EPS_ATOL if abs(expected) < EPS_DOMINATED else 0.0
    np.testing.assert_allclose(value, expected, rtol=RTOL, atol=atol)


# ---------------------------------------------------------------------------
# API surface and side effects
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", PUBLIC)
def test_signature_matches_reference(ref_module, name):
    theirs = inspect.signature(getattr(ref_module, name)).parameters
    ours = inspect.signature(getattr(compat, name)).parameters
    assert list(ours) == list(theirs)
    for key, param in theirs.items():
        assert ours[key].kind == param.kind, key
        assert ours[key].default is param.default or ours[key].default == param.default, key


def test_module_exports_the_reference_api(ref_module):
    assert sorted(compat.__all__) == sorted(ref_module.__all__)


def _run(code):
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_import_has_no_global_side_effects():
    out = _run(
        """
        import sys, warnings
        import numpy, scipy.linalg, scipy.sparse, numba, fastdse  # dependencies' own filters
        before = list(warnings.filters)
        import fastdse.compat
        assert warnings.filters == before, "warning filters changed"
        assert "matplotlib" not in sys.modules, "matplotlib imported"
        with warnings.catch_warnings(record=True) as seen:
            warnings.warn("probe", UserWarning)
        print(len(seen))
        """
    )
    assert out == "1"


def test_side_effect_probe_detects_the_reference():
    # the same probe sees the reference's global filterwarnings("ignore") and matplotlib
    out = _run(
        """
        import sys, warnings
        import dse_dsmi
        with warnings.catch_warnings(record=True) as seen:
            warnings.warn("probe", UserWarning)
        print(len(seen), "matplotlib" in sys.modules)
        """
    )
    assert out == "0 True"


# ---------------------------------------------------------------------------
# diffusion spectral entropy
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("sigma", [1, 10, 50])
def test_dse_matches_reference(ref, mine, data, dataset, sigma):
    X = data[dataset]
    for t in (1, 2, 5):
        expected = ref("diffusion_spectral_entropy", X, gaussian_kernel_sigma=sigma, t=t)
        value = mine("diffusion_spectral_entropy", X, gaussian_kernel_sigma=sigma, t=t)
        assert_parity(value, expected)


def test_dse_defaults_and_float_t(ref, mine, data):
    X = data["blobs"]
    assert_parity(mine("diffusion_spectral_entropy", X), ref("diffusion_spectral_entropy", X))
    kwargs = dict(gaussian_kernel_sigma=3.5, t=1.5)
    assert_parity(
        mine("diffusion_spectral_entropy", X, **kwargs),
        ref("diffusion_spectral_entropy", X, **kwargs),
    )


@pytest.mark.parametrize("seed", [0, 7, 12345])
def test_dse_max_n_subsampling(ref, mine, data, seed):
    X = data["blobs"][:130]
    kwargs = dict(gaussian_kernel_sigma=2.0, t=2, max_N=100, random_seed=seed)
    expected = ref("diffusion_spectral_entropy", X, **kwargs)
    assert_parity(mine("diffusion_spectral_entropy", X, **kwargs), expected)
    # the subsample matters: all 130 points give another value
    full = ref("diffusion_spectral_entropy", X, gaussian_kernel_sigma=2.0, t=2)
    assert abs(full - expected) > 1e-6


def test_dse_max_n_none_and_unseeded(ref, mine, data):
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
def test_dse_eigval_cache(ref, mine, data, tmp_path, precision):
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


def test_dse_eigval_cache_without_directory(ref, mine, data, tmp_path, monkeypatch):
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
def test_classic_shannon_entropy(ref, mine, data, dataset, bins):
    X = data[dataset]
    kwargs = dict(classic_shannon_entropy=True, num_bins_per_dim=bins)
    assert_parity(
        mine("diffusion_spectral_entropy", X, **kwargs),
        ref("diffusion_spectral_entropy", X, **kwargs),
    )


def test_classic_shannon_entropy_constant_column(ref, mine, data):
    # the reference divides 0 by 0 here (warning silenced); fastdse must not warn
    X = data["blobs"][:, :4].copy()
    X[:, 2] = 3.0
    kwargs = dict(classic_shannon_entropy=True, num_bins_per_dim=3)
    assert_parity(
        mine("diffusion_spectral_entropy", X, **kwargs),
        ref("diffusion_spectral_entropy", X, **kwargs),
    )


def test_classic_shannon_entropy_subsampled(ref, mine, data):
    X = data["integer"]
    kwargs = dict(classic_shannon_entropy=True, num_bins_per_dim=3, max_N=200, random_seed=3)
    assert_parity(
        mine("diffusion_spectral_entropy", X, **kwargs),
        ref("diffusion_spectral_entropy", X, **kwargs),
    )


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("sigma", [1, 10])
def test_matrix_entry_entropy(ref, mine, data, dataset, sigma):
    X = data[dataset][:200]
    kwargs = dict(gaussian_kernel_sigma=sigma, matrix_entry_entropy=True)
    assert_parity(
        mine("diffusion_spectral_entropy", X, **kwargs),
        ref("diffusion_spectral_entropy", X, **kwargs),
    )


@pytest.mark.parametrize("seed", [0, 11])
def test_chebyshev_approx_with_seeded_numpy(ref, mine, data, seed):
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
def test_adjacency_gaussian(ref, mine, data, dataset, sigma):
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
def test_adjacency_knn(ref, mine, data, dataset, knn):
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
def test_adjacency_eigval_cache(ref, mine, data, tmp_path, precision, kwargs):
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
def test_adjacency_max_n(ref, mine, data, kwargs):
    X = data["blobs"][:140]
    kwargs = dict(kwargs, gaussian_kernel_sigma=3.0, max_N=110, random_seed=4)
    assert_parity(
        mine("adjacency_spectral_entropy", X, **kwargs),
        ref("adjacency_spectral_entropy", X, **kwargs),
    )


# ---------------------------------------------------------------------------
# mutual information
# ---------------------------------------------------------------------------


def assert_mi_parity(value, expected):
    assert isinstance(value, tuple) and len(value) == 2
    assert_parity(value[0], expected[0])
    assert value[1].shape == expected[1].shape
    np.testing.assert_array_equal(value[1], expected[1])


@pytest.mark.parametrize("sigma,t", [(1, 1), (10, 2), (50, 5)])
def test_dsmi_discrete_labels(ref, mine, data, sigma, t):
    X = data["blobs"]
    y = data["blob_labels"]
    kwargs = dict(gaussian_kernel_sigma=sigma, t=t, num_repetitions=3)
    expected = ref("diffusion_spectral_mutual_information", X, y, **kwargs)
    assert expected[1].shape == (300, 1)
    assert_mi_parity(mine("diffusion_spectral_mutual_information", X, y, **kwargs), expected)


@pytest.mark.parametrize("seed", [0, 5])
@pytest.mark.parametrize("reps", [1, 4])
def test_dsmi_seeds_and_repetitions(ref, mine, data, seed, reps):
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
def test_dsmi_continuous_scalar_reference(ref, mine, data, n_clusters):
    X = data["manifold"]
    z = data["manifold"][:, 1]  # float, 1-D: min-max binned
    kwargs = dict(gaussian_kernel_sigma=5.0, n_clusters=n_clusters, num_repetitions=2)
    expected = ref("diffusion_spectral_mutual_information", X, z, **kwargs)
    assert expected[1].shape == (X.shape[0], 1)
    assert_mi_parity(mine("diffusion_spectral_mutual_information", X, z, **kwargs), expected)


def test_dsmi_constant_scalar_reference(ref, mine, data):
    # 0 / 0 in the min-max scaling puts every point in one bin; no warning here
    X = data["blobs"][:100]
    z = np.full(100, 2.5)
    kwargs = dict(gaussian_kernel_sigma=5.0, num_repetitions=2)
    assert_mi_parity(
        mine("diffusion_spectral_mutual_information", X, z, **kwargs),
        ref("diffusion_spectral_mutual_information", X, z, **kwargs),
    )


def test_dsmi_integer_reference_declared_continuous(ref, mine, data):
    X = data["blobs"]
    y = data["blob_labels"]
    kwargs = dict(reference_discrete=False, n_clusters=2, num_repetitions=2)
    assert_mi_parity(
        mine("diffusion_spectral_mutual_information", X, y, **kwargs),
        ref("diffusion_spectral_mutual_information", X, y, **kwargs),
    )


def test_dsmi_float_labels_declared_discrete(ref, mine, data):
    X = data["blobs"]
    y = data["blob_labels"].astype(float) / 2
    kwargs = dict(reference_discrete=True, num_repetitions=2, gaussian_kernel_sigma=4.0)
    assert_mi_parity(
        mine("diffusion_spectral_mutual_information", X, y, **kwargs),
        ref("diffusion_spectral_mutual_information", X, y, **kwargs),
    )


def test_dsmi_multidimensional_reference_spectral_clustering(ref, mine, data):
    X = data["manifold"]
    Z = data["manifold"][:, :3]
    kwargs = dict(gaussian_kernel_sigma=5.0, n_clusters=3, num_repetitions=2)
    expected = ref("diffusion_spectral_mutual_information", X, Z, **kwargs)
    assert expected[1].shape == (X.shape[0],)
    assert_mi_parity(mine("diffusion_spectral_mutual_information", X, Z, **kwargs), expected)


@pytest.mark.parametrize("shape", [(300,), (300, 1)])
def test_dsmi_precomputed_clusters(ref, mine, data, shape):
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
def test_dsmi_variants(ref, mine, data, kwargs):
    X = data["integer"]
    y = (data["integer"][:, 0] % 3).reshape(-1, 1)
    kwargs = dict(kwargs, num_repetitions=2)
    assert_mi_parity(
        mine("diffusion_spectral_mutual_information", X, y, **kwargs),
        ref("diffusion_spectral_mutual_information", X, y, **kwargs),
    )


def test_dsmi_chebyshev_with_seeded_numpy(ref, mine, data):
    X = data["blobs"][:150]
    y = data["blob_labels"][:150]
    kwargs = dict(chebyshev_approx=True, num_repetitions=2, gaussian_kernel_sigma=3.0)
    np.random.seed(1)  # noqa: NPY002 - the reference's global generator
    expected = ref("diffusion_spectral_mutual_information", X, y, **kwargs)
    np.random.seed(1)  # noqa: NPY002
    assert_mi_parity(mine("diffusion_spectral_mutual_information", X, y, **kwargs), expected)


def test_dsmi_inner_reseed_above_10000_points(ref, mine):
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
def test_asmi_discrete_labels(ref, mine, data, kwargs):
    X = data["blobs"]
    y = data["blob_labels"]
    kwargs = dict(kwargs, num_repetitions=2)
    assert_mi_parity(
        mine("adjacency_spectral_mutual_information", X, y, **kwargs),
        ref("adjacency_spectral_mutual_information", X, y, **kwargs),
    )


def test_asmi_continuous_and_clustered_references(ref, mine, data):
    X = data["manifold"]
    for Z, extra in ((data["manifold"][:, 1], {}), (data["manifold"][:, :3], {"use_knn": True})):
        kwargs = dict(extra, n_clusters=3, num_repetitions=2, random_seed=2)
        assert_mi_parity(
            mine("adjacency_spectral_mutual_information", X, Z, **kwargs),
            ref("adjacency_spectral_mutual_information", X, Z, **kwargs),
        )


def test_asmi_precomputed_clusters(ref, mine, data):
    X = data["uniform256"][:200]
    Z = X[:, :5]
    clusters = np.arange(200) % 4
    kwargs = dict(precomputed_clusters=clusters, num_repetitions=2, gaussian_kernel_sigma=1.0)
    assert_mi_parity(
        mine("adjacency_spectral_mutual_information", X, Z, **kwargs),
        ref("adjacency_spectral_mutual_information", X, Z, **kwargs),
    )


def test_verbose_prints(mine, data, capsys):
    mine("diffusion_spectral_entropy", data["blobs"][:50], verbose=True)
    assert "Diffusion Spectral Entropy" in capsys.readouterr().out


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
