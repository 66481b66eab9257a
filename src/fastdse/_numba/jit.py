"""The one JIT policy for fastdse's numba kernels.

Every kernel is compiled with ``cache=True`` (compiled once per machine, then
loaded from disk; see *Where kernels are cached* below), ``nogil=True``
(threads from joblib or a thread pool can run kernels side by side) and
``fastmath=False`` (kernels meet ``log(0)`` and ``exp(-inf)``; fastmath would
let LLVM assume they never happen), except that kernels of sums of products
(:func:`jit_sum`, :func:`pjit_sum`) allow reassociation and fused multiply-add,
so that their sums are vectorised.

Row-parallel kernels (:func:`pjit`) are compiled twice: with ``parallel=True``
and as a serial twin. A call runs the serial twin when its largest array has
fewer than :data:`PARALLEL_MIN_SIZE` elements or numba has one thread: a
parallel launch costs little on an idle machine, but when the other cores
are busy each launch waits for a time slice, and the Lanczos recurrence makes
thousands of small launches: on a loaded machine small problems run many times
faster serially.

Where kernels are cached
------------------------
numba caches a function in the first writable of ``NUMBA_CACHE_DIR``, the
``__pycache__`` beside its source file and the user-wide ``~/.cache/numba``;
with none writable, ``cache=True`` raises "cannot cache function ...: no
locator available" as the kernel is decorated, so ``import fastdse`` would
fail for a non-root user of a read-only install whose home is read-only.

At import, this module asks numba whether it can cache a function of this
directory (:func:`_numba_can_cache`). If it can (the normal case) nothing
changes: no numba setting, no log line. If not, the kernels are cached in a
private directory, ``<tempdir>/fastdse-numba-cache-<uid>`` (made with mode
``0o700``, used only if it belongs to the user and no one else can write to
it: numba loads its cache files with pickle), and one INFO line on the
``"fastdse"`` logger says where. INFO, not WARNING: for the users of a shared
install this is the normal state, results are the same, and kernels still
compile once per user and machine (again if the temporary directory is
cleaned). If that directory cannot be used either, kernels are compiled in
every process, which costs seconds each time and which ``NUMBA_CACHE_DIR``
avoids: that case logs one WARNING line.

The redirection is scoped to fastdse's kernels: numba reads
``numba.config.CACHE_DIR`` only when a ``cache=True`` decorator picks the
function's cache directory, so :func:`fallback_cache` sets it around the
decorations and restores it at once (a thread decorating its own function in
that instant would cache it in the private directory too; nothing breaks).
Other libraries' and the user's numba functions keep numba's own choice;
pynndescent's import fails on such an install too, and succeeds inside
:func:`fallback_cache`, which caches its functions in the same directory.
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import logging
import os
import stat
import tempfile
import types
from collections.abc import Callable, Iterator
from typing import Any, Literal, TypedDict, cast

import numba

__all__ = ["jit", "jit_sum", "pjit", "pjit_sum", "PARALLEL_MIN_SIZE", "fallback_cache"]

_log = logging.getLogger("fastdse")


def _probe() -> None:
    """Stand-in for a kernel of this directory: decorated, never compiled."""


def _numba_can_cache() -> bool:
    """Whether numba finds a writable cache for the functions of this directory.

    Decorating with ``cache=True`` makes numba choose the cache directory (and
    raise its "no locator available" error) without compiling anything.
    """
    try:
        numba.njit(cache=True)(_probe)
    except RuntimeError:
        return False
    return True


def _private_temp_dir() -> str | None:
    """``<tempdir>/fastdse-numba-cache-<uid>``, created with mode 0o700; None if unusable."""
    try:
        user = os.getuid() if hasattr(os, "getuid") else getpass.getuser()
        path = os.path.join(tempfile.gettempdir(), f"fastdse-numba-cache-{user}")
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o700)
        info = os.lstat(path)
    except OSError:
        return None
    # numba loads its cache files with pickle: a directory that another user owns or
    # can write to could hold code of theirs
    private = os.name != "posix" or (info.st_uid == os.getuid() and not info.st_mode & 0o022)
    return path if stat.S_ISDIR(info.st_mode) and private else None


@contextlib.contextmanager
def _numba_cache_dir(path: str) -> Iterator[None]:
    """Set ``numba.config.CACHE_DIR`` to ``path`` for the duration."""
    config: Any = numba.config  # its settings are made from the environment at run time
    saved = config.CACHE_DIR
    config.CACHE_DIR = path
    try:
        yield
    finally:
        config.CACHE_DIR = saved


def _choose_cache() -> tuple[bool, str | None]:
    """``(cache, directory)``: numba's own choice, the private directory, or no cache.

    ``directory`` is None unless the kernels must be redirected; logs one line
    when numba's own choice does not work (see the module docstring).
    """
    if _numba_can_cache():
        return True, None
    directory = _private_temp_dir()
    if directory is not None:
        with _numba_cache_dir(directory):
            usable = _numba_can_cache()
        if usable:
            _log.info("numba finds no writable cache directory for fastdse's kernels "
                      "(NUMBA_CACHE_DIR, their __pycache__, ~/.cache/numba); caching them "
                      "in %s (set NUMBA_CACHE_DIR to choose another)", directory)
            return True, directory
    _log.warning("numba finds no writable cache directory for fastdse's kernels, and "
                 "no private temporary one could be made: they are compiled in every "
                 "process (set NUMBA_CACHE_DIR to a writable directory to avoid this)")
    return False, None


_CACHE, _CACHE_DIR = _choose_cache()


@contextlib.contextmanager
def fallback_cache() -> Iterator[None]:
    """Cache the numba functions decorated inside where fastdse caches its kernels.

    Does nothing in the normal case; when fastdse fell back to its private
    temporary directory, numba's cache points there for the duration (e.g.
    around ``import pynndescent``).
    """
    if _CACHE_DIR is None:
        yield
        return
    with _numba_cache_dir(_CACHE_DIR):
        yield


class _JitOptions(TypedDict):
    cache: bool
    nogil: bool
    fastmath: bool | set[str]
    error_model: Literal["python", "numpy"]


_OPTIONS: _JitOptions = dict(cache=_CACHE, nogil=True, fastmath=False, error_model="numpy")

_SUM_OPTIONS: _JitOptions = dict(cache=_CACHE, nogil=True, error_model="numpy",
                                 fastmath={"reassoc", "contract"})

#: Calls whose largest array argument is smaller than this run serially.
PARALLEL_MIN_SIZE = 200_000


def jit(func: Callable[..., Any]) -> Any:
    """Decorate a serial kernel."""
    with fallback_cache():
        return numba.njit(**_OPTIONS)(func)


def jit_sum(func: Callable[..., Any]) -> Any:
    """Decorate a small reduction helper with no ``log``/``exp`` (sums of products).

    Only reassociation and fused multiply-add are allowed, so LLVM can vectorise
    the sum (distance loops run several times faster); no NaN/inf assumptions.
    The result differs from a strict left-to-right sum by rounding and is
    deterministic for a given build.
    """
    with fallback_cache():
        return numba.njit(**_SUM_OPTIONS)(func)


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

    def __init__(self, func: Callable[..., Any], options: _JitOptions = _OPTIONS) -> None:
        with fallback_cache():
            self.parallel = numba.njit(parallel=True, **options)(func)
            # a ``def`` is a FunctionType at run time; mypy types it as a plain Callable
            self.serial = numba.njit(**options)(
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


def pjit_sum(func: Callable[..., Any]) -> _ParallelKernel:
    """Decorate a row-parallel kernel of sums of products (as :func:`jit_sum`: no ``log``/``exp``).

    Reassociation and fused multiply-add are allowed in the whole kernel, so that sums
    written out in its loops are vectorised.
    """
    return _ParallelKernel(func, _SUM_OPTIONS)
