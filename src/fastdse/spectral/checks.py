"""Validation of :func:`fastdse.spectral.lanczos.slq_measure`'s operator and settings.

Each check names the parameter, what is allowed and what it received.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import scipy.sparse

from fastdse._util.validation import check_int, describe
from fastdse.spectral.deflation import DEFAULT_T_HINT

__all__ = ["check_known_vectors", "check_n_deflate", "check_n_probes", "check_operator",
           "check_t_hint", "check_tol"]


def check_operator(A: Any) -> scipy.sparse.csr_matrix:
    """Validate a symmetric operator and return it as CSR float64 (no copy when it is one)."""
    if not scipy.sparse.issparse(A):
        raise TypeError(
            "A must be a scipy.sparse matrix (CSR, float64) holding the symmetric diffusion "
            f"operator; got {describe(A)}"
        )
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be a square n x n matrix; got shape {A.shape}")
    if A.shape[0] < 2:
        raise ValueError(f"A must be at least 2 x 2; got shape {A.shape}")
    if np.issubdtype(A.dtype, np.complexfloating):
        raise TypeError(f"A must be real; got dtype {A.dtype}")
    A = scipy.sparse.csr_matrix(A, dtype=np.float64)  # no copy for CSR float64 input
    if not np.all(np.isfinite(A.data)):
        raise ValueError("A contains NaN or infinite values; all entries must be finite")
    asym = 0.0
    if A.nnz:
        AT = A.T.tocsr()  # sorted indices
        if (A.has_canonical_format and np.array_equal(A.indptr, AT.indptr)
                and np.array_equal(A.indices, AT.indices)):
            asym = float(np.abs(A.data - AT.data).max())  # same pattern: compare values
        else:
            asym = abs(A - AT).max()
        del AT
    scale = float(np.abs(A.data).max()) if A.nnz else 0.0
    if asym > 1e-8 * max(scale, 1e-300):
        raise ValueError(
            "A must be symmetric (the symmetric form D^-1/2 K D^-1/2 of the diffusion "
            f"operator); got max |A - A^T| = {asym:.3g} with max |A| = {scale:.3g}"
        )
    return A


def check_known_vectors(known_vectors: Any, n: int) -> np.ndarray | None:
    """Return ``known_vectors`` as ``(n, c)`` orthonormal columns (None for none)."""
    if known_vectors is None:
        return None
    U = np.asarray(known_vectors, dtype=np.float64)
    if U.ndim == 1:
        U = U[:, None]
    if U.ndim != 2 or U.shape[0] != n:
        raise ValueError(
            f"known_vectors must have shape (n, c) with n={n} rows; got shape {U.shape}"
        )
    if not np.all(np.isfinite(U)):
        raise ValueError("known_vectors contains NaN or infinite values")
    if U.shape[1] > n:
        raise ValueError(f"known_vectors must have at most n={n} columns; got {U.shape[1]}")
    gram = U.T @ U
    if not np.allclose(gram, np.eye(U.shape[1]), atol=1e-8):
        raise ValueError(
            "known_vectors must have orthonormal columns (U^T U = I); got max deviation "
            f"{np.max(np.abs(gram - np.eye(U.shape[1]))):.3g}"
        )
    return np.ascontiguousarray(U) if U.shape[1] else None


def check_t_hint(t_hint: Any) -> np.ndarray:
    """Return the diffusion times of ``t_hint`` (None: the default hint) as an array."""
    if t_hint is None:
        return np.asarray(DEFAULT_T_HINT)
    ts = np.atleast_1d(np.asarray(t_hint, dtype=np.float64)).ravel()
    if ts.size == 0 or not np.all(np.isfinite(ts)) or np.any(ts <= 0):
        raise ValueError(
            f"t_hint must be None or positive finite diffusion time(s); got {t_hint!r}"
        )
    return ts


def check_n_deflate(n_deflate: Any, n: int) -> int | str:
    """Return ``"auto"`` or an integer from 0 to ``n - 1``."""
    if isinstance(n_deflate, str):
        if n_deflate != "auto":
            raise ValueError(
                f"n_deflate must be 'auto' or an integer from 0 to n - 1 = {n - 1}; "
                f"got {n_deflate!r}"
            )
        return n_deflate
    return check_int(
        n_deflate, "n_deflate", low=0, high=n - 1,
        high_note=f" (n - 1, with n={n} the size of A)",
    )


def check_tol(tol: Any) -> float:
    """Return ``tol``, a real number in (0, 1)."""
    if isinstance(tol, (bool, np.bool_)) or not isinstance(tol, numbers.Real) or not (
        0.0 < float(tol) < 1.0
    ):
        raise ValueError(f"tol must be a real number in (0, 1); got {tol!r}")
    return float(tol)


def check_n_probes(n_probes: Any) -> int | str:
    """Return ``"auto"`` or an integer >= 2 (a standard error needs two probes)."""
    if isinstance(n_probes, str):
        if n_probes != "auto":
            raise ValueError(f"n_probes must be 'auto' or an integer >= 2; got {n_probes!r}")
        return n_probes
    return check_int(n_probes, "n_probes", low=2)
