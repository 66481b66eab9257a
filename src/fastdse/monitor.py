r"""Monitoring DSE and DSMI during training: a fixed evaluation subset, one record per epoch.

A :class:`TrainingMonitor` fixes, once, the points on which a network's
representations are measured (a random evaluation subset of ``n_eval`` points),
the labels ``Y`` of those points and the clusters of their inputs ``X`` (the
clustering of ``X`` does not depend on the network, so it is computed once).
Every epoch, :meth:`TrainingMonitor.update` receives the embeddings ``Z`` of the
evaluation subset and computes

- ``"dse"``: :math:`\mathrm{DSE}_t(Z)`, with :func:`fastdse.dse`;
- ``"dsmi_y"``: :math:`\mathrm{DSMI}_t(Z; Y)`, with :func:`fastdse.dsmi` and the labels;
- ``"dsmi_x"``: :math:`\mathrm{DSMI}_t(Z; X)`, with :func:`fastdse.dsmi` and the clusters of X;

and appends them, with their standard errors, to a :class:`History` (a plain
object: a list of records, columns, CSV). :func:`plot_history` draws a history.
No training framework is assumed: ``Z`` is any array of shape ``(n_eval, d)``.

Reproducibility. ``random_state`` is read once, in the constructor: it draws the
evaluation subset, then one seed per metric (and one for the clustering of
``X``). Each metric uses the same seed at every epoch, so DSMI's random subsets
(and the probes of ``mode="approx"``) are the same evaluation points at every
epoch: the change from one epoch to the next reflects ``Z``, not a new random
draw, and the same run gives the same numbers.
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from fastdse._util.inputs import check_points
from fastdse._util.validation import check_int, check_random_state, check_t
from fastdse.api import dse
from fastdse.history import _STDERR, METRICS, History, _check_epoch, _draw_history
from fastdse.history import LABELS as LABELS  # fastdse.monitor.LABELS, as before the split
from fastdse.mutual_information import discretize, dsmi
from fastdse.results import unit_name

__all__ = ["TrainingMonitor", "History", "plot_history", "METRICS"]

# arguments the monitor sets itself; every other keyword of fastdse.dse / fastdse.dsmi
# may be passed through **dse_kwargs
_MANAGED = frozenset(
    {"X", "Z", "Y", "t", "random_state", "clusters", "y_kind", "n_clusters", "num_repetitions"}
)
_DSE_KEYS = frozenset(inspect.signature(dse).parameters) - _MANAGED
_DSMI_KEYS = frozenset(inspect.signature(dsmi).parameters) - _MANAGED
_DSMI_DEFAULTS = {k: p.default for k, p in inspect.signature(dsmi).parameters.items()}

# one independent seed per random stage, spawned in this order from random_state
_SEED_NAMES = ("dse", "dsmi_y", "dsmi_x", "y_labels", "x_clusters")


def _plain(label: Any) -> Any:
    """Return a numpy scalar label as a Python value (for messages)."""
    return label.item() if isinstance(label, np.generic) else label


# --------------------------------------------------------------------------- checks


def _check_passed_on(dse_kwargs: dict[str, Any]) -> None:
    """Raise on a keyword that neither fastdse.dse nor fastdse.dsmi takes."""
    unknown = sorted(set(dse_kwargs) - (_DSE_KEYS | _DSMI_KEYS))
    if unknown:
        raise TypeError(
            f"TrainingMonitor got unexpected keyword argument(s) {unknown}; the settings "
            "passed on to fastdse.dse / fastdse.dsmi are "
            f"{sorted(_DSE_KEYS | _DSMI_KEYS)}"
        )


def _single_t(t: Any) -> float:
    """Return the one diffusion time ``t`` as a float."""
    ts, scalar = check_t(t)
    if not scalar:
        raise ValueError(
            f"t must be a single diffusion time; got {t!r}. Use one monitor per t."
        )
    return float(ts[0])


def _full_set(
    n: int | None, Y: Any, X: Any
) -> tuple[int | None, np.ndarray | None, np.ndarray | None]:
    """Return the size of the full set (every source that gives it must agree), Y and X."""
    sizes: dict[str, int] = {}
    if n is not None:
        sizes["n"] = check_int(n, "n", low=2)
    Y_arr = None if Y is None else np.asarray(Y)
    X_arr = None if X is None else np.asarray(X)
    for name, arr in (("Y", Y_arr), ("X", X_arr)):
        if arr is not None:
            if arr.ndim == 0:
                raise ValueError(f"{name} must have one row per point; got a scalar")
            sizes[name] = arr.shape[0]
    if len(set(sizes.values())) > 1:
        got = ", ".join(f"{k} {v}" for k, v in sizes.items())
        raise ValueError(f"Y, X and n must agree on the number of points; got {got}")
    return next(iter(sizes.values()), None), Y_arr, X_arr


def _draw_subset(
    rng: np.random.Generator, n: int | None, n_eval: int | None
) -> np.ndarray | None:
    """Draw the sorted rows of the evaluation subset (all rows for ``n_eval=None``)."""
    if n_eval is not None:
        if n is None:
            raise ValueError(
                "n_eval needs the number of points of the full set: pass Y, X or n"
            )
        n_eval = check_int(n_eval, "n_eval", low=2, high=n,
                           high_note=" (the number of points)")
    if n is None:
        return None
    if n_eval is None or n_eval == n:
        return np.arange(n)
    return np.sort(rng.choice(n, size=n_eval, replace=False))


def _spawn_seeds(rng: np.random.Generator) -> dict[str, int]:
    """Draw one independent seed per random stage (``_SEED_NAMES``) from ``rng``."""
    children = np.random.SeedSequence(int(rng.integers(2**63 - 1))).spawn(len(_SEED_NAMES))
    return {
        name: int(np.random.default_rng(child).integers(2**63 - 1))
        for name, child in zip(_SEED_NAMES, children)
    }


# --------------------------------------------------------------------------- monitor


class TrainingMonitor:
    r"""DSE(Z), DSMI(Z; Y) and DSMI(Z; X) on a fixed evaluation subset, epoch after epoch.

    Parameters
    ----------
    Y : array-like of shape (n,), optional
        Labels of the full set (any hashable dtype), or a continuous variable
        (binned or clustered into ``n_clusters``, see
        :func:`fastdse.mutual_information.discretize`). Needed for ``"dsmi_y"``.
    X : array-like of shape (n, ...), optional
        Inputs of the full set (e.g. images; flattened to ``(n, d')``). Needed for
        ``"dsmi_x"``. The evaluation subset of X is clustered once, here, into
        ``n_clusters`` clusters (:func:`fastdse.mutual_information.discretize`,
        the path :func:`fastdse.dsmi` takes for a continuous Y); those labels are
        reused at every epoch.
    n : int, optional
        Number of points of the full set; inferred from Y or X. Needed to draw
        an evaluation subset when neither is given.
    n_eval : int, optional
        Size of the evaluation subset, drawn once without replacement from
        ``random_state`` (indices sorted, in :attr:`indices`). ``None``: all
        points. DSE grows with the number of points, so values are only
        comparable at the same ``n_eval``.
    t : float, default 1
        Diffusion time (one value; use one monitor per ``t``).
    metrics : str or sequence of {"dse", "dsmi_y", "dsmi_x"}, optional
        Metrics to record. Default: ``"dse"``, plus ``"dsmi_y"`` if Y is given
        and ``"dsmi_x"`` if X is given.
    n_clusters : int, default 10
        Clusters of X (and bins or clusters of a continuous Y).
    num_repetitions : int, default 5
        Random subsets per class in DSMI's unconditional term (see :func:`fastdse.dsmi`).
    random_state : None, int, numpy.random.RandomState or numpy.random.Generator
        Draws the evaluation subset and one seed per metric, once (see Notes).
    **dse_kwargs
        Settings of :func:`fastdse.dse` and :func:`fastdse.dsmi` (``mode``,
        ``kernel``, ``knn``, ``decay``, ``sigma``, ``thresh``, ``anisotropy``,
        ``base``, ``n_jobs``, ...), each passed to the functions that accept it.
        Their values are checked by those functions at the first :meth:`update`.
        DSMI's progress bar is off unless ``progress=True``.

    Attributes
    ----------
    metrics : tuple of str
        Recorded metrics, in the order of :data:`METRICS`.
    indices : numpy.ndarray of shape (n_eval,) or None
        Rows of the full set in the evaluation subset, sorted. ``None`` when the
        size of the full set is unknown (no Y, X or n): then every :meth:`update`
        must pass the same number of points as the first.
    y_labels : numpy.ndarray of shape (n_eval,) or None
        Discrete labels of the evaluation subset.
    x_clusters : numpy.ndarray of shape (n_eval,) or None
        Cluster ids of the inputs of the evaluation subset.
    seeds : dict of str to int
        The seed of each metric (``"dse"``, ``"dsmi_y"``, ``"dsmi_x"``) and of the
        clustering of X (``"x_clusters"``) and of a continuous Y (``"y_labels"``).
    history : History
        One record per :meth:`update`.

    Notes
    -----
    ``update(Z)`` takes the embeddings of the *evaluation subset*, in the order of
    :attr:`indices`: compute them on ``monitor.select(inputs)``. Every epoch's
    ``"dse"`` equals ``fastdse.dse(Z, t, random_state=monitor.seeds["dse"],
    **dse_kwargs)`` and ``"dsmi_y"`` equals ``fastdse.dsmi(Z, None, t,
    clusters=monitor.y_labels, random_state=monitor.seeds["dsmi_y"], ...)``.
    The seeds do not change between epochs: DSMI's random subsets are the same
    evaluation points every epoch, so consecutive values differ because Z
    changed, not because of a new draw.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdse.monitor import TrainingMonitor
    >>> rng = np.random.default_rng(0)
    >>> labels = np.repeat([0, 1, 2], 40)
    >>> inputs = rng.normal(size=(120, 5)) + 3.0 * labels[:, None]
    >>> monitor = TrainingMonitor(Y=labels, n_eval=90, mode="exact", random_state=0)
    >>> inputs_eval = monitor.select(inputs)        # the 90 evaluation points
    >>> W = rng.normal(size=(5, 8))
    >>> for epoch in range(3):                       # stand-in for a training loop
    ...     Z = np.tanh(inputs_eval @ W * (epoch + 1))
    ...     record = monitor.update(Z)
    >>> len(monitor.history), sorted(record)
    (3, ['dse', 'dse_stderr', 'dsmi_y', 'dsmi_y_stderr', 'epoch'])
    >>> monitor.history["epoch"]
    array([0, 1, 2])
    """

    def __init__(
        self,
        Y: Any = None,
        X: Any = None,
        *,
        n: int | None = None,
        n_eval: int | None = None,
        t: float = 1,
        metrics: str | Sequence[str] | None = None,
        n_clusters: int = 10,
        num_repetitions: int = 5,
        random_state: Any = None,
        **dse_kwargs: Any,
    ) -> None:
        _check_passed_on(dse_kwargs)
        self.t = _single_t(t)
        self.n_clusters = check_int(n_clusters, "n_clusters", low=2)
        self.num_repetitions = check_int(num_repetitions, "num_repetitions", low=1)
        self.dse_kwargs = dict(dse_kwargs)
        self.metrics = self._check_metrics(metrics, Y, X)
        n_full, Y_arr, X_arr = _full_set(n, Y, X)
        self.n: int | None = n_full
        rng = check_random_state(random_state)
        self.n_eval = n_eval
        self.indices: np.ndarray | None = _draw_subset(rng, self.n, n_eval)
        self._n_rows = None if self.indices is None else int(self.indices.shape[0])
        self.seeds: dict[str, int] = _spawn_seeds(rng)
        self.y_labels: np.ndarray | None = None
        self.x_clusters: np.ndarray | None = None
        if "dsmi_y" in self.metrics:
            assert Y_arr is not None and self.indices is not None
            self.y_labels = self._discretize(Y_arr[self.indices], "auto", "y_labels")
        if "dsmi_x" in self.metrics:
            assert X_arr is not None and self.indices is not None
            X_eval = X_arr[self.indices]
            if X_eval.ndim > 2:
                X_eval = X_eval.reshape(X_eval.shape[0], -1)
            self.x_clusters = self._discretize(X_eval, "continuous", "x_clusters")
        for name, labels in (("Y", self.y_labels), ("X", self.x_clusters)):
            if labels is not None:
                self._check_classes(labels, name)
        base = self.dse_kwargs.get("base", 2.0)
        unit = unit_name(float(base)) if isinstance(base, numbers.Real) else None
        self.history = History(self.metrics, unit=unit)

    @staticmethod
    def _check_metrics(metrics: Any, Y: Any, X: Any) -> tuple[str, ...]:
        if metrics is None:
            chosen = {"dse"} | ({"dsmi_y"} if Y is not None else set()) | (
                {"dsmi_x"} if X is not None else set())
        else:
            names = [metrics] if isinstance(metrics, str) else list(metrics)
            bad = [m for m in names if m not in METRICS]
            if bad or not names:
                raise ValueError(
                    f"metrics must be a non-empty selection of {', '.join(map(repr, METRICS))}; "
                    f"got {metrics!r}"
                )
            chosen = set(names)
        if "dsmi_y" in chosen and Y is None:
            raise ValueError("metric 'dsmi_y' needs the labels: pass Y")
        if "dsmi_x" in chosen and X is None:
            raise ValueError("metric 'dsmi_x' needs the inputs: pass X")
        return tuple(m for m in METRICS if m in chosen)

    def _discretize(self, values: np.ndarray, kind: str, seed: str) -> np.ndarray:
        """Return the classes of ``values`` (the evaluation subset), as fastdse.dsmi makes them."""
        return discretize(
            values, n_clusters=self.n_clusters, kind=kind, random_state=self.seeds[seed],
            n_jobs=self.dse_kwargs.get("n_jobs"),
        )

    def _check_classes(self, labels: np.ndarray, name: str) -> None:
        """Fail before training, not at the first update, on classes DSMI cannot use."""
        try:
            classes, counts = np.unique(labels, return_counts=True)
        except TypeError:
            return  # labels of mixed types: dsmi reports it
        what = "clusters" if name == "X" else "classes"
        if classes.shape[0] < 2:
            raise ValueError(
                f"{name} has a single class {_plain(classes[0])!r} in the evaluation subset; "
                f"DSMI needs at least 2 {what}"
            )
        kernel = self.dse_kwargs.get("kernel", _DSMI_DEFAULTS["kernel"])
        knn = self.dse_kwargs.get("knn", _DSMI_DEFAULTS["knn"])
        if kernel == "alpha_decay" and isinstance(knn, numbers.Integral):
            need, why = int(knn) + 1, f" (knn + 1 for kernel='alpha_decay', knn={knn})"
        else:
            need, why = 2, ""
        if counts.min() < need:
            i = int(np.argmin(counts))
            raise ValueError(
                f"class {_plain(classes[i])!r} of {name} has {counts[i]} point(s) in the "
                f"evaluation subset; DSMI needs at least {need} per class{why}. Use a larger "
                "n_eval, fewer n_clusters or a smaller knn."
            )

    def select(self, A: Any) -> Any:
        """Return the rows of ``A`` (an array of the full set) in the evaluation subset.

        Parameters
        ----------
        A : array-like of shape (n, ...)
            Anything indexable by an integer array along its first axis (numpy
            arrays, torch tensors); lists and tuples are converted to numpy
            arrays. For a pandas DataFrame pass ``df.to_numpy()``.

        Returns
        -------
        array-like of shape (n_eval, ...)
            The rows :attr:`indices` of ``A``, in that order: ``A[monitor.indices]``.
        """
        if isinstance(A, (list, tuple)):
            A = np.asarray(A)
        if self.indices is None:
            return A
        n_rows = A.shape[0] if hasattr(A, "shape") else len(A)
        if n_rows != self.n:
            raise ValueError(
                f"A must have one row per point of the full set ({self.n} rows); got "
                f"{n_rows}"
            )
        return A[self.indices]

    def update(self, Z: Any, epoch: int | float | None = None) -> dict[str, Any]:
        """Compute the metrics on this epoch's embeddings and append them to :attr:`history`.

        Parameters
        ----------
        Z : array-like of shape (n_eval, d)
            Embeddings of the evaluation subset, in the order of :attr:`indices`
            (e.g. ``model(monitor.select(inputs))``).
        epoch : int or float, optional
            Label of this record. Default: the previous record's epoch + 1, or 0
            for the first record.

        Returns
        -------
        dict
            The record: ``{"epoch": ..., "dse": ..., "dse_stderr": ..., ...}``.
        """
        Zc = check_points(Z, "Z")
        if self._n_rows is not None and Zc.shape[0] != self._n_rows:
            where = (
                "the evaluation subset: monitor.select(inputs)"
                if self.indices is not None else "the number of points at the first update"
            )
            raise ValueError(
                f"Z must have {self._n_rows} rows ({where}); got an array of shape {Zc.shape}"
            )
        if epoch is None:
            epoch = self.history.records[-1]["epoch"] + 1 if self.history.records else 0
        record: dict[str, Any] = {"epoch": _check_epoch(epoch)}
        dse_kw = {k: v for k, v in self.dse_kwargs.items() if k in _DSE_KEYS}
        dsmi_kw: dict[str, Any] = {"progress": False}
        dsmi_kw.update({k: v for k, v in self.dse_kwargs.items() if k in _DSMI_KEYS})
        dsmi_kw["num_repetitions"] = self.num_repetitions
        for name in self.metrics:
            if name == "dse":
                res: Any = dse(Zc, self.t, random_state=self.seeds["dse"], **dse_kw)
            else:
                labels = self.y_labels if name == "dsmi_y" else self.x_clusters
                res = dsmi(Zc, None, self.t, clusters=labels, random_state=self.seeds[name],
                           **dsmi_kw)
            record[name] = float(res.value)
            record[name + _STDERR] = float(res.stderr)
        self.history.append(record)
        self._n_rows = Zc.shape[0]
        return dict(self.history.records[-1])

    def plot(self, **kwargs: Any) -> Any:
        """Plot the history: :func:`plot_history` ``(self, **kwargs)``."""
        return plot_history(self, **kwargs)

    def __repr__(self) -> str:
        size = self._n_rows if self._n_rows is not None else "unknown"
        return (
            f"TrainingMonitor(metrics={list(self.metrics)}, n_eval={size}, t={self.t:g}, "
            f"epochs={len(self.history)})"
        )


# --------------------------------------------------------------------------- plotting


def plot_history(
    history: Any,
    metrics: str | Sequence[str] | None = None,
    *,
    ax: Any = None,
    errorbars: bool = True,
) -> Any:
    """Plot metrics against the epoch, one line per metric.

    Parameters
    ----------
    history : TrainingMonitor, History or mapping
        A mapping is columns: ``{"epoch": [...], "dse": [...], "dse_stderr": [...]}``
        (e.g. a history CSV read with the ``csv`` module); ``"epoch"`` is required.
    metrics : str or sequence of str, optional
        Columns to plot. Default: every column except ``"epoch"`` and the
        ``"*_stderr"`` columns.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on. ``None``: a new figure (``matplotlib.pyplot.figure``).
    errorbars : bool, default True
        Draw ``"<metric>_stderr"`` as error bars when that column is present and
        not all zero.

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    Needs matplotlib (``pip install matplotlib``). Never calls
    ``plt.show()`` and changes no global settings. Metrics on very different
    scales are clearer on separate axes: call it once per metric with ``ax=``.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> from fastdse.monitor import plot_history
    >>> ax = Figure().add_subplot()
    >>> ax = plot_history({"epoch": [0, 1, 2], "dse": [4.1, 4.6, 4.8]}, ax=ax)
    >>> ax.lines[0].get_ydata().tolist()
    [4.1, 4.6, 4.8]
    """
    if isinstance(history, TrainingMonitor):
        history = history.history
    return _draw_history(history, metrics, ax=ax, errorbars=errorbars)
