"""NN-descent for the Euclidean distance, compiled once per machine (``cache=True``).

The all-points k-NN graph of Dong, Charikar and Li (WWW 2011), started from the leaves
of random-projection trees: every point's list is a bounded max-heap (largest
distance at the root), and each round joins, for every point, its sampled new
neighbours with each other and with its old ones, pushing every pair into both
heaps. Distances are squared Euclidean in float32 (float64 on request; the caller
recomputes exact float64 distances of the final lists).

Threads and determinism. A pass over pairs (the leaves' pairs, or the rows' local
joins) runs in blocks of rows (or leaves) in two steps: first every pair of the block
gets its distance, in parallel, and is kept if it is closer than the current root of
either of its two heaps (the heaps are only read in this step, so which pairs are kept
does not depend on the threads); then the kept pairs are pushed into the heaps
(:mod:`fastdse._numba.heaps`: grouped by heap, each heap receiving its pushes in the
order the pairs were made). A row therefore receives the same pushes in the same
order for any number of threads and any blocking (the order of a single thread
pushing every pair as it comes, since a pair not closer than a root when the block
began cannot enter that heap later in the block), and every random choice (tree
splits, candidate sampling) is a hash of the seed and the indices: the graph depends
on the data and the seed only. The driver is :func:`fastdse.operator.nn_descent.nn_descent`.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from fastdse._numba.jit import jit, jit_sum, pjit, pjit_sum

__all__ = ["candidates", "gather_rows", "join_pairs", "leaf_pairs", "reverse_lists",
           "rp_forest", "sorted_lists", "tree_order"]


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
def rp_forest(X, seed, first_tree, leaf_size, order, leaf_lo, leaf_hi, n_leaves
               ):  # pragma: no cover - jitted
    """Build trees ``first_tree + 0, 1, ...`` (one a row of ``order``), in parallel."""
    for r in prange(order.shape[0]):
        for m in range(order.shape[1]):
            order[r, m] = m
        n_leaves[r] = _rp_tree(X, seed, first_tree + r, leaf_size, order[r], leaf_lo[r],
                               leaf_hi[r])


@pjit
def leaf_pairs(X, dist, order, leaf_lo, leaf_hi, first, buf_p, buf_q, buf_d, buf_m, cnt
                ):  # pragma: no cover - jitted
    """Keep the pairs of leaves ``first, first + 1, ...`` (one a row of the buffers).

    A pair is kept if closer than the root of the heap of ``p`` (then bit 1 of its
    ``buf_m`` is set) or of ``q`` (bit 2).
    """
    for r in prange(cnt.shape[0]):
        lo = leaf_lo[first + r]
        hi = leaf_hi[first + r]
        m = 0
        for a in range(lo, hi):
            p = order[a]
            for b in range(a + 1, hi):
                q = order[b]
                # kept if closer than either heap's root; written out here and in
                # join_pairs: as a numba helper taking the buffers this step made the
                # loop 2.8x slower in the parallel build and 9x in the serial one
                # (30,000 x 64, docs/benchmarks/knn_graph.md)
                d = _d2(X, p, q)
                mk = (d < dist[p, 0]) + 2 * (d < dist[q, 0])
                if mk:
                    buf_p[r, m] = p
                    buf_q[r, m] = q
                    buf_d[r, m] = d
                    buf_m[r, m] = mk
                    m += 1
        cnt[r] = m


@pjit
def reverse_lists(idx, flag, rev_ptr, rev, rev_flag, starts):  # pragma: no cover - jitted
    """Every row's reverse neighbours (the rows listing it) with their flags, in row order.

    CSR layout: the rows listing ``j`` are ``rev[rev_ptr[j]:rev_ptr[j + 1]]``, ascending,
    and ``rev_flag`` holds the flag each of them gives ``j``. ``starts`` is ``(T, n)``
    int64 scratch: part ``t`` of the rows (``t n / T`` to ``(t + 1) n / T``) counts
    and then writes its own entries, after those of the parts before it.
    """
    n, k = idx.shape
    T = starts.shape[0]
    for t in prange(T):
        starts[t, :] = 0
        for i in range(t * n // T, (t + 1) * n // T):
            for m in range(k):
                if idx[i, m] >= 0:
                    starts[t, idx[i, m]] += 1
    rev_ptr[0] = 0
    for j in range(n):
        s = rev_ptr[j]
        for t in range(T):
            c = starts[t, j]
            starts[t, j] = s
            s += c
        rev_ptr[j + 1] = s
    for t in prange(T):
        for i in range(t * n // T, (t + 1) * n // T):
            for m in range(k):
                j = idx[i, m]
                if j >= 0:
                    rev[starts[t, j]] = i
                    rev_flag[starts[t, j]] = flag[i, m]
                    starts[t, j] += 1


@jit
def _pair_priority(seed, it, i, j, n):  # pragma: no cover - jitted
    """Return the random priority of the pair ``{i, j}`` in round ``it`` (symmetric)."""
    return _mix(seed, it, np.int64(min(i, j)) * n + max(i, j))


@pjit
def candidates(idx, flag, rev_ptr, rev, rev_flag, new_c, old_c, seed, it
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
        slot = np.empty(size, dtype=np.int64)  # the entry's slot in row i's list, or -1
        m = 0
        for a in range(k):
            if idx[i, a] >= 0:
                ids[m] = idx[i, a]
                kind[m] = flag[i, a]
                slot[m] = a
                m += 1
        for e in range(rev_ptr[i], rev_ptr[i + 1]):
            ids[m] = rev[e]
            kind[m] = rev_flag[e]
            slot[m] = -1
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
                    # sampled: flagged old in row i's list. A point both listed and
                    # reverse-listed as new is sampled by its listed entry, which the
                    # stable sort puts first of the two (equal priorities)
                    if slot[order[e]] >= 0:
                        flag[i, slot[order[e]]] = 0
            elif got_old < c:
                old_c[i, got_old] = j
                got_old += 1
        for s in range(got_new, c):
            new_c[i, s] = -1
        for s in range(got_old, c):
            old_c[i, s] = -1


@pjit_sum
def join_pairs(X, dist, new_c, old_c, row_lo, row_hi, buf_p, buf_q, buf_d, buf_m, cnt,
               reached):  # pragma: no cover - jitted
    """Keep the local-join pairs of rows ``row_lo[t]:row_hi[t]`` in buffer row ``t``.

    A row's pairs: its new candidates with each other and with its old ones, in the
    order of its candidate lists. Part ``t`` takes its rows in order while a whole
    row's pairs still fit in its buffer row; it stops before the first that might not
    and sets ``reached[t]`` to it (``row_hi[t]`` when all fitted) and ``cnt[t]`` to
    the pairs kept.

    A new candidate's distances to the candidates after it are summed four at a time
    (its coordinates read once for four, four independent sums): 1.8x the pairs a
    second of one distance at a time at 200,000 x 64 (docs/benchmarks/knn_graph.md).
    Everything is written out in the loop, as in :func:`leaf_pairs`.
    """
    c_new = new_c.shape[1]
    c_old = old_c.shape[1]
    most = c_new * (c_new - 1) // 2 + c_new * c_old  # pairs a row can keep
    for t in prange(cnt.shape[0]):
        # the row's candidates, new first; three more slots for the last group of four
        cl = np.empty(c_new + c_old + 3, dtype=new_c.dtype)
        m = 0
        i = row_lo[t]
        while i < row_hi[t] and m + most <= buf_p.shape[1]:
            size = 0
            for a in range(c_new):
                if new_c[i, a] >= 0:
                    cl[size] = new_c[i, a]
                    size += 1
            n_new = size
            for a in range(c_old):
                if old_c[i, a] >= 0:
                    cl[size] = old_c[i, a]
                    size += 1
            for a in range(n_new):
                p = cl[a]
                cl[size] = cl[size + 1] = cl[size + 2] = p  # padding: p with itself, skipped
                for b in range(a + 1, size, 4):
                    q0 = cl[b]
                    q1 = cl[b + 1]
                    q2 = cl[b + 2]
                    q3 = cl[b + 3]
                    s0 = s1 = s2 = s3 = X[p, 0] - X[p, 0]  # zero in the points' precision
                    for f in range(X.shape[1]):
                        x = X[p, f]
                        e0 = x - X[q0, f]
                        e1 = x - X[q1, f]
                        e2 = x - X[q2, f]
                        e3 = x - X[q3, f]
                        s0 += e0 * e0
                        s1 += e1 * e1
                        s2 += e2 * e2
                        s3 += e3 * e3
                    # the keep step written out four times: with helpers (one keeping
                    # a pair, taking the buffers) the join took 23.9 s instead of 8.5 s at
                    # 200,000 x 64, with a loop over an array of the sums 9.75 s
                    # (docs/benchmarks/knn_graph.md)
                    if q0 != p:
                        mk = (s0 < dist[p, 0]) + 2 * (s0 < dist[q0, 0])
                        if mk:
                            buf_p[t, m] = p
                            buf_q[t, m] = q0
                            buf_d[t, m] = s0
                            buf_m[t, m] = mk
                            m += 1
                    if q1 != p:
                        mk = (s1 < dist[p, 0]) + 2 * (s1 < dist[q1, 0])
                        if mk:
                            buf_p[t, m] = p
                            buf_q[t, m] = q1
                            buf_d[t, m] = s1
                            buf_m[t, m] = mk
                            m += 1
                    if q2 != p:
                        mk = (s2 < dist[p, 0]) + 2 * (s2 < dist[q2, 0])
                        if mk:
                            buf_p[t, m] = p
                            buf_q[t, m] = q2
                            buf_d[t, m] = s2
                            buf_m[t, m] = mk
                            m += 1
                    if q3 != p:
                        mk = (s3 < dist[p, 0]) + 2 * (s3 < dist[q3, 0])
                        if mk:
                            buf_p[t, m] = p
                            buf_q[t, m] = q3
                            buf_d[t, m] = s3
                            buf_m[t, m] = mk
                            m += 1
            i += 1
        cnt[t] = m
        reached[t] = i


@pjit
def sorted_lists(idx, dist, perm, out_idx, out_dist):  # pragma: no cover - jitted
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
def gather_rows(X, rows, out):  # pragma: no cover - jitted
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
