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
multi-dimensional variable (clustered into ``n_clusters`` clusters).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validation import (
    _describe,
    check_choice,
    check_float,
    check_int,
    check_points,
    check_random_state,
    check_t,
)
from .graph import MODES, DiffusionGraph
from .kernel import KERNELS
from .results import ClassTerm, DSMIResult

__all__ = ["dsmi", "discretize"]

_Y_KINDS = ("auto", "discrete", "continuous")


def _bin_1d(y: np.ndarray, n_clusters: int) -> np.ndarray:
    """Min-max scale and cut into ``n_clusters`` equal bins (ids 1..n_clusters, as the reference)."""
    lo, hi = float(y.min()), float(y.max())
    if hi == lo:
        return np.ones(y.shape[0], dtype=np.int64)
    scaled = (y - lo) / (hi - lo)
    edges = np.linspace(0.0, 1.0, n_clusters + 1)[:-1]
    return np.digitize(scaled, bins=edges).astype(np.int64)


def _cluster(y: np.ndarray, n_clusters: int, seed: int) -> np.ndarray:
    """Spectral clustering of a multi-dimensional variable (the reference's choice)."""
    from sklearn.cluster import SpectralClustering

    n_neighbors = min(10, y.shape[0] - 1)
    model = SpectralClustering(
        n_clusters=n_clusters,
        affinity="nearest_neighbors",
        n_neighbors=n_neighbors,
        assign_labels="cluster_qr",
        random_state=seed,
    )
    return model.fit_predict(y).astype(np.int64)


def discretize(
    Y: Any, *, n_clusters: int = 10, kind: str = "auto", random_state: Any = None
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

    Returns
    -------
    numpy.ndarray of shape (n,)
        Discrete labels: the original labels, bin ids ``1..n_clusters`` or cluster ids.

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
    arr = np.asarray(Y)
    if arr.ndim == 0 or arr.ndim > 2:
        raise ValueError(
            f"Y must be 1-D (labels or a scalar variable) or 2-D (n, d'); got {_describe(arr)}"
        )
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    n = arr.shape[0]
    n_clusters = check_int(n_clusters, "n_clusters", low=2)
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
    y = check_points(arr, "Y", min_points=2)
    seed = int(check_random_state(random_state).integers(2**31 - 1))
    return _cluster(y, n_clusters, seed)


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
        Points (e.g. embeddings).
    Y : array-like of shape (n,) or (n, d')
        Discrete labels (ints, bools, strings), a continuous 1-D variable
        (min-max binned into ``n_clusters`` bins) or a continuous
        multi-dimensional variable (spectral clustering into ``n_clusters``).
        Ignored when ``clusters`` is given.
    t : float or sequence of float, default 1
        Diffusion time(s).
    mode, kernel, knn, decay, sigma, thresh, anisotropy
        As in :func:`fastdse.dse`, applied to every class and subset.
    n_clusters : int, default 10
        Bins or clusters for a continuous Y.
    num_repetitions : int, default 5
        Random subsets per class for the unconditional term.
    y_kind : {"auto", "discrete", "continuous"}, default "auto"
        How to read Y, see :func:`discretize`.
    clusters : array-like of shape (n,), optional
        Precomputed labels to use instead of discretising Y (reuse them across
        calls, e.g. every epoch against the same inputs).
    base : float, default 2
        Logarithm base (2: bits).
    random_state : None, int or numpy.random.Generator
        Seed for the subsets (and clustering, approximate modes).

    Returns
    -------
    DSMIResult
        ``.value``, ``.stderr`` (over the random subsets), ``.per_class`` (label,
        size, conditional DSE, matched unconditional DSE) and ``.clusters``.

    Examples
    --------
    >>> import numpy as np
    >>> import fastdse
    >>> rng = np.random.default_rng(0)
    >>> labels = np.repeat([0, 1, 2], 100)
    >>> Z = rng.normal(size=(300, 5)) + 20 * labels[:, None]
    >>> res = fastdse.dsmi(Z, labels, kernel="gaussian", sigma=5, random_state=0)
    >>> round(res.value, 2)  # three equal, separated classes: log2(3) = 1.58 bits
    1.53
    >>> shuffled = fastdse.dsmi(Z, rng.permutation(labels), kernel="gaussian", sigma=5,
    ...                         random_state=0)
    >>> abs(shuffled.value) < 0.05
    True
    """
    Zc = check_points(Z, "Z")
    n = Zc.shape[0]
    ts, scalar = check_t(t)
    check_choice(mode, "mode", MODES)
    check_choice(kernel, "kernel", KERNELS)
    num_repetitions = check_int(num_repetitions, "num_repetitions", low=1)
    base = check_float(base, "base", low=0.0, low_open=True)
    rng = check_random_state(random_state)
    if clusters is not None:
        labels = np.asarray(clusters)
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        if labels.ndim != 1:
            raise ValueError(f"clusters must be 1-D labels of length n; got {_describe(labels)}")
        name = "clusters"
    else:
        y_len = np.shape(Y)[0] if np.ndim(Y) > 0 else None
        if y_len != n:
            raise ValueError(
                f"Z and Y must have the same number of points; got Z with {n} and Y with "
                f"{y_len if y_len is not None else 'a scalar'}"
            )
        labels = discretize(Y, n_clusters=n_clusters, kind=y_kind, random_state=rng)
        name = "Y"
    if labels.shape[0] != n:
        raise ValueError(
            f"Z and {name} must have the same number of points; got Z with {n} and {name} "
            f"with {labels.shape[0]}"
        )
    try:
        classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    except TypeError as exc:
        raise TypeError(f"{name} labels must be mutually comparable (one type); {exc}") from exc
    if classes.shape[0] < 2:
        only = classes[0].item() if hasattr(classes[0], "item") else classes[0]
        raise ValueError(
            f"{name} has a single class ({only!r}); DSMI needs at least 2 classes"
        )
    min_size = knn + 1 if kernel == "alpha_decay" else 2
    small = counts < min_size
    if np.any(small):
        i = int(np.argmax(small))
        need = (f"at least knn + 1 = {min_size} points for kernel='alpha_decay'"
                if kernel == "alpha_decay" else "at least 2 points")
        bad_label = classes[i].item() if hasattr(classes[i], "item") else classes[i]
        raise ValueError(
            f"class {bad_label!r} of {name} has {counts[i]} point(s); every class needs {need}. "
            "Merge rare classes, use fewer bins (n_clusters) or a smaller knn."
        )
    graph_kw = dict(
        mode=mode, kernel=kernel, knn=knn, decay=decay, sigma=sigma, thresh=thresh,
        anisotropy=anisotropy,
    )
    # one independent stream per class: results do not depend on evaluation order
    seeds = np.random.SeedSequence(int(rng.integers(2**63 - 1))).spawn(classes.shape[0])
    per_class = []
    cond = np.empty((classes.shape[0], ts.shape[0]))
    uncond = np.empty_like(cond)
    var = np.zeros_like(cond)
    modes = set()
    for c, label in enumerate(classes):
        crng = np.random.default_rng(seeds[c])
        res_c = DiffusionGraph(Zc[inverse == c], random_state=crng, **graph_kw).dse(ts, base=base)
        modes.add(res_c.mode)
        reps = np.empty((num_repetitions, ts.shape[0]))
        rep_var = np.zeros(ts.shape[0])
        for r in range(num_repetitions):
            idx = crng.choice(n, size=int(counts[c]), replace=False)
            res_r = DiffusionGraph(Zc[idx], random_state=crng, **graph_kw).dse(ts, base=base)
            reps[r] = res_r.value
            rep_var += np.asarray(res_r.stderr) ** 2
        cond[c] = res_c.value
        uncond[c] = reps.mean(axis=0)
        # uncertainty of the matched unconditional mean (subset variation) and of estimates
        sub_var = reps.var(axis=0, ddof=1) / num_repetitions if num_repetitions > 1 else 0.0
        var[c] = sub_var + rep_var / num_repetitions**2 + np.asarray(res_c.stderr) ** 2
        per_class.append(
            ClassTerm(
                label=label.item() if hasattr(label, "item") else label,
                size=int(counts[c]),
                conditional=float(cond[c, 0]) if scalar else cond[c].copy(),
                unconditional=float(uncond[c, 0]) if scalar else uncond[c].copy(),
                unconditional_reps=reps[:, 0].copy() if scalar else reps,
            )
        )
    p = counts / n
    value = (p[:, None] * (uncond - cond)).sum(axis=0)
    stderr = np.sqrt((p[:, None] ** 2 * var).sum(axis=0))
    return DSMIResult(
        value=float(value[0]) if scalar else value,
        stderr=float(stderr[0]) if scalar else stderr,
        per_class=per_class,
        clusters=labels,
        t=float(ts[0]) if scalar else ts,
        n=n,
        mode=modes.pop() if len(modes) == 1 else "mixed",
        base=base,
        info={"num_repetitions": num_repetitions, "n_classes": int(classes.shape[0])},
    )
