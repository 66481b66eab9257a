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
independent DSE evaluations (the class, and ``R`` random subsets of its size), run
by :func:`fastdse._util.parallel.run_tasks` (joblib: threads, processes or Dask),
each seeded by its own ``numpy.random.SeedSequence`` child of ``random_state``: the
random choices do not depend on ``n_jobs``, the backend or the order of completion
(the determinism contract is in ``docs/modes.md``).

What is rebuilt per task. Every class and every subset gets its own diffusion
operator, neighbour search included: the alpha-decay bandwidth of a point is
its distance to its ``knn``-th neighbour *within the subset*, and a subset's
graph cannot be read off the full data's graph (a point's neighbours in its
class or in a random tenth of the data are mostly not among its nearest
neighbours in the full data). The compiled numba kernels are shared (compiled
once per machine, cached on disk). An affinity (``kernel="precomputed"``, or the
kernel built once on the k-NN distances of a stored scanpy graph) is not rebuilt:
every class and subset takes the sub-matrix it induces (:mod:`fastdse.dsmi_tasks`,
where the evaluations live).
"""

from __future__ import annotations

import inspect
import time
from typing import Any

import numpy as np

from fastdse._util import inputs as _inputs
from fastdse._util import parallel as _parallel
from fastdse._util import progress as _progress
from fastdse._util.inputs import check_points
from fastdse._util.validation import (
    check_base,
    check_choice,
    check_int,
    check_random_state,
    check_t,
    describe,
)
from fastdse.cluster import Y_KINDS, _discretize, check_labels, discretize
from fastdse.dsmi_tasks import TaskResult, check_class_subgraphs, dse_task, label_value, plan
from fastdse.graph import DiffusionGraph
from fastdse.operator.kernel import DEFAULT_SIGMA, DEFAULT_THRESH
from fastdse.operator.stored_knn import stored_knn_from_settings
from fastdse.results import ClassTerm, DSMIResult, _fmt, provenance
from fastdse.settings import Settings

__all__ = ["dsmi", "discretize"]

_ONE_REPETITION = ("num_repetitions=1: one random subset per class, whose spread cannot be "
                   "measured; the standard error is NaN. Use num_repetitions >= 2 for one")

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
    neighbors_key: str | None = None,
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
        Points (e.g. embeddings): anything :func:`fastdse.dse` accepts as points
        (numpy, pandas, torch, AnnData with ``use_rep``, scipy.sparse features). With
        ``kernel="precomputed"``: an (n, n) affinity (dense or sparse) or an AnnData
        with ``neighbors_key`` (its connectivities). An AnnData with ``neighbors_key``
        and the alpha-decay or Gaussian kernel: that kernel built once on the stored
        k-NN distances. On an affinity each class and subset uses its induced
        sub-matrix (a point with no neighbour in a stored graph's subset is its own
        component), which equals rebuilding a fixed-bandwidth kernel such as the
        Gaussian on those points, but not an adaptive one (alpha-decay bandwidths stay
        those of the whole data). A point left with zero affinity in its class or
        subset (an affinity without self-affinities) raises a ``ValueError`` naming the
        class and the fix (``Z + I``).
    Y : array-like of shape (n,) or (n, d'), or str
        Discrete labels (ints, bools, strings, a pandas Series or categorical, a torch
        tensor; a column name of ``Z.obs`` when ``Z`` is an AnnData), a continuous 1-D
        variable (min-max binned into ``n_clusters`` bins) or a continuous
        multi-dimensional variable (clustered into ``n_clusters`` by
        :func:`fastdse.cluster.spectral_clusters`). Ignored when ``clusters`` is given.
    t : float or sequence of float, default 1
        Diffusion time(s); a sequence costs no more DSE evaluations.
    mode, kernel, knn, decay, sigma, thresh, anisotropy
        As in :func:`fastdse.dse`, applied to every class and subset. With
        ``mode="auto"`` each class and subset runs exact up to
        :data:`fastdse.settings.AUTO_EXACT_MAX_N` points and approximate above.
        Every class needs at least ``knn + 1`` points with the alpha-decay
        kernel (2 with the Gaussian kernel), otherwise a ``ValueError`` names
        the class and its size.
    n_clusters : int, default 10
        Bins or clusters for a continuous Y.
    num_repetitions : int, default 5
        Random subsets per class for the unconditional term. With 1, the
        subsets' spread cannot be measured and ``stderr`` is NaN (``info`` says why).
    use_rep, neighbors_key : str, optional
        AnnData ``Z`` only, as in :func:`fastdse.dse`: a key of ``Z.obsm``, or of ``Z.uns``.
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
    random_state : None, int, numpy.random.RandomState or numpy.random.Generator
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
    # the graph settings dsmi does not expose keep DiffusionGraph's defaults
    settings = Settings.from_arguments({**_GRAPH_DEFAULTS, **locals()})
    Zc, settings, stored = _points_or_affinity(Z, settings, use_rep, neighbors_key)
    ts, scalar = check_t(t)
    num_repetitions = check_int(num_repetitions, "num_repetitions", low=1)
    n_clusters = check_int(n_clusters, "n_clusters", low=2)
    y_kind = check_choice(y_kind, "y_kind", Y_KINDS)
    base = check_base(base)
    rng = check_random_state(random_state)
    with _progress.reporting(False, settings.verbose):  # a stderr log handler when verbose
        labels, name = _class_labels(Zc.shape[0], Y, clusters, n_clusters=n_clusters,
                                     y_kind=y_kind, rng=rng, n_jobs=settings.n_jobs)
        t_labels = time.perf_counter() - start
        _progress.logger.debug("dsmi: labels from %s in %.2f s", name, t_labels)
        classes, inverse, counts = _classes(labels, name, settings)
        if settings.kernel == "precomputed":
            check_class_subgraphs(Zc, inverse, classes, name)
        tasks = plan(classes, counts, num_repetitions, rng)
        n_jobs = _parallel.cap_n_jobs(settings.n_jobs, len(tasks))
        outer = _parallel.outer_n_jobs(n_jobs)
        t_tasks = time.perf_counter()
        _progress.logger.info(
            "dsmi: n=%d, d=%d, %d classes, %d DSE evaluations (%d per class), %d worker(s)",
            Zc.shape[0], Zc.shape[1] if settings.kernel != "precomputed" else Zc.shape[0],
            len(classes), len(tasks), num_repetitions + 1, outer)
        # one core each when evaluations run side by side (or when asked for one core)
        inner = 1 if (outer > 1 or n_jobs == 1) else None
        task_settings = settings.replace(n_jobs=inner, progress=False, verbose=0)
        results = _parallel.run_tasks(
            dse_task, (Zc, inverse, task_settings, ts, base), tasks, n_jobs=n_jobs,
            progress=settings.progress, desc="DSMI", unit="DSE",
        )
        t_tasks = time.perf_counter() - t_tasks
        timings = {"labels": t_labels, "dse_wall": t_tasks,
                   "dse_sum": float(sum(r.seconds for r in results))}
        res = _combine(results, classes, counts, labels, ts, scalar, base, num_repetitions,
                       outer, timings, start)
        # what produced the number: the kernel's settings, the seed, d and the version
        res.info.update(kernel=settings.kernel, knn=settings.knn, decay=settings.decay,
                        sigma=DEFAULT_SIGMA if settings.sigma is None else settings.sigma,
                        thresh=DEFAULT_THRESH.get(settings.kernel) if settings.thresh is None
                        else settings.thresh,
                        anisotropy=settings.anisotropy,
                        **provenance(random_state, None if settings.kernel == "precomputed"
                                     else int(Zc.shape[1])))
        if stored is not None:
            res.info["graph"] = stored
        _progress.logger.info(
            "dsmi: %s +/- %s (t=%s) in %.2f s (DSE evaluations: %.2f s wall, %.2f s summed)",
            _fmt(res.value), _fmt(res.stderr), _fmt(ts), res.info["timings"]["total"],
            t_tasks, timings["dse_sum"])
        return res


#: DiffusionGraph's defaults for the graph settings that dsmi does not take.
_GRAPH_DEFAULTS = {name: p.default for name, p in
                   inspect.signature(DiffusionGraph).parameters.items()
                   if p.default is not inspect.Parameter.empty}


def _points_or_affinity(Z: Any, settings: Settings, use_rep: str | None,
                        neighbors_key: str | None
                        ) -> tuple[Any, Settings, dict[str, Any] | None]:
    """Z as validated points, or as a validated affinity, with the settings of its evaluations.

    An affinity is given (``kernel="precomputed"``: a matrix, or the connectivities of
    a stored scanpy graph) or built here once, on the whole of Z, from the k-NN
    distances of a stored graph (``neighbors_key`` with the alpha-decay or Gaussian
    kernel, :mod:`fastdse.operator.stored_knn`); its evaluations then take their
    sub-matrices (``kernel="precomputed"``). Returns Z, the settings, and which stored
    graph was read (None for other inputs).
    """
    resolved = _inputs.resolve(Z, "Z", use_rep=use_rep, neighbors_key=neighbors_key,
                               kernel=settings.kernel)
    if resolved.source == "graphtools":
        raise TypeError(
            "Z must be points for dsmi; got a graphtools graph. DSMI rebuilds the kernel on "
            "every class and random subset, which needs the points themselves (pass the "
            "data the graph was built from); a fixed-bandwidth affinity matrix can be passed "
            "with kernel='precomputed'"
        )
    if resolved.points is not None:
        return check_points(resolved.points, "Z"), settings, None
    if settings.mode == "landmark":
        what = ("a precomputed affinity" if resolved.stored is None else
                f"the graph stored under neighbors_key={neighbors_key!r}")
        raise ValueError(f"mode='landmark' needs points; Z is {what}. Use mode='exact' or "
                         "mode='approx'")
    if resolved.distances is None:
        return _inputs.check_affinity(resolved.affinity, "Z"), settings, resolved.stored
    n = resolved.distances.shape[0]
    K, stored = stored_knn_from_settings(
        resolved.distances, settings, settings.resolve(n, precomputed=False,
                                                       dense_affinity=False),
        resolved.stored or {}, "Z", stacklevel=3)
    return K, settings.replace(kernel="precomputed"), stored


def _class_labels(n: int, Y: Any, clusters: Any, *, n_clusters: int, y_kind: str,
                  rng: np.random.Generator, n_jobs: int | None) -> tuple[np.ndarray, str]:
    """Return the class of every point (from ``clusters`` or by discretizing Y) and its name."""
    if clusters is not None:
        labels = np.asarray(_inputs.to_numpy(clusters, "clusters"))
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        if labels.ndim != 1:
            raise ValueError(
                f"clusters must be 1-D labels of length n; got {describe(labels)}")
        labels = check_labels(labels, "clusters")
        name = "clusters"
    else:
        if Y is None:
            raise ValueError("Y is None: pass the variable (labels, or a continuous variable "
                             "to bin or cluster), or its labels as clusters=")
        y_len = np.shape(Y)[0] if np.ndim(Y) > 0 else None
        if y_len != n:
            raise ValueError(
                f"Z and Y must have the same number of points; got Z with {n} and Y with "
                f"{y_len if y_len is not None else 'a scalar'}"
            )
        labels = _discretize(Y, n_clusters, y_kind, rng, n_jobs)
        name = "Y"
    if labels.shape[0] != n:
        raise ValueError(
            f"Z and {name} must have the same number of points; got Z with {n} and {name} "
            f"with {labels.shape[0]}"
        )
    return labels, name


def _classes(labels: np.ndarray, name: str, settings: Settings
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Classes, each point's class index and the class sizes; refuse classes too small."""
    try:
        classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    except TypeError as exc:
        raise TypeError(
            f"{name} labels must be mutually comparable (one type); {exc}") from exc
    inverse = inverse.reshape(-1)
    if classes.shape[0] < 2:
        raise ValueError(
            f"{name} has a single class ({label_value(classes[0])!r}); DSMI needs at least "
            "2 classes"
        )
    alpha_decay = settings.kernel == "alpha_decay"
    min_size = settings.knn + 1 if alpha_decay else 2
    small = counts < min_size
    if np.any(small):
        i = int(np.argmax(small))
        need = (f"at least knn + 1 = {min_size} points for kernel='alpha_decay'"
                if alpha_decay else "at least 2 points")
        raise ValueError(
            f"class {label_value(classes[i])!r} of {name} has {counts[i]} point(s); every "
            f"class needs {need}. Merge rare classes, use fewer bins (n_clusters) or a "
            "smaller knn."
        )
    n_deflate = settings.n_deflate
    if not isinstance(n_deflate, str) and n_deflate > counts.min() - 1:
        i = int(np.argmin(counts))
        raise ValueError(
            f"n_deflate must be <= {counts[i] - 1} (the size of the smallest class, "
            f"{label_value(classes[i])!r} of {name} with {counts[i]} points, minus 1); got "
            f"{n_deflate}"
        )
    return classes, inverse, counts


def _combine(results: list[TaskResult], classes: np.ndarray, counts: np.ndarray,
             labels: np.ndarray, ts: np.ndarray, scalar: bool, base: float,
             num_repetitions: int, outer: int, timings: dict[str, float], start: float
             ) -> DSMIResult:
    """DSMI, its standard error and the per-class terms from the evaluations."""
    n_classes, m = len(classes), ts.shape[0]
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
    # never less than the probe noise alone; with one subset it is unknown (NaN)
    probe_var = (rep_err**2).sum(axis=1) / num_repetitions**2
    if num_repetitions > 1:
        uncond_var = np.maximum(reps.var(axis=1, ddof=1) / num_repetitions, probe_var)
    else:
        uncond_var = np.full_like(probe_var, np.nan)
    var = uncond_var + cond_err**2
    per_class = [
        ClassTerm(
            label=label_value(classes[c]),
            size=int(counts[c]),
            conditional=float(cond[c, 0]) if scalar else cond[c].copy(),
            unconditional=float(uncond[c, 0]) if scalar else uncond[c].copy(),
            unconditional_reps=reps[c, :, 0].copy() if scalar else reps[c].copy(),
        )
        for c in range(n_classes)
    ]
    n = labels.shape[0]
    p = counts / n
    value = (p[:, None] * (uncond - cond)).sum(axis=0)
    stderr = np.sqrt((p[:, None] ** 2 * var).sum(axis=0))
    info: dict[str, Any] = {
        "num_repetitions": num_repetitions,
        "n_classes": int(n_classes),
        "n_evaluations": len(results),
        "n_jobs": outer,
        "timings": {**timings, "total": time.perf_counter() - start},
    }
    if "approx" in modes:
        info["quadrature_bias"] = float(bias[0]) if scalar else bias
    if num_repetitions == 1:
        info["stderr_note"] = _ONE_REPETITION
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
