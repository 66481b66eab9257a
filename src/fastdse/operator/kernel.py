"""Affinity kernels: from points (dense, exact path) or neighbour lists (sparse path).

Two kernels are offered.

``alpha_decay``
    The graphtools/PHATE kernel. The bandwidth of point ``i`` is its distance
    to its ``knn``-th nearest neighbour (not counting itself),
    ``k_ij = exp(-(d_ij / b_i)^decay)``, affinities below ``thresh`` are
    dropped and the kernel is symmetrised as ``(K + K^T) / 2``.
``gaussian``
    A fixed-bandwidth Gaussian ``exp(-|x_i - x_j|^2 / (2 sigma^2))``, the
    kernel of the reference implementation (``dse-dsmi``). Its constant
    factor ``1 / (sigma sqrt(2 pi))`` is dropped: it cancels in the
    normalisation.
"""

from __future__ import annotations

import time
import warnings
from typing import Any, Literal, overload

import numpy as np
import scipy.sparse as sp

from fastdse._numba import dense as _dense_jit
from fastdse._numba import sparse as _sparse_jit
from fastdse._util import blocks as _blocks
from fastdse._util.inputs import check_points
from fastdse._util.threads import numba_threads
from fastdse._util.validation import (
    check_choice,
    check_float,
    check_int,
    check_n_jobs,
    check_random_state,
)
from fastdse.operator.neighbors import (
    METHODS,
    _ExactSearcher,
    _list_radius,
    _resolve_method,
    _search,
    exact_knn_radius,
    widen_to_radius,
)

__all__ = [
    "KERNELS",
    "TruncationWarning",
    "dense_affinity",
    "pairwise_sqdist_inplace_gram",
    "sparse_affinity",
]

KERNELS = ("alpha_decay", "gaussian")

#: Default threshold below which affinities are dropped, per kernel.
DEFAULT_THRESH = {"alpha_decay": 1e-4, "gaussian": 0.0}

#: Default fixed bandwidth of the Gaussian kernel (the reference's default).
DEFAULT_SIGMA = 10.0


def _centred_gram(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Gram matrix of the centred rows, their squared norms, and the rounding floor.

    Squared distances ``|x_i|^2 + |x_j|^2 - 2 x_i.x_j`` below
    ``rel_floor * (|x_i|^2 + |x_j|^2)`` (``rel_floor = 16 d eps``, norms about the
    centroid) are rounding noise of the expansion and are to be read as zero.
    """
    X = np.asarray(X, dtype=np.float64)
    Xc = X - X.mean(axis=0)
    sq = np.einsum("ij,ij->i", Xc, Xc)
    G = _blocks.gram(Xc)
    return G, sq, 16.0 * X.shape[1] * np.finfo(np.float64).eps


def pairwise_sqdist_inplace_gram(X: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances of the rows of ``X`` as one n x n float64 array.

    Uses one symmetric rank-k product ``X X^T`` of the centred data and converts
    it in place; values below the rounding floor (see :func:`_centred_gram`) are
    set to zero.
    """
    G, sq, rel_floor = _centred_gram(X)
    _dense_jit.gram_to_sqdist_inplace(G, sq, rel_floor)
    return G


def _gaussian_dense_fused(X: np.ndarray, sigma: float, thresh: float
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Dense Gaussian affinity and its row sums from one Gram product and one fused pass."""
    G, sq, rel_floor = _centred_gram(X)
    deg = _dense_jit.gaussian_from_gram_inplace(G, sq, rel_floor, 2.0 * sigma * sigma,
                                                float(thresh))
    return G, deg


@overload
def dense_affinity(
    X: np.ndarray,
    kernel: str,
    *,
    knn: int = ...,
    decay: float = ...,
    sigma: float = ...,
    thresh: float = ...,
    return_degrees: Literal[False] = ...,
) -> np.ndarray:
    ...


@overload
def dense_affinity(
    X: np.ndarray,
    kernel: str,
    *,
    knn: int = ...,
    decay: float = ...,
    sigma: float = ...,
    thresh: float = ...,
    return_degrees: Literal[True],
) -> tuple[np.ndarray, np.ndarray]:
    ...


@overload
def dense_affinity(
    X: np.ndarray,
    kernel: str,
    *,
    knn: int = ...,
    decay: float = ...,
    sigma: float = ...,
    thresh: float = ...,
    return_degrees: bool = ...,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    ...


def dense_affinity(
    X: np.ndarray,
    kernel: str,
    *,
    knn: int = 5,
    decay: float = 40.0,
    sigma: float = DEFAULT_SIGMA,
    thresh: float = 0.0,
    return_degrees: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Dense symmetric affinity matrix of the rows of ``X`` (validated input).

    Parameters
    ----------
    X : numpy.ndarray of shape (n, d), float64
    kernel : {"alpha_decay", "gaussian"}
    knn : int
        Neighbour whose distance sets the alpha-decay bandwidth (self excluded).
    decay : float
        Alpha-decay exponent.
    sigma : float
        Gaussian bandwidth.
    thresh : float
        Affinities below this value are set to zero.
    return_degrees : bool
        Also return the row sums (computed in the same pass for the Gaussian kernel).

    Returns
    -------
    numpy.ndarray of shape (n, n)
        Symmetric, non-negative, ones on the diagonal (zero only if ``thresh > 1``).
    numpy.ndarray of shape (n,)
        Row sums, with ``return_degrees=True``.
    """
    if kernel == "gaussian":
        K, deg = _gaussian_dense_fused(X, sigma, thresh)
        return (K, deg) if return_degrees else K
    if kernel != "alpha_decay":  # validated upstream
        raise ValueError(f"kernel must be one of {KERNELS}; got {kernel!r}")
    D = pairwise_sqdist_inplace_gram(X)
    _dense_jit.sqrt_inplace(D)
    # row-sorted with self first: index knn is the knn-th neighbour
    bandwidth = _dense_jit.kth_smallest_per_row(D, knn)
    _dense_jit.alpha_decay_from_dist_inplace(D, bandwidth, float(decay), float(thresh))
    return (D, D.sum(axis=1)) if return_degrees else D


# =========================================================================== sparse path


class TruncationWarning(UserWarning):
    """A sparse kernel dropped a noticeable part of the kernel mass.

    Raised when the neighbour lists could not be widened to the threshold
    radius of every point (``max_neighbors`` reached): the kernel is then
    wider than the neighbourhoods and is not sparse at this ``thresh``.
    """


#: Threshold of the sparse path when none is given: affinities below it are dropped.
SPARSE_DEFAULT_THRESH = 1e-4

#: Initial neighbour search: ``SEARCH_MULTIPLIER * (knn + 1)`` points, as graphtools.
SEARCH_MULTIPLIER = 6

#: Default cap on a neighbour list (self excluded) is
#: ``min(n - 1, max(first search, min(MAX_NEIGHBORS, MAX_LIST_ENTRIES // n)))``:
#: 1000 up to n = 50,000, then falling as 1/n (500 at 100k, 50 at 1M) to bound memory.
MAX_NEIGHBORS = 1000
MAX_LIST_ENTRIES = 50_000_000

#: Warn when the estimated fraction of kernel mass dropped by truncation exceeds this.
TRUNCATION_TOL = 1e-3

#: Rows sampled (among truncated rows) to estimate the dropped mass exactly.
TRUNCATION_SAMPLE = 256


def _kernel_scale(kernel: str, dist: np.ndarray, knn: int, decay: float, sigma: float
                  ) -> tuple[np.ndarray, float]:
    """Per-row scale ``s_i`` and exponent ``p`` with ``k_ij = exp(-(d_ij / s_i)^p)``."""
    n = dist.shape[0]
    if kernel == "alpha_decay":
        # zero bandwidths (duplicated points) are clipped as in the kernels themselves
        return np.maximum(dist[:, knn], np.finfo(np.float64).eps), float(decay)
    return np.full(n, sigma * np.sqrt(2.0)), 2.0


def _exact_bandwidths(scale: np.ndarray, rows: np.ndarray, indptr: np.ndarray,
                      nd: np.ndarray, knn: int) -> np.ndarray:
    """Alpha-decay bandwidths of ``rows`` from their complete in-radius lists (self first)."""
    scale = scale.copy()
    lengths = indptr[rows + 1] - indptr[rows]
    rows = rows[lengths > knn]
    scale[rows] = np.maximum(nd[indptr[rows] + knn], np.finfo(np.float64).eps)
    return scale


def _estimate_dropped_mass(
    X: np.ndarray,
    truncated: np.ndarray,
    row_kept: np.ndarray,
    scale: np.ndarray,
    power: float,
    thresh: float,
    rng: np.random.Generator,
) -> dict[str, float]:
    """Fraction of kernel mass (before symmetrisation) lost by truncated rows.

    Computes the full rows of up to :data:`TRUNCATION_SAMPLE` truncated rows
    exactly (blocked BLAS) and extrapolates to all truncated rows.
    """
    m = len(truncated)
    sample = truncated if m <= TRUNCATION_SAMPLE else np.sort(
        rng.choice(truncated, TRUNCATION_SAMPLE, replace=False))
    sq = np.einsum("ij,ij->i", X, X)
    G = X[sample] @ X.T
    _sparse_jit.gram_block_to_dist_inplace(G, sq[sample], sq)
    full = _sparse_jit.decay_row_mass_dense(G, np.ascontiguousarray(scale[sample]), power,
                                            thresh)
    del G
    dropped_rows = np.maximum(full - row_kept[sample], 0.0)
    dropped_total = dropped_rows.mean() * m
    kept_total = float(row_kept.sum())
    return {
        "truncated_rows": int(m),
        "dropped_mass_fraction": float(dropped_total / (kept_total + dropped_total)),
        "max_row_dropped_fraction": float((dropped_rows / full).max()),
    }


def _sparse_affinity(
    X: np.ndarray,
    kernel: str,
    *,
    knn: int,
    decay: float,
    sigma: float,
    thresh: float,
    method: str,
    max_neighbors: int | None,
    rng: np.random.Generator,
    n_jobs: int | None,
    pynndescent_params: dict[str, Any],
    knn_result: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[sp.csr_matrix, dict[str, Any]]:
    """Compute :func:`sparse_affinity` from validated input; return the kernel and a report."""
    n = X.shape[0]
    info: dict[str, Any] = {}
    k1 = min(n, SEARCH_MULTIPLIER * (knn + 1))
    factor = (-np.log(thresh)) ** (1.0 / (decay if kernel == "alpha_decay" else 2.0))
    fixed_scale = 0.0 if kernel == "alpha_decay" else float(sigma * np.sqrt(2.0))
    requested = max_neighbors

    def cap(first: int) -> int:
        # lists may grow to max_neighbors (self excluded); the default never cuts the
        # first search's lists
        if requested is not None:
            return min(requested, n - 1)
        return min(max(first - 1, min(MAX_NEIGHBORS, MAX_LIST_ENTRIES // n)), n - 1)

    with numba_threads(n_jobs):
        if knn_result is None:
            method = _resolve_method(method, n, X.shape[1])
        if knn_result is None and method == "exact":
            # one pass over the Gram matrix finds the neighbours and widens to the radius
            t0 = time.perf_counter()
            max_neighbors = cap(k1)
            indptr, nbr, nd, truncated, winfo, dist = exact_knn_radius(
                X, k1, knn, fixed_scale, factor, max_neighbors)
            info["search_seconds"] = time.perf_counter() - t0
            scale, power = _kernel_scale(kernel, dist, knn, decay, sigma)
        else:
            if knn_result is None:
                t0 = time.perf_counter()
                idx, dist, searcher = _search(X, k1, method, rng, n_jobs, pynndescent_params,
                                              at_least=True)
                info["search_seconds"] = time.perf_counter() - t0
            else:
                idx, dist = knn_result
                method = "precomputed"
                searcher = _ExactSearcher(X)
            scale, power = _kernel_scale(kernel, dist, knn, decay, sigma)
            radius = _list_radius(dist, knn, fixed_scale, factor)
            max_neighbors = cap(idx.shape[1])
            indptr, nbr, nd, truncated, winfo = widen_to_radius(
                searcher, idx, dist, radius, max_neighbors=max_neighbors,
                multiplier=SEARCH_MULTIPLIER)
            del idx
        del dist
        info["neighbors"] = method
        radius_rows = winfo.pop("radius_rows")
        corrected = 0
        if kernel == "alpha_decay" and method != "exact" and len(radius_rows):
            # An approximate search can overestimate the knn-th neighbour distance (it may
            # miss closer points). Rows listed by an exact radius query hold every point
            # within radius >= that distance, so their true knn-th neighbour is in the list:
            # take the bandwidth from it (the smaller radius is covered by the same list).
            scale = _exact_bandwidths(scale, radius_rows, indptr, nd, knn)
            corrected = len(radius_rows)
        info.update(winfo)
        info["exact_bandwidth_rows"] = corrected
        info["max_neighbors"] = max_neighbors
        # kernel rows in place of the lists (one pass), then compact and sorted by column
        lengths = np.empty(n, dtype=np.int64)
        row_idx = np.empty(indptr[-1], dtype=_sparse_jit.index_dtype(n, int(indptr[-1])))
        row_val = np.empty(indptr[-1], dtype=np.float64)
        _sparse_jit.decay_kernel_rows(indptr, nbr, nd, scale, power, thresh, row_idx, row_val,
                                      lengths)
        del nbr, nd
        k_ptr, k_idx, k_val = _sparse_jit.compact_sorted_rows(indptr[:-1], lengths, row_idx,
                                                              row_val)
        del row_idx, row_val
        info["bandwidth"] = scale if kernel == "alpha_decay" else None
        if len(truncated):
            row_kept = _sparse_jit.row_mass(k_ptr, k_val)
            info.update(_estimate_dropped_mass(X, truncated, row_kept, scale, power, thresh,
                                               rng))
        else:
            info.update(truncated_rows=0, dropped_mass_fraction=0.0,
                        max_row_dropped_fraction=0.0)
        # (K + K^T) / 2 in canonical sorted CSR (the numbers of scipy's sparse add, in O(nnz))
        sym = _sparse_jit.symmetrize_half(k_ptr, k_idx, k_val)
        del k_ptr, k_idx, k_val
    K = sp.csr_matrix((sym[2], sym[1], sym[0]), shape=(n, n))
    K.has_sorted_indices = True
    info["nnz"] = int(K.nnz)
    if info["dropped_mass_fraction"] > TRUNCATION_TOL:
        if kernel == "gaussian":
            advice = (f"use mode='exact' (dense), or a smaller sigma (got sigma={sigma:g}; the "
                      "kernel reaches beyond the neighbourhoods), or a larger max_neighbors")
        else:
            advice = ("use mode='exact' (dense), a larger thresh or decay, or a larger "
                      "max_neighbors")
        warnings.warn(
            f"the sparse {kernel} kernel dropped an estimated "
            f"{100 * info['dropped_mass_fraction']:.2g}% of its mass (up to "
            f"{100 * info['max_row_dropped_fraction']:.2g}% of a row) because "
            f"{info['truncated_rows']} of {n} points have more than max_neighbors="
            f"{max_neighbors} neighbours within the threshold radius (thresh={thresh:g}): "
            f"the kernel is not sparse at this scale. To fix it, {advice}.",
            TruncationWarning,
            stacklevel=3,
        )
    return K, info


def require_sparse_thresh(thresh: float) -> float:
    """Refuse ``thresh = 0`` for a sparse kernel (it keeps every pair: a dense kernel)."""
    if thresh == 0.0:
        raise ValueError(
            "thresh must be > 0 for a sparse kernel (thresh=0 keeps every pair: a dense "
            "kernel); use mode='exact' for thresh=0, or e.g. thresh=1e-4; got 0.0")
    return thresh


def _check_sparse_params(n: int, kernel: Any, knn: Any, decay: Any, sigma: Any,
                         thresh: Any, neighbors: Any, max_neighbors: Any, n_jobs: Any
                         ) -> dict[str, Any]:
    kernel = check_choice(kernel, "kernel", KERNELS)
    knn = check_int(knn, "knn", low=1, high=n - 1,
                    high_note=f" (n - 1, the number of other points; X has n={n})")
    decay = check_float(decay, "decay", low=0.0, low_open=True)
    sigma = DEFAULT_SIGMA if sigma is None else check_float(sigma, "sigma", low=0.0,
                                                            low_open=True)
    if thresh is None:
        thresh = SPARSE_DEFAULT_THRESH
    thresh = require_sparse_thresh(check_float(thresh, "thresh", low=0.0, high=1.0,
                                               high_open=True))
    neighbors = check_choice(neighbors, "neighbors", ["auto", *METHODS])
    if max_neighbors is not None:
        max_neighbors = check_int(max_neighbors, "max_neighbors", low=knn)
    return {"kernel": kernel, "knn": knn, "decay": decay, "sigma": sigma, "thresh": thresh,
            "method": neighbors, "max_neighbors": max_neighbors,
            "n_jobs": check_n_jobs(n_jobs)}


def sparse_affinity(
    X: Any,
    kernel: str = "alpha_decay",
    *,
    knn: int = 5,
    decay: float = 40.0,
    sigma: float | None = None,
    thresh: float | None = None,
    neighbors: str = "auto",
    knn_result: tuple[np.ndarray, np.ndarray] | None = None,
    max_neighbors: int | None = None,
    random_state: Any = None,
    n_jobs: int | None = None,
    return_info: bool = False,
    **pynndescent_params: Any,
) -> Any:
    r"""Sparse symmetric affinity matrix from nearest-neighbour lists.

    The same kernels as :func:`dense_affinity`, keeping only the pairs whose
    affinity reaches ``thresh``. Row ``i`` lists its neighbours out to the
    *threshold radius* ``r_i`` where its kernel falls to ``thresh``,

    .. math::

        r_i = s_i \, (-\log \mathrm{thresh})^{1/p}, \qquad
        k_{ij} = \exp(-(d_{ij} / s_i)^p),

    with ``s_i`` the distance to the ``knn``-th other point and ``p = decay``
    (``alpha_decay``), or ``s_i = sigma sqrt(2)`` and ``p = 2`` (``gaussian``).
    The first search finds ``6 (knn + 1)`` points; rows short of their radius
    are searched again with 6 times as many, as graphtools does, up to
    ``max_neighbors``. Then ``K = (k + k^T) / 2``. With exact neighbours the
    result equals ``dense_affinity(X, ..., thresh=thresh)`` entry-wise.

    Parameters
    ----------
    X : array-like of shape (n, d)
    kernel : {"alpha_decay", "gaussian"}, default "alpha_decay"
    knn : int, default 5
        Alpha-decay bandwidth neighbour (self excluded); also sets the first search.
    decay : float, default 40
    sigma : float, optional
        Gaussian bandwidth; ``None`` means 10 (the reference's default).
    thresh : float in (0, 1), optional
        Affinities below it are dropped; ``None`` means 1e-4. Must be positive:
        a zero threshold keeps every pair (use the dense path).
    neighbors : {"auto", "exact", "pynndescent"}, default "auto"
        Neighbour search, see :func:`fastdse.operator.neighbors.knn_search`. Rows that
        need widening are always re-searched exactly.
    knn_result : (indices, distances), optional
        A first search to start from instead of searching (self first, as
        returned by :func:`fastdse.operator.neighbors.knn_search`, at least ``knn + 1``
        columns).
    max_neighbors : int, optional
        Cap on a neighbour list (self excluded). Default
        ``min(n - 1, max(6 (knn + 1) - 1, min(1000, 5e7 // n)))``. Rows still short of
        their radius at the cap are truncated; the dropped kernel mass is
        estimated from exact full rows of up to 256 of them and a
        :class:`TruncationWarning` is raised when it exceeds 0.1%.
    random_state : None, int or numpy.random.Generator
    n_jobs : int, optional
    return_info : bool, default False
        Also return a dict: neighbour method, bandwidths, widening rounds,
        truncated rows and the estimated dropped-mass fraction, nnz.
    **pynndescent_params
        Passed to ``NNDescent``.

    Returns
    -------
    K : scipy.sparse.csr_matrix of shape (n, n), float64
        Symmetric, sorted indices, ones on the diagonal.
    info : dict
        Only with ``return_info=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdse.operator.kernel import dense_affinity, sparse_affinity
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> K = sparse_affinity(X, knn=5, neighbors="exact")
    >>> Kd = dense_affinity(X, "alpha_decay", knn=5, decay=40.0, thresh=1e-4)
    >>> bool(np.allclose(K.toarray(), Kd, rtol=1e-12, atol=0))
    True
    """
    X = check_points(X, "X")
    n = X.shape[0]
    p = _check_sparse_params(n, kernel, knn, decay, sigma, thresh, neighbors, max_neighbors,
                             n_jobs)
    if knn_result is not None:
        knn_result = _check_knn_result(knn_result, n, p["knn"])
    K, info = _sparse_affinity(
        X, p["kernel"], knn=p["knn"], decay=p["decay"], sigma=p["sigma"],
        thresh=p["thresh"], method=p["method"], max_neighbors=p["max_neighbors"],
        rng=check_random_state(random_state), n_jobs=p["n_jobs"],
        pynndescent_params=pynndescent_params, knn_result=knn_result)
    return (K, info) if return_info else K


def _check_knn_result(knn_result: Any, n: int, knn: int) -> tuple[np.ndarray, np.ndarray]:
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
