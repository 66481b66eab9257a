"""DSE / DSMI over training epochs: :func:`plot_history` hands over to :mod:`fastdse.monitor`.

The monitor draws its own histories (:func:`fastdse.monitor.plot_history`); this module
imports it when a plot is asked for, not when :mod:`fastdse.plotting` is imported.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["plot_history"]


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
    name = "fastdse.monitor"
    try:
        monitor = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        raise ImportError(
            "plot_history needs fastdse.monitor, which this version of fastdse does not have"
        ) from exc
    return monitor.plot_history(*args, **kwargs)
