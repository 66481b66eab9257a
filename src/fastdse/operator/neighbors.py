"""Nearest neighbours: exact (blocked BLAS) or approximate (pynndescent).

Conventions, for every function here:

- neighbour lists include the point itself, at column 0, with distance
  exactly 0, even when the data hold duplicated points;
- the other neighbours follow by ascending Euclidean distance (ties by
  ascending index for the exact search);
- indices are ``int64``, distances ``float64``.

So ``knn_search(X, k)`` returns ``(n, k + 1)`` arrays, and column ``k`` holds
the ``k``-th nearest *other* point, the alpha-decay bandwidth of graphtools
(whose ``knn`` also excludes the point itself).

:func:`widen_to_radius` then extends chosen rows until each list reaches a
per-row radius (the distance beyond which a kernel falls below its threshold),
as graphtools does, returning ragged lists in CSR layout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numba
import numpy as np

from fastdse._numba import sparse as _sparse_jit
from fastdse._util import progress as _progress
from fastdse._util.blocks import Scratch, kernels, map_row_blocks
from fastdse._util.inputs import check_points
from fastdse._util.threads import numba_threads
from fastdse._util.validation import (
    check_choice,
    check_int,
    check_n_jobs,
    check_random_state,
)

__all__ = [
    "METHODS",
    "AUTO_EXACT_MAX_N",
    "AUTO_EXACT_MAX_WORK",
    "auto_exact_max_n",
    "PYNNDESCENT_DEFAULTS",
    "PYNNDESCENT_MIN_NEIGHBORS",
    "EXACT_WIDEN_MAX_PAIRS",
    "knn_search",
    "exact_knn_radius",
    "widen_to_radius",
]

#: ``method="auto"`` searches exactly while ``n^2 max(d, 32)`` is at most
#: :data:`AUTO_EXACT_MAX_WORK`, with pynndescent above. Exact search (and its radius
#: widening) costs ~n^2 d; pynndescent ~n (plus ~20 s of numba compilation in a fresh
#: process), and its recall is imperfect. Measured on this project's 2-core reference
#: machine (docs/benchmarks/neighbors.md): the one-shot crossover was n ~ 50,000 at
#: d = 64; at d = 128 exact search plus widening took 13 s at n = 25,000 and 50 s at
#: 50,000, where pynndescent took ~34 s including compilation.
AUTO_EXACT_MAX_WORK = 50_000**2 * 64

#: The crossover in points at d = 64 (kept for reference and tests).
AUTO_EXACT_MAX_N = 50_000


def auto_exact_max_n(d: int) -> int:
    """Largest n that ``method="auto"`` searches exactly for d features."""
    return int((AUTO_EXACT_MAX_WORK / max(d, 32)) ** 0.5)

#: pynndescent parameters used unless the caller overrides them (chosen by measurement,
#: see docs/benchmarks/neighbors.md). Other parameters keep pynndescent's defaults
#: (n_trees = 5 + n^0.25, n_iters = max(5, log2 n), diversify_prob = 1,
#: pruning_degree_multiplier = 1.5), which measured no worse than the alternatives
#: tried; the graph width mattered most.
PYNNDESCENT_DEFAULTS: dict[str, Any] = {"low_memory": True}

#: The number of neighbours pynndescent builds its graph with, at least. On uniform
#: 256-d data (n = 3000) 36 neighbours gave recall@5 = 0.971 and a DSE error of -0.15
#: bits at t = 5; 60 gave 0.998 and -0.010 bits for about the same build time.
PYNNDESCENT_MIN_NEIGHBORS = 60

#: Widening re-searches rows exactly while this costs at most this many distance
#: evaluations (rows x n); beyond, pynndescent runs use the two-hop widening and
#: ``index.query`` for rows it cannot cover.
EXACT_WIDEN_MAX_PAIRS = 2_000_000_000

#: Bytes per block of the Gram matrix in the exact search.
_BLOCK_BYTES = 64 * 2**20


# --------------------------------------------------------------------------- exact


def _block_rows(n: int, b: int) -> int:
    """Rows per Gram block: :data:`_BLOCK_BYTES` of float64 shared by the block threads."""
    return max(1, min(b, _BLOCK_BYTES // (8 * n * max(1, numba.get_num_threads()))))


def _exact_rows(X: np.ndarray, sq: np.ndarray, rows: np.ndarray, k1: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """Find the ``k1`` nearest points (self first) of the points ``rows`` by blocked BLAS."""
    n = X.shape[0]
    b = len(rows)
    idx = np.empty((b, k1), dtype=np.int64)
    dist = np.empty((b, k1), dtype=np.float64)

    scratch = Scratch()

    def run(lo: int, hi: int, serial: bool) -> int:
        r = rows[lo:hi]
        (topk,) = kernels(serial, _sparse_jit.topk_from_gram)
        G = np.matmul(X[r], X.T, out=scratch.array(len(r), n))
        topk(G, sq[r], sq, r, X, idx[lo:hi], dist[lo:hi])
        return hi - lo

    with _progress.bar(b, f"kNN (exact, n={n})", unit="pt") as bar:
        for done in map_row_blocks(run, b, _block_rows(n, b)):
            bar.update(done)
    return idx, dist


#: Relative margin on the radius of a radius query: points out to ``radius * (1 + margin)``
#: are listed, so rounding never drops a point the kernel keeps (the kernel's own threshold
#: test then decides).
RADIUS_MARGIN = 1e-9


def _radius_block(G: np.ndarray, X: np.ndarray, sq: np.ndarray, r: np.ndarray,
                  radius: np.ndarray, cap1: int, serial: bool = False
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """List the points within ``radius`` of the points ``r`` from their Gram block ``G``.

    Returns per-row lengths, the concatenated lists (self first, ascending),
    and which rows were cut at ``cap1`` with the ``(cap1 + 1)``-th point truly
    inside the radius.
    """
    lim = (radius * (1.0 + RADIUS_MARGIN)) ** 2
    count, fill = (kernels(serial, _sparse_jit.radius_count_from_gram,
                            _sparse_jit.radius_fill_from_gram))
    counts = count(G, sq[r], sq, r, lim)
    indptr = np.zeros(len(r) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    idx = np.empty(indptr[-1], dtype=np.int64)
    dist = np.empty(indptr[-1], dtype=np.float64)
    fill(G, sq[r], sq, r, lim, X, indptr, idx, dist)
    truncated = np.zeros(len(r), dtype=bool)
    long_rows = np.nonzero(counts > cap1)[0]
    if len(long_rows):
        # more than cap1 listed: truncated if the (cap1 + 1)-th is truly inside
        truncated[long_rows] = dist[indptr[long_rows] + cap1] <= radius[long_rows]
        keep = np.ones(indptr[-1], dtype=bool)
        for i in long_rows:
            keep[indptr[i] + cap1:indptr[i + 1]] = False
        idx, dist = idx[keep], dist[keep]
        counts = np.minimum(counts, cap1)
    return counts, idx, dist, truncated


def _ragged(lengths: list[np.ndarray], idx: list[np.ndarray], dist: list[np.ndarray]
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concatenate blocks of ragged lists into one CSR layout ``(indptr, idx, dist)``."""
    lens = np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int64)
    indptr = np.zeros(len(lens) + 1, dtype=np.int64)
    np.cumsum(lens, out=indptr[1:])
    return (indptr,
            np.concatenate(idx) if idx else np.zeros(0, dtype=np.int64),
            np.concatenate(dist) if dist else np.zeros(0))


def _exact_radius_rows(X: np.ndarray, sq: np.ndarray, rows: np.ndarray, radius: np.ndarray,
                       cap1: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """List every point within ``radius[i]`` of each point ``rows[i]``, by blocked BLAS.

    One Gram pass: each block of rows is screened by the Gram expansion of the
    squared distance (with a margin), the candidates' distances taken from the
    Gram expansion where it is accurate (recomputed from differences where it
    cancels, see :func:`fastdse._numba.sparse.radius_fill_from_gram`) and sorted,
    self first. Lists longer than ``cap1`` keep their ``cap1`` nearest.

    Returns
    -------
    indptr : int64 (b + 1,)
    idx : int64 (nnz,)
    dist : float64 (nnz,)
    truncated : bool (b,)
        Rows with more than ``cap1`` points (self included) within their radius.
    """
    n = X.shape[0]
    b = len(rows)

    scratch = Scratch()

    def run(lo: int, hi: int, serial: bool) -> tuple[np.ndarray, ...]:
        r = rows[lo:hi]
        G = np.matmul(X[r], X.T, out=scratch.array(len(r), n))
        return _radius_block(G, X, sq, r, radius[lo:hi], cap1, serial)

    lengths, parts_idx, parts_dist, parts_trunc = [], [], [], []
    with _progress.bar(b, f"kNN radius (exact, n={n})", unit="pt") as bar:
        for counts, idx, dist, trunc in map_row_blocks(run, b, _block_rows(n, b)):
            lengths.append(counts)
            parts_idx.append(idx)
            parts_dist.append(dist)
            parts_trunc.append(trunc)
            bar.update(len(counts))
    indptr, idx, dist = _ragged(lengths, parts_idx, parts_dist)
    truncated = np.concatenate(parts_trunc) if parts_trunc else np.zeros(0, dtype=bool)
    return indptr, idx, dist, truncated


def _replace_lists(idx: np.ndarray, dist: np.ndarray, rows: np.ndarray, lengths: np.ndarray,
                   new_idx: np.ndarray, new_dist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ragged lists: the ``(b, k1)`` lists with rows ``rows`` replaced by new lists.

    ``lengths`` holds every row's final length; ``new_idx``/``new_dist`` the
    replacements of ``rows`` (ascending), concatenated. Returns the
    concatenated lists in row order.
    """
    b, k1 = idx.shape
    if len(rows) == b:
        return new_idx, new_dist
    ptr = np.zeros(b + 1, dtype=np.int64)
    np.cumsum(lengths, out=ptr[1:])
    out_idx = np.empty(ptr[-1], dtype=np.int64)
    out_dist = np.empty(ptr[-1], dtype=np.float64)
    new_ptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths[rows], out=new_ptr[1:])
    kept = np.setdiff1d(np.arange(b, dtype=np.int64), rows)
    _sparse_jit.copy_ragged_rows(np.arange(b + 1, dtype=np.int64) * k1, idx.reshape(-1),
                                 dist.reshape(-1), kept, ptr, kept, out_idx, out_dist)
    _sparse_jit.copy_ragged_rows(new_ptr, new_idx, new_dist, np.arange(len(rows)), ptr, rows,
                                 out_idx, out_dist)
    return out_idx, out_dist


def _list_radius(dist: np.ndarray, knn: int, fixed_scale: float, factor: float) -> np.ndarray:
    """Each row's radius ``scale * factor`` from its neighbour list's distances ``(b, k1)``.

    ``scale`` is ``fixed_scale`` when positive, else the distance to the row's
    ``knn``-th neighbour clipped at machine epsilon (the rule
    :func:`fastdse._numba.sparse.knn_radius_rows` applies inside the search).
    """
    if fixed_scale > 0:
        return np.full(dist.shape[0], fixed_scale) * factor
    return np.maximum(dist[:, knn], np.finfo(np.float64).eps) * factor


def exact_knn_radius(
    X: np.ndarray,
    k1: int,
    knn: int,
    fixed_scale: float,
    factor: float,
    max_neighbors: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any], np.ndarray]:
    """Exact k-NN search and widening to a radius, in one pass over the Gram matrix.

    The same result as :func:`knn_search` (``method="exact"``) followed by
    :func:`widen_to_radius` with an exact searcher, but each block of the Gram
    matrix ``X[rows] @ X.T`` is computed once, and each of its rows is visited
    once while in cache (:func:`fastdse._numba.sparse.knn_radius_rows`): its
    ``k1`` nearest points give its radius, and if the ``k1``-th is closer than
    that, every point within the radius is listed from the same row.

    Parameters
    ----------
    X : float64 (n, d)
        Validated points.
    k1 : int
        Length of the first lists (self included), ``k1 <= n``.
    knn, fixed_scale, factor : int, float, float
        A row's radius is ``scale * factor`` with ``scale = fixed_scale`` when
        it is positive, else the distance to its ``knn``-th neighbour (clipped
        at machine epsilon).
    max_neighbors : int
        Cap on a list's length, self excluded.

    Returns
    -------
    indptr, nbr, dist, truncated, info
        As :func:`widen_to_radius` (``widen_seconds`` is 0: the widening
        happens inside the search pass, whose time the caller measures).
    first_dist : float64 (n, k1)
        The first lists' distances (self first), from which the radii came.
    """
    n = X.shape[0]
    cap1 = min(max_neighbors, n - 1) + 1
    sq = np.einsum("ij,ij->i", X, X)
    first_dist = np.empty((n, k1), dtype=np.float64)
    g_scratch, idx_scratch, dist_scratch = Scratch(), Scratch(np.int64), Scratch()

    def run(lo: int, hi: int, serial: bool) -> tuple[Any, ...]:
        b = hi - lo
        r = np.arange(lo, hi, dtype=np.int64)
        G = np.matmul(X[lo:hi], X.T, out=g_scratch.array(b, n))
        first_idx = np.empty((b, k1), dtype=np.int64)
        dist = first_dist[lo:hi]
        room_idx = idx_scratch.array(b, cap1 + 1)
        room_dist = dist_scratch.array(b, cap1 + 1)
        state = np.empty(b, dtype=np.int64)
        (fused,) = kernels(serial, _sparse_jit.knn_radius_rows)
        fused(G, sq[r], sq, r, X, knn, fixed_scale, factor, RADIUS_MARGIN, first_idx, dist,
              room_idx, room_dist, state)
        radius = _list_radius(dist, knn, fixed_scale, factor)
        lengths = np.where(state >= 1, np.minimum(state, cap1), k1)
        # a full room holds cap1 + 1 points: cut at cap1, truncated if the last is inside
        full = np.nonzero(state == cap1 + 1)[0]
        truncated = [r[state == _sparse_jit.CUT_AT_FIRST],
                     r[full[room_dist[full, cap1] <= radius[full]]]]
        overflow = np.nonzero(state == _sparse_jit.OVERFLOW)[0]
        if len(overflow):  # more in-radius points than the room: list them separately
            o_counts, o_idx, o_dist, o_trunc = _radius_block(
                G[overflow], X, sq, r[overflow], radius[overflow], cap1, serial)
            lengths[overflow] = o_counts
            truncated.append(r[overflow][o_trunc])
        indptr = np.zeros(b + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        idx = np.empty(indptr[-1], dtype=np.int64)
        out = np.empty(indptr[-1], dtype=np.float64)
        (gather, copy) = kernels(serial, _sparse_jit.gather_lists, _sparse_jit.copy_ragged_rows)
        gather(first_idx, dist, room_idx, room_dist, state >= 1, indptr, idx, out)
        if len(overflow):
            o_ptr = np.zeros(len(overflow) + 1, dtype=np.int64)
            np.cumsum(o_counts, out=o_ptr[1:])
            copy(o_ptr, o_idx, o_dist, np.arange(len(overflow)), indptr, overflow, idx, out)
        n_widened = int(np.count_nonzero((state >= 1) | (state == _sparse_jit.OVERFLOW)))
        return lengths, idx, out, np.concatenate(truncated), n_widened

    lengths, parts_idx, parts_dist, parts_trunc = [], [], [], []
    widened = 0
    with _progress.bar(n, f"kNN + radius (exact, n={n})", unit="pt") as bar:
        for counts, idx, dist, trunc, n_widened in map_row_blocks(run, n, _block_rows(n, n)):
            lengths.append(counts)
            parts_idx.append(idx)
            parts_dist.append(dist)
            parts_trunc.append(trunc)
            widened += n_widened
            bar.update(len(counts))
    indptr, nbr, nd = _ragged(lengths, parts_idx, parts_dist)
    info = {"rounds": int(widened > 0), "two_hop_rows": 0, "widened_rows": widened,
            "radius_rows": np.zeros(0, dtype=np.int64), "widen_seconds": 0.0}
    return indptr, nbr, nd, np.sort(np.concatenate(parts_trunc)), info, first_dist


class _ExactSearcher:
    """Exact neighbour queries of points of ``X`` (by row number)."""

    method = "exact"

    def __init__(self, X: np.ndarray) -> None:
        self.X = X
        self.sq = np.einsum("ij,ij->i", X, X)

    def query(self, rows: np.ndarray, k1: int) -> tuple[np.ndarray, np.ndarray]:
        return _exact_rows(self.X, self.sq, np.asarray(rows, dtype=np.int64), k1)

    def query_radius(self, rows: np.ndarray, radius: np.ndarray, cap1: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """Every point within ``radius[i]`` of ``rows[i]`` (at most ``cap1``), one pass."""
        return _exact_radius_rows(self.X, self.sq, np.asarray(rows, dtype=np.int64),
                                  np.asarray(radius, dtype=np.float64), cap1)


# --------------------------------------------------------------------------- pynndescent


class _PynndescentSearcher:
    """An NNDescent index over ``X``; its graph answers the first search."""

    method = "pynndescent"
    two_hop = True

    def __init__(self, X: np.ndarray, k1: int, seed: int, n_jobs: int | None,
                 params: dict[str, Any]) -> None:
        from pynndescent import NNDescent

        reserved = sorted(set(params) & {"data", "metric", "random_state", "n_jobs"})
        if reserved:
            raise TypeError(f"pynndescent parameters {reserved} are set by fastdse (Euclidean "
                            "metric; pass random_state and n_jobs as arguments)")
        opts = {**PYNNDESCENT_DEFAULTS, **params}
        opts.setdefault("n_neighbors", max(k1, PYNNDESCENT_MIN_NEIGHBORS))
        opts["n_neighbors"] = min(max(opts["n_neighbors"], k1), X.shape[0] - 1)
        self.X = X
        self.k1 = k1
        with _progress.stage(f"kNN index (pynndescent, n={X.shape[0]}, d={X.shape[1]})",
                             long=True):
            self.index = NNDescent(X, metric="euclidean", random_state=seed, n_jobs=n_jobs,
                                   **opts)
        self._exact: _ExactSearcher | None = None

    def graph(self, k1: int) -> tuple[np.ndarray, np.ndarray]:
        """Return the first ``k1`` columns of the index's graph: self first, float64 distances."""
        idx, dist = self.index.neighbor_graph
        idx = np.ascontiguousarray(idx[:, :k1], dtype=np.int64)
        dist = np.ascontiguousarray(dist[:, :k1], dtype=np.float64)
        # unfilled slots (-1) only occur for tiny n; refuse rather than invent neighbours
        if (idx < 0).any():
            raise RuntimeError(
                "pynndescent left neighbour slots unfilled (n too small for the graph width); "
                "use method='exact' for this n")
        rows = np.arange(len(idx), dtype=np.int64)
        _sparse_jit.self_first_rows_inplace(idx, dist, rows)
        _sparse_jit.exact_list_distances_inplace(self.X, rows, idx, dist)
        return idx, dist

    def query_radius(self, rows: np.ndarray, radius: np.ndarray, cap1: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """Exact radius query when it costs at most EXACT_WIDEN_MAX_PAIRS distances."""
        if len(rows) * self.X.shape[0] > EXACT_WIDEN_MAX_PAIRS:
            return None
        if self._exact is None:
            self._exact = _ExactSearcher(self.X)
        return self._exact.query_radius(rows, radius, cap1)

    def query(self, rows: np.ndarray, k1: int) -> tuple[np.ndarray, np.ndarray]:
        # Re-search: exact when it costs at most EXACT_WIDEN_MAX_PAIRS distances, else the
        # index's approximate query (slow: 200 s for 41k rows at n = 100k, k = 216).
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) * self.X.shape[0] <= EXACT_WIDEN_MAX_PAIRS:
            if self._exact is None:
                self._exact = _ExactSearcher(self.X)
            return self._exact.query(rows, k1)
        with _progress.stage(f"kNN re-query (pynndescent, {len(rows)} rows, k={k1})",
                             long=True):
            idx, dist = self.index.query(self.X[rows], k=k1)
        idx = np.ascontiguousarray(idx, dtype=np.int64)
        dist = np.ascontiguousarray(dist, dtype=np.float64)
        _sparse_jit.self_first_rows_inplace(idx, dist, rows)
        _sparse_jit.exact_list_distances_inplace(self.X, rows, idx, dist)
        return idx, dist


METHODS: dict[str, Callable[..., Any]] = {
    "exact": _ExactSearcher,
    "pynndescent": _PynndescentSearcher,
}


def _resolve_method(method: str, n: int, d: int = 64) -> str:
    if method == "auto":
        return "exact" if n <= auto_exact_max_n(d) else "pynndescent"
    return method


def _search(X: np.ndarray, k1: int, method: str, rng: np.random.Generator,
            n_jobs: int | None, params: dict[str, Any], *, at_least: bool = False
            ) -> tuple[np.ndarray, np.ndarray, Any]:
    """Run :func:`knn_search` on validated input; also return the searcher for widening.

    With ``at_least``, an approximate search returns its whole graph (at least
    ``k1`` columns) rather than exactly ``k1``.
    """
    n = X.shape[0]
    if method == "exact":
        searcher: Any = _ExactSearcher(X)
        with numba_threads(n_jobs):
            idx, dist = searcher.query(np.arange(n, dtype=np.int64), k1)
        return idx, dist, searcher
    seed = int(rng.integers(2**31 - 1))
    searcher = _PynndescentSearcher(X, k1, seed, n_jobs, params)
    with numba_threads(n_jobs):
        idx, dist = searcher.graph(searcher.index.n_neighbors if at_least else k1)
    return idx, dist, searcher


def knn_search(
    X: Any,
    k: int,
    *,
    method: str = "auto",
    random_state: Any = None,
    n_jobs: int | None = None,
    **pynndescent_params: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Find the ``k`` nearest neighbours of every point, the point itself included first.

    Parameters
    ----------
    X : array-like of shape (n, d)
        Points; converted to float64.
    k : int
        Number of neighbours other than the point itself, ``1 <= k <= n - 1``.
    method : {"auto", "exact", "pynndescent"}, default "auto"
        ``"exact"``: blocked BLAS distances and a numba heap selection
        (O(n^2 d) time, O(n) extra memory per block). ``"pynndescent"``:
        approximate, ``pynndescent.NNDescent`` with :data:`PYNNDESCENT_DEFAULTS`
        (deterministic for a given seed). ``"auto"``: exact up to
        :data:`AUTO_EXACT_MAX_N` points.
    random_state : None, int or numpy.random.Generator
        Seed of the approximate search.
    n_jobs : int, optional
        Threads (numba kernels and pynndescent); ``None`` keeps the defaults.
    **pynndescent_params
        Passed to ``NNDescent`` (e.g. ``n_neighbors``, ``n_trees``, ``n_iters``).

    Returns
    -------
    indices : numpy.ndarray of shape (n, k + 1), int64
        ``indices[i, 0] == i``; then neighbours by ascending distance.
    distances : numpy.ndarray of shape (n, k + 1), float64
        Euclidean distances; ``distances[:, 0] == 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdse.operator.neighbors import knn_search
    >>> X = np.array([[0.0], [1.0], [3.0], [3.0]])
    >>> idx, dist = knn_search(X, 2, method="exact")
    >>> idx
    array([[0, 1, 2],
           [1, 0, 2],
           [2, 3, 1],
           [3, 2, 1]])
    >>> dist[:, 1]
    array([1., 1., 0., 0.])
    """
    X = check_points(X, "X")
    n = X.shape[0]
    k = check_int(k, "k", low=1, high=n - 1,
                  high_note=f" (n - 1, the number of other points; X has n={n})")
    method = check_choice(method, "method", ["auto", *METHODS])
    if pynndescent_params and _resolve_method(method, n, X.shape[1]) != "pynndescent":
        raise TypeError(
            f"pynndescent parameters {sorted(pynndescent_params)} were given but "
            f"method={method!r} resolves to the exact search for n={n}"
        )
    rng = check_random_state(random_state)
    n_jobs = check_n_jobs(n_jobs)
    idx, dist, _ = _search(X, k + 1, _resolve_method(method, n, X.shape[1]), rng, n_jobs,
                           pynndescent_params)
    return idx, dist


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
        From the first search.
    indices, distances : numpy.ndarray of shape (n, k1)
        First search, self first.
    radius : numpy.ndarray of shape (n,)
    max_neighbors : int
        Cap on the list length, self excluded (at most ``n - 1``).

    Returns
    -------
    indptr : int64 (n + 1,)
    nbr : int64 (nnz,)
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
    need = np.nonzero(_sparse_jit.rows_short_of_radius(
        np.ascontiguousarray(distances[:, -1]), radius, np.full(n, k1 >= n)))[0]
    # ragged sources: (indptr, idx, dist); row -> (source, position) of its final list
    sources = [(np.arange(n + 1, dtype=np.int64) * k1, indices.reshape(-1),
                distances.reshape(-1))]
    final_src = np.zeros(n, dtype=np.int64)
    final_pos = np.arange(n, dtype=np.int64)
    truncated = []
    two_hop_rows = 0
    if (len(need) and getattr(searcher, "two_hop", False)
            and len(need) * n > EXACT_WIDEN_MAX_PAIRS):
        # one pass per block of rows (each candidate distance computed once), buffers
        # of at most ~128 MiB
        block = max(1, (128 << 20) // (16 * cap1))
        parts = []
        for lo in range(0, len(need), block):
            c_blk, cov_blk, i_blk, d_blk = _sparse_jit.two_hop_block(
                searcher.X, indices, need[lo:lo + block], radius, cap1)
            keep = np.arange(cap1)[None, :] < np.minimum(c_blk, cap1)[:, None]
            parts.append((c_blk, cov_blk, i_blk[keep], d_blk[keep]))
        counts = np.concatenate([p[0] for p in parts])
        covered = np.concatenate([p[1] for p in parts])
        lengths = np.minimum(counts, cap1)
        th_indptr = np.zeros(len(need) + 1, dtype=np.int64)
        np.cumsum(lengths, out=th_indptr[1:])
        th_idx = np.concatenate([p[2] for p in parts])
        th_dist = np.concatenate([p[3] for p in parts])
        final_src[need] = len(sources)
        final_pos[need] = np.arange(len(need))
        sources.append((th_indptr, th_idx, th_dist))
        two_hop_rows = len(need)
        truncated.append(need[counts > cap1])
        need = need[~covered & (counts <= cap1)]
    rounds = 0
    radius_rows = np.zeros(0, dtype=np.int64)
    radius_query = getattr(searcher, "query_radius", None)
    found = radius_query(need, radius[need], cap1) if (
        radius_query is not None and len(need) and k1 < cap1) else None
    if found is not None:
        # one exact pass lists every in-radius point (rather than rounds of growing k-NN)
        r_indptr, r_idx, r_dist, r_trunc = found
        final_src[need] = len(sources)
        final_pos[need] = np.arange(len(need))
        sources.append((r_indptr, r_idx, r_dist))
        truncated.append(need[r_trunc])
        radius_rows = need
        need = need[:0]
        rounds = 1
    cur = k1
    while len(need) and cur < cap1:
        cur = min(cur * multiplier, cap1)
        rounds += 1
        ni, nd = searcher.query(need, cur)
        final_src[need] = len(sources)
        final_pos[need] = np.arange(len(need))
        sources.append((np.arange(len(need) + 1, dtype=np.int64) * cur, ni.reshape(-1),
                        nd.reshape(-1)))
        need = need[(nd[:, -1] < radius[need]) & (cur < n)]
    truncated.append(need)
    truncated_rows = np.unique(np.concatenate(truncated)).astype(np.int64)
    # assemble the ragged lists
    lengths = np.empty(n, dtype=np.int64)
    for s, (sp_, _, _) in enumerate(sources):
        rows = np.nonzero(final_src == s)[0]
        lengths[rows] = np.diff(sp_)[final_pos[rows]]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    if len(sources) == 1:
        nbr = indices.reshape(-1).copy()
        dist = distances.reshape(-1).copy()
    else:
        nbr = np.empty(indptr[-1], dtype=np.int64)
        dist = np.empty(indptr[-1], dtype=np.float64)
        for s, (sp_, si, sd) in enumerate(sources):
            rows = np.nonzero(final_src == s)[0]
            _sparse_jit.copy_ragged_rows(sp_, si, sd, final_pos[rows], indptr, rows, nbr, dist)
    info = {"rounds": rounds, "two_hop_rows": two_hop_rows,
            "widened_rows": int(np.count_nonzero(final_src > 0)),
            "radius_rows": radius_rows,
            "widen_seconds": time.perf_counter() - start}
    return indptr, nbr, dist, truncated_rows, info
