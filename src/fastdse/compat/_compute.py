"""What the :mod:`fastdse.compat` entropies compute, on validated arguments.

:func:`diffusion_entropy` and :func:`adjacency_entropy` replay the reference's steps
(subsample, build the dense matrix, take or load its eigenvalues, save them, take the
entropy with the reference's ``eps``); the public functions of :mod:`.entropy` and
:mod:`.mutual_information` check the arguments and call them. The matrices are
built by fastdse: one n x n array, built, normalised and diagonalised in place.
"""

from __future__ import annotations

import os
import random
from typing import Any

import numpy as np
import scipy.sparse

from fastdse._numba import dense as _dense_jit
from fastdse.compat._common import check_dense_size, load_eigvals, save_eigvals, say
from fastdse.operator.kernel import dense_affinity
from fastdse.operator.normalize import normalize_dense_inplace
from fastdse.shannon import cell_counts
from fastdse.spectral.dense import dense_eigenvalues

__all__ = ["diffusion_entropy", "adjacency_entropy"]

#: The reference adds this to every probability before taking the entropy.
_EPS = np.finfo(float).eps

#: Parameters of the reference's Chebyshev spectral-density estimate.
_CHEB_FILTER = 1e-3
_CHEB_PROBES = 100
_CHEB_MOMENTS = 50
_CHEB_POINTS = 1001


# ---------------------------------------------------------------------------
# the entropies (validated input)
# ---------------------------------------------------------------------------


def diffusion_entropy(
    X: np.ndarray | None,
    sigma: float,
    t: Any,
    max_N: int | None,
    chebyshev_approx: bool,
    save_path: str | None,
    save_precision: np.dtype,
    classic_shannon_entropy: bool,
    matrix_entry_entropy: bool,
    num_bins_per_dim: int,
    random_seed: int | None,
    verbose: bool,
    rng: random.Random,
) -> np.float64:
    """Compute :func:`fastdse.compat.diffusion_spectral_entropy` from checked arguments.

    ``rng`` stands for the reference's global ``random`` state. ``X`` is None only
    when ``save_path`` names an existing eigenvalue file.
    """
    X = _subsample(X, max_N, random_seed, rng)

    if classic_shannon_entropy:
        assert X is not None  # None only comes with an existing eigenvalue file
        say(verbose, "Computing Classic Shannon Entropy...")
        counts = cell_counts(X, num_bins_per_dim)
        return _entropy_bits(counts / np.sum(counts))

    say(verbose, "Computing Diffusion Spectral Entropy...")
    if matrix_entry_entropy:
        assert X is not None  # None only comes with an existing eigenvalue file
        return _matrix_entry_entropy(X, sigma)

    if save_path is not None and os.path.exists(save_path):
        say(verbose, f"Loading pre-computed eigenvalues from {save_path}")
        eigvals = load_eigvals(save_path)
    else:
        assert X is not None  # None only comes with an existing eigenvalue file
        check_dense_size(X.shape[0], X.shape[1], what="diffusion_spectral_entropy")
        K = _diffusion_operator(X, sigma)
        if chebyshev_approx:
            say(verbose, "Using Chebyshev approximation.")
            eigvals = _chebyshev_eigenvalues(K)
        else:
            eigvals = dense_eigenvalues(K, overwrite=True)
        del K
        if save_path is not None:
            eigvals = save_eigvals(save_path, eigvals, save_precision, verbose)
    return _entropy_bits(_spectral_prob(eigvals, t))


def adjacency_entropy(
    X: np.ndarray | None,
    sigma: float,
    anisotropic: bool,
    use_knn: bool,
    knn: int,
    max_N: int | None,
    save_path: str | None,
    save_precision: np.dtype,
    random_seed: int | None,
    verbose: bool,
    rng: random.Random,
    where: str = "",
) -> np.float64:
    """Compute :func:`fastdse.compat.adjacency_spectral_entropy` from checked arguments.

    ``where`` describes the points in the error for ``knn`` larger than their
    number (e.g. " of a class or class-sized subset").
    """
    X = _subsample(X, max_N, random_seed, rng)

    if save_path is not None and os.path.exists(save_path):
        say(verbose, f"Loading pre-computed eigenvalues from {save_path}")
        eigvals = load_eigvals(save_path)
    else:
        assert X is not None  # None only comes with an existing eigenvalue file
        eigvals = _adjacency_eigenvalues(X, sigma, anisotropic, use_knn, knn, where)
        if save_path is not None:
            eigvals = save_eigvals(save_path, eigvals, save_precision, verbose)
    return _entropy_bits(_spectral_prob(eigvals, None))


# ---------------------------------------------------------------------------
# steps
# ---------------------------------------------------------------------------


def _subsample(
    X: np.ndarray | None, max_N: int | None, random_seed: int | None, rng: random.Random
) -> np.ndarray | None:
    """Subsample to ``max_N`` rows as the reference does, drawing from ``rng``, not ``random``."""
    if max_N is not None and X is not None and X.shape[0] > max_N:
        if random_seed is not None:
            rng.seed(random_seed)
        rows = np.array(rng.sample(range(X.shape[0]), k=max_N))
        X = X[rows, :]
    return X


def _entropy_bits(prob: np.ndarray) -> np.float64:
    """``-sum p log2 p`` after adding float eps to every probability, as the reference."""
    prob = prob + _EPS
    return -np.sum(prob * np.log2(prob))


def _spectral_prob(eigvals: np.ndarray, t: Any = 1) -> np.ndarray:
    """``|lambda|^t`` normalised to sum 1, in the dtype the eigenvalues come in."""
    eigvals = np.abs(eigvals)
    if t is not None:
        eigvals = eigvals**t
    return eigvals / eigvals.sum()


def _diffusion_operator(X: np.ndarray, sigma: float) -> np.ndarray:
    """``D^-1/2 K D^-1/2`` of the Gaussian kernel, built in one n x n array.

    The reference's kernel carries the constant ``1 / (sigma sqrt(2 pi))``; it
    cancels in the normalisation, so it is left out.
    """
    K = dense_affinity(X, "gaussian", sigma=sigma, thresh=0.0)
    normalize_dense_inplace(K, 0.0)
    return K


def _matrix_entry_entropy(X: np.ndarray, sigma: float) -> np.float64:
    """Entropy of the entries ``|P_ij| / N`` of the reference's random walk ``P = D^-1 K``."""
    check_dense_size(X.shape[0], X.shape[1], what="diffusion_spectral_entropy")
    P = _diffusion_operator(X, sigma)
    P *= (1.0 / P.sum(axis=1))[:, None]  # row-stochastic P = D^-1 K of the reference
    np.abs(P, out=P)
    P /= P.sum()
    P += _EPS
    plogp = np.log2(P)
    plogp *= P
    return -np.sum(plogp)


def _chebyshev_eigenvalues(K: np.ndarray) -> np.ndarray:
    """Rebuild the eigenvalues from a Chebyshev density, as the reference's ``approx_eigvals``.

    ``K`` is overwritten. Entries below 1e-3 in magnitude are dropped, 50
    Chebyshev moments ``tr T_k(K)`` are estimated with 100 Rademacher probes from
    NumPy's global legacy generator (as the reference does), the cumulative
    density is evaluated on 1001 points of ``(-1, 1)``, and each point is repeated
    ``round(n * mass)`` times.
    """
    n = K.shape[0]
    K[np.abs(K) < _CHEB_FILTER] = 0.0
    A = scipy.sparse.csr_matrix(K)
    del K
    V = np.sign(np.random.randn(n, _CHEB_PROBES))  # noqa: NPY002 - reference parity
    moments = np.empty((_CHEB_MOMENTS, _CHEB_PROBES))
    prev = V
    cur = A @ V
    moments[0] = np.sum(V * prev, axis=0)
    moments[1] = np.sum(V * cur, axis=0)
    for k in range(2, _CHEB_MOMENTS):
        nxt = 2 * (A @ cur) - prev
        prev, cur = cur, nxt
        moments[k] = np.sum(V * cur, axis=0)
    c = np.mean(moments, axis=1)

    grid = np.linspace(-1 + 1e-8, 1 - 1e-8, _CHEB_POINTS)
    theta = np.arccos(grid)
    cdf = c[0] * (theta - np.pi) / 2
    for k in range(1, _CHEB_MOMENTS):
        cdf += c[k] * np.sin(k * theta) / k
    cdf *= -2 / np.pi

    pdf = np.zeros_like(cdf)
    pdf[:-1] = np.diff(cdf)
    counts = np.round(n * pdf / np.sum(pdf))
    keep = counts > 0
    return np.repeat(grid[keep], counts[keep].astype(np.int64))


def _adjacency_eigenvalues(
    X: np.ndarray, sigma: float, anisotropic: bool, use_knn: bool, knn: int, where: str
) -> np.ndarray:
    """Eigenvalues of the reference's adjacency matrix: kNN, Gaussian or anisotropic Gaussian."""
    n = X.shape[0]
    check_dense_size(n, X.shape[1], what="adjacency_spectral_entropy")
    if use_knn:
        if knn > n:
            raise ValueError(f"knn must be <= the number of points{where} ({n}); got {knn}")
        A = _knn_adjacency(X, knn)
        if np.array_equal(A, A.T):
            return dense_eigenvalues(A, overwrite=True)
        # like the reference: a general eigensolver, complex eigenvalues
        return np.linalg.eigvals(A)
    G = dense_affinity(X, "gaussian", sigma=sigma, thresh=0.0)
    if anisotropic:
        # D^-1/2 G D^-1/2: the Gaussian constant cancels
        normalize_dense_inplace(G, 0.0)
        return dense_eigenvalues(G, overwrite=True)
    # The reference's G carries 1 / (sigma sqrt(2 pi)). The probabilities do not depend
    # on it, but the saved eigenvalues (and their float16 rounding) do, so scale the
    # eigenvalues, not the n x n matrix.
    scale = 1 / (sigma * np.sqrt(2 * np.pi))
    return dense_eigenvalues(G, overwrite=True) * scale


def _knn_adjacency(X: np.ndarray, knn: int) -> np.ndarray:
    """Build the reference's binarised kNN adjacency: 1 where ``d_ij`` <= row i's knn-th distance.

    Self counts as a neighbour (distance 0) and ties are all kept, so rows may
    hold more than ``knn`` ones and ``A`` is in general not symmetric.
    """
    from sklearn.metrics import pairwise_distances  # same distances as the reference

    D = pairwise_distances(X)
    kth = _dense_jit.kth_smallest_per_row(D, knn - 1)
    np.copyto(D, D <= kth[:, None])  # 0 / 1 in place of the distances
    return D
