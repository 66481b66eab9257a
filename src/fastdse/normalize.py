"""Normalisation: degrees, anisotropy and the symmetric diffusion operator.

For a symmetric affinity ``K`` with degrees ``d_i = sum_j K_ij``, the
diffusion operator ``P = D^-1 K`` is similar to ``A = D^-1/2 K D^-1/2`` and
has the same eigenvalues, all in ``[-1, 1]``. With anisotropy ``alpha`` the
kernel is first replaced by ``K_ij / (d_i d_j)^alpha`` (``alpha = 0``: the
reference code; ``alpha = 1/2``: the paper's text; ``alpha = 1``: Laplace-
Beltrami normalisation of diffusion maps).
"""

from __future__ import annotations

import numpy as np

__all__ = ["normalize_dense_inplace"]


def _scale_rows_cols_inplace(K: np.ndarray, s: np.ndarray) -> None:
    """``K <- diag(s) K diag(s)`` without forming a diagonal matrix."""
    K *= s[:, None]
    K *= s[None, :]


def normalize_dense_inplace(K: np.ndarray, anisotropy: float = 0.0) -> np.ndarray:
    """Turn a dense symmetric affinity into ``A = D^-1/2 K_alpha D^-1/2`` in place.

    Parameters
    ----------
    K : numpy.ndarray of shape (n, n)
        Symmetric non-negative affinity with a positive diagonal; overwritten.
    anisotropy : float in [0, 1]

    Returns
    -------
    degrees : numpy.ndarray of shape (n,)
        Row sums of the (anisotropy-corrected) kernel; ``sqrt(degrees)`` spans
        the eigenvector of eigenvalue 1.
    """
    degrees = K.sum(axis=1)
    if anisotropy != 0.0:
        _scale_rows_cols_inplace(K, degrees ** (-anisotropy))
        degrees = K.sum(axis=1)
    _scale_rows_cols_inplace(K, 1.0 / np.sqrt(degrees))
    return degrees
