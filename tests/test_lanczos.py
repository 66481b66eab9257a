"""Sparse spectral measure (deflation + SLQ) against dense eigvalsh and closed-form spectra."""

from __future__ import annotations

import numba
import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg
import threadpoolctl

from fastdse.entropy import dse_from_eigenvalues, dse_from_measure
from fastdse.operator.kernel import dense_affinity
from fastdse.operator.normalize import normalize_dense_inplace
from fastdse.spectral import lanczos
from fastdse.spectral.lanczos import quadrature_bias, slq_measure
from fastdse.spectral.measure import SpectralMeasure

TS = np.array([1.0, 2.0, 5.0, 10.0, 50.0])


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Build reference operators on one thread (the test machine is shared)."""
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
            yield
    finally:
        numba.set_num_threads(before)


@pytest.fixture
def rng():
    return np.random.default_rng(20240611)


def _tolerance(exact):
    """The project's accuracy goal: max(0.5 % of exact, 0.02 bits)."""
    return np.maximum(0.005 * np.abs(exact), 0.02)


def _cycle(n):
    """Normalised cycle graph: eigenvalues cos(2 pi k / n)."""
    ring = scipy.sparse.diags([np.ones(n - 1), np.ones(n - 1)], [-1, 1], format="lil")
    ring[0, n - 1] = ring[n - 1, 0] = 1.0
    return (ring.tocsr() * 0.5), np.cos(2.0 * np.pi * np.arange(n) / n)


def _path(n):
    """Normalised path graph D^-1/2 K D^-1/2: eigenvalues cos(pi k / (n - 1))."""
    K = scipy.sparse.diags([np.ones(n - 1), np.ones(n - 1)], [-1, 1], format="csr")
    d = np.asarray(K.sum(axis=1)).ravel()
    s = scipy.sparse.diags(1.0 / np.sqrt(d))
    return (s @ K @ s).tocsr(), np.cos(np.pi * np.arange(n) / (n - 1))


def _blobs_operator(rng, n=900, centers=3, dim=6, spread=6.0):
    X = np.concatenate(
        [rng.normal(size=(n // centers, dim)) + spread * rng.normal(size=dim)
         for _ in range(centers)]
    )
    K = dense_affinity(X, "alpha_decay", knn=5, decay=40, thresh=1e-4)
    deg = normalize_dense_inplace(K, 0.0)
    lam = np.linalg.eigvalsh(K)
    u = np.sqrt(deg)
    return scipy.sparse.csr_matrix(K), lam, (u / np.linalg.norm(u))[:, None]


@pytest.fixture(scope="module")
def blobs():
    return _blobs_operator(np.random.default_rng(7))


# --------------------------------------------------------------------------- accuracy


@pytest.mark.parametrize("make", [_cycle, _path], ids=["cycle", "path"])
def test_closed_form_spectra(make):
    A, lam = make(1000)
    u = np.full((A.shape[0], 1), 1.0 / np.sqrt(A.shape[0]))
    if make is _path:
        d = np.r_[1.0, np.full(A.shape[0] - 2, 2.0), 1.0]
        u = (np.sqrt(d) / np.linalg.norm(np.sqrt(d)))[:, None]
    ts = TS[:4]
    exact = dse_from_eigenvalues(lam, ts)
    mu = slq_measure(A, n_deflate=20, known_vectors=u, random_state=0, n_jobs=1)
    value, stderr = dse_from_measure(mu, ts)
    assert np.all(np.abs(value - exact) <= _tolerance(exact))
    # the deflated eigenvalues are the closed-form ones of largest |lambda|, -1 included
    det = np.sort(np.abs(mu.nodes[mu.deterministic]))[::-1]
    top = np.sort(np.abs(lam))[::-1][: det.size]
    np.testing.assert_allclose(det, top, atol=1e-8)
    assert np.any(mu.nodes[mu.deterministic] < -0.999)  # -1 is found (bipartite graphs)


def test_random_sparse_operator(rng):
    n = 800
    B = scipy.sparse.random(n, n, density=8.0 / n, random_state=rng, format="csr")
    B = B + B.T + scipy.sparse.eye(n)
    dense = B.toarray()
    lam = np.linalg.eigvalsh(dense)
    scale = np.abs(lam).max()
    A = (B / scale).tocsr()
    lam = lam / scale
    # one dominant eigenvalue (1) over a bulk in [-0.6, 0.6]
    mu = slq_measure(A, n_probes=30, n_steps=40, n_deflate=1, random_state=1, n_jobs=1)
    assert mu.method == "slq+deflation"
    assert mu.nodes[mu.deterministic][0] == pytest.approx(1.0)
    # polynomial traces of degree <= 2 n_steps - 1 are exact per probe: only probe noise
    for power in (2, 4):
        fixed, per_probe = mu.per_probe_sums(mu.nodes**power)
        est = fixed + per_probe.mean()
        se = per_probe.std(ddof=1) / np.sqrt(mu.n_probes)
        assert abs(est - np.sum(lam**power)) <= 4 * se + 1e-9
    exact = dse_from_eigenvalues(lam, TS)
    value, stderr = dse_from_measure(mu, TS)
    assert np.all(np.abs(value - exact) <= 3 * stderr + 0.01)
    assert np.all(np.abs(value - exact)[:3] <= _tolerance(exact)[:3])


def test_alpha_decay_blobs_all_t(blobs):
    A, lam, u = blobs
    exact = dse_from_eigenvalues(lam, TS)
    mu = slq_measure(A, known_vectors=u, random_state=3, n_jobs=1)
    value, stderr = dse_from_measure(mu, TS)
    assert np.all(np.abs(value - exact) <= _tolerance(exact))
    assert np.all(np.abs(value - exact) <= 3 * stderr + 0.01)


def test_deflation_improves_large_t(blobs):
    A, lam, u = blobs
    exact = dse_from_eigenvalues(lam, np.array([50.0]))[0]
    errs = {}
    for k in (0, 60):
        mu = slq_measure(A, n_deflate=k, known_vectors=u, random_state=5, n_jobs=1)
        errs[k] = abs(dse_from_measure(mu, np.array([50.0]))[0][0] - exact)
    assert errs[60] < errs[0]
    assert errs[60] < 1e-3


def test_auto_deflation_follows_t_hint(blobs):
    A, lam, u = blobs
    small = slq_measure(A, known_vectors=u, t_hint=1, random_state=0, n_jobs=1)
    large = slq_measure(A, known_vectors=u, t_hint=[1, 50], random_state=0, n_jobs=1)
    assert small.info["n_deflate"] < large.info["n_deflate"]
    assert large.method == "slq+deflation"
    assert large.info["auto"]["t_max"] == 50.0


def test_auto_adds_probes_until_the_measured_stderr_meets_the_target(blobs):
    A, lam, u = blobs
    ts = np.array([1.0, 5.0])
    exact = dse_from_eigenvalues(lam, ts)
    added = []
    for seed in range(3):
        mu = slq_measure(A, n_probes=4, known_vectors=u, t_hint=ts, random_state=seed,
                         n_jobs=1)
        extra = mu.info["probes_added"]
        assert mu.n_probes == mu.info["n_probes"] == 4 + extra
        assert extra <= (lanczos.AUTO_MAX_PROBE_FACTOR - 1) * 4
        assert set(np.unique(mu.probe[mu.probe >= 0])) == set(range(mu.n_probes))
        value, se = dse_from_measure(mu, ts)
        np.testing.assert_array_less(np.abs(value - exact), 3 * se + 0.01)
        # the rule, checked on the first 4 probes' own estimate (their nodes, reweighted)
        keep = mu.probe < 4
        w = np.where(mu.probe[keep] >= 0, mu.weights[keep] * mu.n_probes / 4, 1.0)
        first = SpectralMeasure(mu.nodes[keep], w, mu.probe[keep], mu.n, 4, mu.method)
        v4, se4 = dse_from_measure(first, ts)
        short = np.any(se4 > lanczos.AUTO_SE_FRACTION * np.maximum(0.005 * v4, 0.02))
        assert short == (extra > 0)
        added.append(extra)
    assert max(added) > 0  # 4 probes are too few here
    fixed = slq_measure(A, n_probes=4, n_deflate=10, known_vectors=u, t_hint=ts,
                        random_state=0, n_jobs=1)
    assert fixed.n_probes == 4 and "probes_added" not in fixed.info  # only in auto mode


# --------------------------------------------------------------------------- structure


def test_known_vectors_disconnected():
    n = 500
    A1, lam1 = _cycle(n)
    A2, lam2 = _path(n)
    A = scipy.sparse.block_diag([A1, A2], format="csr")
    lam = np.concatenate([lam1, lam2])
    d2 = np.r_[1.0, np.full(n - 2, 2.0), 1.0]
    U = np.zeros((2 * n, 2))
    U[:n, 0] = 1.0 / np.sqrt(n)
    U[n:, 1] = np.sqrt(d2) / np.linalg.norm(np.sqrt(d2))
    mu = slq_measure(A, n_deflate=0, known_vectors=U, n_probes=20, random_state=2, n_jobs=1)
    det = mu.deterministic
    np.testing.assert_array_equal(mu.nodes[det], [1.0, 1.0])
    np.testing.assert_array_equal(mu.weights[det], [1.0, 1.0])
    # stochastic part stands for the other 2n - 2 eigenvalues
    _, counts = mu.per_probe_sums(np.ones_like(mu.nodes))
    assert abs(counts.mean() - (2 * n - 2)) < 0.05 * (2 * n - 2)
    # the known eigenvalue-1 directions are projected out: no Ritz value near 1 survives
    # except the genuine second eigenvalues of the blocks
    second = np.sort(lam)[-3]
    assert np.all(mu.nodes[~det] <= second + 1e-8)
    exact = dse_from_eigenvalues(lam, TS[:3])
    value, _ = dse_from_measure(mu, TS[:3])
    assert np.all(np.abs(value - exact) <= _tolerance(exact))


def test_deflation_after_known_vectors_finds_next_eigenvalues(blobs):
    A, lam, u = blobs
    mu = slq_measure(A, n_deflate=8, known_vectors=u, random_state=0, n_jobs=1)
    det = np.sort(np.abs(mu.nodes[mu.deterministic]))[::-1]
    assert det.size == 9 and det[0] == 1.0
    expected = np.sort(np.abs(lam))[::-1][:9]
    np.testing.assert_allclose(det, expected, atol=1e-8)
    lo, hi = mu.info["deflated_range"]
    assert lo == pytest.approx(expected[-1]) and hi <= 1.0


def test_weights_and_probe_bookkeeping(blobs):
    A, _, u = blobs
    mu = slq_measure(A, n_probes=7, n_steps=12, n_deflate=5, known_vectors=u,
                     random_state=0, n_jobs=1)
    assert mu.n == A.shape[0] and mu.n_probes == 7
    assert np.all(mu.weights >= 0) and np.all(np.abs(mu.nodes) <= 1.0)
    assert set(np.unique(mu.probe[~mu.deterministic])) == set(range(7))
    assert np.count_nonzero(mu.deterministic) == 6
    # each probe's weights sum to |v|^2 / p, about (n - 6) / p
    _, counts = mu.per_probe_sums(np.ones_like(mu.nodes))
    assert abs(counts.mean() - (A.shape[0] - 6)) < 0.1 * A.shape[0]
    info = mu.info
    for key in ("n_steps", "n_probes", "n_deflate", "deflated_range", "timings"):
        assert key in info
    assert set(info["timings"]) >= {"deflation", "lanczos", "quadrature"}


def test_breakdown_few_distinct_eigenvalues():
    values = np.array([-0.5, 0.25, 0.9])
    diag = np.repeat(values, [100, 150, 150])
    A = scipy.sparse.diags(diag, format="csr")
    mu = slq_measure(A, n_deflate=0, n_steps=20, random_state=0, n_jobs=1)
    assert mu.info["breakdowns"] == mu.n_probes
    # each probe stops after 3 steps: its nodes are exactly the 3 distinct eigenvalues
    np.testing.assert_allclose(np.unique(np.round(mu.nodes, 10)), values, atol=1e-10)
    assert mu.nodes.size == 3 * mu.n_probes
    exact = dse_from_eigenvalues(diag, TS)
    value, _ = dse_from_measure(mu, TS)
    assert np.all(np.abs(value - exact) <= _tolerance(exact))


def test_half_step_measure(blobs):
    A, lam, u = blobs
    full, half = slq_measure(A, n_steps=40, n_deflate=10, known_vectors=u,
                             random_state=4, n_jobs=1, return_half=True)
    assert full.info["n_steps"] == 40 and half.info["n_steps"] == 20
    np.testing.assert_array_equal(full.nodes[full.deterministic], half.nodes[half.deterministic])
    # same probes: per-probe total weight |v|^2 / p does not depend on the step count
    ones_f = full.per_probe_sums(np.ones_like(full.nodes))[1]
    ones_h = half.per_probe_sums(np.ones_like(half.nodes))[1]
    np.testing.assert_allclose(ones_f, ones_h, rtol=1e-10)
    bias = quadrature_bias(full, half, TS)
    assert bias.shape == TS.shape and np.all(bias >= 0)
    assert np.all(bias < 0.05)


# --------------------------------------------------------------------------- randomness


def test_determinism(blobs):
    A, _, u = blobs
    a = slq_measure(A, n_deflate=5, known_vectors=u, random_state=11, n_jobs=1)
    b = slq_measure(A, n_deflate=5, known_vectors=u, random_state=11, n_jobs=1)
    c = slq_measure(A, n_deflate=5, known_vectors=u, random_state=12, n_jobs=1)
    np.testing.assert_array_equal(a.nodes, b.nodes)
    np.testing.assert_array_equal(a.weights, b.weights)
    np.testing.assert_array_equal(a.probe, b.probe)
    assert a.nodes.shape != c.nodes.shape or not np.array_equal(a.weights, c.weights)


def test_thread_count_does_not_change_result_and_is_restored():
    A, _ = _path(400)
    before = numba.get_num_threads()
    kw = {"n_deflate": 0, "n_probes": 4, "n_steps": 10, "random_state": 3}
    one = slq_measure(A, n_jobs=1, **kw)
    assert numba.get_num_threads() == before
    every = slq_measure(A, n_jobs=None, **kw)
    assert numba.get_num_threads() == before
    np.testing.assert_allclose(one.nodes, every.nodes, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(one.weights, every.weights, rtol=1e-10, atol=1e-14)


def test_thread_count_restored_after_an_exception(monkeypatch):
    A, _ = _path(400)
    before = numba.get_num_threads()

    def boom(*args, **kwargs):
        raise FloatingPointError("injected")

    monkeypatch.setattr(lanczos, "_lanczos_block", boom)
    with pytest.raises(FloatingPointError, match="injected"):
        slq_measure(A, n_deflate=0, random_state=0, n_jobs=1)
    assert numba.get_num_threads() == before


def test_generator_is_accepted_and_advanced(blobs):
    A, _, _ = blobs
    gen = np.random.default_rng(0)
    a = slq_measure(A, n_deflate=0, random_state=gen, n_jobs=1)
    b = slq_measure(A, n_deflate=0, random_state=gen, n_jobs=1)
    assert not np.array_equal(a.weights, b.weights)


@pytest.mark.parametrize("probe", ["rademacher", "gaussian"])
def test_stderr_roughly_calibrated(probe):
    A, lam = _path(600)
    ts = np.array([1.0, 2.0, 5.0])
    exact = dse_from_eigenvalues(lam, ts)
    covered, total = 0, 0
    for seed in range(12):
        mu = slq_measure(A, n_probes=8, n_steps=40, n_deflate=0, probe=probe,
                         random_state=seed, n_jobs=1)
        value, stderr = dse_from_measure(mu, ts)
        assert np.all(stderr > 0)
        covered += int(np.sum(np.abs(value - exact) <= 3 * stderr + 0.01))
        total += ts.size
    assert covered / total >= 0.8


# --------------------------------------------------------------------------- small problems


def test_dense_fallback_small_n():
    A, lam = _cycle(lanczos.DENSE_MAX_N)
    mu = slq_measure(A, random_state=0, n_jobs=1)
    assert mu.method == "exact" and mu.is_exact
    np.testing.assert_allclose(mu.nodes, np.sort(lam), atol=1e-12)
    assert "DENSE_MAX_N" in mu.info["fallback"]


def test_dense_fallback_when_deflating_almost_everything():
    A, lam = _cycle(300)
    mu, half = slq_measure(A, n_deflate=260, n_steps=60, random_state=0,
                            return_half=True, n_jobs=1)
    assert mu.method == "exact" and half is mu
    np.testing.assert_allclose(mu.nodes, np.sort(lam), atol=1e-12)


# --------------------------------------------------------------------------- ARPACK failures


def test_arpack_non_convergence_is_handled(blobs, monkeypatch):
    A, lam, u = blobs
    real_eigsh = scipy.sparse.linalg.eigsh

    def failing_eigsh(op, k, **kwargs):
        vals, vecs = real_eigsh(op, k=k, **kwargs)
        keep = np.argsort(-np.abs(vals))[: k // 2]
        raise scipy.sparse.linalg.ArpackNoConvergence(
            "ARPACK error -1: No convergence", vals[keep], vecs[:, keep]
        )

    monkeypatch.setattr(scipy.sparse.linalg, "eigsh", failing_eigsh)
    with pytest.warns(RuntimeWarning, match=r"did not converge for all n_deflate=10 .*5 that"):
        mu = slq_measure(A, n_deflate=10, known_vectors=u, random_state=0, n_jobs=1)
    assert mu.info["n_deflate"] == 5 and mu.info["arpack"]["attempts"] == 2
    exact = dse_from_eigenvalues(lam, TS[:3])
    value, _ = dse_from_measure(mu, TS[:3])
    assert np.all(np.abs(value - exact) <= _tolerance(exact))


def test_arpack_error_without_pairs_falls_back_to_plain_slq(blobs, monkeypatch):
    A, _, _ = blobs

    def broken_eigsh(op, k, **kwargs):
        raise scipy.sparse.linalg.ArpackError(-9999)

    monkeypatch.setattr(scipy.sparse.linalg, "eigsh", broken_eigsh)
    with pytest.warns(RuntimeWarning, match="deflating the 0 that converged"):
        mu = slq_measure(A, n_deflate=4, random_state=0, n_jobs=1)
    assert mu.method == "slq" and mu.info["n_deflate"] == 0


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"n_probes": 1}, ValueError, r"n_probes must be >= 2; got 1"),
        ({"n_steps": 1}, ValueError, r"n_steps must be >= 2; got 1"),
        ({"n_deflate": -1}, ValueError, r"n_deflate must be >= 0; got -1"),
        ({"n_deflate": 300}, ValueError, r"n_deflate must be <= 299 .*got 300"),
        ({"n_deflate": "many"}, ValueError, r"n_deflate must be 'auto' or an integer.*'many'"),
        ({"probe": "sobol"}, ValueError,
         r"probe must be one of 'rademacher', 'gaussian'.*'sobol'"),
        ({"n_jobs": 0}, ValueError,
         r"n_jobs must be None \(all cores\), a positive integer, or a negative one .*; got 0"),
        ({"tol": 0.0}, ValueError, r"tol must be a real number in \(0, 1\); got 0.0"),
        ({"t_hint": [1, -2]}, ValueError, r"t_hint must be None or positive"),
        ({"n_probes": 2.5}, TypeError, r"n_probes must be an integer; got 2.5"),
        ({"known_vectors": np.ones((5, 1))}, ValueError, r"known_vectors must have shape"),
        ({"known_vectors": np.ones((300, 1))}, ValueError, r"orthonormal columns"),
    ],
)
def test_bad_parameters(kwargs, exc, match):
    A, _ = _cycle(300)
    with pytest.raises(exc, match=match):
        slq_measure(A, **kwargs)


def test_bad_operator():
    with pytest.raises(TypeError, match="A must be a scipy.sparse matrix"):
        slq_measure(np.eye(300))
    with pytest.raises(ValueError, match=r"A must be a square n x n matrix; got shape \(3, 4\)"):
        slq_measure(scipy.sparse.csr_matrix((3, 4)))
    with pytest.raises(ValueError, match=r"A must be symmetric .*max \|A - A\^T\| = 0.5"):
        slq_measure(scipy.sparse.csr_matrix(np.triu(np.full((300, 300), 0.5))))


def test_operator_is_not_modified():
    A, _ = _cycle(400)
    A = A.tocsr()
    A.indices = A.indices.copy()
    before = (A.data.copy(), A.indices.copy(), A.indptr.copy())
    slq_measure(A, n_deflate=3, random_state=0, n_jobs=1)
    for a, b in zip(before, (A.data, A.indices, A.indptr)):
        np.testing.assert_array_equal(a, b)
