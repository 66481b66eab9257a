"""The mutual informations of :mod:`fastdse.compat`, diffusion and adjacency.

Both follow the reference's two steps: assign every point to a class (labels, binned
scalars or spectral clusters of the reference variable, :func:`_as_clusters`), then
weigh, per class, the mean entropy of random class-sized subsets minus the entropy of
the class (:func:`_mutual_information`), with the entropies of :mod:`._compute`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import numpy as np

from fastdse._util.validation import check_int
from fastdse.compat._common import check_embedding, check_flag, check_seed, check_sigma, check_t
from fastdse.compat._compute import adjacency_entropy, diffusion_entropy

__all__ = ["diffusion_spectral_mutual_information", "adjacency_spectral_mutual_information"]

#: Inner entropy calls of the reference's mutual information use the entropy
#: functions' defaults: ``max_N=10000`` and ``random_seed=0``.
_INNER_MAX_N = 10000
_INNER_SEED = 0

#: The reference's adjacency mutual information calls the entropy with knn = 10.
_INNER_KNN = 10


def diffusion_spectral_mutual_information(
    embedding_vectors: np.ndarray,
    reference_vectors: np.ndarray,
    reference_discrete: bool | None = None,
    gaussian_kernel_sigma: float = 10,
    t: float = 1,
    chebyshev_approx: bool = False,
    num_repetitions: int = 5,
    n_clusters: int = 10,
    precomputed_clusters: np.ndarray | None = None,
    classic_shannon_entropy: bool = False,
    matrix_entry_entropy: bool = False,
    num_bins_per_dim: int = 2,
    random_seed: int | None = 0,
    verbose: bool = False,
) -> tuple[np.float64, np.ndarray]:
    r"""Diffusion Spectral Mutual Information, as ``dse_dsmi`` (1.1).

    .. math::

        \mathrm{DSMI}(A; B) = \sum_i p(B = b_i)
            \left[\overline{\mathrm{DSE}}(A^*_i) - \mathrm{DSE}(A \mid B = b_i)\right],

    where :math:`A^*_i` are ``num_repetitions`` random subsets of the embeddings
    of the size of class :math:`b_i` (drawn after re-seeding with
    ``random_seed`` for every class) and the bar is their mean. Each entropy is
    :func:`diffusion_spectral_entropy` with its defaults for ``max_N`` (10000) and
    ``random_seed`` (0), like the reference (so a class or subset of more than
    10,000 points is subsampled, and re-seeds the draws to 0).

    Parameters
    ----------
    embedding_vectors : array-like of shape (N, D)
        Points.
    reference_vectors : array-like of shape (N,) or (N, D')
        Class labels, continuous scalars (binned into ``n_clusters`` equal bins
        after min-max scaling) or vectors (clustered with scikit-learn
        ``SpectralClustering(n_clusters, affinity='nearest_neighbors',
        assign_labels='cluster_qr', random_state=0)``).
    reference_discrete : bool, optional
        Whether ``reference_vectors`` are labels; inferred (integer dtype and one
        column) when None. True requires one column.
    gaussian_kernel_sigma : float, default 10
        Passed to every entropy, see :func:`diffusion_spectral_entropy`.
    t : float, default 1
        Passed to every entropy.
    chebyshev_approx : bool, default False
        Passed to every entropy (draws from NumPy's global generator).
    num_repetitions : int, default 5
        Random subsets per class, at least 1.
    n_clusters : int, default 10
        Bins or clusters of a continuous reference.
    precomputed_clusters : array-like of shape (N,) or (N, 1), optional
        Cluster labels to use for a non-discrete reference (skips the binning or
        clustering).
    classic_shannon_entropy : bool, default False
        Use the binned Shannon entropy in every term (CSMI instead of DSMI).
    matrix_entry_entropy : bool, default False
        Use the entropy of the diffusion matrix entries in every term.
    num_bins_per_dim : int, default 2
        Bins per feature for ``classic_shannon_entropy``.
    random_seed : int or None, default 0
        Seed of the subset draws.
    verbose : bool, default False
        Accepted for compatibility. The reference prints only a warning about
        inputs of different lengths (an error here); like it, the inner entropy
        calls print nothing.

    Returns
    -------
    mutual_information : float
        In bits (``numpy.float64``).
    clusters : numpy.ndarray
        The class of every point, as the reference returns it: the labels with
        shape (N, 1) for a discrete reference, the bins with shape (N, 1) for a
        scalar one, the spectral-clustering labels with shape (N,), or
        ``precomputed_clusters`` as given.

    Raises
    ------
    ValueError, TypeError
        For invalid arguments, e.g. embeddings and reference of different lengths
        (the reference only prints a warning, then fails with an IndexError).

    Notes
    -----
    The global ``random`` state is never touched: a local generator replays the
    reference's draws, including its re-seeding. Warnings from scikit-learn's
    clustering are not silenced (the reference silences all warnings on import).

    Examples
    --------
    >>> import numpy as np
    >>> from fastdse.compat import diffusion_spectral_mutual_information
    >>> rng = np.random.default_rng(0)
    >>> labels = rng.integers(0, 2, 120)
    >>> X = rng.normal(size=(120, 4)) + 4.0 * labels[:, None]
    >>> mi, clusters = diffusion_spectral_mutual_information(
    ...     X, labels, gaussian_kernel_sigma=1.0, num_repetitions=2)
    >>> clusters.shape
    (120, 1)
    >>> bool(mi > 0)
    True
    """
    X, reference_discrete, num_repetitions, n_clusters, random_seed, verbose = (
        _check_mi_common(
            embedding_vectors, reference_discrete, num_repetitions, n_clusters, random_seed,
            verbose,
        )
    )
    sigma = check_sigma(gaussian_kernel_sigma)
    t = check_t(t)
    chebyshev_approx = check_flag(chebyshev_approx, "chebyshev_approx")
    classic_shannon_entropy = check_flag(classic_shannon_entropy, "classic_shannon_entropy")
    matrix_entry_entropy = check_flag(matrix_entry_entropy, "matrix_entry_entropy")
    num_bins_per_dim = check_int(num_bins_per_dim, "num_bins_per_dim", low=1)
    no_precision = np.dtype(np.float64)  # unused: inner calls never save

    clusters = _as_clusters(
        reference_vectors, reference_discrete, n_clusters, precomputed_clusters, X.shape[0]
    )

    def entropy(points: np.ndarray, rng: random.Random) -> np.float64:
        return diffusion_entropy(
            points, sigma, t, _INNER_MAX_N, chebyshev_approx, None, no_precision,
            classic_shannon_entropy, matrix_entry_entropy, num_bins_per_dim, _INNER_SEED,
            False, rng,
        )

    mi = _mutual_information(X, clusters, num_repetitions, random_seed, entropy)
    return mi, clusters


def adjacency_spectral_mutual_information(
    embedding_vectors: np.ndarray,
    reference_vectors: np.ndarray,
    reference_discrete: bool | None = None,
    gaussian_kernel_sigma: float = 10,
    use_knn: bool = False,
    anisotropic: bool = False,
    num_repetitions: int = 5,
    n_clusters: int = 10,
    precomputed_clusters: np.ndarray | None = None,
    random_seed: int | None = 0,
    verbose: bool = False,
) -> tuple[np.float64, np.ndarray]:
    r"""Adjacency spectral mutual information, as ``dse_dsmi`` (1.1).

    :func:`diffusion_spectral_mutual_information` with
    :func:`adjacency_spectral_entropy` in place of the diffusion entropy (its
    defaults: ``knn=10``, ``max_N=10000``, ``random_seed=0``).

    Parameters
    ----------
    embedding_vectors : array-like of shape (N, D)
        Points.
    reference_vectors : array-like of shape (N,) or (N, D')
        Labels, scalars or vectors, as in
        :func:`diffusion_spectral_mutual_information`.
    reference_discrete : bool, optional
        Whether ``reference_vectors`` are labels; inferred when None.
    gaussian_kernel_sigma : float, default 10
        Passed to every entropy, see :func:`adjacency_spectral_entropy`.
    use_knn : bool, default False
        Binarised kNN adjacency (knn = 10) in every term; every class then needs
        at least 10 points.
    anisotropic : bool, default False
        Degree-normalised Gaussian adjacency in every term.
    num_repetitions : int, default 5
        Random subsets per class, at least 1.
    n_clusters : int, default 10
        Bins or clusters of a continuous reference.
    precomputed_clusters : array-like of shape (N,) or (N, 1), optional
        Cluster labels to use for a non-discrete reference.
    random_seed : int or None, default 0
        Seed of the subset draws.
    verbose : bool, default False
        Accepted for compatibility. The reference prints only a warning about
        inputs of different lengths (an error here); like it, the inner entropy
        calls print nothing.

    Returns
    -------
    mutual_information : float
        In bits (``numpy.float64``).
    clusters : numpy.ndarray
        As in :func:`diffusion_spectral_mutual_information`.

    Raises
    ------
    ValueError, TypeError
        For invalid arguments.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdse.compat import adjacency_spectral_mutual_information
    >>> rng = np.random.default_rng(0)
    >>> labels = rng.integers(0, 2, 120)
    >>> X = rng.normal(size=(120, 4)) + 4.0 * labels[:, None]
    >>> mi, clusters = adjacency_spectral_mutual_information(
    ...     X, labels, gaussian_kernel_sigma=1.0, anisotropic=True, num_repetitions=2)
    >>> bool(mi > 0)
    True
    """
    X, reference_discrete, num_repetitions, n_clusters, random_seed, verbose = (
        _check_mi_common(
            embedding_vectors, reference_discrete, num_repetitions, n_clusters, random_seed,
            verbose,
        )
    )
    sigma = check_sigma(gaussian_kernel_sigma)
    use_knn = check_flag(use_knn, "use_knn")
    anisotropic = check_flag(anisotropic, "anisotropic")
    no_precision = np.dtype(np.float64)  # unused: inner calls never save

    clusters = _as_clusters(
        reference_vectors, reference_discrete, n_clusters, precomputed_clusters, X.shape[0]
    )

    def entropy(points: np.ndarray, rng: random.Random) -> np.float64:
        return adjacency_entropy(
            points, sigma, anisotropic, use_knn, _INNER_KNN, _INNER_MAX_N, None,
            no_precision, _INNER_SEED, False, rng, where=" of a class or class-sized subset",
        )

    mi = _mutual_information(X, clusters, num_repetitions, random_seed, entropy)
    return mi, clusters


# ---------------------------------------------------------------------------
# checks and the two steps (validated input)
# ---------------------------------------------------------------------------


def _check_mi_common(
    embedding_vectors: Any,
    reference_discrete: Any,
    num_repetitions: Any,
    n_clusters: Any,
    random_seed: Any,
    verbose: Any,
) -> tuple[np.ndarray, bool | None, int, int, int | None, bool]:
    """Check the arguments both mutual informations share, in the order of their signature."""
    X = check_embedding(embedding_vectors)
    if reference_discrete is not None:
        reference_discrete = check_flag(reference_discrete, "reference_discrete")
    num_repetitions = check_int(num_repetitions, "num_repetitions", low=1)
    n_clusters = check_int(n_clusters, "n_clusters", low=1)
    random_seed = check_seed(random_seed)
    verbose = check_flag(verbose, "verbose")
    return X, reference_discrete, num_repetitions, n_clusters, random_seed, verbose


def _as_clusters(
    reference_vectors: Any,
    reference_discrete: bool | None,
    n_clusters: int,
    precomputed_clusters: Any,
    n: int,
) -> np.ndarray:
    """Assign the reference variable to clusters as the reference does (STEP 1)."""
    ref = _reference_array(reference_vectors, n)
    d_ref = ref.shape[1]
    if reference_discrete is None:
        reference_discrete = d_ref == 1 and np.issubdtype(ref.dtype, np.integer)

    if reference_discrete:
        if d_ref != 1:
            raise ValueError(
                "reference_discrete=True needs class labels of shape (N,) or (N, 1); got "
                f"reference_vectors of shape {ref.shape}"
            )
        return ref

    if precomputed_clusters is not None:
        clusters = np.asarray(precomputed_clusters)
        if clusters.ndim == 0 or clusters.shape[0] != n or clusters.size != n:
            raise ValueError(
                "precomputed_clusters must hold one label per embedding vector, with shape "
                f"({n},) or ({n}, 1); got an array of shape {clusters.shape}"
            )
        return clusters

    return _continuous_clusters(ref, n_clusters)


def _reference_array(reference_vectors: Any, n: int) -> np.ndarray:
    """``reference_vectors`` as an array of shape (n, D'), a 1-D one as one column."""
    ref = np.asarray(reference_vectors)
    if ref.ndim == 1:
        ref = ref.reshape(ref.shape[0], 1)
    if ref.ndim != 2:
        raise ValueError(
            "reference_vectors must have shape (N,) or (N, D'); got an array of shape "
            f"{ref.shape}"
        )
    if ref.shape[0] != n:
        raise ValueError(
            "reference_vectors must have one row per row of embedding_vectors; got "
            f"{ref.shape[0]} rows for {n} embedding vectors"
        )
    return ref


def _continuous_clusters(ref: np.ndarray, n_clusters: int) -> np.ndarray:
    """Bin a continuous scalar reference, or spectrally cluster a multi-column one."""
    if ref.dtype == object or ref.dtype == np.bool_ or not np.issubdtype(ref.dtype, np.number):
        raise TypeError(
            "continuous reference_vectors must be integer or floating; got dtype "
            f"{ref.dtype}. Pass reference_discrete=True for class labels."
        )
    if np.issubdtype(ref.dtype, np.complexfloating):
        raise TypeError(f"reference_vectors must be real-valued; got dtype {ref.dtype}")
    if not np.isfinite(ref).all():
        raise ValueError("reference_vectors contains NaN or infinite values")

    if ref.shape[1] == 1:
        # Scalar binning into n_clusters bins. A constant reference gives 0 / 0 = NaN
        # in the reference (silenced globally there, locally here); NaN falls in bin
        # n_clusters, so every point lands in one class.
        with np.errstate(divide="ignore", invalid="ignore"):
            lo = np.min(ref, axis=0)
            scaled = (ref - lo) / (np.max(ref, axis=0) - lo)
        edges = np.linspace(0, 1, n_clusters + 1)[:-1]
        return np.digitize(scaled, bins=edges)

    from sklearn.cluster import SpectralClustering

    model = SpectralClustering(
        n_clusters=n_clusters,
        affinity="nearest_neighbors",
        assign_labels="cluster_qr",
        random_state=0,
    )
    return model.fit(ref).labels_


def _mutual_information(
    X: np.ndarray,
    clusters: np.ndarray,
    num_repetitions: int,
    random_seed: int | None,
    entropy: Callable[[np.ndarray, random.Random], np.float64],
) -> np.float64:
    """Compute the reference's STEP 2: per class, subset entropy minus class entropy, weighted.

    ``rng`` stands for the reference's global ``random`` state: it is re-seeded
    with ``random_seed`` before each class, and the inner entropy calls re-seed it
    to 0 when they subsample more than 10,000 points.
    """
    labels, counts = np.unique(clusters, return_counts=True)
    n_total = clusters.shape[0]
    rng = random.Random()
    terms = []
    for label in labels:
        in_class = clusters == label
        h_given = entropy(X[in_class.reshape(-1), :], rng)
        if random_seed is not None:
            rng.seed(random_seed)
        k = int(np.sum(in_class))
        reps = []
        for _ in range(num_repetitions):
            rows = np.array(rng.sample(range(n_total), k=k))
            reps.append(entropy(X[rows, :], rng))
        terms.append(np.mean(reps) - h_given)
    return np.sum(counts / np.sum(counts) * np.array(terms))
