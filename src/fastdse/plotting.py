"""Plots of spectra, DSE curves, benchmark scaling and training histories.

matplotlib is an optional dependency (``pip install 'fastdse[plot]'``); it is
imported only when a function here is called. Every function draws into the
matplotlib ``Axes`` given as ``ax`` (or a new figure from
:func:`matplotlib.pyplot.subplots` when ``ax`` is None) and returns that
``Axes``. Nothing here calls ``plt.show()``, switches the backend or changes
``rcParams``.

Functions
---------
plot_spectrum
    Eigenvalues (descending) or the spectral density of a diffusion operator.
plot_dse_curve
    DSE against the diffusion time ``t``, with standard errors.
plot_scaling
    Log-log time (or memory) against ``n`` from a ``fastdse bench`` CSV.
plot_history
    DSE / DSMI over training epochs (implemented in :mod:`fastdse.monitor`).
"""

from __future__ import annotations

import csv
import dataclasses
import importlib
import math
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from fastdse._util.validation import check_choice, check_float, check_int, check_t, describe
from fastdse.entropy import dse_from_measure
from fastdse.graph import DiffusionGraph
from fastdse.results import DSEResult, unit_name
from fastdse.spectral.measure import SpectralMeasure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = [
    "plot_spectrum",
    "plot_dse_curve",
    "plot_scaling",
    "plot_history",
    "fit_slope",
    "DEFAULT_T_GRID",
]

_MISSING = "plotting needs matplotlib: pip install 'fastdse[plot]'"

#: Diffusion times of :func:`plot_dse_curve` when none are given: 1 to 100, log-spaced.
DEFAULT_T_GRID = np.unique(np.round(np.geomspace(1.0, 100.0, 25)))

SPECTRUM_KINDS = ("eigenvalues", "density")

#: axis labels of the bench CSV columns (others are labelled with their name)
_COLUMN_LABELS = {
    "n": "n (points)",
    "d": "d (features)",
    "seconds": "seconds, end to end in a new process",
    "import_seconds": "seconds, start-up and imports",
    "dse_seconds": "seconds, DSE computation",
    "peak_mib": "peak memory (MiB)",
    "data_mib": "data size (MiB)",
}


# --------------------------------------------------------------------------- helpers


def _import_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(_MISSING) from exc


def _check_ax(ax: Any) -> None:
    """Raise unless ``ax`` is None or a matplotlib Axes (before any computation)."""
    _import_matplotlib()
    from matplotlib.axes import Axes

    if ax is not None and not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None; got {describe(ax)}")


def _get_axes(ax: Any) -> Axes:
    """Return ``ax`` (checked), or the Axes of a new figure when it is None."""
    _check_ax(ax)
    if ax is None:
        import matplotlib.pyplot as plt

        _, new_ax = plt.subplots()
        return new_ax
    return ax


def _plot_kws(plot_kws: Any, defaults: dict[str, Any]) -> dict[str, Any]:
    if plot_kws is None:
        return dict(defaults)
    if not isinstance(plot_kws, Mapping):
        raise TypeError(
            f"plot_kws must be a mapping of matplotlib keyword arguments or None; got "
            f"{describe(plot_kws)}"
        )
    return {**defaults, **plot_kws}


def _legend_if_labelled(ax: Axes) -> None:
    """Draw a legend only when some artist has a label (avoids matplotlib's warning)."""
    handles, _ = ax.get_legend_handles_labels()
    if handles:
        ax.legend(fontsize=8)


def _is_array_like(obj: Any) -> bool:
    return isinstance(obj, (np.ndarray, list, tuple)) or hasattr(obj, "__array__")


# --------------------------------------------------------------------------- spectrum


def _spectrum_source(obj: Any, kind: str) -> tuple[np.ndarray | None, SpectralMeasure | None]:
    """Exact eigenvalues (or None) and a spectral measure (or None) from ``obj``."""
    if isinstance(obj, DiffusionGraph):
        if kind == "eigenvalues":
            if obj.mode_ != "exact":
                raise ValueError(
                    "plot_spectrum(kind='eigenvalues') needs all n eigenvalues, which only "
                    f"mode='exact' computes; this graph uses mode={obj.mode_!r}. Build the graph "
                    "with mode='exact', or plot its estimated spectral measure with "
                    "kind='density'."
                )
            return obj.eigenvalues(), None
        return None, obj.spectral_measure()
    if isinstance(obj, DSEResult):
        if obj.eigenvalues is None:
            raise ValueError(
                "plot_spectrum needs eigenvalues, but this DSEResult (mode="
                f"{obj.mode!r}) holds none: only mode='exact' keeps them. Compute the result "
                "with mode='exact', or pass the DiffusionGraph (kind='density' plots the "
                "estimated spectral measure of an approximate graph)."
            )
        return np.asarray(obj.eigenvalues, dtype=np.float64), None
    if isinstance(obj, SpectralMeasure):
        if kind == "eigenvalues":
            try:
                return obj.eigenvalues(), None
            except ValueError:
                raise ValueError(
                    "plot_spectrum(kind='eigenvalues') needs an exact spectral measure (every "
                    f"eigenvalue, weight 1); this one was estimated by {obj.method!r}. Use "
                    "kind='density' to plot its weighted nodes."
                ) from None
        return None, obj
    if isinstance(obj, (str, bytes)) or not _is_array_like(obj):
        raise TypeError(
            "obj must be a DiffusionGraph, a DSEResult holding eigenvalues, a "
            f"SpectralMeasure or a 1-D array of eigenvalues; got {describe(obj)}"
        )
    try:
        lam = np.asarray(obj, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"obj must be a 1-D array of real eigenvalues; got {describe(obj)}"
        ) from exc
    if lam.ndim != 1 or lam.size == 0:
        raise ValueError(
            "obj must be a non-empty 1-D array of eigenvalues; got an array of shape "
            f"{lam.shape} (for points X, plot the spectrum of DiffusionGraph(X))"
        )
    if not np.all(np.isfinite(lam)):
        raise ValueError("obj (eigenvalues) must be finite; got NaN or infinite values")
    return lam, None


def plot_spectrum(
    obj: Any,
    *,
    ax: Any = None,
    kind: str = "eigenvalues",
    t: float | None = None,
    bins: int = 50,
    plot_kws: Mapping[str, Any] | None = None,
) -> Axes:
    r"""Plot the spectrum of a diffusion operator.

    Parameters
    ----------
    obj : DiffusionGraph, DSEResult, SpectralMeasure or array-like of shape (n,)
        Where the spectrum comes from. A :class:`~fastdse.DSEResult` must hold
        eigenvalues (``mode="exact"``); a graph or measure of an approximate
        mode has no individual eigenvalues and is plotted with
        ``kind="density"``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; None creates a new figure.
    kind : {"eigenvalues", "density"}, default "eigenvalues"
        ``"eigenvalues"``: the eigenvalues sorted in descending order against
        their index 1..n. ``"density"``: the spectral density, a histogram of
        the measure's nodes weighted by their weights and divided by ``n`` and
        the bin width (it integrates to about 1). Stochastic Lanczos
        quadrature weights are already divided by the number of probes, so
        the histogram averages the probes' quadrature rules and adds the
        deflated eigenvalues (weight 1 each).
    t : float, optional
        Plot :math:`|\lambda|^t`, the weights of diffusion after ``t`` steps,
        instead of :math:`\lambda` (sorted in descending order; the density
        lives on ``[0, 1]``).
    bins : int, default 50
        Number of histogram bins (``kind="density"``).
    plot_kws : mapping, optional
        Keyword arguments for ``Axes.plot`` (eigenvalues) or ``Axes.stairs``
        (density), e.g. ``{"color": "k", "label": "exact"}``.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import numpy as np
    >>> from matplotlib.figure import Figure
    >>> from fastdse import DiffusionGraph
    >>> from fastdse.plotting import plot_spectrum
    >>> g = DiffusionGraph(np.random.default_rng(0).normal(size=(200, 3)), mode="exact")
    >>> ax = plot_spectrum(g, ax=Figure().add_subplot())
    >>> round(float(ax.lines[0].get_ydata()[0]), 6)  # the top eigenvalue of a diffusion operator
    1.0
    """
    _check_ax(ax)
    kind = check_choice(kind, "kind", SPECTRUM_KINDS)
    power = None if t is None else check_float(t, "t", low=0.0, low_open=True)
    bins = check_int(bins, "bins", low=1)
    eigenvalues, measure = _spectrum_source(obj, kind)
    ax = _get_axes(ax)
    index = "_i" if kind == "eigenvalues" else ""
    symbol = rf"\lambda{index}" if power is None else rf"|\lambda{index}|^{{{power:g}}}"
    if kind == "eigenvalues":
        assert eigenvalues is not None
        values = eigenvalues if power is None else np.abs(eigenvalues) ** power
        values = np.sort(values)[::-1]
        ax.plot(np.arange(1, values.size + 1), values, **_plot_kws(plot_kws, {}))
        ax.set_xlabel("index i (eigenvalues in descending order)")
        ax.set_ylabel(f"${symbol}$")
        return ax
    if measure is None:
        assert eigenvalues is not None
        measure = SpectralMeasure(
            nodes=eigenvalues, weights=np.ones(eigenvalues.size),
            probe=np.full(eigenvalues.size, -1, dtype=np.int64), n=eigenvalues.size,
        )
    nodes = np.clip(measure.nodes, -1.0, 1.0)  # Ritz values may overshoot by rounding
    lo, hi = (-1.0, 1.0) if power is None else (0.0, 1.0)
    if power is not None:
        nodes = np.abs(nodes) ** power
    counts, edges = np.histogram(nodes, bins=bins, range=(lo, hi), weights=measure.weights)
    density = counts / (measure.n * np.diff(edges))
    ax.stairs(density, edges, **_plot_kws(plot_kws, {"fill": True, "alpha": 0.6}))
    ax.set_xlabel(f"${symbol}$")
    ax.set_ylabel("spectral density (fraction of eigenvalues per unit)")
    return ax


# --------------------------------------------------------------------------- DSE curve


def _curve_from(
    obj: Any, t: Any, base: float | None, graph_kwargs: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, dict[str, Any]]:
    """(t, value, stderr, base, info) of the DSE curve of ``obj``."""
    points = _is_array_like(obj) and not isinstance(obj, (str, bytes))
    if graph_kwargs and not points:
        raise TypeError(
            "graph keyword arguments (" + ", ".join(sorted(graph_kwargs)) + ") apply only when "
            f"obj is the points X; got {type(obj).__name__}"
        )
    if isinstance(obj, DSEResult):
        res_base = float(obj.base)
        if t is None:
            ts, values, stderr = _result_curve(obj)
        elif obj.eigenvalues is not None:
            ts = check_t(t)[0]
            values, stderr = _exact_curve(obj.eigenvalues, ts, res_base)
        else:
            raise ValueError(
                f"t was given, but this DSEResult (mode={obj.mode!r}) holds no eigenvalues to "
                "evaluate other diffusion times; leave t=None to plot its own t "
                f"({np.size(obj.t)} value(s)), or pass the DiffusionGraph"
            )
        if base is None or base == res_base:
            return ts, values, stderr, res_base, dict(obj.info)
        scale = math.log(res_base) / math.log(base)  # change of logarithm base
        return ts, values * scale, stderr * scale, base, dict(obj.info)
    base = 2.0 if base is None else base
    if isinstance(obj, SpectralMeasure):
        ts = check_t(DEFAULT_T_GRID if t is None else t)[0]
        values, stderr = dse_from_measure(obj, ts, base)
        return ts, values, stderr, base, dict(obj.info)
    if isinstance(obj, DiffusionGraph):
        graph = obj
    elif points:
        graph = DiffusionGraph(obj, **graph_kwargs)
    else:
        raise TypeError(
            "obj must be a DiffusionGraph, a DSEResult, a SpectralMeasure or the points X "
            f"(array of shape (n, d)); got {describe(obj)}"
        )
    # t goes to the graph as given, so every t the graph accepts ("auto") works here
    res = graph.dse(DEFAULT_T_GRID if t is None else t, base=base)
    return (*_result_curve(res), base, dict(res.info))


def _result_curve(res: DSEResult) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t, value, stderr) of a result; the whole curve of a ``t="auto"`` result."""
    info = res.info
    if np.ndim(res.t) == 0 and "curve_t" in info and "curve_value" in info:
        ts = np.asarray(info["curve_t"], dtype=np.float64).ravel()
        values = np.asarray(info["curve_value"], dtype=np.float64).ravel()
        stderr = np.asarray(info.get("curve_stderr", np.zeros_like(values)),
                            dtype=np.float64).ravel()
        if ts.shape == values.shape == stderr.shape:
            return ts, values, stderr
    return (
        np.atleast_1d(np.asarray(res.t, dtype=np.float64)),
        np.atleast_1d(np.asarray(res.value, dtype=np.float64)),
        np.atleast_1d(np.asarray(res.stderr, dtype=np.float64)),
    )


def _exact_curve(eigenvalues: np.ndarray, ts: np.ndarray, base: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    lam = np.asarray(eigenvalues, dtype=np.float64)
    measure = SpectralMeasure(nodes=lam, weights=np.ones(lam.size),
                              probe=np.full(lam.size, -1, dtype=np.int64), n=lam.size)
    return dse_from_measure(measure, ts, base)


def _t_auto(info: Mapping[str, Any]) -> np.ndarray:
    """Return the automatically chosen t of ``info["t_auto"]`` (empty when absent)."""
    value = info.get("t_auto")
    if value is None:
        return np.empty(0)
    try:
        arr = np.atleast_1d(np.asarray(value, dtype=np.float64)).ravel()
    except (TypeError, ValueError):
        return np.empty(0)
    return arr[np.isfinite(arr) & (arr > 0)]


def plot_dse_curve(
    obj: Any,
    t: Any = None,
    *,
    ax: Any = None,
    base: float | None = None,
    label: str | None = None,
    logx: bool | None = None,
    plot_kws: Mapping[str, Any] | None = None,
    **graph_kwargs: Any,
) -> Axes:
    """Plot Diffusion Spectral Entropy against the diffusion time ``t``.

    Parameters
    ----------
    obj : DiffusionGraph, DSEResult, SpectralMeasure or array-like of shape (n, d)
        A graph (one spectral measure serves every ``t``), a result computed
        for several ``t``, a spectral measure, or the points ``X`` themselves
        (a :class:`~fastdse.DiffusionGraph` is built from them with
        ``graph_kwargs``).
    t : float, sequence of float or "auto", optional
        Diffusion times. Default: for a result, its own ``t``; otherwise
        :data:`DEFAULT_T_GRID` (25 log-spaced integers from 1 to 100).
        ``"auto"`` (graphs and points) plots the curve over ``t = 1..100``
        that ``DiffusionGraph.dse(t="auto")`` takes its knee from, and marks
        the knee. Given with a result, the
        result must hold eigenvalues (``mode="exact"``).
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; None creates a new figure.
    base : float, optional
        Logarithm base: 2 (bits) by default, or the result's base; a result
        in another base is converted.
    label : str, optional
        Legend label of the curve.
    logx : bool, optional
        Logarithmic ``t`` axis; by default when the largest ``t`` is at least
        10 times the smallest.
    plot_kws : mapping, optional
        Keyword arguments for ``Axes.plot`` / ``Axes.errorbar``.
    **graph_kwargs
        Passed to :class:`~fastdse.DiffusionGraph` when ``obj`` is the points
        (``mode``, ``kernel``, ``knn``, ``random_state``, ...).

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    Error bars show the standard error when it is non-zero (approximate
    modes). When the result's ``info`` holds ``"t_auto"`` (the diffusion time
    chosen by ``t="auto"``), a dashed vertical line marks it; a ``t="auto"``
    result is drawn as the whole curve stored in its ``info`` (``curve_t``,
    ``curve_value``, ``curve_stderr``).

    Examples
    --------
    >>> import numpy as np
    >>> from matplotlib.figure import Figure
    >>> from fastdse.plotting import plot_dse_curve
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> ax = plot_dse_curve(X, [1, 2, 5, 10, 20], ax=Figure().add_subplot(), mode="exact")
    >>> ax.get_ylabel()
    'DSE (bits)'
    >>> bool(np.all(np.diff(ax.lines[0].get_ydata()) < 0))  # DSE falls as t grows
    True
    """
    _check_ax(ax)
    if base is not None:
        base = check_float(base, "base", low=0.0, low_open=True)
        if base == 1.0:
            raise ValueError("base must be a positive number other than 1; got 1.0")
    if logx is not None and not isinstance(logx, (bool, np.bool_)):
        raise TypeError(f"logx must be True, False or None; got {describe(logx)}")
    if label is not None and not isinstance(label, str):
        raise TypeError(f"label must be a string or None; got {describe(label)}")
    kws = _plot_kws(plot_kws, {"marker": "o", "markersize": 3})
    ts, values, stderr, base, info = _curve_from(obj, t, base, graph_kwargs)
    ax = _get_axes(ax)
    if label is not None:
        kws["label"] = label
    if np.any(stderr > 0):
        ax.errorbar(ts, values, yerr=stderr, capsize=2, **kws)
    else:
        ax.plot(ts, values, **kws)
    for t_auto in _t_auto(info):
        ax.axvline(t_auto, color="0.4", linestyle="--", linewidth=1,
                   label=f"t_auto = {t_auto:g}")
    if logx is None:
        logx = bool(ts.min() > 0 and ts.max() >= 10.0 * ts.min())
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel("diffusion time t")
    ax.set_ylabel(f"DSE ({unit_name(base)})")
    _legend_if_labelled(ax)
    return ax


# --------------------------------------------------------------------------- scaling


def _read_rows(source: Any) -> tuple[list[Mapping[str, Any]], list[str]]:
    """Rows (mappings) and column names of a bench CSV path or a sequence of rows."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            rows: list[Mapping[str, Any]] = list(reader)
            columns = list(reader.fieldnames or [])
        return rows, columns
    if isinstance(source, (bytes, Mapping)) or not isinstance(source, Sequence):
        raise TypeError(
            "source must be the path of a bench CSV file or a sequence of rows (mappings or "
            f"fastdse.cli.bench.Case objects); got {describe(source)}"
        )
    rows = []
    for i, row in enumerate(source):
        if dataclasses.is_dataclass(row) and not isinstance(row, type):
            row = dataclasses.asdict(row)
        if not isinstance(row, Mapping):
            raise TypeError(
                f"source rows must be mappings (column -> value) or bench.Case objects; row "
                f"{i} is {describe(row)}"
            )
        rows.append(row)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    return rows, columns


def _number(value: Any, column: str, row: int) -> float:
    if isinstance(value, str) and not value.strip():
        return float("nan")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"column {column!r} must hold numbers; row {row + 1} has {describe(value)}"
        ) from None


def _group_sort_key(key: tuple[Any, ...]) -> tuple[tuple[int, float, str], ...]:
    out = []
    for v in key:
        try:
            out.append((0, float(v), ""))
        except (TypeError, ValueError):
            out.append((1, 0.0, str(v)))
    return tuple(out)


def _group_label(columns: Sequence[str], key: tuple[Any, ...]) -> str:
    parts = []
    for col, v in zip(columns, key):
        try:
            float(v)
        except (TypeError, ValueError):
            parts.append(str(v))  # a name (a mode, a data set) speaks for itself
        else:
            parts.append(f"{col}={v}")
    return ", ".join(parts)


def plot_scaling(
    source: Any,
    *,
    ax: Any = None,
    x: str = "n",
    y: str = "seconds",
    by: str | Sequence[str] | None = "mode",
    slope: bool = True,
    plot_kws: Mapping[str, Any] | None = None,
) -> Axes:
    """Log-log scaling plot of a ``fastdse bench`` run, one line per group.

    Parameters
    ----------
    source : str, os.PathLike or sequence of rows
        The CSV written by ``fastdse bench --out PREFIX`` (``PREFIX.csv``), or
        its rows: mappings of column name to value, or
        :class:`fastdse.cli.bench.Case` objects. Rows whose ``status`` is not
        ``"ok"`` and rows without a positive finite ``x`` and ``y`` are left
        out.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; None creates a new figure.
    x, y : str, default "n", "seconds"
        Columns on the horizontal and vertical axes (e.g. ``y="peak_mib"``).
    by : str or sequence of str or None, default "mode"
        Column(s) defining the lines, e.g. ``("mode", "d")``; None draws one
        line.
    slope : bool, default True
        Add the least-squares slope of ``log y`` against ``log x``
        (:func:`fit_slope`) to each line's legend label.
    plot_kws : mapping, optional
        Keyword arguments for ``Axes.plot``.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> from fastdse.plotting import plot_scaling
    >>> rows = [{"n": n, "mode": "approx", "seconds": 1e-4 * n, "status": "ok"}
    ...         for n in (1000, 10000, 100000)]
    >>> ax = plot_scaling(rows, ax=Figure().add_subplot())
    >>> ax.get_legend().get_texts()[0].get_text()
    'approx (slope 1.00)'
    """
    _check_ax(ax)
    for name, value in (("x", x), ("y", y)):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a column name (str); got {describe(value)}")
    if by is None:
        by_cols: list[str] = []
    elif isinstance(by, str):
        by_cols = [by]
    elif isinstance(by, Sequence) and all(isinstance(b, str) for b in by):
        by_cols = list(by)
    else:
        raise TypeError(
            f"by must be a column name, a sequence of column names or None; got {describe(by)}"
        )
    if not isinstance(slope, (bool, np.bool_)):
        raise TypeError(f"slope must be True or False; got {describe(slope)}")
    kws = _plot_kws(plot_kws, {"marker": "o"})
    rows, columns = _read_rows(source)
    if not rows:
        raise ValueError("source holds no rows (a bench CSV with a header only?)")
    for name, col in [("x", x), ("y", y)] + [("by", b) for b in by_cols]:
        if col not in columns:
            raise ValueError(
                f"{name}={col!r} is not a column of source; columns: "
                + ", ".join(repr(c) for c in columns)
            )
    groups: dict[tuple[Any, ...], list[tuple[float, float]]] = {}
    for i, row in enumerate(rows):
        status = row.get("status")
        if status not in (None, "", "ok"):
            continue
        xv, yv = _number(row.get(x), x, i), _number(row.get(y), y, i)
        if not (math.isfinite(xv) and math.isfinite(yv) and xv > 0 and yv > 0):
            continue
        groups.setdefault(tuple(row.get(b) for b in by_cols), []).append((xv, yv))
    if not groups:
        raise ValueError(
            f"no row of source can be plotted: {len(rows)} row(s), none with status 'ok' and "
            f"positive finite {x!r} and {y!r}"
        )
    ax = _get_axes(ax)
    for key in sorted(groups, key=_group_sort_key):
        points = sorted(groups[key])
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        label = _group_label(by_cols, key) if by_cols else y
        if slope and len(set(xs)) >= 2:
            label += f" (slope {fit_slope(xs, ys):.2f})"
        ax.plot(xs, ys, **{"label": label, **kws})
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(_COLUMN_LABELS.get(x, x))
    ax.set_ylabel(_COLUMN_LABELS.get(y, y))
    ax.grid(True, which="both", alpha=0.3)
    _legend_if_labelled(ax)
    return ax


# --------------------------------------------------------------------------- history


def plot_history(*args: Any, **kwargs: Any) -> Any:
    """Plot DSE / DSMI over training epochs; see :func:`fastdse.monitor.plot_history`.

    Delegates to :func:`fastdse.monitor.plot_history` (``plot_history(history,
    metrics=None, *, ax=None) -> Axes``), imported when called, with the same
    arguments.

    Parameters
    ----------
    *args, **kwargs
        Passed on unchanged: ``history`` (a ``TrainingMonitor``, a ``History``
        or a mapping of column name to sequence with an ``"epoch"`` key),
        ``metrics`` (columns to plot) and ``ax``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    name = f"{__package__}.monitor"
    try:
        monitor = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        raise ImportError(
            "plot_history needs fastdse.monitor, which this version of fastdse does not have"
        ) from exc
    return monitor.plot_history(*args, **kwargs)


def fit_slope(ns: Sequence[float], seconds: Sequence[float]) -> float:
    """Least-squares slope of log(seconds) against log(n)."""
    x, y = np.log(np.asarray(ns, float)), np.log(np.asarray(seconds, float))
    if x.size < 2:
        return float("nan")
    return float(np.polyfit(x, y, 1)[0])
