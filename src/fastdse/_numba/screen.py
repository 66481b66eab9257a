"""numba kernels of the exact search screened by a Gram matrix and a proven error bound.

The exact neighbour search (:func:`fastdse.operator.exact_search.exact_knn_radius`)
takes its Gram blocks in float32, half the time of float64 products, because they
only choose candidates: every listed distance is computed afresh in float64 from
coordinate differences (:func:`fastdse._numba.distance.sqdist`). Rows a float32
block cannot resolve, and :class:`~fastdse.operator.exact_search.ExactSearcher`'s
k-NN queries, go through the same kernel with float64 blocks and their own bound.

A block gives ``v_ij``, the squared distance of two points, to within a proven
bound ``e_ij`` (both from :func:`fastdse.operator.exact_search.screen_points` for
float32 blocks of the centred, scaled points, from
:func:`fastdse.operator.exact_search.float64_bound` for float64 blocks). So a point can be
among a row's ``k1 - 1`` nearest others only if ``v_ij - e_ij`` is at most the
``(k1 - 1)``-th smallest ``v_ij + e_ij`` (times a factor that covers the rounding of
the float64 distance), and within a squared radius ``lim`` only if ``v_ij - e_ij``
is at most ``lim`` (times the same factor): those points are the candidates, and
their float64 distances decide. The lists are exactly those of a search with exact
distances; a row whose candidates exceed a budget (where the bound is loose next to
its distances: tight clusters far from the data's mean) is left to the float64
pass, whose budget is every point. Selecting by the rounded ``v_ij`` alone would not
do: in a cluster whose spread is ~1e-6 of its distance from the origin or less, the
float64 expansion's rounding is as large as the distances it orders. A row whose
radius holds more points than its room keeps the room's nearest points.

Lists follow :mod:`fastdse._numba.search`: self first with distance 0, then
ascending by (distance, index); except an in-radius list the cap does not cut, which
goes self first, then by index: the kernel sorts every row by column anyway
(:func:`fastdse._numba.sparse.compact_sorted_rows`, which merges such a row in one
pass), and sorting ~450 distances a row was a tenth of the search at 10,000 x 256.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from fastdse._numba.distance import sqdist as _sqdist
from fastdse._numba.jit import jit, pjit

_EPS = np.finfo(np.float64).eps

#: Row states written by :func:`knn_radius_rows_screened` (a length is >= 1).
KEEP_FIRST = -1  # the first list reaches the radius (or lists every point)
CUT_AT_FIRST = -2  # short of the radius, but the cap allows no more than the first list
FALLBACK = -4  # more candidates than the budget: the float64 pass lists this row


@jit
def _swap(a, i, j):  # pragma: no cover - jitted
    """Swap ``a[i]`` and ``a[j]``."""
    t = a[i]
    a[i] = a[j]
    a[j] = t


@jit
def _bound_heap(hv, size, up):  # pragma: no cover - jitted
    """Offer ``up`` to the max-heap of values ``hv`` (``size`` held); return the new size."""
    k = hv.shape[0]
    if size < k:
        pos = size
        hv[pos] = up
        while pos > 0:
            parent = (pos - 1) // 2
            if hv[parent] < hv[pos]:
                _swap(hv, parent, pos)
                pos = parent
            else:
                break
        return size + 1
    if up < hv[0]:
        hv[0] = up
        pos = 0
        while True:
            c = 2 * pos + 1
            if c >= k:
                break
            if c + 1 < k and hv[c + 1] > hv[c]:
                c += 1
            if hv[c] > hv[pos]:
                _swap(hv, c, pos)
                pos = c
            else:
                break
    return size


@jit
def _kth_smallest(values, hv):  # pragma: no cover - jitted
    """Return the ``len(hv)``-th smallest of ``values`` (at least that many), heap ``hv``.

    The heap holds the smallest values seen, its root (their largest) kept in a
    local: most values are larger and cost one comparison.
    """
    k = hv.shape[0]
    size = 0
    for j in range(k):
        size = _bound_heap(hv, size, values[j])
    root = hv[0]
    for j in range(k, values.shape[0]):
        if values[j] < root:
            _bound_heap(hv, size, values[j])
            root = hv[0]
    return root


@jit
def _candidates(lower, me, limit, cand):  # pragma: no cover - jitted
    """Write the points ``j != me`` with ``lower[j] <= limit`` into ``cand`` (ascending).

    Returns how many there are (only the first ``len(cand)`` are written).
    """
    room = cand.shape[0]
    c = 0
    for j in range(lower.shape[0]):
        if lower[j] <= limit and j != me:
            if c < room:
                cand[c] = j
            c += 1
    return c


@jit
def _exact_sorted(X, me, cand, m, sqd, dist, known, known_sqd, m_known):  # pragma: no cover
    """Float64 distances of ``me`` to ``cand[:m]`` (as :func:`_exact`); their order.

    Ascending by (distance, index): ``cand`` is ascending, the sort stable.
    """
    _exact(X, me, cand, m, sqd, dist, known, known_sqd, m_known)
    return np.argsort(dist[:m], kind="mergesort")


@jit
def _exact(X, me, cand, m, sqd, dist, known, known_sqd, m_known):  # pragma: no cover
    """Float64 distances of ``me`` to ``cand[:m]`` into ``dist`` (squared into ``sqd``).

    A point among the ``m_known`` of an earlier pass (``known``, ascending, with
    their squared distances ``known_sqd``) takes its distance from there: the same float.
    """
    k = 0
    for c in range(m):
        j = cand[c]
        while k < m_known and known[k] < j:
            k += 1
        if k < m_known and known[k] == j:
            sqd[c] = known_sqd[k]
        else:
            sqd[c] = _sqdist(X, me, j)
        dist[c] = np.sqrt(sqd[c])


@jit
def _screen_row(g, me, sqy, ny, X, consts, knn, fixed_scale, factor, margin, f_idx, f_dist,
                room_idx, room_dist, lower, upper, hv, hv_room, cand, sqd,
                dist):  # pragma: no cover
    """One row of :func:`knn_radius_rows_screened` (``g``: its Gram row); returns its state.

    ``lower``, ``upper`` (n,), ``hv`` (k1 - 1,), ``hv_room`` (room - 1,), ``cand``,
    ``sqd`` (2, budget) and ``dist`` (budget,) are scratch: the passes of a row write
    their candidates into the two rows of ``cand`` in turn, so that each takes the
    distances the pass before it computed.
    """
    n = g.shape[0]
    k1 = f_idx.shape[0]
    room = room_idx.shape[0]
    budget = cand.shape[1]
    cb, cd, ca, scale2, grow = consts[0], consts[1], consts[2], consts[3], consts[4]
    s_r = sqy[me]
    n_r = ny[me]
    for j in range(n):  # no branch: vectorised
        s = s_r + sqy[j]
        v = s - 2.0 * np.float64(g[j])
        e = cb * n_r * ny[j] + cd * s + ca
        lower[j] = v - e
        upper[j] = v + e
    upper[me] = np.inf  # self is listed first, not offered
    root = _kth_smallest(upper, hv)
    f_idx[0] = me
    f_dist[0] = 0.0
    m = _candidates(lower, me, root + abs(root) * (grow - 1.0), cand[0])
    if m > budget:
        return FALLBACK
    order = _exact_sorted(X, me, cand[0], m, sqd[0], dist, cand[1], sqd[1], 0)
    for c in range(k1 - 1):
        f_idx[c + 1] = cand[0, order[c]]
        f_dist[c + 1] = dist[order[c]]
    scale = fixed_scale if fixed_scale > 0.0 else max(f_dist[knn], _EPS)
    radius = scale * factor
    if not (f_dist[k1 - 1] < radius and k1 < n):
        return KEEP_FIRST
    if room - 1 <= k1:
        return CUT_AT_FIRST
    lim = (radius * (1.0 + margin)) ** 2
    m_first = m
    m = _candidates(lower, me, lim * scale2 * grow, cand[1])
    if m <= budget:
        # a list the cap does not cut goes in ascending index order (no sort); a full room
        # is cut at its first cap1 points: the nearest, so sorted
        _exact(X, me, cand[1], m, sqd[1], dist, cand[0], sqd[0], m_first)
        c = _fill_room(cand[1], sqd[1], dist, np.arange(m), m, me, lim, room_idx, room_dist)
        if c < room:
            return c
        if c == room:
            order = np.argsort(dist[:m], kind="mergesort")
            return _fill_room(cand[1], sqd[1], dist, order, m, me, lim, room_idx, room_dist)
    # more in the radius than the room holds (or too many candidates to tell): the
    # room's nearest points, as many as are inside (all of them: the row is cut)
    m_known = m if m <= budget else 0
    root = _kth_smallest(upper, hv_room)
    m = _candidates(lower, me, root + abs(root) * (grow - 1.0), cand[0])
    if m > budget:
        return FALLBACK
    order = _exact_sorted(X, me, cand[0], m, sqd[0], dist, cand[1], sqd[1], m_known)
    return min(room, _fill_room(cand[0], sqd[0], dist, order, min(m, room - 1), me, lim,
                                room_idx, room_dist))


@jit
def _fill_room(cand, sqd, dist, order, m, me, lim, room_idx, room_dist):  # pragma: no cover
    """Self, then the first ``m`` candidates in ``order`` within ``lim`` (squared).

    Returns how many points are within (self included); those beyond the room are
    counted, not written.
    """
    room = room_idx.shape[0]
    room_idx[0] = me
    room_dist[0] = 0.0
    c = 1
    for o in range(m):
        if sqd[order[o]] <= lim:
            if c < room:
                room_idx[c] = cand[order[o]]
                room_dist[c] = dist[order[o]]
            c += 1
    return c


#: Rows of a block that share one set of scratch arrays in :func:`knn_radius_rows_screened`.
_ROWS_PER_SCRATCH = 64


@pjit
def knn_radius_rows_screened(G, rows, sqy, ny, X, consts, knn, fixed_scale, factor, margin,
                             budget, first_idx, first_dist, room_idx, room_dist,
                             lengths):  # pragma: no cover - jitted
    """k-NN lists and, where they fall short of the radius, in-radius lists, screened.

    Each row's ``k1`` nearest points (self first), its threshold radius
    ``scale * factor`` (``scale``: ``fixed_scale`` if positive, else the distance to
    the ``knn``-th neighbour clipped at machine epsilon: the sparse kernel's rule,
    :class:`fastdse.operator.kernel.RowKernel`, evaluated in the row loop) and, when
    the ``k1``-th point is closer than the radius, every point within ``radius * (1 +
    margin)``, into the row's room; every listed distance in float64 from
    differences. ``factor = 0`` asks for the k-NN lists alone.

    Parameters
    ----------
    G : float32 or float64 (b, n)
        ``Y[rows] @ Y.T``: in float32 for the centred, scaled points ``Y`` of
        :func:`~fastdse.operator.exact_search.screen_points`, in float64 for the
        points themselves (:func:`~fastdse.operator.exact_search.float64_bound`).
    rows : int64 (b,)
        The rows' point numbers.
    sqy, ny : float64 (n,)
        Squared norms and norms (float64) of the points ``G`` multiplies.
    X : float64 (n, d)
        The points: listed distances are computed from them.
    consts : float64 (5,)
        ``(cb, cd, ca, scale2, grow)``: the bound ``e_ij = cb n_i n_j + cd (s_i + s_j)
        + ca``, the scaling of squared distances into ``Y``'s units, and the factor
        that covers the float64 distances' rounding.
    knn, fixed_scale, factor, margin
        The radius rule (above).
    budget : int
        Candidates a row may have before it is left to the float64 pass
        (:data:`FALLBACK`); ``n - 1`` or more: never.
    first_idx, first_dist : int64 (b, k1), float64 (b, k1)
        The rows' k-NN lists (self first), ``k1 >= 2``.
    room_idx, room_dist : int64 (b, room), float64 (b, room)
        In-radius lists of the widened rows (``room = cap1 + 1``): self first, then
        by index, or by (distance, index) in a full room (a row the cap cuts).
    lengths : int64 (b,)
        A widened row's list length, or :data:`KEEP_FIRST`, :data:`CUT_AT_FIRST`,
        :data:`FALLBACK`.
    """
    b, n = G.shape
    k1 = first_idx.shape[1]
    budget = min(budget, n)
    nchunk = (b + _ROWS_PER_SCRATCH - 1) // _ROWS_PER_SCRATCH
    for ch in prange(nchunk):
        lower = np.empty(n, dtype=np.float64)
        upper = np.empty(n, dtype=np.float64)
        hv = np.empty(k1 - 1, dtype=np.float64)
        hv_room = np.empty(room_idx.shape[1] - 1, dtype=np.float64)
        cand = np.empty((2, budget), dtype=np.int64)
        sqd = np.empty((2, budget), dtype=np.float64)
        dist = np.empty(budget, dtype=np.float64)
        for r in range(ch * _ROWS_PER_SCRATCH, min(b, (ch + 1) * _ROWS_PER_SCRATCH)):
            lengths[r] = _screen_row(G[r], rows[r], sqy, ny, X, consts, knn, fixed_scale,
                                     factor, margin, first_idx[r], first_dist[r],
                                     room_idx[r], room_dist[r], lower, upper, hv, hv_room,
                                     cand, sqd, dist)
