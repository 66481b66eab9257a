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
from fastdse.dsmi_estimate import estimates
from fastdse.dsmi_tasks import check_class_subgraphs, label_value
from fastdse.graph import DiffusionGraph
from fastdse.operator.bandwidth import is_rule
from fastdse.operator.kernel import DEFAULT_THRESH
from fastdse.operator.stored_knn import stored_knn_from_settings
from fastdse.results import DSMIResult, _fmt, provenance
from fastdse.settings import Settings

__all__ = ["dsmi", "discretize"]


# --------------------------------------------------------------------------- dsmi


def dsmi(
    Z: Any,
    Y: Any,
    t: Any = 1,
    *,
    mode: str = "auto",
    kernel: str = "gaussian",
    knn: int = 5,
    decay: float = 40.0,
    sigma: float | str | None = "knn",
    thresh: float | None = None,
    anisotropy: float = 0.0,
    n_clusters: int = 10,
    num_repetitions: int = 5,
    max_points: int | None = 5000,
    n_subsamples: int = 5,
    y_kind: str = "auto",
    clusters: Any = None,
    base: float = 2.0,
    neighbors: str = "auto",
    n_probes: int | str = "auto",
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
    t : float, sequence of float or "auto", default 1
        Diffusion time(s); a sequence costs no more DSE evaluations. ``"auto"``: the
        knee of DSE(Z) over t = 1..100 (as :func:`fastdse.dse`), chosen once on Z
        (on the first subsample above ``max_points``) with DSMI's kernel and used for
        every term; ``info["t_auto"]``.
    kernel : {"gaussian", "alpha_decay", "precomputed"}, default "gaussian"
        DSMI's default is the Gaussian kernel with one bandwidth for Z and all its
        classes and subsets (see ``sigma``), which the study in
        ``docs/benchmarks/dsmi_defaults.md`` found to answer textbook cases right at
        t = 1. ``"alpha_decay"`` (the default of :func:`fastdse.dse`) rebuilds adaptive
        bandwidths inside every class and subset, which hides cluster-level
        information at small t.
    sigma : float, "knn" or None, default "knn"
        Gaussian bandwidth. ``"knn"``: the median over the distinct points of Z of
        the distance to their 30th nearest neighbour
        (:func:`fastdse.operator.bandwidth.knn_sigma`), measured once per point set
        (Z, or each subsample) and reported in ``info["sigma"]``. ``None``: the
        reference's 10.
    mode, knn, decay, thresh, anisotropy
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
    max_points : int or None, default 5000
        Points (not an affinity) above this many are estimated on ``n_subsamples``
        class-stratified subsamples of ``max_points`` points (each class keeps its
        share, at least the points its kernel needs; disjoint while a class has
        points enough), each as a data set of its own, and the values averaged:
        DSMI at ``max_points`` points. ``None``: all points.
    n_subsamples : int, default 5
        Subsamples when Z has more than ``max_points`` points.
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
        :math:`p(y)^2`; above ``max_points`` it is the spread of the subsample values
        over sqrt(``n_subsamples``), never less than their own errors pooled.
        ``.info`` has the kernel settings (``sigma``: the bandwidth that ran,
        ``sigma_rule``), ``null_stderr`` (the spread of DSMI when Y is independent
        of Z, :math:`\sqrt{\sum_y p(y)^2 (1 + 1/R)\,\mathrm{var}_y}`: test a
        value against 0 with it), ``n_evaluations``, ``n_jobs`` (tasks at a time),
        ``timings``, for approximate evaluations the largest ``quadrature_bias``
        indicator, and above ``max_points`` ``n_subsamples``, ``subsample_sizes``,
        ``subsample_values`` and ``sigmas``.

    Examples
    --------
    >>> import numpy as np
    >>> import fastdse
    >>> rng = np.random.default_rng(0)
    >>> labels = np.repeat([0, 1, 2], 100)
    >>> Z = rng.normal(size=(300, 5)) + 20 * labels[:, None]
    >>> res = fastdse.dsmi(Z, labels, random_state=0)
    >>> res.value > 10 * res.stderr  # three separated classes: clearly positive
    True
    >>> shuffled = fastdse.dsmi(Z, rng.permutation(labels), random_state=0)
    >>> abs(shuffled.value) < 3 * shuffled.info["null_stderr"]  # independent labels: ~0
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
    t_auto = isinstance(t, str)
    if t_auto and t != "auto":
        raise TypeError(
            f"t must be a positive finite number, a sequence of them, or 'auto'; got {t!r}")
    # the graph settings dsmi does not expose keep DiffusionGraph's defaults
    settings = Settings.from_arguments({**_GRAPH_DEFAULTS, **locals()})
    Zc, settings, stored = _points_or_affinity(Z, settings, use_rep, neighbors_key)
    ts, scalar = (np.ones(1), True) if t_auto else check_t(t)
    num_repetitions = check_int(num_repetitions, "num_repetitions", low=1)
    max_points = None if max_points is None else check_int(max_points, "max_points", low=4)
    n_subsamples = check_int(n_subsamples, "n_subsamples", low=1)
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
        res = estimates(Zc, inverse, labels, classes, counts, settings, ts, t_auto=t_auto,
                        scalar=scalar, base=base, num_repetitions=num_repetitions,
                        max_points=max_points, n_subsamples=n_subsamples, rng=rng)
        ts = np.atleast_1d(res.t)
        total = time.perf_counter() - start
        # overhead: what is neither the labels nor the DSE evaluations (planning, the
        # bandwidth rule, subsamples, combining)
        res.info["timings"] = {"labels": t_labels, **res.info["timings"], "total": total,
                               "overhead": max(total - t_labels
                                               - res.info["timings"]["dse_wall"], 0.0)}
        # what produced the number: the kernel's settings, the seed, d and the version
        res.info.update(kernel=settings.kernel, knn=settings.knn, decay=settings.decay,
                        sigma_rule=(settings.sigma if settings.kernel == "gaussian"
                                    and is_rule(settings.sigma) else None),
                        thresh=DEFAULT_THRESH.get(settings.kernel) if settings.thresh is None
                        else settings.thresh,
                        anisotropy=settings.anisotropy,
                        **provenance(random_state, None if settings.kernel == "precomputed"
                                     else int(Zc.shape[1])))
        if stored is not None:
            res.info["graph"] = stored
        _progress.logger.info(
            "dsmi: %s +/- %s (t=%s) in %.2f s (labels %.2f s, DSE evaluations %.2f s wall / "
            "%.2f s summed, overhead %.2f s)", _fmt(res.value), _fmt(res.stderr), _fmt(ts),
            res.info["timings"]["total"], res.info["timings"]["labels"],
            res.info["timings"]["dse_wall"], res.info["timings"]["dse_sum"],
            res.info["timings"]["overhead"])
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

