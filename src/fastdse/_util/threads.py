"""Threads: what ``n_jobs`` means, and numba and BLAS thread counts set for a block.

One rule for every ``n_jobs`` in fastdse: it is the number of cores a call may use.
``None`` means all of them (numba's thread count, ``NUMBA_NUM_THREADS``), a positive
integer that many (at most all), and a negative one counts back from all of them as in
scikit-learn (``-1``: all, ``-2``: all but one). :func:`fastdse._util.validation.check_n_jobs`
validates it; :func:`resolve_threads` turns it into a thread count. A DSE call spends the
cores on numba's and BLAS's threads; DSMI spends them on concurrent DSE evaluations
(``fastdse._util.parallel``), each single-threaded when several run at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numba
import threadpoolctl

__all__ = ["max_threads", "resolve_threads", "numba_threads", "compute_threads",
           "SERIAL_MAX_N", "serial_when_small"]

#: Problems of at most this many points run on one thread (numba and BLAS), in the exact
#: and the approximate builder alike: their kernel pass, Gram product and eigenvalue solver
#: are too short to gain from a second thread, whose start-up and the two libraries' idle
#: spinning cost more (docs/benchmarks/small_exact.md).
SERIAL_MAX_N = 600

_controller: threadpoolctl.ThreadpoolController | None = None


def max_threads() -> int:
    """Numba's thread count at start-up: the cores fastdse may use."""
    return int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]  # set at run time


def resolve_threads(n_jobs: int | None) -> int:
    """Return the number of threads for a validated ``n_jobs`` (see the module docstring)."""
    top = max_threads()
    if n_jobs is None:
        return top
    if n_jobs > 0:
        return min(n_jobs, top)
    return max(1, top + 1 + n_jobs)


@contextlib.contextmanager
def numba_threads(n_jobs: int | None) -> Iterator[None]:
    """Run numba kernels on ``resolve_threads(n_jobs)`` threads inside the block, then restore.

    ``None`` keeps numba's current setting.
    """
    if n_jobs is None:
        yield
        return
    old = numba.get_num_threads()
    numba.set_num_threads(resolve_threads(n_jobs))
    try:
        yield
    finally:
        numba.set_num_threads(old)


def _blas_controller() -> threadpoolctl.ThreadpoolController:
    """Return the process's BLAS libraries, inspected once.

    numpy's and scipy's are loaded when fastdse is. A limit through this controller costs
    microseconds, where a fresh ``threadpool_limits`` inspects the process each time
    (~0.3 ms).
    """
    global _controller
    if _controller is None:
        _controller = threadpoolctl.ThreadpoolController()
    return _controller


@contextlib.contextmanager
def serial_when_small(n: int) -> Iterator[bool]:
    """Run the block on one numba and one BLAS thread when ``n <= SERIAL_MAX_N``, then restore.

    Yields whether it does.
    """
    if n > SERIAL_MAX_N:
        yield False
        return
    with compute_threads(1):
        yield True


@contextlib.contextmanager
def compute_threads(threads: int, blas_threads: int | None = None) -> Iterator[None]:
    """Run numba kernels on ``threads`` threads and BLAS on ``blas_threads`` (default the same).

    Both are restored afterwards.
    """
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        blas = threads if blas_threads is None else blas_threads
        with _blas_controller().limit(limits=blas, user_api="blas"):
            yield
    finally:
        numba.set_num_threads(previous)
