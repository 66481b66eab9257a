"""Public entry points: :func:`dse` (and :func:`dsmi`, in :mod:`fastdse.mutual_information`)."""

from __future__ import annotations

from typing import Any

from fastdse._util.validation import check_base, check_random_state, check_t
from fastdse.graph import DiffusionGraph
from fastdse.results import DSEResult
from fastdse.settings import Settings

__all__ = ["dse"]


def dse(
    X: Any,
    t: Any = 1,
    *,
    mode: str = "auto",
    kernel: str = "alpha_decay",
    knn: int = 5,
    decay: float = 40.0,
    sigma: float | None = None,
    thresh: float | None = None,
    anisotropy: float = 0.0,
    base: float = 2.0,
    neighbors: str = "auto",
    n_probes: int | str = "auto",
    n_steps: int = 60,
    n_deflate: int | str = "auto",
    n_landmarks: int = 2000,
    landmark_method: str = "operator",
    use_rep: str | None = None,
    neighbors_key: str | None = None,
    n_jobs: int | None = None,
    progress: bool | None = None,
    verbose: bool | int = False,
    random_state: Any = None,
) -> DSEResult:
    r"""Diffusion Spectral Entropy of a point cloud.

    Builds an affinity kernel on the points, the diffusion operator
    :math:`P = D^{-1} K` (through its symmetric form
    :math:`A = D^{-1/2} K D^{-1/2}`, same eigenvalues), and returns

    .. math::

        \mathrm{DSE}_t(X) = -\sum_i a_i \log_2 a_i, \qquad
        a_i = \frac{|\lambda_i|^t}{\sum_j |\lambda_j|^t}.

    Parameters
    ----------
    X : array-like of shape (n, d), or affinity of shape (n, n)
        Points (rows), at least 2: a numpy array of any integer, boolean or
        float dtype, a pandas DataFrame, a torch tensor (any device, detached
        for you), an AnnData (``adata.X``, or ``adata.obsm[use_rep]``) or a
        scipy.sparse feature matrix (densified when it fits in memory). With
        ``kernel="precomputed"`` a symmetric non-negative affinity matrix
        (dense or sparse), or an AnnData with ``neighbors_key``; a
        ``graphtools.Graph`` is taken as its ``kernel``. An AnnData with
        ``neighbors_key`` and another kernel: that kernel on the stored k-NN distances.
    t : float, sequence of float or "auto", default 1
        Diffusion time(s), positive; a sequence costs one eigendecomposition.
        ``"auto"`` picks the knee of the DSE-vs-t curve over ``t = 1..100``
        (:mod:`fastdse.diffusion_time`) and returns it as ``result.t``.
    mode : {"auto", "exact", "approx", "landmark"}, default "auto"
        ``"exact"``: dense kernel, all eigenvalues (the reference path).
        ``"auto"``: exact for small ``n``, approximate for large ``n``.
    kernel : {"alpha_decay", "gaussian", "precomputed"}, default "alpha_decay"
        ``"alpha_decay"``: graphtools/PHATE adaptive kernel.
        ``"gaussian"``: fixed ``sigma``, the kernel of ``dse-dsmi``.
        ``"precomputed"``: ``X`` is the affinity matrix.
    knn : int, default 5
        Alpha-decay bandwidth neighbour (self excluded); must be < n.
    decay : float, default 40
        Alpha-decay exponent.
    sigma : float, optional
        Gaussian bandwidth; ``None`` means 10 (the reference default).
    thresh : float, optional
        Affinities below this are dropped (default 1e-4, both kernels, every mode;
        ``thresh=0`` keeps every pair, as the reference's Gaussian, in exact mode).
    anisotropy : float in [0, 1], default 0
        0 is the reference code's normalisation, 0.5 the paper's text.
    base : float, default 2
        Logarithm base: 2 gives bits, ``numpy.e`` nats.
    neighbors : {"auto", "exact", "pynndescent", "nndescent"}, default "auto"
        Neighbour search of the sparse modes.
    n_probes : int or "auto", default "auto"
        Stochastic Lanczos quadrature: probe vectors. "auto" (with
        ``n_deflate="auto"``): four times as many as the pilot run's error bound
        asks for, from 8 to 20 (fewer than 20 only where the bound is far below
        its target, mostly at large ``n``; docs/estimators.md).
    n_steps : int, default 60
        Stochastic Lanczos quadrature: Lanczos steps per probe.
    n_deflate : int or "auto", default "auto"
        Top eigenpairs taken exactly (ARPACK) before quadrature; "auto" picks
        enough for t = 1, 2, 5, 10 and 50 whatever ``t`` is asked for (so the
        value at one ``t`` does not depend on the other ``t`` requested), and
        adds probes (up to 4x ``n_probes``, 80 for "auto") when the measured
        standard error misses its target there. With both "auto", an operator of
        at most 1,500 points has all its eigenvalues taken densely instead
        (faster there; ``stderr`` 0; docs/estimators.md).
    n_landmarks : int, default 2000
        Landmarks of ``mode="landmark"``; its DSE covers only the top of the
        spectrum (``n_landmarks`` atoms) and is fit for large ``t`` only, see
        ``docs/benchmarks/landmark_accuracy.md``.
    landmark_method : {"operator", "nystrom"}, default "operator"
        Coarse operator of ``mode="landmark"``.
    use_rep : str, optional
        AnnData only: ``"X"`` (default) or a key of ``adata.obsm``, e.g. ``"X_pca"``.
    neighbors_key : str, optional
        AnnData only: the key of ``adata.uns`` of a neighbour graph scanpy stored
        (``"neighbors"`` after ``scanpy.pp.neighbors``). With the alpha-decay (default)
        or Gaussian kernel, that kernel is built on its stored k-NN distances
        (``knn``, ``decay``, ``sigma``, ``thresh`` apply; no neighbour search; rows
        whose threshold radius reaches beyond their stored neighbours raise a
        :class:`~fastdse.TruncationWarning`); with ``kernel="precomputed"`` its
        connectivities, with a unit diagonal, are the affinity. ``mode="auto"`` runs
        exact up to :data:`~fastdse.settings.AUTO_EXACT_MAX_N` points;
        ``mode="landmark"`` is refused. ``result.info["graph"]`` says which matrix was
        read (``docs/anndata.md``).
    n_jobs : int, optional
        Threads (None: all cores).
    progress : bool, optional
        Progress bars for the long steps (``None``: when stderr is a terminal).
    verbose : bool or int, default False
        Log stages and timings to stderr (``logging`` logger ``"fastdse"``).
    random_state : None, int, numpy.random.RandomState or numpy.random.Generator
        Seed for every random choice (approximate modes); same seed, same number.

    Returns
    -------
    DSEResult
        ``.value`` (float for scalar ``t``, array otherwise), ``.stderr`` (0 when
        exact), ``.t``, ``.n``, ``.mode``, ``.eigenvalues`` (when exact).
        ``float(result)`` works for a scalar ``t``.

    See Also
    --------
    DiffusionGraph : build the operator once and query it many times.
    fastdse.compat.diffusion_spectral_entropy : drop-in for ``dse-dsmi``.

    Examples
    --------
    >>> import numpy as np
    >>> import fastdse
    >>> X = np.random.default_rng(0).normal(size=(500, 10))
    >>> res = fastdse.dse(X, t=[1, 2, 5], mode="exact")
    >>> res.value.shape, res.mode
    ((3,), 'exact')
    >>> bool(0 <= res.value[0] <= np.log2(500))
    True

    Well-separated clusters have about ``log2(k)`` bits at large ``t``:

    >>> centres = np.repeat(np.eye(4) * 100, 50, axis=0)
    >>> blobs = centres + np.random.default_rng(1).normal(size=(200, 4))
    >>> round(float(fastdse.dse(blobs, t=1000, mode="exact")), 3)
    2.0
    """
    settings = Settings.from_arguments(locals())
    rng = check_random_state(random_state)
    if isinstance(t, str):  # "auto" (or a wrong word, which DiffusionGraph.dse refuses)
        graph = DiffusionGraph._from_settings(X, settings, t_hint=None, use_rep=use_rep, rng=rng,
                                              neighbors_key=neighbors_key, seed=random_state)
        return graph.dse(t, base=base)
    ts, scalar = check_t(t)
    base = check_base(base)
    # the estimator is sized for the default range of t, not for the t asked for: the value
    # at one t must not depend on which other t are requested
    graph = DiffusionGraph._from_settings(X, settings, t_hint=None, use_rep=use_rep, rng=rng,
                                          neighbors_key=neighbors_key, seed=random_state)
    return graph._dse_at(ts, scalar, base)
