"""The exact spectral measure: every eigenvalue of a dense symmetric operator (LAPACK).

The reference path every estimator is validated against.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from fastdse.spectral import _lapack2stage
from fastdse.spectral.measure import SpectralMeasure

__all__ = ["TWO_STAGE_MIN_N", "dense_eigenvalues", "exact_measure"]


#: Dense matrices of at least this order go to LAPACK's two-stage solver when it is
#: available and the matrix may be overwritten (:mod:`fastdse.spectral._lapack2stage`). The
#: two-stage reduction loses on small matrices and wins on large ones, by a growing margin;
#: this is where it started to win on the exact path's operator in
#: docs/benchmarks/eigensolver.md.
TWO_STAGE_MIN_N = 4000


def dense_eigenvalues(A: np.ndarray, overwrite: bool = False) -> np.ndarray:
    """All eigenvalues (ascending) of a dense symmetric matrix, by one LAPACK call.

    With ``overwrite=True`` the matrix is destroyed and no copy is made: LAPACK
    wants column-major storage, and for a symmetric C-ordered matrix the
    transpose is that same matrix in column-major order, so it is passed as is
    (only one triangle is read). From :data:`TWO_STAGE_MIN_N` on, an
    overwritable matrix goes to LAPACK's two-stage ``dsyevd_2stage`` when the
    process's BLAS provides it, else to ``scipy.linalg.eigvalsh``.
    """
    if overwrite and A.shape[0] >= TWO_STAGE_MIN_N:
        w = _lapack2stage.eigvalsh_2stage(A)
        if w is not None:
            return w
    if A.flags.c_contiguous and not A.flags.f_contiguous:
        # A symmetric: A.T is a Fortran-ordered view of the same numbers; its lower
        # triangle is A's upper triangle
        return scipy.linalg.eigvalsh(
            A.T, lower=True, overwrite_a=overwrite, check_finite=False, driver="evd"
        )
    return scipy.linalg.eigvalsh(
        A, lower=True, overwrite_a=overwrite, check_finite=False, driver="evd"
    )


def exact_measure(A: np.ndarray, overwrite: bool = False) -> SpectralMeasure:
    """Exact spectral measure of a dense symmetric operator: every eigenvalue, weight 1."""
    lam = dense_eigenvalues(A, overwrite=overwrite)
    n = lam.shape[0]
    return SpectralMeasure(
        nodes=lam,
        weights=np.ones(n),
        probe=np.full(n, -1, dtype=np.int64),
        n=n,
        n_probes=0,
        method="exact",
    )
