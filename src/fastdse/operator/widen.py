"""Widening neighbour lists to per-row radii, as graphtools does.

:func:`widen_to_radius` takes k-NN lists and a radius for every row (for the
sparse kernel, the distance beyond which the kernel falls below its threshold,
:class:`fastdse.operator.kernel.RowKernel`) and extends the rows whose furthest
listed neighbour is closer than their radius. Rows still short are handed, in
this order, to:

1. two hops, for an approximate searcher when re-searching the rows exactly
   would cost more than :data:`EXACT_WIDEN_MAX_PAIRS` distances: the rows'
   neighbours' neighbours, with exact distances, kept within the radius; rows
   whose candidates all lie inside the radius stay short;
2. one radius query, for a searcher that has one: every point within the
   radius, exactly;
3. rounds of k-NN searches with ``multiplier`` times as many neighbours.

The result is ragged, in CSR layout ``(indptr, nbr, dist)``, each list self
first and ascending by distance.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from fastdse._numba import search as _search_jit
from fastdse._numba.sparse import index_dtype

__all__ = ["EXACT_WIDEN_MAX_PAIRS", "widen_to_radius"]

#: Widening re-searches rows exactly while this costs at most this many distance
#: evaluations (rows x n); beyond, pynndescent runs use the two-hop widening and
#: ``index.query`` for rows it cannot cover.
EXACT_WIDEN_MAX_PAIRS = 2_000_000_000

#: Bytes of the two-hop pass's candidate buffers per block of rows.
_TWO_HOP_BLOCK_BYTES = 128 << 20


class _Lists:
    """Ragged sources of lists and, for every row, which source holds its final list."""

    def __init__(self, indices: np.ndarray, distances: np.ndarray) -> None:
        n, k1 = indices.shape
        self.sources = [(np.arange(n + 1, dtype=np.int64) * k1, indices.reshape(-1),
                         distances.reshape(-1))]
        self.src = np.zeros(n, dtype=np.int64)
        self.pos = np.arange(n, dtype=np.int64)

    def replace(self, rows: np.ndarray, indptr: np.ndarray, idx: np.ndarray,
                dist: np.ndarray) -> None:
        """Give the rows ``rows`` the ragged lists ``(indptr, idx, dist)``, one a row in order."""
        self.src[rows] = len(self.sources)
        self.pos[rows] = np.arange(len(rows))
        self.sources.append((indptr, idx, dist))

    def assemble(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every row's final list, concatenated in row order: ``(indptr, nbr, dist)``."""
        n = len(self.src)
        lengths = np.empty(n, dtype=np.int64)
        for s, (sp_, _, _) in enumerate(self.sources):
            rows = np.nonzero(self.src == s)[0]
            lengths[rows] = np.diff(sp_)[self.pos[rows]]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        if len(self.sources) == 1:
            _, idx, dist = self.sources[0]
            return indptr, idx.copy(), dist.copy()
        # point numbers in int32 while they fit (4 bytes an entry less at 10^6-10^7 points)
        nbr = np.empty(indptr[-1], dtype=index_dtype(n, 0))
        out = np.empty(indptr[-1], dtype=np.float64)
        for s, (sp_, si, sd) in enumerate(self.sources):
            rows = np.nonzero(self.src == s)[0]
            _search_jit.copy_ragged_rows(sp_, si, sd, self.pos[rows], indptr, rows, nbr, out)
        return indptr, nbr, out


def _widen_two_hop(X: np.ndarray, indices: np.ndarray, need: np.ndarray, radius: np.ndarray,
                   cap1: int, lists: _Lists, order: np.ndarray | None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """List the rows ``need`` from their neighbours' neighbours (at most ``cap1`` a row).

    ``order``, if given, is a locality order of all rows (the rows are visited in it).

    Returns the rows two hops cannot settle (every candidate inside the radius:
    there may be more) and the rows cut at ``cap1``.
    """
    if order is not None:
        # near rows together: their candidates (rows of X) are read from cache more
        # often (3 % faster at 100,000 x 128); each row's list does not depend on it
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        need = need[np.argsort(rank[need], kind="stable")]
    # one pass per block of rows (each candidate distance computed once)
    block = max(1, _TWO_HOP_BLOCK_BYTES // (16 * cap1))
    parts = []
    for lo in range(0, len(need), block):
        c_blk, cov_blk, i_blk, d_blk = _search_jit.two_hop_block(
            X, indices, need[lo:lo + block], radius, cap1)
        keep = np.arange(cap1)[None, :] < np.minimum(c_blk, cap1)[:, None]
        parts.append((c_blk, cov_blk, i_blk[keep], d_blk[keep]))
    counts = np.concatenate([p[0] for p in parts])
    covered = np.concatenate([p[1] for p in parts])
    indptr = np.zeros(len(need) + 1, dtype=np.int64)
    np.cumsum(np.minimum(counts, cap1), out=indptr[1:])
    lists.replace(need, indptr, np.concatenate([p[2] for p in parts]),
                  np.concatenate([p[3] for p in parts]))
    return np.sort(need[~covered & (counts <= cap1)]), np.sort(need[counts > cap1])


def _widen_by_rounds(searcher: Any, need: np.ndarray, radius: np.ndarray, k1: int, cap1: int,
                     multiplier: int, lists: _Lists) -> tuple[np.ndarray, int]:
    """Re-search the rows ``need`` with ``multiplier`` times as many neighbours a round.

    Returns the rows still short of their radius at ``cap1`` and the number of rounds.
    """
    n = len(lists.src)
    cur = k1
    rounds = 0
    while len(need) and cur < cap1:
        cur = min(cur * multiplier, cap1)
        rounds += 1
        ni, nd = searcher.query(need, cur)
        lists.replace(need, np.arange(len(need) + 1, dtype=np.int64) * cur, ni.reshape(-1),
                      nd.reshape(-1))
        need = need[(nd[:, -1] < radius[need]) & (cur < n)]
    return need, rounds


def widen_to_radius(
    searcher: Any,
    indices: np.ndarray,
    distances: np.ndarray,
    radius: np.ndarray,
    *,
    max_neighbors: int,
    multiplier: int = 6,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """Extend neighbour lists until each reaches its radius (or ``max_neighbors``).

    Rows whose furthest listed neighbour is closer than ``radius[i]`` are
    searched again with ``multiplier`` times as many neighbours (only those
    rows), as graphtools does, until every row reaches its radius or lists
    ``max_neighbors + 1`` points (itself included). The re-searches are exact
    while they cost at most :data:`EXACT_WIDEN_MAX_PAIRS` distances. Beyond, an
    approximate searcher widens the rows from their neighbours' neighbours
    (exact distances to the two-hop candidates, kept within the radius; this
    can miss in-radius points on high-dimensional data, see the benchmark
    page), and only rows whose candidates all lie inside the radius are
    searched again.

    Parameters
    ----------
    searcher : object with ``query(rows, k1) -> (indices, distances)``
        From the first search (:class:`fastdse.operator.exact_search.ExactSearcher`
        or :class:`fastdse.operator.neighbors.PynndescentSearcher`). With a
        ``query_radius(rows, radius, cap1)`` method the rows are listed by one
        radius query instead of rounds; with ``two_hop = True`` (and its points
        as ``X``) it may be widened by two hops.
    indices, distances : numpy.ndarray of shape (n, k1)
        First search, self first.
    radius : numpy.ndarray of shape (n,)
    max_neighbors : int
        Cap on the list length, self excluded (at most ``n - 1``).
    multiplier : int, default 6
        Growth of the list length from one round to the next.

    Returns
    -------
    indptr : int64 (n + 1,)
    nbr : int32 or int64 (nnz,)
        int32 while n fits in it (or the dtype of ``indices`` when no row changed).
    dist : float64 (nnz,)
        Ragged neighbour lists in CSR layout, each self first and ascending.
    truncated : int64 (m,)
        Rows still short of their radius at the cap.
    info : dict
        ``rounds``, ``widened_rows``, ``two_hop_rows``, ``widen_seconds`` and
        ``radius_rows``: the rows listed by one exact radius query (every point
        within the radius, so their lists also hold their exact nearest
        neighbours).
    """
    start = time.perf_counter()
    n, k1 = indices.shape
    cap1 = min(max_neighbors, n - 1) + 1
    need = np.nonzero(_search_jit.rows_short_of_radius(
        np.ascontiguousarray(distances[:, -1]), radius, np.full(n, k1 >= n)))[0]
    lists = _Lists(indices, distances)
    truncated = []
    two_hop_rows = 0
    if (len(need) and getattr(searcher, "two_hop", False)
            and len(need) * n > EXACT_WIDEN_MAX_PAIRS):
        two_hop_rows = len(need)
        need, cut = _widen_two_hop(searcher.X, indices, need, radius, cap1, lists,
                                   getattr(searcher, "order", None))
        truncated.append(cut)
    radius_rows = np.zeros(0, dtype=np.int64)
    radius_query = getattr(searcher, "query_radius", None)
    found = radius_query(need, radius[need], cap1) if (
        radius_query is not None and len(need) and k1 < cap1) else None
    if found is not None:
        # one exact pass lists every in-radius point (rather than rounds of growing k-NN)
        r_indptr, r_idx, r_dist, r_trunc = found
        lists.replace(need, r_indptr, r_idx, r_dist)
        truncated.append(need[r_trunc])
        radius_rows, need = need, need[:0]
    need, rounds = _widen_by_rounds(searcher, need, radius, k1, cap1, multiplier, lists)
    truncated.append(need)
    indptr, nbr, dist = lists.assemble()
    info = {"rounds": rounds + int(found is not None), "two_hop_rows": two_hop_rows,
            "widened_rows": int(np.count_nonzero(lists.src > 0)),
            "radius_rows": radius_rows,
            "widen_seconds": time.perf_counter() - start}
    return indptr, nbr, dist, np.unique(np.concatenate(truncated)).astype(np.int64), info
