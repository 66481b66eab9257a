"""Gauss quadrature by block Lanczos: one quadrature rule per probe vector.

:func:`lanczos_block` runs the Lanczos recurrence for a block of probe vectors in
lock-step (one sparse-matrix x dense-block product per step, numba kernels of
:mod:`fastdse._numba.lanczos`) and keeps each probe's tridiagonal matrix;
:func:`gauss_quadrature` turns those into the nodes and weights of each probe's Gauss
quadrature rule. The estimator built on them is :func:`fastdse.spectral.lanczos.slq_measure`
(the method: docs/estimators.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import scipy.linalg
import scipy.sparse

from fastdse._numba import lanczos as _lanczos_jit
from fastdse._util import progress as _progress
from fastdse.entropy import dse_from_measure
from fastdse.spectral.measure import SpectralMeasure

__all__ = ["PROBES", "CSROperator", "Recurrence", "gauss_quadrature", "lanczos_block",
           "lanczos_probes", "project_out", "quadrature_bias"]

#: A probe distribution: ``(rng, n, p) -> (n, p)`` block of probe vectors.
ProbeFn = Callable[[np.random.Generator, int, int], np.ndarray]


def _rademacher(rng: np.random.Generator, n: int, p: int) -> np.ndarray:
    return rng.integers(0, 2, size=(n, p)).astype(np.float64) * 2.0 - 1.0


def _gaussian(rng: np.random.Generator, n: int, p: int) -> np.ndarray:
    return rng.standard_normal((n, p))


#: probe name -> function ``(rng, n, p) -> (n, p)`` block of probe vectors.
PROBES: dict[str, ProbeFn] = {"rademacher": _rademacher, "gaussian": _gaussian}


class CSROperator:
    """``A @ X`` for a CSR matrix with the parallel numba kernel (plain arrays inside).

    ``n_matvec`` counts the products with single vectors, whoever makes them.
    """

    def __init__(self, A: scipy.sparse.csr_matrix) -> None:
        self.A = A
        self.n = A.shape[0]
        # int32 or int64 as scipy holds them (numba compiles one kernel for each)
        self.indptr = A.indptr
        self.indices = A.indices
        self.data = A.data
        self.n_matvec = 0

    def matmat(self, X: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Return ``A @ X`` for a block ``X`` of shape (n, p), into ``out`` when given."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        if out is None:
            out = np.empty_like(X)
        _lanczos_jit.csr_matmat(self.indptr, self.indices, self.data, X, out)
        self.n_matvec += X.shape[1]
        return out


def project_out(U: np.ndarray | None, W: np.ndarray) -> None:
    """``W <- (I - U U^T) W`` in place (U has orthonormal columns; W of shape (n, p)).

    A numba kernel, not BLAS: the Lanczos loop then makes no BLAS call, and the
    sums run in a fixed order whatever the CPU's BLAS kernels.
    """
    if U is not None and U.shape[1]:
        _lanczos_jit.project_out_block(np.ascontiguousarray(U), W)


class Recurrence(NamedTuple):
    """The tridiagonal matrices of a block of probes, from :func:`lanczos_block`."""

    #: (m, p): diagonals.
    alpha: np.ndarray
    #: (m, p): off-diagonals (``beta[j]`` couples steps ``j`` and ``j + 1``).
    beta: np.ndarray
    #: (p,), int: valid steps per probe (fewer than ``m`` after a breakdown; 0 for a zero probe).
    steps: np.ndarray
    #: (p,): squared norms of the starting vectors.
    norm2: np.ndarray

    def join(self, other: Recurrence) -> Recurrence:
        """Return the recurrence of both blocks of probes, ``self``'s first (same ``m``)."""
        return Recurrence(np.hstack([self.alpha, other.alpha]), np.hstack([self.beta, other.beta]),
                          np.concatenate([self.steps, other.steps]),
                          np.concatenate([self.norm2, other.norm2]))


def lanczos_block(
    op: CSROperator, V: np.ndarray, m: int, U: np.ndarray | None, tol: float,
    desc: str = "Lanczos",
) -> Recurrence:
    """``m`` Lanczos steps for every column of ``V`` in lock-step.

    No reorthogonalisation beyond projecting out ``U`` at every step: lost
    orthogonality only adds ghost Ritz values, whose weights split correctly.

    Parameters
    ----------
    op : CSROperator
        The symmetric operator ``A``; the recurrence runs on ``(I - UU^T) A (I - UU^T)``.
    V : numpy.ndarray of shape (n, p)
        Starting vectors, already in the complement of ``U`` (not normalised).
    m : int
        Steps per probe.
    U : numpy.ndarray of shape (n, c), optional
        Orthonormal vectors deflated from the operator.
    tol : float
        Breakdown threshold on ``beta``: a probe whose Krylov space is invariant stops
        there (its quadrature is then exact).
    desc : str
        Label of the progress bar (one tick per step).

    Returns
    -------
    Recurrence
        ``(alpha, beta, steps, norm2)``, each with one column or entry per probe.
    """
    n, p = V.shape
    norm2 = np.einsum("ij,ij->j", V, V)
    alpha = np.zeros((m, p))
    beta = np.zeros((m, p))
    steps = np.full(p, m, dtype=np.int64)
    live = norm2 > 0.0
    steps[~live] = 0
    inv = np.where(live, 1.0 / np.sqrt(np.where(live, norm2, 1.0)), 0.0)
    Q = np.ascontiguousarray(V * inv)
    Q_prev = np.zeros_like(Q)
    W = np.empty_like(Q)
    beta_prev = np.zeros(p)
    bar = _progress.bar(m, f"{desc} ({p} probes, n={n})", unit="step")
    for j in range(m):
        bar.update()
        op.matmat(Q, out=W)
        project_out(U, W)
        a = _lanczos_jit.column_dots(Q, W)
        a[~live] = 0.0
        alpha[j] = a
        if j == m - 1:
            break
        b2 = _lanczos_jit.three_term_update(W, Q, Q_prev, a, beta_prev)
        b = np.sqrt(b2)
        ended = live & (b <= tol)
        if np.any(ended):  # invariant subspace found: this probe's quadrature is exact
            steps[ended] = j + 1
            live &= ~ended
        b[~live] = 0.0
        beta[j] = b
        inv_b = np.where(live, 1.0 / np.where(live, b, 1.0), 0.0)
        _lanczos_jit.shift_and_scale(W, Q, Q_prev, inv_b)
        beta_prev = b
        if not np.any(live):
            break
    bar.close()
    return Recurrence(alpha, beta, steps, norm2)


def lanczos_probes(
    op: CSROperator, U: np.ndarray | None, p: int, m: int, probe_fn: ProbeFn,
    rng: np.random.Generator, tol: float, desc: str = "Lanczos",
) -> Recurrence:
    """Draw ``p`` probes, project them onto the complement of ``U``, run :func:`lanczos_block`."""
    V = probe_fn(rng, op.n, p)
    project_out(U, V)
    return lanczos_block(op, V, m, U, tol, desc=desc)


def gauss_quadrature(
    alpha: np.ndarray, beta: np.ndarray, steps: np.ndarray, norm2: np.ndarray, m: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Gauss quadrature nodes and weights of every probe from its first ``m`` steps.

    With :math:`T = S \Theta S^T` a probe's tridiagonal matrix, its nodes are the
    :math:`\theta_j` (clipped to ``[-1, 1]``) and its weights
    :math:`\lVert v \rVert^2 S_{1j}^2 / p`; probe ``c``'s nodes carry index ``c``.

    Returns
    -------
    nodes, weights : numpy.ndarray of shape (q,)
    probe : numpy.ndarray of shape (q,), int
    """
    p = alpha.shape[1]
    nodes, weights, probe = [], [], []
    for c in range(p):
        s = int(min(steps[c], m))
        if s == 0:
            continue
        d = alpha[:s, c]
        if s == 1:
            theta, first = d.copy(), np.ones(1)
        else:
            theta, S = scipy.linalg.eigh_tridiagonal(
                d, beta[: s - 1, c], check_finite=False
            )
            first = S[0]
        nodes.append(np.clip(theta, -1.0, 1.0))
        weights.append(norm2[c] * first * first / p)
        probe.append(np.full(s, c, dtype=np.int64))
    if not nodes:
        return np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64)
    return np.concatenate(nodes), np.concatenate(weights), np.concatenate(probe)


def quadrature_bias(
    full: SpectralMeasure, half: SpectralMeasure, ts: Any, base: float = 2.0
) -> np.ndarray:
    """``|DSE(m) - DSE(m/2)|`` for every ``t``: the quadrature-bias indicator.

    Both measures come from the same probes (``slq_measure(..., return_half=True)``),
    so the probe noise cancels and the difference shows how far the Gauss
    quadrature is from converged in the number of Lanczos steps.
    """
    ts = np.atleast_1d(np.asarray(ts, dtype=np.float64))
    a = dse_from_measure(full, ts, base)[0]
    b = dse_from_measure(half, ts, base)[0]
    return np.abs(a - b)
