r"""The sparse kernel: its rule for a row, and the steps that build it from neighbour lists.

Both kernels of :mod:`fastdse.operator.kernel` are ``k_ij = exp(-(d_ij / s_i)^p)``
with a per-row scale ``s_i`` and an exponent ``p``, and keep the entries
``>= thresh``: :class:`RowKernel` is that rule, with the *threshold radius* beyond
which a row's entries fall below ``thresh``. :func:`compute_sparse_affinity`
builds the kernel in five steps, one function each:

1. neighbour lists out to each row's threshold radius
   (:mod:`fastdse.operator.neighbors`, :mod:`~fastdse.operator.exact_search`,
   :mod:`~fastdse.operator.widen`): the searches are given the radii, or, for the
   one-pass exact search, the rule; rows cut at the default cap are then listed in
   full when they fit a memory budget;
2. each row's scale (exact alpha-decay bandwidths where a radius query listed a row);
3. the kernel rows (numba), compacted to sorted CSR;
4. the truncation report (:mod:`fastdse.operator.truncation`);
5. the symmetrisation ``(K + K^T) / 2``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from fastdse._numba import sparse as _sparse_jit
from fastdse._util.stages import peak_rss
from fastdse._util.threads import numba_threads
from fastdse.operator.exact_search import ExactSearcher, exact_knn_radius
from fastdse.operator.neighbors import first_search, resolve_method
from fastdse.operator.truncation import truncation_report, warn_if_truncated
from fastdse.operator.widen import widen_to_radius

__all__ = [
    "MAX_LIST_ENTRIES",
    "MAX_NEIGHBORS",
    "SEARCH_MULTIPLIER",
    "RowKernel",
    "SparseParams",
    "complete_truncated",
    "kernel_rows",
    "symmetrize",
    "compute_sparse_affinity",
]

#: Initial neighbour search: ``SEARCH_MULTIPLIER * (knn + 1)`` points, as graphtools.
SEARCH_MULTIPLIER = 6

#: Default cap on a neighbour list (self excluded) is
#: ``min(n - 1, max(first search, min(MAX_NEIGHBORS, MAX_LIST_ENTRIES // n)))``:
#: 1000 up to n = 50,000, then falling as 1/n (500 at 100k, 50 at 1M) to bound memory.
MAX_NEIGHBORS = 1000
MAX_LIST_ENTRIES = 50_000_000

_EPS = np.finfo(np.float64).eps


@dataclass(frozen=True)
class RowKernel:
    r"""The sparse kernel's rule for one row: scale, exponent, threshold and radius.

    .. math::

        k_{ij} = \exp(-(d_{ij} / s_i)^p), \qquad
        k_{ij} \ge \mathrm{thresh} \iff d_{ij} \le r_i = s_i \, f, \quad
        f = (-\log \mathrm{thresh})^{1/p}.

    ``s_i`` is ``fixed_scale`` when it is positive (Gaussian: ``sigma sqrt(2)``,
    ``p = 2``), else the distance from point ``i`` to its ``knn``-th neighbour
    clipped at machine epsilon (alpha-decay: ``p = decay``; duplicated points have
    a zero bandwidth). The neighbour search widens each row to its radius ``r_i``;
    the fused exact search evaluates the same rule inside its numba row loop
    (:func:`fastdse._numba.screen.knn_radius_rows_screened`, with :attr:`knn`,
    :attr:`fixed_scale` and :attr:`factor`).
    """

    knn: int
    fixed_scale: float
    power: float
    thresh: float

    @classmethod
    def of(cls, kernel: str, knn: int, decay: float, sigma: float, thresh: float
           ) -> RowKernel:
        """Return the rule of ``kernel`` (``"alpha_decay"`` or ``"gaussian"``)."""
        if kernel == "alpha_decay":
            return cls(knn, 0.0, float(decay), thresh)
        return cls(knn, float(sigma * np.sqrt(2.0)), 2.0, thresh)

    @property
    def adaptive(self) -> bool:
        """Whether the scale is each row's own (its ``knn``-th neighbour distance)."""
        return not self.fixed_scale > 0

    @property
    def factor(self) -> float:
        """The radius over the scale, ``(-log thresh)^(1/p)``."""
        return float((-np.log(self.thresh)) ** (1.0 / self.power))

    @staticmethod
    def bandwidth(knn_dist: np.ndarray) -> np.ndarray:
        """Adaptive scales from the distances to the ``knn``-th neighbours (clipped at eps)."""
        return np.maximum(knn_dist, _EPS)

    def scale(self, dist: np.ndarray) -> np.ndarray:
        """Each row's scale ``s_i`` from its neighbour list's distances ``(b, k1)``, self first."""
        if self.adaptive:
            return self.bandwidth(dist[:, self.knn])
        return np.full(dist.shape[0], self.fixed_scale)

    def radius(self, dist: np.ndarray) -> np.ndarray:
        """Each row's threshold radius ``s_i f`` from its neighbour list's distances."""
        return self.scale(dist) * self.factor


@dataclass(frozen=True)
class SparseParams:
    """Validated parameters of the sparse kernel (:func:`fastdse.operator.kernel.sparse_affinity`).

    ``method`` is the neighbour search (``"auto"`` not yet resolved);
    ``max_neighbors`` ``None`` means the default cap.
    """

    kernel: str
    knn: int
    decay: float
    sigma: float
    thresh: float
    method: str
    max_neighbors: int | None
    n_jobs: int | None


def list_cap(first: int, n: int, requested: int | None) -> int:
    """Cap on a neighbour list (self excluded), given the first lists' length ``first``.

    The default never cuts the first search's lists and bounds memory
    (:data:`MAX_NEIGHBORS`, :data:`MAX_LIST_ENTRIES`).
    """
    if requested is not None:
        return min(requested, n - 1)
    return min(max(first - 1, min(MAX_NEIGHBORS, MAX_LIST_ENTRIES // n)), n - 1)


def _neighbour_lists(
    X: np.ndarray,
    rule: RowKernel,
    p: SparseParams,
    rng: np.random.Generator,
    pynndescent_params: dict[str, Any],
    knn_result: tuple[np.ndarray, np.ndarray] | None,
) -> tuple[np.ndarray, tuple[np.ndarray, ...], dict[str, Any], int]:
    """Step 1: every row's neighbours out to its threshold radius (at most a cap).

    Exact neighbours come from one pass that searches and widens; a pynndescent
    or given first search is widened to the radii :meth:`RowKernel.radius` gives.

    Returns
    -------
    first_dist : float64 (n, k1)
        The first lists' distances (self first).
    lists : (indptr, nbr, dist, truncated)
        Ragged lists in CSR layout and the rows cut at the cap.
    info : dict
        ``search_seconds`` (when searched here), ``neighbors`` (the method),
        ``locality_order`` (NN-descent's order of the points, near points near in it,
        for :func:`fastdse.spectral.layout.spectral_layout`) and the widening's report
        (:func:`fastdse.operator.widen.widen_to_radius`).
    cap : int
        The cap on a list, self excluded.
    """
    n = X.shape[0]
    k1 = min(n, SEARCH_MULTIPLIER * (rule.knn + 1))
    method = "precomputed" if knn_result is not None else resolve_method(p.method, n,
                                                                          X.shape[1])
    info: dict[str, Any] = {}
    t0 = time.perf_counter()
    if method == "exact":
        cap = list_cap(k1, n, p.max_neighbors)
        indptr, nbr, dist, truncated, winfo, first_dist = exact_knn_radius(X, k1, rule, cap)
        info["search_seconds"] = time.perf_counter() - t0
        # one pass searches and widens: its peak is both stages'
        info["peak_rss"] = {"search": peak_rss(), "widening": peak_rss()}
    else:
        if knn_result is None:
            idx, first_dist, searcher = first_search(X, k1, method, rng, p.n_jobs,
                                                     pynndescent_params, at_least=True)
            info["search_seconds"] = time.perf_counter() - t0
            info["peak_rss"] = {"search": peak_rss()}
        else:
            (idx, first_dist), searcher = knn_result, ExactSearcher(X)
        cap = list_cap(idx.shape[1], n, p.max_neighbors)
        indptr, nbr, dist, truncated, winfo = widen_to_radius(
            searcher, idx, first_dist, rule.radius(first_dist), max_neighbors=cap,
            multiplier=SEARCH_MULTIPLIER)
        info.setdefault("peak_rss", {})["widening"] = peak_rss()
        if getattr(searcher, "order", None) is not None:
            info["locality_order"] = searcher.order
    info["neighbors"] = method
    info.update(winfo)
    return first_dist, (indptr, nbr, dist, truncated), info, cap


def complete_truncated(X: np.ndarray, lists: tuple[np.ndarray, ...], radius: np.ndarray,
                       explicit_cap: bool) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """Step 1b: list every point within the radius of the rows cut at the default cap.

    A few rows can need far more neighbours than the rest: an outlier's alpha-decay
    bandwidth (its ``knn``-th neighbour is far away) spans much of the cloud. Cutting
    them at the cap drops their kernel mass, which at large ``t`` can carry much of
    the entropy (docs/benchmarks/robustness.md). Unless the cap was given
    (``explicit_cap``), and when their full lists fit in :data:`MAX_LIST_ENTRIES`
    entries (``rows * (n - 1)`` at most, with the lists already held), one exact
    radius query (``radius``: every row's) lists them in full; the rows stay cut
    otherwise, and the truncation report measures the loss.

    Returns the lists ``(indptr, nbr, dist, truncated)`` and the rows completed.
    """
    indptr, nbr, dist, truncated = lists
    n, m = X.shape[0], len(truncated)
    if not m or explicit_cap or m * (n - 1) + int(indptr[-1]) > MAX_LIST_ENTRIES:
        return lists, np.empty(0, dtype=np.int64)
    found = ExactSearcher(X).query_radius(truncated, radius[truncated], n)
    assert found is not None  # the exact searcher always answers (pynndescent's may not)
    t_ptr, t_idx, t_dist, _ = found
    indptr, nbr, dist = _sparse_jit.splice_rows(indptr, nbr, dist, truncated, t_ptr,
                                                t_idx.astype(nbr.dtype, copy=False), t_dist)
    return (indptr, nbr, dist, np.empty(0, dtype=np.int64)), truncated


def _bandwidths(rule: RowKernel, first_dist: np.ndarray, indptr: np.ndarray,
                dist: np.ndarray, radius_rows: np.ndarray) -> tuple[np.ndarray, int]:
    """Step 2: each row's scale; returns the scales and how many rows a radius query fixed.

    An approximate search can overestimate the ``knn``-th neighbour distance (it
    may miss closer points). Rows listed by an exact radius query hold every point
    within a radius at least that distance, so their true ``knn``-th neighbour is
    in the list: their bandwidth is taken from it (the smaller radius is covered
    by the same list).
    """
    scale = rule.scale(first_dist)
    if not (rule.adaptive and len(radius_rows)):
        return scale, 0
    lengths = indptr[radius_rows + 1] - indptr[radius_rows]
    rows = radius_rows[lengths > rule.knn]
    scale[rows] = rule.bandwidth(dist[indptr[rows] + rule.knn])
    return scale, len(radius_rows)


def kernel_rows(indptr: np.ndarray, nbr: np.ndarray, dist: np.ndarray, scale: np.ndarray,
                 rule: RowKernel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Step 3: the entries ``>= thresh`` of each row, in one pass, in place of its list.

    Returns the column indices and values (row ``i`` from ``indptr[i]``) and the
    rows' lengths.
    """
    n = len(indptr) - 1
    lengths = np.empty(n, dtype=np.int64)
    row_idx = np.empty(indptr[-1], dtype=_sparse_jit.index_dtype(n, int(indptr[-1])))
    row_val = np.empty(indptr[-1], dtype=np.float64)
    _sparse_jit.decay_kernel_rows(indptr, nbr, dist, scale, rule.power, rule.thresh, row_idx,
                                  row_val, lengths)
    return row_idx, row_val, lengths


def symmetrize(n: int, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray
                ) -> sp.csr_matrix:
    """Step 5: ``(K + K^T) / 2`` in canonical sorted CSR (scipy's sum's numbers, in O(nnz))."""
    sym_ptr, sym_idx, sym_val = _sparse_jit.symmetrize_half(indptr, indices, data)
    K = sp.csr_matrix((sym_val, sym_idx, sym_ptr), shape=(n, n))
    K.has_sorted_indices = True
    return K


def compute_sparse_affinity(
    X: np.ndarray,
    p: SparseParams,
    rng: np.random.Generator,
    pynndescent_params: dict[str, Any],
    knn_result: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[sp.csr_matrix, dict[str, Any]]:
    """Compute the sparse kernel from validated input; return the kernel and a report.

    :func:`fastdse.operator.kernel.sparse_affinity` validates, this computes: the
    steps of the module docstring, with each array freed once the next step no
    longer needs it. The report holds the neighbour method and search time,
    the widening (``rounds``, ``two_hop_rows``, ``widened_rows``,
    ``widen_seconds``; exact search adds ``float64_rows``), ``exact_bandwidth_rows``,
    ``max_neighbors``, ``bandwidth`` (alpha-decay), the truncation report and ``nnz``.
    """
    n = X.shape[0]
    rule = RowKernel.of(p.kernel, p.knn, p.decay, p.sigma, p.thresh)
    with numba_threads(p.n_jobs):
        first_dist, (indptr, nbr, dist, truncated), info, cap = _neighbour_lists(
            X, rule, p, rng, pynndescent_params, knn_result)
        (indptr, nbr, dist, truncated), completed = complete_truncated(
            X, (indptr, nbr, dist, truncated), rule.radius(first_dist),
            p.max_neighbors is not None)
        # completed rows hold every point within their radius: their bandwidth is exact
        info.update(completed_rows=len(completed),
                    radius_rows=np.union1d(info["radius_rows"], completed))
        scale, corrected = _bandwidths(rule, first_dist, indptr, dist,
                                       info.pop("radius_rows"))
        del first_dist
        info.update(exact_bandwidth_rows=corrected, max_neighbors=cap)
        row_idx, row_val, lengths = kernel_rows(indptr, nbr, dist, scale, rule)
        del nbr, dist
        k_ptr, k_idx, k_val = _sparse_jit.compact_sorted_rows(indptr[:-1], lengths, row_idx,
                                                              row_val)
        del row_idx, row_val
        info["bandwidth"] = scale if rule.adaptive else None
        info.update(truncation_report(X, truncated, k_ptr, k_val, scale, rule.power,
                                      rule.thresh, rng))
        K = symmetrize(n, k_ptr, k_idx, k_val)
    info["nnz"] = int(K.nnz)
    warn_if_truncated(info, p.kernel, p.sigma, p.thresh, n, cap, stacklevel=3)
    return K, info
