"""Block Lanczos and Gauss quadrature: exact for polynomials up to degree 2m - 1."""

import numba
import numpy as np
import pytest
import scipy.sparse

from fastdse._util.threads import numba_threads
from fastdse.spectral.quadrature import (
    PROBES,
    CSROperator,
    gauss_quadrature,
    lanczos_block,
    lanczos_probes,
    project_out,
)


@pytest.fixture(scope="module")
def diagonal():
    """A diagonal operator with 300 distinct eigenvalues in (-1, 1)."""
    lam = np.sort(np.random.default_rng(5).uniform(-0.99, 0.99, size=300))
    return scipy.sparse.diags(lam, format="csr"), lam


def test_gauss_rule_is_exact_up_to_degree_2m_minus_1(diagonal, rng):
    A, lam = diagonal
    m, p = 6, 3
    V = rng.standard_normal((lam.size, p))
    run = lanczos_block(CSROperator(A), V, m, None, 1e-10)
    assert np.all(run.steps == m)
    np.testing.assert_allclose(run.norm2, np.sum(V * V, axis=0), rtol=1e-13)
    nodes, weights, probe = gauss_quadrature(*run, m)
    assert nodes.shape == weights.shape == probe.shape == (m * p,)
    np.testing.assert_array_equal(probe, np.repeat(np.arange(p), m))
    for c in range(p):
        mine = probe == c
        for degree in range(2 * m):  # v^T A^d v = sum_i v_i^2 lam_i^d, times 1 / p
            exact = np.sum(V[:, c] ** 2 * lam**degree) / p
            np.testing.assert_allclose(np.sum(weights[mine] * nodes[mine] ** degree), exact,
                                       rtol=1e-9, atol=1e-12 * run.norm2[c])
        # degree 2m is beyond the rule: the error is visible
        exact = np.sum(V[:, c] ** 2 * lam ** (2 * m)) / p
        assert abs(np.sum(weights[mine] * nodes[mine] ** (2 * m)) - exact) > 1e-9 * exact


def test_fewer_steps_reuse_the_same_recurrence(diagonal, rng):
    A, _ = diagonal
    run = lanczos_probes(CSROperator(A), None, 2, 10, PROBES["rademacher"], rng, 1e-10)
    full = gauss_quadrature(*run, 10)
    half = gauss_quadrature(*run, 5)
    assert full[0].size == 20 and half[0].size == 10
    # a probe's weights sum to |v|^2 / p = 300 / 2 whatever the number of steps
    for _, weights, probe in (full, half):
        np.testing.assert_allclose(np.bincount(probe, weights=weights), [150.0, 150.0],
                                   rtol=1e-12)


def test_join_appends_the_probes_of_another_block(diagonal):
    A, _ = diagonal
    op = CSROperator(A)
    first = lanczos_block(op, np.ones((300, 2)), 4, None, 1e-10)
    second = lanczos_block(op, np.full((300, 1), 2.0), 4, None, 1e-10)
    both = first.join(second)
    assert both.alpha.shape == both.beta.shape == (4, 3)
    np.testing.assert_array_equal(both.alpha[:, 2], second.alpha[:, 0])
    np.testing.assert_array_equal(both.steps, [4, 4, 4])
    np.testing.assert_array_equal(both.norm2, [300.0, 300.0, 1200.0])
    assert op.n_matvec == 4 * 3


def test_projected_probes_leave_out_the_deflated_directions():
    # diag(1, 0.5, ..., 0.5): projecting out e_0 leaves only the eigenvalue 0.5
    d = np.full(250, 0.5)
    d[0] = 1.0
    U = np.zeros((250, 1))
    U[0, 0] = 1.0
    run = lanczos_probes(CSROperator(scipy.sparse.diags(d, format="csr")), U, 4, 8,
                         PROBES["gaussian"], np.random.default_rng(1), 1e-10)
    assert np.all(run.steps == 1)  # one step spans the invariant subspace: a breakdown
    nodes, weights, _ = gauss_quadrature(*run, 8)
    np.testing.assert_allclose(nodes, 0.5, rtol=1e-14)
    np.testing.assert_allclose(weights.sum(), run.norm2.sum() / 4, rtol=1e-12)


@pytest.mark.parametrize("order", ["C", "F"])
def test_project_out_removes_the_span_of_u_whatever_the_thread_count(order):
    # 12,000 x 20 is above the size where the kernel runs in parallel
    rng = np.random.default_rng(3)
    n, c, p = 12_000, 5, 20
    U = np.asarray(np.linalg.qr(rng.standard_normal((n, c)))[0], order=order)
    W = rng.standard_normal((n, p))
    expected = W - U @ (U.T @ W)
    with numba_threads(1):
        serial = W.copy()
        project_out(U, serial)
    with numba_threads(numba.config.NUMBA_NUM_THREADS):
        parallel = W.copy()
        project_out(U, parallel)
    np.testing.assert_allclose(parallel, expected, rtol=0, atol=1e-12)
    assert np.abs(U.T @ parallel).max() < 1e-12
    # fixed row chunks summed in a fixed order: the same bits on any number of threads
    assert np.array_equal(serial, parallel)


def test_project_out_without_vectors_leaves_the_block_alone():
    W = np.random.default_rng(4).standard_normal((50, 3))
    before = W.copy()
    project_out(None, W)
    project_out(np.zeros((50, 0)), W)
    assert np.array_equal(W, before)
