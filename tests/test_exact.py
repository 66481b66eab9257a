"""The exact path against closed forms, graphtools and dse-dsmi."""

import random
import warnings

import numpy as np
import pytest

import fastdse
from fastdse import DiffusionGraph
from fastdse._util import memory as _memory
from reference import circulant_eigenvalues, entropy_bits, regular_polygon


@pytest.fixture(scope="module")
def dse_dsmi():
    """The reference package, imported without letting it silence warnings globally."""
    with warnings.catch_warnings():
        import dse_dsmi
    return dse_dsmi


def reference_dse(dse_dsmi, X, **kw):
    state = random.getstate()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return dse_dsmi.diffusion_spectral_entropy(X, **kw)
    finally:
        random.setstate(state)


# --- closed-form spectra ---------------------------------------------------------------


@pytest.mark.parametrize("n", [7, 40, 101])
@pytest.mark.parametrize("sigma", [0.2, 0.7, 3.0])
def test_gaussian_polygon_matches_circulant_spectrum(n, sigma):
    X = regular_polygon(n)
    d = np.linalg.norm(X - X[0], axis=1)
    expected = circulant_eigenvalues(np.exp(-(d**2) / (2 * sigma**2)))
    g = DiffusionGraph(X, mode="exact", kernel="gaussian", sigma=sigma)
    np.testing.assert_allclose(g.eigenvalues(), expected, atol=1e-12)
    for t in (1, 2, 5):
        assert g.dse(t).value == pytest.approx(entropy_bits(expected, t), abs=1e-10)


@pytest.mark.parametrize("knn,decay", [(2, 2.0), (5, 10.0), (5, 40.0)])
def test_alpha_decay_polygon_matches_circulant_spectrum(knn, decay):
    n = 60
    X = regular_polygon(n)
    d = np.linalg.norm(X - X[0], axis=1)
    bandwidth = np.sort(d)[knn]  # the same for every vertex
    row = np.exp(-((d / bandwidth) ** decay))
    row[row < 1e-4] = 0.0
    expected = circulant_eigenvalues(row)
    g = DiffusionGraph(X, mode="exact", kernel="alpha_decay", knn=knn, decay=decay)
    np.testing.assert_allclose(g.eigenvalues(), expected, atol=1e-12)


def test_isolated_points_give_log2_n():
    # points far apart compared with sigma: K = I, every eigenvalue is 1
    X = np.arange(16, dtype=float)[:, None] * 100.0
    res = fastdse.dse(X, t=[1, 3], mode="exact", kernel="gaussian", sigma=1.0)
    np.testing.assert_allclose(res.value, np.log2(16), rtol=1e-12)


def test_constant_kernel_gives_zero():
    # sigma huge: K is all ones, P has eigenvalues {1, 0, ..., 0}
    X = np.random.default_rng(0).normal(size=(50, 3))
    res = fastdse.dse(X, t=1, mode="exact", kernel="gaussian", sigma=1e8)
    assert res.value == pytest.approx(0.0, abs=1e-6)


def test_two_far_copies_add_one_bit(rng):
    X = rng.normal(size=(80, 4))
    both = np.vstack([X, X + 1e4])
    for kernel in ("alpha_decay", "gaussian"):
        one = fastdse.dse(X, t=[1, 4], mode="exact", kernel=kernel, sigma=1.0)
        two = fastdse.dse(both, t=[1, 4], mode="exact", kernel=kernel, sigma=1.0)
        np.testing.assert_allclose(two.value, one.value + 1.0, atol=1e-9)


@pytest.mark.parametrize("k", [2, 3, 5])
def test_separated_blobs_give_log2_k_at_large_t(k, rng):
    centres = np.eye(k) * 1000.0
    X = np.repeat(centres, 40, axis=0) + rng.normal(size=(40 * k, k))
    res = fastdse.dse(X, t=1e4, mode="exact")
    assert res.value == pytest.approx(np.log2(k), abs=1e-6)


# --- cross-checks with independent implementations -------------------------------------


@pytest.mark.parametrize("sigma", [1.0, 10.0, 50.0])
@pytest.mark.parametrize("t", [1, 2, 5])
def test_gaussian_matches_dse_dsmi(dse_dsmi, sigma, t, rng):
    X = rng.uniform(size=(300, 32)) * 20
    ours = fastdse.dse(X, t=t, mode="exact", kernel="gaussian", sigma=sigma).value
    ref = reference_dse(dse_dsmi, X, gaussian_kernel_sigma=sigma, t=t)
    # the reference adds float eps to every probability: at most n * 64 eps of difference
    assert ours == pytest.approx(ref, rel=1e-9, abs=300 * 64 * np.finfo(float).eps)


def test_reference_default_sigma_and_uniform_256(dse_dsmi, rng):
    X = rng.uniform(size=(400, 256))
    ours = fastdse.dse(X, t=1, mode="exact", kernel="gaussian").value
    ref = reference_dse(dse_dsmi, X)
    assert ours == pytest.approx(ref, rel=1e-9)


@pytest.mark.parametrize("anisotropy", [0.0, 0.5, 1.0])
def test_alpha_decay_matches_graphtools(anisotropy, rng):
    graphtools = pytest.importorskip("graphtools")
    X = np.vstack([rng.normal(size=(120, 6)), rng.normal(size=(80, 6)) * 0.3 + 3])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        G = graphtools.Graph(
            X, knn=5, decay=40, thresh=1e-4, anisotropy=anisotropy, n_pca=None,
            graphtype="exact", random_state=0,
        )
        P = G.diff_op
        P = P.toarray() if hasattr(P, "toarray") else np.asarray(P)
    ref = np.sort(np.linalg.eigvals(P).real)
    ours = DiffusionGraph(X, mode="exact", knn=5, decay=40, anisotropy=anisotropy).eigenvalues()
    np.testing.assert_allclose(ours, ref, atol=1e-8)


# --- API behaviour -----------------------------------------------------------------------


def test_sequence_of_t_equals_separate_calls(rng):
    X = rng.normal(size=(150, 5))
    many = fastdse.dse(X, t=[1, 2.5, 10], mode="exact")
    for i, t in enumerate([1, 2.5, 10]):
        assert many.value[i] == pytest.approx(fastdse.dse(X, t=t, mode="exact").value, rel=1e-12)
    assert many.stderr.shape == (3,) and np.all(many.stderr == 0)
    assert many.eigenvalues.shape == (150,)


def test_result_object(rng):
    X = rng.normal(size=(60, 3))
    res = fastdse.dse(X, t=2, mode="exact")
    assert isinstance(res.value, float) and float(res) == res.value
    assert res.n == 60 and res.mode == "exact" and res.t == 2.0 and res.stderr == 0.0
    assert "bits" in repr(res)
    multi = fastdse.dse(X, t=[1, 2], mode="exact")
    with pytest.raises(TypeError, match="single t"):
        float(multi)


def test_nats(rng):
    X = rng.normal(size=(60, 3))
    bits = fastdse.dse(X, t=[1, 3], mode="exact").value
    nats = fastdse.dse(X, t=[1, 3], mode="exact", base=np.e).value
    np.testing.assert_allclose(nats, bits * np.log(2), rtol=1e-12)


def test_auto_is_exact_for_small_n(rng):
    X = rng.normal(size=(100, 3))
    assert fastdse.dse(X).mode == "exact"


def test_large_t_does_not_underflow(rng):
    X = rng.normal(size=(100, 3))
    res = fastdse.dse(X, t=[100, 1000, 1e6], mode="exact")
    assert np.all(np.isfinite(res.value)) and np.all(res.value >= 0)


def test_graph_reuses_its_spectrum(rng):
    g = DiffusionGraph(rng.normal(size=(80, 3)), mode="exact")
    m1 = g.spectral_measure()
    g.dse([1, 2])
    assert g.spectral_measure() is m1
    assert g.degrees_.shape == (80,)


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.int8, np.bool_])
def test_dtypes_give_finite_values(dtype, rng):
    X = (rng.normal(size=(60, 4)) * 5).astype(dtype)
    res = fastdse.dse(X, t=[1, 2], mode="exact")
    assert np.all(np.isfinite(res.value))


def test_duplicates_and_constant_data(rng):
    X = rng.normal(size=(30, 3))
    dup = np.vstack([X, X, X])  # every bandwidth of some rows is 0 at knn=2
    for data in (dup, np.ones((20, 4))):
        for kernel in ("alpha_decay", "gaussian"):
            res = fastdse.dse(data, t=[1, 5], mode="exact", kernel=kernel, knn=2)
            assert np.all(np.isfinite(res.value))
            assert np.all(res.value >= 0) and np.all(res.value <= np.log2(len(data)) + 1e-9)


def test_memory_guard(monkeypatch, rng):
    monkeypatch.setattr(_memory, "available_memory", lambda: 1 << 20)
    with pytest.raises(ValueError, match=r"n=500.*mode='approx'"):
        fastdse.dse(rng.normal(size=(500, 3)), mode="exact")
