"""The diffusion graph: build the operator once, ask it for spectra and entropies.

:class:`DiffusionGraph` validates its settings once (:mod:`fastdse.settings`),
runs the builder of its mode (:mod:`fastdse.modes`) when a spectrum is first
asked for, and caches the spectral measure, so a sweep over ``t`` or several
metrics on the same data never rebuilds the operator. :func:`fastdse.dse` is a
thin wrapper around it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import scipy.sparse as sp

from fastdse._util import inputs as _inputs
from fastdse._util import progress as _progress
from fastdse._util.inputs import check_points
from fastdse._util.stages import format_stages, stage_table
from fastdse._util.validation import check_base, check_int, check_random_state, check_t
from fastdse.diffusion_time import T_AUTO_MAX, auto_t_grid, knee_point
from fastdse.entropy import dse_from_measure
from fastdse.modes import BUILDERS, GraphInput, Seeds, prepare_points
from fastdse.operator.stored_knn import stored_knn_from_settings
from fastdse.results import DSEResult, provenance
from fastdse.settings import AUTO_EXACT_MAX_N, MODES, SPARSE_MODES, Resolved, Settings
from fastdse.spectral.layout import permuted
from fastdse.spectral.measure import SpectralMeasure

__all__ = ["DiffusionGraph", "MODES", "AUTO_EXACT_MAX_N"]

class DiffusionGraph:
    r"""Diffusion operator of a point cloud, built once and queried many times.

    Parameters
    ----------
    X : array-like of shape (n, d), or affinity of shape (n, n)
        Points (rows): a numpy array of any integer, boolean or float dtype, a
        pandas DataFrame, a torch tensor (any device; detached), an AnnData
        (``adata.X`` or ``adata.obsm[use_rep]``) or a scipy.sparse feature
        matrix (densified if it fits in memory). With ``kernel="precomputed"``:
        a symmetric non-negative affinity (dense or scipy.sparse), or an AnnData
        with ``neighbors_key``; a ``graphtools.Graph`` is always taken as its
        precomputed ``kernel``. An AnnData with ``neighbors_key`` and the alpha-decay
        or Gaussian kernel: that kernel built on the stored k-NN distances.
    mode : {"auto", "exact", "approx", "landmark"}, default "auto"
        ``"exact"``: dense kernel and all ``n`` eigenvalues (O(n^2) memory,
        O(n^3) time). ``"auto"``: exact up to :data:`AUTO_EXACT_MAX_N` points,
        approximate above.
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
        Affinities below ``thresh`` are dropped; ``None`` means 1e-4 (graphtools'
        default) for both kernels in every mode. ``thresh=0`` keeps every pair (the
        reference's Gaussian), in exact mode only.
    anisotropy : float in [0, 1], default 0
        Density normalisation ``K_ij / (d_i d_j)^anisotropy``.
    neighbors : {"auto", "exact", "pynndescent", "nndescent"}, default "auto"
        Neighbour search of the sparse modes: exact (BLAS) for small ``n``,
        fastdse's own NN-descent (``"nndescent"``: compiled once per machine, no
        compilation in each new process) for large ``n``; ``"pynndescent"`` on
        request (docs/benchmarks/knn_graph.md).
    n_probes : int or "auto", default "auto"
        Probe vectors of stochastic Lanczos quadrature (``mode="approx"``);
        with ``n_deflate="auto"`` the least number, more being added (up to 4x,
        80 for "auto") when the measured standard error misses the automatic
        target. "auto": four times what the pilot's error bound asks for, 8 to 20.
    n_steps : int, default 60
        Lanczos steps per probe (``mode="approx"``).
    n_deflate : int or "auto", default "auto"
        Top eigenpairs computed exactly by ARPACK before quadrature
        (``mode="approx"``); "auto" picks enough for the largest ``t_hint``
        and adds probes where deflation is not enough. With both ``n_probes`` and
        ``n_deflate`` "auto", an operator of at most
        :data:`~fastdse.spectral.lanczos.AUTO_DENSE_MAX_N` (1,500) points has all its
        eigenvalues taken densely instead (faster there; ``stderr`` 0).
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
    neighbors_key : str, optional
        AnnData input only: the neighbour graph scanpy stored (``adata.uns[neighbors_key]``
        names its ``distances_key`` and ``connectivities_key`` in ``adata.obsp``;
        ``"neighbors"`` by default in scanpy). With the alpha-decay or Gaussian kernel,
        that kernel is built on the stored k-NN distances
        (:mod:`fastdse.operator.stored_knn`: no neighbour search, a
        :class:`~fastdse.TruncationWarning` for rows whose threshold radius reaches
        beyond their stored neighbours); with ``kernel="precomputed"`` the
        connectivities, with a unit diagonal, are the affinity. Either is then a sparse
        affinity: ``mode="auto"`` runs exact up to :data:`AUTO_EXACT_MAX_N` points,
        ``mode="landmark"`` is refused. See ``docs/anndata.md``.
    n_jobs : int, optional
        Cores to use (None: all; -1 all, -2 all but one): the threads of the
        numba kernels, BLAS and the neighbour search.
    progress : bool, optional
        tqdm bars on stderr for the long steps (neighbour search, ARPACK,
        Lanczos); ``None``: only when stderr is a terminal. Loops draw their
        bar after 2 s, so quick calls stay silent.
    verbose : bool or int, default False
        Log what runs and its timings to stderr (``True``/1: INFO, 2: DEBUG)
        through the ``logging`` logger ``"fastdse"``, which receives the
        messages in any case.
    random_state : None, int, numpy.random.RandomState or numpy.random.Generator
        Seed for every random choice (approximate modes).

    Attributes
    ----------
    n : int
        Number of points.
    mode_ : str
        The mode that runs (``"auto"`` resolved).
    kernel_ : str
        The kernel that runs (``"precomputed"`` for an affinity or graphtools graph;
        the kernel built on a stored graph's k-NN distances, e.g. ``"alpha_decay"``).
    input_type_ : str
        What ``X`` was: ``"array"``, ``"pandas"``, ``"torch"``, ``"anndata"``,
        ``"sparse"`` or ``"graphtools"``. For a stored scanpy graph, ``info["graph"]``
        of a result says which (``neighbors_key``, ``matrix``: ``"distances"`` or
        ``"connectivities"``, and the kernel's report: stored neighbours per row,
        ``truncated_rows``, ``max_cut_affinity``).
    settings : fastdse.settings.Settings
        The validated settings (frozen).
    resolved : fastdse.settings.Resolved
        What they come to on this data: mode, kernel, sigma and thresholds.
    degrees_ : numpy.ndarray of shape (n,)
        Degrees of the (anisotropy-corrected) kernel, after the operator is built.
    operator_ : scipy.sparse.csr_matrix
        The sparse operator ``A`` (``mode="approx"``), after it is built.
    timings_ : dict
        Seconds per stage, after the spectral measure is built.

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
        n_probes: int | str = "auto",
        n_steps: int = 60,
        n_deflate: int | str = "auto",
        n_landmarks: int = 2000,
        landmark_method: str = "operator",
        t_hint: Any = None,
        use_rep: str | None = None,
        neighbors_key: str | None = None,
        n_jobs: int | None = None,
        progress: bool | None = None,
        verbose: bool | int = False,
        random_state: Any = None,
    ) -> None:
        self._setup(X, Settings.from_arguments(locals()),
                    t_hint=None if t_hint is None else check_t(t_hint)[0],
                    use_rep=use_rep, neighbors_key=neighbors_key,
                    rng=check_random_state(random_state))
        self._seed = random_state

    @classmethod
    def _from_settings(cls, X: Any, settings: Settings, *, t_hint: np.ndarray | None,
                       use_rep: str | None, rng: np.random.Generator,
                       neighbors_key: str | None = None, seed: Any = None) -> DiffusionGraph:
        """Build a graph from settings validated by the caller (:func:`fastdse.dse`, DSMI).

        ``seed`` is the ``random_state`` the caller was given (recorded in results).
        """
        graph = cls.__new__(cls)
        graph._setup(X, settings, t_hint=t_hint, use_rep=use_rep, rng=rng,
                     neighbors_key=neighbors_key)
        graph._seed = seed
        return graph

    def _setup(self, X: Any, settings: Settings, *, t_hint: np.ndarray | None,
               use_rep: str | None, rng: np.random.Generator,
               neighbors_key: str | None = None) -> None:
        resolved_input = _inputs.resolve(X, "X", use_rep=use_rep, neighbors_key=neighbors_key,
                                         kernel=settings.kernel)
        self.settings = settings
        self.input_type_ = resolved_input.source
        points, affinity, self.resolved, self._stored = _validated(resolved_input, settings)
        n = self.n = (affinity if points is None else points).shape[0]
        #: dimension of the points (None for an affinity or a stored graph)
        self.d_: int | None = None if points is None else int(points.shape[1])
        self._seed = None  # the random_state given (results record it)
        self._seeds = Seeds(rng)
        points, duplicates, self.resolved, self._resolved_for_build, self._conditioning = (
            prepare_points(points, self.resolved, self._seeds))
        self._input = GraphInput(points=points, affinity=affinity, n=n, t_hint=t_hint,
                                 duplicates=duplicates)
        self._log_level = logging.INFO
        self.degrees_: np.ndarray | None = None
        self._operator: sp.csr_matrix | None = None
        self._operator_order: np.ndarray | None = None
        self.timings_: dict[str, float] = {}
        self._measure: SpectralMeasure | None = None
        self._half_measure: SpectralMeasure | None = None

    @property
    def operator_(self) -> sp.csr_matrix | None:
        """The sparse operator ``A`` (``mode="approx"``) in the points' numbering, once built."""
        if self._operator_order is not None:
            # the spectral stage ran on it renumbered (fastdse.spectral.layout): number back
            self._operator = permuted(self._operator, np.argsort(self._operator_order))
            self._operator_order = None
        return self._operator

    @property
    def mode_(self) -> str:
        """The mode that runs (``"auto"`` resolved)."""
        return self.resolved.mode

    @property
    def kernel_(self) -> str:
        """The kernel that runs (``"precomputed"`` for an affinity or graphtools graph)."""
        return self.resolved.kernel

    def spectral_measure(self) -> SpectralMeasure:
        """Return the spectral measure of the diffusion operator (computed once, cached)."""
        if self._measure is None:
            with _progress.reporting(self.settings.progress, self.settings.verbose):
                start = time.perf_counter()
                built = BUILDERS[self.mode_](self._input, self.settings,
                                            self._resolved_for_build, self._seeds)
                self.timings_.update(built.timings)
                self.timings_["spectral_measure"] = time.perf_counter() - start
                self.degrees_ = built.degrees
                self._operator, self._operator_order = built.operator, built.order
                self._half_measure = built.half_measure
                self._measure = built.measure
                if self._stored is not None and "operator" in self._measure.info:
                    # the sparse operator of an affinity: name the kernel that was built
                    self._measure.info["operator"]["kernel"] = self.kernel_
                self._log_measure(self._measure)
        return self._measure

    def _log_measure(self, measure: SpectralMeasure) -> None:
        """One log line: what ran and how long it took (INFO; DEBUG inside DSMI)."""
        if not _progress.logger.isEnabledFor(self._log_level):
            return
        info = measure.info
        parts = [f"{self!r}: {measure.method}"]
        if self.settings.mode != self.mode_:
            parts.append(f"(mode='auto' -> {self.mode_!r} for n={self.n})")
        op = info.get("operator", {})
        if op:
            parts.append(f"neighbours={op.get('neighbors', 'n/a')}, nnz={info.get('nnz')}")
        if "n_deflate" in info:
            parts.append(f"deflated {info['n_deflate']}, {info.get('n_probes')} probes x "
                         f"{info.get('n_steps')} steps")
        stages = stage_table(info)
        parts.append(f"in {self.timings_.get('spectral_measure', 0.0):.2f} s"
                     + (": " + format_stages(stages) if stages else ""))
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
        return self._dse_at(ts, scalar, check_base(base))

    def _dse_at(self, ts: np.ndarray, scalar: bool, base: float) -> DSEResult:
        """:meth:`dse` for validated diffusion times and base (DSMI's evaluations)."""
        measure = self.spectral_measure()
        values, stderr = dse_from_measure(measure, ts, base)
        extra: dict[str, Any] = {}
        # no entropy of n eigenvalues exceeds log n: an estimate above it is brought to the
        # bound (which can only reduce its error), and says so
        bound = np.log(self.n) / np.log(base)
        if not measure.is_exact and np.any(values > bound):
            extra["clipped_to_log_n"] = values > bound
            values = np.minimum(values, bound)
        if self._half_measure is not None:
            # quadrature-bias indicator: the same Lanczos run stopped at half the steps. The
            # standard error holds it with the probes' spread: where the quadrature has not
            # converged, the spread alone would be a tight error bar on a biased value
            # (docs/estimators.md, "Quadrature error")
            half_values, _ = dse_from_measure(self._half_measure, ts, base)
            bias = np.abs(values - half_values)
            extra["quadrature_bias"] = bias
            extra["probe_stderr"] = stderr.copy()
            stderr = np.hypot(stderr, bias)
        info = {
            "kernel": self.kernel_,
            "knn": self.settings.knn,
            "decay": self.settings.decay,
            "sigma": self.resolved.sigma,
            # the threshold of the kernel that ran: the sparse one in the sparse modes and
            # on stored k-NN distances
            "thresh": (self.resolved.sparse_thresh if self.kernel_ != "precomputed" and (
                self.mode_ in SPARSE_MODES or self._stored is not None)
                else self.resolved.thresh),
            **({"graph": dict(self._stored)} if self._stored is not None else {}),
            "anisotropy": self.settings.anisotropy,
            "method": measure.method,
            **({"conditioning": dict(self._conditioning)} if self._conditioning else {}),
            **provenance(self._seed, self.d_),
            **measure.info,
            **extra,
            "timings": {**self.timings_, **measure.info.get("timings", {})},
            # seconds and the process's peak memory per stage (fastdse._util.stages)
            "stages": stage_table(measure.info),
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
        points = self._input.points
        shape = "precomputed affinity" if points is None else f"d={points.shape[1]}"
        if self._stored is not None:
            shape = (f"stored graph {self._stored['neighbors_key']!r} "
                     f"({self._stored['matrix']})")
        return (
            f"DiffusionGraph(n={self.n}, {shape}, mode={self.mode_!r}, "
            f"kernel={self.kernel_!r})"
        )


def _validated(resolved_input: _inputs.Resolved, settings: Settings
               ) -> tuple[np.ndarray | None, Any, Resolved, dict[str, Any] | None]:
    """Validate the input's points or affinity; resolve the settings on it.

    Returns the points (or None), the affinity (or None), the resolved settings and,
    for a stored scanpy graph, which one was read (with the report of the kernel built
    on its k-NN distances, :mod:`fastdse.operator.stored_knn`).
    """
    stored = resolved_input.stored
    if resolved_input.distances is not None:  # fastdse's kernel on a stored k-NN graph
        _check_affinity_settings(resolved_input, settings)
        resolved = settings.resolve(resolved_input.distances.shape[0], precomputed=False,
                                    dense_affinity=False)
        K, stored = stored_knn_from_settings(resolved_input.distances, settings, resolved,
                                             resolved_input.stored or {}, "X", stacklevel=5)
        return None, K, resolved, stored
    if resolved_input.affinity is not None:
        _check_affinity_settings(resolved_input, settings)
        K = _inputs.check_affinity(resolved_input.affinity, "X")
        return None, K, settings.resolve(K.shape[0], precomputed=True,
                                         dense_affinity=not sp.issparse(K)), stored
    points = check_points(resolved_input.points, "X")
    return points, None, settings.resolve(points.shape[0], precomputed=False,
                                          dense_affinity=False), stored


def _check_affinity_settings(resolved_input: Any, settings: Settings) -> None:
    """Refuse settings that an affinity (precomputed, a stored graph, graphtools) cannot honour."""
    if resolved_input.source == "graphtools" and settings.kernel not in ("alpha_decay",
                                                                         "precomputed"):
        raise ValueError(
            f"X is a graphtools graph, which carries its own kernel; kernel must be "
            f"'precomputed' (or left at its default); got kernel={settings.kernel!r}"
        )
    if resolved_input.graph_anisotropy and settings.anisotropy:
        raise ValueError(
            f"X is a graphtools graph whose kernel already has anisotropy="
            f"{resolved_input.graph_anisotropy}; applying anisotropy={settings.anisotropy} on "
            "top would normalise twice. Pass anisotropy=0 (or build the graph with "
            "anisotropy=0)"
        )
    if settings.mode == "landmark":
        stored = resolved_input.stored
        what, fix = ("a precomputed affinity", "") if stored is None else (
            f"the graph stored under neighbors_key={stored['neighbors_key']!r}",
            ", or pass the points (use_rep)")
        raise ValueError(f"mode='landmark' needs the points to place landmarks; X is {what}. "
                         f"Use mode='exact' or mode='approx'{fix}")
