"""NN-descent for the Euclidean distance, compiled once per machine (``cache=True``).

The all-points k-NN graph of Dong, Charikar and Li (WWW 2011), started from the leaves
of random-projection trees: every point's list is a bounded max-heap (largest
distance at the root), and each round joins, for every point, its sampled new
neighbours with each other and with its old ones, pushing every pair into both
heaps. Distances are squared Euclidean in float32 (float64 on request; the caller
recomputes exact float64 distances of the final lists).

Threads and determinism. A pass over pairs (the leaves' pairs, or the rows' local
joins) runs in fixed blocks of rows (or leaves) in two steps: first every pair of the
block gets its distance, in parallel, and is kept if it is closer than the current
root of either of its two heaps (the heaps are only read in this step, so which pairs
are kept does not depend on the threads); then the kept pairs are pushed into the
heaps by the threads that own the rows (row ``i`` belongs to thread ``i % T``), each
thread scanning the kept pairs in the order they were made. A row therefore receives
the same pushes in the same order for any number of threads (the order of a single
thread pushing every pair as it comes, since a pair not closer than a root when the
block began cannot enter that heap later in the block), and every random choice (tree
splits, candidate sampling) is a hash of the seed and the indices: the graph depends on
the data and the seed only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numba
import numpy as np
from numba import prange

from fastdse._numba.jit import PARALLEL_MIN_SIZE, jit, jit_sum, pjit

__all__ = ["nn_descent", "tree_order"]

@jit
def _mix(a, b, c):  # pragma: no cover - jitted
    """Hash three integers to 64 bits (the splitmix64 finaliser)."""
    z = np.uint64(a) * np.uint64(0x9E3779B97F4A7C15)
    z ^= np.uint64(b) * np.uint64(0xBF58476D1CE4E5B9)
    z ^= np.uint64(c) * np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return z


@jit_sum
def _d2(X, i, j):  # pragma: no cover - jitted
    """Squared Euclidean distance of rows ``i`` and ``j`` (sums in their precision, vectorised)."""
    acc = np.float32(0.0)
    for f in range(X.shape[1]):
        diff = X[i, f] - X[j, f]
        acc += diff * diff
    return acc


@jit
def _push(idx, dist, flag, i, j, d, new):  # pragma: no cover - jitted
    """Push ``j`` at distance ``d`` into the max-heap of row ``i``; 1 if it entered.

    The heap keeps the smallest keys ``dist`` of the row (largest at the root) and moves
    ``idx`` and ``flag`` along.
    """
    if d >= dist[i, 0]:
        return 0
    k = idx.shape[1]
    for m in range(k):
        if idx[i, m] == j:
            return 0
    pos = 0
    while True:
        c = 2 * pos + 1
        if c >= k:
            break
        if c + 1 < k and dist[i, c + 1] > dist[i, c]:
            c += 1
        if dist[i, c] <= d:
            break
        idx[i, pos] = idx[i, c]
        dist[i, pos] = dist[i, c]
        flag[i, pos] = flag[i, c]
        pos = c
    idx[i, pos] = j
    dist[i, pos] = d
    flag[i, pos] = new
    return 1


@pjit
def _push_kept(idx, dist, flag, buf_p, buf_q, buf_d, cnt, counts):  # pragma: no cover
    """Push the kept pairs into both heaps, each of ``T`` owners into its rows, in order.

    ``counts[t]`` grows by the pushes that entered owner ``t``'s heaps.
    """
    T = counts.shape[0]
    for t in prange(T):
        c = 0
        for r in range(cnt.shape[0]):
            for m in range(cnt[r]):
                p = buf_p[r, m]
                q = buf_q[r, m]
                d = buf_d[r, m]
                # the roots are checked here too: most pushes fail, and a call costs
                if p % T == t and d < dist[p, 0]:
                    c += _push(idx, dist, flag, p, q, d, 1)
                if q % T == t and d < dist[q, 0]:
                    c += _push(idx, dist, flag, q, p, d, 1)
        counts[t] += c


@jit
def _rp_tree(X, seed, tree, leaf_size, order, leaf_lo, leaf_hi):  # pragma: no cover - jitted
    """Split ``order`` (all points) by random hyperplanes into leaves of <= leaf_size.

    Returns the number of leaves; leaf ``l`` is ``order[leaf_lo[l]:leaf_hi[l]]``.
    """
    n = X.shape[0]
    stack_lo = np.empty(n, dtype=np.int64)
    stack_hi = np.empty(n, dtype=np.int64)
    side = np.empty(n, dtype=np.float32)
    top = 0
    stack_lo[0] = 0
    stack_hi[0] = n
    top = 1
    n_leaves = 0
    step = 0
    while top > 0:
        top -= 1
        lo = stack_lo[top]
        hi = stack_hi[top]
        size = hi - lo
        if size <= leaf_size:
            leaf_lo[n_leaves] = lo
            leaf_hi[n_leaves] = hi
            n_leaves += 1
            continue
        step += 1
        h = _mix(seed, tree, step)
        a = order[lo + np.int64(h % np.uint64(size))]
        b = order[lo + np.int64((h >> np.uint64(32)) % np.uint64(size))]
        if a == b:
            b = order[lo + (np.int64(h % np.uint64(size)) + 1) % size]
        # the hyperplane halfway between points a and b
        for m in range(lo, hi):
            p = order[m]
            s = np.float32(0.0)
            for f in range(X.shape[1]):
                s += (X[p, f] - np.float32(0.5) * (X[a, f] + X[b, f])) * (X[a, f] - X[b, f])
            side[p] = s
        i = lo
        j = hi - 1
        while i <= j:
            if side[order[i]] > 0:
                i += 1
            else:
                t = order[i]
                order[i] = order[j]
                order[j] = t
                j -= 1
        mid = i
        if mid == lo or mid == hi:  # every point on one side (ties): split in halves
            mid = lo + size // 2
        stack_lo[top] = lo
        stack_hi[top] = mid
        top += 1
        stack_lo[top] = mid
        stack_hi[top] = hi
        top += 1
    return n_leaves


@pjit
def _rp_forest(X, seed, first_tree, leaf_size, order, leaf_lo, leaf_hi, n_leaves
               ):  # pragma: no cover - jitted
    """Build trees ``first_tree + 0, 1, ...`` (one a row of ``order``), in parallel."""
    for r in prange(order.shape[0]):
        for m in range(order.shape[1]):
            order[r, m] = m
        n_leaves[r] = _rp_tree(X, seed, first_tree + r, leaf_size, order[r], leaf_lo[r],
                               leaf_hi[r])


@pjit
def _leaf_pairs(X, dist, order, leaf_lo, leaf_hi, first, buf_p, buf_q, buf_d, cnt
                ):  # pragma: no cover - jitted
    """Keep the pairs of leaves ``first, first + 1, ...`` (one a row of the buffers)."""
    for r in prange(cnt.shape[0]):
        lo = leaf_lo[first + r]
        hi = leaf_hi[first + r]
        m = 0
        for a in range(lo, hi):
            p = order[a]
            for b in range(a + 1, hi):
                q = order[b]
                # kept if closer than either heap's root; written out here and in
                # _join_pairs: as a numba helper taking the buffers this step made the
                # loop 2.8x slower in the parallel build and 9x in the serial one
                # (30,000 x 64, docs/benchmarks/knn_graph.md)
                d = _d2(X, p, q)
                if d < dist[p, 0] or d < dist[q, 0]:
                    buf_p[r, m] = p
                    buf_q[r, m] = q
                    buf_d[r, m] = d
                    m += 1
        cnt[r] = m


@jit
def _reverse_lists(idx, flag, rev_ptr, rev, rev_flag):  # pragma: no cover - jitted
    """Every row's reverse neighbours (the rows listing it) with their flags, in row order.

    CSR layout: the rows listing ``j`` are ``rev[rev_ptr[j]:rev_ptr[j + 1]]``, ascending,
    and ``rev_flag`` holds the flag each of them gives ``j``.
    """
    n, k = idx.shape
    rev_ptr[:] = 0
    for i in range(n):
        for m in range(k):
            if idx[i, m] >= 0:
                rev_ptr[idx[i, m] + 1] += 1
    for j in range(n):
        rev_ptr[j + 1] += rev_ptr[j]
    fill = rev_ptr[:n].copy()
    for i in range(n):
        for m in range(k):
            j = idx[i, m]
            if j >= 0:
                rev[fill[j]] = i
                rev_flag[fill[j]] = flag[i, m]
                fill[j] += 1


@jit
def _pair_priority(seed, it, i, j, n):  # pragma: no cover - jitted
    """Return the random priority of the pair ``{i, j}`` in round ``it`` (symmetric)."""
    return _mix(seed, it, np.int64(min(i, j)) * n + max(i, j))


@pjit
def _candidates(idx, flag, rev_ptr, rev, rev_flag, new_c, old_c, seed, it
                ):  # pragma: no cover - jitted
    """Sample every row's new and old candidates, then flag its sampled new neighbours old.

    A row's candidates are its neighbours and its reverse neighbours (new or old by the
    flag of their edge); it keeps the ``c`` of smallest random priority of each kind
    (a point both neighbour and reverse neighbour counts once: its pair has one
    priority). Each row reads the other rows' flags from
    ``rev_flag`` (taken before the round) and writes only its own rows of ``new_c``,
    ``old_c`` and ``flag``: no thread waits for or depends on another.
    """
    n, k = idx.shape
    c = new_c.shape[1]
    for i in prange(n):
        # a row with no new candidate has no pair to join: nothing to sample or flag
        fresh = 0  # (a slot flagged new holds a point: flags are set by pushes only)
        for a in range(k):
            fresh += flag[i, a]
        for e in range(rev_ptr[i], rev_ptr[i + 1]):
            fresh += rev_flag[e]
        if fresh == 0:
            new_c[i, :] = -1
            old_c[i, :] = -1
            continue
        size = k + rev_ptr[i + 1] - rev_ptr[i]
        ids = np.empty(size, dtype=np.int64)
        kind = np.empty(size, dtype=np.uint8)
        pri = np.empty(size, dtype=np.uint64)
        m = 0
        for a in range(k):
            if idx[i, a] >= 0:
                ids[m] = idx[i, a]
                kind[m] = flag[i, a]
                m += 1
        for e in range(rev_ptr[i], rev_ptr[i + 1]):
            ids[m] = rev[e]
            kind[m] = rev_flag[e]
            m += 1
        for e in range(m):
            pri[e] = _pair_priority(seed, it, i, ids[e], n)
        order = np.argsort(pri[:m], kind="mergesort")
        got_new = 0
        got_old = 0
        for e in range(m):
            j = ids[order[e]]
            h = kind[order[e]]
            # a point listed twice has one priority: skip it if an entry of the same
            # kind and priority before it was the same point
            dup = False
            b = e - 1
            while b >= 0 and pri[order[b]] == pri[order[e]]:
                if ids[order[b]] == j and kind[order[b]] == h:
                    dup = True
                    break
                b -= 1
            if dup:
                continue
            if h == 1:
                if got_new < c:
                    new_c[i, got_new] = j
                    got_new += 1
            elif got_old < c:
                old_c[i, got_old] = j
                got_old += 1
        for s in range(got_new, c):
            new_c[i, s] = -1
        for s in range(got_old, c):
            old_c[i, s] = -1
        for a in range(k):
            if flag[i, a] == 1:
                for s in range(got_new):
                    if new_c[i, s] == idx[i, a]:
                        flag[i, a] = 0
                        break


@pjit
def _join_pairs(X, dist, new_c, old_c, first, buf_p, buf_q, buf_d, cnt
                ):  # pragma: no cover - jitted
    """Keep the local-join pairs of rows ``first, first + 1, ...`` (a buffer row each).

    A row's pairs: its new candidates with each other and with its old ones.
    """
    c_new = new_c.shape[1]
    c_old = old_c.shape[1]
    for r in prange(cnt.shape[0]):
        i = first + r
        m = 0
        for a in range(c_new):
            p = new_c[i, a]
            if p < 0:
                continue
            for b in range(a + 1, c_new + c_old):
                q = new_c[i, b] if b < c_new else old_c[i, b - c_new]
                if q < 0 or q == p:
                    continue
                d = _d2(X, p, q)  # kept as in _leaf_pairs
                if d < dist[p, 0] or d < dist[q, 0]:
                    buf_p[r, m] = p
                    buf_q[r, m] = q
                    buf_d[r, m] = d
                    m += 1
        cnt[r] = m


@pjit
def _sorted_lists(idx, dist, perm, out_idx, out_dist):  # pragma: no cover - jitted
    """Self first, then each heap by ascending distance (ties by index), as float64.

    Heap ``i`` is of point ``perm[i]`` and lists points by position: row ``perm[i]`` of
    the output, in the points' own numbers.
    """
    n, k = idx.shape
    for i in prange(n):
        o = perm[i]
        out_idx[o, 0] = o
        out_dist[o, 0] = 0.0
        size = 0
        for m in range(k):
            if idx[i, m] < 0:
                continue
            j = perm[idx[i, m]]
            v = np.sqrt(np.float64(dist[i, m]))
            p = size + 1
            while p > 1 and (out_dist[o, p - 1] > v or (out_dist[o, p - 1] == v
                                                        and out_idx[o, p - 1] > j)):
                out_idx[o, p] = out_idx[o, p - 1]
                out_dist[o, p] = out_dist[o, p - 1]
                p -= 1
            out_idx[o, p] = j
            out_dist[o, p] = v
            size += 1
        for m in range(size + 1, k + 1):
            out_idx[o, m] = -1
            out_dist[o, m] = np.inf


@pjit
def _gather_rows(X, rows, out):  # pragma: no cover - jitted
    """``out[r] = X[rows[r]]``, converted to ``out``'s dtype."""
    for r in prange(rows.shape[0]):
        for f in range(X.shape[1]):
            out[r, f] = X[rows[r], f]


def tree_order(X: np.ndarray, seed: int, tree: int = 0, leaf_size: int = 60) -> np.ndarray:
    """Return the rows of ``X`` in the order of the leaves of a random-projection tree.

    Rows near in space come near in this order (leaves of at most ``leaf_size`` rows,
    leaves of one branch together): kernels that visit rows in it and read their
    neighbours' rows find them in cache more often. int32, a permutation of
    ``range(n)``, a function of ``X``, ``seed`` and ``tree`` only.
    """
    n = X.shape[0]
    order = np.arange(n, dtype=np.int32)
    _rp_tree(X, seed, tree, leaf_size, order, np.empty(n, dtype=np.int32),
             np.empty(n, dtype=np.int32))
    return order


#: Pairs a block of a pass keeps at most (buffers of 12 bytes a pair: 48 MiB).
_BLOCK_PAIRS = 1 << 22


class _KeptPairs:
    """The buffers of kept pairs, reused by every block of every pass."""

    def __init__(self, dtype: Any) -> None:
        self.p = np.empty(_BLOCK_PAIRS, dtype=np.int32)
        self.q = np.empty(_BLOCK_PAIRS, dtype=np.int32)
        self.d = np.empty(_BLOCK_PAIRS, dtype=dtype)

    def blocks(self, rows: int, pairs_per_row: int
               ) -> Iterator[tuple[int, tuple[np.ndarray, ...]]]:
        """Yield ``(first row, (buf_p, buf_q, buf_d, cnt))`` for blocks of ``rows``.

        A row has at most ``pairs_per_row`` pairs; the buffers are (rows, pairs) views.
        """
        per = max(1, pairs_per_row)
        size = max(1, _BLOCK_PAIRS // per)
        cnt = np.zeros(size, dtype=np.int64)
        for first in range(0, rows, size):
            m = min(size, rows - first)
            yield first, (self.p[:m * per].reshape(m, per), self.q[:m * per].reshape(m, per),
                          self.d[:m * per].reshape(m, per), cnt[:m])


def nn_descent(X_in: np.ndarray, k: int, seed: int, *, n_trees: int = 8, leaf_size: int = 30,
               max_candidates: int = 30, n_iters: int = 12, delta: float = 0.001,
               dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Approximate ``k`` nearest other neighbours of every row of ``X_in``.

    The distances are computed in ``dtype`` (from a copy of the points in a tree's order).

    Returns ``(indices, distances, report)``: ``(n, k + 1)`` int32 and float64 arrays,
    self first, then by ascending distance (``-1`` / ``inf`` where a list stayed short,
    which only tiny ``n`` allows), and the rounds run and pushes of the last round. The
    report's ``"order"`` is the rows' locality order (:func:`tree_order`) used inside.
    """
    n = X_in.shape[0]
    # owners of rows: the threads of a parallel run (one when the kernels run serially);
    # the graph does not depend on it
    T = (1 if X_in.size < PARALLEL_MIN_SIZE or numba.get_num_threads() == 1
         else numba.get_num_threads())
    # the points in the order of the leaves of one more tree: near points get near
    # numbers, so the joins read the points and heaps from fewer places in memory
    perm = tree_order(X_in, seed, n_trees, leaf_size)
    X = np.empty((n, X_in.shape[1]), dtype=dtype)
    _gather_rows(X_in, perm, X)
    idx = np.full((n, k), -1, dtype=np.int32)
    dist = np.full((n, k), np.inf, dtype=dtype)
    flag = np.zeros((n, k), dtype=np.uint8)
    counts = np.zeros(T, dtype=np.int64)
    kept = _KeptPairs(dtype)
    # the trees, T at a time in parallel; their leaves joined tree by tree, in order
    leaf_pairs = leaf_size * (leaf_size - 1) // 2
    for first_tree in range(0, n_trees, T):
        batch = min(T, n_trees - first_tree)
        order = np.empty((batch, n), dtype=np.int32)
        leaf_lo = np.empty((batch, n), dtype=np.int32)
        leaf_hi = np.empty((batch, n), dtype=np.int32)
        n_leaves = np.empty(batch, dtype=np.int64)
        _rp_forest(X, seed, first_tree, leaf_size, order, leaf_lo, leaf_hi, n_leaves)
        for tree in range(batch):
            for first, bufs in kept.blocks(int(n_leaves[tree]), leaf_pairs):
                _leaf_pairs(X, dist, order[tree], leaf_lo[tree], leaf_hi[tree], first, *bufs)
                _push_kept(idx, dist, flag, *bufs, counts)
        del order, leaf_lo, leaf_hi
    c = min(max_candidates, k)
    new_c = np.empty((n, c), dtype=np.int32)
    old_c = np.empty((n, c), dtype=np.int32)
    rev_ptr = np.empty(n + 1, dtype=np.int64)
    rev = np.empty(n * k, dtype=np.int32)
    rev_flag = np.empty(n * k, dtype=np.uint8)
    rounds = 0
    pushed = 0
    for it in range(n_iters):
        _reverse_lists(idx, flag, rev_ptr, rev, rev_flag)
        _candidates(idx, flag, rev_ptr, rev, rev_flag, new_c, old_c, seed, it)
        counts[:] = 0
        for first, bufs in kept.blocks(n, c * (c - 1) // 2 + c * c):
            _join_pairs(X, dist, new_c, old_c, first, *bufs)
            _push_kept(idx, dist, flag, *bufs, counts)
        rounds += 1
        pushed = int(counts.sum())
        if pushed <= delta * n * k:
            break
    # the candidates, reverse lists, buffers and the points' copy go before the lists
    # are written out (1.1 GB at 1,000,000 x 64, which set the whole run's peak)
    del X, flag, kept, new_c, old_c, rev_ptr, rev, rev_flag
    out_idx = np.empty((n, k + 1), dtype=np.int32)  # point numbers are int32 throughout
    out_dist = np.empty((n, k + 1), dtype=np.float64)
    _sorted_lists(idx, dist, perm, out_idx, out_dist)
    return out_idx, out_dist, {"rounds": rounds, "last_pushes": pushed, "order": perm}
