"""Sparse spectral measure (deflation + SLQ) against dense eigvalsh and closed-form spectra."""

from __future__ import annotations

import numba
import numpy as np
import pytest
import scipy.sparse

from fastdse.entropy import dse_from_eigenvalues, dse_from_measure
from fastdse.spectral import lanczos, quadrature
from fastdse.spectral.lanczos import quadrature_bias, slq_measure

# fixtures one_thread and blob_operator: tests/spectral/conftest.py
pytestmark = pytest.mark.usefixtures("one_thread")

TS = np.array([1.0, 2.0, 5.0, 10.0, 50.0])


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


def test_alpha_decay_blobs_all_t(blob_operator):
    A, lam, u = blob_operator
    exact = dse_from_eigenvalues(lam, TS)
    mu = slq_measure(A, known_vectors=u, random_state=3, n_jobs=1)
    value, stderr = dse_from_measure(mu, TS)
    assert np.all(np.abs(value - exact) <= _tolerance(exact))
    assert np.all(np.abs(value - exact) <= 3 * stderr + 0.01)


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


def test_weights_and_probe_bookkeeping(blob_operator):
    A, _, u = blob_operator
    mu = slq_measure(A, n_probes=7, n_steps=12, n_deflate=5, known_vectors=u,
                     random_state=0, n_jobs=1)
    assert mu.n == A.shape[0] and mu.n_probes == 7
    # Ritz values lie in [-1, 1] up to rounding (which varies with the BLAS kernels)
    assert np.all(mu.weights >= 0) and np.all(np.abs(mu.nodes) <= 1.0 + 1e-12)
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


def test_half_step_measure(blob_operator):
    A, lam, u = blob_operator
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


def test_determinism(blob_operator):
    A, _, u = blob_operator
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

    monkeypatch.setattr(quadrature, "lanczos_block", boom)
    with pytest.raises(FloatingPointError, match="injected"):
        slq_measure(A, n_deflate=0, random_state=0, n_jobs=1)
    assert numba.get_num_threads() == before


def test_generator_is_accepted_and_advanced(blob_operator):
    A, _, _ = blob_operator
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


def test_automatic_plan_solves_densely_up_to_its_threshold():
    # the closed-form spectrum of the cycle is the reference
    A, lam = _cycle(lanczos.AUTO_DENSE_MAX_N)
    mu, half = slq_measure(A, random_state=0, n_jobs=1, return_half=True)
    assert mu.method == "exact" and mu.is_exact and half is mu
    np.testing.assert_allclose(mu.nodes, np.sort(lam), atol=1e-12)
    assert "AUTO_DENSE_MAX_N" in mu.info["fallback"]
    assert mu.info["timings"]["eigensolver"] > 0 and "eigensolver" in mu.info["peak_rss"]


@pytest.mark.parametrize("settings", [{"n_probes": 20}, {"n_deflate": 0}, {"n_deflate": 4}])
def test_explicit_settings_ask_for_the_stochastic_estimate(settings):
    A, _ = _cycle(lanczos.DENSE_MAX_N + 1)
    mu = slq_measure(A, random_state=0, n_jobs=1, **settings)
    assert mu.method.startswith("slq") and mu.n_probes >= 2


def test_automatic_plan_is_stochastic_above_its_threshold():
    A, lam = _cycle(lanczos.AUTO_DENSE_MAX_N + 1)
    mu = slq_measure(A, random_state=0, n_jobs=1)
    assert mu.method.startswith("slq") and "fallback" not in mu.info
    ts = np.array([1.0, 5.0])
    value, se = dse_from_measure(mu, ts)
    exact = dse_from_eigenvalues(lam, ts)
    np.testing.assert_array_less(np.abs(value - exact), 3 * se + 0.01)


def test_dense_fallback_when_deflating_almost_everything():
    A, lam = _cycle(300)
    mu, half = slq_measure(A, n_deflate=260, n_steps=60, random_state=0,
                            return_half=True, n_jobs=1)
    assert mu.method == "exact" and half is mu
    np.testing.assert_allclose(mu.nodes, np.sort(lam), atol=1e-12)


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
