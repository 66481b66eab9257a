"""The diffusion graph: build the operator once, ask it for spectra and entropies.

:class:`DiffusionGraph` runs the pipeline (neighbours, kernel, normalisation)
once and caches the spectral measure, so a sweep over ``t`` or several
metrics on the same data never rebuilds the operator. :func:`fastdse.dse` is a
thin wrapper around it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from fastdse._util import inputs as _inputs
from fastdse._util import memory as _memory
from fastdse._util import parallel as _parallel
from fastdse._util import progress as _progress
from fastdse._util.inputs import check_points
from fastdse._util.validation import (
    check_choice,
    check_float,
    check_int,
    check_random_state,
    check_t,
)
from fastdse.diffusion_time import T_AUTO_MAX, auto_t_grid, knee_point
from fastdse.entropy import dse_from_measure
from fastdse.operator.kernel import DEFAULT_SIGMA, DEFAULT_THRESH, KERNELS, dense_affinity
from fastdse.operator.normalize import normalize_dense_inplace, normalize_sparse, top_eigenvectors
from fastdse.results import DSEResult
from fastdse.spectral.dense import exact_measure
from fastdse.spectral.landmark import build_landmark
from fastdse.spectral.measure import SpectralMeasure

__all__ = ["DiffusionGraph", "MODES", "AUTO_EXACT_MAX_N"]

MODES = ("auto", "exact", "approx", "landmark")

NEIGHBOR_METHODS = ("auto", "exact", "pynndescent")

#: ``mode="auto"`` runs the exact path up to this many points. Measured end to end in
#: fresh processes on a 2-core machine (docs/benchmarks/auto_crossover.csv, d = 32,
#: t = 1, 2, 5, 10; rerun 2026-11-28): exact 1.15 s vs approx 1.61 s at n = 2,000; exact
#: 2.69 s vs approx 1.69 s at 4,000; exact 12.9 s vs approx 1.2 s at 8,000.
AUTO_EXACT_MAX_N = 3000


def _build_exact(graph: DiffusionGraph) -> SpectralMeasure:
    """Dense kernel, in-place normalisation, one symmetric eigvalsh."""
    if graph.kernel_ == "precomputed":
        return _build_exact_precomputed(graph)
    X = graph.X_
    assert X is not None  # points, since no affinity was given
    _memory.check_dense_fits(graph.n, X.shape[1])
    K, degrees = dense_affinity(
        X,
        graph.kernel,
        knn=graph.knn,
        decay=graph.decay,
        sigma=graph.sigma_,
        thresh=graph.thresh_,
        return_degrees=True,
    )
    graph.degrees_ = normalize_dense_inplace(K, graph.anisotropy, degrees)
    measure = exact_measure(K, overwrite=True)
    del K
    return measure


def _take_affinity(graph: DiffusionGraph) -> Any:
    """Hand the graph's private copy of a precomputed affinity to its operator builder.

    The copy was made by validation (``_inputs.check_affinity``); the builder
    normalises it in place, so the graph keeps no reference to it.
    """
    K = graph.affinity_
    graph.affinity_ = None
    return K


def _build_exact_precomputed(graph: DiffusionGraph) -> SpectralMeasure:
    """Build the exact measure of a precomputed affinity: normalised in place, eigvalsh."""
    if sp.issparse(graph.affinity_):
        _memory.check_dense_fits(graph.n, 0)
    K0 = _take_affinity(graph)
    K = K0.toarray() if sp.issparse(K0) else K0
    del K0
    graph.degrees_ = normalize_dense_inplace(K, graph.anisotropy)
    measure = exact_measure(K, overwrite=True)
    del K
    return measure


def _precomputed_operator(graph: DiffusionGraph) -> tuple[Any, np.ndarray, np.ndarray, dict]:
    """Sparse operator of a precomputed affinity (the approx path's first stage)."""
    start = time.perf_counter()
    K0 = _take_affinity(graph)
    A, degrees = normalize_sparse(sp.csr_matrix(K0) if not sp.issparse(K0) else K0,
                                  graph.anisotropy, copy=False)
    del K0
    n_comp, labels = connected_components(A, directed=False)
    V = top_eigenvectors(degrees, labels)
    info = {"kernel": "precomputed", "anisotropy": graph.anisotropy,
            "n_components": int(n_comp), "timings": {"normalize": time.perf_counter() - start}}
    return A, degrees, V, info


def _seed(graph: DiffusionGraph, stage: str) -> int:
    """Return the seed of a pipeline stage, drawn once from the graph's generator."""
    if stage not in graph._seeds:
        for name in ("neighbors", "spectrum", "landmarks"):
            graph._seeds[name] = int(graph.rng_.integers(2**31 - 1))
    return graph._seeds[stage]


def _build_approx(graph: DiffusionGraph) -> SpectralMeasure:
    """Sparse kNN kernel, sparse normalisation, deflated stochastic Lanczos quadrature."""
    from fastdse.operator.build import _graph_sparse_operator
    from fastdse.spectral.lanczos import _check_operator, _slq_of_checked_operator

    start = time.perf_counter()
    if graph.kernel_ == "precomputed":
        A, degrees, known, op_info = _precomputed_operator(graph)
        A = _check_operator(A)  # a user's affinity: symmetric only to its own tolerance
    else:
        # symmetric by construction, (K + K^T) / 2 scaled alike on both sides
        A, degrees, known, op_info = _graph_sparse_operator(graph, _seed(graph, "neighbors"))
    graph.timings_["operator"] = time.perf_counter() - start
    graph.degrees_ = degrees
    graph.operator_ = A
    measure, half = _slq_of_checked_operator(
        A,
        n_probes=graph.n_probes,
        n_steps=graph.n_steps,
        n_deflate=graph.n_deflate,
        known_vectors=known,
        random_state=_seed(graph, "spectrum"),
        n_jobs=graph.n_jobs,
        t_hint=graph.t_hint,
        return_half=True,
    )
    graph._half_measure = half
    measure.info["operator"] = op_info
    measure.info["nnz"] = int(A.nnz)
    return measure


#: mode name -> function building the spectral measure of a graph.
_MEASURE_BUILDERS: dict[str, Any] = {
    "exact": _build_exact,
    "approx": _build_approx,
    "landmark": build_landmark,
}


class DiffusionGraph:
    r"""Diffusion operator of a point cloud, built once and queried many times.

    Parameters
    ----------
    X : array-like of shape (n, d), or affinity of shape (n, n)
        Points (rows): a numpy array of any integer, boolean or float dtype, a
        pandas DataFrame, a torch tensor (any device; detached), an AnnData
        (``adata.X`` or ``adata.obsm[use_rep]``) or a scipy.sparse feature
        matrix (densified if it fits in memory). With ``kernel="precomputed"``:
        a symmetric non-negative affinity (dense or scipy.sparse); a
        ``graphtools.Graph`` is always taken as its precomputed ``kernel``.
    mode : {"auto", "exact", "approx", "landmark"}, default "auto"
        ``"exact"``: dense kernel and all ``n`` eigenvalues (O(n^2) memory,
        O(n^3) time). ``"auto"``: exact up to :data:`AUTO_EXACT_MAX_N` points,
        approximate above (when available).
    kernel : {"alpha_decay", "gaussian", "precomputed"}, default "alpha_decay"
        Affinity kernel, see :mod:`fastdse.operator.kernel`. ``"precomputed"``: ``X`` is
        the affinity itself (``knn``, ``decay``, ``sigma``, ``thresh`` unused);
        ``mode="auto"`` then runs exact for a dense affinity.
    knn : int, default 5
        Alpha-decay bandwidth: distance to the ``knn``-th nearest neighbour
        (self excluded). Must be smaller than ``n``.
    decay : float, default 40
        Alpha-decay exponent.
    sigma : float, optional
        Gaussian bandwidth; ``None`` means 10, the reference implementation's
        default (suited to features of scale ~10; choose it for your data).
    thresh : float, optional
        Affinities below ``thresh`` are dropped; ``None`` means 1e-4 for
        ``alpha_decay`` (graphtools' default) and 0 for ``gaussian``.
    anisotropy : float in [0, 1], default 0
        Density normalisation ``K_ij / (d_i d_j)^anisotropy``.
    neighbors : {"auto", "exact", "pynndescent"}, default "auto"
        Neighbour search of the sparse modes: exact (BLAS) for small ``n``,
        pynndescent approximate neighbours for large ``n``.
    n_probes : int, default 20
        Probe vectors of stochastic Lanczos quadrature (``mode="approx"``);
        with ``n_deflate="auto"`` the least number, more being added (up to 4x)
        when the measured standard error misses the automatic target.
    n_steps : int, default 60
        Lanczos steps per probe (``mode="approx"``).
    n_deflate : int or "auto", default "auto"
        Top eigenpairs computed exactly by ARPACK before quadrature
        (``mode="approx"``); "auto" picks enough for the largest ``t_hint``
        and adds probes where deflation is not enough.
    n_landmarks : int, default 2000
        Landmarks of ``mode="landmark"`` (capped at ``n - 1``).
    landmark_method : {"operator", "nystrom"}, default "operator"
        Coarse operator of ``mode="landmark"``: graphtools-style landmark
        operator on k-means clusters, or a Nystrom approximation.
    t_hint : float or sequence of float, optional
        Diffusion times that will be asked for (tunes the deflation); None
        means (1, 2, 5, 10, 50).
    use_rep : str, optional
        AnnData input only: ``"X"`` (the default) or a key of ``adata.obsm``
        such as ``"X_pca"`` (scanpy's keyword).
    n_jobs : int, optional
        Threads for the numba kernels and neighbour search (None: all cores).
    progress : bool, optional
        tqdm bars on stderr for the long steps (neighbour search, ARPACK,
        Lanczos); ``None``: only when stderr is a terminal. Loops draw their
        bar after 2 s, so quick calls stay silent.
    verbose : bool or int, default False
        Log what runs and its timings to stderr (``True``/1: INFO, 2: DEBUG)
        through the ``logging`` logger ``"fastdse"``, which receives the
        messages in any case.
    random_state : None, int or numpy.random.Generator
        Seed for every random choice (approximate modes).

    Attributes
    ----------
    n : int
        Number of points.
    mode_ : str
        The mode that runs (``"auto"`` resolved).
    kernel_ : str
        The kernel that runs (``"precomputed"`` for an affinity or graphtools graph).
    input_type_ : str
        What ``X`` was: ``"array"``, ``"pandas"``, ``"torch"``, ``"anndata"``,
        ``"sparse"`` or ``"graphtools"``.
    degrees_ : numpy.ndarray of shape (n,)
        Degrees of the (anisotropy-corrected) kernel, after the operator is built.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdse import DiffusionGraph
    >>> X = np.random.default_rng(0).normal(size=(300, 5))
    >>> g = DiffusionGraph(X, mode="exact")
    >>> res = g.dse([1, 2, 5])
    >>> res.value.shape
    (3,)
    >>> bool(np.all(np.diff(res.value) <= 0))
    True
    """

    def __init__(
        self,
        X: Any,
        *,
        mode: str = "auto",
        kernel: str = "alpha_decay",
        knn: int = 5,
        decay: float = 40.0,
        sigma: float | None = None,
        thresh: float | None = None,
        anisotropy: float = 0.0,
        neighbors: str = "auto",
        n_probes: int = 20,
        n_steps: int = 60,
        n_deflate: int | str = "auto",
        n_landmarks: int = 2000,
        landmark_method: str = "operator",
        t_hint: Any = None,
        use_rep: str | None = None,
        n_jobs: int | None = None,
        progress: bool | None = None,
        verbose: bool | int = False,
        random_state: Any = None,
    ) -> None:
        self.progress = progress
        self.verbose = _progress.check_verbose(verbose)
        self._show_progress = _parallel.show_progress(progress)
        self._log_level = logging.INFO
        self.mode = check_choice(mode, "mode", MODES)
        self.kernel = check_choice(kernel, "kernel", (*KERNELS, "precomputed"))
        self.anisotropy = check_float(anisotropy, "anisotropy", low=0.0, high=1.0)
        self.use_rep = use_rep
        resolved = _inputs.resolve(X, "X", use_rep=use_rep,
                                   precomputed=self.kernel == "precomputed")
        self.input_type_ = resolved.source
        self.affinity_: Any = None
        self.X_: np.ndarray | None = None
        if resolved.affinity is not None:
            if resolved.source == "graphtools" and self.kernel not in ("alpha_decay",
                                                                       "precomputed"):
                raise ValueError(
                    f"X is a graphtools graph, which carries its own kernel; kernel must be "
                    f"'precomputed' (or left at its default); got kernel={self.kernel!r}"
                )
            if resolved.graph_anisotropy and self.anisotropy:
                raise ValueError(
                    f"X is a graphtools graph whose kernel already has anisotropy="
                    f"{resolved.graph_anisotropy}; applying anisotropy={self.anisotropy} on "
                    "top would normalise twice. Pass anisotropy=0 (or build the graph with "
                    "anisotropy=0)"
                )
            if self.mode == "landmark":
                raise ValueError(
                    "mode='landmark' needs the points to place landmarks; X is a precomputed "
                    "affinity. Use mode='exact' or mode='approx'"
                )
            self.affinity_ = _inputs.check_affinity(resolved.affinity, "X")
            self.kernel_ = "precomputed"
            self.n = self.affinity_.shape[0]
        else:
            self.X_ = check_points(resolved.points, "X")
            self.kernel_ = self.kernel
            self.n = self.X_.shape[0]
        self.knn = check_int(  # unused by a precomputed affinity: no bound on n then
            knn, "knn", low=1, high=self.n - 1 if self.X_ is not None else None,
            high_note=f" (n - 1, the number of other points; X has n={self.n})",
        )
        self.decay = check_float(decay, "decay", low=0.0, low_open=True)
        self.sigma = sigma
        self.sigma_ = (
            DEFAULT_SIGMA if sigma is None
            else check_float(sigma, "sigma", low=0.0, low_open=True)
        )
        self.thresh = thresh
        self.thresh_ = (
            DEFAULT_THRESH.get(self.kernel_, 0.0) if thresh is None
            else check_float(thresh, "thresh", low=0.0, high=1.0, high_open=True)
        )
        self.neighbors = check_choice(neighbors, "neighbors", NEIGHBOR_METHODS)
        self.n_probes = check_int(n_probes, "n_probes", low=2)
        self.n_steps = check_int(n_steps, "n_steps", low=2)
        if isinstance(n_deflate, str):
            check_choice(n_deflate, "n_deflate", ("auto",))
        else:
            check_int(n_deflate, "n_deflate", low=0, high=self.n - 1)
        self.n_deflate = n_deflate
        self.n_landmarks = check_int(n_landmarks, "n_landmarks", low=2)
        self.landmark_method = check_choice(landmark_method, "landmark_method",
                                            ("operator", "nystrom"))
        self.t_hint = None if t_hint is None else check_t(t_hint)[0]
        if n_jobs is not None:
            n_jobs = check_int(n_jobs, "n_jobs")
            if n_jobs == 0 or n_jobs < -1:
                raise ValueError(f"n_jobs must be a positive integer, -1 or None; got {n_jobs}")
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.rng_ = check_random_state(random_state)
        self._seeds: dict[str, int] = {}
        self.operator_ = None
        self._half_measure: SpectralMeasure | None = None
        self.mode_ = self._resolve_mode()
        self.degrees_: np.ndarray | None = None
        self._measure: SpectralMeasure | None = None
        self.timings_: dict[str, float] = {}

    def _resolve_mode(self) -> str:
        if self.mode != "auto":
            return self.mode
        if self.affinity_ is not None and not sp.issparse(self.affinity_):
            return "exact"  # a dense affinity is already n x n: eigvalsh beats O(n^2) matvecs
        if self.n <= AUTO_EXACT_MAX_N:
            return "exact"
        return "approx"

    def spectral_measure(self) -> SpectralMeasure:
        """Return the spectral measure of the diffusion operator (computed once, cached)."""
        if self._measure is None:
            with _progress.reporting(self._show_progress, self.verbose):
                start = time.perf_counter()
                self._measure = _MEASURE_BUILDERS[self.mode_](self)
                self.timings_["spectral_measure"] = time.perf_counter() - start
                self._log_measure(self._measure)
        return self._measure

    def _log_measure(self, measure: SpectralMeasure) -> None:
        """One log line: what ran and how long it took (INFO; DEBUG inside DSMI)."""
        if not _progress.logger.isEnabledFor(self._log_level):
            return
        info = measure.info
        parts = [f"{self!r}: {measure.method}"]
        if self.mode != self.mode_:
            parts.append(f"(mode='auto' -> {self.mode_!r} for n={self.n})")
        op = info.get("operator", {})
        if op:
            parts.append(f"neighbours={op.get('neighbors', 'n/a')}, nnz={info.get('nnz')}")
        if "n_deflate" in info:
            parts.append(f"deflated {info['n_deflate']}, {info.get('n_probes')} probes x "
                         f"{info.get('n_steps')} steps")
        timings = {**self.timings_, **info.get("timings", {})}
        parts.append("timings: " + ", ".join(f"{k} {v:.2f} s" for k, v in timings.items()))
        _progress.logger.log(self._log_level, " ".join(parts))

    def eigenvalues(self) -> np.ndarray:
        """All ``n`` eigenvalues of the diffusion operator, ascending (exact mode only)."""
        if self.mode_ != "exact":
            raise ValueError(
                f"eigenvalues() needs mode='exact'; this graph uses mode={self.mode_!r}, which "
                "estimates the spectrum. Use spectral_measure() for its nodes and weights."
            )
        return self.spectral_measure().eigenvalues()

    def dse(self, t: Any = 1, *, base: float = 2.0) -> DSEResult:
        """Diffusion Spectral Entropy for one or many diffusion times.

        Parameters
        ----------
        t : float, sequence of float or "auto", default 1
            Diffusion time(s), positive. A sequence costs one spectral measure.
            ``"auto"``: the knee of the DSE-vs-t curve over ``t = 1..100``
            (:mod:`fastdse.diffusion_time`); the result's ``t`` is the chosen
            time and ``info`` holds ``t_auto`` and the whole curve
            (``curve_t``, ``curve_value``, ``curve_stderr``).
        base : float, default 2
            Logarithm base: 2 for bits, ``numpy.e`` for nats.

        Returns
        -------
        DSEResult

        Examples
        --------
        >>> import numpy as np
        >>> from fastdse import DiffusionGraph
        >>> X = np.random.default_rng(0).normal(size=(300, 5))
        >>> res = DiffusionGraph(X, mode="exact").dse("auto")
        >>> res.t == res.info["t_auto"], 1 <= res.t <= 100
        (True, True)
        """
        if isinstance(t, str):
            if t != "auto":
                raise TypeError(
                    f"t must be a positive finite number, a sequence of them, or 'auto'; "
                    f"got {t!r}"
                )
            return self._dse_auto(base)
        ts, scalar = check_t(t)
        base = check_float(base, "base", low=0.0, low_open=True)
        if base == 1.0:
            raise ValueError("base must be a positive number other than 1; got 1.0")
        measure = self.spectral_measure()
        values, stderr = dse_from_measure(measure, ts, base)
        extra: dict[str, Any] = {}
        if self._half_measure is not None:
            # quadrature-bias indicator: the same Lanczos run stopped at half the steps
            half_values, _ = dse_from_measure(self._half_measure, ts, base)
            extra["quadrature_bias"] = np.abs(values - half_values)
            extra["probe_stderr"] = stderr.copy()
        info = {
            "kernel": self.kernel_,
            "knn": self.knn,
            "decay": self.decay,
            "sigma": self.sigma_,
            "thresh": self.thresh_,
            "anisotropy": self.anisotropy,
            "method": measure.method,
            "timings": dict(self.timings_),
            **measure.info,
            **extra,
        }
        return DSEResult(
            value=float(values[0]) if scalar else values,
            stderr=float(stderr[0]) if scalar else stderr,
            t=float(ts[0]) if scalar else ts,
            n=self.n,
            mode=self.mode_,
            eigenvalues=measure.nodes if measure.is_exact and self.mode_ == "exact" else None,
            base=base,
            info=info,
        )

    def dse_curve(self, t_max: int = T_AUTO_MAX, *, base: float = 2.0) -> DSEResult:
        """DSE at every integer ``t = 1, ..., t_max`` from one spectral measure.

        The curve ``t="auto"`` takes its knee from; plot it with
        :func:`fastdse.plotting.plot_dse_curve`.

        Parameters
        ----------
        t_max : int, default 100
            Largest diffusion time (at least 5).
        base : float, default 2
            Logarithm base.

        Returns
        -------
        DSEResult
            ``.t`` is ``[1, 2, ..., t_max]`` and ``.value`` the curve.
        """
        t_max = check_int(t_max, "t_max", low=5)
        return self.dse(auto_t_grid(t_max), base=base)

    def _dse_auto(self, base: float) -> DSEResult:
        curve = self.dse_curve(T_AUTO_MAX, base=base)
        ts = np.asarray(curve.t)
        values = np.asarray(curve.value)
        stderr = np.asarray(curve.stderr)
        k = knee_point(ts, values)
        info = dict(curve.info)
        for key in ("quadrature_bias", "probe_stderr"):
            if key in info:
                info[key] = float(np.asarray(info[key])[k])
        info.update(t_auto=float(ts[k]), t_rule="knee of DSE(t), t = 1..100",
                    curve_t=ts, curve_value=values, curve_stderr=stderr)
        return DSEResult(
            value=float(values[k]),
            stderr=float(stderr[k]),
            t=float(ts[k]),
            n=curve.n,
            mode=curve.mode,
            eigenvalues=curve.eigenvalues,
            base=curve.base,
            info=info,
        )

    def __repr__(self) -> str:
        shape = "precomputed affinity" if self.X_ is None else f"d={self.X_.shape[1]}"
        return (
            f"DiffusionGraph(n={self.n}, {shape}, mode={self.mode_!r}, "
            f"kernel={self.kernel_!r})"
        )
