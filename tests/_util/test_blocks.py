"""Row blocks in threads (fastdse._util.blocks)."""

from __future__ import annotations

import numba
import numpy as np
import pytest
import threadpoolctl

from fastdse._numba import sparse as _sparse_jit
from fastdse._util import blocks as _blocks
from fastdse._util.threads import numba_threads


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_gram_equals_numpy(rng, n_jobs):
    A = rng.normal(size=(301, 17))
    B = rng.normal(size=(250, 17))
    with numba_threads(n_jobs):
        np.testing.assert_allclose(_blocks.gram(A, B), A @ B.T, rtol=1e-13, atol=1e-12)
        G = _blocks.gram(A)
    np.testing.assert_allclose(G, A @ A.T, rtol=1e-13, atol=1e-12)
    assert G.flags.c_contiguous and G.shape == (301, 301)


def test_map_row_blocks_order_serial_flag_and_blas_limit():
    seen = []

    def fn(lo, hi, serial):
        blas = [i["num_threads"] for i in threadpoolctl.threadpool_info()
                if i["user_api"] == "blas"]
        seen.append((lo, hi, serial, max(blas)))
        return lo

    with numba_threads(2):
        if numba.get_num_threads() < 2:
            pytest.skip("numba has a single thread on this machine")
        out = list(_blocks.map_row_blocks(fn, 10, 3))
    assert out == [0, 3, 6, 9]  # block order, whatever the threads' timing
    assert sorted(s[:2] for s in seen) == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert all(s[2] for s in seen)  # worker threads are told to run serial kernels
    assert all(s[3] == 1 for s in seen)  # with BLAS on one thread
    with numba_threads(1):
        seen.clear()
        assert list(_blocks.map_row_blocks(fn, 10, 3)) == [0, 3, 6, 9]
    assert not any(s[2] for s in seen)  # one thread: here, parallel kernels allowed


def test_map_row_blocks_propagates_worker_errors():
    def fn(lo, hi, serial):
        if lo == 3:
            raise ValueError("block 3 failed")
        return lo

    for jobs in (1, 2):
        with numba_threads(jobs), pytest.raises(ValueError, match="block 3 failed"):
            list(_blocks.map_row_blocks(fn, 10, 3))


def test_kernels_picks_serial_twins():
    (par,) = _blocks.kernels(False, _sparse_jit.row_mass)
    (ser,) = _blocks.kernels(True, _sparse_jit.row_mass)
    assert par is _sparse_jit.row_mass and ser is _sparse_jit.row_mass.serial


def test_scratch_reuses_one_buffer_per_thread():
    s = _blocks.Scratch()
    a = s.array(4, 5)
    a[:] = 1.0
    b = s.array(2, 3)
    assert b.base is s.buf or np.shares_memory(a, b)
    assert s.array(10, 10).shape == (10, 10) and s.buf.size == 100
