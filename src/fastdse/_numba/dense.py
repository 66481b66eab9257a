"""numba kernels for the dense (exact) path.

Plain arrays in, plain arrays out; all work happens in place on one n x n
float64 array so the exact path holds a single dense matrix at a time.

Squared distances come from the Gram matrix of the centred points,
``|x_i|^2 + |x_j|^2 - 2 x_i.x_j``, except where that expansion cancels: an
entry below ``ratio * (|x_i|^2 + |x_j|^2)`` is recomputed from the coordinate
differences of the points (:func:`_sqdist_entry`; the caller chooses
``ratio``, see :data:`fastdse.operator.kernel.GRAM_REL_TOL`).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from fastdse._numba.distance import sqdist as _sqdist
from fastdse._numba.jit import jit, pjit

_EPS = np.finfo(np.float64).eps


@jit
def _sqdist_entry(g, sq_i, sq_j, X, i, j, ratio):  # pragma: no cover - jitted
    """Squared distance of points ``i`` and ``j`` (``i != j``) from their Gram entry ``g``.

    ``sq_i + sq_j - 2 g`` (norms of the centred points) where it is at least
    ``ratio * (sq_i + sq_j)``; below that, where the expansion has lost too many
    digits (or gone negative), the distance of rows ``i`` and ``j`` of ``X``
    from their differences (exactly 0 for duplicated points).
    """
    v = g * -2.0 + sq_i + sq_j
    if v < ratio * (sq_i + sq_j):
        return _sqdist(X, i, j)
    return v


@pjit
def gram_to_sqdist_inplace(G, sq, X, ratio):  # pragma: no cover - jitted
    """Turn the Gram matrix ``Xc Xc^T`` into squared distances, in place.

    ``G[i, j]`` becomes :func:`_sqdist_entry` of the pair (``sq``: the squared
    norms of the centred rows ``Xc``; ``X``: the points, centred or not), with
    an exactly zero diagonal. Row ``i`` writes row ``i`` only.
    """
    n = G.shape[0]
    for i in prange(n):
        for j in range(n):
            if j != i:
                G[i, j] = _sqdist_entry(G[i, j], sq[i], sq[j], X, i, j, ratio)
        G[i, i] = 0.0


@pjit
def sqrt_inplace(D):  # pragma: no cover - jitted
    """Element-wise square root, in place."""
    n = D.shape[0]
    for i in prange(n):
        for j in range(D.shape[1]):
            D[i, j] = np.sqrt(D[i, j])


@pjit
def kth_smallest_per_row(D, k):  # pragma: no cover - jitted
    """Return the ``k``-th smallest entry (0-based) of every row, without copying."""
    n = D.shape[0]
    out = np.empty(n, dtype=np.float64)
    for i in prange(n):
        row = D[i].copy()
        out[i] = np.partition(row, k)[k]
    return out


@pjit
def alpha_decay_from_dist_inplace(D, bandwidth, decay, thresh):  # pragma: no cover - jitted
    """Symmetric alpha-decay affinities from a symmetric distance matrix, in place.

    ``k_ij = exp(-(d_ij / b_i)^decay)``, set to zero below ``thresh``, then
    ``K = (k + k^T) / 2``. Row ``i`` owns the pairs ``j >= i``: it reads the
    upper triangle and writes ``K[i, j]`` and ``K[j, i]``, so rows never race.
    """
    n = D.shape[0]
    for i in prange(n):
        bi = max(bandwidth[i], _EPS)
        for j in range(i, n):
            d = D[i, j]
            bj = max(bandwidth[j], _EPS)
            kij = np.exp(-((d / bi) ** decay))
            kji = np.exp(-((d / bj) ** decay))
            if kij < thresh:
                kij = 0.0
            if kji < thresh:
                kji = 0.0
            v = 0.5 * (kij + kji)
            D[i, j] = v
            D[j, i] = v


@pjit
def gaussian_from_gram_inplace(G, sq, X, ratio, two_sigma_sq, thresh):  # pragma: no cover
    """Fused Gram -> squared distance -> Gaussian affinity, in place; returns row sums.

    One pass instead of three (squared distances as in
    :func:`gram_to_sqdist_inplace`); the degrees come for free from the same pass.
    """
    n = G.shape[0]
    deg = np.empty(n, dtype=np.float64)
    for i in prange(n):
        acc = 0.0
        for j in range(n):
            v = 0.0
            if j != i:
                v = _sqdist_entry(G[i, j], sq[i], sq[j], X, i, j, ratio)
            k = np.exp(-v / two_sigma_sq)
            if k < thresh:
                k = 0.0
            G[i, j] = k
            acc += k
        deg[i] = acc
    return deg


@pjit
def scale_sym_dense_inplace(K, s):  # pragma: no cover - jitted
    """``K <- diag(s) K diag(s)`` in one pass."""
    n = K.shape[0]
    for i in prange(n):
        si = s[i]
        for j in range(n):
            K[i, j] = K[i, j] * si * s[j]
