"""Thread counts for a block of work (fastdse._util.threads)."""

from __future__ import annotations

import numba
import numpy as np
import pytest
import threadpoolctl

import fastdse
from fastdse import modes
from fastdse._util import threads


def _blas_threads() -> set[int]:
    return {lib["num_threads"] for lib in threadpoolctl.threadpool_info()
            if lib["user_api"] == "blas"}


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two numba threads")
def test_small_problems_run_on_one_thread_and_the_counts_come_back():
    before_numba, before_blas = numba.get_num_threads(), _blas_threads()
    with threads.serial_when_small(threads.SERIAL_MAX_N):
        assert numba.get_num_threads() == 1 and _blas_threads() == {1}
    assert numba.get_num_threads() == before_numba and _blas_threads() == before_blas
    with threads.serial_when_small(threads.SERIAL_MAX_N + 1):  # large: left as they are
        assert numba.get_num_threads() == before_numba and _blas_threads() == before_blas


@pytest.mark.parametrize("mode, builder", [("exact", "_build_exact"),
                                           ("approx", "_build_approx")])
def test_builders_run_small_problems_serially(rng, monkeypatch, mode, builder):
    seen = []
    real = getattr(modes, builder)

    def spy(*args):
        seen.append((numba.get_num_threads(), _blas_threads()))
        return real(*args)

    monkeypatch.setattr(modes, builder, spy)
    X = rng.normal(size=(300, 6))
    small = fastdse.dse(X, [1, 5], mode=mode, random_state=0)
    assert seen[-1] == (1, {1})
    # the same problem on every thread: the same numbers up to rounding
    monkeypatch.setattr(threads, "SERIAL_MAX_N", 0)
    threaded = fastdse.dse(X, [1, 5], mode=mode, random_state=0)
    np.testing.assert_allclose(small.value, threaded.value, rtol=1e-12, atol=0)
