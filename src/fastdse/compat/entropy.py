"""The entropies of :mod:`fastdse.compat`: diffusion and adjacency spectral entropy.

Each public function checks its arguments (the errors name the parameter) and hands the
clean values to :mod:`._compute`, which replays the reference's computation.
"""

from __future__ import annotations

import os
import random

import numpy as np
from numpy.typing import DTypeLike

from fastdse._util.validation import check_int
from fastdse.compat._common import (
    check_embedding,
    check_flag,
    check_max_n,
    check_save,
    check_seed,
    check_sigma,
    check_t,
)
from fastdse.compat._compute import adjacency_entropy, diffusion_entropy

__all__ = ["diffusion_spectral_entropy", "adjacency_spectral_entropy"]


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
    sigma = check_sigma(gaussian_kernel_sigma)
    t = check_t(t)
    max_N = check_max_n(max_N)
    chebyshev_approx = check_flag(chebyshev_approx, "chebyshev_approx")
    save_path, precision = check_save(eigval_save_path, eigval_save_precision)
    classic_shannon_entropy = check_flag(classic_shannon_entropy, "classic_shannon_entropy")
    matrix_entry_entropy = check_flag(matrix_entry_entropy, "matrix_entry_entropy")
    num_bins_per_dim = check_int(num_bins_per_dim, "num_bins_per_dim", low=1)
    random_seed = check_seed(random_seed)
    verbose = check_flag(verbose, "verbose")

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
        X = check_embedding(embedding_vectors)

    return diffusion_entropy(
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
    sigma = check_sigma(gaussian_kernel_sigma)
    anisotropic = check_flag(anisotropic, "anisotropic")
    use_knn = check_flag(use_knn, "use_knn")
    knn = check_int(knn, "knn", low=1)
    max_N = check_max_n(max_N)
    save_path, precision = check_save(eigval_save_path, eigval_save_precision)
    random_seed = check_seed(random_seed)
    verbose = check_flag(verbose, "verbose")

    if embedding_vectors is None:
        if save_path is None or not os.path.exists(save_path):
            raise ValueError(
                "embedding_vectors may be None only when eigval_save_path names an existing "
                "eigenvalue file"
            )
        X = None
    else:
        X = check_embedding(embedding_vectors)

    return adjacency_entropy(
        X, sigma, anisotropic, use_knn, knn, max_N, save_path, precision, random_seed,
        verbose, random.Random(),
    )
