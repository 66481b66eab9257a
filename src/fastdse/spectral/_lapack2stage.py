"""Eigenvalues of large dense symmetric matrices by LAPACK's two-stage solver.

``scipy.linalg.eigvalsh`` reduces the matrix to tridiagonal form in one stage
(``dsytrd``), half of whose work is memory-bound matrix-vector products. LAPACK
3.7 added a two-stage reduction (dense to band with matrix-matrix products,
then band to tridiagonal by cache-local bulge chasing), exposed as
``dsyevd_2stage``. It is slower than ``dsytrd`` for small matrices and much
faster for large ones (docs/benchmarks/eigensolver.md). scipy does not wrap it,
but the OpenBLAS that scipy's wheels bundle exports it through LAPACKE.

:func:`eigvalsh_2stage` finds that symbol with ctypes among the BLAS libraries
loaded in the process, checks it once against ``scipy.linalg.eigvalsh`` on a
test matrix, and returns ``None`` whenever anything is missing or disagrees, so
callers fall back to scipy. No symbol is ever called with a guessed signature:
the LAPACKE prototype is fixed by the standard, and the integer width is taken
from the symbol's name (``...64_`` is the ILP64 build).
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any

import numpy as np
import scipy.linalg

__all__ = ["eigvalsh_2stage", "available"]

_COL_MAJOR = 102

#: (symbol, integer type), in order of preference: scipy's own bundled OpenBLAS first.
_SYMBOLS = (
    ("scipy_LAPACKE_dsyevd_2stage", ctypes.c_int32),
    ("LAPACKE_dsyevd_2stage", ctypes.c_int32),
    ("scipy_LAPACKE_dsyevd_2stage64_", ctypes.c_int64),
    ("LAPACKE_dsyevd_2stage64_", ctypes.c_int64),
)

_lock = threading.Lock()
_solver: Any = None
_searched = False


def _candidate_libraries() -> list[str]:
    import threadpoolctl

    paths = [info["filepath"] for info in threadpoolctl.threadpool_info()
             if info.get("user_api") == "blas" and info.get("filepath")]
    # scipy's own BLAS/LAPACK first: the library eigvalsh already uses
    return sorted(set(paths), key=lambda p: ("scipy.libs" not in p, p))


def _bind(path: str) -> Any:
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return None
    for name, int_t in _SYMBOLS:
        func = getattr(lib, name, None)
        if func is None:
            continue
        func.restype = int_t
        func.argtypes = [ctypes.c_int, ctypes.c_char, ctypes.c_char, int_t, ctypes.c_void_p,
                         int_t, ctypes.c_void_p]
        return func
    return None


def _call(func: Any, A: np.ndarray) -> np.ndarray:
    """Eigenvalues of the symmetric ``A`` (destroyed; Fortran- or C-contiguous)."""
    n = A.shape[0]
    w = np.empty(n, dtype=np.float64)
    # column-major storage: a C-ordered symmetric matrix is its own transpose
    info = func(_COL_MAJOR, b"N", b"L", n, A.ctypes.data, n, w.ctypes.data)
    if info != 0:  # A is already overwritten: no silent fallback on a destroyed matrix
        raise np.linalg.LinAlgError(
            f"LAPACK dsyevd_2stage failed (info={info}) on a {n} x {n} matrix")
    return w


def _self_test(func: Any) -> bool:
    rng = np.random.default_rng(12345)
    for n in (1, 7, 130):
        M = rng.standard_normal((n, n))
        M = M + M.T
        expected = scipy.linalg.eigvalsh(M)
        try:
            got = _call(func, np.array(M, order="F"))
        except np.linalg.LinAlgError:
            return False
        if not np.allclose(got, expected, rtol=1e-12, atol=1e-12 * n):
            return False
    return True


def _find() -> Any:
    global _solver, _searched
    with _lock:
        if not _searched:
            _searched = True
            try:
                for path in _candidate_libraries():
                    func = _bind(path)
                    if func is not None and _self_test(func):
                        _solver = func
                        break
            except Exception:  # pragma: no cover - any surprise means: use scipy
                _solver = None
    return _solver


def available() -> bool:
    """Whether the two-stage solver was found and passed its self-test."""
    return _find() is not None


def eigvalsh_2stage(A: np.ndarray) -> np.ndarray | None:
    """All eigenvalues (ascending) of the symmetric float64 ``A``, destroying it.

    ``A`` must be square and C- or Fortran-contiguous (only one triangle is
    read). Returns ``None``, with ``A`` untouched, when the solver is
    unavailable or ``A`` is not a writeable contiguous float64 array; the
    caller then uses ``scipy.linalg.eigvalsh``. A LAPACK failure raises
    ``numpy.linalg.LinAlgError`` (as scipy's solver does).
    """
    func = _find()
    if func is None:
        return None
    if A.dtype != np.float64 or not (A.flags.c_contiguous or A.flags.f_contiguous) \
            or not A.flags.writeable:
        return None
    return _call(func, A)
