"""The modes through the public API.

Exact: against closed forms, graphtools and dse-dsmi. Approx: against the exact path on
the same kernel. Landmark: the mode's builder and its cap.
"""

import random
import warnings

import numpy as np
import pytest
import scipy.linalg

import fastdse
from fastdse import DiffusionGraph, modes
from fastdse import settings as settings_module
from fastdse._util import memory as _memory
from fastdse.operator.build import build_sparse_operator
from fastdse.operator.kernel import dense_affinity
from fastdse.operator.normalize import normalize_dense_inplace
from fastdse.spectral import lanczos
from fastdse.spectral.landmark import landmark_measure
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
    g = DiffusionGraph(X, mode="exact", kernel="gaussian", sigma=sigma, thresh=0)
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
    # the reference keeps every pair: thresh=0
    ours = fastdse.dse(X, t=t, mode="exact", kernel="gaussian", sigma=sigma, thresh=0).value
    ref = reference_dse(dse_dsmi, X, gaussian_kernel_sigma=sigma, t=t)
    # the reference adds float eps to every probability: at most n * 64 eps of difference
    assert ours == pytest.approx(ref, rel=1e-9, abs=300 * 64 * np.finfo(float).eps)


def test_reference_default_sigma_and_uniform_256(dse_dsmi, rng):
    X = rng.uniform(size=(400, 256))
    ours = fastdse.dse(X, t=1, mode="exact", kernel="gaussian", thresh=0).value
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


# --- mode="approx" against the exact path -------------------------------------------


TS = [1, 2, 5, 10, 50]


def tolerance(exact):
    # the project's accuracy target: max(0.5 % of the exact value, 0.02 bits)
    return np.maximum(0.005 * np.abs(exact), 0.02)


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(3)
    return np.vstack([
        rng.normal(size=(700, 8)),
        rng.normal(size=(400, 8)) * 0.4 + 3.0,
        rng.normal(size=(200, 8)) * 2.0 - 4.0,
    ])


@pytest.fixture(scope="module")
def exact_blobs(blobs):
    return fastdse.dse(blobs, TS, mode="exact")


@pytest.fixture(scope="module")
def approx_blobs(blobs):
    # 1,300 points: the stochastic estimate, not the automatic plan's dense solve (the
    # threshold is set back when the fixture returns)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(lanczos, "AUTO_DENSE_MAX_N", lanczos.DENSE_MAX_N)
        return fastdse.dse(blobs, TS, mode="approx", neighbors="exact", random_state=0)


def test_approx_matches_exact(exact_blobs, approx_blobs):
    err = np.abs(approx_blobs.value - exact_blobs.value)
    assert np.all(err <= tolerance(exact_blobs.value)), err
    assert approx_blobs.mode == "approx" and approx_blobs.eigenvalues is None


def test_stderr_and_bias_reported(exact_blobs, approx_blobs):
    se = approx_blobs.stderr
    assert se.shape == (5,) and np.all(se >= 0) and se[0] > 0
    assert approx_blobs.info["quadrature_bias"].shape == (5,)
    err = np.abs(approx_blobs.value - exact_blobs.value)
    # the reported error bar covers the actual error (the project's criterion)
    assert np.mean(err <= 3 * se + 0.01) >= 0.8


def test_same_seed_same_number(blobs, approx_blobs, stochastic_plan):
    again = fastdse.dse(blobs, TS, mode="approx", neighbors="exact", random_state=0)
    np.testing.assert_array_equal(again.value, approx_blobs.value)
    other = fastdse.dse(blobs, TS, mode="approx", neighbors="exact", random_state=1)
    assert not np.array_equal(other.value, approx_blobs.value)


def test_small_approx_is_the_exact_spectrum_of_its_sparse_operator(rng):
    # up to AUTO_DENSE_MAX_N points the automatic plan solves the sparse operator densely
    X = rng.normal(size=(800, 4))
    res = fastdse.dse(X, [1, 5], mode="approx", neighbors="exact", random_state=0)
    A, _, _, _ = build_sparse_operator(X, neighbors="exact")
    lam = scipy.linalg.eigvalsh(A.toarray())
    expected = [entropy_bits(lam, t) for t in (1, 5)]
    np.testing.assert_allclose(res.value, expected, rtol=1e-10)
    np.testing.assert_array_equal(res.stderr, 0.0)
    assert res.info["method"] == "exact" and "AUTO_DENSE_MAX_N" in res.info["fallback"]


def test_generator_seed_is_accepted(blobs):
    a = fastdse.dse(blobs, 1, mode="approx", random_state=np.random.default_rng(5))
    b = fastdse.dse(blobs, 1, mode="approx", random_state=np.random.default_rng(5))
    assert a.value == b.value


def test_narrow_gaussian(rng):
    X = rng.normal(size=(1200, 3))
    exact = fastdse.dse(X, [1, 5], mode="exact", kernel="gaussian", sigma=0.3, thresh=1e-4)
    approx = fastdse.dse(X, [1, 5], mode="approx", kernel="gaussian", sigma=0.3,
                         thresh=1e-4, random_state=0)
    assert np.all(np.abs(approx.value - exact.value) <= tolerance(exact.value))


def test_wide_gaussian_gives_the_exact_answer_or_warns(rng, monkeypatch):
    # more points than the widest neighbourhood the sparse kernel searches: the rows are
    # listed in full while they fit the memory budget, so approx estimates the exact kernel
    n = fastdse.operator.kernel.MAX_NEIGHBORS + 500
    X = rng.uniform(size=(n, 4))
    kw = dict(kernel="gaussian", sigma=10.0, thresh=1e-4)
    exact = fastdse.dse(X, [1, 5], mode="exact", **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("error", fastdse.TruncationWarning)
        approx = fastdse.dse(X, [1, 5], mode="approx", random_state=0, **kw)
    assert np.all(np.abs(approx.value - exact.value) <= 3 * approx.stderr + 1e-9)
    # beyond the budget the rows stay cut, and the loss is reported
    monkeypatch.setattr(fastdse.operator.sparse_kernel, "MAX_LIST_ENTRIES", n * 200)
    with pytest.warns(fastdse.operator.kernel.TruncationWarning, match="mass"):
        fastdse.dse(X, 1, mode="approx", random_state=0, **kw)


def test_graph_reuse_and_eigenvalues_refused(blobs):
    g = DiffusionGraph(blobs, mode="approx", random_state=0)
    first = g.dse(1)
    assert g.dse([1, 2]).value[0] == pytest.approx(first.value, rel=1e-13)
    assert g.operator_.shape == (len(blobs), len(blobs))
    with pytest.raises(ValueError, match="eigenvalues\\(\\) needs mode='exact'"):
        g.eigenvalues()


def test_auto_switches_to_approx_above_threshold(monkeypatch, blobs):
    monkeypatch.setattr(settings_module, "AUTO_EXACT_MAX_N", 1000)
    assert fastdse.dse(blobs, 1, random_state=0).mode == "approx"
    assert fastdse.dse(blobs[:900], 1).mode == "exact"


@pytest.mark.parametrize(
    "kw,exc,match",
    [
        ({"n_probes": 1}, ValueError, "n_probes must be >= 2; got 1"),
        ({"n_probes": "many"}, ValueError,
         "n_probes must be 'auto' or an integer >= 2; got 'many'"),
        ({"n_steps": 1}, ValueError, "n_steps must be >= 2; got 1"),
        ({"n_deflate": -1}, ValueError, "n_deflate must be >= 0"),
        ({"n_deflate": "many"}, ValueError, "n_deflate must be one of 'auto'"),
        ({"neighbors": "annoy"}, ValueError, "neighbors must be one of 'auto', 'exact'"),
        ({"n_jobs": 0}, ValueError,
         r"n_jobs must be None \(all cores\), a positive integer, or a negative one"),
    ],
)
def test_bad_approx_parameters(rng, kw, exc, match):
    with pytest.raises(exc, match=match):
        fastdse.dse(rng.normal(size=(50, 3)), mode="approx", **kw)


# --- mode="landmark" -----------------------------------------------------------------------------


def _build_landmark(X, **settings):
    """The mode's builder on a graph's validated input and settings, seeded alike."""
    g = DiffusionGraph(X, mode="landmark", neighbors="exact", random_state=0, **settings)
    return modes.build_landmark(g._input, g.settings, g.resolved,
                                modes.Seeds(np.random.default_rng(5))).measure


def test_builder_reads_the_graph(rng):
    X = rng.normal(size=(250, 3))
    mu = _build_landmark(X, n_landmarks=60)
    assert mu.method == "landmark" and mu.n == 250 and mu.info["n_landmarks"] == 60
    K = dense_affinity(X, "alpha_decay", knn=5, decay=40.0, thresh=1e-4)
    normalize_dense_inplace(K)
    lam = np.linalg.eigvalsh(K)
    lam2 = np.sort(lam**2)[::-1]
    r = mu.info["atoms"]
    assert np.all(np.sort(mu.nodes**2)[::-1] <= lam2[:r] + 1e-10)
    again = _build_landmark(X, n_landmarks=60)
    np.testing.assert_array_equal(mu.nodes, again.nodes)


def test_builder_caps_n_landmarks_and_says_so(rng):
    X = rng.normal(size=(120, 3))
    mu = _build_landmark(X)  # default 2000 > n
    assert mu.info["n_landmarks"] == 119 and mu.info["n_landmarks_requested"] == 2000
    assert "capped at n - 1 = 119" in mu.info["note"]


def test_builder_gaussian_default_thresh_uses_the_sparse_default(rng):
    X = rng.normal(size=(150, 3))
    g = DiffusionGraph(X, mode="exact", kernel="gaussian", sigma=1.0)
    assert g.resolved.thresh == 1e-4  # one default in every mode
    mu = _build_landmark(X, n_landmarks=20, kernel="gaussian", sigma=1.0)
    assert mu.info["operator"]["thresh"] == 1e-4
    assert mu.info["atoms"] <= 20


def test_landmark_mode_is_registered(rng):
    X = rng.normal(size=(150, 3))
    res = DiffusionGraph(X, mode="landmark", random_state=0).dse([1, 10])
    assert res.mode == "landmark" and res.info["method"] == "landmark"
    assert res.eigenvalues is None
    assert np.all(res.value <= np.log2(150))


def test_landmark_stages_are_seeded_like_every_mode(rng):
    X = rng.normal(size=(300, 3))
    g = DiffusionGraph(X, mode="landmark", neighbors="exact", n_landmarks=40, random_state=8)
    again = DiffusionGraph(X, mode="landmark", neighbors="exact", n_landmarks=40,
                           random_state=8)
    np.testing.assert_array_equal(g.spectral_measure().nodes, again.spectral_measure().nodes)
    # the landmarks are drawn from the graph's "landmarks" stage seed, as in modes.Seeds
    seeds = modes.Seeds(np.random.default_rng(8))
    A, d, V, _ = build_sparse_operator(X, neighbors="exact")
    expected = landmark_measure(A, d, n_landmarks=40, known_vectors=V,
                                random_state=np.random.default_rng(seeds("landmarks")))
    np.testing.assert_array_equal(g.spectral_measure().nodes, expected.nodes)
