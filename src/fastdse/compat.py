r"""Drop-in replacements for the public functions of ``dse-dsmi`` 1.1.

:func:`diffusion_spectral_entropy`, :func:`adjacency_spectral_entropy`,
:func:`diffusion_spectral_mutual_information` and
:func:`adjacency_spectral_mutual_information` take the same arguments (names,
order, defaults) as the reference package and return the same numbers (the tests
demand ``1e-9`` relative; typically ``1e-15``) and the same types, including the
reference's quirks:

- ``np.finfo(float).eps`` is added to every probability before the entropy
  :math:`-\sum_i p_i \log_2 p_i` is taken (bits);
- the Gaussian kernel is the fixed-bandwidth
  :math:`\exp(-|x_i - x_j|^2 / 2\sigma^2)` and the diffusion operator is the plain
  random walk :math:`D^{-1} K` (anisotropy 0), whose eigenvalues are those of
  :math:`D^{-1/2} K D^{-1/2}`;
- ``max_N`` subsampling draws ``random.sample(range(n), k=max_N)`` after
  ``random.seed(random_seed)``, with Python's Mersenne Twister;
- with ``eigval_save_path``, eigenvalues are saved at ``eigval_save_precision``
  and the first run already uses the down-cast values;
- the mutual information re-seeds before each class, and an inner entropy call
  on more than 10,000 points re-seeds to 0 (which changes the later draws).

What differs, on purpose:

- No global side effects: importing this module changes no warning filter and
  imports no plotting library; the functions never touch the global ``random``
  state (a local :class:`random.Random` replays the reference's draws). Only
  ``chebyshev_approx=True`` uses global state: like the reference, it draws its
  probe vectors from NumPy's legacy global generator (``np.random.randn``), so
  ``np.random.seed`` makes it reproducible. Warnings the reference silences
  globally (0/0 while scaling a constant column) are avoided locally.
- Bad input raises ``ValueError`` or ``TypeError`` naming the parameter (the
  reference prints a warning for inputs of different lengths, then fails with an
  ``IndexError``, and asserts on discrete multi-column references).
- ``eigval_save_path`` may have no directory part (the reference crashes on
  ``os.makedirs('')``) and cached files are loaded with ``allow_pickle=False``.
- Everything is computed in float64 (the reference computes float32 input in
  float32); with ``random_seed=None`` the draws come from a fresh, OS-seeded
  generator instead of the continuing global ``random`` state.
- The dense path is fastdse's: one n x n array, built, normalised and
  diagonalised in place (no n x n diagonal matrices, no ``Deg @ G @ Deg``).
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse
from numpy.typing import DTypeLike

from fastdse._numba import dense as _dense_jit
from fastdse._util.inputs import check_points
from fastdse._util.memory import available_memory, dense_bytes_needed, format_bytes
from fastdse._util.validation import check_float, check_int, describe
from fastdse.operator.kernel import dense_affinity
from fastdse.operator.normalize import normalize_dense_inplace
from fastdse.shannon import _cell_counts
from fastdse.spectral.dense import dense_eigenvalues

__all__ = [
    "diffusion_spectral_entropy",
    "adjacency_spectral_entropy",
    "diffusion_spectral_mutual_information",
    "adjacency_spectral_mutual_information",
]

#: The reference adds this to every probability before taking the entropy.
_EPS = np.finfo(float).eps

#: Inner entropy calls of the reference's mutual information use the entropy
#: functions' defaults: ``max_N=10000`` and ``random_seed=0``.
_INNER_MAX_N = 10000
_INNER_SEED = 0

#: Parameters of the reference's Chebyshev spectral-density estimate.
_CHEB_FILTER = 1e-3
_CHEB_PROBES = 100
_CHEB_MOMENTS = 50
_CHEB_POINTS = 1001

#: The reference's adjacency mutual information calls the entropy with knn = 10.
_INNER_KNN = 10


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------


def _check_flag(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {describe(value)}")
    return bool(value)


def _check_seed(value: Any, name: str = "random_seed") -> int | None:
    if value is None:
        return None
    return check_int(value, name)


def _check_max_n(value: Any) -> int | None:
    if value is None:
        return None
    return check_int(value, "max_N", low=1)


def _check_t(value: Any) -> Any:
    # validate, but keep the caller's object: the reference computes
    # ``eigvals ** t`` and the dtype of that power depends on the type of t
    check_float(value, "t", low=0.0, low_open=True)
    return value


def _check_sigma(value: Any) -> float:
    return check_float(value, "gaussian_kernel_sigma", low=0.0, low_open=True)


def _check_save(path: Any, precision: Any) -> tuple[str | None, np.dtype]:
    if path is not None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(
                f"eigval_save_path must be None, a str or an os.PathLike; got {describe(path)}"
            )
        path = os.fspath(path)
        if not isinstance(path, str):
            raise TypeError(f"eigval_save_path must be a text path; got {path!r}")
        if path == "":
            raise ValueError("eigval_save_path must be None or a non-empty path; got ''")
    try:
        dtype = np.dtype(precision)
    except TypeError as exc:
        raise TypeError(
            "eigval_save_precision must be a floating-point dtype such as np.float16 or "
            f"np.float64; got {describe(precision)}"
        ) from exc
    if dtype.kind != "f":
        raise ValueError(
            "eigval_save_precision must be a real floating-point dtype such as np.float16 "
            f"or np.float64; got {dtype}"
        )
    return path, dtype


def _check_embedding(X: Any, name: str = "embedding_vectors") -> np.ndarray:
    return check_points(X, name, min_points=1)


def _check_dense_size(n: int, d: int, what: str) -> None:
    need = dense_bytes_needed(n, d)
    have = available_memory()
    if need > 0.9 * have:
        raise ValueError(
            f"{what} builds a dense {n} x {n} matrix like the reference: about "
            f"{format_bytes(need)} for n={n}, but only {format_bytes(have)} is available. "
            "Lower max_N, or use fastdse.dse(..., mode='approx') for large n."
        )


# ---------------------------------------------------------------------------
# shared computations (validated input)
# ---------------------------------------------------------------------------


def _say(verbose: bool, message: str) -> None:
    if verbose:
        print(message)


def _subsample(
    X: np.ndarray | None, max_N: int | None, random_seed: int | None, rng: random.Random
) -> np.ndarray | None:
    """Subsample to ``max_N`` rows as the reference does, drawing from ``rng``, not ``random``."""
    if max_N is not None and X is not None and X.shape[0] > max_N:
        if random_seed is not None:
            rng.seed(random_seed)
        rows = np.array(rng.sample(range(X.shape[0]), k=max_N))
        X = X[rows, :]
    return X


def _entropy_bits(prob: np.ndarray) -> np.float64:
    """``-sum p log2 p`` after adding float eps to every probability, as the reference."""
    prob = prob + _EPS
    return -np.sum(prob * np.log2(prob))


def _spectral_prob(eigvals: np.ndarray, t: Any = 1) -> np.ndarray:
    """``|lambda|^t`` normalised to sum 1, in the dtype the eigenvalues come in."""
    eigvals = np.abs(eigvals)
    if t is not None:
        eigvals = eigvals**t
    return eigvals / eigvals.sum()


def _load_eigvals(path: str) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as archive:
            eigvals = archive["eigvals"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(
            f"eigval_save_path {path!r} exists but is not an .npz archive with an 'eigvals' "
            f"array ({type(exc).__name__}: {exc}); delete it or pass another path"
        ) from exc
    return eigvals.astype(np.float64)


def _save_eigvals(
    path: str, eigvals: np.ndarray, precision: np.dtype, verbose: bool
) -> np.ndarray:
    """Down-cast, save as ``eigvals`` in an npz at exactly ``path``; return the cast values."""
    if np.iscomplexobj(eigvals):
        # the reference's astype drops the imaginary part (with a ComplexWarning it hides)
        eigvals = eigvals.real
    eigvals = eigvals.astype(precision)
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    with open(path, "wb") as fh:  # a file object: np.savez must not append ".npz"
        np.savez(fh, eigvals=eigvals)
    _say(verbose, f"Eigenvalues saved to {path}")
    return eigvals


def _diffusion_operator(X: np.ndarray, sigma: float) -> np.ndarray:
    """``D^-1/2 K D^-1/2`` of the Gaussian kernel, built in one n x n array.

    The reference's kernel carries the constant ``1 / (sigma sqrt(2 pi))``; it
    cancels in the normalisation, so it is left out.
    """
    K = dense_affinity(X, "gaussian", sigma=sigma, thresh=0.0)
    normalize_dense_inplace(K, 0.0)
    return K


def _chebyshev_eigenvalues(K: np.ndarray) -> np.ndarray:
    """Rebuild the eigenvalues from a Chebyshev density, as the reference's ``approx_eigvals``.

    ``K`` is overwritten. Entries below 1e-3 in magnitude are dropped, 50
    Chebyshev moments ``tr T_k(K)`` are estimated with 100 Rademacher probes from
    NumPy's global legacy generator (as the reference does), the cumulative
    density is evaluated on 1001 points of ``(-1, 1)``, and each point is repeated
    ``round(n * mass)`` times.
    """
    n = K.shape[0]
    K[np.abs(K) < _CHEB_FILTER] = 0.0
    A = scipy.sparse.csr_matrix(K)
    del K
    V = np.sign(np.random.randn(n, _CHEB_PROBES))  # noqa: NPY002 - reference parity
    moments = np.empty((_CHEB_MOMENTS, _CHEB_PROBES))
    prev = V
    cur = A @ V
    moments[0] = np.sum(V * prev, axis=0)
    moments[1] = np.sum(V * cur, axis=0)
    for k in range(2, _CHEB_MOMENTS):
        nxt = 2 * (A @ cur) - prev
        prev, cur = cur, nxt
        moments[k] = np.sum(V * cur, axis=0)
    c = np.mean(moments, axis=1)

    grid = np.linspace(-1 + 1e-8, 1 - 1e-8, _CHEB_POINTS)
    theta = np.arccos(grid)
    cdf = c[0] * (theta - np.pi) / 2
    for k in range(1, _CHEB_MOMENTS):
        cdf += c[k] * np.sin(k * theta) / k
    cdf *= -2 / np.pi

    pdf = np.zeros_like(cdf)
    pdf[:-1] = np.diff(cdf)
    counts = np.round(n * pdf / np.sum(pdf))
    keep = counts > 0
    return np.repeat(grid[keep], counts[keep].astype(np.int64))


def _knn_adjacency(X: np.ndarray, knn: int) -> np.ndarray:
    """Build the reference's binarised kNN adjacency: 1 where ``d_ij`` <= row i's knn-th distance.

    Self counts as a neighbour (distance 0) and ties are all kept, so rows may
    hold more than ``knn`` ones and ``A`` is in general not symmetric.
    """
    from sklearn.metrics import pairwise_distances  # same distances as the reference

    D = pairwise_distances(X)
    kth = _dense_jit.kth_smallest_per_row(D, knn - 1)
    np.copyto(D, D <= kth[:, None])  # 0 / 1 in place of the distances
    return D


def _dse(
    X: np.ndarray | None,
    sigma: float,
    t: Any,
    max_N: int | None,
    chebyshev_approx: bool,
    save_path: str | None,
    save_precision: np.dtype,
    classic_shannon_entropy: bool,
    matrix_entry_entropy: bool,
    num_bins_per_dim: int,
    random_seed: int | None,
    verbose: bool,
    rng: random.Random,
) -> np.float64:
    X = _subsample(X, max_N, random_seed, rng)

    if classic_shannon_entropy:
        assert X is not None  # None only comes with an existing eigenvalue file
        _say(verbose, "Computing Classic Shannon Entropy...")
        counts = _cell_counts(X, num_bins_per_dim)
        return _entropy_bits(counts / np.sum(counts))

    _say(verbose, "Computing Diffusion Spectral Entropy...")
    if matrix_entry_entropy:
        assert X is not None  # None only comes with an existing eigenvalue file
        _check_dense_size(X.shape[0], X.shape[1], what="diffusion_spectral_entropy")
        P = _diffusion_operator(X, sigma)
        P *= (1.0 / P.sum(axis=1))[:, None]  # row-stochastic P = D^-1 K of the reference
        np.abs(P, out=P)
        P /= P.sum()
        P += _EPS
        plogp = np.log2(P)
        plogp *= P
        return -np.sum(plogp)

    if save_path is not None and os.path.exists(save_path):
        _say(verbose, f"Loading pre-computed eigenvalues from {save_path}")
        eigvals = _load_eigvals(save_path)
    else:
        assert X is not None  # None only comes with an existing eigenvalue file
        _check_dense_size(X.shape[0], X.shape[1], what="diffusion_spectral_entropy")
        K = _diffusion_operator(X, sigma)
        if chebyshev_approx:
            _say(verbose, "Using Chebyshev approximation.")
            eigvals = _chebyshev_eigenvalues(K)
        else:
            eigvals = dense_eigenvalues(K, overwrite=True)
        del K
        if save_path is not None:
            eigvals = _save_eigvals(save_path, eigvals, save_precision, verbose)
    return _entropy_bits(_spectral_prob(eigvals, t))


def _ase(
    X: np.ndarray | None,
    sigma: float,
    anisotropic: bool,
    use_knn: bool,
    knn: int,
    max_N: int | None,
    save_path: str | None,
    save_precision: np.dtype,
    random_seed: int | None,
    verbose: bool,
    rng: random.Random,
    where: str = "",
) -> np.float64:
    X = _subsample(X, max_N, random_seed, rng)

    if save_path is not None and os.path.exists(save_path):
        _say(verbose, f"Loading pre-computed eigenvalues from {save_path}")
        eigvals = _load_eigvals(save_path)
    else:
        assert X is not None  # None only comes with an existing eigenvalue file
        n = X.shape[0]
        _check_dense_size(n, X.shape[1], what="adjacency_spectral_entropy")
        if use_knn:
            if knn > n:
                raise ValueError(
                    f"knn must be <= the number of points{where} ({n}); got {knn}"
                )
            A = _knn_adjacency(X, knn)
            if np.array_equal(A, A.T):
                eigvals = dense_eigenvalues(A, overwrite=True)
            else:
                # like the reference: a general eigensolver, complex eigenvalues
                eigvals = np.linalg.eigvals(A)
        else:
            G = dense_affinity(X, "gaussian", sigma=sigma, thresh=0.0)
            if anisotropic:
                # D^-1/2 G D^-1/2: the Gaussian constant cancels
                normalize_dense_inplace(G, 0.0)
                eigvals = dense_eigenvalues(G, overwrite=True)
            else:
                # The reference's G carries 1 / (sigma sqrt(2 pi)). The probabilities do
                # not depend on it, but the saved eigenvalues (and their float16
                # rounding) do, so scale the eigenvalues, not the n x n matrix.
                scale = 1 / (sigma * np.sqrt(2 * np.pi))
                eigvals = dense_eigenvalues(G, overwrite=True) * scale
        if save_path is not None:
            eigvals = _save_eigvals(save_path, eigvals, save_precision, verbose)
    return _entropy_bits(_spectral_prob(eigvals, None))


def _as_clusters(
    reference_vectors: Any,
    reference_discrete: bool | None,
    n_clusters: int,
    precomputed_clusters: Any,
    n: int,
) -> np.ndarray:
    """Assign the reference variable to clusters as the reference does (STEP 1)."""
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

    if ref.dtype == object or ref.dtype == np.bool_ or not np.issubdtype(ref.dtype, np.number):
        raise TypeError(
            "continuous reference_vectors must be integer or floating; got dtype "
            f"{ref.dtype}. Pass reference_discrete=True for class labels."
        )
    if np.issubdtype(ref.dtype, np.complexfloating):
        raise TypeError(f"reference_vectors must be real-valued; got dtype {ref.dtype}")
    if not np.isfinite(ref).all():
        raise ValueError("reference_vectors contains NaN or infinite values")

    if d_ref == 1:
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


# ---------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------


def diffusion_spectral_entropy(
    embedding_vectors: np.ndarray | None,
    gaussian_kernel_sigma: float = 10,
    t: float = 1,
    max_N: int | None = 10000,
    chebyshev_approx: bool = False,
    eigval_save_path: str | os.PathLike[str] | None = None,
    eigval_save_precision: DTypeLike = np.float16,
    classic_shannon_entropy: bool = False,
    matrix_entry_entropy: bool = False,
    num_bins_per_dim: int = 2,
    random_seed: int | None = 0,
    verbose: bool = False,
) -> np.float64:
    r"""Diffusion Spectral Entropy, as ``dse_dsmi.diffusion_spectral_entropy`` (1.1).

    .. math::

        \mathrm{DSE} = -\sum_i p_i \log_2 p_i, \qquad
        p_i = \frac{|\lambda_i|^t}{\sum_j |\lambda_j|^t} + \varepsilon,

    where :math:`\lambda_i` are the eigenvalues of the random-walk operator
    :math:`D^{-1} K` of the Gaussian kernel
    :math:`K_{ij} = \exp(-|x_i - x_j|^2 / 2\sigma^2)` and
    :math:`\varepsilon` is ``np.finfo(float).eps`` (added as the reference does).

    Parameters
    ----------
    embedding_vectors : array-like of shape (N, D) or None
        Points (rows). May be None when ``eigval_save_path`` names an existing file.
    gaussian_kernel_sigma : float, default 10
        Kernel bandwidth, positive.
    t : float, default 1
        Diffusion time: power of the eigenvalue magnitudes, positive.
    max_N : int or None, default 10000
        If there are more points, ``max_N`` of them are drawn at random
        (``random.Random(random_seed).sample(range(N), k=max_N)``).
    chebyshev_approx : bool, default False
        Rebuild the eigenvalues from a Chebyshev estimate of the spectral density
        (the reference's ``approx_eigvals``; its docs advise against it). Draws 100
        random sign probes from NumPy's *global* legacy generator, exactly as the
        reference: seed it with ``np.random.seed`` to reproduce a value.
    eigval_save_path : str or os.PathLike, optional
        If the file exists, its eigenvalues (npz key ``eigvals``) are loaded and the
        data are ignored; otherwise the eigenvalues are computed, cast to
        ``eigval_save_precision``, saved there, and the entropy is computed from
        the cast values. Missing directories are created.
    eigval_save_precision : numpy floating dtype, default numpy.float16
        Precision of the saved eigenvalues (float16 saves space, float64 is exact).
    classic_shannon_entropy : bool, default False
        Return the binned Shannon entropy instead (see
        :func:`fastdse.shannon.shannon_entropy`; here with the reference's eps).
    matrix_entry_entropy : bool, default False
        Entropy of the normalised entries :math:`|P_{ij}| / N` of the diffusion
        matrix instead of its eigenvalues.
    num_bins_per_dim : int, default 2
        Bins per feature for ``classic_shannon_entropy``.
    random_seed : int or None, default 0
        Seed of the ``max_N`` subsampling. None: a fresh OS-seeded generator.
    verbose : bool, default False
        Print progress.

    Returns
    -------
    float
        The entropy in bits, a ``numpy.float64`` like the reference's.

    Raises
    ------
    ValueError, TypeError
        For invalid arguments; the message names the parameter.

    Notes
    -----
    Differences from the reference: no change to the global ``random`` state or
    warning filters; float64 throughout; clearer errors; a save path without a
    directory works. The dense operator is built and diagonalised in place by
    fastdse (:func:`fastdse.operator.kernel.dense_affinity`,
    :func:`fastdse.operator.normalize.normalize_dense_inplace`,
    :func:`fastdse.spectral.dense.dense_eigenvalues`).

    Examples
    --------
    >>> import numpy as np
    >>> from fastdse.compat import diffusion_spectral_entropy
    >>> X = np.random.default_rng(0).uniform(0, 1, (200, 16))
    >>> h = diffusion_spectral_entropy(X, gaussian_kernel_sigma=1.0, t=1)
    >>> bool(0 < h < np.log2(200))
    True
    """
    sigma = _check_sigma(gaussian_kernel_sigma)
    t = _check_t(t)
    max_N = _check_max_n(max_N)
    chebyshev_approx = _check_flag(chebyshev_approx, "chebyshev_approx")
    save_path, precision = _check_save(eigval_save_path, eigval_save_precision)
    classic_shannon_entropy = _check_flag(classic_shannon_entropy, "classic_shannon_entropy")
    matrix_entry_entropy = _check_flag(matrix_entry_entropy, "matrix_entry_entropy")
    num_bins_per_dim = check_int(num_bins_per_dim, "num_bins_per_dim", low=1)
    random_seed = _check_seed(random_seed)
    verbose = _check_flag(verbose, "verbose")

    uses_cache = (
        save_path is not None
        and not classic_shannon_entropy
        and not matrix_entry_entropy
        and os.path.exists(save_path)
    )
    if embedding_vectors is None:
        if not uses_cache:
            raise ValueError(
                "embedding_vectors may be None only when eigval_save_path names an existing "
                "eigenvalue file (and neither classic_shannon_entropy nor "
                "matrix_entry_entropy is set)"
            )
        X = None
    else:
        X = _check_embedding(embedding_vectors)

    return _dse(
        X, sigma, t, max_N, chebyshev_approx, save_path, precision, classic_shannon_entropy,
        matrix_entry_entropy, num_bins_per_dim, random_seed, verbose, random.Random(),
    )


def adjacency_spectral_entropy(
    embedding_vectors: np.ndarray | None,
    gaussian_kernel_sigma: float = 10,
    anisotropic: bool = False,
    use_knn: bool = False,
    knn: int = 10,
    max_N: int | None = 10000,
    eigval_save_path: str | os.PathLike[str] | None = None,
    eigval_save_precision: DTypeLike = np.float16,
    random_seed: int | None = 0,
    verbose: bool = False,
) -> np.float64:
    r"""Adjacency spectral entropy, as ``dse_dsmi.adjacency_spectral_entropy`` (1.1).

    .. math::

        -\sum_i p_i \log_2 p_i, \qquad
        p_i = \frac{|\mu_i|}{\sum_j |\mu_j|} + \varepsilon,

    where :math:`\mu_i` are the eigenvalues of an adjacency matrix (there is no
    diffusion time ``t``):

    - default: the Gaussian kernel
      :math:`G_{ij} = \exp(-|x_i - x_j|^2 / 2\sigma^2) / (\sigma \sqrt{2\pi})`
      (the constant scales the eigenvalues, not the probabilities; it is kept so
      saved eigenvalues match the reference's);
    - ``anisotropic=True``: :math:`D^{-1/2} G D^{-1/2}`;
    - ``use_knn=True``: the binarised kNN matrix, :math:`A_{ij} = 1` when
      :math:`d_{ij}` is at most the ``knn``-th smallest distance in row ``i``
      (self included, ties kept). It is not symmetric in general, so, like the
      reference, its eigenvalues come from a general eigensolver and their
      moduli are used.

    Parameters
    ----------
    embedding_vectors : array-like of shape (N, D) or None
        Points. May be None when ``eigval_save_path`` names an existing file.
    gaussian_kernel_sigma : float, default 10
        Kernel bandwidth, positive.
    anisotropic : bool, default False
        Symmetric degree normalisation of the Gaussian kernel.
    use_knn : bool, default False
        Binarised kNN adjacency instead of the Gaussian kernel.
    knn : int, default 10
        Neighbours per row (self included) for ``use_knn``; 1 <= knn <= N.
    max_N : int or None, default 10000
        Subsample to ``max_N`` points, as in :func:`diffusion_spectral_entropy`.
    eigval_save_path : str or os.PathLike, optional
        Eigenvalue cache, as in :func:`diffusion_spectral_entropy`. Complex
        eigenvalues (kNN) lose their imaginary part when saved, as in the reference.
    eigval_save_precision : numpy floating dtype, default numpy.float16
        Precision of the saved eigenvalues.
    random_seed : int or None, default 0
        Seed of the ``max_N`` subsampling.
    verbose : bool, default False
        Print progress.

    Returns
    -------
    float
        The entropy in bits (``numpy.float64``).

    Raises
    ------
    ValueError, TypeError
        For invalid arguments, e.g. ``knn`` larger than the number of points.

    Notes
    -----
    Same differences from the reference as :func:`diffusion_spectral_entropy`.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdse.compat import adjacency_spectral_entropy
    >>> X = np.random.default_rng(0).normal(size=(100, 3))
    >>> h = adjacency_spectral_entropy(X, gaussian_kernel_sigma=1.0, use_knn=True, knn=5)
    >>> bool(0 < h < np.log2(100))
    True
    """
    sigma = _check_sigma(gaussian_kernel_sigma)
    anisotropic = _check_flag(anisotropic, "anisotropic")
    use_knn = _check_flag(use_knn, "use_knn")
    knn = check_int(knn, "knn", low=1)
    max_N = _check_max_n(max_N)
    save_path, precision = _check_save(eigval_save_path, eigval_save_precision)
    random_seed = _check_seed(random_seed)
    verbose = _check_flag(verbose, "verbose")

    if embedding_vectors is None:
        if save_path is None or not os.path.exists(save_path):
            raise ValueError(
                "embedding_vectors may be None only when eigval_save_path names an existing "
                "eigenvalue file"
            )
        X = None
    else:
        X = _check_embedding(embedding_vectors)

    return _ase(
        X, sigma, anisotropic, use_knn, knn, max_N, save_path, precision, random_seed,
        verbose, random.Random(),
    )


def _check_mi_common(
    embedding_vectors: Any,
    reference_discrete: Any,
    num_repetitions: Any,
    n_clusters: Any,
    random_seed: Any,
    verbose: Any,
) -> tuple[np.ndarray, bool | None, int, int, int | None, bool]:
    X = _check_embedding(embedding_vectors)
    if reference_discrete is not None:
        reference_discrete = _check_flag(reference_discrete, "reference_discrete")
    num_repetitions = check_int(num_repetitions, "num_repetitions", low=1)
    n_clusters = check_int(n_clusters, "n_clusters", low=1)
    random_seed = _check_seed(random_seed)
    verbose = _check_flag(verbose, "verbose")
    return X, reference_discrete, num_repetitions, n_clusters, random_seed, verbose


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
    sigma = _check_sigma(gaussian_kernel_sigma)
    t = _check_t(t)
    chebyshev_approx = _check_flag(chebyshev_approx, "chebyshev_approx")
    classic_shannon_entropy = _check_flag(classic_shannon_entropy, "classic_shannon_entropy")
    matrix_entry_entropy = _check_flag(matrix_entry_entropy, "matrix_entry_entropy")
    num_bins_per_dim = check_int(num_bins_per_dim, "num_bins_per_dim", low=1)
    no_precision = np.dtype(np.float64)  # unused: inner calls never save

    clusters = _as_clusters(
        reference_vectors, reference_discrete, n_clusters, precomputed_clusters, X.shape[0]
    )

    def entropy(points: np.ndarray, rng: random.Random) -> np.float64:
        return _dse(
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
    sigma = _check_sigma(gaussian_kernel_sigma)
    use_knn = _check_flag(use_knn, "use_knn")
    anisotropic = _check_flag(anisotropic, "anisotropic")
    no_precision = np.dtype(np.float64)  # unused: inner calls never save

    clusters = _as_clusters(
        reference_vectors, reference_discrete, n_clusters, precomputed_clusters, X.shape[0]
    )

    def entropy(points: np.ndarray, rng: random.Random) -> np.float64:
        return _ase(
            points, sigma, anisotropic, use_knn, _INNER_KNN, _INNER_MAX_N, None,
            no_precision, _INNER_SEED, False, rng, where=" of a class or class-sized subset",
        )

    mi = _mutual_information(X, clusters, num_repetitions, random_seed, entropy)
    return mi, clusters
