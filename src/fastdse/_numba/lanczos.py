"""numba kernels for the sparse spectral measure (block Lanczos in lock-step).

Plain arrays in, plain arrays out. The one hot spot of stochastic Lanczos
quadrature is the product of a CSR matrix with a dense block of probe vectors
(``n x p``, row-major); scipy's sparse ``@`` runs it on one core, these
kernels split the rows over numba's threads. The three-term recurrence is
fused into one pass over the block so each Lanczos step reads the block a
small, fixed number of times. The projection that keeps the recurrence in the
complement of the deflated vectors is a kernel too: with it no BLAS call runs
inside the loop (an idle BLAS pool spins after each call and slows the numba
threads that follow it on a small machine).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from fastdse._numba.jit import jit, pjit


@jit
def _row_chunks(n):  # pragma: no cover - jitted
    """Return the reductions' fixed row chunks: ``(number of chunks, rows a chunk)``, <= 64.

    Fixed by ``n`` alone, so a sum does not depend on the number of threads.
    """
    nchunk = 64
    if n < nchunk:
        nchunk = max(n, 1)
    return nchunk, (n + nchunk - 1) // nchunk


@pjit
def csr_matmat(indptr, indices, data, X, Y):  # pragma: no cover - jitted
    """``Y = A @ X`` for a CSR matrix ``A`` (n x n) and a row-major block ``X`` (n x p).

    Rows of ``Y`` are independent, so they are split over threads; no atomics.
    """
    n = Y.shape[0]
    p = Y.shape[1]
    for i in prange(n):
        for c in range(p):
            Y[i, c] = 0.0
        for jj in range(indptr[i], indptr[i + 1]):
            j = indices[jj]
            a = data[jj]
            for c in range(p):
                Y[i, c] += a * X[j, c]


@pjit
def column_dots(X, Y):  # pragma: no cover - jitted
    """``out[c] = sum_i X[i, c] * Y[i, c]`` for two row-major blocks.

    Rows are split into one chunk per thread, each chunk summed separately and
    the partial sums added in a fixed order, so the result does not depend on
    scheduling.
    """
    n = X.shape[0]
    p = X.shape[1]
    nchunk, step = _row_chunks(n)
    partial = np.zeros((nchunk, p), dtype=np.float64)
    for b in prange(nchunk):
        lo = b * step
        hi = min(n, lo + step)
        for i in range(lo, hi):
            for c in range(p):
                partial[b, c] += X[i, c] * Y[i, c]
    out = np.zeros(p, dtype=np.float64)
    for b in range(nchunk):
        for c in range(p):
            out[c] += partial[b, c]
    return out


@pjit
def three_term_update(W, Q, Q_prev, alpha, beta_prev):  # pragma: no cover - jitted
    """``W -= Q * alpha + Q_prev * beta_prev`` (column-wise scalars), in place.

    Returns the squared column norms of the updated ``W`` (chunked, fixed
    summation order as in :func:`column_dots`).
    """
    n = W.shape[0]
    p = W.shape[1]
    nchunk, step = _row_chunks(n)
    partial = np.zeros((nchunk, p), dtype=np.float64)
    for b in prange(nchunk):
        lo = b * step
        hi = min(n, lo + step)
        for i in range(lo, hi):
            for c in range(p):
                w = W[i, c] - alpha[c] * Q[i, c] - beta_prev[c] * Q_prev[i, c]
                W[i, c] = w
                partial[b, c] += w * w
    out = np.zeros(p, dtype=np.float64)
    for b in range(nchunk):
        for c in range(p):
            out[c] += partial[b, c]
    return out


@pjit
def shift_and_scale(W, Q, Q_prev, inv_beta):  # pragma: no cover - jitted
    """Advance the recurrence in place: ``Q_prev <- Q``, ``Q <- W * inv_beta`` (column-wise).

    A column whose ``inv_beta`` is 0 (a probe that broke down) becomes zero.
    """
    n = W.shape[0]
    p = W.shape[1]
    for i in prange(n):
        for c in range(p):
            Q_prev[i, c] = Q[i, c]
            Q[i, c] = W[i, c] * inv_beta[c]


@pjit
def project_out_block(U, W):  # pragma: no cover - jitted
    """``W <- W - U (U^T W)`` in place for ``U`` (n x c) and a row-major block ``W`` (n x p).

    ``U^T W`` is summed in fixed row chunks added in a fixed order (as in
    :func:`column_dots`), so the result does not depend on scheduling; each row
    of ``W`` then subtracts ``U[i, k] * (U^T W)[k]`` for ``k = 0 .. c-1`` in turn.
    """
    n = W.shape[0]
    p = W.shape[1]
    c = U.shape[1]
    nchunk, step = _row_chunks(n)
    partial = np.zeros((nchunk, c, p), dtype=np.float64)
    for b in prange(nchunk):
        lo = b * step
        hi = min(n, lo + step)
        for i in range(lo, hi):
            for k in range(c):
                u = U[i, k]
                for col in range(p):
                    partial[b, k, col] += u * W[i, col]
    coef = np.zeros((c, p), dtype=np.float64)
    for b in range(nchunk):
        for k in range(c):
            for col in range(p):
                coef[k, col] += partial[b, k, col]
    for i in prange(n):
        for k in range(c):
            u = U[i, k]
            for col in range(p):
                W[i, col] -= u * coef[k, col]
