"""NN-descent for the Euclidean distance, compiled once per machine (``cache=True``).

The all-points k-NN graph of Dong, Charikar and Li (WWW 2011), started from the leaves
of random-projection trees: every point's list is a bounded max-heap (largest
distance at the root), and each round joins, for every point, its sampled new
neighbours with each other and with its old ones, pushing every pair into both
heaps. Distances are squared Euclidean in float32 (the caller recomputes exact
float64 distances of the final lists).

Threads and determinism. Heaps are updated in place by the thread that owns the row
(row ``i`` belongs to thread ``i % T``): every thread scans all pairs of a pass in the
same order and pushes only into its own rows, computing a pair's distance when it owns
one of its two ends. A row therefore receives the same pushes in the same order for
any number of threads, and every random choice (tree splits, candidate sampling) is a
hash of the seed and the indices: the graph depends on the data and the seed only.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from fastdse._numba.jit import PARALLEL_MIN_SIZE, jit, jit_sum, pjit

__all__ = ["nn_descent", "two_hop_knn"]

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


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
    """Squared Euclidean distance of rows ``i`` and ``j`` (float32 sums, vectorised)."""
    acc = np.float32(0.0)
    for f in range(X.shape[1]):
        diff = X[i, f] - X[j, f]
        acc += diff * diff
    return acc


@jit
def _push(idx, dist, flag, i, j, d, new):  # pragma: no cover - jitted
    """Push ``j`` at distance ``d`` into the max-heap of row ``i``; 1 if it entered.

    The heap keeps the smallest keys ``dist`` of the row (largest at the root) and moves
    ``idx`` and ``flag`` along; candidate heaps use it with priorities as keys.
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


@jit
def _join_pair(X, idx, dist, flag, p, q, t, T):  # pragma: no cover - jitted
    """Push the pair ``(p, q)`` into those of its two heaps that owner ``t`` of ``T`` holds.

    The distance is computed only when ``t`` owns one of the rows; returns the pushes
    that entered a heap.
    """
    own_p = p % T == t
    own_q = q % T == t
    if not (own_p or own_q):
        return 0
    d = _d2(X, p, q)
    c = 0
    if own_p:
        c += _push(idx, dist, flag, p, q, d, 1)
    if own_q:
        c += _push(idx, dist, flag, q, p, d, 1)
    return c


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
def _leaf_joins(X, order, leaf_lo, leaf_hi, n_leaves, idx, dist, flag, T):  # pragma: no cover
    """Push every pair of every leaf into both heaps (each of ``T`` owners into its rows)."""
    for t in prange(T):
        for leaf in range(n_leaves):
            lo = leaf_lo[leaf]
            hi = leaf_hi[leaf]
            for a in range(lo, hi):
                p = order[a]
                for b in range(a + 1, hi):
                    _join_pair(X, idx, dist, flag, p, order[b], t, T)


@pjit
def _candidates(idx, flag, new_c, new_p, old_c, old_p, scratch, seed, it, T):  # pragma: no cover
    """Sample every row's new and old candidates (its neighbours and reverse neighbours).

    Each row keeps the candidates of smallest random priority; ``scratch`` takes the
    flags the heap push moves along (unused).
    """
    n, k = idx.shape
    for t in prange(T):
        for i in range(n):
            for m in range(k):
                j = idx[i, m]
                if j < 0:
                    continue
                pri = _mix(seed, it, np.int64(i) * n + j)
                if flag[i, m] == 1:
                    if i % T == t:
                        _push(new_c, new_p, scratch, i, j, pri, 0)
                    if j % T == t:
                        _push(new_c, new_p, scratch, j, i, pri, 0)
                else:
                    if i % T == t:
                        _push(old_c, old_p, scratch, i, j, pri, 0)
                    if j % T == t:
                        _push(old_c, old_p, scratch, j, i, pri, 0)


@pjit
def _mark_old(idx, flag, new_c):  # pragma: no cover - jitted
    """Flag as old the neighbours that were sampled as new candidates of their row."""
    n, k = idx.shape
    c = new_c.shape[1]
    for i in prange(n):
        for m in range(k):
            if flag[i, m] == 1:
                j = idx[i, m]
                for s in range(c):
                    if new_c[i, s] == j:
                        flag[i, m] = 0
                        break


@pjit
def _local_join(X, idx, dist, flag, new_c, old_c, counts):  # pragma: no cover - jitted
    """Join every row's new candidates with each other and with its old ones."""
    n = idx.shape[0]
    c_new = new_c.shape[1]
    c_old = old_c.shape[1]
    T = counts.shape[0]
    for t in prange(T):
        c = 0
        for i in range(n):
            for a in range(c_new):
                p = new_c[i, a]
                if p < 0:
                    continue
                for b in range(a + 1, c_new + c_old):
                    q = new_c[i, b] if b < c_new else old_c[i, b - c_new]
                    if q >= 0 and q != p:
                        c += _join_pair(X, idx, dist, flag, p, q, t, T)
        counts[t] = c


@pjit
def _sorted_lists(idx, dist, out_idx, out_dist):  # pragma: no cover - jitted
    """Self first, then each heap by ascending distance (ties by index), as float64."""
    n, k = idx.shape
    for i in prange(n):
        out_idx[i, 0] = i
        out_dist[i, 0] = 0.0
        size = 0
        for m in range(k):
            j = idx[i, m]
            if j < 0:
                continue
            v = np.sqrt(np.float64(dist[i, m]))
            p = size + 1
            while p > 1 and (out_dist[i, p - 1] > v or (out_dist[i, p - 1] == v
                                                        and out_idx[i, p - 1] > j)):
                out_idx[i, p] = out_idx[i, p - 1]
                out_dist[i, p] = out_dist[i, p - 1]
                p -= 1
            out_idx[i, p] = j
            out_dist[i, p] = v
            size += 1
        for m in range(size + 1, k + 1):
            out_idx[i, m] = -1
            out_dist[i, m] = np.inf


def nn_descent(X: np.ndarray, k: int, seed: int, *, n_trees: int = 8, leaf_size: int = 30,
               max_candidates: int = 30, n_iters: int = 12, delta: float = 0.001
               ) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """Approximate ``k`` nearest other neighbours of every row of ``X`` (float32).

    Returns ``(indices, distances, report)``: ``(n, k + 1)`` int64 and float64 arrays,
    self first, then by ascending distance (``-1`` / ``inf`` where a list stayed short,
    which only tiny ``n`` allows), and the rounds run and pushes of the last round.
    """
    n = X.shape[0]
    # owners of rows: the threads of a parallel run (one when the kernels run serially);
    # the graph does not depend on it
    T = (1 if X.size < PARALLEL_MIN_SIZE or numba.get_num_threads() == 1
         else numba.get_num_threads())
    idx = np.full((n, k), -1, dtype=np.int32)
    dist = np.full((n, k), np.inf, dtype=np.float32)
    flag = np.zeros((n, k), dtype=np.uint8)
    order = np.empty(n, dtype=np.int32)
    leaf_lo = np.empty(n, dtype=np.int64)
    leaf_hi = np.empty(n, dtype=np.int64)
    for tree in range(n_trees):
        order[:] = np.arange(n, dtype=np.int32)
        n_leaves = _rp_tree(X, seed, tree, leaf_size, order, leaf_lo, leaf_hi)
        _leaf_joins(X, order, leaf_lo, leaf_hi, n_leaves, idx, dist, flag, T)
    del order, leaf_lo, leaf_hi
    c = min(max_candidates, k)
    counts = np.zeros(T, dtype=np.int64)
    scratch = np.zeros((n, c), dtype=np.uint8)
    rounds = 0
    pushed = 0
    for it in range(n_iters):
        new_c = np.full((n, c), -1, dtype=np.int32)
        new_p = np.full((n, c), _MASK64, dtype=np.uint64)
        old_c = np.full((n, c), -1, dtype=np.int32)
        old_p = np.full((n, c), _MASK64, dtype=np.uint64)
        _candidates(idx, flag, new_c, new_p, old_c, old_p, scratch, seed, it, T)
        del new_p, old_p
        _mark_old(idx, flag, new_c)
        counts[:] = 0
        _local_join(X, idx, dist, flag, new_c, old_c, counts)
        rounds += 1
        pushed = int(counts.sum())
        if pushed <= delta * n * k:
            break
    out_idx = np.empty((n, k + 1), dtype=np.int64)
    out_dist = np.empty((n, k + 1), dtype=np.float64)
    _sorted_lists(idx, dist, out_idx, out_dist)
    return out_idx, out_dist, {"rounds": rounds, "last_pushes": pushed}


@pjit
def two_hop_knn(X, graph, rows, k1, out_idx, out_dist):  # pragma: no cover - jitted
    """Select each row's ``k1 - 1`` nearest among its neighbours and their neighbours.

    ``graph`` holds self-first lists (``-1`` for empty slots); row ``r`` of the output is
    the list of point ``rows[r]``: itself first, then by ascending float64 distance (ties
    by index). A re-search of rows whose lists must grow past the graph's width.
    """
    n, k = graph.shape
    for r in prange(rows.shape[0]):
        i = rows[r]
        cand = np.empty(k * k, dtype=np.int64)
        m = 0
        for a in range(1, k):
            j = graph[i, a]
            if j < 0:
                continue
            cand[m] = j
            m += 1
            for b in range(1, k):
                q = graph[j, b]
                if q >= 0 and q != i:
                    cand[m] = q
                    m += 1
        cand = np.unique(cand[:m])
        d = np.empty(cand.shape[0])
        for c in range(cand.shape[0]):
            acc = 0.0
            for f in range(X.shape[1]):
                diff = X[i, f] - X[cand[c], f]
                acc += diff * diff
            d[c] = np.sqrt(acc)
        order = np.argsort(d, kind="mergesort")  # stable: ties stay by index (cand sorted)
        out_idx[r, 0] = i
        out_dist[r, 0] = 0.0
        for c in range(1, k1):
            if c - 1 < order.shape[0]:
                out_idx[r, c] = cand[order[c - 1]]
                out_dist[r, c] = d[order[c - 1]]
            else:
                out_idx[r, c] = -1
                out_dist[r, c] = np.inf
