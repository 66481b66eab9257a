r"""Identical rows as one weighted point: the operator on the distinct points.

A point cloud with repeated rows (a collapsed representation, duplicated samples)
has, for every kernel of fastdse, identical affinities for identical rows. With
``U`` the ``m`` distinct rows, ``w`` their multiplicities (``sum w = n``) and ``E``
the ``n x m`` indicator of which row is which,

.. math::

    K = E K_u E^T, \qquad d = E (K_u w), \qquad
    A = D^{-1/2} K D^{-1/2} = F K_u F^T, \quad F = D^{-1/2} E,

where ``K_u`` is the kernel among the distinct points (its diagonal is 1: copies are
at distance 0). The non-zero eigenvalues of ``A`` are those of ``K_u F^T F =
K_u \mathrm{diag}(w / d_u)``, i.e. of the symmetric ``m x m`` operator

.. math::

    A_w = S K_u S, \qquad S = \mathrm{diag}(\sqrt{w / d_u}), \quad d_u = K_u w,

and its other ``n - m`` eigenvalues are 0 (they add nothing to the entropy). ``A_w``
has the eigenvalue 1 with eigenvector ``sqrt(w d_u)`` on each connected component.
Anisotropy divides ``K_u`` by ``(d_i d_j)^alpha`` with these degrees and recomputes
them with the weights.

The alpha-decay bandwidth of a point is its distance to its ``knn``-th nearest other
point counting copies: the first distance at which the multiplicities of the
multiset ``{0 (w_i - 1 times)} + {|u_i - u_j| (w_j times)}`` add up to ``knn``. A
point with at least ``knn`` copies besides itself has bandwidth 0 (clipped at machine
epsilon): its affinity to every other distinct point vanishes and its copies form a
component of their own, with eigenvalue 1. The operator on the distinct points is
therefore exactly the full operator's non-zero spectrum, computed at the cost of
``m`` points. (Near-duplicates, rows that differ in the last bits, are distinct
points here.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from fastdse._numba import dense as _dense_jit
from fastdse._numba import sparse as _sparse_jit
from fastdse._util.threads import numba_threads
from fastdse.operator.kernel import dense_affinity, pairwise_sqdist_inplace_gram
from fastdse.operator.neighbors import first_search, resolve_method
from fastdse.operator.normalize import top_eigenvectors
from fastdse.operator.sparse_kernel import (
    SEARCH_MULTIPLIER,
    RowKernel,
    complete_truncated,
    kernel_rows,
    list_cap,
    symmetrize,
)
from fastdse.operator.truncation import truncation_report, warn_if_truncated
from fastdse.operator.widen import widen_to_radius

if TYPE_CHECKING:
    from fastdse.settings import Resolved, Settings

__all__ = [
    "Duplicates",
    "find_duplicates",
    "weighted_knn_distance",
    "weighted_dense_operator",
    "weighted_sparse_operator",
]

_EPS = np.finfo(np.float64).eps
_HASH_BLOCK = 1 << 16


@dataclass(frozen=True)
class Duplicates:
    """The distinct rows of a point cloud and how often each occurs.

    Attributes
    ----------
    unique : numpy.ndarray of shape (m, d)
    inverse : numpy.ndarray of shape (n,)
        Row ``i`` of the data is ``unique[inverse[i]]``.
    counts : numpy.ndarray of shape (m,), float64
        Multiplicities, summing to ``n``.
    """

    unique: np.ndarray
    inverse: np.ndarray
    counts: np.ndarray

    @property
    def n(self) -> int:
        """Number of rows of the data."""
        return int(self.inverse.shape[0])


def row_hashes(X: np.ndarray) -> np.ndarray:
    """Return a 64-bit hash of every row of ``X`` (C-contiguous float64), in row blocks.

    Equal rows hash alike (``-0.0`` as ``0.0``). Each value's bits times a random odd
    multiplier are folded (``x ^ x >> 29``) before the row sum: float32 data widened to
    float64 have 29 zero low bits, which an unfolded product keeps, leaving 35 bits of
    hash: 100,000 rows then collide with a chance of about 1 in 7, and a collision makes
    :func:`find_duplicates` sort all rows to compare them).
    """
    bits = X.view(np.uint64)
    rng = np.random.default_rng(0x5EED)
    mult = rng.integers(1, 2**63, size=X.shape[1], dtype=np.uint64) | np.uint64(1)
    sign = np.uint64(1 << 63)
    h = np.empty(X.shape[0], dtype=np.uint64)
    for lo in range(0, X.shape[0], _HASH_BLOCK):
        block = bits[lo:lo + _HASH_BLOCK]
        block = np.where(block == sign, np.uint64(0), block)  # -0.0 hashes as 0.0
        block *= mult
        block ^= block >> np.uint64(29)
        h[lo:lo + _HASH_BLOCK] = block.sum(axis=1, dtype=np.uint64)
    return h


def find_duplicates(X: np.ndarray) -> Duplicates | None:
    """Return the distinct rows of ``X`` (C-contiguous float64), or None when all differ.

    Rows are first hashed in blocks (O(n d), no copy of ``X``); only when two hashes
    agree are the rows compared exactly. ``-0.0`` and ``0.0`` are the same value.
    """
    n = X.shape[0]
    if n < 2:
        return None
    hs = np.sort(row_hashes(X))
    if not np.any(hs[1:] == hs[:-1]):
        return None
    unique, inverse, counts = np.unique(X + 0.0, axis=0, return_inverse=True,
                                        return_counts=True)
    if unique.shape[0] == n:
        return None  # a hash collision of distinct rows
    return Duplicates(np.ascontiguousarray(unique), inverse.reshape(-1).astype(np.int64),
                      counts.astype(np.float64))


def weighted_knn_distance(idx: np.ndarray, dist: np.ndarray, counts: np.ndarray,
                          knn: int) -> np.ndarray:
    """Each distinct point's distance to its ``knn``-th nearest other point, copies counted.

    ``idx``, ``dist`` of shape (m, k) list each distinct point's nearest distinct
    points in ascending distance, itself among them (at distance 0); they must
    reach a total multiplicity of at least ``knn`` besides the point's own row.
    """
    rows = np.arange(idx.shape[0])[:, None]
    weights = counts[idx] - (idx == rows)  # the point itself counts its other copies
    reached = np.cumsum(weights, axis=1) >= knn
    first = np.argmax(reached, axis=1)
    if not np.all(reached[np.arange(idx.shape[0]), first]):
        raise ValueError("the neighbour lists do not reach knn points, copies counted")
    return dist[np.arange(idx.shape[0]), first]


def _weighted_degrees_inplace_dense(K: np.ndarray, w: np.ndarray, anisotropy: float
                                    ) -> np.ndarray:
    d = K @ w
    if anisotropy != 0.0:
        _dense_jit.scale_sym_dense_inplace(K, np.ascontiguousarray(d ** (-anisotropy)))
        d = K @ w
    _dense_jit.scale_sym_dense_inplace(K, np.ascontiguousarray(np.sqrt(w / d)))
    return d


def weighted_dense_operator(dups: Duplicates, settings: Settings, resolved: Resolved
                            ) -> tuple[np.ndarray, np.ndarray]:
    """Return the dense ``A_w`` (m x m, overwritable) and the distinct points' degrees."""
    U, w = dups.unique, dups.counts
    if resolved.kernel == "alpha_decay":
        D = pairwise_sqdist_inplace_gram(U)
        _dense_jit.sqrt_inplace(D)
        order = np.argsort(D, axis=1, kind="stable")
        ranked = np.take_along_axis(D, order, axis=1)
        bandwidth = weighted_knn_distance(order, ranked, w, resolved.knn)
        del order, ranked
        _dense_jit.alpha_decay_from_dist_inplace(D, np.maximum(bandwidth, _EPS),
                                                 float(settings.decay), resolved.thresh)
        K = D
    else:
        K = dense_affinity(U, "gaussian", sigma=resolved.sigma, thresh=resolved.thresh)
    degrees = _weighted_degrees_inplace_dense(K, w, settings.anisotropy)
    return K, degrees


def _sparse_kernel(U: np.ndarray, w: np.ndarray, settings: Settings, resolved: Resolved,
                   rng: np.random.Generator) -> tuple[sp.csr_matrix, dict]:
    """``K_u`` on the distinct points, each row out to its (weighted) threshold radius."""
    m = U.shape[0]
    rule = RowKernel.of(resolved.kernel, resolved.knn, settings.decay, resolved.sigma,
                        resolved.sparse_thresh)
    k1 = min(m, SEARCH_MULTIPLIER * (rule.knn + 1))
    method = resolve_method(settings.neighbors, m, U.shape[1])
    idx, dist, searcher = first_search(U, k1, method, rng, settings.n_jobs, {},
                                       at_least=True)
    if rule.adaptive:
        scale = rule.bandwidth(weighted_knn_distance(idx, dist, w, rule.knn))
    else:
        scale = np.full(m, rule.fixed_scale)
    cap = list_cap(idx.shape[1], m, None)
    indptr, nbr, ndist, truncated, winfo = widen_to_radius(
        searcher, idx, dist, scale * rule.factor, max_neighbors=cap,
        multiplier=SEARCH_MULTIPLIER)
    winfo.pop("radius_rows", None)
    (indptr, nbr, ndist, truncated), completed = complete_truncated(
        U, (indptr, nbr, ndist, truncated), scale * rule.factor, explicit_cap=False)
    winfo["completed_rows"] = len(completed)
    row_idx, row_val, lengths = kernel_rows(indptr, nbr, ndist, scale, rule)
    k_ptr, k_idx, k_val = _sparse_jit.compact_sorted_rows(indptr[:-1], lengths, row_idx,
                                                          row_val)
    # the truncation estimate counts each distinct point once (a lower bound on the mass
    # its copies would add): it warns as the plain path does when rows are cut at the cap
    info = {"neighbors": method, "max_neighbors": cap, **winfo,
            **truncation_report(U, truncated, k_ptr, k_val, scale, rule.power, rule.thresh,
                                rng)}
    warn_if_truncated(info, resolved.kernel, resolved.sigma, rule.thresh, m, cap,
                      stacklevel=5)
    if getattr(searcher, "order", None) is not None:  # for the spectral stage's layout
        info["locality_order"] = searcher.order
    K = symmetrize(m, k_ptr, k_idx, k_val)
    return K, info


def weighted_sparse_operator(dups: Duplicates, settings: Settings, resolved: Resolved,
                             rng: np.random.Generator
                             ) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, dict]:
    """Return the sparse ``A_w``, the distinct points' degrees, the known vectors, a report.

    The known vectors are ``sqrt(w d_u)`` on each connected component: ``A_w``'s
    eigenvectors of eigenvalue 1.
    """
    U, w = dups.unique, dups.counts
    with numba_threads(settings.n_jobs):
        K, info = _sparse_kernel(U, w, settings, resolved, rng)
        d = K @ w
        if settings.anisotropy != 0.0:
            _sparse_jit.scale_sym_inplace(K.indptr, K.indices, K.data,
                                          np.ascontiguousarray(d ** (-settings.anisotropy)))
            d = K @ w
        _sparse_jit.scale_sym_inplace(K.indptr, K.indices, K.data,
                                      np.ascontiguousarray(np.sqrt(w / d)))
    n_comp, labels = connected_components(K, directed=True, connection="strong")
    known = top_eigenvectors(w * d, labels)
    info.update(kernel=resolved.kernel, thresh=resolved.sparse_thresh, knn=resolved.knn,
                anisotropy=settings.anisotropy, n_components=int(n_comp),
                distinct_points=int(U.shape[0]), nnz=int(K.nnz))
    return K, d, known, info
