"""The sparse diffusion operator of a point cloud: neighbours -> kernel -> normalisation.

The first stage of ``mode="approx"`` and ``mode="landmark"``, three steps:
the kernel (:func:`fastdse.operator.sparse_kernel.compute_sparse_affinity`:
neighbour search, widening to the threshold radius, kernel rows,
symmetrisation), its normalisation in place
(:func:`fastdse.operator.normalize.normalize_sparse_arrays`), and the connected
components, whose eigenvectors of eigenvalue 1 are known in closed form.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from fastdse._util.inputs import check_points
from fastdse._util.stages import peak_rss
from fastdse._util.threads import numba_threads
from fastdse._util.validation import check_float, check_random_state
from fastdse.operator.kernel import check_sparse_params
from fastdse.operator.normalize import normalize_sparse_arrays, top_eigenvectors
from fastdse.operator.sparse_kernel import SparseParams, compute_sparse_affinity

if TYPE_CHECKING:
    from fastdse.settings import Resolved, Settings

__all__ = ["build_sparse_operator", "operator_from_settings"]


def build_sparse_operator(
    X: Any,
    *,
    kernel: str = "alpha_decay",
    knn: int = 5,
    decay: float = 40.0,
    sigma: float | None = None,
    thresh: float | None = None,
    anisotropy: float = 0.0,
    neighbors: str = "auto",
    max_neighbors: int | None = None,
    random_state: Any = None,
    n_jobs: int | None = None,
    **pynndescent_params: Any,
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, dict[str, Any]]:
    """Build the sparse symmetric diffusion operator of a point cloud, for ``mode="approx"``.

    Runs neighbours -> :func:`fastdse.operator.kernel.sparse_affinity` ->
    :func:`fastdse.operator.normalize.normalize_sparse` (in place) -> connected
    components.

    Parameters
    ----------
    X : array-like of shape (n, d)
    kernel, knn, decay, sigma, thresh, neighbors, max_neighbors, random_state, n_jobs
        As in :func:`fastdse.operator.kernel.sparse_affinity` (``thresh=None``: 1e-4).
    anisotropy : float in [0, 1], default 0
    **pynndescent_params
        Passed to ``NNDescent``.

    Returns
    -------
    A : scipy.sparse.csr_matrix of shape (n, n), float64
        ``D^-1/2 K_alpha D^-1/2``, symmetric, eigenvalues in [-1, 1].
    degrees : numpy.ndarray of shape (n,)
        Degrees of the anisotropy-corrected kernel.
    known_vectors : numpy.ndarray of shape (n, c)
        Orthonormal eigenvectors of eigenvalue 1, one per connected component
        (:func:`fastdse.operator.normalize.top_eigenvectors`): deflate them for free.
    info : dict
        ``kernel``, ``thresh``, ``neighbors`` (method used), ``n_components``,
        ``nnz``, truncation report (``truncated_rows``, ``dropped_mass_fraction``,
        ``max_row_dropped_fraction``), widening (``rounds``, ``widened_rows``,
        ``max_neighbors``), ``bandwidth`` (alpha-decay) and ``timings``.
    """
    X = check_points(X, "X")
    p = check_sparse_params(X.shape[0], kernel, knn, decay, sigma, thresh, neighbors,
                            max_neighbors, n_jobs)
    anisotropy = check_float(anisotropy, "anisotropy", low=0.0, high=1.0)
    return _assemble(X, p, anisotropy, check_random_state(random_state), pynndescent_params)


def operator_from_settings(X: np.ndarray, settings: Settings, resolved: Resolved,
                           rng: np.random.Generator
                           ) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, dict[str, Any]]:
    """:func:`build_sparse_operator` for a graph's validated points and settings.

    The sparse kernel's threshold is ``resolved.sparse_thresh`` (1e-4 when none
    was given, for both kernels: the dense Gaussian's default of 0 keeps every pair).
    """
    params = SparseParams(kernel=settings.kernel, knn=resolved.knn, decay=settings.decay,
                          sigma=resolved.sigma, thresh=resolved.sparse_thresh,
                          method=settings.neighbors, max_neighbors=None,
                          n_jobs=settings.n_jobs)
    return _assemble(X, params, settings.anisotropy, rng, {})


def _assemble(X: np.ndarray, p: SparseParams, anisotropy: float, rng: np.random.Generator,
              pynndescent_params: dict[str, Any]
              ) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, dict[str, Any]]:
    """Kernel, normalisation and components from validated parameters ``p``."""
    t0 = time.perf_counter()
    K, info = compute_sparse_affinity(X, p, rng, pynndescent_params)
    t1 = time.perf_counter()
    peaks = {**info.get("peak_rss", {}), "kernel": peak_rss()}
    with numba_threads(p.n_jobs):
        degrees = normalize_sparse_arrays(K.indptr, K.indices, K.data, anisotropy)
    # K is symmetric (entries and pattern): its strongly connected components are its
    # components, found without the transpose that directed=False builds (4x faster)
    n_comp, labels = connected_components(K, directed=True, connection="strong")
    V = top_eigenvectors(degrees, labels)
    t2 = time.perf_counter()
    info["peak_rss"] = {**peaks, "normalize": peak_rss()}
    info.update(kernel=p.kernel, thresh=p.thresh, sigma=p.sigma, decay=p.decay, knn=p.knn,
                anisotropy=anisotropy, n_components=int(n_comp),
                timings={"kernel": t1 - t0, "normalize": t2 - t1})
    return K, degrees, V, info
