r"""fastdse's kernel on the k-NN distances a scanpy graph stored (``neighbors_key``).

``scanpy.pp.neighbors`` stores, for every point, the distances to its
``n_neighbors - 1`` nearest other points (``adata.obsp["distances"]``: a CSR matrix
without the diagonal). :func:`stored_knn_affinity` builds the sparse alpha-decay or
Gaussian kernel on those lists with the rule of the sparse path
(:class:`~fastdse.operator.sparse_kernel.RowKernel`, :func:`kernel_rows`,
:func:`symmetrize`): every row is the point itself (distance 0) followed by its stored
neighbours, so the alpha-decay bandwidth is the distance to the ``knn``-th stored
neighbour, exactly as the sparse path reads it from a list with the point first.

Nothing is searched: where a row's threshold radius ``r_i`` reaches its farthest
stored neighbour, points between that neighbour and ``r_i`` may be missing from the
row (the stored list ends before the kernel does). Such a row is *truncated*; the
mass it lost cannot be estimated without the points, so any truncated row raises a
:class:`~fastdse.operator.truncation.TruncationWarning` naming how many there are and
the affinity at which they were cut. With lists that hold every point within the
radius the kernel equals :func:`fastdse.operator.kernel.sparse_affinity` on the points.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from fastdse._numba import sparse as _sparse_jit
from fastdse._util.threads import numba_threads
from fastdse.operator.sparse_kernel import RowKernel, kernel_rows, symmetrize
from fastdse.operator.truncation import TruncationWarning

if TYPE_CHECKING:
    from fastdse.settings import Resolved, Settings

__all__ = ["StoredLists", "stored_lists", "stored_knn_affinity", "stored_knn_from_settings"]


@dataclass(frozen=True)
class StoredLists:
    """Stored neighbour lists in CSR layout, each row the point itself first (distance 0).

    ``indptr``, ``nbr`` (int64) and ``dist`` (float64, ascending within a row);
    ``counts`` is the number of stored neighbours of each row (self excluded).
    """

    indptr: np.ndarray
    nbr: np.ndarray
    dist: np.ndarray
    counts: np.ndarray

    @property
    def n(self) -> int:
        """Number of points."""
        return len(self.indptr) - 1


def _as_csr(D: Any, where: str) -> sp.csr_matrix:
    """Return the stored distances as a float64 CSR copy, explicit zeros (duplicates) kept."""
    if sp.issparse(D):
        if D.ndim != 2 or D.shape[0] != D.shape[1]:
            raise ValueError(f"{where} must be a square (n, n) matrix of k-NN distances; "
                             f"got shape {D.shape}")
        if not np.issubdtype(D.dtype, np.floating) and not np.issubdtype(D.dtype, np.integer):
            raise TypeError(f"{where} must hold real distances; got dtype {D.dtype}")
        if not (D.format == "csr" and D.has_canonical_format):
            _refuse_repeated_entries(D.tocoo(), where)  # before any conversion sums them
        return sp.csr_matrix(D, dtype=np.float64, copy=True)
    arr = np.asarray(D)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{where} must be a square (n, n) matrix of k-NN distances; got "
                         f"shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"{where} must hold real distances; got dtype {arr.dtype}")
    # a dense matrix (scanpy's method="gauss", knn=False) lists every other point
    rows, cols = np.nonzero(~np.eye(arr.shape[0], dtype=bool))
    return sp.csr_matrix((arr[rows, cols].astype(np.float64), (rows, cols)), shape=arr.shape)


def _refuse_repeated_entries(C: sp.coo_matrix, where: str) -> None:
    """Raise if a pair ``(i, j)`` is stored more than once.

    A CSR matrix keeps such entries side by side (each would become a kernel entry of its
    own) and a conversion to CSR adds them (their distances would be summed): either way a
    wrong kernel, so neither is guessed at.
    """
    key = C.row.astype(np.int64) * C.shape[1] + C.col
    key.sort()
    repeated = np.flatnonzero(key[1:] == key[:-1])
    if len(repeated):
        i, j = divmod(int(key[repeated[0]]), C.shape[1])
        raise ValueError(
            f"{where} must store each pair of points once; {len(repeated)} entries repeat a "
            f"pair already stored (the first: row {i}, column {j}). A k-NN distance matrix "
            "lists each neighbour once: rebuild it, or keep one entry per pair")


def stored_lists(D: Any, where: str) -> StoredLists:
    """Validate stored k-NN distances and return them as sorted lists, self first.

    Parameters
    ----------
    D : scipy.sparse matrix or numpy.ndarray of shape (n, n)
        Row ``i`` holds the distances from point ``i`` to its stored neighbours
        (explicitly stored zeros are neighbours at distance 0; diagonal entries are
        the point itself and are dropped).
    where : str
        What ``D`` is, for messages (e.g. ``"X.obsp['distances']"``).

    Returns
    -------
    StoredLists
    """
    D = _as_csr(D, where)
    n = D.shape[0]
    if n < 2:
        raise ValueError(f"{where} must describe at least 2 points; got {n}")
    if not np.isfinite(D.data).all():
        raise ValueError(f"{where} contains NaN or infinite distances; all must be finite")
    if D.data.size and D.data.min() < 0:
        raise ValueError(f"{where} must hold non-negative distances; its smallest entry "
                         f"is {D.data.min():.6g}")
    row = np.repeat(np.arange(n), np.diff(D.indptr))
    keep = D.indices != row  # the point itself is the row's first entry, added below
    row, col, val = row[keep], D.indices[keep].astype(np.int64), D.data[keep]
    order = np.lexsort((col, val, row))  # by row, then distance (ties by column)
    counts = np.bincount(row, minlength=n).astype(np.int64)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts + 1, out=indptr[1:])
    first = indptr[:-1]
    slots = np.ones(indptr[-1], dtype=bool)
    slots[first] = False
    nbr = np.empty(indptr[-1], dtype=np.int64)
    dist = np.empty(indptr[-1], dtype=np.float64)
    nbr[first], dist[first] = np.arange(n), 0.0
    nbr[slots], dist[slots] = col[order], val[order]
    return StoredLists(indptr, nbr, dist, counts)


def _check_knn(lists: StoredLists, rule: RowKernel, where: str, source: str) -> None:
    """Refuse a ``knn`` beyond the stored neighbours of some row (alpha-decay only)."""
    if not rule.adaptive:
        return
    fewest = int(lists.counts.min())
    if rule.knn <= fewest:
        return
    most = int(lists.counts.max())
    held = (f"{fewest} neighbours per point" if fewest == most else
            f"from {fewest} to {most} neighbours per point ({int(np.sum(lists.counts < rule.knn))}"
            f" rows fewer than knn)")
    raise ValueError(
        f"knn={rule.knn} is larger than the stored graph allows: {source} holds {held} "
        f"({where}; scanpy's n_neighbors counts the point itself), and the alpha-decay "
        f"bandwidth is the distance to the knn-th neighbour. Pass knn <= {fewest}, recompute "
        f"the graph with more neighbours (scanpy.pp.neighbors(adata, n_neighbors="
        f"{max(rule.knn + 1, 30)})), or pass the points (use_rep) for fastdse's own kernel")


def _scales(lists: StoredLists, rule: RowKernel) -> np.ndarray:
    """Each row's scale: the ``knn``-th stored distance (index ``knn``, self first)."""
    if rule.adaptive:
        return rule.bandwidth(lists.dist[lists.indptr[:-1] + rule.knn])
    return np.full(lists.n, rule.fixed_scale)


def truncated_rows(lists: StoredLists, scale: np.ndarray, rule: RowKernel
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose threshold radius reaches their farthest stored neighbour.

    Returns the rows (a list that holds every other point is never truncated) and the
    kernel value at each one's farthest stored neighbour: the affinity at which the
    row was cut (its missing neighbours, if any, have affinities between ``thresh``
    and that value).
    """
    farthest = lists.dist[lists.indptr[1:] - 1]
    radius = scale * rule.factor
    rows = np.flatnonzero((farthest <= radius) & (lists.counts < lists.n - 1))
    cut = np.exp(-((farthest[rows] / np.maximum(scale[rows], np.finfo(float).eps))
                   ** rule.power))
    return rows, cut


def _warn_truncated(report: dict[str, Any], rule: RowKernel, kernel: str, sigma: float,
                    source: str, n: int, stacklevel: int) -> None:
    m = report["truncated_rows"]
    if not m:
        return
    fewest, most = report["stored_neighbors_min"], report["stored_neighbors_max"]
    held = f"{fewest}" if fewest == most else f"{fewest} to {most}"
    shrink = (f"a smaller sigma (got {sigma:g})" if kernel == "gaussian"
              else "a smaller knn, a larger decay")
    warnings.warn(
        f"the {kernel} kernel built on the stored k-NN distances of {source} is truncated in "
        f"{m} of {n} rows: their threshold radius (thresh={rule.thresh:g}) reaches beyond "
        f"their farthest stored neighbour ({held} stored per row, scanpy's n_neighbors "
        f"minus 1), so neighbours with affinities up to {report['max_cut_affinity']:.2g} "
        "may be missing from them. To fix it, recompute the graph with a larger n_neighbors "
        f"than {fewest + 1} (scanpy.pp.neighbors(adata, n_neighbors=...)), or pass the "
        "points (use_rep) for fastdse's own kernel, which widens its lists to the radius "
        f"({shrink} or a larger thresh also shrink the radius).",
        TruncationWarning,
        stacklevel=stacklevel + 1,
    )


def stored_knn_affinity(D: Any, kernel: str, *, knn: int, decay: float, sigma: float,
                        thresh: float, where: str, source: str, n_jobs: int | None = None,
                        stacklevel: int = 1) -> tuple[sp.csr_matrix, dict[str, Any]]:
    r"""Build the sparse kernel on stored k-NN distances (validated settings).

    .. math::

        k_{ij} = \exp(-(d_{ij} / s_i)^p) \ \text{for } j = i \text{ and the stored
        neighbours } j \text{ of } i, \text{ kept where } \ge \mathrm{thresh}, \qquad
        K = (k + k^T) / 2,

    with ``s_i`` the distance to the ``knn``-th stored neighbour and ``p = decay``
    (``alpha_decay``), or ``s_i = sigma sqrt(2)`` and ``p = 2`` (``gaussian``).

    Parameters
    ----------
    D : scipy.sparse matrix or numpy.ndarray of shape (n, n)
        The stored distances (see :func:`stored_lists`).
    kernel : {"alpha_decay", "gaussian"}
    knn, decay, sigma : validated settings (``knn <= n - 1``)
    thresh : float in (0, 1)
        The sparse kernel's threshold; 0 is refused (it would need every pair).
    where, source : str
        What ``D`` is and which graph it belongs to, for messages
        (``"X.obsp['distances']"``, ``"neighbors_key='neighbors'"``).
    n_jobs : int, optional
        Threads of the numba kernels.
    stacklevel : int
        Of the :class:`TruncationWarning`, counted from the caller.

    Returns
    -------
    K : scipy.sparse.csr_matrix of shape (n, n)
        Symmetric, sorted indices, ones on the diagonal.
    report : dict
        ``kernel``, ``knn`` (alpha-decay), ``decay`` or ``sigma``, ``thresh``,
        ``stored_neighbors_min``/``_max``, ``truncated_rows``, ``max_cut_affinity``
        (the largest affinity at which a truncated row was cut; 0 when none) and ``nnz``.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from scipy.spatial.distance import cdist
    >>> from fastdse.operator.kernel import sparse_affinity
    >>> X = np.random.default_rng(0).normal(size=(100, 2))
    >>> d = cdist(X, X)
    >>> nbr = np.argsort(d, axis=1)[:, 1:41]             # 40 nearest, self excluded
    >>> rows = np.repeat(np.arange(100), 40)
    >>> D = sp.csr_matrix((d[rows, nbr.ravel()], (rows, nbr.ravel())), shape=(100, 100))
    >>> K, report = stored_knn_affinity(D, "alpha_decay", knn=5, decay=40.0, sigma=10.0,
    ...                                 thresh=1e-4, where="D", source="D")
    >>> report["truncated_rows"]
    0
    >>> Kx = sparse_affinity(X, knn=5, neighbors="exact")
    >>> bool(np.allclose(K.toarray(), Kx.toarray(), rtol=1e-10, atol=0))
    True
    """
    if not thresh > 0:
        raise ValueError(
            f"thresh must be > 0 for a kernel on stored k-NN distances (thresh=0 keeps every "
            f"pair, which {source} does not list); pass e.g. thresh=1e-4, or the points "
            f"(use_rep) with mode='exact'; got {thresh!r}")
    lists = stored_lists(D, where)
    rule = RowKernel.of(kernel, knn, decay, sigma, thresh)
    _check_knn(lists, rule, where, source)
    n = lists.n
    with numba_threads(n_jobs):
        scale = _scales(lists, rule)
        rows, cut = truncated_rows(lists, scale, rule)
        row_idx, row_val, lengths = kernel_rows(lists.indptr, lists.nbr, lists.dist, scale, rule)
        k_ptr, k_idx, k_val = _sparse_jit.compact_sorted_rows(lists.indptr[:-1], lengths,
                                                              row_idx, row_val)
        K = symmetrize(n, k_ptr, k_idx, k_val)
    report: dict[str, Any] = {"kernel": kernel}
    report.update({"knn": knn, "decay": decay} if rule.adaptive else {"sigma": sigma})
    report.update(thresh=thresh, stored_neighbors_min=int(lists.counts.min()),
                  stored_neighbors_max=int(lists.counts.max()), truncated_rows=int(len(rows)),
                  max_cut_affinity=float(cut.max()) if len(rows) else 0.0, nnz=int(K.nnz))
    _warn_truncated(report, rule, kernel, sigma, source, n, stacklevel + 1)
    return K, report


def stored_knn_from_settings(D: Any, settings: Settings, resolved: Resolved,
                             stored: dict[str, str], name: str, stacklevel: int
                             ) -> tuple[sp.csr_matrix, dict[str, Any]]:
    """:func:`stored_knn_affinity` for a graph's validated settings and a stored graph.

    ``stored`` names the graph (``neighbors_key``, ``obsp_key``; see
    :func:`fastdse._util.inputs.resolve`) and ``name`` the AnnData's parameter. The
    threshold is ``resolved.sparse_thresh`` in every mode (the kernel is sparse by
    construction). Returns the kernel and ``stored`` with the kernel's report.
    """
    source = f"neighbors_key={stored['neighbors_key']!r}"
    if resolved.kernel == "gaussian" and resolved.sigma_rule is not None:
        raise ValueError(
            f"sigma={resolved.sigma_rule!r} (a bandwidth measured on the points) cannot be taken "
            f"from the graph stored under {source}: its lists hold too few neighbours per "
            "point, and a Gaussian of that bandwidth reaches beyond them. Pass use_rep= (the "
            "representation the graph was built on, e.g. 'X_pca') to use the points, a number "
            "for sigma, or kernel='alpha_decay' to build that kernel on the stored distances")
    K, report = stored_knn_affinity(
        D, resolved.kernel, knn=resolved.knn, decay=settings.decay, sigma=resolved.sigma,
        thresh=resolved.sparse_thresh, where=f"{name}.obsp[{stored['obsp_key']!r}]",
        source=source, n_jobs=settings.n_jobs, stacklevel=stacklevel + 1)
    return K, {**stored, **report}
