"""numba kernels of the neighbour search: radius lists, widening, list gathering.

Plain arrays in, plain arrays out. Neighbour lists are held either as an
``(n, k)`` pair of arrays (one fixed-length list per row) or ragged, in CSR
layout ``(indptr, indices, distances)``; every list is sorted by ascending
distance (ties by ascending index) with the point itself first.

Radius lists come from a block ``G = X[rows] @ X.T`` of the Gram matrix and the
squared norms (``sq_i + sq_j - 2 G_ij``): that expansion, within its proven
rounding bound, chooses the candidates, and their distances from differences
decide and are listed, as in the k-NN lists of :mod:`fastdse._numba.screen`.
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


@jit
def _radius_candidate(g, s, nn, consts, lim):  # pragma: no cover - jitted
    """Whether a point may lie within squared radius ``lim`` (a candidate).

    It may when its Gram-expanded squared distance ``s - 2 g`` minus the proven bound
    ``cb nn + cd s + ca`` (``nn``: the two norms' product) is at most ``lim``, grown by
    the float64 distances' rounding. The constants ``consts = (cb, cd, ca, 1, grow)`` are those of
    :func:`fastdse.operator.exact_search.float64_bound`.
    """
    v = s - 2.0 * g
    e = consts[0] * nn + consts[1] * s + consts[2]
    return v - e <= lim * consts[4]


@pjit
def radius_count_from_gram(G, sq_rows, sq_all, n_rows, n_all, consts, rows,
                           lim_rows):  # pragma: no cover - jitted
    """Count, per query row, its candidates for the squared radius ``lim_rows[r]``.

    The point itself, and every point the proven bound of the Gram expansion
    (:func:`_radius_candidate`) cannot place outside the radius: no point truly
    inside it is missed. :func:`radius_fill_from_gram` keeps those inside.
    """
    b, n = G.shape
    counts = np.zeros(b, dtype=np.int64)
    for r in prange(b):
        lim = lim_rows[r]
        me = rows[r]
        c = 0
        for j in range(n):
            if j == me or _radius_candidate(G[r, j], sq_rows[r] + sq_all[j],
                                            n_rows[r] * n_all[j], consts, lim):
                c += 1
        counts[r] = c
    return counts


@pjit
def radius_fill_from_gram(G, sq_rows, sq_all, n_rows, n_all, consts, rows, lim_rows, X,
                          indptr, out_idx, out_dist, kept):  # pragma: no cover - jitted
    """List the points within each row's squared radius, in the room counted for it.

    Row ``r`` writes into ``out_*[indptr[r]:indptr[r + 1]]``, the room
    :func:`radius_count_from_gram` counted: self first with distance 0, then the
    candidates whose float64 squared distance from differences is at most its
    limit, ascending by (distance, index). ``kept[r]`` receives how many (self
    included); the rest of the room is left unwritten.
    """
    b, n = G.shape
    for r in prange(b):
        lo = indptr[r]
        lim = lim_rows[r]
        me = rows[r]
        out_idx[lo] = me
        out_dist[lo] = 0.0
        c = 1
        for j in range(n):
            if j != me and _radius_candidate(G[r, j], sq_rows[r] + sq_all[j],
                                             n_rows[r] * n_all[j], consts, lim):
                sqd = _sqdist(X, me, j)
                if sqd <= lim:
                    out_idx[lo + c] = j
                    out_dist[lo + c] = np.sqrt(sqd)
                    c += 1
        # candidates were appended by ascending index: a stable sort keeps index order on ties
        order = np.argsort(out_dist[lo + 1:lo + c], kind="mergesort")
        idx_sorted = out_idx[lo + 1:lo + c][order]
        dist_sorted = out_dist[lo + 1:lo + c][order]
        out_idx[lo + 1:lo + c] = idx_sorted
        out_dist[lo + 1:lo + c] = dist_sorted
        kept[r] = c


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
