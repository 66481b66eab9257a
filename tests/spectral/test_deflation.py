"""Deflation: ARPACK's top eigenpairs, the automatic n_deflate and the probes it adds."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg

from fastdse.entropy import dse_from_eigenvalues, dse_from_measure
from fastdse.spectral import deflation
from fastdse.spectral.lanczos import slq_measure
from fastdse.spectral.measure import SpectralMeasure
from fastdse.spectral.quadrature import CSROperator

# fixtures one_thread and blob_operator: tests/spectral/conftest.py
pytestmark = pytest.mark.usefixtures("one_thread")

TS = np.array([1.0, 2.0, 5.0, 10.0, 50.0])


def _tolerance(exact):
    """The project's accuracy goal: max(0.5 % of exact, 0.02 bits)."""
    return np.maximum(0.005 * np.abs(exact), 0.02)


# --------------------------------------------------------------------------- the cap


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (3, 0),  # n // 4
        (1000, 250),  # n // 4
        (25_000, 63),  # cost: floor(sqrt(1e8 / 25,000)) = floor(63.2)
        (10**8, 0),  # memory: 3 vectors of 0.8 GB exceed 1 GiB
    ],
)
def test_max_deflate_caps(n, expected):
    assert deflation.max_deflate(n) == expected


def test_max_deflate_memory_cap(monkeypatch):
    # room for 21 vectors of n = 1000 float64: 2k + 1 <= 21, so k = 10
    monkeypatch.setattr(deflation, "ARPACK_MEMORY", 21 * 8 * 1000)
    assert deflation.max_deflate(1000) == 10


# --------------------------------------------------------------------------- deflated eigenpairs


def test_deflate_finds_the_top_eigenpairs_of_a_path():
    # normalised path graph: eigenvalues cos(pi j / (n - 1)), symmetric about 0
    n = 400
    K = scipy.sparse.diags([np.ones(n - 1), np.ones(n - 1)], [-1, 1], format="csr")
    s = scipy.sparse.diags(1.0 / np.sqrt(np.asarray(K.sum(axis=1)).ravel()))
    A = (s @ K @ s).tocsr()
    lam = np.cos(np.pi * np.arange(n) / (n - 1))
    op = CSROperator(A)
    vals, vecs, info = deflation.deflate(op, None, 6, np.random.default_rng(0), 1e-10)
    assert info == {"requested": 6, "attempts": 1, "converged": 6}
    np.testing.assert_allclose(np.abs(vals), np.sort(np.abs(lam))[::-1][:6], atol=1e-10)
    assert np.all(np.diff(np.abs(vals)) <= 1e-12)  # descending |lambda|
    np.testing.assert_allclose(vecs.T @ vecs, np.eye(6), atol=1e-12)
    np.testing.assert_allclose(A @ vecs, vecs * vals, atol=1e-8)
    assert op.n_matvec > 0


def test_deflate_nothing():
    op = CSROperator(scipy.sparse.identity(50, format="csr"))
    vals, vecs, info = deflation.deflate(op, None, 0, np.random.default_rng(0), 1e-10)
    assert vals.shape == (0,) and vecs.shape == (50, 0)
    assert info == {"requested": 0, "converged": 0} and op.n_matvec == 0


def test_deflation_improves_large_t(blob_operator):
    A, lam, u = blob_operator
    exact = dse_from_eigenvalues(lam, np.array([50.0]))[0]
    errs = {}
    for k in (0, 60):
        mu = slq_measure(A, n_deflate=k, known_vectors=u, random_state=5, n_jobs=1)
        errs[k] = abs(dse_from_measure(mu, np.array([50.0]))[0][0] - exact)
    assert errs[60] < errs[0]
    assert errs[60] < 1e-3


def test_deflation_after_known_vectors_finds_next_eigenvalues(blob_operator):
    A, lam, u = blob_operator
    mu = slq_measure(A, n_deflate=8, known_vectors=u, random_state=0, n_jobs=1)
    det = np.sort(np.abs(mu.nodes[mu.deterministic]))[::-1]
    # the known vector's Rayleigh quotient: 1 to rounding (1 + 2e-15 with some BLAS kernels)
    assert det.size == 9 and abs(det[0] - 1.0) < 1e-12
    expected = np.sort(np.abs(lam))[::-1][:9]
    np.testing.assert_allclose(det, expected, atol=1e-8)
    lo, hi = mu.info["deflated_range"]
    assert lo == pytest.approx(expected[-1]) and hi <= 1.0 + 1e-12


# --------------------------------------------------------------------------- n_deflate="auto"


def test_auto_deflation_follows_t_hint(blob_operator, stochastic_plan):
    A, lam, u = blob_operator
    small = slq_measure(A, known_vectors=u, t_hint=1, random_state=0, n_jobs=1)
    large = slq_measure(A, known_vectors=u, t_hint=[1, 50], random_state=0, n_jobs=1)
    assert small.info["n_deflate"] < large.info["n_deflate"]
    assert large.method == "slq+deflation"
    assert large.info["auto"]["t_max"] == 50.0


def test_auto_adds_probes_until_the_measured_stderr_meets_the_target(blob_operator):
    A, lam, u = blob_operator
    ts = np.array([1.0, 5.0])
    exact = dse_from_eigenvalues(lam, ts)
    added = []
    for seed in range(3):
        mu = slq_measure(A, n_probes=4, known_vectors=u, t_hint=ts, random_state=seed,
                         n_jobs=1)
        extra = mu.info["probes_added"]
        assert mu.n_probes == mu.info["n_probes"] == 4 + extra
        assert extra <= (deflation.AUTO_MAX_PROBE_FACTOR - 1) * 4
        assert set(np.unique(mu.probe[mu.probe >= 0])) == set(range(mu.n_probes))
        value, se = dse_from_measure(mu, ts)
        np.testing.assert_array_less(np.abs(value - exact), 3 * se + 0.01)
        # the rule, checked on the first 4 probes' own estimate (their nodes, reweighted)
        keep = mu.probe < 4
        w = np.where(mu.probe[keep] >= 0, mu.weights[keep] * mu.n_probes / 4, 1.0)
        first = SpectralMeasure(mu.nodes[keep], w, mu.probe[keep], mu.n, 4, mu.method)
        v4, se4 = dse_from_measure(first, ts)
        short = np.any(se4 > deflation.AUTO_SE_FRACTION * np.maximum(0.005 * v4, 0.02))
        assert short == (extra > 0)
        added.append(extra)
    assert max(added) > 0  # 4 probes are too few here
    fixed = slq_measure(A, n_probes=4, n_deflate=10, known_vectors=u, t_hint=ts,
                        random_state=0, n_jobs=1)
    assert fixed.n_probes == 4 and "probes_added" not in fixed.info  # only in auto mode


def test_auto_probes_start_from_the_pilot_bound_and_keep_explicit_counts(blob_operator,
                                                                       stochastic_plan):
    A, lam, u = blob_operator
    mu = slq_measure(A, known_vectors=u, t_hint=TS, random_state=0, n_jobs=1)
    start = mu.n_probes - mu.info["probes_added"]
    assert deflation.AUTO_MIN_PROBES <= start <= 20 and start % 4 == 0
    assert start == min(20, max(8, 4 * mu.info["auto"]["probes_needed"]))
    explicit = slq_measure(A, n_probes=20, known_vectors=u, t_hint=TS, random_state=0,
                           n_jobs=1)
    assert explicit.n_probes - explicit.info["probes_added"] == 20
    fixed = slq_measure(A, n_deflate=3, known_vectors=u, random_state=0, n_jobs=1)
    assert fixed.n_probes == 20  # no pilot: the default count


def test_auto_probes_at_large_n_are_few_and_the_value_stays_within_the_bar():
    # the path graph's walk operator, symmetric form: eigenvalues cos(pi j / (n + 1))
    n = 40_000
    off = np.full(n - 1, 0.5)
    A = scipy.sparse.diags([off, off], [-1, 1], format="csr")
    lam = np.cos(np.pi * np.arange(1, n + 1) / (n + 1))
    ts = np.array([1.0, 2.0])
    exact = dse_from_eigenvalues(lam, ts)
    mu = slq_measure(A, t_hint=ts, random_state=0, n_jobs=1)
    assert deflation.AUTO_PROBE_HEADROOM * mu.info["auto"]["probes_needed"] <= 8
    assert mu.n_probes == deflation.AUTO_MIN_PROBES and mu.info["probes_added"] == 0
    value, se = dse_from_measure(mu, ts)
    np.testing.assert_array_less(np.abs(value - exact), _tolerance(exact))
    np.testing.assert_array_less(se, deflation.AUTO_SE_FRACTION * _tolerance(value))


def test_extra_probes_are_capped_by_the_scale():
    rng = np.random.default_rng(0)
    probe = np.repeat(np.arange(8), 30)
    # each probe sees a differently spread spectrum: the probes disagree a lot
    nodes = rng.uniform(-1, 1, size=8 * 30) * (0.05 + 0.95 * probe / 7)
    mu = SpectralMeasure(nodes, np.full(nodes.size, 1000.0 / 30), probe, 8000, 8, "slq")
    _, se = dse_from_measure(mu, np.array([1.0]))
    target = deflation.AUTO_SE_FRACTION * max(0.005 * 12.4, 0.02)
    assert se[0] > 4 * target  # 8 (se / target)^2 > 80 probes wanted
    assert deflation.extra_probes(mu, np.array([1.0]), 8) == 3 * 8  # up to 4 x 8
    assert deflation.extra_probes(mu, np.array([1.0]), 8, scale=20) == 4 * 20 - 8


# --------------------------------------------------------------------------- ARPACK failures


def test_arpack_non_convergence_is_handled(blob_operator, monkeypatch):
    A, lam, u = blob_operator
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


def test_arpack_error_without_pairs_falls_back_to_plain_slq(blob_operator, monkeypatch):
    A, _, _ = blob_operator

    def broken_eigsh(op, k, **kwargs):
        raise scipy.sparse.linalg.ArpackError(-9999)

    monkeypatch.setattr(scipy.sparse.linalg, "eigsh", broken_eigsh)
    with pytest.warns(RuntimeWarning, match="deflating the 0 that converged"):
        mu = slq_measure(A, n_deflate=4, random_state=0, n_jobs=1)
    assert mu.method == "slq" and mu.info["n_deflate"] == 0
