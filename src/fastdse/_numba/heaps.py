"""Bounded max-heaps of neighbour lists, and pushing a batch of candidate pairs into them.

NN-descent (:mod:`fastdse._numba.nndescent`) keeps every point's list as a max-heap
(largest distance at the root) and makes batches of candidate pairs ``(p, q, d)``,
each to be pushed into the heap of ``p``, of ``q``, or of both. Pushing them in the
order they were made touches the heaps of rows all over the graph, one cache miss
after another. Here a batch is first grouped by buckets of heaps (the heaps of a few
hundred consecutive rows, which fit in a core's cache), stably: every heap receives
its own pushes in the order of the pairs, so the heaps end exactly as with the pairs
pushed one by one, for any number of threads (each pushes into whole buckets) and any
bucket size. Pushes into different heaps do not interact.
"""

from __future__ import annotations

from numba import prange

from fastdse._numba.jit import jit, pjit

__all__ = ["count_by_bucket", "push_grouped", "scatter_by_bucket"]


@jit
def _push(idx, dist, flag, i, j, d, new):  # pragma: no cover - jitted
    """Push ``j`` at distance ``d`` into the max-heap of row ``i``; 1 if it entered.

    The heap keeps the smallest keys ``dist`` of the row (largest at the root) and moves
    ``idx`` and ``flag`` along.
    """
    if d >= dist[i, 0]:
        return 0
    k = idx.shape[1]
    # no early exit: a loop without one is vectorised, and a push that gets this far
    # scans the whole row anyway when ``j`` is new (most do)
    seen = False
    for m in range(k):
        seen |= idx[i, m] == j
    if seen:
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
def count_by_bucket(buf_p, buf_q, buf_m, cnt, shift, hist):  # pragma: no cover - jitted
    """``hist[t, b]``: pushes of part ``t`` of the pairs into bucket ``b`` of heaps.

    Pair ``a`` of buffer row ``r`` (``a < cnt[r]``) is ``(buf_p, buf_q)[r, a]``; bit 1
    of ``buf_m[r, a]`` asks for its push into the heap of ``p``, bit 2 into that of
    ``q``. Bucket ``b`` is the heaps of rows ``b << shift`` to ``(b + 1) << shift``;
    part ``t`` of ``T = hist.shape[0]`` is the buffer rows ``t R / T`` to
    ``(t + 1) R / T``.
    """
    T = hist.shape[0]
    R = cnt.shape[0]
    for t in prange(T):
        hist[t, :] = 0
        for r in range(t * R // T, (t + 1) * R // T):
            for a in range(cnt[r]):
                if buf_m[r, a] & 1:
                    hist[t, buf_p[r, a] >> shift] += 1
                if buf_m[r, a] & 2:
                    hist[t, buf_q[r, a] >> shift] += 1


@pjit
def scatter_by_bucket(buf_p, buf_q, buf_d, buf_m, cnt, shift, start, row, other, d
                      ):  # pragma: no cover - jitted
    """Write the pushes ``(row, other, d)`` grouped by bucket of heaps, stably.

    ``start[t, b]`` is where part ``t``'s pushes into bucket ``b`` begin (from
    :func:`count_by_bucket`: bucket by bucket, part by part within one): inside a
    bucket the pushes keep the order of the pairs, so every heap receives its own in
    that order.
    """
    T = start.shape[0]
    R = cnt.shape[0]
    for t in prange(T):
        pos = start[t].copy()
        for r in range(t * R // T, (t + 1) * R // T):
            for a in range(cnt[r]):
                for end in range(2):  # into the heap of p (bit 1), then of q (bit 2)
                    if buf_m[r, a] & (1 << end):
                        i = buf_p[r, a] if end == 0 else buf_q[r, a]
                        s = pos[i >> shift]
                        pos[i >> shift] += 1
                        row[s] = i
                        other[s] = buf_q[r, a] if end == 0 else buf_p[r, a]
                        d[s] = buf_d[r, a]


@pjit
def push_grouped(idx, dist, flag, row, other, d, bounds, counts):  # pragma: no cover
    """Push the grouped pushes ``bounds[t]:bounds[t + 1]`` (whole buckets) in part ``t``.

    ``counts[t]`` grows by the pushes that entered a heap.
    """
    for t in prange(bounds.shape[0] - 1):
        c = 0
        for e in range(bounds[t], bounds[t + 1]):
            i = row[e]
            if d[e] < dist[i, 0]:
                c += _push(idx, dist, flag, i, other[e], d[e], 1)
        counts[t] += c
