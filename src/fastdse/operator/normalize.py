"""Normalisation: degrees, anisotropy and the symmetric diffusion operator.

For a symmetric affinity ``K`` with degrees ``d_i = sum_j K_ij``, the
diffusion operator ``P = D^-1 K`` is similar to ``A = D^-1/2 K D^-1/2`` and
has the same eigenvalues, all in ``[-1, 1]``. With anisotropy ``alpha`` the
kernel is first replaced by ``K_ij / (d_i d_j)^alpha`` (``alpha = 0``: the
reference code; ``alpha = 1/2``: the paper's text; ``alpha = 1``: Laplace-
Beltrami normalisation of diffusion maps).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from fastdse._numba import dense as _dense_jit
from fastdse._numba import sparse as _sparse_jit
from fastdse._util.validation import check_float

__all__ = [
    "normalize_dense_inplace",
    "normalize_sparse",
    "normalize_sparse_arrays",
    "top_eigenvectors",
]


def _scale_rows_cols_inplace(K: np.ndarray, s: np.ndarray) -> None:
    """``K <- diag(s) K diag(s)`` in one pass, without forming a diagonal matrix."""
    _dense_jit.scale_sym_dense_inplace(K, np.ascontiguousarray(s, dtype=np.float64))


def normalize_dense_inplace(
    K: np.ndarray, anisotropy: float = 0.0, degrees: np.ndarray | None = None
) -> np.ndarray:
    """Turn a dense symmetric affinity into ``A = D^-1/2 K_alpha D^-1/2`` in place.

    Parameters
    ----------
    K : numpy.ndarray of shape (n, n)
        Symmetric non-negative affinity with a positive diagonal; overwritten.
    anisotropy : float in [0, 1]
    degrees : numpy.ndarray of shape (n,), optional
        Row sums of ``K`` if already known (e.g. from the fused Gaussian kernel).

    Returns
    -------
    degrees : numpy.ndarray of shape (n,)
        Row sums of the (anisotropy-corrected) kernel; ``sqrt(degrees)`` spans
        the eigenvector of eigenvalue 1.
    """
    if degrees is None:
        degrees = K.sum(axis=1)
    if anisotropy != 0.0:
        _scale_rows_cols_inplace(K, degrees ** (-anisotropy))
        degrees = K.sum(axis=1)
    _scale_rows_cols_inplace(K, 1.0 / np.sqrt(degrees))
    return degrees


def normalize_sparse_arrays(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray,
                            anisotropy: float) -> np.ndarray:
    """In-place ``D^-1/2 K_alpha D^-1/2`` on CSR arrays (validated); returns the degrees.

    The computation of :func:`normalize_sparse`, for a kernel known to be
    symmetric, non-negative and with positive row sums.
    """
    degrees = _sparse_jit.row_mass(indptr, data)
    if anisotropy != 0.0:
        _sparse_jit.scale_sym_inplace(indptr, indices, data, degrees ** (-anisotropy))
        degrees = _sparse_jit.row_mass(indptr, data)
    _sparse_jit.scale_sym_inplace(indptr, indices, data, 1.0 / np.sqrt(degrees))
    return degrees


def normalize_sparse(K: Any, anisotropy: float = 0.0, *, copy: bool = True
                     ) -> tuple[sp.csr_matrix, np.ndarray]:
    r"""Symmetric diffusion operator ``A = D^-1/2 K_alpha D^-1/2`` of a sparse affinity.

    .. math::

        K^{(\alpha)}_{ij} = \frac{K_{ij}}{(d_i d_j)^\alpha}, \qquad
        A_{ij} = \frac{K^{(\alpha)}_{ij}}{\sqrt{d^{(\alpha)}_i d^{(\alpha)}_j}},

    with ``d`` the row sums. numba kernels on the CSR arrays; the sparsity
    pattern is unchanged.

    Parameters
    ----------
    K : scipy.sparse matrix of shape (n, n)
        Symmetric non-negative affinity with a positive diagonal (every row
        must have a positive sum).
    anisotropy : float in [0, 1], default 0
    copy : bool, default True
        ``False`` overwrites ``K.data`` when ``K`` is already a float64 CSR matrix
        with int64 or int32 indices (it is then returned as ``A``).

    Returns
    -------
    A : scipy.sparse.csr_matrix of shape (n, n), float64
    degrees : numpy.ndarray of shape (n,)
        Row sums of the anisotropy-corrected kernel; ``sqrt(degrees)`` spans
        the eigenvector of eigenvalue 1 (one per connected component).
    """
    if not sp.issparse(K):
        raise TypeError(f"K must be a scipy.sparse matrix; got {type(K).__name__} (use "
                        "normalize_dense_inplace for dense arrays)")
    if K.ndim != 2 or K.shape[0] != K.shape[1]:
        raise ValueError(f"K must be square; got shape {K.shape}")
    anisotropy = check_float(anisotropy, "anisotropy", low=0.0, high=1.0)
    if copy or K.format != "csr" or K.dtype != np.float64:
        A = sp.csr_matrix(K, dtype=np.float64, copy=True)
    else:
        A = K
    if A.nnz and A.data.min() < 0:
        raise ValueError("K must be non-negative; found negative entries")
    if np.any(_sparse_jit.row_mass(A.indptr, A.data) <= 0):
        raise ValueError("K must have positive row sums (a positive diagonal); found a row "
                         "summing to zero")
    degrees = normalize_sparse_arrays(A.indptr, A.indices, A.data, anisotropy)
    return A, degrees


def top_eigenvectors(degrees: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Orthonormal eigenvectors of eigenvalue 1 of ``A``, one per connected component.

    ``A sqrt(d) = D^-1/2 K 1 = sqrt(d)``, and restricting ``sqrt(d)`` to each
    connected component gives one eigenvector per component.

    Parameters
    ----------
    degrees : numpy.ndarray of shape (n,)
        As returned by :func:`normalize_sparse`.
    labels : numpy.ndarray of shape (n,), int
        Component labels ``0..c-1`` (``scipy.sparse.csgraph.connected_components``).

    Returns
    -------
    numpy.ndarray of shape (n, c), float64
        Column ``c`` is ``sqrt(degrees)`` on component ``c``, zero elsewhere,
        unit norm; positive entries (a deterministic sign).
    """
    degrees = np.asarray(degrees, dtype=np.float64)
    labels = np.asarray(labels)
    if degrees.ndim != 1 or labels.shape != degrees.shape:
        raise ValueError(f"degrees and labels must be 1-D of the same length; got shapes "
                         f"{degrees.shape} and {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer) or (labels.size and labels.min() < 0):
        raise ValueError("labels must be non-negative integer component labels")
    c = int(labels.max()) + 1 if labels.size else 0
    root = np.sqrt(degrees)
    V = np.zeros((len(degrees), c), dtype=np.float64)
    V[np.arange(len(degrees)), labels] = root
    norms = np.sqrt(np.bincount(labels, weights=degrees, minlength=c))
    V /= np.where(norms > 0, norms, 1.0)
    return V
