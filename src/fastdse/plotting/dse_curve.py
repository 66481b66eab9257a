"""DSE against the diffusion time ``t``, from a graph, a result, a spectral measure or points."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from fastdse._util.validation import check_base, check_t, describe
from fastdse.entropy import dse_from_measure
from fastdse.graph import DiffusionGraph
from fastdse.plotting._common import (
    check_ax,
    get_axes,
    is_array_like,
    legend_if_labelled,
    merge_kws,
    plain_log_ticks,
)
from fastdse.results import DSEResult, unit_name
from fastdse.spectral.measure import SpectralMeasure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["plot_dse_curve", "DEFAULT_T_GRID"]

#: Diffusion times of :func:`plot_dse_curve` when none are given: 1 to 100, log-spaced.
DEFAULT_T_GRID = np.unique(np.round(np.geomspace(1.0, 100.0, 25)))


def _curve_from(
    obj: Any, t: Any, base: float | None, graph_kwargs: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, dict[str, Any]]:
    """(t, value, stderr, base, info) of the DSE curve of ``obj``."""
    points = is_array_like(obj) and not isinstance(obj, (str, bytes))
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
        :data:`DEFAULT_T_GRID` (21 log-spaced integers from 1 to 100).
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
    check_ax(ax)
    if base is not None:
        base = check_base(base)
    if logx is not None and not isinstance(logx, (bool, np.bool_)):
        raise TypeError(f"logx must be True, False or None; got {describe(logx)}")
    if label is not None and not isinstance(label, str):
        raise TypeError(f"label must be a string or None; got {describe(label)}")
    kws = merge_kws(plot_kws, {"marker": "o", "markersize": 3})
    ts, values, stderr, base, info = _curve_from(obj, t, base, graph_kwargs)
    ax = get_axes(ax)
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
        plain_log_ticks(ax, y=False)
    ax.set_xlabel("diffusion time t")
    ax.set_ylabel(f"DSE ({unit_name(base)})")
    legend_if_labelled(ax)
    return ax
