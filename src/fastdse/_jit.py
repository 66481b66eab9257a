"""The one JIT policy for fastdse's numba kernels.

Every kernel is compiled with ``cache=True`` (compiled once per machine, then
loaded from disk), ``nogil=True`` (threads from joblib or a thread pool can run
kernels side by side) and ``fastmath=False`` (kernels meet ``log(0)`` and
``exp(-inf)``; fastmath would let LLVM assume they never happen).
"""

from __future__ import annotations

import numba

__all__ = ["jit", "pjit"]

jit = numba.njit(cache=True, nogil=True, fastmath=False, error_model="numpy")
"""Decorator for serial kernels."""


def pjit(func):
    """Decorate a kernel that uses ``numba.prange`` over rows."""
    return numba.njit(cache=True, nogil=True, fastmath=False, error_model="numpy",
                      parallel=True)(func)
