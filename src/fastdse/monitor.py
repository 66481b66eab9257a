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

import csv
import inspect
import math
import numbers
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from fastdse._util.inputs import check_points
from fastdse._util.validation import check_int, check_random_state, check_t, describe
from fastdse.api import dse
from fastdse.mutual_information import discretize, dsmi
from fastdse.results import unit_name

__all__ = ["TrainingMonitor", "History", "plot_history", "METRICS"]

#: The metrics a :class:`TrainingMonitor` can record, in the order of its columns.
METRICS = ("dse", "dsmi_y", "dsmi_x")

#: How :func:`plot_history` labels the metrics it knows.
LABELS = {"dse": "DSE(Z)", "dsmi_y": "DSMI(Z; Y)", "dsmi_x": "DSMI(Z; X)"}

_STDERR = "_stderr"

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


def _check_epoch(epoch: Any) -> int | float:
    if isinstance(epoch, (bool, np.bool_)) or not isinstance(epoch, numbers.Real):
        raise TypeError(f"epoch must be a number (int or float); got {describe(epoch)}")
    if isinstance(epoch, numbers.Integral):
        return int(epoch)
    value = float(epoch)
    if not math.isfinite(value):
        raise ValueError(f"epoch must be finite; got {value}")
    return value


def _plain(label: Any) -> Any:
    """Return a numpy scalar label as a Python value (for messages)."""
    return label.item() if isinstance(label, np.generic) else label


def _parse_epoch(text: str) -> int | float:
    """Read an epoch from CSV: an int when written as one, else a float."""
    try:
        return int(text)
    except ValueError:
        return float(text)


# --------------------------------------------------------------------------- History


class History:
    """Per-epoch values of DSE / DSMI metrics: a list of records with column views.

    Parameters
    ----------
    metrics : sequence of str, default ``("dse", "dsmi_y", "dsmi_x")``
        Metric names. Each metric ``m`` has the columns ``m`` and ``m + "_stderr"``.
    records : sequence of mapping, optional
        Initial records, each as accepted by :meth:`append`.
    unit : str, optional
        Unit of the values (``"bits"``, ``"nats"``), used by :func:`plot_history`
        to label the y axis. Not stored in the CSV.

    Attributes
    ----------
    metrics : tuple of str
    records : list of dict
        One dict per epoch: ``{"epoch": e, m: value, m + "_stderr": stderr, ...}``.
    unit : str or None

    Examples
    --------
    >>> from fastdse.monitor import History
    >>> h = History(["dse"])
    >>> h.append({"epoch": 0, "dse": 5.0, "dse_stderr": 0.0})
    >>> h.append({"epoch": 1, "dse": 5.5, "dse_stderr": 0.0})
    >>> len(h), h.columns
    (2, ['epoch', 'dse', 'dse_stderr'])
    >>> h["dse"]
    array([5. , 5.5])
    >>> h.to_dict()["epoch"]
    [0, 1]
    """

    def __init__(
        self,
        metrics: Sequence[str] = METRICS,
        records: Sequence[Mapping[str, Any]] | None = None,
        *,
        unit: str | None = None,
    ) -> None:
        if isinstance(metrics, str):
            metrics = (metrics,)
        names = tuple(metrics)
        for name in names:
            if not isinstance(name, str) or not name or name == "epoch" or name.endswith(_STDERR):
                raise ValueError(
                    "metrics must be non-empty names other than 'epoch' and not ending in "
                    f"'{_STDERR}'; got {name!r}"
                )
        if len(set(names)) != len(names):
            raise ValueError(f"metrics must be distinct; got {list(names)}")
        self.metrics: tuple[str, ...] = names
        self.unit = unit
        self.records: list[dict[str, Any]] = []
        for record in records or ():
            self.append(record)

    @property
    def columns(self) -> list[str]:
        """Column names: ``"epoch"``, then each metric and its ``"_stderr"``."""
        cols = ["epoch"]
        for name in self.metrics:
            cols += [name, name + _STDERR]
        return cols

    def append(self, record: Mapping[str, Any]) -> None:
        """Add one epoch's record.

        Parameters
        ----------
        record : mapping
            ``"epoch"`` (a number) and every metric's value; a missing
            ``"<metric>_stderr"`` is stored as NaN. Other keys are an error.
        """
        if not isinstance(record, Mapping):
            raise TypeError(f"record must be a mapping (dict); got {describe(record)}")
        extra = sorted(set(record) - set(self.columns), key=str)
        if extra:
            raise ValueError(f"record has unknown column(s) {extra}; columns are {self.columns}")
        missing = [c for c in ["epoch", *self.metrics] if c not in record]
        if missing:
            raise ValueError(f"record is missing column(s) {missing}; columns are {self.columns}")
        row: dict[str, Any] = {"epoch": _check_epoch(record["epoch"])}
        for name in self.metrics:
            row[name] = float(record[name])
            row[name + _STDERR] = float(record.get(name + _STDERR, math.nan))
        self.records.append(row)

    def to_dict(self) -> dict[str, list]:
        """Columns as lists: ``{"epoch": [...], "dse": [...], "dse_stderr": [...], ...}``."""
        return {col: [rec[col] for rec in self.records] for col in self.columns}

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """Write the history as CSV: a header row (:attr:`columns`), then one row per epoch.

        Floats are written with ``repr``, so :meth:`from_csv` reads back the same numbers.
        """
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(self.columns)
            for rec in self.records:
                writer.writerow([repr(rec[col]) for col in self.columns])

    @classmethod
    def from_csv(cls, path: str | os.PathLike[str], *, unit: str | None = None) -> History:
        """Read a history written by :meth:`to_csv`.

        The first column must be ``epoch``; every other column not ending in
        ``_stderr`` is a metric (its ``_stderr`` column may be absent: NaN).
        """
        with open(path, newline="", encoding="utf-8") as fh:
            rows = [row for row in csv.reader(fh) if row]
        if not rows or rows[0][0].strip() != "epoch":
            raise ValueError(
                f"{os.fspath(path)!r} is not a history CSV: its header must start with 'epoch'"
            )
        header = [h.strip() for h in rows[0]]
        metrics = [h for h in header[1:] if not h.endswith(_STDERR)]
        for h in header[1:]:
            if h.endswith(_STDERR) and h[: -len(_STDERR)] not in metrics:
                raise ValueError(f"column {h!r} of {os.fspath(path)!r} has no metric column")
        history = cls(metrics, unit=unit)
        for line, row in enumerate(rows[1:], start=2):
            if len(row) != len(header):
                raise ValueError(
                    f"line {line} of {os.fspath(path)!r} has {len(row)} fields; the header "
                    f"has {len(header)}"
                )
            values = dict(zip(header, row))
            try:
                record: dict[str, Any] = {
                    k: float(v) for k, v in values.items() if k != "epoch"
                }
                record["epoch"] = _parse_epoch(values["epoch"])
            except ValueError as exc:
                raise ValueError(f"line {line} of {os.fspath(path)!r}: {exc}") from None
            history.append(record)
        return history

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.records)

    def __getitem__(self, name: str) -> np.ndarray:
        """One column as an array: ``history["dse"]``, ``history["epoch"]``."""
        if name not in self.columns:
            raise KeyError(f"no column {name!r}; columns are {self.columns}")
        return np.asarray([rec[name] for rec in self.records])

    def __repr__(self) -> str:
        return f"History(metrics={list(self.metrics)}, epochs={len(self)})"


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
    random_state : None, int or numpy.random.Generator
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
        unknown = sorted(set(dse_kwargs) - (_DSE_KEYS | _DSMI_KEYS))
        if unknown:
            raise TypeError(
                f"TrainingMonitor got unexpected keyword argument(s) {unknown}; the settings "
                "passed on to fastdse.dse / fastdse.dsmi are "
                f"{sorted(_DSE_KEYS | _DSMI_KEYS)}"
            )
        ts, scalar = check_t(t)
        if not scalar:
            raise ValueError(
                f"t must be a single diffusion time; got {t!r}. Use one monitor per t."
            )
        self.t = float(ts[0])
        self.n_clusters = check_int(n_clusters, "n_clusters", low=2)
        self.num_repetitions = check_int(num_repetitions, "num_repetitions", low=1)
        self.dse_kwargs = dict(dse_kwargs)
        self.metrics = self._check_metrics(metrics, Y, X)

        # the size of the full set, from every source that gives it (they must agree)
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
        self.n: int | None = next(iter(sizes.values()), None)

        rng = check_random_state(random_state)
        self.n_eval = n_eval
        if n_eval is not None:
            if self.n is None:
                raise ValueError(
                    "n_eval needs the number of points of the full set: pass Y, X or n"
                )
            n_eval = check_int(n_eval, "n_eval", low=2, high=self.n,
                               high_note=" (the number of points)")
        if self.n is None:
            self.indices: np.ndarray | None = None
        elif n_eval is None or n_eval == self.n:
            self.indices = np.arange(self.n)
        else:
            self.indices = np.sort(rng.choice(self.n, size=n_eval, replace=False))
        self._n_rows = None if self.indices is None else int(self.indices.shape[0])

        children = np.random.SeedSequence(int(rng.integers(2**63 - 1))).spawn(len(_SEED_NAMES))
        self.seeds: dict[str, int] = {
            name: int(np.random.default_rng(child).integers(2**63 - 1))
            for name, child in zip(_SEED_NAMES, children)
        }

        self.y_labels: np.ndarray | None = None
        self.x_clusters: np.ndarray | None = None
        if "dsmi_y" in self.metrics:
            assert Y_arr is not None and self.indices is not None
            self.y_labels = discretize(
                Y_arr[self.indices], n_clusters=self.n_clusters, kind="auto",
                random_state=self.seeds["y_labels"], n_jobs=self.dse_kwargs.get("n_jobs"),
            )
        if "dsmi_x" in self.metrics:
            assert X_arr is not None and self.indices is not None
            X_eval = X_arr[self.indices]
            if X_eval.ndim > 2:
                X_eval = X_eval.reshape(X_eval.shape[0], -1)
            self.x_clusters = discretize(
                X_eval, n_clusters=self.n_clusters, kind="continuous",
                random_state=self.seeds["x_clusters"], n_jobs=self.dse_kwargs.get("n_jobs"),
            )
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


def _columns(history: Any) -> dict[str, np.ndarray]:
    """Columns of a monitor, a History or a mapping, as float arrays of one length."""
    if isinstance(history, TrainingMonitor):
        history = history.history
    if isinstance(history, History):
        history = history.to_dict()
    if not isinstance(history, Mapping):
        raise TypeError(
            "history must be a TrainingMonitor, a History or a mapping of column -> "
            f"sequence; got {describe(history)}"
        )
    if "epoch" not in history:
        raise ValueError(f"history has no 'epoch' column; columns are {list(history)}")
    cols = {}
    for key, values in history.items():
        try:
            cols[str(key)] = np.asarray(values, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"history column {key!r} must hold numbers; {exc}") from None
    lengths = {k: v.shape[0] for k, v in cols.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"history columns must have one length; got {lengths}")
    return cols


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
    Needs matplotlib (``pip install 'fastdse[plot]'``). Never calls
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
    cols = _columns(history)
    unit = history.history.unit if isinstance(history, TrainingMonitor) else (
        history.unit if isinstance(history, History) else None)
    available = [k for k in cols if k != "epoch" and not k.endswith(_STDERR)]
    if metrics is None:
        names = available
    else:
        names = [metrics] if isinstance(metrics, str) else list(metrics)
        bad = [m for m in names if m not in available]
        if bad:
            raise ValueError(f"history has no metric(s) {bad}; available: {available}")
    if not names:
        raise ValueError("history has no metric column to plot (only 'epoch')")
    try:
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator
    except ImportError as exc:
        raise ImportError("plotting needs matplotlib: pip install 'fastdse[plot]'") from exc

    if ax is None:
        ax = plt.figure().add_subplot()
    x = cols["epoch"]
    for name in names:
        label = LABELS.get(name, name)
        err = cols.get(name + _STDERR)
        if err is not None:
            err = np.where(np.isfinite(err), err, 0.0)
        if errorbars and err is not None and np.any(err > 0):
            ax.errorbar(x, cols[name], yerr=err, marker="o", markersize=3, capsize=2,
                        label=label)
        else:
            ax.plot(x, cols[name], marker="o", markersize=3, label=label)
    ax.set_xlabel("epoch")
    if len(names) == 1:
        ax.set_ylabel(LABELS.get(names[0], names[0]) + (f" ({unit})" if unit else ""))
    elif unit:
        ax.set_ylabel(unit)
    if x.size and np.all(x == np.round(x)):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(names) > 1:
        ax.legend()
    return ax
