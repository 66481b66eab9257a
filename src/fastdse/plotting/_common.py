"""What the plotting modules share: matplotlib imported on use, the ``ax`` check, keywords."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from fastdse._util.validation import describe

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

_MISSING = "plotting needs matplotlib: pip install matplotlib"


def import_matplotlib() -> None:
    """Import matplotlib, or raise an ImportError that names the ``plot`` extra."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(_MISSING) from exc


def check_ax(ax: Any) -> None:
    """Raise unless ``ax`` is None or a matplotlib Axes (before any computation)."""
    import_matplotlib()
    from matplotlib.axes import Axes

    if ax is not None and not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None; got {describe(ax)}")


def get_axes(ax: Any) -> Axes:
    """Return ``ax`` (checked), or the Axes of a new figure when it is None."""
    check_ax(ax)
    if ax is None:
        import matplotlib.pyplot as plt

        _, new_ax = plt.subplots()
        return new_ax
    return ax


def merge_kws(plot_kws: Any, defaults: dict[str, Any]) -> dict[str, Any]:
    """Return ``defaults`` updated with the caller's ``plot_kws`` (a mapping or None)."""
    if plot_kws is None:
        return dict(defaults)
    if not isinstance(plot_kws, Mapping):
        raise TypeError(
            f"plot_kws must be a mapping of matplotlib keyword arguments or None; got "
            f"{describe(plot_kws)}"
        )
    return {**defaults, **plot_kws}


def legend_if_labelled(ax: Axes) -> None:
    """Draw a legend only when some artist has a label (avoids matplotlib's warning)."""
    handles, _ = ax.get_legend_handles_labels()
    if handles:
        ax.legend(fontsize=8)


def is_array_like(obj: Any) -> bool:
    """Tell whether ``obj`` can be read as an array (ndarray, list, tuple, ``__array__``)."""
    return isinstance(obj, (np.ndarray, list, tuple)) or hasattr(obj, "__array__")


def plain_number(value: float) -> str:
    """Write a tick value in plain decimals with thousands separators.

    Six significant digits at most, no exponent: ``1000 -> "1,000"``,
    ``0.5 -> "0.5"``, ``187.5 -> "187.5"``, ``2e-05 -> "0.00002"``.
    """
    text = np.format_float_positional(float(f"{value:.6g}"), trim="-")
    sign = "-" if text.startswith("-") else ""
    whole, _, frac = text.lstrip("-").partition(".")
    return f"{sign}{int(whole):,}" + (f".{frac}" if frac else "")


def plain_log_ticks(ax: Axes, *, x: bool = True, y: bool = True) -> None:
    """Label the ticks of the log-scaled axes of ``ax`` in plain numbers ("1,000", "0.5").

    matplotlib's own log formatter writes ``10^3`` and, on an axis spanning less than a
    decade or two, minor labels like ``1.875x10^2``. The formatter here keeps its choice of
    which ticks get a label (every decade, and some minor ticks on short axes) and writes
    each label with :func:`plain_number`. Plain labels are wider, so on an axis spanning
    more than 0.4 decades only the multiples 1, 2 and 3 of a power of ten are labelled
    (matplotlib would add 4 and 6: "30,000" and "40,000" would touch).
    """
    from matplotlib.ticker import LogFormatter

    class PlainLogFormatter(LogFormatter):
        def __call__(self, x: float, pos: int | None = None) -> str:
            if x <= 0 or not super().__call__(x, pos):
                return ""
            lo, hi = self.axis.get_view_interval() if self.axis is not None else (x, x)
            if lo > 0 and hi > 0 and abs(math.log10(hi / lo)) > 0.4:
                mantissa = round(x / 10 ** math.floor(math.log10(x) + 1e-9), 6)
                if mantissa not in _LABELLED_MULTIPLES:
                    return ""
            return plain_number(x)

    axes = ([ax.xaxis] if x else []) + ([ax.yaxis] if y else [])
    for axis in axes:
        if axis.get_scale() != "log":
            continue
        axis.set_major_formatter(PlainLogFormatter(labelOnlyBase=False))
        axis.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False))


#: the multiples of a power of ten that get a tick label on a log axis of 0.4 decades or more
_LABELLED_MULTIPLES = (1.0, 2.0, 3.0, 10.0)
