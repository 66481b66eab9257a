"""fastdse's NN-descent: the rounds, the blocks and their buffers (kernels in ``_numba``).

The kernels are :mod:`fastdse._numba.nndescent` (trees, local joins, candidate
sampling) and :mod:`fastdse._numba.heaps` (the pushes into the neighbour heaps); the
module docstring of the first says why the graph depends on the data and the seed
only, not on the threads or the blocking.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numba
import numpy as np

from fastdse._numba import heaps as _heaps
from fastdse._numba import nndescent as _nnd
from fastdse._numba.jit import PARALLEL_MIN_SIZE

__all__ = ["nn_descent"]

#: Pairs a block of a pass keeps at most (buffers of 13 bytes a pair: 52 MiB).
_BLOCK_PAIRS = 1 << 22


#: The share of a part's buffer row a block aims to fill, from the last block's pairs
#: a row (a block ends early where a part runs out of room).
_FILL = 0.5

#: Rows whose heaps are pushed into as one bucket: 2^9 rows of 59 neighbours take
#: 270 KB (indices, distances and flags), within a core's L2 cache.
_BUCKET_SHIFT = 9


class _KeptPairs:
    """The buffers of kept pairs, and of their pushes grouped by heap, reused by every block."""

    def __init__(self, n: int, dtype: Any, parts: int) -> None:
        self.p = np.empty(_BLOCK_PAIRS, dtype=np.int32)
        self.q = np.empty(_BLOCK_PAIRS, dtype=np.int32)
        self.d = np.empty(_BLOCK_PAIRS, dtype=dtype)
        self.m = np.empty(_BLOCK_PAIRS, dtype=np.uint8)  # which heaps a pair may enter
        self.hist = np.empty((parts, ((n - 1) >> _BUCKET_SHIFT) + 1), dtype=np.int64)
        self.pushes = 0  # pushes that entered a heap since the last reset
        # (row, other, d) of the grouped pushes: grown to the largest block seen (a few
        # per cent of the pairs' buffers in practice)
        self._grouped = self._buffers(1 << 16, dtype)

    @staticmethod
    def _buffers(size: int, dtype: Any) -> tuple[np.ndarray, ...]:
        return (np.empty(size, dtype=np.int32), np.empty(size, dtype=np.int32),
                np.empty(size, dtype=dtype))

    def blocks(self, rows: int, pairs_per_row: int
               ) -> Iterator[tuple[int, tuple[np.ndarray, ...]]]:
        """Yield ``(first row, (buf_p, buf_q, buf_d, buf_m, cnt))`` for blocks of ``rows``.

        A row has at most ``pairs_per_row`` pairs; the buffers are (rows, pairs) views.
        """
        per = max(1, pairs_per_row)
        size = max(1, _BLOCK_PAIRS // per)
        cnt = np.zeros(size, dtype=np.int64)
        for first in range(0, rows, size):
            m = min(size, rows - first)
            yield first, (self.p[:m * per].reshape(m, per), self.q[:m * per].reshape(m, per),
                          self.d[:m * per].reshape(m, per), self.m[:m * per].reshape(m, per),
                          cnt[:m])

    def join(self, X: np.ndarray, idx: np.ndarray, dist: np.ndarray, flag: np.ndarray,
             new_c: np.ndarray, old_c: np.ndarray) -> None:
        """Join a round's rows locally, in blocks, and push each block's kept pairs.

        Each part (thread) fills its own buffer row with the pairs of consecutive rows;
        a block is as many rows as fill about :data:`_FILL` of each at the last block's
        pairs a row (a few per cent of the most a row can keep), so that a block
        brings each heap several pushes. A part that runs out of room stops at a row;
        the block then ends there: the pairs the later parts made are dropped and
        their rows joined again in the next block, so every heap still receives its
        pushes once each, in the order of the rows.
        """
        n = idx.shape[0]
        parts = self.hist.shape[0]
        c = new_c.shape[1]
        most = c * (c - 1) // 2 + c * old_c.shape[1]  # the pairs a row can keep
        width = max(_BLOCK_PAIRS // parts, most)
        if parts * width > self.p.shape[0]:
            self.p, self.q, self.m = (np.empty(parts * width, dtype=a.dtype)
                                      for a in (self.p, self.q, self.m))
            self.d = np.empty(parts * width, dtype=self.d.dtype)
        bufs = tuple(a[:parts * width].reshape(parts, width)
                     for a in (self.p, self.q, self.d, self.m))
        cnt = np.zeros(parts, dtype=np.int64)
        reached = np.zeros(parts, dtype=np.int64)
        rows = width // most  # rows a part surely has room for
        start = 0
        while start < n:
            lo = np.minimum(start + np.arange(parts, dtype=np.int64) * rows, n)
            hi = np.minimum(lo + rows, n)
            _nnd.join_pairs(X, dist, new_c, old_c, lo, hi, *bufs, cnt, reached)
            short = np.flatnonzero(reached < hi)
            last = int(short[0]) if short.size else parts - 1
            cnt[last + 1:] = 0  # rows after the first part that ran out: the next block
            self.push(idx, dist, flag, (*bufs, cnt))
            kept_per_row = int(cnt.sum()) / max(1, int(reached[last]) - start)
            start = int(reached[last])
            rows = max(width // most, int(width * _FILL / max(kept_per_row, 1.0)))

    def push(self, idx: np.ndarray, dist: np.ndarray, flag: np.ndarray,
             bufs: tuple[np.ndarray, ...]) -> None:
        """Push a block's kept pairs into the heaps, grouped by bucket, in the pairs' order."""
        buf_p, buf_q, buf_d, buf_m, cnt = bufs
        hist = self.hist
        _heaps.count_by_bucket(buf_p, buf_q, buf_m, cnt, _BUCKET_SHIFT, hist)
        per_bucket = hist.sum(axis=0)
        total = int(per_bucket.sum())
        if total > self._grouped[0].shape[0]:
            self._grouped = self._buffers(total, self._grouped[2].dtype)
        # bucket by bucket, part by part within one: where each part's pushes begin
        start = np.cumsum(hist.T.ravel()) - hist.T.ravel()
        _heaps.scatter_by_bucket(buf_p, buf_q, buf_d, buf_m, cnt, _BUCKET_SHIFT,
                                 np.ascontiguousarray(start.reshape(hist.shape[::-1]).T),
                                 *self._grouped)
        # the parts' ranges: whole buckets, about equal numbers of pushes
        ends = np.cumsum(per_bucket)
        parts = hist.shape[0]
        cuts = np.searchsorted(ends, [total * t // parts for t in range(1, parts)])
        bounds = np.concatenate(([0], ends[cuts] if parts > 1 else [], [total])).astype(np.int64)
        counts = np.zeros(parts, dtype=np.int64)
        _heaps.push_grouped(idx, dist, flag, *self._grouped, bounds, counts)
        self.pushes += int(counts.sum())


def nn_descent(X_in: np.ndarray, k: int, seed: int, *, n_trees: int = 8, leaf_size: int = 30,
               max_candidates: int = 30, n_iters: int = 12, delta: float = 0.001,
               dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Approximate ``k`` nearest other neighbours of every row of ``X_in``.

    The distances are computed in ``dtype`` (from a copy of the points in a tree's order).

    Returns ``(indices, distances, report)``: ``(n, k + 1)`` int32 and float64 arrays,
    self first, then by ascending distance (``-1`` / ``inf`` where a list stayed short,
    which only tiny ``n`` allows), and the rounds run and pushes of the last round. The
    report's ``"order"`` is the rows' locality order
    (:func:`fastdse._numba.nndescent.tree_order`) used inside.
    """
    n = X_in.shape[0]
    # the pushes are split into this many ranges of heaps (the threads of a parallel
    # run, one when the kernels run serially); the graph does not depend on it
    parts = (1 if X_in.size < PARALLEL_MIN_SIZE or numba.get_num_threads() == 1
             else numba.get_num_threads())
    # the points in the order of the leaves of one more tree: near points get near
    # numbers, so the joins read the points and heaps from fewer places in memory
    perm = _nnd.tree_order(X_in, seed, n_trees, leaf_size)
    X = np.empty((n, X_in.shape[1]), dtype=dtype)
    _nnd.gather_rows(X_in, perm, X)
    idx = np.full((n, k), -1, dtype=np.int32)
    dist = np.full((n, k), np.inf, dtype=dtype)
    flag = np.zeros((n, k), dtype=np.uint8)
    kept = _KeptPairs(n, dtype, parts)
    # the trees, a batch at a time in parallel; their leaves joined tree by tree, in order
    pairs_per_leaf = leaf_size * (leaf_size - 1) // 2
    batch_size = max(1, numba.get_num_threads())
    for first_tree in range(0, n_trees, batch_size):
        batch = min(batch_size, n_trees - first_tree)
        order = np.empty((batch, n), dtype=np.int32)
        leaf_lo = np.empty((batch, n), dtype=np.int32)
        leaf_hi = np.empty((batch, n), dtype=np.int32)
        n_leaves = np.empty(batch, dtype=np.int64)
        _nnd.rp_forest(X, seed, first_tree, leaf_size, order, leaf_lo, leaf_hi, n_leaves)
        for tree in range(batch):
            for first, bufs in kept.blocks(int(n_leaves[tree]), pairs_per_leaf):
                _nnd.leaf_pairs(X, dist, order[tree], leaf_lo[tree], leaf_hi[tree], first,
                                 *bufs)
                kept.push(idx, dist, flag, bufs)
        del order, leaf_lo, leaf_hi
    c = min(max_candidates, k)
    new_c = np.empty((n, c), dtype=np.int32)
    old_c = np.empty((n, c), dtype=np.int32)
    rev_ptr = np.empty(n + 1, dtype=np.int64)
    rev = np.empty(n * k, dtype=np.int32)
    rev_flag = np.empty(n * k, dtype=np.uint8)
    starts = np.empty((parts, n), dtype=np.int64)  # the reverse lists' scratch
    rounds = 0
    for it in range(n_iters):
        _nnd.reverse_lists(idx, flag, rev_ptr, rev, rev_flag, starts)
        _nnd.candidates(idx, flag, rev_ptr, rev, rev_flag, new_c, old_c, seed, it)
        kept.pushes = 0
        kept.join(X, idx, dist, flag, new_c, old_c)
        rounds += 1
        if kept.pushes <= delta * n * k:
            break
    pushed = kept.pushes
    # the candidates, reverse lists, buffers and the points' copy go before the lists
    # are written out (1.1 GB at 1,000,000 x 64, which set the whole run's peak)
    del X, flag, kept, new_c, old_c, rev_ptr, rev, rev_flag, starts
    out_idx = np.empty((n, k + 1), dtype=np.int32)  # point numbers are int32 throughout
    out_dist = np.empty((n, k + 1), dtype=np.float64)
    _nnd.sorted_lists(idx, dist, perm, out_idx, out_dist)
    return out_idx, out_dist, {"rounds": rounds, "last_pushes": pushed, "order": perm}
