"""Nearest neighbours: exact (blocked BLAS) or approximate (NN-descent, or pynndescent).

Conventions, for every function here:

- neighbour lists include the point itself, at column 0, with distance
  exactly 0, even when the data hold duplicated points;
- the other neighbours follow by ascending Euclidean distance (ties by
  ascending index for the exact search);
- indices are ``int64``, distances ``float64``.

So ``knn_search(X, k)`` returns ``(n, k + 1)`` arrays, and column ``k`` holds
the ``k``-th nearest *other* point, the alpha-decay bandwidth of graphtools
(whose ``knn`` also excludes the point itself).

The searchers (:data:`METHODS`) answer the first search and the re-searches of
:func:`widen_to_radius`, which extends chosen rows until each list reaches a
radius it is given (:mod:`fastdse.operator.widen`). The exact searcher and its
one-pass search-and-widen live in :mod:`fastdse.operator.exact_search`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from fastdse._numba import search as _search_jit
from fastdse._numba.jit import fallback_cache
from fastdse._util import progress as _progress
from fastdse._util.inputs import check_points
from fastdse._util.threads import numba_threads
from fastdse._util.validation import (
    check_choice,
    check_int,
    check_n_jobs,
    check_random_state,
)
from fastdse.operator import widen as _widen
from fastdse.operator.exact_search import ExactSearcher
from fastdse.operator.nn_descent import nn_descent
from fastdse.operator.widen import widen_to_radius

__all__ = [
    "METHODS",
    "EXACT_SEARCH_MAX_N",
    "AUTO_EXACT_MAX_WORK",
    "auto_exact_max_n",
    "PYNNDESCENT_DEFAULTS",
    "PYNNDESCENT_MIN_NEIGHBORS",
    "ExactSearcher",
    "PynndescentSearcher",
    "NNDescentSearcher",
    "NNDESCENT_DEFAULTS",
    "FLOAT32_RESOLUTION_FACTOR",
    "float32_unresolved",
    "check_knn_result",
    "first_search",
    "knn_search",
    "resolve_method",
    "widen_to_radius",
]

#: ``method="auto"`` searches exactly up to this many points (fewer beyond d = 256, see
#: :data:`AUTO_EXACT_MAX_WORK`), with fastdse's NN-descent above. Measured end to end
#: against NN-descent with the float32-screened exact search (docs/benchmarks/neighbors.md,
#: "Crossover"; AMD EPYC, 2 CPUs): at 50,000 points exact takes 0.6-1.1x NN-descent's time
#: for d = 32-256, at 70,000 points 1.24-1.39x, where NN-descent's DSE is 0.7 % (d = 128)
#: and 1.6 % (d = 256) off the exact-neighbour value, outside the approx-accuracy bar of
#: 0.5 %. So: the exact kernel up to 70,000 points, for at most ~1.5x the time of the
#: faster search in the cases measured.
EXACT_SEARCH_MAX_N = 70_000

#: Beyond d = 256 the exact search stays within the work of 70,000 x 256 (27.8 s, the
#: largest case measured): ``n^2 d`` at most this (49,497 points at d = 512, 35,000 at
#: d = 1,024; not measured above d = 256).
AUTO_EXACT_MAX_WORK = EXACT_SEARCH_MAX_N**2 * 256


def auto_exact_max_n(d: int) -> int:
    """Largest n that ``method="auto"`` searches exactly for d features."""
    return int(min(EXACT_SEARCH_MAX_N, (AUTO_EXACT_MAX_WORK / max(d, 1)) ** 0.5))


#: pynndescent parameters used unless the caller overrides them (chosen by measurement,
#: see docs/benchmarks/neighbors.md). Other parameters keep pynndescent's defaults
#: (n_trees = 5 + n^0.25, n_iters = max(5, log2 n), diversify_prob = 1,
#: pruning_degree_multiplier = 1.5), which measured no worse than the alternatives
#: tried; the graph width mattered most.
PYNNDESCENT_DEFAULTS: dict[str, Any] = {"low_memory": True}

#: The number of neighbours pynndescent builds its graph with, at least: on
#: high-dimensional data a graph wider than the first search's ``6 (knn + 1)`` lists
#: raised recall and DSE accuracy for about the same build time
#: (docs/benchmarks/neighbors.md, "pynndescent parameters").
PYNNDESCENT_MIN_NEIGHBORS = 60

#: Parameters of fastdse's own NN-descent (:class:`NNDescentSearcher`), chosen by
#: measurement (docs/benchmarks/knn_graph.md): random-projection trees and leaf size of
#: the start, candidates sampled per row and round, the most rounds, and the stop (fewer
#: than ``delta n k`` heap updates in a round).
NNDESCENT_DEFAULTS: dict[str, Any] = {"n_trees": 8, "leaf_size": 60, "max_candidates": 60,
                                      "n_iters": 12, "delta": 0.001}

#: NN-descent's float32 distances resolve a row's neighbours when its ``k1``-th listed
#: distance is at least this many times the float32 rounding of its coordinates,
#: ``2^-23 |x_i|`` (an error below 0.1 % of the distances it orders); rows below it lie in
#: near-collapsed clusters, whose members float32 cannot tell apart.
FLOAT32_RESOLUTION_FACTOR = 1e3


def float32_unresolved(X: np.ndarray, dist: np.ndarray, col: int) -> np.ndarray:
    """Rows of a float32 graph whose ``col``-th listed distance float32 cannot resolve.

    Below :data:`FLOAT32_RESOLUTION_FACTOR` times ``2^-23 |x_i|`` the rounding of the
    float32 copies of the coordinates exceeds 0.1 % of the distances the row's list was
    ordered by: its neighbours are arbitrary members of a near-collapsed cluster.
    """
    norms = np.sqrt(np.einsum("ij,ij->i", X, X))
    return np.flatnonzero(dist[:, col] < FLOAT32_RESOLUTION_FACTOR * 2.0 ** -23 * norms)


class _ExactWhenAffordable:
    """Re-searches of an approximate searcher: exact while affordable.

    Affordable: at most :data:`fastdse.operator.widen.EXACT_WIDEN_MAX_PAIRS` distances.
    """

    X: np.ndarray
    _exact: ExactSearcher | None

    def _exact_affordable(self, rows: np.ndarray) -> ExactSearcher | None:
        """Return the exact searcher if re-searching ``rows`` exactly is affordable, else None."""
        if len(rows) * self.X.shape[0] > _widen.EXACT_WIDEN_MAX_PAIRS:
            return None
        if self._exact is None:
            self._exact = ExactSearcher(self.X)
        return self._exact

    def query_radius(self, rows: np.ndarray, radius: np.ndarray, cap1: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """Exact radius query when it costs at most EXACT_WIDEN_MAX_PAIRS distances."""
        exact = self._exact_affordable(rows)
        return None if exact is None else exact.query_radius(rows, radius, cap1)


class PynndescentSearcher(_ExactWhenAffordable):
    """An NNDescent index over ``X``; its graph answers the first search.

    Re-searches (:meth:`query`, :meth:`query_radius`) are exact while they cost at
    most :data:`fastdse.operator.widen.EXACT_WIDEN_MAX_PAIRS` distances; beyond,
    :meth:`query` asks the index and :func:`widen_to_radius` tries two hops first.

    pynndescent computes in float32. Rows whose neighbours float32 cannot resolve
    (:func:`float32_unresolved`; near-identical points) are searched again exactly when
    affordable; else pynndescent cannot list them, and fastdse's NN-descent in float64
    (:class:`NNDescentSearcher`, its default parameters, the same graph width) answers
    every search instead. :attr:`unresolved_rows` counts the rows, :attr:`float64` says
    which.
    """

    method = "pynndescent"
    two_hop = True

    def __init__(self, X: np.ndarray, k1: int, seed: int, n_jobs: int | None,
                 params: dict[str, Any]) -> None:
        # on a read-only install pynndescent's numba cache needs the same fallback as ours
        with fallback_cache():
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
            index = NNDescent(X, metric="euclidean", random_state=seed, n_jobs=n_jobs, **opts)
        #: the pynndescent index (None when fastdse's float64 NN-descent answers instead)
        self.index: Any = index
        self._exact: ExactSearcher | None = None
        width = int(index.n_neighbors)
        # the index's property computes the graph afresh (a square root of every distance)
        # at each read: read once, kept for the first search (graph()), which drops it
        self._first_graph: tuple[np.ndarray, np.ndarray] | None = index.neighbor_graph
        unresolved = float32_unresolved(X, self._first_graph[1], min(k1, width) - 1)
        self.unresolved_rows, self.float64 = len(unresolved), False
        #: exact lists of the unresolved rows, written over the index's graph
        self._exact_rows: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._float64_graph: NNDescentSearcher | None = None
        exact = self._exact_affordable(unresolved) if len(unresolved) else None
        if exact is not None:
            self._exact_rows = (unresolved, *exact.query(unresolved, width))
        elif len(unresolved):
            # nothing reads the float32 index from here on: free it (at a million points
            # its data copy, trees and graph hold some 0.3 GB) before the float64 build
            self.index = self._first_graph = index = None
            self._float64_graph = NNDescentSearcher(X, k1, seed, n_jobs,
                                                    {"n_neighbors": width}, float64=True)
            self.float64 = True

    @property
    def n_neighbors(self) -> int:
        """Columns of the index's graph, self included."""
        if self._float64_graph is not None:
            return self._float64_graph.n_neighbors
        return int(self.index.n_neighbors)

    def graph(self, k1: int) -> tuple[np.ndarray, np.ndarray]:
        """Return the first ``k1`` columns of the index's graph: self first, float64 distances."""
        if self._float64_graph is not None:
            return self._float64_graph.graph(k1)
        idx, dist = self._first_graph or self.index.neighbor_graph
        self._first_graph = None
        idx = np.ascontiguousarray(idx[:, :k1], dtype=np.int64)
        dist = np.ascontiguousarray(dist[:, :k1], dtype=np.float64)
        # unfilled slots (-1) only occur for tiny n; refuse rather than invent neighbours
        if (idx < 0).any():
            raise RuntimeError(
                "pynndescent left neighbour slots unfilled (n too small for the graph width); "
                "use method='exact' for this n")
        rows = np.arange(len(idx), dtype=np.int64)
        _search_jit.self_first_rows_inplace(idx, dist, rows)
        _search_jit.exact_list_distances_inplace(self.X, rows, idx, dist)
        if self._exact_rows is not None:
            fixed, f_idx, f_dist = self._exact_rows
            idx[fixed], dist[fixed] = f_idx[:, :k1], f_dist[:, :k1]
        return idx, dist

    def query(self, rows: np.ndarray, k1: int) -> tuple[np.ndarray, np.ndarray]:
        """Re-search ``rows``: exact when affordable, else the index's approximate query.

        The index's query is slow for many rows (docs/benchmarks/neighbors.md, "The
        sparse kernel at scale").
        """
        if self._float64_graph is not None:
            return self._float64_graph.query(rows, k1)
        rows = np.asarray(rows, dtype=np.int64)
        exact = self._exact_affordable(rows)
        if exact is not None:
            return exact.query(rows, k1)
        with _progress.stage(f"kNN re-query (pynndescent, {len(rows)} rows, k={k1})",
                             long=True):
            idx, dist = self.index.query(self.X[rows], k=k1)
        idx = np.ascontiguousarray(idx, dtype=np.int64)
        dist = np.ascontiguousarray(dist, dtype=np.float64)
        _search_jit.self_first_rows_inplace(idx, dist, rows)
        _search_jit.exact_list_distances_inplace(self.X, rows, idx, dist)
        return idx, dist


class NNDescentSearcher(_ExactWhenAffordable):
    """fastdse's own NN-descent graph (:mod:`fastdse._numba.nndescent`; no per-process JIT).

    Its kernels are compiled once per machine and loaded from numba's on-disk cache, where
    pynndescent compiles ~20 s in every new process. The graph (:data:`NNDESCENT_DEFAULTS`,
    at least :data:`PYNNDESCENT_MIN_NEIGHBORS` wide) answers the first search; re-searches
    are exact while affordable (as for pynndescent), else the rows' two-hop neighbourhoods
    in the graph.

    The graph's distances are float32. Rows whose neighbours float32 cannot resolve
    (:data:`FLOAT32_RESOLUTION_FACTOR`; near-identical points, a collapsed class) are
    searched again exactly when affordable, else the whole graph is built again in
    float64 (:attr:`unresolved_rows` counts them, :attr:`float64` says which). With
    ``float64=True`` it is built in float64 at once (:class:`PynndescentSearcher`'s
    fallback).
    """

    method = "nndescent"
    two_hop = True

    def __init__(self, X: np.ndarray, k1: int, seed: int, n_jobs: int | None,
                 params: dict[str, Any], *, float64: bool = False) -> None:
        unknown = sorted(set(params) - set(NNDESCENT_DEFAULTS) - {"n_neighbors"})
        if unknown:
            raise TypeError(f"nndescent parameters {unknown} are not known; allowed: "
                            f"{sorted(NNDESCENT_DEFAULTS)} and n_neighbors (pynndescent's "
                            "parameters need neighbors='pynndescent')")
        opts = {**NNDESCENT_DEFAULTS, **params}
        width = opts.pop("n_neighbors", max(k1, PYNNDESCENT_MIN_NEIGHBORS))
        width = min(max(width, k1), X.shape[0]) - 1  # others, self excluded
        self.X = X
        self._exact: ExactSearcher | None = None
        dtype = np.float64 if float64 else np.float32
        with _progress.stage(f"kNN graph (NN-descent, n={X.shape[0]}, d={X.shape[1]})",
                             long=True):
            idx, dist, self.report = nn_descent(X, width, seed, **opts, dtype=dtype)
        unresolved = (np.empty(0, dtype=np.int64) if float64 else
                      float32_unresolved(X, dist, min(k1, width + 1) - 1))
        self.unresolved_rows, self.float64 = len(unresolved), float64
        exact = self._exact_affordable(unresolved) if len(unresolved) else None
        if exact is not None:
            idx[unresolved], dist[unresolved] = exact.query(unresolved, width + 1)
        elif len(unresolved):
            with _progress.stage("kNN graph again in float64 (near-identical points)",
                                 long=True):
                idx, dist, self.report = nn_descent(X, width, seed, **opts,
                                                             dtype=np.float64)
            self.float64 = True
        self.order = self.report.pop("order")
        short = np.flatnonzero(idx[:, -1] < 0)
        if short.size:  # lists left short (tiny n): searched exactly
            idx[short], dist[short] = (self._exact or ExactSearcher(X)).query(short, width + 1)
        self.graph_idx = idx

    @property
    def n_neighbors(self) -> int:
        """Columns of the graph, self included."""
        return int(self.graph_idx.shape[1])

    def graph(self, k1: int) -> tuple[np.ndarray, np.ndarray]:
        """Return the first ``k1`` columns of the graph, with float64 distances, self first.

        The whole graph is returned without a copy (480 MB at a million points), its
        rows then re-sorted by their float64 distances in place: two-hop re-searches
        (:meth:`query`) do not depend on the order within a row.
        """
        full = k1 == self.graph_idx.shape[1]
        idx = self.graph_idx if full else np.array(self.graph_idx[:, :k1])
        dist = np.zeros(idx.shape)
        rows = np.arange(len(idx), dtype=np.int64)
        _search_jit.exact_list_distances_inplace(self.X, rows, idx, dist)
        return idx, dist

    def query(self, rows: np.ndarray, k1: int) -> tuple[np.ndarray, np.ndarray]:
        """Re-search ``rows``: exact when affordable, else their two-hop neighbourhoods."""
        rows = np.asarray(rows, dtype=np.int64)
        exact = self._exact_affordable(rows)
        if exact is not None:
            return exact.query(rows, k1)
        idx = np.empty((len(rows), k1), dtype=np.int64)
        dist = np.empty((len(rows), k1))
        _search_jit.two_hop_knn(self.X, self.graph_idx, rows, k1, idx, dist)
        return idx, dist


METHODS: dict[str, Callable[..., Any]] = {
    "exact": ExactSearcher,
    "pynndescent": PynndescentSearcher,
    "nndescent": NNDescentSearcher,
}


def resolve_method(method: str, n: int, d: int = 64) -> str:
    """Return the search that ``method`` runs for n points in d features (``"auto"``: by size)."""
    if method == "auto":
        return "exact" if n <= auto_exact_max_n(d) else "nndescent"
    return method


def first_search(X: np.ndarray, k1: int, method: str, rng: np.random.Generator,
                 n_jobs: int | None, params: dict[str, Any], *, at_least: bool = False
                 ) -> tuple[np.ndarray, np.ndarray, Any]:
    """Run :func:`knn_search` on validated input; also return the searcher for widening.

    ``method`` is resolved (``"exact"``, ``"nndescent"`` or ``"pynndescent"``); ``k1``
    counts the point itself. With ``at_least``, an approximate search returns its whole
    graph (at least ``k1`` columns) rather than exactly ``k1``.
    """
    n = X.shape[0]
    if method == "exact":
        searcher: Any = ExactSearcher(X)
        with numba_threads(n_jobs):
            idx, dist = searcher.query(np.arange(n, dtype=np.int64), k1)
        return idx, dist, searcher
    seed = int(rng.integers(2**31 - 1))
    with numba_threads(n_jobs):
        searcher = METHODS[method](X, k1, seed, n_jobs, params)
        idx, dist = searcher.graph(searcher.n_neighbors if at_least else k1)
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
    method : {"auto", "exact", "pynndescent", "nndescent"}, default "auto"
        ``"exact"``: blocked BLAS Gram products choose candidates within a proven
        rounding bound, their distances from differences decide (O(n^2 d) time,
        O(n) extra memory per block). ``"pynndescent"``:
        approximate, ``pynndescent.NNDescent`` with :data:`PYNNDESCENT_DEFAULTS`
        (deterministic for a given seed). ``"nndescent"``: fastdse's own
        NN-descent (:class:`NNDescentSearcher`; compiled once per machine, no
        compilation in each new process; the graph depends on the seed only, not on
        the number of threads). ``"auto"``: exact up to
        :func:`auto_exact_max_n` points (:data:`EXACT_SEARCH_MAX_N` for d <= 256),
        ``"nndescent"`` above (faster than pynndescent at 100,000 and 1,000,000 points,
        docs/benchmarks/knn_graph.md).
    random_state : None, int, numpy.random.RandomState or numpy.random.Generator
        Seed of the approximate search.
    n_jobs : int, optional
        Threads (numba kernels and pynndescent); ``None`` keeps the defaults.
    **pynndescent_params
        Parameters of the approximate search: for ``"pynndescent"`` passed to
        ``NNDescent`` (e.g. ``n_neighbors``, ``n_trees``, ``n_iters``); for
        ``"nndescent"`` those of :data:`NNDESCENT_DEFAULTS` and ``n_neighbors``.

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
    if pynndescent_params and resolve_method(method, n, X.shape[1]) == "exact":
        raise TypeError(
            f"pynndescent parameters {sorted(pynndescent_params)} were given but "
            f"method={method!r} resolves to the exact search for n={n}"
        )
    rng = check_random_state(random_state)
    n_jobs = check_n_jobs(n_jobs)
    idx, dist, _ = first_search(X, k + 1, resolve_method(method, n, X.shape[1]), rng, n_jobs,
                                pynndescent_params)
    return idx.astype(np.int64, copy=False), dist  # NN-descent's graph is int32


def check_knn_result(knn_result: Any, n: int, knn: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate a first search given by the caller: ``(indices, distances)``, self first.

    Returns the two arrays as contiguous int64 and float64 ``(n, k1)`` arrays with
    ``k1 >= knn + 1``.
    """
    try:
        idx, dist = knn_result
    except (TypeError, ValueError) as exc:
        raise TypeError("knn_result must be a pair (indices, distances) as returned by "
                        f"knn_search; got {type(knn_result).__name__}") from exc
    idx = np.ascontiguousarray(idx, dtype=np.int64)
    dist = np.ascontiguousarray(dist, dtype=np.float64)
    if idx.ndim != 2 or idx.shape != dist.shape or idx.shape[0] != n:
        raise ValueError(
            f"knn_result must hold two arrays of shape (n, k + 1) with n={n}; got shapes "
            f"{idx.shape} and {dist.shape}")
    if idx.shape[1] < knn + 1:
        raise ValueError(f"knn_result must have at least knn + 1 = {knn + 1} columns (self "
                         f"first); got {idx.shape[1]}")
    if not np.array_equal(idx[:, 0], np.arange(n)):
        raise ValueError("knn_result must list each point first in its own row (column 0 "
                         "== row number), as knn_search returns it")
    return idx, dist
