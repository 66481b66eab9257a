"""Independent tasks through joblib: threads, processes, or a Dask cluster.

:func:`run_tasks` is the one place where fastdse fans work out. It asks joblib
for a ``Parallel`` with a *soft* backend hint (:data:`PREFER`), so an active
``joblib.parallel_config(backend=...)`` / ``joblib.parallel_backend(...)``
context wins: inside ``with joblib.parallel_backend("dask"):`` the same call
runs on a ``dask.distributed`` cluster.

Large arrays are passed as the same Python objects to every task, so each
backend ships them once per call, not once per task: the threading backend
shares memory; loky memory-maps every array above 1 MB into a temporary file
once (keyed by the object); joblib's Dask backend scatters every argument
above 1 kB to the cluster once per call (keyed by the object) and hands the
tasks futures, and reuses futures scattered beforehand with
``parallel_backend("dask", scatter=[Z])``.

When more than one task runs at a time, every task runs its numba kernels and
BLAS on one thread (the kernels release the GIL, so threads do run side by
side), which avoids oversubscribing the cores. Results do not depend on the
backend or on the order in which tasks finish: each task carries its own seed
and results come back in task order.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Sequence
from typing import Any

import joblib
import threadpoolctl

from fastdse._util.progress import tqdm  # tqdm.auto: widget bars in notebooks
from fastdse._util.threads import max_threads
from fastdse._util.validation import describe

__all__ = ["PREFER", "cap_n_jobs", "outer_n_jobs", "show_progress", "run_tasks"]

#: joblib's backend hint when no backend context is active ("threads" or "processes").
#: Measured on DSMI (benchmarks/bench_dsmi_scale.py, docs/benchmarks/dsmi_scale.md).
PREFER = "threads"


def outer_n_jobs(n_jobs: int | None) -> int:
    """Tasks that may run at once with ``n_jobs`` under the active joblib backend."""
    return int(joblib.effective_n_jobs(n_jobs))


def show_progress(progress: Any) -> bool:
    """Whether to draw a progress bar: ``None`` means only when stderr is a terminal."""
    if progress is None:
        stream = sys.stderr
        try:
            return bool(stream is not None and stream.isatty())
        except (AttributeError, ValueError):  # replaced or closed stream
            return False
    if isinstance(progress, bool):
        return progress
    raise TypeError(f"progress must be None, True or False; got {describe(progress)}")


def cap_n_jobs(n_jobs: int | None, n_tasks: int) -> int | None:
    """``n_jobs`` for ``n_tasks`` tasks: a positive count at most the cores and the tasks.

    More workers than cores only contend (each task runs on one core), and more than
    tasks start idle threads; a count of thousands exhausts the process. ``None`` and
    negative values are joblib's to resolve (under a Dask backend: the cluster's threads).
    """
    if n_jobs is None or n_jobs < 0:
        return n_jobs
    return max(1, min(n_jobs, max_threads(), n_tasks))


def run_tasks(
    func: Callable[..., Any],
    shared: Sequence[Any],
    tasks: Sequence[Any],
    *,
    n_jobs: int | None,
    progress: bool,
    desc: str,
    unit: str = "task",
) -> list[Any]:
    """``[func(*shared, task) for task in tasks]``, through joblib, in task order.

    Parameters
    ----------
    func : callable
        A module-level function (picklable for process and Dask backends).
    shared : sequence
        Arguments common to every task (large arrays): the same objects are
        passed to every call so that backends send them once.
    tasks : sequence
        One small, picklable description per call.
    n_jobs : int or None
        joblib's ``n_jobs`` (None: 1, or the active backend context's value).
    progress : bool
        Draw a :mod:`tqdm.auto` bar on stderr (a widget in a notebook), advanced as
        results arrive.
    desc, unit : str
        Label and unit of the progress bar.
    """
    outer = outer_n_jobs(n_jobs)
    bar = tqdm(total=len(tasks), desc=desc, unit=unit, disable=not progress, file=sys.stderr,
               dynamic_ncols=True)
    results: list[Any] = []
    with contextlib.ExitStack() as stack:
        stack.callback(bar.close)
        if outer > 1:
            # tasks of the threading backend share this process's BLAS pool: one thread each
            stack.enter_context(threadpoolctl.threadpool_limits(limits=1, user_api="blas"))
        parallel = joblib.Parallel(n_jobs=n_jobs, prefer=PREFER, return_as="generator")
        for result in parallel(joblib.delayed(func)(*shared, task) for task in tasks):
            results.append(result)
            bar.update(1)
    return results
