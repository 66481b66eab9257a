r"""Diffusion Spectral Mutual Information between a point cloud and a variable.

.. math::

    \mathrm{DSMI}_t(Z; Y) = \sum_y p(y) \left[\overline{\mathrm{DSE}_t}(Z_{n_y})
        - \mathrm{DSE}_t(Z \mid Y = y)\right]

where :math:`\overline{\mathrm{DSE}_t}(Z_{n_y})` is the mean DSE of
``num_repetitions`` random subsets of Z with the size :math:`n_y` of class
``y`` (DSE grows with the number of points, so sizes must match). This is the
estimator of the reference implementation (``dse-dsmi``).

The variable Y may be discrete labels of any dtype, a continuous 1-D variable
(min-max binned into ``n_clusters`` equal bins), or a continuous
multi-dimensional variable (clustered into ``n_clusters`` clusters by
:func:`fastdse.cluster.spectral_clusters`, a sparse kNN-graph spectral
clustering that scales to millions of points).

Work units. With ``C`` classes and ``R`` repetitions DSMI is ``C (R + 1)``
independent DSE evaluations: one per class (the conditional term) and ``R``
per class on random subsets of its size. Each is one task of
:func:`fastdse._util.parallel.run_tasks` (joblib: threads, processes or a Dask
cluster, ``n_jobs``) with its own seed, spawned from ``random_state`` by
``numpy.random.SeedSequence``: class ``c`` gets child ``c``, whose children
``0`` (the class) and ``1..R`` (the subsets) seed the subset draw and every
random choice of that evaluation. No stream is shared between tasks, so the
numbers do not depend on ``n_jobs``, the backend, or the order of completion.

What is rebuilt per task. Every class and every subset gets its own diffusion
operator, neighbour search included: the alpha-decay bandwidth of a point is
its distance to its ``knn``-th neighbour *within the subset*, and a subset's
graph cannot be read off the full data's graph (a point's neighbours in its
class or in a random tenth of the data are mostly not among its nearest
neighbours in the full data). The compiled numba kernels are shared (compiled
once per machine, cached on disk).
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import threadpoolctl

from fastdse._util import inputs as _inputs
from fastdse._util import parallel as _parallel
from fastdse._util import progress as _progress
from fastdse._util.inputs import check_points
from fastdse._util.validation import (
    check_choice,
    check_float,
    check_int,
    check_random_state,
    check_t,
    describe,
)
from fastdse.graph import MODES, NEIGHBOR_METHODS, DiffusionGraph
from fastdse.operator.kernel import KERNELS
from fastdse.operator.neighbors import numba_threads
from fastdse.results import ClassTerm, DSMIResult, _fmt

__all__ = ["dsmi", "discretize"]

_Y_KINDS = ("auto", "discrete", "continuous")


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
    random_state : None, int or numpy.random.Generator
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
    >>> from fastdse.mutual_information import discretize
    >>> discretize(np.array([0.0, 0.05, 0.5, 1.0]), n_clusters=2)
    array([1, 1, 2, 2])
    >>> discretize(np.array(["cat", "dog", "cat"]))
    array(['cat', 'dog', 'cat'], dtype='<U3')
    """
    kind = check_choice(kind, "kind", _Y_KINDS)
    arr = np.asarray(_inputs.to_numpy(Y, "Y"))
    if arr.ndim == 0 or arr.ndim > 2:
        raise ValueError(
            f"Y must be 1-D (labels or a scalar variable) or 2-D (n, d'); got {describe(arr)}"
        )
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    n = arr.shape[0]
    n_clusters = check_int(n_clusters, "n_clusters", low=2)
    n_jobs = _parallel.check_n_jobs(n_jobs)
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
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise ValueError("Y contains NaN or infinite labels; all labels must be finite")
        if arr.dtype == object and any(v is None for v in arr):
            raise ValueError("Y contains None labels; every point needs a label")
        return arr
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
    from fastdse.cluster import spectral_clusters

    seed = int(check_random_state(random_state).integers(2**31 - 1))
    return spectral_clusters(arr, n_clusters, random_state=seed, n_jobs=n_jobs)


# --------------------------------------------------------------------------- tasks


@dataclass(frozen=True)
class _Task:
    """One DSE evaluation: class ``cls`` itself (``rep = -1``) or its subset ``rep``."""

    cls: int
    rep: int
    size: int
    seed: np.random.SeedSequence


@dataclass(frozen=True)
class _TaskResult:
    cls: int
    rep: int
    value: np.ndarray
    stderr: np.ndarray
    mode: str
    quadrature_bias: np.ndarray | None
    seconds: float


def _dse_task(
    Z: np.ndarray,
    inverse: np.ndarray,
    graph_kw: dict[str, Any],
    ts: np.ndarray,
    base: float,
    inner_n_jobs: int | None,
    task: _Task,
) -> _TaskResult:
    """DSE of class ``task.cls`` or of a random subset of Z of its size (runs in a worker)."""
    start = time.perf_counter()
    rng = np.random.default_rng(task.seed)
    if task.rep < 0:
        rows = np.flatnonzero(inverse == task.cls)
    else:
        rows = np.sort(rng.choice(Z.shape[0], size=task.size, replace=False))
    kw = dict(graph_kw)
    if kw["kernel"] == "precomputed":
        # the induced sub-affinity of the evaluation's points
        data = Z[rows][:, rows] if sp.issparse(Z) else Z[np.ix_(rows, rows)]
    else:
        data = Z[rows]
    if kw["kernel"] == "gaussian":
        # knn only sizes the first neighbour search of a fixed-bandwidth kernel (which is
        # then widened to the kernel's radius): cap it for small classes
        kw["knn"] = min(kw["knn"], task.size - 1)
    with contextlib.ExitStack() as stack:
        if inner_n_jobs == 1:
            stack.enter_context(numba_threads(1))
            stack.enter_context(threadpoolctl.threadpool_limits(limits=1, user_api="blas"))
        graph = DiffusionGraph(data, t_hint=ts, n_jobs=inner_n_jobs, random_state=rng,
                               progress=False, **kw)
        graph._log_level = logging.DEBUG  # one INFO line per DSMI, not per evaluation
        res = graph.dse(ts, base=base)
    bias = res.info.get("quadrature_bias")
    return _TaskResult(
        cls=task.cls,
        rep=task.rep,
        value=np.atleast_1d(np.asarray(res.value, dtype=np.float64)),
        stderr=np.atleast_1d(np.asarray(res.stderr, dtype=np.float64)),
        mode=res.mode,
        quadrature_bias=None if bias is None else np.atleast_1d(np.asarray(bias)),
        seconds=time.perf_counter() - start,
    )


def _label_value(label: Any) -> Any:
    return label.item() if hasattr(label, "item") else label


# --------------------------------------------------------------------------- dsmi


def dsmi(
    Z: Any,
    Y: Any,
    t: Any = 1,
    *,
    mode: str = "auto",
    kernel: str = "alpha_decay",
    knn: int = 5,
    decay: float = 40.0,
    sigma: float | None = None,
    thresh: float | None = None,
    anisotropy: float = 0.0,
    n_clusters: int = 10,
    num_repetitions: int = 5,
    y_kind: str = "auto",
    clusters: Any = None,
    base: float = 2.0,
    neighbors: str = "auto",
    n_probes: int = 20,
    n_steps: int = 60,
    n_deflate: int | str = "auto",
    use_rep: str | None = None,
    n_jobs: int | None = None,
    progress: bool | None = None,
    verbose: bool | int = False,
    random_state: Any = None,
) -> DSMIResult:
    r"""Diffusion Spectral Mutual Information between a point cloud Z and a variable Y.

    .. math::

        \mathrm{DSMI}_t(Z; Y) = \sum_y p(y) \left[\overline{\mathrm{DSE}_t}(Z_{n_y})
            - \mathrm{DSE}_t(Z \mid Y = y)\right]

    with :math:`\overline{\mathrm{DSE}_t}(Z_{n_y})` the mean DSE of
    ``num_repetitions`` random subsets of Z of the size of class ``y``.

    Parameters
    ----------
    Z : array-like of shape (n, d)
        Points (e.g. embeddings): anything :func:`fastdse.dse` accepts as
        points (numpy, pandas, torch, AnnData with ``use_rep``, scipy.sparse
        features). With ``kernel="precomputed"``: an (n, n) affinity matrix
        (dense or sparse); every class and subset then uses its induced
        sub-matrix, which equals rebuilding the kernel on those points for a
        fixed-bandwidth kernel such as the Gaussian, but not for adaptive
        kernels (alpha-decay bandwidths depend on which neighbours are present).
    Y : array-like of shape (n,) or (n, d'), or str
        Discrete labels (ints, bools, strings, a pandas Series or categorical,
        a torch tensor; a column name of ``Z.obs`` when ``Z`` is an AnnData),
        a continuous 1-D variable
        (min-max binned into ``n_clusters`` bins) or a continuous
        multi-dimensional variable (clustered into ``n_clusters`` by
        :func:`fastdse.cluster.spectral_clusters`). Ignored when ``clusters``
        is given.
    t : float or sequence of float, default 1
        Diffusion time(s); a sequence costs no more DSE evaluations.
    mode, kernel, knn, decay, sigma, thresh, anisotropy
        As in :func:`fastdse.dse`, applied to every class and subset. With
        ``mode="auto"`` each class and subset runs exact up to
        :data:`fastdse.graph.AUTO_EXACT_MAX_N` points and approximate above.
        Every class needs at least ``knn + 1`` points with the alpha-decay
        kernel (2 with the Gaussian kernel), otherwise a ``ValueError`` names
        the class and its size.
    n_clusters : int, default 10
        Bins or clusters for a continuous Y.
    num_repetitions : int, default 5
        Random subsets per class for the unconditional term.
    use_rep : str, optional
        AnnData ``Z`` only: ``"X"`` (default) or a key of ``Z.obsm``.
    y_kind : {"auto", "discrete", "continuous"}, default "auto"
        How to read Y, see :func:`discretize`.
    clusters : array-like of shape (n,), optional
        Precomputed labels to use instead of discretising Y. Clustering a
        multi-dimensional Y is the costly part and does not depend on Z:
        compute it once with :func:`discretize` and reuse it across calls
        (e.g. every epoch against the same inputs).
    base : float, default 2
        Logarithm base (2: bits).
    neighbors, n_probes, n_steps, n_deflate
        Settings of ``mode="approx"``, as in :func:`fastdse.dse`.
    n_jobs : int, optional
        DSE evaluations run at a time, through joblib. ``None``: one at a
        time, each using all cores in its kernels (or the ``n_jobs`` of an
        active ``joblib.parallel_config`` / ``parallel_backend`` context, e.g.
        every worker thread of a Dask cluster); ``1``: one at a time on one
        core; ``k > 1`` (``-1``: all cores): ``k`` at a time, each on one core.
        The result does not depend on ``n_jobs`` or the backend.
    progress : bool, optional
        Progress bar over the DSE evaluations, on stderr. ``None``: only when
        stderr is a terminal; ``True``: always (e.g. in a notebook);
        ``False``: never.
    verbose : bool or int, default False
        Log the plan (classes, evaluations, workers) and timings to stderr
        (``True``/1: INFO; 2: DEBUG adds one line per DSE evaluation) through
        the ``logging`` logger ``"fastdse"``.
    random_state : None, int or numpy.random.Generator
        Seed for the subsets, the clustering and the approximate modes.

    Returns
    -------
    DSMIResult
        ``.value``, ``.stderr``, ``.per_class`` (label, size, conditional DSE,
        matched unconditional DSE) and ``.clusters``. ``.stderr`` combines, per
        class, the probe noise of the class's estimate and the uncertainty of
        the mean over subsets (their spread, which holds their probe noise,
        and never less than that probe noise alone), weighted by
        :math:`p(y)^2`. ``.info`` has ``n_evaluations``, ``n_jobs`` (tasks at a
        time), ``timings`` and, for approximate evaluations, the largest
        ``quadrature_bias`` indicator.

    Examples
    --------
    >>> import numpy as np
    >>> import fastdse
    >>> rng = np.random.default_rng(0)
    >>> labels = np.repeat([0, 1, 2], 100)
    >>> Z = rng.normal(size=(300, 5)) + 20 * labels[:, None]
    >>> res = fastdse.dsmi(Z, labels, kernel="gaussian", sigma=5, random_state=0)
    >>> round(res.value, 2)  # three equal, separated classes: log2(3) = 1.58 bits
    1.52
    >>> shuffled = fastdse.dsmi(Z, rng.permutation(labels), kernel="gaussian", sigma=5,
    ...                         random_state=0)
    >>> abs(shuffled.value) < 0.05
    True
    """
    start = time.perf_counter()
    if isinstance(Y, str) and _inputs.is_anndata(Z):
        if Y not in Z.obs:
            raise ValueError(
                f"Y={Y!r} is not a column of Z.obs; available columns: "
                f"{list(Z.obs.columns) or 'none'}"
            )
        Y = Z.obs[Y]
    if clusters is None:
        Y = _inputs.to_numpy(Y, "Y")
    if isinstance(t, str):
        raise TypeError(
            f"t must be a positive number or a sequence of them for dsmi; got {t!r}. Choose t "
            "on the whole cloud first, e.g. t = fastdse.dse(Z, t='auto').t"
        )
    kernel = check_choice(kernel, "kernel", (*KERNELS, "precomputed"))
    resolved = _inputs.resolve(Z, "Z", use_rep=use_rep, precomputed=kernel == "precomputed")
    if resolved.source == "graphtools":
        raise TypeError(
            "Z must be points for dsmi; got a graphtools graph. DSMI rebuilds the kernel on "
            "every class and random subset, which needs the points themselves (pass the "
            "data the graph was built from); a fixed-bandwidth affinity matrix can be passed "
            "with kernel='precomputed'"
        )
    if kernel == "precomputed":
        if mode == "landmark":
            raise ValueError("mode='landmark' needs points; Z is a precomputed affinity")
        Zc = _inputs.check_affinity(resolved.affinity, "Z")
    else:
        Zc = check_points(resolved.points, "Z")
    ts, scalar = check_t(t)
    mode = check_choice(mode, "mode", MODES)
    knn = check_int(knn, "knn", low=1)
    decay = check_float(decay, "decay", low=0.0, low_open=True)
    if sigma is not None:
        sigma = check_float(sigma, "sigma", low=0.0, low_open=True)
    if thresh is not None:
        thresh = check_float(thresh, "thresh", low=0.0, high=1.0, high_open=True)
    anisotropy = check_float(anisotropy, "anisotropy", low=0.0, high=1.0)
    neighbors = check_choice(neighbors, "neighbors", NEIGHBOR_METHODS)
    n_probes = check_int(n_probes, "n_probes", low=2)
    n_steps = check_int(n_steps, "n_steps", low=2)
    if isinstance(n_deflate, str):
        check_choice(n_deflate, "n_deflate", ("auto",))
    else:
        n_deflate = check_int(n_deflate, "n_deflate", low=0)
    num_repetitions = check_int(num_repetitions, "num_repetitions", low=1)
    base = check_float(base, "base", low=0.0, low_open=True)
    if base == 1.0:
        raise ValueError("base must be a positive number other than 1; got 1.0")
    n_jobs = _parallel.check_n_jobs(n_jobs)
    show = _parallel.show_progress(progress)
    verbose = _progress.check_verbose(verbose)
    rng = check_random_state(random_state)
    with _progress.reporting(False, verbose):  # a stderr log handler when verbose
        n = Zc.shape[0]
        if clusters is not None:
            labels = np.asarray(_inputs.to_numpy(clusters, "clusters"))
            if labels.ndim == 2 and labels.shape[1] == 1:
                labels = labels[:, 0]
            if labels.ndim != 1:
                raise ValueError(
                    f"clusters must be 1-D labels of length n; got {describe(labels)}")
            name = "clusters"
        else:
            y_len = np.shape(Y)[0] if np.ndim(Y) > 0 else None
            if y_len != n:
                raise ValueError(
                    f"Z and Y must have the same number of points; got Z with {n} and Y with "
                    f"{y_len if y_len is not None else 'a scalar'}"
                )
            labels = discretize(Y, n_clusters=n_clusters, kind=y_kind, random_state=rng,
                                n_jobs=n_jobs)
            name = "Y"
        if labels.shape[0] != n:
            raise ValueError(
                f"Z and {name} must have the same number of points; got Z with {n} and {name} "
                f"with {labels.shape[0]}"
            )
        t_labels = time.perf_counter() - start
        _progress.logger.debug("dsmi: labels from %s in %.2f s", name, t_labels)
        try:
            classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
        except TypeError as exc:
            raise TypeError(
                f"{name} labels must be mutually comparable (one type); {exc}") from exc
        inverse = inverse.reshape(-1)
        if classes.shape[0] < 2:
            raise ValueError(
                f"{name} has a single class ({_label_value(classes[0])!r}); DSMI needs at least "
                "2 classes"
            )
        min_size = knn + 1 if kernel == "alpha_decay" else 2
        small = counts < min_size
        if np.any(small):
            i = int(np.argmax(small))
            need = (f"at least knn + 1 = {min_size} points for kernel='alpha_decay'"
                    if kernel == "alpha_decay" else "at least 2 points")
            raise ValueError(
                f"class {_label_value(classes[i])!r} of {name} has {counts[i]} point(s); every "
                f"class needs {need}. Merge rare classes, use fewer bins (n_clusters) or a "
                "smaller knn."
            )
        if not isinstance(n_deflate, str) and n_deflate > counts.min() - 1:
            i = int(np.argmin(counts))
            raise ValueError(
                f"n_deflate must be <= {counts[i] - 1} (the size of the smallest class, "
                f"{_label_value(classes[i])!r} of {name} with {counts[i]} points, minus 1); got "
                f"{n_deflate}"
            )
        graph_kw = dict(
            mode=mode, kernel=kernel, knn=knn, decay=decay, sigma=sigma, thresh=thresh,
            anisotropy=anisotropy, neighbors=neighbors, n_probes=n_probes, n_steps=n_steps,
            n_deflate=n_deflate,
        )
        n_classes = classes.shape[0]
        # one independent stream per class, and per task within it: results depend neither on
        # n_jobs nor on the order in which tasks finish
        class_seeds = np.random.SeedSequence(int(rng.integers(2**63 - 1))).spawn(n_classes)
        tasks = []
        for c in range(n_classes):
            task_seeds = class_seeds[c].spawn(num_repetitions + 1)
            tasks.append(_Task(c, -1, int(counts[c]), task_seeds[0]))
            tasks.extend(_Task(c, r, int(counts[c]), task_seeds[r + 1])
                         for r in range(num_repetitions))
        # largest first: balances the load when tasks run side by side (order changes no number)
        tasks.sort(key=lambda task: -task.size)
        outer = _parallel.outer_n_jobs(n_jobs)
        inner = 1 if (outer > 1 or n_jobs == 1) else None
        t_tasks = time.perf_counter()
        _progress.logger.info(
            "dsmi: n=%d, d=%d, %d classes, %d DSE evaluations (%d per class), %d worker(s)",
            n, Zc.shape[1] if kernel != "precomputed" else n, n_classes, len(tasks),
            num_repetitions + 1, outer)
        results = _parallel.run_tasks(
            _dse_task, (Zc, inverse, graph_kw, ts, base, inner), tasks, n_jobs=n_jobs,
            progress=show, desc="DSMI", unit="DSE",
        )
        t_tasks = time.perf_counter() - t_tasks

        m = ts.shape[0]
        cond = np.empty((n_classes, m))
        cond_err = np.empty((n_classes, m))
        reps = np.empty((n_classes, num_repetitions, m))
        rep_err = np.empty((n_classes, num_repetitions, m))
        modes = set()
        bias = np.zeros(m)
        for res in results:
            modes.add(res.mode)
            if res.quadrature_bias is not None:
                bias = np.maximum(bias, res.quadrature_bias)
            if res.rep < 0:
                cond[res.cls], cond_err[res.cls] = res.value, res.stderr
            else:
                reps[res.cls, res.rep], rep_err[res.cls, res.rep] = res.value, res.stderr
        uncond = reps.mean(axis=1)
        # the mean over subsets: its spread holds the subsets' variation and their probe noise;
        # never less than the probe noise alone (the only part left with one repetition)
        probe_var = (rep_err**2).sum(axis=1) / num_repetitions**2
        if num_repetitions > 1:
            uncond_var = np.maximum(reps.var(axis=1, ddof=1) / num_repetitions, probe_var)
        else:
            uncond_var = probe_var
        var = uncond_var + cond_err**2
        per_class = [
            ClassTerm(
                label=_label_value(classes[c]),
                size=int(counts[c]),
                conditional=float(cond[c, 0]) if scalar else cond[c].copy(),
                unconditional=float(uncond[c, 0]) if scalar else uncond[c].copy(),
                unconditional_reps=reps[c, :, 0].copy() if scalar else reps[c].copy(),
            )
            for c in range(n_classes)
        ]
        p = counts / n
        value = (p[:, None] * (uncond - cond)).sum(axis=0)
        stderr = np.sqrt((p[:, None] ** 2 * var).sum(axis=0))
        info: dict[str, Any] = {
            "num_repetitions": num_repetitions,
            "n_classes": int(n_classes),
            "n_evaluations": len(tasks),
            "n_jobs": outer,
            "timings": {
                "labels": t_labels,
                "dse_wall": t_tasks,
                "dse_sum": float(sum(r.seconds for r in results)),
                "total": time.perf_counter() - start,
            },
        }
        if "approx" in modes:
            info["quadrature_bias"] = float(bias[0]) if scalar else bias
        _progress.logger.info(
            "dsmi: %s +/- %s (t=%s) in %.2f s (DSE evaluations: %.2f s wall, %.2f s summed)",
            _fmt(value), _fmt(stderr), _fmt(ts), info["timings"]["total"], t_tasks,
            info["timings"]["dse_sum"])
        return DSMIResult(
            value=float(value[0]) if scalar else value,
            stderr=float(stderr[0]) if scalar else stderr,
            per_class=per_class,
            clusters=labels,
            t=float(ts[0]) if scalar else ts,
            n=n,
            mode=modes.pop() if len(modes) == 1 else "mixed",
            base=base,
            info=info,
        )
