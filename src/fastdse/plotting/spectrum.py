"""The spectrum of a diffusion operator: eigenvalues in descending order, or their density."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from fastdse._util.validation import check_choice, check_float, check_int, describe
from fastdse.graph import DiffusionGraph
from fastdse.plotting._common import (
    check_ax,
    get_axes,
    is_array_like,
    merge_kws,
    plain_log_ticks,
)
from fastdse.results import DSEResult
from fastdse.spectral.measure import SpectralMeasure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["plot_spectrum"]

SPECTRUM_KINDS = ("eigenvalues", "density")


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
    if isinstance(obj, (str, bytes)) or not is_array_like(obj):
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


def _draw_eigenvalues(ax: Axes, eigenvalues: np.ndarray, power: float | None, logx: bool,
                      kws: dict[str, Any]) -> None:
    """Eigenvalues against their rank (log axis, magnitudes) or index (linear, signed)."""
    exponent = "" if power is None else f"^{{{power:g}}}"
    if logx:
        values = np.sort(np.abs(eigenvalues) ** (1.0 if power is None else power))[::-1]
        ax.plot(np.arange(1, values.size + 1), values, **kws)
        ax.set_xscale("log")
        plain_log_ticks(ax, y=False)
        ax.set_xlabel(r"rank of $|\lambda|$ (descending; 1 = the largest)")
        ax.set_ylabel(rf"$|\lambda_i|{exponent}$")
        return
    values = eigenvalues if power is None else np.abs(eigenvalues) ** power
    values = np.sort(values)[::-1]
    ax.plot(np.arange(1, values.size + 1), values, **kws)
    ax.set_xlabel("index i (eigenvalues in descending order)")
    ax.set_ylabel(r"$\lambda_i$" if power is None else rf"$|\lambda_i|{exponent}$")


def plot_spectrum(
    obj: Any,
    *,
    ax: Any = None,
    kind: str = "eigenvalues",
    t: float | None = None,
    bins: int = 50,
    logx: bool = True,
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
        ``"eigenvalues"``: the eigenvalues in descending order against their
        rank (see ``logx``). ``"density"``: the spectral density, a histogram of
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
    logx : bool, default True
        ``kind="eigenvalues"`` only (the density ignores it). True: the
        magnitudes :math:`|\lambda|` (or :math:`|\lambda|^t`) in descending
        order against their rank 1..n on a logarithmic axis, so that the top
        eigenvalues, the ones DSE at large ``t`` depends on, spread over the
        left of the plot instead of sitting in a stroke at the left edge. False:
        the signed :math:`\lambda` (or :math:`|\lambda|^t`) in descending order
        against their index 1..n on a linear axis (the earlier default).
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
    check_ax(ax)
    kind = check_choice(kind, "kind", SPECTRUM_KINDS)
    power = None if t is None else check_float(t, "t", low=0.0, low_open=True)
    bins = check_int(bins, "bins", low=1)
    if not isinstance(logx, (bool, np.bool_)):
        raise TypeError(f"logx must be True or False; got {describe(logx)}")
    eigenvalues, measure = _spectrum_source(obj, kind)
    ax = get_axes(ax)
    if kind == "eigenvalues":
        assert eigenvalues is not None
        _draw_eigenvalues(ax, eigenvalues, power, bool(logx), merge_kws(plot_kws, {}))
        return ax
    symbol = r"\lambda" if power is None else rf"|\lambda|^{{{power:g}}}"
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
    ax.stairs(density, edges, **merge_kws(plot_kws, {"fill": True, "alpha": 0.6}))
    ax.set_xlabel(f"${symbol}$")
    ax.set_ylabel("spectral density (fraction of eigenvalues per unit)")
    return ax
