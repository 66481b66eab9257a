r"""Discrete labels from DSMI's reference variable Y: as given, binned, or clustered.

DSMI needs discrete labels (:func:`discretize`): labels are kept, a continuous 1-D
Y is min-max binned, and a continuous multi-dimensional Y is clustered
(:func:`spectral_clusters`). A continuous multi-dimensional Y (flattened input
images, d' in the thousands; n up to millions) is clustered with the project's
own sparse machinery instead of scikit-learn's ``SpectralClustering``, which
builds a dense affinity for its eigen-solver in many configurations and does
not scale to n = 1,000,000 (the reference's choice stays available in
:mod:`fastdse.compat`)::

    Y (n, d') --[randomized PCA, only if d' > max_features]--> (n, max_features)
      --> kNN alpha-decay graph, A = D^-1/2 K D^-1/2      (fastdse.operator.build)
      --> top n_clusters eigenvectors of A                 (known eigenvalue-1 vectors
                                                            + seeded ARPACK on the rest)
      --> random-walk embedding D^-1/2 U, one row per point
      --> k-means (scikit-learn, seeded)                   --> labels 0..n_clusters-1

A graph with at least ``n_clusters`` connected components needs no
eigenvectors: its components are grouped by a size-weighted k-means on their
centroids (each component stays whole), so well-separated groups come out
exactly and without a warning.

Every random choice (PCA sketch, neighbour search, ARPACK start vector,
k-means) draws from one seed, so the same ``random_state`` gives the same
labels.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.linalg
from scipy.sparse.csgraph import connected_components

from fastdse._util import inputs as _inputs
from fastdse._util.inputs import check_points
from fastdse._util.validation import (
    check_choice,
    check_int,
    check_n_jobs,
    check_random_state,
    describe,
)
from fastdse.operator.neighbors import METHODS

__all__ = [
    "discretize", "check_labels", "spectral_clusters", "randomized_pca", "DENSE_EIGH_MAX_N",
    "Y_KINDS",
]

#: Below this many points the embedding uses a dense ``eigh`` of ``A`` instead of ARPACK.
DENSE_EIGH_MAX_N = 2000

#: ARPACK's relative residual tolerance for the embedding: k-means only needs the
#: invariant subspace roughly, not eigenvalues to machine precision.
EIGSH_TOL = 1e-6


def randomized_pca(
    Y: np.ndarray, n_components: int, random_state: Any = None, *, n_iter: int = 4,
    n_oversamples: int = 10,
) -> np.ndarray:
    r"""Scores of the top principal components of ``Y`` by a randomized range finder.

    Halko, Martinsson and Tropp (SIAM Review 2011), algorithm 4.4 with
    ``n_iter`` power iterations, applied to the centred data
    :math:`Y - \mathbf{1}\mu^T` *implicitly* (products ``Y B - 1 (mu^T B)``), so
    no centred copy of ``Y`` is made: memory is ``O(n (n_components +
    n_oversamples))`` besides ``Y`` itself.

    Parameters
    ----------
    Y : numpy.ndarray of shape (n, d), float32 or float64
    n_components : int
        Number of components kept (``< min(n, d)``).
    random_state : None, int, numpy.random.RandomState or numpy.random.Generator
        Seed of the Gaussian sketch.
    n_iter : int, default 4
        Power iterations (each one pass over ``Y`` and one over ``Y^T``).
    n_oversamples : int, default 10
        Extra sketch columns.

    Returns
    -------
    numpy.ndarray of shape (n, n_components), dtype of ``Y``
        ``(Y - mu) V_k``, the coordinates in the top ``n_components`` principal
        directions (deterministic signs: the largest entry of each direction
        is positive).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> Y = rng.normal(size=(500, 3)) @ rng.normal(size=(3, 40))  # rank 3
    >>> S = randomized_pca(Y, 3, random_state=0)
    >>> S.shape
    (500, 3)
    >>> bool(np.allclose(S @ S.T, (Y - Y.mean(0)) @ (Y - Y.mean(0)).T))
    True
    """
    n, d = Y.shape
    rng = check_random_state(random_state)
    dtype = Y.dtype
    k = min(n_components + n_oversamples, n, d)
    mu = Y.mean(axis=0, dtype=np.float64).astype(dtype)

    def right(B: np.ndarray) -> np.ndarray:  # (Y - 1 mu^T) B
        B = B.astype(dtype, copy=False)
        return Y @ B - (mu @ B)[None, :]

    def left(C: np.ndarray) -> np.ndarray:  # (Y - 1 mu^T)^T C
        C = C.astype(dtype, copy=False)
        return Y.T @ C - np.outer(mu, C.sum(axis=0))

    Q, _ = scipy.linalg.qr(right(rng.standard_normal((d, k))), mode="economic")
    for _ in range(n_iter):
        Q, _ = scipy.linalg.qr(left(Q), mode="economic")
        Q, _ = scipy.linalg.qr(right(Q), mode="economic")
    B = left(Q).T.astype(np.float64)  # (k, d) = Q^T (Y - 1 mu^T)
    _, _, Vt = scipy.linalg.svd(B, full_matrices=False)
    V = Vt[:n_components].T
    signs = np.sign(V[np.argmax(np.abs(V), axis=0), np.arange(V.shape[1])])
    V *= np.where(signs == 0, 1.0, signs)
    return right(V)


def _group_components(Yr: np.ndarray, comp: np.ndarray, n_comp: int, n_clusters: int,
                      seed: int) -> np.ndarray:
    """``n_clusters`` groups of whole connected components (k-means on their centroids)."""
    sizes = np.bincount(comp, minlength=n_comp).astype(np.float64)
    if n_comp == n_clusters:
        return comp.astype(np.int64)
    from sklearn.cluster import KMeans

    centroids = np.empty((n_comp, Yr.shape[1]))
    for j in range(Yr.shape[1]):
        centroids[:, j] = np.bincount(comp, weights=Yr[:, j], minlength=n_comp) / sizes
    km = KMeans(n_clusters=n_clusters, n_init=4, random_state=seed)
    group = km.fit(centroids, sample_weight=sizes).labels_
    return group[comp].astype(np.int64)


def _top_eigenvectors(A: sp.csr_matrix, known: np.ndarray, k: int,
                      rng: np.random.Generator) -> np.ndarray:
    """``k`` orthonormal eigenvectors of the largest eigenvalues of ``A``.

    The ``c`` known eigenvalue-1 vectors are taken as they are; the other
    ``k - c`` come from ARPACK (largest algebraic) on ``(I - UU^T) A (I - UU^T)``,
    or from a dense ``eigh`` for small ``n``.
    """
    n = A.shape[0]
    c = known.shape[1]
    if n <= DENSE_EIGH_MAX_N:
        dense = A.toarray()
        _, vecs = scipy.linalg.eigh(dense, subset_by_index=[n - k, n - 1])
        return vecs[:, ::-1]
    m = k - c
    U = known

    def matvec(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64).reshape(n, -1)
        x = x - U @ (U.T @ x)
        y = A @ x
        return y - U @ (U.T @ y)

    lin = scipy.sparse.linalg.LinearOperator((n, n), matvec=matvec, matmat=matvec,
                                             dtype=np.float64)
    v0 = rng.standard_normal(n)
    v0 -= U @ (U.T @ v0)
    attempts = [{"ncv": min(n - 1, max(4 * m + 1, 40)), "maxiter": max(2000, 10 * n)},
                {"ncv": min(n - 1, max(8 * m + 1, 80)), "maxiter": max(10000, 50 * n)}]
    error: Exception | None = None
    vals = vecs = None
    for opts in attempts:
        try:
            vals, vecs = scipy.sparse.linalg.eigsh(lin, k=m, which="LA", v0=v0, tol=EIGSH_TOL,
                                                   **opts)
            error = None
            break
        except scipy.sparse.linalg.ArpackNoConvergence as exc:
            error = exc
            vals, vecs = exc.eigenvalues, exc.eigenvectors
    if error is not None:
        got = 0 if vals is None else len(vals)
        warnings.warn(
            f"ARPACK (eigsh) found {got} of the {m} eigenvectors of the spectral embedding "
            f"({error}); clustering on the {c + got} that are available. Pass a smaller "
            "n_clusters or precomputed clusters if the clusters look wrong.",
            RuntimeWarning, stacklevel=4,
        )
        if vals is None or got == 0:
            return U
    order = np.argsort(-np.asarray(vals), kind="stable")
    return np.hstack([U, np.asarray(vecs)[:, order]])


def spectral_clusters(
    Y: Any,
    n_clusters: int,
    *,
    knn: int = 10,
    max_features: int | None = 50,
    neighbors: str = "auto",
    n_init: int = 3,
    random_state: Any = None,
    n_jobs: int | None = None,
) -> np.ndarray:
    """Spectral clustering of a point cloud through a sparse kNN graph (scales to n = 10^6).

    Parameters
    ----------
    Y : array-like of shape (n, d')
        Continuous variable, one row per point. float32 input stays float32
        (half the memory) up to the kNN graph.
    n_clusters : int
        Number of clusters, from 2 to n.
    knn : int, default 10
        Neighbours of the alpha-decay kNN graph (scikit-learn's
        ``SpectralClustering`` uses 10 as well); capped at ``n - 1``.
    max_features : int or None, default 50
        When ``d' > max_features``, ``Y`` is first reduced to its top
        ``max_features`` principal components by :func:`randomized_pca`
        (seeded): the kNN search then costs O(n max_features) per point
        instead of O(n d'). ``None`` never reduces.
    neighbors : {"auto", "exact", "pynndescent", "nndescent"}, default "auto"
        Neighbour search, as in :func:`fastdse.dse`.
    n_init : int, default 3
        k-means restarts (scikit-learn ``KMeans``, k-means++ starts).
    random_state : None, int, numpy.random.RandomState or numpy.random.Generator
        One seed for every random choice; same seed, same labels.
    n_jobs : int, optional
        Threads of the neighbour search and kernels (None: all cores).

    Returns
    -------
    numpy.ndarray of shape (n,), int64
        Cluster ids ``0..n_clusters-1``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdse.cluster import spectral_clusters
    >>> rng = np.random.default_rng(0)
    >>> Y = np.repeat(np.eye(3) * 10, 100, axis=0) + rng.normal(size=(300, 3))
    >>> labels = spectral_clusters(Y, 3, random_state=0)
    >>> sorted(np.bincount(labels).tolist())
    [100, 100, 100]
    """
    arr = np.asarray(Y)
    dtype = np.float32 if arr.dtype == np.float32 else np.float64
    Yc = check_points(arr, "Y", dtype=dtype)
    n, d = Yc.shape
    n_clusters = check_int(n_clusters, "n_clusters", low=2, high=n,
                           high_note=" (the number of points)")
    knn = check_int(knn, "knn", low=1)
    if max_features is not None:
        max_features = check_int(max_features, "max_features", low=1)
    neighbors = check_choice(neighbors, "neighbors", ["auto", *METHODS])
    n_init = check_int(n_init, "n_init", low=1)
    n_jobs = check_n_jobs(n_jobs)
    rng = check_random_state(random_state)
    seeds = [int(s) for s in rng.integers(2**31 - 1, size=4)]  # pca, neighbours, arpack, kmeans
    return _spectral_clusters(Yc, n_clusters, min(knn, n - 1), max_features, neighbors, n_init,
                              seeds, n_jobs)


def _spectral_clusters(Yc: np.ndarray, n_clusters: int, knn: int, max_features: int | None,
                       neighbors: str, n_init: int, seeds: list[int],
                       n_jobs: int | None) -> np.ndarray:
    """Compute the labels from validated inputs (see :func:`spectral_clusters`)."""
    from sklearn.cluster import KMeans

    from fastdse.operator.build import build_sparse_operator

    n, d = Yc.shape
    if max_features is not None and d > max_features and max_features < n:
        Yr = randomized_pca(Yc, max_features, seeds[0])
    else:
        Yr = Yc
    Yr = np.ascontiguousarray(Yr, dtype=np.float64)
    if n_clusters == n:
        return np.arange(n, dtype=np.int64)
    A, degrees, known, _ = build_sparse_operator(
        Yr, kernel="alpha_decay", knn=knn, neighbors=neighbors, random_state=seeds[1],
        n_jobs=n_jobs,
    )
    n_comp = known.shape[1]
    if n_comp >= n_clusters:
        _, comp = connected_components(A, directed=False)
        return _group_components(Yr, comp, n_comp, n_clusters, seeds[3])
    V = _top_eigenvectors(A, known, n_clusters, np.random.default_rng(seeds[2]))
    emb = V / np.sqrt(degrees)[:, None]  # eigenvectors of the random walk D^-1 K
    # deterministic signs: the entry of largest magnitude is positive
    signs = np.sign(emb[np.argmax(np.abs(emb), axis=0), np.arange(emb.shape[1])])
    emb *= np.where(signs == 0, 1.0, signs)
    km = KMeans(n_clusters=n_clusters, n_init=n_init, random_state=seeds[3])
    return km.fit(emb).labels_.astype(np.int64)


# --------------------------------------------------------------------------- Y -> labels

Y_KINDS = ("auto", "discrete", "continuous")


def _bin_1d(y: np.ndarray, n_clusters: int) -> np.ndarray:
    """Min-max scale, cut into ``n_clusters`` equal bins (ids 1..n_clusters, as the reference)."""
    lo, hi = float(y.min()), float(y.max())
    if hi == lo:
        return np.ones(y.shape[0], dtype=np.int64)
    scaled = (y - lo) / (hi - lo)
    edges = np.linspace(0.0, 1.0, n_clusters + 1)[:-1]
    return np.digitize(scaled, bins=edges).astype(np.int64)



def discretize(
    Y: Any, *, n_clusters: int = 10, kind: str = "auto", random_state: Any = None,
    n_jobs: int | None = None,
) -> np.ndarray:
    """Discrete labels for a reference variable Y.

    Parameters
    ----------
    Y : array-like of shape (n,) or (n, d')
        Labels (integers, booleans, strings, any hashable dtype) or a continuous
        variable.
    n_clusters : int, default 10
        Number of bins (continuous 1-D) or clusters (continuous multi-D).
    kind : {"auto", "discrete", "continuous"}, default "auto"
        ``"auto"``: a single column of integer, boolean, string or object dtype is
        discrete; floating 1-D data is continuous and binned; several columns are
        continuous and clustered.
    random_state : None, int, numpy.random.RandomState or numpy.random.Generator
        Seed of the clustering.
    n_jobs : int, optional
        Threads of the clustering's neighbour search (None: all cores).

    Returns
    -------
    numpy.ndarray of shape (n,)
        Discrete labels: the original labels, bin ids ``1..n_clusters`` or cluster
        ids ``0..n_clusters-1``.

    Notes
    -----
    A multi-dimensional Y is clustered by :func:`fastdse.cluster.spectral_clusters`
    (randomized PCA to 50 components when it has more columns, a sparse
    alpha-decay kNN graph with ``knn=10``, its top ``n_clusters`` eigenvectors and
    k-means): near-linear in n. The reference's dense scikit-learn
    ``SpectralClustering`` is in :mod:`fastdse.compat`. Clustering is the
    costly part for large n, and it does not depend on Z: compute it once and
    pass it as ``clusters=`` to every :func:`dsmi` call against the same Y
    (e.g. every training epoch).

    Examples
    --------
    >>> import numpy as np
    >>> from fastdse.cluster import discretize
    >>> discretize(np.array([0.0, 0.05, 0.5, 1.0]), n_clusters=2)
    array([1, 1, 2, 2])
    >>> discretize(np.array(["cat", "dog", "cat"]))
    array(['cat', 'dog', 'cat'], dtype='<U3')
    """
    return _discretize(Y, check_int(n_clusters, "n_clusters", low=2),
                       check_choice(kind, "kind", Y_KINDS), check_random_state(random_state),
                       check_n_jobs(n_jobs))


def check_labels(labels: np.ndarray, name: str) -> np.ndarray:
    """Refuse missing labels (NaN, infinite, None) in a 1-D array of labels; return it."""
    if labels.dtype.kind == "f" and not np.isfinite(labels).all():
        bad = int(np.count_nonzero(~np.isfinite(labels)))
        raise ValueError(f"{name} contains {bad} NaN or infinite label(s); every point needs a "
                         "finite label (drop those points or give them a class of their own)")
    if labels.dtype == object:
        bad = sum(1 for v in labels if v is None or (isinstance(v, float) and v != v))
        if bad:
            raise ValueError(f"{name} contains {bad} missing label(s) (None or NaN); every "
                             "point needs a label (drop those points or give them a class of "
                             "their own)")
    return labels


def _discretize(Y: Any, n_clusters: int, kind: str, rng: np.random.Generator,
                n_jobs: int | None) -> np.ndarray:
    """Compute :func:`discretize` for validated settings (``Y`` itself is checked here)."""
    arr = np.asarray(_inputs.to_numpy(Y, "Y"))
    if arr.ndim == 0 or arr.ndim > 2:
        raise ValueError(
            f"Y must be 1-D (labels or a scalar variable) or 2-D (n, d'); got {describe(arr)}"
        )
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    n = arr.shape[0]
    numeric = np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_
    if kind == "auto":
        if arr.ndim == 1 and (
            not numeric or np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_
        ):
            kind = "discrete"
        else:
            kind = "continuous"
    if kind == "discrete":
        if arr.ndim != 1:
            raise ValueError(
                f"discrete Y must have one column; got shape {arr.shape}. Pass kind='continuous' "
                "to cluster a multi-dimensional variable."
            )
        return check_labels(arr, "Y")
    if n_clusters > n:
        raise ValueError(f"n_clusters must be <= {n} (the number of points); got {n_clusters}")
    if not numeric:
        raise TypeError(
            f"a continuous Y must be numeric; got dtype {arr.dtype}. Pass kind='discrete' for "
            "labels."
        )
    if arr.ndim == 1:
        y = check_points(arr[:, None], "Y", min_points=2)[:, 0]
        return _bin_1d(y, n_clusters)
    if n > 0 and np.all(arr == arr[:1]):
        raise ValueError(
            f"Y is constant (all {n} rows equal): a constant variable has no clusters and "
            "carries no information about Z. Pass a varying Y, or labels as clusters=")
    seed = int(rng.integers(2**31 - 1))
    return spectral_clusters(arr, n_clusters, random_state=seed, n_jobs=n_jobs)
