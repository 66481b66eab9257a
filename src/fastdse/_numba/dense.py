"""numba kernels for the dense (exact) path.

Plain arrays in, plain arrays out; all work happens in place on one n x n
float64 array so the exact path holds a single dense matrix at a time.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from fastdse._numba.jit import pjit

_EPS = np.finfo(np.float64).eps


@pjit
def gram_to_sqdist_inplace(G, sq, rel_floor):  # pragma: no cover - jitted
    """Turn the Gram matrix ``X X^T`` into squared distances, in place.

    ``|x_i - x_j|^2 = |x_i|^2 + |x_j|^2 - 2 x_i.x_j`` (rows centred by the
    caller), with an exactly zero diagonal.
    The expansion loses digits for close points: its rounding error is about
    ``d eps (|x_i|^2 + |x_j|^2)``. Values below ``rel_floor * (|x_i|^2 +
    |x_j|^2)`` are rounding noise and are set to zero, so duplicated points
    stay duplicates (scale-free kernels would otherwise turn the noise into
    structure).
    """
    n = G.shape[0]
    for i in prange(n):
        for j in range(n):
            v = G[i, j] * -2.0 + sq[i] + sq[j]
            G[i, j] = v if v > rel_floor * (sq[i] + sq[j]) else 0.0
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
def gaussian_from_gram_inplace(G, sq, rel_floor, two_sigma_sq, thresh):  # pragma: no cover
    """Fused Gram -> squared distance -> Gaussian affinity, in place; returns row sums.

    One pass instead of three (see :func:`gram_to_sqdist_inplace` for the rounding
    floor); the degrees come for free from the same pass.
    """
    n = G.shape[0]
    deg = np.empty(n, dtype=np.float64)
    for i in prange(n):
        acc = 0.0
        for j in range(n):
            v = G[i, j] * -2.0 + sq[i] + sq[j]
            if i == j or not v > rel_floor * (sq[i] + sq[j]):
                v = 0.0
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
