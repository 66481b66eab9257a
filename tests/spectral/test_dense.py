"""Dense eigenvalues: the two-stage LAPACK solver agrees with scipy; the exact measure is exact."""

import numpy as np
import pytest
import scipy.linalg

import fastdse
from fastdse.spectral import _lapack2stage
from fastdse.spectral import dense as spectrum
from reference import circulant_eigenvalues


def sym(n, seed=0):
    M = np.random.default_rng(seed).standard_normal((n, n))
    return M + M.T


@pytest.mark.parametrize("order", ["C", "F"])
def test_two_stage_matches_scipy(order):
    if not _lapack2stage.available():
        pytest.skip("this BLAS has no LAPACKE dsyevd_2stage (the exact path then uses scipy)")
    A = sym(400)
    expected = scipy.linalg.eigvalsh(A)
    got = _lapack2stage.eigvalsh_2stage(np.array(A, order=order))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-11)
    assert np.all(np.diff(got) >= 0)


def test_two_stage_declines_what_it_cannot_take():
    A = sym(20)
    assert _lapack2stage.eigvalsh_2stage(A.astype(np.float32)) is None
    assert _lapack2stage.eigvalsh_2stage(A[::2, ::2]) is None  # not contiguous
    ro = A.copy()
    ro.flags.writeable = False
    assert _lapack2stage.eigvalsh_2stage(ro) is None


def test_dense_eigenvalues_routes_by_size(monkeypatch):
    calls = []
    real = _lapack2stage.eigvalsh_2stage

    def spy(A):
        calls.append(A.shape[0])
        return real(A)

    monkeypatch.setattr(_lapack2stage, "eigvalsh_2stage", spy)
    monkeypatch.setattr(spectrum, "TWO_STAGE_MIN_N", 300)
    A = sym(350, seed=1)
    expected = scipy.linalg.eigvalsh(A)
    np.testing.assert_allclose(spectrum.dense_eigenvalues(A.copy(), overwrite=True), expected,
                               atol=1e-11)
    assert calls == [350]
    # a matrix that must survive is never given to the destructive solver
    B = A.copy()
    np.testing.assert_allclose(spectrum.dense_eigenvalues(B, overwrite=False), expected,
                               atol=1e-11)
    np.testing.assert_array_equal(B, A)
    assert calls == [350]
    spectrum.dense_eigenvalues(sym(200), overwrite=True)
    assert calls == [350]


def test_exact_dse_same_with_either_solver(monkeypatch):
    X = np.random.default_rng(2).normal(size=(500, 5))
    one_stage = fastdse.dse(X, [1, 10], mode="exact").value
    monkeypatch.setattr(spectrum, "TWO_STAGE_MIN_N", 100)
    two_stage = fastdse.dse(X, [1, 10], mode="exact").value
    np.testing.assert_allclose(two_stage, one_stage, rtol=1e-11)


def test_exact_measure_of_a_cycle():
    # random walk on the 8-cycle, in symmetric form: eigenvalues cos(2 pi k / 8)
    n = 8
    row = np.zeros(n)
    row[[1, -1]] = 1.0
    A = np.stack([np.roll(row, i) for i in range(n)]) / 2.0
    mu = spectrum.exact_measure(A.copy())
    expected = circulant_eigenvalues(row)
    np.testing.assert_allclose(mu.nodes, expected, atol=1e-14)
    np.testing.assert_allclose(expected[[0, -1]], [-1.0, 1.0], atol=1e-15)
    np.testing.assert_array_equal(mu.weights, np.ones(n))
    np.testing.assert_array_equal(mu.probe, np.full(n, -1))
    assert (mu.n, mu.n_probes, mu.method, mu.is_exact) == (n, 0, "exact", True)
    np.testing.assert_array_equal(mu.eigenvalues(), mu.nodes)
