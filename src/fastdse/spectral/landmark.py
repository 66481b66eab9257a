r"""Landmark spectral measures: a coarse operator on ``m << n`` landmarks.

Both methods are Rayleigh-Ritz (Galerkin) projections of the *squared*
operator :math:`A^2` (similar to :math:`P^2`, since
:math:`A = D^{-1/2} K D^{-1/2}` is similar to :math:`P = D^{-1} K`) onto an
``m``-dimensional subspace with orthonormal basis :math:`Q` (n x m):

.. math::

    S = Q^T A^2 Q = (A Q)^T (A Q), \qquad \mu_1 \ge \dots \ge \mu_m
    \text{ the eigenvalues of } S.

``"operator"`` (graphtools' landmark operator)
    The points are partitioned into ``m`` clusters (k-means on the
    diffusion coordinates :math:`P V`, ``V`` the top ``n_svd`` singular vectors
    of ``A``, as graphtools' ``LandmarkGraph.build_landmark_op``) and ``Q`` is
    spanned by the degree-weighted cluster indicators,
    :math:`Q = D^{1/2} C D_m^{-1/2}` (``C`` the n x m indicator matrix,
    :math:`D_m = C^T D C` the cluster degrees). Then ``S`` is similar to
    graphtools' landmark operator :math:`P_{mn} P_{nm}` (row-normalised
    landmark-to-point and point-to-landmark transitions): the same eigenvalues.
    ``sqrt(degrees)`` lies in the subspace, so the eigenvalue 1 is kept exactly.
``"nystrom"``
    The Nystrom approximation of the positive semi-definite :math:`A^2` from
    ``m`` of its columns, :math:`A^2 \approx F G^{+} F^T` with
    :math:`F = A C`, :math:`C = A_{:,S}` and core :math:`G = C^T C = (A^2)_{SS}`:
    its eigenvalues are those of the m x m core
    :math:`G^{+1/2} F^T F G^{+1/2}`, i.e. the Rayleigh-Ritz values of
    :math:`A^2` on the span of ``m`` uniformly sampled columns of ``A``. The
    known eigenvectors of eigenvalue 1 (``sqrt(degrees)`` per connected
    component) replace as many sampled columns, so those eigenvalues are exact.

The nodes of the measure are :math:`\sqrt{\mu_k}`: approximations of the ``m``
largest :math:`|\lambda_i|` of ``A`` (so :math:`|\text{node}|^t = \mu^{t/2}`,
the DSE weight at diffusion time ``t``). By Cauchy interlacing,
:math:`\lambda^{(2)}_{k + n - m} \le \mu_k \le \lambda^{(2)}_k` (the
:math:`\lambda^{(2)}` being the eigenvalues of :math:`A^2` in decreasing
order): every node is a *lower* bound on the matching ``|lambda|``.

The other ``n - m`` eigenvalues are unknown and **left out**: the measure has
only ``m`` atoms (weight 1 each; ``info["atoms"]``), and the DSE computed from it
is the DSE of the top of the spectrum only. It underestimates the full DSE,
badly at small ``t`` where the bulk of the spectrum carries most of the mass
(measured in ``docs/benchmarks/landmark_accuracy.md``). ``info`` reports
``captured_fraction_t2 = sum(mu) / tr(A^2)``, the exactly known share of
:math:`Z_2 = \sum_i \lambda_i^2` that the atoms hold.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from fastdse._util.validation import check_choice, check_int, check_random_state, describe
from fastdse.operator.normalize import top_eigenvectors
from fastdse.spectral.checks import check_known_vectors
from fastdse.spectral.measure import SpectralMeasure

__all__ = [
    "LANDMARK_METHODS",
    "DEFAULT_N_LANDMARKS",
    "landmark_measure",
    "landmark_from_operator",
]

#: ``method`` name -> one-line description (the valid names of ``landmark_measure``).
LANDMARK_METHODS = {
    "operator": "graphtools landmark operator: Galerkin projection of P^2 on cluster indicators",
    "nystrom": "Nystrom approximation of A^2 from m sampled columns",
}

#: Landmarks when none are given (graphtools' default), capped at ``n - 1``.
DEFAULT_N_LANDMARKS = 2000

#: Singular vectors of ``A`` whose diffusion coordinates are clustered (graphtools' default).
DEFAULT_N_SVD = 100

#: Directions of the Nystrom basis with ``g < RCOND * max(g)`` (``g`` the eigenvalues of
#: ``C^T C``, i.e. squared singular values of the sampled columns) are dropped.
NYSTROM_RCOND = 1e-10

NOTE = (
    "landmark measure: {atoms} atoms approximating the {atoms} largest |eigenvalues| of the "
    "n={n} operator (square roots of the Ritz values of A^2, similar to P^2; each a lower "
    "bound); the other {missing} eigenvalues are unknown and left out, so the DSE is that of "
    "the top of the spectrum only and underestimates the full DSE, strongly at small t. "
    "{captured:.1%} of tr(A^2) is captured. Use mode='approx' or 'exact' for full DSE."
)


# =========================================================================== validation


#: A sparse ``A`` with more than this fraction of non-zeros is converted to a dense array
#: (it then takes less memory than its CSR form, and BLAS is much faster).
DENSE_OPERATOR_DENSITY = 0.5


def _check_landmark_operator(A: Any) -> sp.csr_matrix | np.ndarray:
    """Square float64 operator: CSR if sparse, C-contiguous array if dense (or nearly)."""
    if sp.issparse(A):
        if A.ndim != 2 or A.shape[0] != A.shape[1]:
            raise ValueError(f"A must be a square matrix; got shape {A.shape}")
        A = sp.csr_matrix(A, dtype=np.float64)
        data = A.data
    else:
        try:
            A = np.asarray(A, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"A must be a scipy.sparse matrix or a 2-D array; got {describe(A)}"
            ) from exc
        if A.ndim != 2 or A.shape[0] != A.shape[1]:
            raise ValueError(f"A must be a square matrix; got shape {A.shape}")
        data = A
    if A.shape[0] < 3:
        raise ValueError(f"A must be at least 3 x 3 (n_landmarks from 2 to n - 1); got "
                         f"shape {A.shape}")
    if not np.all(np.isfinite(data)):
        raise ValueError("A contains NaN or infinite values")
    if sp.issparse(A) and A.nnz > DENSE_OPERATOR_DENSITY * A.shape[0] ** 2:
        A = A.toarray()
    return A


def _check_degrees(degrees: Any, n: int) -> np.ndarray:
    d = np.asarray(degrees, dtype=np.float64)
    if d.shape != (n,):
        raise ValueError(f"degrees must have shape ({n},) (one per row of A); got {d.shape}")
    if not np.all(np.isfinite(d)) or np.any(d <= 0):
        raise ValueError("degrees must be positive and finite (row sums of the kernel)")
    return d


def _seed(rng: np.random.Generator) -> int:
    """Draw an integer seed for libraries that take ``int | RandomState`` (scikit-learn)."""
    return int(rng.integers(0, 2**31 - 1))


# =========================================================================== public


def landmark_measure(
    A: Any,
    degrees: Any,
    *,
    n_landmarks: int = DEFAULT_N_LANDMARKS,
    method: str = "operator",
    n_svd: int = DEFAULT_N_SVD,
    known_vectors: Any = None,
    random_state: Any = None,
) -> SpectralMeasure:
    r"""Coarse spectral measure of ``A`` from ``m = n_landmarks`` landmarks.

    See the module docstring for the two methods. The measure has only ``m``
    atoms (fewer when k-means leaves clusters empty or the sampled columns are
    numerically dependent): the top of the spectrum. **It does not stand for
    all ``n`` eigenvalues**; the DSE computed from it is the DSE of the top
    ``m`` eigenvalues.

    Parameters
    ----------
    A : scipy.sparse matrix or numpy.ndarray of shape (n, n)
        Symmetric normalised operator :math:`D^{-1/2} K D^{-1/2}` (spectrum in
        ``[-1, 1]``; symmetry is not checked). Not modified.
    degrees : numpy.ndarray of shape (n,)
        Degrees of the kernel ``A`` was normalised with (``sqrt(degrees)`` is
        the eigenvector of eigenvalue 1), as returned by
        :func:`fastdse.operator.build.build_sparse_operator`.
    n_landmarks : int, default 2000
        Number of landmarks ``m``, from 2 to ``n - 1``.
    method : {"operator", "nystrom"}, default "operator"
        ``"operator"``: graphtools' landmark operator (spectral clusters).
        ``"nystrom"``: Nystrom approximation of ``A^2`` from sampled columns.
    n_svd : int, default 100
        ``"operator"`` only: singular vectors of ``A`` (randomised SVD) whose
        diffusion coordinates are clustered (at most ``n - 1`` are used).
    known_vectors : numpy.ndarray of shape (n, c), optional
        ``"nystrom"`` only: orthonormal eigenvectors of eigenvalue 1 put in the
        subspace (they take ``c`` of the ``m`` columns). ``None``:
        ``sqrt(degrees)`` on each connected component of ``A``'s graph.
    random_state : None, int, numpy.random.RandomState or numpy.random.Generator
        Seeds the randomised SVD and k-means (``"operator"``) or the column
        sample (``"nystrom"``).

    Returns
    -------
    SpectralMeasure
        ``method="landmark"``; nodes :math:`\sqrt{\mu_k} \in [0, 1]`, ascending,
        weight 1, deterministic; ``n`` is the size of ``A``. ``info``:
        ``landmark_method``, ``n_landmarks``, ``atoms`` (nodes returned),
        ``missing`` (``n - atoms``, left out), ``captured_fraction_t2``
        (``sum(mu) / tr(A^2)``), ``note``, ``timings`` and per-method details.

    Raises
    ------
    ValueError
        If ``n_landmarks`` is not in ``[2, n - 1]``, ``method`` is unknown, or
        ``A`` / ``degrees`` are malformed.

    Examples
    --------
    Two far-apart groups: two eigenvalues 1, so about 1 bit at large ``t``.

    >>> import numpy as np
    >>> from fastdse.operator.build import build_sparse_operator
    >>> from fastdse.spectral.landmark import landmark_measure
    >>> from fastdse.entropy import dse_from_measure
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(size=(200, 2)), 100 + rng.normal(size=(200, 2))])
    >>> A, d, V, _ = build_sparse_operator(X, knn=5, neighbors="exact")
    >>> mu = landmark_measure(A, d, n_landmarks=40, random_state=0)
    >>> mu.info["atoms"], mu.n
    (40, 400)
    >>> round(float(dse_from_measure(mu, np.array([1000.0]))[0][0]), 3)
    1.0
    """
    A, d, V = _check_data(A, degrees, known_vectors)
    n = A.shape[0]
    m = check_int(
        n_landmarks, "n_landmarks", low=2, high=n - 1,
        high_note=f" (fewer landmarks than points; A has n={n}: use mode='exact' for "
                  "all eigenvalues)",
    )
    method = check_choice(method, "method", LANDMARK_METHODS)
    n_svd = check_int(n_svd, "n_svd", low=1)
    return _coarse_measure(A, d, V, m, method, n_svd, check_random_state(random_state))


def landmark_from_operator(A: Any, degrees: Any, known_vectors: Any, *, n_landmarks: int,
                           method: str, rng: np.random.Generator) -> SpectralMeasure:
    """Run :func:`landmark_measure` with validated settings.

    ``2 <= n_landmarks < n`` and a known ``method`` are trusted; the operator,
    degrees and known vectors (data, not settings) are still checked.
    """
    A, d, V = _check_data(A, degrees, known_vectors)
    return _coarse_measure(A, d, V, n_landmarks, method, DEFAULT_N_SVD, rng)


def _check_data(A: Any, degrees: Any, known_vectors: Any
                ) -> tuple[sp.csr_matrix | np.ndarray, np.ndarray, np.ndarray | None]:
    A = _check_landmark_operator(A)
    n = A.shape[0]
    V = check_known_vectors(known_vectors, n)
    if V is None and known_vectors is not None:  # (n, 0) given: none known, none computed
        V = np.empty((n, 0))
    return A, _check_degrees(degrees, n), V


def _coarse_measure(A: Any, d: np.ndarray, V: np.ndarray | None, m: int, method: str,
                    n_svd: int, rng: np.random.Generator) -> SpectralMeasure:
    if method == "operator":
        mu, info = _operator_eigenvalues(A, d, m, n_svd, rng)
    else:
        mu, info = _nystrom_eigenvalues(A, d, m, V, rng)
    return _measure_from_ritz(A, mu, m, method, info)


# =========================================================================== compute


def _frobenius_sq(A: sp.csr_matrix | np.ndarray) -> float:
    """``tr(A^2) = ||A||_F^2`` for a symmetric ``A``."""
    data = A.data if sp.issparse(A) else A.ravel()
    return float(np.dot(data, data))


#: A sparse factor denser than this is multiplied as a dense array (BLAS) in ``B^T B``.
DENSE_GRAM_DENSITY = 0.05


def _gram(B: Any) -> np.ndarray:
    """``B^T B`` as a dense array; dense BLAS when ``B`` is dense or nearly so."""
    if sp.issparse(B):
        if B.nnz <= DENSE_GRAM_DENSITY * B.shape[0] * B.shape[1]:
            return (B.T @ B).toarray()
        B = B.toarray()
    return B.T @ B


def _measure_from_ritz(A: Any, mu: np.ndarray, m: int, method: str,
                       info: dict[str, Any]) -> SpectralMeasure:
    """Nodes ``sqrt(mu)`` (clipped to [0, 1]), weight 1, with the honesty report."""
    n = A.shape[0]
    info["clipped"] = float(max(0.0, -mu.min(), mu.max() - 1.0)) if mu.size else 0.0
    mu = np.clip(np.sort(mu), 0.0, 1.0)
    atoms = int(mu.size)
    captured = float(mu.sum() / _frobenius_sq(A))
    info.update(
        landmark_method=method,
        n_landmarks=m,
        atoms=atoms,
        missing=n - atoms,
        captured_fraction_t2=captured,
        note=NOTE.format(atoms=atoms, n=n, missing=n - atoms, captured=captured),
    )
    return SpectralMeasure(
        nodes=np.sqrt(mu),
        weights=np.ones(atoms),
        probe=np.full(atoms, -1, dtype=np.int64),
        n=n,
        n_probes=0,
        method="landmark",
        info=info,
    )


def _allocate(sizes: np.ndarray, m: int) -> np.ndarray:
    """Clusters per connected component: at least one each, the rest by size."""
    c = sizes.size
    if c >= m:
        return np.ones(c, dtype=np.int64)
    spare = sizes - 1
    quota = (m - c) * spare / spare.sum()
    alloc = 1 + np.floor(quota).astype(np.int64)
    left = m - int(alloc.sum())
    order = np.argsort(-(quota - np.floor(quota)), kind="stable")
    for i in order:
        if left == 0:
            break
        if alloc[i] < sizes[i]:
            alloc[i] += 1
            left -= 1
    return alloc


def _refill_empty(coords: np.ndarray, labels: np.ndarray, m: int) -> tuple[np.ndarray, int]:
    """Exactly ``m`` non-empty clusters: bisect the largest until none is empty.

    Mini-batch k-means can leave clusters empty (many when ``m`` is close to
    ``n``); graphtools drops them. Here the largest cluster is split at the
    median of its projection on its principal axis, as often as needed.
    """
    _, labels = np.unique(labels, return_inverse=True)
    labels = labels.astype(np.int64)
    found = int(labels.max()) + 1
    refilled = m - found
    sizes = np.bincount(labels, minlength=m).astype(np.int64)
    while found < m:
        big = int(np.argmax(sizes))
        rows = np.flatnonzero(labels == big)
        sub = coords[rows] - coords[rows].mean(axis=0)
        axis = np.linalg.svd(sub, full_matrices=False)[2][0]
        order = np.argsort(sub @ axis, kind="stable")
        moved = rows[order[: rows.size // 2]]
        labels[moved] = found
        sizes[big] -= moved.size
        sizes[found] = moved.size
        found += 1
    return labels, refilled


def _kmeans(coords: np.ndarray, m: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """``m`` non-empty clusters of the rows of ``coords`` (seeded mini-batch k-means)."""
    from sklearn.cluster import MiniBatchKMeans

    n = coords.shape[0]
    if m == 1:
        return np.zeros(n, dtype=np.int64), 0
    if m >= n:
        return np.arange(n), 0
    kmeans = MiniBatchKMeans(
        n_clusters=m,
        init_size=min(3 * m, n),
        n_init=1,
        batch_size=min(10_000, n),
        random_state=_seed(rng),
    )
    with warnings.catch_warnings():
        # duplicated points can leave clusters empty; _refill_empty splits others
        warnings.filterwarnings("ignore", message=".*[Nn]umber of distinct clusters")
        labels = kmeans.fit_predict(coords)
    return _refill_empty(coords, labels, m)


def _spectral_clusters(A: Any, d: np.ndarray, m: int, n_svd: int,
                       rng: np.random.Generator) -> tuple[np.ndarray, int, int]:
    """Find graphtools' landmark clusters: k-means on the diffusion coordinates ``P V``.

    Unlike graphtools, k-means runs within each connected component (with
    clusters allotted by size), so that no landmark joins points that the
    diffusion never connects and every eigenvalue 1 is kept; and clusters
    left empty by k-means are refilled (:func:`_refill_empty`), so there are
    exactly ``m`` landmarks (at least one per component).
    """
    from sklearn.utils.extmath import randomized_svd

    n = A.shape[0]
    k = min(n_svd, n - 1)
    _, _, VT = randomized_svd(A, n_components=k, random_state=_seed(rng))
    root = np.sqrt(d)[:, None]
    # P V = D^-1/2 A D^1/2 V
    coords = np.asarray(A @ (root * VT.T)) / root
    n_comp, comp = connected_components(A if sp.issparse(A) else sp.csr_matrix(A),
                                        directed=False)
    if n_comp == 1:
        labels, refilled = _kmeans(coords, m, rng)
        return labels, 1, refilled
    order = np.argsort(comp, kind="stable")
    sizes = np.bincount(comp, minlength=n_comp)
    alloc = _allocate(sizes, m)
    labels = np.empty(n, dtype=np.int64)
    start, offset, refilled = 0, 0, 0
    for size, mc in zip(sizes, alloc):
        rows = order[start:start + size]
        sub_labels, sub_refilled = _kmeans(coords[rows], int(mc), rng)
        labels[rows] = offset + sub_labels
        refilled += sub_refilled
        start += size
        offset += int(mc)
    return labels, int(n_comp), refilled


def _operator_from_labels(A: Any, d: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Eigenvalues of graphtools' landmark operator for a given partition.

    ``Q = D^1/2 C D_m^-1/2`` has orthonormal columns and ``(A Q)^T (A Q)`` is
    similar to ``P_mn P_nm``. Empty clusters are dropped.
    """
    n = A.shape[0]
    _, labels = np.unique(labels, return_inverse=True)
    m = int(labels.max()) + 1
    dm = np.bincount(labels, weights=d, minlength=m)
    vals = np.sqrt(d / dm[labels])
    Q = sp.csr_matrix((vals, (np.arange(n), labels)), shape=(n, m))
    B = A @ Q if sp.issparse(A) else np.asarray((Q.T @ A).T)  # A symmetric: A Q = (Q^T A)^T
    return scipy.linalg.eigvalsh(_gram(B), check_finite=False, driver="evd")


def _operator_eigenvalues(A: Any, d: np.ndarray, m: int, n_svd: int,
                          rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
    t0 = time.perf_counter()
    labels, n_comp, refilled = _spectral_clusters(A, d, m, n_svd, rng)
    t1 = time.perf_counter()
    mu = _operator_from_labels(A, d, labels)
    t2 = time.perf_counter()
    info = {
        "n_svd": min(n_svd, A.shape[0] - 1),
        "n_components": n_comp,
        "refilled_clusters": int(refilled),
        "timings": {"clustering": t1 - t0, "landmark_operator": t2 - t1},
    }
    return mu, info


def _nystrom_eigenvalues(A: Any, d: np.ndarray, m: int, V: np.ndarray | None,
                         rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
    t0 = time.perf_counter()
    n = A.shape[0]
    if V is None:
        _, comp = connected_components(A if sp.issparse(A) else sp.csr_matrix(A),
                                       directed=False)
        V = top_eigenvectors(d, comp)
    c = V.shape[1]
    n_sample = max(m - c, 0)
    cols = np.sort(rng.choice(n, size=n_sample, replace=False))
    if sp.issparse(A):
        C = sp.hstack([sp.csr_matrix(V), A[:, cols]], format="csr")
    else:
        C = np.hstack([V, A[:, cols]])
    G = _gram(C)  # (A^2)_SS on the sampled part
    H = _gram(A @ C)  # C^T A^2 C
    # Rayleigh-Ritz of A^2 on span(C), through the eigenbasis of the Gram matrix G
    g, W = scipy.linalg.eigh(G, check_finite=False, driver="evd")
    keep = g > NYSTROM_RCOND * g.max()
    T = W[:, keep] / np.sqrt(g[keep])
    core = T.T @ H @ T
    mu = scipy.linalg.eigvalsh((core + core.T) * 0.5, check_finite=False, driver="evd")
    info = {
        "sampled_columns": int(n_sample),
        "known_vectors": int(c),
        "rank": int(keep.sum()),
        "rcond": NYSTROM_RCOND,
        "timings": {"nystrom": time.perf_counter() - t0},
    }
    return mu, info
