"""numba kernels of the neighbour search: radius lists, widening, list gathering.

Plain arrays in, plain arrays out. Neighbour lists are held either as an
``(n, k)`` pair of arrays (one fixed-length list per row) or ragged, in CSR
layout ``(indptr, indices, distances)``; every list is sorted by ascending
distance (ties by ascending index) with the point itself first.

Radius lists come from a block ``G = X[rows] @ X.T`` of the Gram matrix and the
squared norms (``sq_i + sq_j - 2 G_ij``), with distances recomputed from
differences where that expansion cancels (see :data:`GRAM_DISTANCE_MIN_RATIO`).
k-NN lists are chosen by :mod:`fastdse._numba.screen`.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from fastdse._numba.distance import sqdist as _sqdist
from fastdse._numba.jit import jit, pjit

# --------------------------------------------------------------------------- distances


@jit
def _exact_list_row(X, i, idx, dist, size):  # pragma: no cover - jitted
    """Recompute ``dist[1:size]`` of point ``i`` from differences, then re-sort.

    Insertion sort by (distance, index) from column 1 (self stays first); the
    lists are nearly sorted already, so this is ~linear.
    """
    for m in range(1, size):
        dist[m] = np.sqrt(_sqdist(X, i, idx[m]))
    for m in range(2, size):
        vd = dist[m]
        vi = idx[m]
        p = m - 1
        while p >= 1 and (dist[p] > vd or (dist[p] == vd and idx[p] > vi)):
            dist[p + 1] = dist[p]
            idx[p + 1] = idx[p]
            p -= 1
        dist[p + 1] = vd
        idx[p + 1] = vi


# --------------------------------------------------------------------------- radius lists


@pjit
def radius_count_from_gram(G, sq_rows, sq_all, rows, lim_rows):  # pragma: no cover - jitted
    """Count, per query row, the points whose Gram-expanded squared distance is <= its limit.

    The point itself always counts. ``lim_rows`` holds each row's squared
    radius with a safety margin; the Gram expansion's rounding (a few ulps of
    ``sq_i + sq_j``) is allowed for with ``1e-12 * (sq_i + sq_j)``, so no
    point truly inside the radius is missed.
    """
    b, n = G.shape
    counts = np.zeros(b, dtype=np.int64)
    for r in prange(b):
        lim = lim_rows[r]
        me = rows[r]
        c = 0
        for j in range(n):
            v = G[r, j] * -2.0 + sq_rows[r] + sq_all[j]
            if j == me or v <= lim + 1e-12 * (sq_rows[r] + sq_all[j]):
                c += 1
        counts[r] = c
    return counts


#: A listed distance is taken from the Gram expansion ``sq_i + sq_j - 2 x_i.x_j`` when it is
#: at least this fraction of ``sq_i + sq_j``, and recomputed from differences below. The
#: expansion's rounding error is a few ulps of ``sq_i + sq_j`` (as in the dense path, which
#: uses it throughout), so above the cut-off a squared distance is off by at most ~1e-12
#: relative; below it, where the expansion cancels (near and duplicated points, data far
#: from the origin), differences give full accuracy and exactly 0 for duplicates.
GRAM_DISTANCE_MIN_RATIO = 1e-3


@pjit
def radius_fill_from_gram(G, sq_rows, sq_all, rows, lim_rows, X, indptr, out_idx,
                          out_dist):  # pragma: no cover - jitted
    """Fill the ragged lists counted by :func:`radius_count_from_gram`.

    Self first with distance 0, then the candidates ascending by (distance,
    index); distances as described at :data:`GRAM_DISTANCE_MIN_RATIO`.
    """
    b = G.shape[0]
    for r in prange(b):
        lo = indptr[r]
        hi = indptr[r + 1]
        _fill_in_radius(G, r, sq_rows[r], sq_all, rows[r], X, lim_rows[r], out_idx[lo:hi],
                        out_dist[lo:hi])


@jit
def _fill_in_radius(G, r, sq_r, sq_all, me, X, lim, out_idx, out_dist):  # pragma: no cover
    """List row ``r``'s points within squared radius ``lim`` into ``out_*`` (1-D views).

    Self first with distance 0, then the candidates (Gram-expanded squared
    distance at most ``lim``, with a rounding allowance) while they fit, with
    distances as described at :data:`GRAM_DISTANCE_MIN_RATIO`. Returns the
    number of points listed or found (self included); when they all fit they
    are sorted by (distance, index).
    """
    n = G.shape[1]
    room = out_idx.shape[0]
    out_idx[0] = me
    out_dist[0] = 0.0
    c = 1
    for j in range(n):
        if j == me:
            continue
        s = sq_r + sq_all[j]
        v = G[r, j] * -2.0 + s
        if v <= lim + 1e-12 * s:
            if c < room:
                out_idx[c] = j
                if v >= GRAM_DISTANCE_MIN_RATIO * s:
                    out_dist[c] = np.sqrt(v)
                else:
                    out_dist[c] = np.sqrt(_sqdist(X, me, j))
            c += 1
    if c <= room:
        # candidates were appended by ascending index: a stable sort keeps index order on ties
        order = np.argsort(out_dist[1:c], kind="mergesort")
        idx_sorted = out_idx[1:c][order]
        dist_sorted = out_dist[1:c][order]
        out_idx[1:c] = idx_sorted
        out_dist[1:c] = dist_sorted
    return c


@pjit
def gather_lists(first_idx, first_dist, room_idx, room_dist, from_room, indptr, out_idx,
                 out_dist):  # pragma: no cover - jitted
    """Concatenate each row's list, from ``room_*`` where ``from_room`` else ``first_*``."""
    b = indptr.shape[0] - 1
    for r in prange(b):
        o = indptr[r]
        for c in range(indptr[r + 1] - o):
            if from_room[r]:
                out_idx[o + c] = room_idx[r, c]
                out_dist[o + c] = room_dist[r, c]
            else:
                out_idx[o + c] = first_idx[r, c]
                out_dist[o + c] = first_dist[r, c]


@pjit
def copy_ragged_rows(src_indptr, src_idx, src_dist, src_pos, dst_indptr, dst_rows, out_idx,
                     out_dist):  # pragma: no cover - jitted
    """Copy list ``src_pos[r]`` of a ragged source to row ``dst_rows[r]`` of the output."""
    for r in prange(dst_rows.shape[0]):
        s = src_indptr[src_pos[r]]
        q = dst_indptr[dst_rows[r]]
        for c in range(src_indptr[src_pos[r] + 1] - s):
            out_idx[q + c] = src_idx[s + c]
            out_dist[q + c] = src_dist[s + c]


# --------------------------------------------------------------------------- ANN lists


@pjit
def exact_list_distances_inplace(X, rows, idx, dist):  # pragma: no cover - jitted
    """Float64 distances (from differences) for neighbour lists, re-sorted; self first.

    pynndescent returns float32 distances (~1e-7 relative error, which the
    alpha-decay kernel multiplies by ~decay * (-log thresh)).
    """
    for r in prange(rows.shape[0]):
        _exact_list_row(X, rows[r], idx[r], dist[r], idx.shape[1])


@pjit
def self_first_rows_inplace(indices, distances, rows):  # pragma: no cover - jitted
    """Put each point first in its own neighbour list (ANN output, duplicates).

    Row ``i`` is the list of point ``rows[i]``. If it holds that point elsewhere,
    it is moved to column 0 and the entries before it shift right; if it is
    missing, it is inserted at column 0 and the last entry drops out. Its
    distance is set to exactly 0.
    """
    n, k = indices.shape
    for i in prange(n):
        me = rows[i]
        pos = -1
        for c in range(k):
            if indices[i, c] == me:
                pos = c
                break
        if pos == 0:
            distances[i, 0] = 0.0
            continue
        if pos < 0:
            pos = k - 1
        for c in range(pos, 0, -1):
            indices[i, c] = indices[i, c - 1]
            distances[i, c] = distances[i, c - 1]
        indices[i, 0] = me
        distances[i, 0] = 0.0


@pjit
def rows_short_of_radius(last_dist, radius, full):  # pragma: no cover - jitted
    """Mask of rows whose furthest listed neighbour is closer than their radius.

    Rows that already list every point (``full``) never need more.
    """
    n = last_dist.shape[0]
    out = np.zeros(n, dtype=np.bool_)
    for i in prange(n):
        out[i] = (last_dist[i] < radius[i]) and not full[i]
    return out


# --------------------------------------------------------------------------- two-hop widening


@pjit
def two_hop_block(X, idx, rows, radius, cap1):  # pragma: no cover - jitted
    """Two-hop candidates of a block of rows in one pass.

    Row ``r``'s candidates are the neighbours of the points listed in row ``rows[r]``
    of ``idx`` (itself included), each counted once and its distance computed once.
    Returns per row the number of candidates within its radius (itself included),
    whether any candidate lies beyond it (else the two hops may have missed points
    inside it), and the first ``cap1`` of those within, self first, then ascending by
    (distance, index), in a ``(b, cap1)`` buffer (indices, distances).
    """
    b = rows.shape[0]
    k1 = idx.shape[1]
    counts = np.zeros(b, dtype=np.int64)
    covered = np.zeros(b, dtype=np.bool_)
    out_idx = np.empty((b, cap1), dtype=np.int64)
    out_dist = np.empty((b, cap1), dtype=np.float64)
    size = 1  # an open-addressing set of the candidates seen, at most half full
    while size < 2 * k1 * k1:
        size *= 2
    for r in prange(b):
        i = rows[r]
        table = np.full(size, -1, dtype=np.int64)
        near = np.empty(k1 * k1, dtype=np.int64)
        near_d = np.empty(k1 * k1, dtype=np.float64)
        w = 0
        beyond = False
        for a in range(k1):
            for c in range(k1):
                j = idx[idx[i, a], c]
                if j < 0 or _seen(table, j):
                    continue
                d = -1.0 if j == i else np.sqrt(_sqdist(X, i, j))  # self sorts first
                if d <= radius[i]:
                    near[w] = j
                    near_d[w] = d
                    w += 1
                else:
                    beyond = True
        by_id = np.argsort(near[:w])
        ids = near[:w][by_id]
        ds = near_d[:w][by_id]
        order = np.argsort(ds, kind="mergesort")  # stable: ties stay by index
        counts[r] = w
        covered[r] = beyond
        for c in range(min(w, cap1)):
            out_idx[r, c] = ids[order[c]]
            out_dist[r, c] = max(ds[order[c]], 0.0)
    return counts, covered, out_idx, out_dist


@jit
def _seen(table, j):  # pragma: no cover - jitted
    """Add ``j`` to the open-addressing set ``table``; True if it was there already."""
    mask = table.shape[0] - 1
    s = np.int64((np.uint64(j) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)) & mask
    while table[s] >= 0:
        if table[s] == j:
            return True
        s = (s + 1) & mask
    table[s] = j
    return False


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
