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

:func:`dense_affinity` computes either on all pairs (numba passes over one
Gram matrix). :func:`sparse_affinity` validates its arguments and hands them to
:func:`fastdse.operator.sparse_kernel.compute_sparse_affinity`, where the
kernel's rule for a row (:class:`~fastdse.operator.sparse_kernel.RowKernel`: a
per-row scale, an exponent and the threshold radius that bounds the row) and
the steps from neighbour lists to the symmetric kernel live.
"""

from __future__ import annotations

from typing import Any, Literal, overload

import numpy as np

from fastdse._numba import dense as _dense_jit
from fastdse._util import blocks as _blocks
from fastdse._util.inputs import check_points
from fastdse._util.validation import (
    check_choice,
    check_float,
    check_int,
    check_n_jobs,
    check_random_state,
)
from fastdse.operator.neighbors import METHODS, check_knn_result
from fastdse.operator.sparse_kernel import MAX_NEIGHBORS, SparseParams, compute_sparse_affinity
from fastdse.operator.truncation import TruncationWarning

__all__ = [
    "KERNELS",
    "DEFAULT_SIGMA",
    "DEFAULT_THRESH",
    "GRAM_REL_TOL",
    "SPARSE_DEFAULT_THRESH",
    "MAX_NEIGHBORS",
    "TruncationWarning",
    "check_sparse_params",
    "dense_affinity",
    "gram_recompute_ratio",
    "pairwise_sqdist_inplace_gram",
    "require_sparse_thresh",
    "sparse_affinity",
]

KERNELS = ("alpha_decay", "gaussian")

#: Default threshold below which affinities are dropped, per kernel: the same in every
#: mode, so that a setting means one kernel whichever mode runs (the sparse modes need one).
#: The reference implementation's Gaussian keeps every pair: ``thresh=0`` (exact mode).
DEFAULT_THRESH = {"alpha_decay": 1e-4, "gaussian": 1e-4}

#: Default fixed bandwidth of the Gaussian kernel (the reference's default).
DEFAULT_SIGMA = 10.0


#: Relative error allowed on a squared distance taken from the Gram form (see
#: :func:`gram_recompute_ratio`); where the expansion may err by more, the distance is
#: recomputed from coordinate differences.
GRAM_REL_TOL = 1e-11


def gram_recompute_ratio(d: int) -> float:
    r"""Return the ratio below which a Gram-form squared distance is recomputed.

    The expansion :math:`v = |x_i|^2 + |x_j|^2 - 2 x_i \cdot x_j` of the centred
    points errs by about :math:`c_d \, \epsilon \, s`, :math:`s = |x_i|^2 + |x_j|^2`,
    with :math:`c_d = 2 + \sqrt{d}` (rounding errors of a d-term dot product add up
    like a random walk, Higham & Mary, SIAM J. Sci. Comput. 41, 2019; measured: at
    most 2.2 eps s at d = 1, 2.9 at d = 10, 5.3 at d = 100, 5.7 at d = 300; the
    worst-case bound is :math:`(d + 2) \epsilon s`). Its relative error exceeds
    :data:`GRAM_REL_TOL` when :math:`v < c_d \epsilon s / \mathrm{tol}`: this
    function returns :math:`c_d \epsilon / \mathrm{tol}` (6.7e-5 at d = 1, 1.2e-4 at
    d = 10, 2.7e-4 at d = 100).

    A relative error :math:`\rho` on :math:`d_{ij}^2` moves a kernel value
    :math:`k = \exp(-y)` by :math:`(p / 2) \, y \, \rho` relative (:math:`p = 2`
    Gaussian, :math:`p = \mathrm{decay}` alpha-decay, once for :math:`d_{ij}` and once
    for the bandwidth), at most :math:`p \rho / (2 e)` absolute. With tol = 1e-11,
    alpha-decay at its defaults (decay 40, thresh 1e-4, so :math:`y \le 9.2`) keeps
    its affinities to 4e-9 relative (the 1e-8 asked of them), the Gaussian to 1e-10.
    Ordinary data keep the Gram form almost everywhere: of the 9e6 entries of 3,000
    standard normal points, none is recomputed in 5 to 100 dimensions, 0-2 in 3-d,
    300-400 in 2-d (close pairs, whose digits the expansion does lose) and 0.4 % in 1-d.
    """
    return (2.0 + float(np.sqrt(d))) * float(np.finfo(np.float64).eps) / GRAM_REL_TOL


def _centred_gram(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Gram matrix of the centred rows, their squared norms, the points, the recompute ratio.

    The points are returned as C-contiguous float64 (not centred: their differences
    are the exact ones); a squared distance is recomputed from them where the Gram
    form cancels (:func:`gram_recompute_ratio`).
    """
    X = np.asarray(X, dtype=np.float64)
    Xc = X - X.mean(axis=0)
    sq = np.einsum("ij,ij->i", Xc, Xc)
    G = _blocks.gram(Xc)
    return G, sq, np.ascontiguousarray(X), gram_recompute_ratio(X.shape[1])


def pairwise_sqdist_inplace_gram(X: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances of the rows of ``X`` as one n x n float64 array.

    Uses one symmetric rank-k product ``X X^T`` of the centred data and converts
    it in place; pairs where that expansion cancels are recomputed from their
    coordinate differences (see :func:`gram_recompute_ratio`), so duplicated
    points are at distance exactly 0.
    """
    G, sq, X, ratio = _centred_gram(X)
    _dense_jit.gram_to_sqdist_inplace(G, sq, X, ratio)
    return G


def _gaussian_dense_fused(X: np.ndarray, sigma: float, thresh: float
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Dense Gaussian affinity and its row sums from one Gram product and one fused pass."""
    G, sq, X, ratio = _centred_gram(X)
    deg = _dense_jit.gaussian_from_gram_inplace(G, sq, X, ratio, 2.0 * sigma * sigma,
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


#: Threshold of the sparse path when none is given: affinities below it are dropped.
SPARSE_DEFAULT_THRESH = 1e-4


#: Smallest Gaussian bandwidth: below it ``2 sigma^2`` is not a normal float64.
MIN_SIGMA = float(np.sqrt(np.finfo(np.float64).tiny / 2.0))


def check_sigma(sigma: Any, name: str = "sigma") -> float:
    """Validate a Gaussian bandwidth: positive, and ``2 sigma^2`` a normal float64."""
    sigma = check_float(sigma, name, low=0.0, low_open=True)
    if sigma < MIN_SIGMA:
        raise ValueError(
            f"{name} must be at least {MIN_SIGMA:.3g}: below that 2 {name}^2 underflows in "
            f"float64 and every affinity becomes 0/0. Rescale the data (and {name}) "
            f"instead; got {sigma!r}")
    return sigma


def require_sparse_thresh(thresh: float) -> float:
    """Refuse ``thresh = 0`` for a sparse kernel (it keeps every pair: a dense kernel)."""
    if thresh == 0.0:
        raise ValueError(
            "thresh must be > 0 for a sparse kernel (thresh=0 keeps every pair: a dense "
            "kernel); use mode='exact' for thresh=0, or e.g. thresh=1e-4; got 0.0")
    return thresh


def check_sparse_params(n: int, kernel: Any, knn: Any, decay: Any, sigma: Any,
                        thresh: Any, neighbors: Any, max_neighbors: Any, n_jobs: Any
                        ) -> SparseParams:
    """Validate the parameters of :func:`sparse_affinity` for ``n`` points."""
    kernel = check_choice(kernel, "kernel", KERNELS)
    knn = check_int(knn, "knn", low=1, high=n - 1,
                    high_note=f" (n - 1, the number of other points; X has n={n})")
    decay = check_float(decay, "decay", low=0.0, low_open=True)
    sigma = DEFAULT_SIGMA if sigma is None else check_sigma(sigma)
    if thresh is None:
        thresh = SPARSE_DEFAULT_THRESH
    thresh = require_sparse_thresh(check_float(thresh, "thresh", low=0.0, high=1.0,
                                               high_open=True))
    neighbors = check_choice(neighbors, "neighbors", ["auto", *METHODS])
    if max_neighbors is not None:
        max_neighbors = check_int(max_neighbors, "max_neighbors", low=knn)
    return SparseParams(kernel=kernel, knn=knn, decay=decay, sigma=sigma, thresh=thresh,
                        method=neighbors, max_neighbors=max_neighbors,
                        n_jobs=check_n_jobs(n_jobs))


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
    neighbors : {"auto", "exact", "pynndescent", "nndescent"}, default "auto"
        Neighbour search, see :func:`fastdse.operator.neighbors.knn_search`. Rows that
        need widening are re-searched exactly while that costs at most
        :data:`fastdse.operator.widen.EXACT_WIDEN_MAX_PAIRS` distances (see
        :func:`fastdse.operator.widen.widen_to_radius`).
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
    random_state : None, int, numpy.random.RandomState or numpy.random.Generator
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
    p = check_sparse_params(n, kernel, knn, decay, sigma, thresh, neighbors, max_neighbors,
                            n_jobs)
    if knn_result is not None:
        knn_result = check_knn_result(knn_result, n, p.knn)
    K, info = compute_sparse_affinity(X, p, check_random_state(random_state),
                                      pynndescent_params, knn_result)
    info.pop("locality_order", None)  # for the spectral stage only
    return (K, info) if return_info else K
