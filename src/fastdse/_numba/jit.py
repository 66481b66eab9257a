"""The one JIT policy for fastdse's numba kernels.

Every kernel is compiled with ``cache=True`` (compiled once per machine, then
loaded from disk), ``nogil=True`` (threads from joblib or a thread pool can run
kernels side by side) and ``fastmath=False`` (kernels meet ``log(0)`` and
``exp(-inf)``; fastmath would let LLVM assume they never happen).

Row-parallel kernels (:func:`pjit`) are compiled twice: with ``parallel=True``
and as a serial twin. A call runs the serial twin when its largest array has
fewer than :data:`PARALLEL_MIN_SIZE` elements or numba has one thread: a
parallel launch costs little on an idle machine, but when the other cores
are busy each launch waits for a time slice, and the Lanczos recurrence makes
thousands of small launches: on a loaded machine small problems run many times
faster serially.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from typing import Any, Literal, TypedDict, cast

import numba

__all__ = ["jit", "jit_sum", "pjit", "PARALLEL_MIN_SIZE"]


class _JitOptions(TypedDict):
    cache: bool
    nogil: bool
    fastmath: bool
    error_model: Literal["python", "numpy"]


_OPTIONS: _JitOptions = dict(cache=True, nogil=True, fastmath=False, error_model="numpy")

#: Calls whose largest array argument is smaller than this run serially.
PARALLEL_MIN_SIZE = 200_000

jit = numba.njit(**_OPTIONS)
"""Decorator for serial kernels."""

jit_sum = numba.njit(cache=True, nogil=True, error_model="numpy",
                     fastmath={"reassoc", "contract"})
"""Decorator for small reduction helpers with no ``log``/``exp`` (sums of products).

Only reassociation and fused multiply-add are allowed, so LLVM can vectorise
the sum (distance loops run several times faster); no NaN/inf assumptions.
The result differs from a strict left-to-right sum by rounding and is
deterministic for a given build.
"""


def _renamed(func: types.FunctionType, suffix: str) -> types.FunctionType:
    """Copy ``func`` under another name (numba's cache is keyed by the name)."""
    twin = types.FunctionType(
        func.__code__, func.__globals__, func.__name__ + suffix, func.__defaults__,
        func.__closure__,
    )
    twin.__qualname__ = func.__qualname__ + suffix
    twin.__module__ = func.__module__
    twin.__doc__ = func.__doc__
    return twin


class _ParallelKernel:
    """A kernel compiled as a row-parallel and a serial version; picks one per call."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self.parallel = numba.njit(parallel=True, **_OPTIONS)(func)
        # a ``def`` is a FunctionType at run time; mypy types it as a plain Callable
        self.serial = numba.njit(**_OPTIONS)(
            _renamed(cast(types.FunctionType, func), "__serial")
        )
        functools.update_wrapper(self, func)

    def __call__(self, *args: Any) -> Any:
        largest = max((getattr(a, "size", 0) for a in args), default=0)
        if largest < PARALLEL_MIN_SIZE or numba.get_num_threads() == 1:
            return self.serial(*args)
        return self.parallel(*args)


def pjit(func: Callable[..., Any]) -> _ParallelKernel:
    """Decorate a kernel that uses ``numba.prange`` over rows (see the module docstring)."""
    return _ParallelKernel(func)
