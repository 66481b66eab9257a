"""Row blocks in threads, each with single-threaded BLAS.

OpenBLAS's worker threads spin for a while after every multi-threaded call,
waiting for more work; so do numba's after a parallel kernel. When a
pipeline alternates the two (a Gram product, then a numba pass over it), each
library's idle threads take cycles from the other's busy ones. So such a
pipeline runs as row blocks side by side, one thread each, BLAS and numba
kernels single-threaded inside a block: the exact neighbour search and the
dense kernels do (what it saves is measured in docs/performance.md, "Exact
path vs the reference implementation").

:func:`map_row_blocks` runs a function over consecutive row blocks in
``numba.get_num_threads()`` threads with BLAS limited to one thread, the
function's numba kernels running their serial twins; :func:`gram` is the
Gram product ``A @ B.T`` computed that way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numba
import numpy as np
import threadpoolctl

__all__ = ["map_row_blocks", "gram", "kernels", "Scratch"]


class Scratch(threading.local):
    """A work array per thread (float64 unless told), reused across the blocks it runs.

    Large arrays are mapped fresh from the OS on every allocation, and every
    page is faulted in and zeroed on first touch; reusing one buffer per
    thread pays that once.
    """

    def __init__(self, dtype: Any = np.float64) -> None:
        self.dtype = dtype
        self.buf = np.empty(0, dtype=dtype)

    def array(self, rows: int, cols: int) -> np.ndarray:
        """Return a (rows, cols) C-ordered view of this thread's buffer (contents undefined)."""
        if self.buf.size < rows * cols:
            self.buf = np.empty(rows * cols, dtype=self.dtype)
        return self.buf[:rows * cols].reshape(rows, cols)


def kernels(serial: bool, *funcs: Any) -> tuple[Any, ...]:
    """Return row-parallel kernels as given, or their serial twins (inside worker threads)."""
    return tuple(k.serial for k in funcs) if serial else funcs


def map_row_blocks(fn: Callable[[int, int, bool], Any], n_rows: int, block: int
                   ) -> Iterator[Any]:
    """Yield ``fn(lo, hi, serial)`` for consecutive blocks of ``block`` rows, in order.

    With more than one numba thread (and more than one block) the blocks run
    side by side in that many threads with BLAS on one thread, and ``serial``
    is True (``fn`` should then call serial kernels, see :func:`kernels`).
    Otherwise they run here, one after another, with ``serial`` False.
    Results come back in block order whatever the threads' timing.
    """
    bounds = [(lo, min(lo + block, n_rows)) for lo in range(0, n_rows, block)]
    threads = numba.get_num_threads()
    if threads <= 1 or len(bounds) <= 1:
        for lo, hi in bounds:
            yield fn(lo, hi, False)
        return
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"), \
            ThreadPoolExecutor(max_workers=threads) as pool:
        yield from pool.map(lambda b: fn(b[0], b[1], True), bounds)


def gram(A: np.ndarray, B: np.ndarray | None = None) -> np.ndarray:
    """Return ``A @ B.T`` (``B`` defaults to ``A``) as a new C-ordered float64 array.

    Computed as one row block per numba thread (:func:`map_row_blocks`).
    """
    B = A if B is None else B
    out = np.empty((A.shape[0], B.shape[0]), dtype=np.float64)
    threads = max(1, numba.get_num_threads())
    if threads == 1 or A.shape[0] < 2 * threads:
        np.matmul(A, B.T, out=out)
        return out

    def run(lo: int, hi: int, serial: bool) -> None:
        np.matmul(A[lo:hi], B.T, out=out[lo:hi])

    for _ in map_row_blocks(run, A.shape[0], -(-A.shape[0] // threads)):
        pass
    return out
