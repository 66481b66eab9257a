"""Affinity kernels: from points (dense, exact path) or neighbour lists (sparse path).

Two kernels are offered.

``alpha_decay``
    The graphtools/PHATE kernel. The bandwidth of point ``i`` is its distance
    to its ``knn``-th nearest neighbour (not counting itself),
    ``k_ij = exp(-(d_ij / b_i)^decay)``, affinities below ``thresh`` are
    dropped and the kernel is symmetrised as ``(K + K^T) / 2``.
``gaussian``
    A fixed-bandwidth Gaussian ``exp(-|x_i - x_j|^2 / (2 sigma^2))``, the
    kernel of the reference implementation (``dse-dsmi``). Its constant
    factor ``1 / (sigma sqrt(2 pi))`` is dropped: it cancels in the
    normalisation.
"""

from __future__ import annotations

import numpy as np

from . import _dense_jit

__all__ = ["KERNELS", "dense_affinity", "pairwise_sqdist_inplace_gram"]

KERNELS = ("alpha_decay", "gaussian")

#: Default threshold below which affinities are dropped, per kernel.
DEFAULT_THRESH = {"alpha_decay": 1e-4, "gaussian": 0.0}

#: Default fixed bandwidth of the Gaussian kernel (the reference's default).
DEFAULT_SIGMA = 10.0


def pairwise_sqdist_inplace_gram(X: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances of the rows of ``X`` as one n x n float64 array.

    Uses one symmetric rank-k product ``X X^T`` and converts it in place.
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    sq = np.einsum("ij,ij->i", X, X)
    G = X @ X.T
    _dense_jit.gram_to_sqdist_inplace(G, sq)
    return G


def dense_affinity(
    X: np.ndarray,
    kernel: str,
    *,
    knn: int = 5,
    decay: float = 40.0,
    sigma: float = DEFAULT_SIGMA,
    thresh: float = 0.0,
) -> np.ndarray:
    """Dense symmetric affinity matrix of the rows of ``X`` (validated input).

    Parameters
    ----------
    X : numpy.ndarray of shape (n, d), float64
    kernel : {"alpha_decay", "gaussian"}
    knn : int
        Neighbour whose distance sets the alpha-decay bandwidth (self excluded).
    decay : float
        Alpha-decay exponent.
    sigma : float
        Gaussian bandwidth.
    thresh : float
        Affinities below this value are set to zero.

    Returns
    -------
    numpy.ndarray of shape (n, n)
        Symmetric, non-negative, ones on the diagonal (zero only if ``thresh > 1``).
    """
    D = pairwise_sqdist_inplace_gram(X)
    _dense_jit.sqrt_inplace(D)
    if kernel == "gaussian":
        _dense_jit.gaussian_from_dist_inplace(D, 2.0 * sigma * sigma, thresh)
    elif kernel == "alpha_decay":
        # row-sorted with self first: index knn is the knn-th neighbour
        bandwidth = _dense_jit.kth_smallest_per_row(D, knn)
        _dense_jit.alpha_decay_from_dist_inplace(D, bandwidth, float(decay), float(thresh))
    else:  # validated upstream
        raise ValueError(f"kernel must be one of {KERNELS}; got {kernel!r}")
    return D
